"""`python -m cockpit users|tokens` end to end, and the first run's admin, on both backends."""
import os
import re
import subprocess
import sys
import time

import pytest

from cockpit import auth
from cockpit.db.engine import get_engine
from tests.cockpit.test_refresh import ROOT


def cli(db_url, *args, stdin: str | None = None, env=None):
    full_env = {name: value for name, value in os.environ.items() if name != "COCKPIT_ADMIN_PASSWORD"}
    full_env.update({"COCKPIT_DB_URL": db_url, **(env or {})})
    done = subprocess.run([sys.executable, "-m", "cockpit", *args], cwd=ROOT, env=full_env, input=stdin,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def signs_in(db_url, name, password) -> bool:
    with get_engine(db_url).begin() as conn:
        return auth.sign_in(conn, name, password, time.time(), 1).ok


@pytest.mark.parametrize("command", ["users", "tokens"])
def test_the_commands_have_help(command):
    code, out, _ = cli("sqlite://", command, "--help")
    assert code == 0 and out.startswith(f"usage: python -m cockpit {command}")
    assert ("set-password" in out and "viewer" in out) if command == "users" else "revoke" in out


def test_init_prints_a_generated_admin_password_once(fresh_db_url, backend):
    url = fresh_db_url(backend)
    code, out, err = cli(url, "init")
    assert code == 0, err
    password = re.search(r"password: (\S+)", out).group(1)
    assert signs_in(url, "admin", password)
    code, again, _ = cli(url, "init")
    assert code == 0 and "password" not in again and password not in again


def test_the_first_admin_takes_its_password_from_the_environment(fresh_db_url, backend):
    url = fresh_db_url(backend)
    code, out, err = cli(url, "init", env={"COCKPIT_ADMIN_PASSWORD": "from the environment"})
    assert code == 0, err
    assert "COCKPIT_ADMIN_PASSWORD" in out and "from the environment" not in out
    assert signs_in(url, "admin", "from the environment")


def test_users_are_added_listed_changed_disabled_and_removed(fresh_db_url, backend):
    url = fresh_db_url(backend)
    assert cli(url, "init")[0] == 0
    code, out, err = cli(url, "users", "add", "ana", "--role", "operator", "--password-stdin",
                         stdin="ana's long password\n")
    assert code == 0 and "ana added as operator" in out, err
    assert signs_in(url, "ana", "ana's long password")
    code, out, _ = cli(url, "users", "add", "bob")
    generated = re.search(r"password \(shown once\): (\S+)", out).group(1)
    assert code == 0 and signs_in(url, "bob", generated)
    assert cli(url, "users", "set-role", "bob", "admin")[0] == 0
    assert cli(url, "users", "disable", "ana")[0] == 0
    code, out, _ = cli(url, "users", "list")
    lines = {line.split()[0]: line.split()[1:3] for line in out.splitlines()}
    assert lines == {"admin": ["admin", "enabled"], "ana": ["operator", "disabled"], "bob": ["admin", "enabled"]}
    assert not signs_in(url, "ana", "ana's long password")
    assert cli(url, "users", "remove", "ana")[0] == 0
    code, _, err = cli(url, "users", "remove", "ana")
    assert code == 2 and err.startswith("error: no user 'ana'")
    code, _, err = cli(url, "users", "add", "eve", "--password-stdin", stdin="short\n")
    assert code == 2 and "at least" in err


def test_display_tokens_are_shown_once_listed_without_the_token_and_revoked(fresh_db_url, backend):
    url = fresh_db_url(backend)
    assert cli(url, "init")[0] == 0
    code, out, err = cli(url, "tokens", "add", "warehouse-tv")
    assert code == 0, err
    token = re.search(r"\(shown once\): (\S+)", out).group(1)
    assert f"?mode=wall&token={token}" in out
    with get_engine(url).connect() as conn:
        assert auth.token_principal(conn, token).role == "viewer"
    code, listed, _ = cli(url, "tokens", "list")
    assert "warehouse-tv" in listed and "active" in listed and token not in listed
    assert cli(url, "tokens", "revoke", "warehouse-tv")[0] == 0
    with get_engine(url).connect() as conn:
        assert auth.token_principal(conn, token) is None
    assert "revoked" in cli(url, "tokens", "list")[1]
