"""Sign-in and roles: password hashes, users, the per-user sign-in rate limit, sessions, display
tokens for wall screens, the OpenID Connect role mapping and the role checks actions make."""
from __future__ import annotations

import hashlib
import logging
import math
import secrets
from dataclasses import dataclass

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, func, insert, select, update

from cockpit.db.dialect import insert_ignore
from cockpit.db.frames import to_frame
from cockpit.db.schema import AuthSession, DisplayToken, SignInAttempt, User
from cockpit.i18n import check_language
from models.phrases import Phrase, phrase

log = logging.getLogger(__name__)

ROLES = ("viewer", "operator", "admin")  # each role may do what the ones before it may
_RANK = {role: rank for rank, role in enumerate(ROLES)}
FIRST_ADMIN = "admin"
SYSTEM_ACTOR = "scheduler"  # the scheduler's automatic actions; no user may take this name
RESERVED_NAMES = (SYSTEM_ACTOR, "anonymous")  # "anonymous": the actor when nobody is signed in
MAX_NAME_LENGTH = 100  # actions.MAX_ACTOR_LENGTH: a user name is the actor in the audit log
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this keeps a pasted megabyte out
MAX_FAILURES = 5  # failed sign-ins of one user within FAILURE_WINDOW_S lock that user ...
FAILURE_WINDOW_S = 15 * 60  # ... until the oldest of them is this old (at most 15 minutes)
ATTEMPT_RETENTION_S = 90 * 86400
USER_COLUMNS = ["username", "role", "disabled", "has_password", "created_ts_utc", "updated_ts_utc"]
TOKEN_COLUMNS = ["label", "created_ts_utc", "revoked_ts_utc"]
OIDC_UNKNOWN = ("deny", "viewer")
# The browser cookie that carries a session token (cockpit.ui.sign_in writes and reads it).
SESSION_COOKIE = "cockpit_session"

# argon2id with the library's defaults (RFC 9106's second recommended setting, 64 MiB).
_HASHER = PasswordHasher()
# Verified against when the user does not exist, so that an unknown name takes as long as a
# wrong password and the timing does not tell which names exist.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class AuthError(ValueError):
    """A user or token operation that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Principal:
    """Who is signed in: name (the actor stamped on actions), role (viewer, operator, admin),
    kind (password, oidc or display) and, for sessions, when it ends (epoch seconds)."""

    name: str
    role: str
    kind: str
    expires_ts_utc: int | None = None
    language: str | None = None  # the interface language the user chose; None: COCKPIT_LANG

    def may(self, required: str) -> bool:
        return allows(self.role, required)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: on success the principal and the session token to keep (in
    the browser session only; the database keeps its hash), else a message to show (a Phrase:
    str() is English, cockpit.i18n.say shows it in the user's language)."""

    principal: Principal | None
    token: str | None
    message: Phrase

    @property
    def ok(self) -> bool:
        return self.principal is not None


@dataclass(frozen=True)
class FirstAdmin:
    """The admin created on a first run: its password was generated (print it once) or
    taken from COCKPIT_ADMIN_PASSWORD (generated=False)."""

    username: str
    password: str
    generated: bool


# --- roles ------------------------------------------------------------------------------------

def allows(role: str | None, required: str) -> bool:
    """Whether `role` may do what needs `required` (viewer < operator < admin)."""
    return role in _RANK and _RANK[role] >= _RANK[required]


def role_of(conn: Connection, name: str) -> str | None:
    """The role of the enabled user `name`, or None (unknown or disabled)."""
    row = conn.execute(select(User.role, User.disabled).where(User.username == name)).first()
    return row.role if row is not None and not row.disabled else None


def refusal(conn: Connection, actor: str, required: str, *, automatic: bool = False) -> Phrase | None:
    """Why `actor` may not do what needs `required` (a Phrase: str() is English), or None when
    it may. The scheduler's automatic actions (SYSTEM_ACTOR, automatic=True) may; everyone else
    needs an enabled user with at least that role."""
    if automatic and actor == SYSTEM_ACTOR:
        return None
    role = role_of(conn, actor)
    if role is None:
        return phrase("{actor} is not an enabled user of the cockpit", actor=repr(actor))
    if not allows(role, required):
        return phrase("{actor} is a {role}; this needs the {required} role", actor=repr(actor), role=role,
                      required=required)
    return None


# --- passwords and users ----------------------------------------------------------------------

def _check_role(role: str) -> str:
    if role not in _RANK:
        raise AuthError(f"role {role!r} does not exist: use one of {', '.join(ROLES)}")
    return role


