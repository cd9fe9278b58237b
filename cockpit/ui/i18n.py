"""Every visible string goes through t(), in the language of the browser session that draws it:
the signed-in user's remembered choice, else COCKPIT_LANG (cockpit.i18n holds the catalogues and
the locale's formats; this module only knows where a session keeps its choice)."""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from cockpit import i18n
from cockpit.i18n import LANGUAGE_NAMES, LANGUAGES, N_  # noqa: F401 (re-exported for the UI)
from models.phrases import Phrase

LANG_KEY = "ui_language"  # the session's language; the sign-in gate sets it from the user's choice


def language() -> str:
    """This session's language (outside a script run, e.g. at import time: COCKPIT_LANG)."""
    if get_script_run_ctx(suppress_warning=True) is not None:
        chosen = st.session_state.get(LANG_KEY)
        if chosen in LANGUAGES:
            return chosen
    return i18n.language()


def set_language(lang: str) -> None:
    st.session_state[LANG_KEY] = i18n.check_language(lang)


def t(text: str, lang: str | None = None, **values) -> str:
    """The translation of `text` in this session's language, formatted with `values`."""
    return i18n.t(text, lang or language(), **values)


def say(text) -> str:
    """A models.phrases.Phrase (or str) in this session's language."""
    return i18n.say(text, language())


def said(text) -> str:
    """A models.phrases.Phrase in this session's language; plain text as it is (data, or a message
    stored before its phrase was kept), never looked up as a msgid."""
    return i18n.say(text, language()) if isinstance(text, Phrase) else str(text)


def money(value, digits: int = 0) -> str:
    return i18n.money(value, digits, language())


def currency_symbol() -> str:
    return i18n.currency_symbol(language())


def format_currency_symbol() -> str:
    """currency_symbol() to write into a format string (a st.column_config NumberColumn format, a
    chart's hover template): any % in it doubled."""
    return currency_symbol().replace("%", "%%")


def number(value, digits: int = 0) -> str:
    return i18n.number(value, digits, language())


def percent(value, digits: int = 1) -> str:
    return i18n.percent(value, digits, language())


def day_text(when, weekday: bool = False, year: bool = True) -> str:
    return i18n.day_text(when, language(), weekday=weekday, year=year)


def moment_text(when, year: bool = False) -> str:
    return i18n.moment_text(when, language(), year=year)
