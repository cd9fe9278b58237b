"""Sentences the models write, kept as a template and its values so the interface can show them in
either of its languages (cockpit.i18n.say translates the template, then formats). str() gives
the English sentence. Models stay free of the UI: this is all they know of translation."""
from __future__ import annotations

import json
from collections.abc import Mapping
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


def word(words: Mapping, key):
    """`words[key]` (a msgid) as a Phrase, to translate where it is shown; a key `words` does not
    hold, as it is (data, or a code of someone else's)."""
    return phrase(words[key]) if key in words else key


def reason(error: BaseException) -> Phrase | str:
    """An error's message as it was raised: the Phrase a model raised (ValueError(phrase(...)),
    whose str() is the English), else the error's text."""
    return error.args[0] if len(error.args) == 1 and isinstance(error.args[0], Phrase) else str(error)


def to_data(value):
    """A Phrase (or plain value) as JSON-ready data; nested phrases as {"template", "values"}."""
    if isinstance(value, Phrase):
        return {"template": value.template, "values": {k: to_data(v) for k, v in value.values.items()}}
    return value


def from_data(data):
    """The inverse of to_data."""
    if isinstance(data, dict) and set(data) == {"template", "values"}:
        return Phrase(data["template"], {k: from_data(v) for k, v in data["values"].items()})
    return data


def to_json(value: Phrase) -> str:
    return json.dumps(to_data(value), ensure_ascii=False, sort_keys=True)


def from_json(text: str | None) -> Phrase | None:
    """The Phrase stored by to_json; None for None or text that is no phrase."""
    if not text:
        return None
    try:
        found = from_data(json.loads(text))
    except ValueError:
        return None
    return found if isinstance(found, Phrase) else None