def _check_name(username: str) -> str:
    name = (username or "").strip()
    if not name:
        raise AuthError("a user name must not be blank")
    if len(name) > MAX_NAME_LENGTH:
        raise AuthError(f"a user name has at most {MAX_NAME_LENGTH} characters")
    if ":" in name or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise AuthError(f"user name {name!r}: no spaces, colons or control characters")
    if name in RESERVED_NAMES:
        raise AuthError(f"{name!r} is reserved for the audit log (the scheduler, nobody signed in); pick another")
    return name


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AuthError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (salted; the only form a password is stored in).
    AuthError for a password shorter than MIN_PASSWORD_LENGTH."""
    _check_password(password)
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches `stored_hash` (False for a missing or malformed hash)."""
    if not stored_hash or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password of 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


def _user(conn: Connection, username: str):
    row = conn.execute(select(User).where(User.username == username)).first()
    if row is None:
        raise AuthError(f"no user {username!r}: `python -m cockpit users list` shows them")
    return row


def add_user(conn: Connection, username: str, role: str, password: str | None, now_ts: float) -> None:
    """Create a user. password None: the user can only sign in through OpenID Connect (its
    name is then its email). AuthError for a bad name, role or password, or a taken name."""
    name, role = _check_name(username), _check_role(role)
    hashed = hash_password(password) if password is not None else None
    if conn.execute(select(User.username).where(User.username == name)).first() is not None:
        raise AuthError(f"user {name!r} exists already: use set-role or set-password")
    conn.execute(insert(User).values(username=name, password_hash=hashed, role=role, disabled=False,
                                     created_ts_utc=int(now_ts), updated_ts_utc=int(now_ts)))
    log.info("user %s added as %s", name, role)


def _enabled_admins(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(User)
                        .where(User.role == "admin", User.disabled.is_(False))).scalar_one()


def _keep_an_admin(conn: Connection, row, *, what: str) -> None:
    if row.role == "admin" and not row.disabled and _enabled_admins(conn) <= 1:
        raise AuthError(f"{row.username!r} is the last enabled admin: make another admin before you {what} it")


def set_role(conn: Connection, username: str, role: str, now_ts: float) -> None:
    """Change a user's role (takes effect on the user's next action or page run)."""
    row, role = _user(conn, username), _check_role(role)
    if role != "admin":
        _keep_an_admin(conn, row, what="demote")
    conn.execute(update(User).where(User.username == row.username).values(role=role, updated_ts_utc=int(now_ts)))
    log.info("user %s is now %s", row.username, role)


def set_password(conn: Connection, username: str, password: str, now_ts: float) -> None:
    """Replace a user's password and end the user's sessions."""
    row = _user(conn, username)
    conn.execute(update(User).where(User.username == row.username)
                 .values(password_hash=hash_password(password), updated_ts_utc=int(now_ts)))
    end_sessions(conn, row.username, now_ts)
    log.info("password of user %s changed", row.username)


def set_disabled(conn: Connection, username: str, disabled: bool, now_ts: float) -> None:
    """Disable (sessions end, sign-in and actions refused) or enable a user again."""
    row = _user(conn, username)
    if disabled:
        _keep_an_admin(conn, row, what="disable")
        end_sessions(conn, row.username, now_ts)
    conn.execute(update(User).where(User.username == row.username)
                 .values(disabled=bool(disabled), updated_ts_utc=int(now_ts)))
    log.info("user %s %s", row.username, "disabled" if disabled else "enabled")


def remove_user(conn: Connection, username: str) -> None:
    """Delete a user and its sessions; the audit log keeps its name on past actions."""
    row = _user(conn, username)
    _keep_an_admin(conn, row, what="remove")
    conn.execute(delete(AuthSession).where(AuthSession.username == row.username))
    conn.execute(delete(User).where(User.username == row.username))
    log.info("user %s removed", row.username)


def list_users(conn: Connection) -> pd.DataFrame:
    """Every user, by name: USER_COLUMNS (times epoch seconds); never a hash."""
    rows = conn.execute(select(User.username, User.role, User.disabled, User.password_hash.is_not(None),
                               User.created_ts_utc, User.updated_ts_utc).order_by(User.username)).all()
    frame = to_frame(rows, USER_COLUMNS)
    frame["disabled"] = frame["disabled"].astype(bool)
    frame["has_password"] = frame["has_password"].astype(bool)
    return frame


def ensure_first_admin(conn: Connection, password: str | None, now_ts: float) -> FirstAdmin | None:
    """On a first run (no user at all) create the admin FIRST_ADMIN with `password`
    (COCKPIT_ADMIN_PASSWORD) or a generated one; None when users exist. Two processes starting
    at once create it once: only the one whose insert wins gets the FirstAdmin back."""
    if conn.execute(select(User.username).limit(1)).first() is not None:
        return None
    generated = password is None
    password = generate_password() if generated else password
    inserted = conn.execute(insert_ignore(conn, User.__table__).values(
        username=FIRST_ADMIN, password_hash=hash_password(password), role="admin", disabled=False,
        created_ts_utc=int(now_ts), updated_ts_utc=int(now_ts))).rowcount
    if not inserted:
        return None
    log.info("first run: created the admin user %r (%s)", FIRST_ADMIN,
             "generated password, printed once" if generated else "password from COCKPIT_ADMIN_PASSWORD")
    return FirstAdmin(FIRST_ADMIN, password, generated)


