"""The interface's two languages and the locale's formats: t() looks a msgid up in the chosen
language's catalogue; money, numbers and dates are formatted by Babel (CLDR) for that language.

The language in force: an explicit `lang`, else the one `using()` set for this context (the
scheduler's messages and reports), else the one the UI's session chose (cockpit.ui.i18n passes
it), else COCKPIT_LANG."""
from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache

from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_symbol

from cockpit.config import LANGUAGES
from cockpit.locales import zh_cn
from models.phrases import Phrase

LANGUAGE_NAMES = {"en": "English", "zh-CN": "简体中文"}  # each in its own language, as switchers show them
# Message catalogues: English is the source text; other languages map it to their text.
CATALOGUES: dict[str, dict[str, str]] = {"en": {}, "zh-CN": zh_cn.MESSAGES}
_LOCALES = {"en": "en", "zh-CN": "zh_CN"}

_in_force: contextvars.ContextVar[str | None] = contextvars.ContextVar("cockpit_language", default=None)


def N_(text: str) -> str:
    """Marks `text` as a msgid without translating it: for labels defined once at import time and
    translated with t() where they are drawn (a module-level t() would freeze one language)."""
    return text


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    return lang


@cache
def _configured() -> tuple[str, str]:
    from cockpit.config import load_settings  # settings are read once; imported late to keep this module light
    settings = load_settings()
    return settings.language, settings.currency


def default_language() -> str:
    """COCKPIT_LANG: new sessions, wall screens, alert messages and reports start in it."""
    return _configured()[0]


def currency() -> str:
    """COCKPIT_CURRENCY: the ISO 4217 code money is shown in (CNY unless configured)."""
    return _configured()[1]


def language(lang: str | None = None) -> str:
    return lang or _in_force.get() or default_language()


@contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Everything t() and the formats produce inside the block is in `lang` (None: the default)."""
    chosen = check_language(lang or default_language())
    token = _in_force.set(chosen)
    try:
        yield chosen
    finally:
        _in_force.reset(token)


def t(text: str, lang: str | None = None, **values) -> str:
    """The translation of `text` (English when the catalogue has none), formatted with `values`."""
    translated = CATALOGUES.get(language(lang), {}).get(text, text)
    return translated.format(**values) if values else translated


def say(text, lang: str | None = None) -> str:
    """A models.phrases.Phrase (or a plain str) in `lang`: its template translated, then filled
    with its values, nested phrases translated too."""
    if isinstance(text, Phrase):
        values = {k: say(v, lang) if isinstance(v, Phrase) else v for k, v in text.values.items()}
        return t(text.template, lang, **values)
    return t(text, lang) if isinstance(text, str) else str(text)


def locale(lang: str | None = None) -> Locale:
    return Locale.parse(_LOCALES[language(lang)])


# --- numbers, money and dates in the locale ------------------------------------------------

def money(value, digits: int = 0, lang: str | None = None, code: str | None = None) -> str:
    """`value` in the shop's currency as the locale writes it: ¥12,346 in Chinese, CN¥12,346 in
    English; "–" for a missing value."""
    if value is None or value != value:
        return "–"
    pattern = "¤#,##0" + ("." + "0" * digits if digits else "")
    return format_currency(value, code or currency(), format=pattern, locale=locale(lang), currency_digits=False)


def currency_symbol(lang: str | None = None, code: str | None = None) -> str:
    return get_currency_symbol(code or currency(), locale=locale(lang))


def number(value, digits: int = 0, lang: str | None = None) -> str:
    if value is None or value != value:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=locale(lang), decimal_quantization=True)


def percent(value, digits: int = 1, lang: str | None = None) -> str:
    if value is None or value != value:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(value, format=pattern, locale=locale(lang), decimal_quantization=True)


def day_text(when: date | datetime, lang: str | None = None, weekday: bool = False, year: bool = True) -> str:
    """A day as the locale writes it: "Sun, Dec 6, 2026" / "2026年12月6日周日"."""
    skeleton = ("y" if year else "") + "MMM" + ("E" if weekday else "") + "d"
    return format_skeleton(skeleton, when, locale=locale(lang), fuzzy=True)


def weekday_text(when: date | datetime, lang: str | None = None) -> str:
    """The abbreviated weekday: "Sun" / "周日"."""
    return format_skeleton("E", when, locale=locale(lang), fuzzy=True)


def moment_text(when: datetime, lang: str | None = None, year: bool = False) -> str:
    """A day and time of day (24-hour, the time in whatever zone `when` carries): "Dec 6 14:05" /
    "12月6日 14:05"."""
    return f"{day_text(when, lang, year=year)} {when:%H:%M}"
