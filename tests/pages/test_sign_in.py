"""The sign-in gate driven by AppTest on a seeded database (SQLite and PostgreSQL): nothing but the
form before sign-in, the overview after it, no action buttons for a viewer, and the wall screen
only with a valid display token."""
import os
import time

import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from cockpit import auth
from cockpit.db.engine import get_engine
from cockpit.db.schema import AuthSession, Campaign, StockLevel
from tests.cockpit.test_refresh import ROOT
from tests.pages.test_pages import app_for, seeded_url  # noqa: F401  (seeded_url is a fixture)
from tests.support.signin import TEST_PASSWORD, display_token, ensure_users, session_token

OVERVIEW_TILES = 6


def unsigned_app(db_url, monkeypatch, **params) -> AppTest:
    return app_for(db_url, monkeypatch, None, user=None, **params)


def submit(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="auth_username").input(username)
    at.text_input(key="auth_password").input(password)
    at.button(key="auth_submit").click().run()
    assert not at.exception, at.exception
    return at


def test_an_unsigned_session_sees_only_the_sign_in_form(seeded_url, monkeypatch):
    at = unsigned_app(seeded_url, monkeypatch)
    assert not at.metric and not at.get("plotly_chart")
    assert [w.label for w in at.text_input] == ["User name", "Password"]
    assert not any("Data as of" in caption.value for caption in at.caption)
    stock = unsigned_app(seeded_url, monkeypatch, sku="X", wh="Y")  # a deep link is gated as well
    assert not stock.metric and [w.label for w in stock.text_input] == ["User name", "Password"]


def test_signing_in_with_the_form_shows_the_overview_and_the_user_in_the_sidebar(seeded_url, monkeypatch):
    ensure_users(get_engine(seeded_url), password=TEST_PASSWORD, formuser="operator")
    at = unsigned_app(seeded_url, monkeypatch)
    submit(at, "formuser", TEST_PASSWORD)
    assert len(at.metric) == OVERVIEW_TILES
    assert not at.text_input  # the form is gone
    assert any("Signed in as **formuser** · operator" in m.value for m in at.sidebar.markdown)
    at.button(key="auth_sign_out").click().run()  # signing out ends the session in the database
    assert not at.metric and [w.label for w in at.text_input] == ["User name", "Password"]
    with get_engine(seeded_url).connect() as conn:
        assert conn.execute(select(AuthSession.ended_ts_utc).where(AuthSession.username == "formuser")).scalar()


def test_a_wrong_password_shows_an_error_and_no_numbers(seeded_url, monkeypatch):
    ensure_users(get_engine(seeded_url), password=TEST_PASSWORD, formuser2="operator")
    at = submit(unsigned_app(seeded_url, monkeypatch), "formuser2", "not the password")
    assert not at.metric
    assert [e.value for e in at.error] == ["Wrong user name or password."]


def test_an_expired_session_is_sent_back_to_the_form(seeded_url, monkeypatch):
    monkeypatch.setenv("COCKPIT_DB_URL", seeded_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=90)
    ensure_users(get_engine(seeded_url), old="operator")
    with get_engine(seeded_url).begin() as conn:
        at.session_state["auth_session"] = auth.start_session(conn, "old", time.time() - 13 * 3600, 12)
    at.run()
    assert not at.exception, at.exception
    assert not at.metric and any("session has ended" in i.value for i in at.info)


def test_a_viewer_sees_no_action_buttons_where_an_operator_does(seeded_url, monkeypatch):
    with get_engine(seeded_url).connect() as conn:
        sku, wh = conn.execute(select(StockLevel.sku, StockLevel.warehouse_id).limit(1)).one()
        campaign = conn.execute(select(Campaign.campaign_id).where(Campaign.status == "active")
                                .order_by(Campaign.campaign_id)).scalars().first()
    screens = [("pages/03_stock.py", {"sku": sku, "wh": wh}, "stock_replenish"),
               ("pages/04_ads.py", {"campaign": campaign}, "ads_pause")]
    for page, params, key in screens:
        viewer = app_for(seeded_url, monkeypatch, page, user="vic", role="viewer", **params)
        operator = app_for(seeded_url, monkeypatch, page, user="ozzy", role="operator", **params)
        assert key not in [b.key for b in viewer.button]
        assert key in [b.key for b in operator.button]
    alerts_viewer = app_for(seeded_url, monkeypatch, "pages/05_alerts.py", user="vic", role="viewer")
    alerts_operator = app_for(seeded_url, monkeypatch, "pages/05_alerts.py", user="ozzy", role="operator")
    assert not [b for b in alerts_viewer.button if b.key.startswith(("alerts_ack", "alerts_snooze"))]
    assert not [b for b in alerts_operator.button if b.key == "rules_switch_confirm"]
    assert any("read-only" in c.value for c in alerts_operator.caption)  # rules: admins only
    assert len(alerts_viewer.metric) == len(alerts_operator.metric) == 4


def test_the_wall_renders_read_only_with_a_valid_token_and_refuses_a_bad_one(seeded_url, monkeypatch):
    label = f"lobby-{time.time_ns()}"
    with get_engine(seeded_url).begin() as conn:
        token = auth.add_token(conn, label, time.time())
    wall = unsigned_app(seeded_url, monkeypatch, mode="wall", token=token)
    assert len(wall.metric) == OVERVIEW_TILES
    assert not wall.button and not wall.text_input
    refused = unsigned_app(seeded_url, monkeypatch, mode="wall", token=token + "x")
    assert not refused.metric and not refused.text_input
    assert any("valid display token" in e.value for e in refused.error)
    with get_engine(seeded_url).begin() as conn:
        auth.revoke_token(conn, label, time.time())
    revoked = unsigned_app(seeded_url, monkeypatch, mode="wall", token=token)
    assert not revoked.metric


def test_an_operator_session_does_not_open_the_wall(seeded_url, monkeypatch):
    monkeypatch.setenv("COCKPIT_DB_URL", seeded_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=90)
    at.query_params["mode"] = "wall"
    at.session_state["auth_session"] = session_token(seeded_url, "ozzy", "operator")
    at.run()
    assert not at.exception and not at.metric


def test_the_configured_display_token_signs_in_every_wall_screen(seeded_url, monkeypatch):
    monkeypatch.setenv("COCKPIT_DISPLAY_TOKEN", display_token(seeded_url, "configured"))
    wall = unsigned_app(seeded_url, monkeypatch, mode="wall")
    assert len(wall.metric) == OVERVIEW_TILES and not wall.button
    monkeypatch.setenv("COCKPIT_DISPLAY_TOKEN", "not-a-token")
    assert not unsigned_app(seeded_url, monkeypatch, mode="wall").metric
