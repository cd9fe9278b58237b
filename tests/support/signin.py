"""Signing tests in for real: users in the database, an AppTest session carrying a session token
from cockpit.auth (what the sign-in form stores), and display tokens for wall screens."""
from __future__ import annotations

import time

from sqlalchemy import Engine, select, update

from cockpit import auth
from cockpit.db.engine import get_engine
from cockpit.db.schema import User

TEST_PASSWORD = "correct horse battery"  # a test user's password (tests only)


def ensure_users(engine: Engine, password: str | None = None, **roles: str) -> None:
    """Create each user name=role that does not exist yet (and set the role of those that do);
    without a password they cannot use the form, but they can act and hold sessions."""
    with engine.begin() as conn:
        for name, role in roles.items():
            if conn.execute(select(User.username).where(User.username == name)).first() is None:
                auth.add_user(conn, name, role, password, time.time())
            else:
                conn.execute(update(User).where(User.username == name).values(role=role, disabled=False))


def session_token(db_url: str, name: str = "tester", role: str = "admin", hours: int = 12) -> str:
    """A fresh session of user `name` (created with `role` if needed): its token."""
    engine = get_engine(db_url)
    ensure_users(engine, **{name: role})
    with engine.begin() as conn:
        return auth.start_session(conn, name, time.time(), hours)


def display_token(db_url: str, label: str = "test-wall") -> str:
    """A new display token (a fresh label each call)."""
    with get_engine(db_url).begin() as conn:
        return auth.add_token(conn, f"{label}-{time.time_ns()}", time.time())


def sign_in_app(at, db_url: str, name: str = "tester", role: str = "admin"):
    """Sign an AppTest in before its first run: a wall URL (?mode=wall) gets a display token in
    its URL, any other a session of user `name` in its session state. Returns `at`."""
    if at.query_params.get("mode") in ("wall", ["wall"]):
        if "token" not in at.query_params:
            at.query_params["token"] = display_token(db_url)
    else:
        at.session_state["auth_session"] = session_token(db_url, name, role)
    return at
