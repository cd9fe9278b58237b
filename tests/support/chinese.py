"""Checks that a model's sentence (a models.phrases.Phrase) reads in Simplified Chinese with the
numbers of its English: the same numbers, in whatever order the translation puts them."""
from __future__ import annotations

import re

from cockpit.i18n import say
from models.phrases import Phrase

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# Numbers as the templates write them: signs (ASCII or the minus sign), thousands separators,
# decimals, exponents ("1.2e-08"), a trailing percent sign.
NUMBER = re.compile(r"[-+−]?\d[\d,]*(?:\.\d+)?(?:e[-+]\d+)?%?")


def numbers(text: str) -> list[str]:
    return sorted(NUMBER.findall(text))


def assert_chinese_with_the_same_numbers(sentence: Phrase) -> str:
    """The sentence in zh-CN, after checking it holds Chinese, differs from the English and
    carries exactly the English's numbers."""
    assert isinstance(sentence, Phrase), f"not a Phrase: {sentence!r}"
    english, chinese = str(sentence), say(sentence, "zh-CN")
    assert say(sentence, "en") == english
    assert CJK.search(chinese) and chinese != english, (english, chinese)
    assert numbers(chinese) == numbers(english), (english, chinese)
    return chinese