# --- sign-in, the rate limit and sessions -----------------------------------------------------

def _digest(token: str) -> str:
    """Tokens are 256-bit random strings: a plain SHA-256 is enough to store them (a slow hash
    protects guessable passwords, not random tokens) and lets them be looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def _record(conn: Connection, username: str, outcome: str, now_ts: float) -> None:
    conn.execute(insert(SignInAttempt).values(ts_utc=int(now_ts), username=username[:MAX_NAME_LENGTH],
                                              outcome=outcome))
    if outcome == "ok":
        log.info("sign-in of %r", username)
    else:
        log.warning("sign-in of %r refused: %s", username, outcome)


def locked_until(conn: Connection, username: str, now_ts: float) -> int | None:
    """When `username` may try again (epoch seconds) if MAX_FAILURES failed sign-ins within the
    last FAILURE_WINDOW_S (and since its last success) lock it now; else None."""
    since = now_ts - FAILURE_WINDOW_S
    last_ok = conn.execute(select(func.max(SignInAttempt.ts_utc)).where(
        SignInAttempt.username == username, SignInAttempt.outcome == "ok")).scalar()
    if last_ok is not None:
        since = max(since, last_ok)
    failures = conn.execute(
        select(SignInAttempt.ts_utc)
        .where(SignInAttempt.username == username, SignInAttempt.ts_utc > since, SignInAttempt.ts_utc <= now_ts,
               SignInAttempt.outcome.in_(("bad_password", "unknown_user", "disabled")))
        .order_by(SignInAttempt.ts_utc.desc()).limit(MAX_FAILURES)
    ).scalars().all()
    if len(failures) < MAX_FAILURES:
        return None
    return int(failures[-1]) + FAILURE_WINDOW_S


def sign_in(conn: Connection, username: str, password: str, now_ts: float, session_hours: int) -> SignIn:
    """Check a user name and password; on success start a session of `session_hours`.

    Every attempt is recorded (sign_in_attempts) and logged. A locked user is refused without
    looking at the password (attempts while locked do not extend the lock). Unknown names,
    wrong passwords and disabled users get the same message, so it does not tell which names
    exist."""
    name = (username or "").strip()[:MAX_NAME_LENGTH]
    wrong = SignIn(None, None, phrase("Wrong user name or password."))
    if not name or not password:
        return SignIn(None, None, phrase("Enter your user name and password."))
    until = locked_until(conn, name, now_ts)
    if until is not None:
        _record(conn, name, "locked", now_ts)
        minutes = math.ceil((until - now_ts) / 60)
        return SignIn(None, None, phrase("Too many failed sign-ins for {name}: try again in {minutes} minute(s).",
                                         name=name, minutes=minutes))
    row = conn.execute(select(User).where(User.username == name)).first()
    if row is None or row.password_hash is None:
        verify_password(_DUMMY_HASH, password)
        _record(conn, name, "unknown_user", now_ts)
        return wrong
    if not verify_password(row.password_hash, password):
        _record(conn, name, "bad_password", now_ts)
        return wrong
    if row.disabled:
        _record(conn, name, "disabled", now_ts)
        return wrong
    if _HASHER.check_needs_rehash(row.password_hash):
        conn.execute(update(User).where(User.username == name).values(password_hash=_HASHER.hash(password)))
    _record(conn, name, "ok", now_ts)
    conn.execute(delete(SignInAttempt).where(SignInAttempt.ts_utc < now_ts - ATTEMPT_RETENTION_S))
    token = start_session(conn, name, now_ts, session_hours)
    expires = int(now_ts) + int(session_hours) * 3600
    return SignIn(Principal(name, row.role, "password", expires, row.language), token,
                  phrase("Signed in as {name} ({role}).", name=name, role=row.role))


def start_session(conn: Connection, username: str, now_ts: float, session_hours: int) -> str:
    """A new session for an existing user, ending `session_hours` from now: its token."""
    token = secrets.token_urlsafe(32)
    conn.execute(delete(AuthSession).where(AuthSession.expires_ts_utc < now_ts - 86400))
    conn.execute(insert(AuthSession).values(token_hash=_digest(token), username=username, created_ts_utc=int(now_ts),
                                            expires_ts_utc=int(now_ts) + int(session_hours) * 3600))
    return token


def session_principal(conn: Connection, token: str | None, now_ts: float) -> Principal | None:
    """The principal of a session token, or None when the session is unknown, signed out or
    expired, or its user was disabled or removed. The role is read now, so a role change
    applies at once."""
    if not token:
        return None
    row = conn.execute(
        select(User.username, User.role, User.language, AuthSession.expires_ts_utc)
        .join(User, User.username == AuthSession.username)
        .where(AuthSession.token_hash == _digest(token), AuthSession.ended_ts_utc.is_(None),
               AuthSession.expires_ts_utc > now_ts, User.disabled.is_(False))
    ).first()
    return Principal(row.username, row.role, "password", int(row.expires_ts_utc), row.language) \
        if row is not None else None


def end_session(conn: Connection, token: str | None, now_ts: float) -> None:
    """Sign out: the session token stops working."""
    if token:
        conn.execute(update(AuthSession).where(AuthSession.token_hash == _digest(token),
                                               AuthSession.ended_ts_utc.is_(None)).values(ended_ts_utc=int(now_ts)))


def end_sessions(conn: Connection, username: str, now_ts: float) -> None:
    conn.execute(update(AuthSession).where(AuthSession.username == username, AuthSession.ended_ts_utc.is_(None))
                 .values(ended_ts_utc=int(now_ts)))


def set_language(conn: Connection, username: str, lang: str, now_ts: float) -> bool:
    """Remember `lang` as the user's interface language; False when no such user (an OpenID
    Connect viewer admitted without a row keeps the choice for the session only)."""
    check_language(lang)
    done = conn.execute(update(User).where(User.username == username)
                        .values(language=lang, updated_ts_utc=int(now_ts)))
    return done.rowcount == 1


# --- display tokens (wall screens) ------------------------------------------------------------

def add_token(conn: Connection, label: str, now_ts: float) -> str:
    """A new read-only display token named `label`: returned once, stored only as a hash."""
    label = _check_name(label)
    if conn.execute(select(DisplayToken.label).where(DisplayToken.label == label)).first() is not None:
        raise AuthError(f"a display token {label!r} exists already: revoke it or pick another label")
    token = "disp_" + secrets.token_urlsafe(32)
    conn.execute(insert(DisplayToken).values(label=label, token_hash=_digest(token), created_ts_utc=int(now_ts)))
    log.info("display token %s added", label)
    return token


def revoke_token(conn: Connection, label: str, now_ts: float) -> None:
    """Revoke a display token: screens using it are refused from their next page run."""
    changed = conn.execute(update(DisplayToken).where(DisplayToken.label == label,
                                                      DisplayToken.revoked_ts_utc.is_(None))
                           .values(revoked_ts_utc=int(now_ts))).rowcount
    if not changed:
        raise AuthError(f"no active display token {label!r}: `python -m cockpit tokens list` shows them")
    log.info("display token %s revoked", label)


def list_tokens(conn: Connection) -> pd.DataFrame:
    """Every display token: TOKEN_COLUMNS (epoch seconds; revoked_ts_utc None while active)."""
    rows = conn.execute(select(DisplayToken.label, DisplayToken.created_ts_utc, DisplayToken.revoked_ts_utc)
                        .order_by(DisplayToken.label)).all()
    return to_frame(rows, TOKEN_COLUMNS)


def token_principal(conn: Connection, token: str | None) -> Principal | None:
    """The read-only display principal ("display:<label>", role viewer) of an active token."""
    if not token or len(token) > 200:
        return None
    label = conn.execute(select(DisplayToken.label).where(DisplayToken.token_hash == _digest(token),
                                                          DisplayToken.revoked_ts_utc.is_(None))).scalar()
    return Principal(f"display:{label}", "viewer", "display") if label is not None else None


# --- OpenID Connect ---------------------------------------------------------------------------

def oidc_principal(conn: Connection, email: str | None, unknown: str = "deny") -> Principal | None:
    """The role of a user the OpenID Connect provider vouched for, from our users table: the
    row whose name is the email (case-insensitive). A disabled user gets None; an email not in
    the table gets a read-only viewer when `unknown` is "viewer", else None."""
    if unknown not in OIDC_UNKNOWN:
        raise ValueError(f"unknown={unknown!r}: use deny or viewer")
    email = (email or "").strip()
    if not email or len(email) > MAX_NAME_LENGTH:
        return None
    row = conn.execute(select(User.username, User.role, User.disabled, User.language)
                       .where(func.lower(User.username) == email.lower())).first()
    if row is not None:
        return None if row.disabled else Principal(row.username, row.role, "oidc", language=row.language)
    return Principal(email.lower(), "viewer", "oidc") if unknown == "viewer" else None
