"""Sign-in and roles on both backends: password hashes, the per-user rate limit, sessions that
expire, display tokens that are revoked, the OpenID Connect mapping, the first admin, and roles
enforced (and refusals audited) by the action verbs themselves."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from cockpit import actions, alerts, auth
from cockpit.actions import action_transaction, pause_campaign, replenish_sku, update_rule
from cockpit.db.schema import ActionLog, AlertRule, Campaign, ReplenishmentOrder, SignInAttempt, User
from tests.cockpit.test_actions import NOW, ROI_RULE, add_rule, seed
from tests.support.signin import ensure_users

PASSWORD = "a long enough secret"
T = 1_795_000_000  # epoch seconds


def add(engine, name: str, role: str, password: str | None = PASSWORD) -> None:
    with engine.begin() as conn:
        auth.add_user(conn, name, role, password, T)


def attempt(engine, name: str, password: str, now: float, hours: int = 12) -> auth.SignIn:
    with engine.begin() as conn:
        return auth.sign_in(conn, name, password, now, hours)


# --- passwords --------------------------------------------------------------------------------

def test_a_hash_is_not_the_password_is_salted_and_verifies_only_the_password():
    first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert PASSWORD not in first and first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert auth.verify_password(first, PASSWORD) and auth.verify_password(second, PASSWORD)
    assert not auth.verify_password(first, PASSWORD + "x")
    assert not auth.verify_password("not a hash", PASSWORD) and not auth.verify_password(None, PASSWORD)


def test_a_short_password_is_refused():
    with pytest.raises(auth.AuthError, match="at least"):
        auth.hash_password("short")


def test_only_the_hash_is_stored(engine):
    add(engine, "ana", "operator")
    with engine.connect() as conn:
        stored = conn.execute(select(User.password_hash)).scalar_one()
    assert stored != PASSWORD and PASSWORD not in stored and auth.verify_password(stored, PASSWORD)


def test_the_right_password_signs_in_and_a_wrong_one_is_refused_and_logged(engine, caplog):
    add(engine, "ana", "operator")
    wrong = attempt(engine, "ana", "not the password", T)
    unknown = attempt(engine, "nobody", PASSWORD, T)
    right = attempt(engine, "ana", PASSWORD, T + 1)
    assert not wrong.ok and wrong.token is None and str(wrong.message) == str(unknown.message) == "Wrong user name or password."
    assert right.ok and right.principal == auth.Principal("ana", "operator", "password", T + 1 + 12 * 3600)
    with engine.connect() as conn:
        outcomes = conn.execute(select(SignInAttempt.username, SignInAttempt.outcome)
                                .order_by(SignInAttempt.attempt_id)).all()
        assert auth.session_principal(conn, right.token, T + 2).name == "ana"
    assert [tuple(row) for row in outcomes] == [("ana", "bad_password"), ("nobody", "unknown_user"), ("ana", "ok")]
    assert "sign-in of 'ana' refused: bad_password" in caplog.text


# --- the rate limit ---------------------------------------------------------------------------

def test_five_failures_lock_the_user_until_the_window_has_passed(engine):
    add(engine, "ana", "operator")
    add(engine, "bob", "operator")
    for i in range(auth.MAX_FAILURES):
        assert not attempt(engine, "ana", f"guess number {i}", T + i).ok
    locked = attempt(engine, "ana", PASSWORD, T + 10)  # the right password, but locked
    assert not locked.ok and "Too many failed sign-ins" in str(locked.message)
    assert attempt(engine, "bob", PASSWORD, T + 10).ok  # per user: bob is not locked
    assert not attempt(engine, "ana", PASSWORD, T + auth.FAILURE_WINDOW_S - 1).ok  # the first failure still counts
    later = attempt(engine, "ana", PASSWORD, T + auth.FAILURE_WINDOW_S + auth.MAX_FAILURES)
    assert later.ok, later.message
    with engine.connect() as conn:
        outcomes = conn.execute(select(SignInAttempt.outcome).where(SignInAttempt.username == "ana")
                                .order_by(SignInAttempt.attempt_id)).scalars().all()
    assert outcomes == ["bad_password"] * auth.MAX_FAILURES + ["locked", "locked", "ok"]


def test_four_failures_do_not_lock_and_a_success_clears_them(engine):
    add(engine, "ana", "operator")
    for i in range(auth.MAX_FAILURES - 1):
        attempt(engine, "ana", "wrong password", T + i)
    assert attempt(engine, "ana", PASSWORD, T + 10).ok
    for i in range(auth.MAX_FAILURES - 1):
        attempt(engine, "ana", "wrong password", T + 20 + i)
    assert attempt(engine, "ana", PASSWORD, T + 30).ok


# --- sessions and display tokens --------------------------------------------------------------

def test_a_session_expires_after_its_hours_and_ends_at_sign_out(engine):
    add(engine, "ana", "operator")
    signed = attempt(engine, "ana", PASSWORD, T, hours=2)
    with engine.begin() as conn:
        assert auth.session_principal(conn, signed.token, T + 2 * 3600 - 1).name == "ana"
        assert auth.session_principal(conn, signed.token, T + 2 * 3600) is None  # expired
        assert auth.session_principal(conn, "a made-up token", T) is None
        other = auth.start_session(conn, "ana", T, 12)
        auth.end_session(conn, other, T + 5)
        assert auth.session_principal(conn, other, T + 6) is None


def test_a_disabled_user_loses_its_session_and_a_role_change_applies_at_once(engine):
    add(engine, "ana", "operator")
    add(engine, "ada", "admin")
    with engine.begin() as conn:
        token = auth.start_session(conn, "ana", T, 12)
        auth.set_role(conn, "ana", "viewer", T)
        assert auth.session_principal(conn, token, T + 1).role == "viewer"
        auth.set_disabled(conn, "ana", True, T + 2)
        assert auth.session_principal(conn, token, T + 3) is None
    assert not attempt(engine, "ana", PASSWORD, T + 4).ok


def test_a_display_token_is_read_only_and_stops_working_once_revoked(engine):
    with engine.begin() as conn:
        token = auth.add_token(conn, "warehouse-tv", T)
        assert auth.token_principal(conn, token) == auth.Principal("display:warehouse-tv", "viewer", "display")
        assert auth.token_principal(conn, token + "x") is None
        auth.revoke_token(conn, "warehouse-tv", T + 60)
        assert auth.token_principal(conn, token) is None
        assert auth.list_tokens(conn)["revoked_ts_utc"].tolist() == [T + 60]
        with pytest.raises(auth.AuthError):
            auth.revoke_token(conn, "warehouse-tv", T + 61)


# --- the OpenID Connect mapping ---------------------------------------------------------------

def test_an_oidc_email_gets_its_role_from_our_users_table(engine):
    add(engine, "Ops.Lead@shop.example", "operator", None)
    add(engine, "gone@shop.example", "viewer", None)
    with engine.begin() as conn:
        auth.set_disabled(conn, "gone@shop.example", True, T)
        known = auth.oidc_principal(conn, "ops.lead@shop.example", "deny")
        assert known == auth.Principal("Ops.Lead@shop.example", "operator", "oidc")
        assert auth.oidc_principal(conn, "gone@shop.example", "viewer") is None  # disabled: never
        assert auth.oidc_principal(conn, "stranger@else.example", "deny") is None
        assert auth.oidc_principal(conn, "stranger@else.example", "viewer").role == "viewer"
        assert auth.oidc_principal(conn, "", "viewer") is None
        assert auth.refusal(conn, "stranger@else.example", "viewer") is not None  # not a user: cannot act


# --- the first admin and the last admin ---------------------------------------------------------

def test_the_first_run_creates_one_admin_with_the_password_from_the_environment(engine):
    with engine.begin() as conn:
        created = auth.ensure_first_admin(conn, "from the environment", T)
        again = auth.ensure_first_admin(conn, "another password", T + 1)
        rows = conn.execute(select(User.username, User.role, User.password_hash)).all()
    assert created == auth.FirstAdmin("admin", "from the environment", generated=False) and again is None
    assert [(r.username, r.role) for r in rows] == [("admin", "admin")]
    assert auth.verify_password(rows[0].password_hash, "from the environment")


def test_a_generated_first_password_is_returned_once_and_works(engine):
    with engine.begin() as conn:
        created = auth.ensure_first_admin(conn, None, T)
    assert created.generated and len(created.password) >= auth.MIN_PASSWORD_LENGTH
    assert attempt(engine, "admin", created.password, T + 1).ok


def test_the_last_admin_cannot_be_removed_disabled_or_demoted(engine):
    add(engine, "ada", "admin")
    with engine.begin() as conn:
        for change in (lambda: auth.remove_user(conn, "ada"), lambda: auth.set_disabled(conn, "ada", True, T),
                       lambda: auth.set_role(conn, "ada", "operator", T)):
            with pytest.raises(auth.AuthError, match="last enabled admin"):
                change()
    add(engine, "bea", "admin")
    with engine.begin() as conn:
        auth.remove_user(conn, "ada")
        assert auth.list_users(conn)["username"].tolist() == ["bea"]


@pytest.mark.parametrize("name", ["scheduler", "anonymous", "two words", "a:b", "", "x" * 101])
def test_reserved_or_malformed_user_names_are_refused(engine, name):
    with pytest.raises(auth.AuthError), engine.begin() as conn:
        auth.add_user(conn, name, "viewer", PASSWORD, T)


# --- roles enforced by the actions ------------------------------------------------------------

def test_every_action_verb_names_the_role_it_needs():
    assert set(actions.REQUIRED_ROLE) == set(actions.VERBS)
    assert set(actions.REQUIRED_ROLE.values()) <= set(auth.ROLES)


@pytest.fixture
def roles_shop(engine):
    seed(engine)
    ensure_users(engine, vera="viewer", otto="operator", ada="admin")
    return engine


def refused_rows(engine, actor: str) -> list:
    """The audit rows of `actor`'s actions refused for want of a role."""
    with engine.connect() as conn:
        return conn.execute(select(ActionLog.verb, ActionLog.result, ActionLog.message)
                            .where(ActionLog.actor == actor, ActionLog.result == "refused",
                                   ActionLog.message.like("Not allowed:%"))).all()


