"""The sign-in gate in front of every page: the sign-in form (or OpenID Connect through st.login
when .streamlit/secrets.toml has an [auth] section), a read-only display token on the wall
screen, the signed-in user in the sidebar with a sign-out button, expiry while a page stays open,
and a session cookie so that a reload or a new tab stays signed in until the session ends."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import replace

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from cockpit import auth
from cockpit.db.engine import get_engine
from cockpit.ui import loaders, shell
from cockpit.ui import i18n
from cockpit.ui.i18n import LANGUAGE_NAMES, LANGUAGES, say, t

log = logging.getLogger(__name__)
SESSION = "auth_session"  # the session token; the database keeps only its hash
ENDED = "auth_ended"  # why the last session ended, shown above the form
RECHECK_S = 60  # an open page re-checks its session (expiry, sign-out, revoked token) this often
CHECKED = "auth_checked_ts"
# The browser keeps the session token in this cookie (SameSite=Strict, path /, ending with the
# session) so a reload or a new tab opens signed in: Streamlit starts a new session for each,
# and its session state starts empty. The cookie reaches the server with the websocket request
# (st.context.cookies); the database keeps only the token's hash and decides whether it is valid.
COOKIE = auth.SESSION_COOKIE
COOKIE_WRITE = "auth_cookie_write"  # ("set", token, max_age_s) or ("clear",): written by the next run
COOKIE_SPENT = "auth_cookie_spent"  # a cookie token this browser session signed out of or found ended


def _oidc_configured() -> bool:
    try:
        return bool(st.secrets.get("auth"))
    except Exception:  # no secrets file at all
        return False


def _current(conn, settings, now: float) -> auth.Principal | None:
    if shell.is_wall():  # a wall screen signs in with a display token only, never as a user
        return auth.token_principal(conn, st.query_params.get("token") or settings.display_token)
    token = st.session_state.get(SESSION) or _cookie_token()
    if token:
        principal = auth.session_principal(conn, token, now)
        if principal is not None:
            st.session_state[SESSION] = token
            return principal
        st.session_state.pop(SESSION, None)
        st.session_state[COOKIE_SPENT] = token
        st.session_state[COOKIE_WRITE] = ("clear",)
        st.session_state[ENDED] = t("Your session has ended; sign in again.")
    if _oidc_configured() and st.user.is_logged_in:
        return auth.oidc_principal(conn, st.user.get("email"), settings.oidc_unknown)
    return None


def _cookie_token() -> str | None:
    """The session token of the browser's cookie, unless this browser session is done with it
    (the cookies are those of the page load, so a signed-out token would still be there)."""
    token = st.context.cookies.get(COOKIE)
    if not isinstance(token, str) or not token or len(token) > 200 or token == st.session_state.get(COOKIE_SPENT):
        return None
    return token


def _write_cookie() -> None:
    """Set or clear the session cookie in the browser, if this session's last step asked to."""
    request = st.session_state.pop(COOKIE_WRITE, None)
    if request is None:
        return
    if request[0] == "set":
        value, max_age = json.dumps(request[1]), int(request[2])
    else:
        value, max_age = '""', 0
    script = (f"<script>document.cookie = {json.dumps(COOKIE + '=')} + {value} + "
              f"'; path=/; max-age={max_age}; SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' : '');"
              "</script>")
    with st.sidebar:
        st.html(script, unsafe_allow_javascript=True, width="content")


def _check(settings) -> auth.Principal | None:
    """Who is signed in now. If the database cannot be asked, a principal this session already
    had stays until its session would end (the pages show their own banner)."""
    now = time.time()
    try:
        with get_engine(settings.db_url).connect() as conn:
            principal = _current(conn, settings, now)
    except SQLAlchemyError as exc:
        known = shell.principal()
        log.warning("sign-in check failed, the database is unreachable: %s", exc)
        if known is not None and (known.expires_ts_utc is None or known.expires_ts_utc > now):
            return known
        st.error(t("Cannot check your sign-in: the database is unreachable. This page retries by itself."))
        return None
    st.session_state[shell.PRINCIPAL] = principal
    st.session_state[CHECKED] = now
    _adopt_language(principal, settings)
    return principal


def _adopt_language(principal: auth.Principal | None, settings) -> None:
    """The session speaks the signed-in user's remembered language; a wall screen speaks
    COCKPIT_LANG (or its URL's ?lang=); anyone else keeps what they picked, else COCKPIT_LANG."""
    if shell.is_wall():
        wanted = st.query_params.get("lang")
        i18n.set_language(wanted if wanted in LANGUAGES else settings.language)
    elif principal is not None and principal.language in LANGUAGES:
        i18n.set_language(principal.language)


