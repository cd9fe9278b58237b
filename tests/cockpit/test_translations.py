"""The zh-CN catalogue: every msgid the UI passes to t() has a Chinese translation with the same placeholders."""
from __future__ import annotations

import re
import string

import pytest

from cockpit.locales.zh_cn import MESSAGES
from models import rfm
from tests.support.msgids import Extraction, extract

# Msgids whose translation may stay free of Chinese: names and acronyms Chinese operations teams use as they are.
KEPT_AS_IS = {"CLV", "CSV", "Excel", "GMV", "MAPE", "MASE", "R F M", "ROAS", "ROI", "SKU", "p50", "p90"}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def found() -> Extraction:
    return extract()


def placeholders(text: str) -> set[tuple[str, str, str | None]]:
    """The {name:spec!conversion} fields of a format string."""
    return {(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(text)
            if name is not None}


def literal_text(text: str) -> str:
    return "".join(literal for literal, *_ in string.Formatter().parse(text))


def dummy(spec: str):
    """A value the format spec accepts: a float for e/f/g/%/n, an int for integer types and bare
    grouping ("{n:,}"), a str otherwise."""
    kind = spec[-1:]
    if kind and kind in "eEfFgGn%":
        return 1234.5
    if (kind and kind in "bcdoxX") or spec.rstrip("0123456789") in {",", "_"}:
        return 1234
    return "text" if not spec or kind == "s" else 1234.5


def dummies(text: str) -> dict:
    return {re.split(r"[.\[]", name)[0]: dummy(spec) for name, spec, _ in placeholders(text)}


def test_every_msgid_in_the_code_has_a_chinese_translation(found):
    missing = {msgid: where for msgid, where in found.msgids.items() if not MESSAGES.get(msgid, "").strip()}
    assert not missing, f"{len(missing)} msgid(s) without a zh-CN translation:\n" + "\n".join(
        f"  {', '.join(where)}: {msgid!r}" for msgid, where in missing.items())


def test_every_t_call_has_text_the_extraction_can_follow(found):
    assert not found.unresolved, (
        "t() calls whose text is neither a literal nor followed by ast; add them to FROM_DATA or "
        "ENGLISH_ONLY in tests/support/msgids.py:\n" + "\n".join(found.unresolved))
    assert not found.unused_keys, f"FROM_DATA / ENGLISH_ONLY keys matching no call any more: {found.unused_keys}"


def test_the_catalogue_holds_no_stale_entries(found):
    stale = sorted(set(MESSAGES) - set(found.msgids))
    assert not stale, f"{len(stale)} zh-CN entries that no t() call uses any more:\n" + "\n".join(map(repr, stale))


def test_the_catalogue_is_sorted_by_msgid():
    assert list(MESSAGES) == sorted(MESSAGES)


def test_translations_keep_exactly_the_placeholders_of_their_msgid():
    wrong = {msgid: (sorted(placeholders(msgid)), sorted(placeholders(text)))
             for msgid, text in MESSAGES.items() if placeholders(msgid) != placeholders(text)}
    assert not wrong, "\n".join(f"{msgid!r}: msgid has {a}, translation has {b}" for msgid, (a, b) in wrong.items())


def test_translations_format_with_values_of_the_kind_their_specs_ask_for():
    failures = []
    for msgid, text in MESSAGES.items():
        values = dummies(msgid)
        try:
            msgid.format(**values)
            text.format(**values)
        except (ValueError, KeyError, IndexError, TypeError) as error:
            failures.append(f"{msgid!r} -> {text!r}: {error!r}")
    assert not failures, "\n".join(failures)


def test_translations_are_chinese_unless_the_msgid_is_a_symbol_or_a_kept_name():
    assert KEPT_AS_IS <= set(MESSAGES), f"stale KEPT_AS_IS entries: {KEPT_AS_IS - set(MESSAGES)}"
    not_chinese = [msgid for msgid, text in MESSAGES.items()
                   if any(c.isalpha() for c in literal_text(msgid)) and msgid not in KEPT_AS_IS
                   and not CJK.search(text)]
    assert not not_chinese, f"translations without Chinese characters: {not_chinese}"


def test_markdown_emphasis_and_code_spans_survive_translation():
    wrong = [msgid for msgid, text in MESSAGES.items()
             if msgid.count("**") != text.count("**")
             or sorted(re.findall(r"`[^`]+`", msgid)) != sorted(re.findall(r"`[^`]+`", text))
             or sorted(re.findall(r"\bCOCKPIT_\w+", msgid)) != sorted(re.findall(r"\bCOCKPIT_\w+", text))]
    assert not wrong, f"markup, code or setting names changed in: {wrong}"


@pytest.mark.parametrize("key", sorted(rfm.SEGMENT_LABELS))
def test_rfm_segment_names_match_the_labels_the_model_carries(key):
    assert MESSAGES[rfm.segment_label(key)] == rfm.segment_label(key, "zh-CN")
