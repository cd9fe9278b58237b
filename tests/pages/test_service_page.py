"""The Service page on seeded databases: the figures shown are the metric functions' values, and
the effect on repurchase is stated in words with the interval the metrics give."""
import os
from zoneinfo import ZoneInfo

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.ingest.seed import seed_history
from cockpit.metrics import service
from cockpit.metrics.read import last_heartbeat
from cockpit.ui import service_charts
from tests.cockpit.test_refresh import ROOT
from tests.support.signin import sign_in_app

TZ = ZoneInfo("Asia/Shanghai")
PAGE = "pages/10_service.py"


def service_app(db_url, monkeypatch, **env) -> AppTest:
    monkeypatch.setenv("COCKPIT_DB_URL", db_url)
    monkeypatch.setenv("COCKPIT_TIMEZONE", "Asia/Shanghai")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = sign_in_app(AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=90), db_url)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def shown(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def expected_tiles(summary: dict, target_s: int) -> dict[str, str]:
    return {
        "Contacts": f"{summary['contacts']:,}",
        "Resolved by the bot": service_charts.share_text(summary["bot_resolved_share"]),
        "Escalated to a person": service_charts.share_text(summary["escalated_share"]),
        "First response p50": service_charts.seconds_text(summary["human_p50_s"]),
        f"Answered within {target_s} s": service_charts.share_text(summary["within_target_share"]),
        "Resolved": service_charts.share_text(summary["resolved_share"]),
    }


@pytest.fixture(scope="module")
def seeded_url(module_db_url):
    # A fixed evening (19:06 in Shanghai), so "today" has contacts whatever the wall clock.
    now = 1_795_000_000 // 60
    seed_history(get_engine(module_db_url), days=3, scenario="normal", seed=21, now_minute=now - 1, tz=TZ,
                 progress=False)
    return module_db_url


def test_the_tiles_show_the_windows_service_figures_against_the_targets(seeded_url, monkeypatch):
    at = service_app(seeded_url, monkeypatch, COCKPIT_SERVICE_RESPONSE_TARGET_S="20")
    with get_engine(seeded_url).connect() as conn:
        minute = last_heartbeat(conn).data_minute_utc
        week = service.service_summary(conn, *service.window_bounds("7d", minute, TZ), response_target_s=20)
        today = service.service_summary(conn, *service.window_bounds("today", minute, TZ), response_target_s=20)
        reasons = service.breakdown(conn, *service.window_bounds("7d", minute, TZ), "reason", response_target_s=20)
    assert week["contacts"] > 20 and week["escalated"] > 0
    assert shown(at) == expected_tiles(week, 20)
    bot = next(m for m in at.metric if m.label == "Resolved by the bot")
    assert bot.delta == f"{(week['bot_resolved_share'] - 0.8) * 100:+.1f} pts vs target"
    table = at.dataframe[0].value
    assert table["Contacts"].tolist() == reasons["contacts"].tolist()
    # Three days of history: nothing has been followed for 14 days yet.
    assert any("Not enough followed-up contacts" in info.value for info in at.info)
    unresolved = at.dataframe[2].value
    assert unresolved["Customer"].str.match(r"^/customer\?id=\d+$").all()
    at.radio(key="service_window").set_value("today").run()
    assert shown(at) == expected_tiles(today, 20)


MONTH_END = 1_795_000_000 // 60


@pytest.fixture(scope="module")
def followed_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('followed') / 'shop.db'}"
    upgrade_schema(url)
    seed_history(get_engine(url), days=18, scenario="normal", seed=42, now_minute=MONTH_END, tz=TZ, progress=False)
    return url


def test_the_effect_on_repurchase_is_stated_with_the_metrics_interval(followed_url, monkeypatch):
    at = service_app(followed_url, monkeypatch)
    with get_engine(followed_url).connect() as conn:
        minute = last_heartbeat(conn).data_minute_utc
        lo, hi = service.effect_bounds(conn, minute)
        effect = service.repurchase_effect(conn, lo, hi, minute + 1, days=14, response_target_s=15)
    resolution = effect["resolution"]
    assert resolution is not None and resolution.customers_group > 5
    sentence = service_charts.effect_sentence(resolution, "left unresolved", "resolved")
    texts = [md.value for md in at.markdown]
    assert sentence in texts
    assert f"{resolution.rate_group:.1%} ({resolution.customers_group:,} customers)" in sentence
    low, high = sorted((abs(resolution.ci_low) * 100, abs(resolution.ci_high) * 100))
    interval = (f"CI {low:.1f} to {high:.1f}" if resolution.significant
                else f"CI {resolution.ci_low * 100:+.1f} to {resolution.ci_high * 100:+.1f}")
    assert interval in sentence
