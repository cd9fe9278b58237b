"""The frame around every page: wall-screen mode (dark, large, read-only, rotating), the
signed-in user (cockpit.ui.sign_in) and what its role may do, and the query-parameter helpers
behind shareable drill-down links."""
from __future__ import annotations

import re
import time
import unicodedata

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


WALL_EVERY_DEFAULT_S = 30
WALL_EVERY_MIN_S = 10
PRINCIPAL = "auth_principal"  # the signed-in cockpit.auth.Principal, set by sign_in.gate
NOBODY = "anonymous"  # not a user: an action without a signed-in user is refused and audited

# Dark, large type, no chrome: a 1920x1080 TV readable from across the room.
WALL_CSS = """
<style>
.cockpit-badge {display: inline-block; color: #fff; font-weight: 700; letter-spacing: 0.04em; border-radius: 0.3rem;
  padding: 0.05rem 0.5rem; font-size: 0.8rem;}
.cockpit-critical {background: #c8102e;} .cockpit-warn {background: #d97706;} .cockpit-ok {background: #2f855a;}
.cockpit-no_data, .cockpit-no_rule {background: #6b7280;}
.cockpit-badge {font-size: 1.3rem !important; padding: 0.1rem 0.7rem !important;}
[data-testid="stMetricDelta"] {background: #1d2330 !important;}
[data-testid="stAlertContainer"] {background: #3a2f0b !important;}
[data-testid="stAlertContainer"] p {font-size: 1.2rem !important;}
header[data-testid="stHeader"], [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stToolbar"], footer {display: none !important;}
.stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {background: #0b0d12 !important; color: #e8e8ea !important;}
[data-testid="stMainBlockContainer"] {padding: 0.8rem 1.6rem 0 1.6rem !important; max-width: 100% !important;}
.stApp p, .stApp li, .stApp h1, .stApp h2, .stApp h3, .stApp label, [data-testid="stMetricValue"] {color: #e8e8ea !important;}
[data-testid="stMetric"] [data-testid="stVegaLiteChart"], [data-testid="stMetric"] canvas, [data-testid="stMetric"] svg.marks {filter: invert(1) hue-rotate(180deg);}
.stApp h1 {font-size: 2.4rem !important; padding: 0 !important;}
[data-testid="stMetricValue"] {font-size: 3.4rem !important;}
[data-testid="stMetricLabel"] p {font-size: 1.5rem !important;}
[data-testid="stMetricDelta"] {font-size: 1.3rem !important;}
[data-testid="stVerticalBlockBorderWrapper"] {border-color: #2a2f3a !important;}
div.cockpit-critical {background: #c8102e; color: #fff; font-size: 2.2rem; line-height: 1.25;
  padding: 0.5rem 1.2rem; border-radius: 0.5rem; animation: cockpit-pulse 1.6s ease-in-out infinite;}
.cockpit-critical ul {margin: 0.2rem 0 0 1.5rem; font-size: 1.6rem;}
@keyframes cockpit-pulse {0%, 100% {opacity: 1;} 50% {opacity: 0.78;}}
</style>
"""
BROWSER_CSS = """
<style>
.cockpit-badge {display: inline-block; color: #fff; font-weight: 700; letter-spacing: 0.04em; border-radius: 0.3rem;
  padding: 0.05rem 0.5rem; font-size: 0.8rem;}
.cockpit-critical {background: #c8102e;} .cockpit-warn {background: #d97706;} .cockpit-ok {background: #2f855a;}
.cockpit-no_data, .cockpit-no_rule {background: #6b7280;}
div.cockpit-critical {background: #c8102e; color: #fff; font-size: 1.2rem; padding: 0.4rem 1rem; border-radius: 0.4rem;}
.cockpit-critical ul {margin: 0.2rem 0 0 1.2rem;}
</style>
"""