def gate() -> auth.Principal | None:
    """The signed-in principal (also kept for shell.actor and shell.can); otherwise draw the
    sign-in form, or the wall screen's refusal, and return None: the caller stops."""
    settings = loaders.settings()
    principal = _check(settings)
    if principal is None:
        st.session_state.pop(shell.PRINCIPAL, None)
        if shell.is_wall():
            st.error(t("This wall screen needs a valid display token: open it as ?mode=wall&token=... "
                       "(`python -m cockpit tokens add`)."))
        else:
            _form(settings)
            _write_cookie()
        return None
    if not shell.is_wall():
        _sidebar(principal)
        _write_cookie()
    _watch()
    return principal


def _form(settings) -> None:
    _, middle, _ = st.columns([1, 2, 1])  # a form of a readable width, centred
    with middle:
        submitted, username, password = _form_fields()
    if not submitted:
        return
    with get_engine(settings.db_url).begin() as conn:
        result = auth.sign_in(conn, username, password, time.time(), settings.session_hours)
    if not result.ok:
        with middle:
            st.error(say(result.message))
        return
    st.session_state[SESSION] = result.token
    st.session_state[shell.PRINCIPAL] = result.principal
    st.session_state[COOKIE_WRITE] = ("set", result.token, settings.session_hours * 3600)
    st.rerun()


def _form_fields() -> tuple[bool, str, str]:
    st.title(t("Operations cockpit"))
    _language_switch(st, remember=False)
    ended = st.session_state.pop(ENDED, None)
    if ended:
        st.info(ended)
    if _oidc_configured():
        if st.user.is_logged_in:
            st.error(t("{email} has no access to the cockpit: ask an admin to add you.", email=st.user.get("email")))
            st.button(t("Sign out"), key="auth_oidc_logout", on_click=st.logout)
        else:
            st.button(t("Sign in with your company account"), type="primary", key="auth_oidc_login", on_click=st.login)
    with st.form("auth_form"):
        st.subheader(t("Sign in"))
        username = st.text_input(t("User name"), key="auth_username", max_chars=auth.MAX_NAME_LENGTH)
        password = st.text_input(t("Password"), type="password", key="auth_password",
                                 max_chars=auth.MAX_PASSWORD_LENGTH)
        submitted = st.form_submit_button(t("Sign in"), type="primary", key="auth_submit")
    return submitted, username, password


def _sign_out() -> None:
    token = st.session_state.pop(SESSION, None)
    principal = st.session_state.pop(shell.PRINCIPAL, None)
    st.session_state[COOKIE_SPENT] = token
    st.session_state[COOKIE_WRITE] = ("clear",)
    with get_engine(loaders.settings().db_url).begin() as conn:
        auth.end_session(conn, token, time.time())
    if principal is not None and principal.kind == "oidc":
        st.logout()


def _sidebar(principal: auth.Principal) -> None:
    box = st.sidebar.container(border=True)
    box.markdown(t("Signed in as **{name}** · {role}", name=principal.name, role=t(principal.role)))
    _language_switch(box, remember=principal.kind != "display")
    box.button(t("Sign out"), key="auth_sign_out", on_click=_sign_out, width="stretch")


def _language_switch(where, remember: bool) -> None:
    """English / 简体中文. A signed-in user's choice is kept with their account, so every later
    session (another browser, tomorrow) opens in it."""
    def switch():
        chosen = st.session_state.get("ui_language_switch")
        if chosen not in LANGUAGES:
            return
        i18n.set_language(chosen)
        known = shell.principal()
        if remember and known is not None:
            with get_engine(loaders.settings().db_url).begin() as conn:
                auth.set_language(conn, known.name, chosen, time.time())
            st.session_state[shell.PRINCIPAL] = replace(known, language=chosen)

    st.session_state["ui_language_switch"] = i18n.language()
    where.segmented_control(t("Language"), LANGUAGES, format_func=LANGUAGE_NAMES.get, key="ui_language_switch",
                            on_change=switch, label_visibility="collapsed")


def _watch() -> None:
    """Fragments keep an open page live without rerunning this gate: re-check the session every
    RECHECK_S seconds and rerun the whole app (which then shows the form) once it has ended."""
    @st.fragment(run_every=RECHECK_S)
    def recheck():
        if time.time() - st.session_state.get(CHECKED, 0) < RECHECK_S / 2:
            return  # checked by this run's gate already
        if _check(loaders.settings()) is None:
            st.rerun(scope="app")

    with st.sidebar:
        recheck()
