"""`python -m cockpit users ...` and `tokens ...`: users, roles and wall-screen display tokens
from the command line, and the first run's admin."""
from __future__ import annotations

import sys
import time
from datetime import datetime

from cockpit import auth
from cockpit.cli import EXIT_OK, UserError, _engine
from cockpit.config import Settings


def announce_first_admin(settings: Settings, *, hint: bool = False) -> None:
    """Create the first admin when the users table is empty and print its password once;
    with hint=True, say how to sign in when users exist already."""
    with _engine(settings).begin() as conn:
        created = auth.ensure_first_admin(conn, settings.admin_password, time.time())
    if created is None:
        if hint:
            print("sign in with your cockpit user; the first run printed the admin's password "
                  "(`python -m cockpit users set-password admin` sets a new one)")
        return
    if not created.generated:
        print(f"first run: created the admin user {created.username!r} with the password from COCKPIT_ADMIN_PASSWORD")
        return
    print(f"first run: created the admin user {created.username!r}; sign in with\n"
          f"    user: {created.username}\n    password: {created.password}\n"
          f"  (shown once; change it with `python -m cockpit users set-password {created.username}`)")


def _password(args) -> tuple[str, bool]:
    """(password, generated): from stdin's first line with --password-stdin, else generated."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError("--password-stdin: stdin gave no password")
        return password, False
    return auth.generate_password(), True


def _when(ts_utc, settings: Settings) -> str:
    if ts_utc is None or ts_utc != ts_utc:
        return "-"
    return f"{datetime.fromtimestamp(int(ts_utc), settings.tz):%Y-%m-%d %H:%M}"


def _change(settings: Settings, change, *args):
    """Run an auth change in one transaction; its result, or a UserError with its reason."""
    try:
        with _engine(settings).begin() as conn:
            return change(conn, *args)
    except auth.AuthError as exc:
        raise UserError(str(exc)) from None


def cmd_users_add(args, settings: Settings) -> int:
    password, generated = (None, False) if args.oidc else _password(args)
    _change(settings, auth.add_user, args.username, args.role, password, time.time())
    print(f"user {args.username} added as {args.role}")
    if generated:
        print(f"password (shown once): {password}")
    return EXIT_OK


def cmd_users_list(args, settings: Settings) -> int:
    with _engine(settings).connect() as conn:
        users = auth.list_users(conn)
    if users.empty:
        print("no user yet: `python -m cockpit init` creates the first admin")
    for row in users.itertuples(index=False):
        state = "disabled" if row.disabled else "enabled"
        how = "password" if row.has_password else "OpenID Connect only"
        print(f"{row.username:<30} {row.role:<9} {state:<9} {how:<20} changed {_when(row.updated_ts_utc, settings)}")
    return EXIT_OK


def cmd_users_set_role(args, settings: Settings) -> int:
    _change(settings, auth.set_role, args.username, args.role, time.time())
    print(f"user {args.username} is now {args.role}")
    return EXIT_OK


def cmd_users_set_password(args, settings: Settings) -> int:
    password, generated = _password(args)
    _change(settings, auth.set_password, args.username, password, time.time())
    print(f"password of {args.username} changed; its sessions ended")
    if generated:
        print(f"new password (shown once): {password}")
    return EXIT_OK


def cmd_users_disable(args, settings: Settings) -> int:
    _change(settings, auth.set_disabled, args.username, not args.enable, time.time())
    print(f"user {args.username} {'enabled' if args.enable else 'disabled; its sessions ended'}")
    return EXIT_OK


def cmd_users_remove(args, settings: Settings) -> int:
    _change(settings, auth.remove_user, args.username)
    print(f"user {args.username} removed (the audit log keeps its name on past actions)")
    return EXIT_OK


def cmd_tokens_add(args, settings: Settings) -> int:
    token = _change(settings, auth.add_token, args.label, time.time())
    print(f"display token {args.label} (shown once): {token}\n"
          f"  wall screen URL: http://HOST:{settings.port}/?mode=wall&token={token}")
    return EXIT_OK


def cmd_tokens_list(args, settings: Settings) -> int:
    with _engine(settings).connect() as conn:
        tokens = auth.list_tokens(conn)
    if tokens.empty:
        print("no display token yet: `python -m cockpit tokens add LABEL` makes one")
    for row in tokens.itertuples(index=False):
        revoked = _when(row.revoked_ts_utc, settings)
        state = "active" if revoked == "-" else f"revoked {revoked}"
        print(f"{row.label:<30} created {_when(row.created_ts_utc, settings)}  {state}")
    return EXIT_OK


def cmd_tokens_revoke(args, settings: Settings) -> int:
    _change(settings, auth.revoke_token, args.label, time.time())
    print(f"display token {args.label} revoked; screens using it are signed out at their next page run")
    return EXIT_OK


def _password_option(parser) -> None:
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of stdin (at least "
                        f"{auth.MIN_PASSWORD_LENGTH} characters); without it one is generated and printed once")


def add_auth_commands(sub) -> None:
    """Register `users` and `tokens` with their subcommands on the CLI's subparsers."""
    roles = ", ".join(auth.ROLES)
    p = sub.add_parser("users", help="add, list and manage the users who sign in, and their roles",
                       description=f"Users sign in to the app with a password (stored only as an argon2 hash) or "
                       f"through OpenID Connect (the user name is then the email). Roles: {roles}: a viewer reads, "
                       "an operator also runs actions and acknowledges alerts, an admin also edits alert rules.")
    commands = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    q = commands.add_parser("add", help="create a user")
    q.add_argument("username", help="the sign-in name (an email for OpenID Connect users)")
    q.add_argument("--role", choices=auth.ROLES, default="viewer", help="default viewer")
    _password_option(q)
    q.add_argument("--oidc", action="store_true", help="no password: the user signs in through OpenID Connect only")
    q.set_defaults(handler=cmd_users_add)
    q = commands.add_parser("list", help="list the users, their roles and whether they are enabled")
    q.set_defaults(handler=cmd_users_list)
    q = commands.add_parser("set-role", help="change a user's role (applies at the user's next click)")
    q.add_argument("username")
    q.add_argument("role", choices=auth.ROLES)
    q.set_defaults(handler=cmd_users_set_role)
    q = commands.add_parser("set-password", help="set a new password and end the user's sessions")
    q.add_argument("username")
    _password_option(q)
    q.set_defaults(handler=cmd_users_set_password)
    q = commands.add_parser("disable", help="stop a user signing in or acting (ends its sessions)")
    q.add_argument("username")
    q.add_argument("--enable", action="store_true", help="enable a disabled user again")
    q.set_defaults(handler=cmd_users_disable)
    q = commands.add_parser("remove", help="delete a user (the last admin cannot be removed)")
    q.add_argument("username")
    q.set_defaults(handler=cmd_users_remove)

    p = sub.add_parser("tokens", help="add, list or revoke read-only display tokens for wall screens",
                       description="A display token signs a wall screen in read-only (?mode=wall&token=..., or "
                       "COCKPIT_DISPLAY_TOKEN for every wall screen of a server), never as an operator. Only "
                       "its hash is stored: the token is shown once.")
    commands = p.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    q = commands.add_parser("add", help="create a display token and print it once")
    q.add_argument("label", help="a name for the screen, e.g. warehouse-tv")
    q.set_defaults(handler=cmd_tokens_add)
    q = commands.add_parser("list", help="list the display tokens (never the tokens themselves)")
    q.set_defaults(handler=cmd_tokens_list)
    q = commands.add_parser("revoke", help="revoke a display token")
    q.add_argument("label")
    q.set_defaults(handler=cmd_tokens_revoke)
