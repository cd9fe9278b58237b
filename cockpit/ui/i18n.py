"""Every visible string goes through t(); a later issue adds Simplified Chinese."""
from __future__ import annotations

# Message catalogue: English is the source text; other languages map it to their text.
CATALOGUES: dict[str, dict[str, str]] = {"en": {}}


def t(text: str, lang: str = "en", **values) -> str:
    """The translation of `text` in `lang` (English when missing), formatted with `values`."""
    translated = CATALOGUES.get(lang, {}).get(text, text)
    return translated.format(**values) if values else translated
