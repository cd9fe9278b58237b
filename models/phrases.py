"""Sentences the models write, kept as a template and its values so the interface can show them in
either of its languages (cockpit.i18n.say translates the template, then formats). str() gives
the English sentence. Models stay free of the UI: this is all they know of translation."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Phrase:
    """`template` is an English str.format template (a msgid of the catalogues); `values` fill it.
    A value that is itself a Phrase (a word such as "more" or "fewer") is translated too."""

    template: str
    values: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template.format(**{k: str(v) if isinstance(v, Phrase) else v for k, v in self.values.items()})


def phrase(template: str, **values) -> Phrase:
    return Phrase(template, values)