def test_a_viewer_cannot_pause_or_replenish_and_each_refusal_is_audited(roles_shop):
    with action_transaction(roles_shop) as conn:
        paused = pause_campaign(conn, "CMP-PS", "vera", "intent-pause", NOW)
        ordered = replenish_sku(conn, "FOO-1", "WH-EAST", 10, "vera", "intent-replenish", NOW)
    assert paused.result == ordered.result == "refused" and not paused.done
    assert "vera" in paused.message and "operator role" in paused.message
    rows = refused_rows(roles_shop, "vera")
    assert sorted(row.verb for row in rows) == ["pause_campaign", "replenish_sku"]
    assert all(row.message.startswith("Not allowed:") for row in rows)
    with roles_shop.connect() as conn:
        assert conn.execute(select(Campaign.status).where(Campaign.campaign_id == "CMP-PS")).scalar() == "active"
        assert conn.execute(select(func.count()).select_from(ReplenishmentOrder)
                            .where(ReplenishmentOrder.source == "action")).scalar() == 0
    # The viewer's attempt did not take the intent key: an operator who saw the same state acts.
    with action_transaction(roles_shop) as conn:
        done = pause_campaign(conn, "CMP-PS", "otto", "intent-pause", NOW)
        ordered = replenish_sku(conn, "FOO-1", "WH-EAST", 10, "otto", "intent-replenish", NOW)
    assert done.result == ordered.result == "done" and not done.duplicate
    with roles_shop.connect() as conn:
        assert conn.execute(select(Campaign.status).where(Campaign.campaign_id == "CMP-PS")).scalar() == "paused"