def require_frame() -> None:
    """Make sure the page runs inside app.py's navigation, whatever URL opened it.

    Until some run calls st.navigation, a fresh Streamlit server serves pages/ the old way:
    a URL naming a file's page (/overview for 01_overview.py) runs that script alone,
    without app.py. Our url_paths differ from those names, so only such a hand-typed URL
    lands here: switch the old way off and run again through app.py."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def is_wall() -> bool:
    """The wall screen: ?mode=wall in the URL. Read-only, dark, no sidebar."""
    return st.query_params.get("mode") == "wall"


def navigation_position() -> str:
    return "hidden" if is_wall() else "sidebar"


def decorate(pages: dict[str, st.Page], current: st.Page) -> None:
    """Style the page for its mode; on the wall, rotate through ?rotate=a,b,c every ?every=N s."""
    if not is_wall():
        st.html(BROWSER_CSS)
        return
    st.html(WALL_CSS)
    playlist = [slug for slug in st.query_params.get("rotate", "").split(",") if slug in pages]
    if len(playlist) < 2:
        return
    try:
        every = max(WALL_EVERY_MIN_S, int(st.query_params.get("every", WALL_EVERY_DEFAULT_S)))
    except ValueError:
        every = WALL_EVERY_DEFAULT_S
    slug = next((s for s, page in pages.items() if page.url_path == current.url_path), playlist[0])
    if st.session_state.get("wall_page") != slug:
        st.session_state["wall_page"], st.session_state["wall_since"] = slug, time.time()
    following = playlist[(playlist.index(slug) + 1) % len(playlist)] if slug in playlist else playlist[0]
    params = {key: st.query_params.get(key) for key in ("mode", "rotate", "every", "token")}

    @st.fragment(run_every=min(every, 5))
    def rotate():
        if time.time() - st.session_state.get("wall_since", time.time()) >= every:
            st.switch_page(pages[following], query_params=params)

    rotate()


def principal():
    """The signed-in cockpit.auth.Principal of this browser session, or None."""
    return st.session_state.get(PRINCIPAL)


def actor() -> str:
    """Who acts: the signed-in user's name, stamped on every action in the audit log."""
    signed_in = principal()
    return signed_in.name if signed_in is not None else NOBODY


def can(required: str) -> bool:
    """Whether the signed-in user's role may do what needs `required` (viewer, operator, admin):
    pages hide the buttons it may not use; cockpit.actions refuses them anyway. Never on the wall."""
    signed_in = principal()
    return signed_in is not None and signed_in.may(required) and not is_wall()


def clean(text: str | None) -> str:
    """What a person typed or a link carried, without control characters (a NUL byte cannot
    reach PostgreSQL) and surrounding whitespace."""
    return "".join(ch for ch in text or "" if unicodedata.category(ch) != "Cc").strip()


# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the ones
# that start markup in Streamlit's Markdown (links, emphasis, code, HTML, math, lists, headings).
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=])")


def literal(text: str) -> str:
    """The shop's own text (a product or supplier name from an import) escaped, so a Markdown
    line shows its brackets, stars and underscores as they are."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


def quoted(text: str) -> str:
    """What a person typed or a link carried, as an inline code span: shown exactly as it came,
    never as markup. Escaping is not enough here: Streamlit's Markdown (GFM) turns a bare
    https://… into a link even when its characters are escaped, so `[Sign in](https://evil…)`
    in an ID would put a clickable link inside our own error message."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"  # CommonMark drops one padding space on each side


def param(name: str) -> str | None:
    """A drill-down's state from the URL (st.query_params), so a link reopens it; cleaned
    (see clean), None when nothing is left."""
    return clean(st.query_params.get(name)) or None


def set_params(**values: str | None) -> None:
    """Set (or, with None, drop) drill-down parameters; the URL is then shareable."""
    for name, value in values.items():
        if value is None:
            st.query_params.pop(name, None)
        else:
            st.query_params[name] = value