def test_unknown_or_disabled_actors_are_refused_and_the_scheduler_acts_automatically(roles_shop):
    with roles_shop.begin() as conn:
        auth.set_disabled(conn, "otto", True, T)
    with action_transaction(roles_shop) as conn:
        assert pause_campaign(conn, "CMP-PS", "mallory", "k1", NOW).result == "refused"
        assert pause_campaign(conn, "CMP-PS", "otto", "k2", NOW).result == "refused"
        assert pause_campaign(conn, "CMP-PS", auth.SYSTEM_ACTOR, "k3", NOW).result == "refused"  # not automatic
        assert pause_campaign(conn, "CMP-PS", auth.SYSTEM_ACTOR, "k4", NOW, automatic=True).result == "done"
    assert len(refused_rows(roles_shop, "mallory")) == len(refused_rows(roles_shop, "otto")) == 1


@pytest.mark.parametrize("actor,allowed", [("vera", False), ("otto", False), ("ada", True)])
def test_only_an_admin_may_edit_an_alert_rule(roles_shop, actor, allowed):
    with action_transaction(roles_shop) as conn:
        rule = add_rule(conn)
    with action_transaction(roles_shop) as conn:
        result = update_rule(conn, replace(rule, warn=-0.1), actor, f"edit-{actor}", NOW)
        profile = actions.set_rule_profile(conn, "sales-event", actor, f"profile-{actor}", NOW)
    assert (result.result == "done") is allowed, result.message
    with roles_shop.connect() as conn:
        saved = alerts.rule_from_row(conn.execute(select(AlertRule).where(AlertRule.rule_id == rule.rule_id)).one())
    assert saved.warn == (-0.1 if allowed else ROI_RULE.warn)
    assert ("admin role" in profile.message) is not allowed
    assert len(refused_rows(roles_shop, actor)) == (0 if allowed else 2)


def test_a_repeated_refusal_is_one_audit_row(roles_shop):
    with action_transaction(roles_shop) as conn:
        first = pause_campaign(conn, "CMP-PS", "vera", "same", NOW)
        second = pause_campaign(conn, "CMP-PS", "vera", "same", NOW + 5)
    assert not first.duplicate and second.duplicate and second.action_id == first.action_id
    assert len(refused_rows(roles_shop, "vera")) == 1
