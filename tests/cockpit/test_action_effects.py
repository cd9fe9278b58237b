"""Action effects on a real database: a paused campaign saves about its usual spend, a pause
followed by a resume is measured up to the resume, a replenishment is "on its way" until its
stock arrives and then recovers the sales a stock-out lost; the alerts page shows the section."""
from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import insert, update

from cockpit import actions
from cockpit.action_effects import COLUMNS, action_effects
from cockpit.db.engine import get_engine
from cockpit.db.schema import AggCampaignMinute, AggSkuMinute, ReplenishmentOrder
from cockpit.ingest.seed import seed_history
from cockpit.metrics.aggregate import rebuild_sku_days
from tests.cockpit.test_metric_values import add_campaigns, add_stock
from tests.pages.test_pages import app_for
from tests.support.signin import ensure_users

TZ = ZoneInfo("Asia/Shanghai")
H = 490_000  # an epoch hour (in 2025): the hour the action happens in
DAY_SHAPE = 20 * np.sin(np.arange(24) * 2 * np.pi / 24)  # sums to 0 over a day


def add_campaign_hours(conn, campaign_id: str, hours, spend, orders) -> None:
    """One agg_campaign_minute row per hour (at its first minute) with the hour's totals."""
    conn.execute(insert(AggCampaignMinute), [
        {"minute_utc": int(h) * 60, "campaign_id": campaign_id, "channel": "paid_search", "spend": float(s),
         "impressions": 0, "clicks": 0, "orders": int(o), "revenue": 30.0 * int(o)}
        for h, s, o in zip(hours, spend, orders)
    ])


def usual_campaign(conn, campaign_id: str, first_hour: int, last_hour: int, seed: int = 5) -> None:
    """Spend about 50 an hour (a daily wave, noise sd 3) and about 2 orders an hour, hours [first, last)."""
    rng = np.random.default_rng(seed)
    hours = np.arange(first_hour, last_hour)
    spend = 50 + DAY_SHAPE[hours % 24] + rng.normal(0, 3, len(hours))
    add_campaign_hours(conn, campaign_id, hours, spend, rng.poisson(2.0, len(hours)))


def test_a_paused_campaign_saves_about_its_usual_spend_within_the_interval(engine):
    ensure_users(engine, tester="operator")
    with engine.begin() as conn:
        add_campaigns(conn, [("CMP-A", "paid_search", 0.5, "active")])
        usual_campaign(conn, "CMP-A", H - 14 * 24, H + 1)  # it spends up to and in the action's hour
        paused = actions.pause_campaign(conn, "CMP-A", "tester", "pause-1", now_ts=(H * 60 + 17) * 60, tz=TZ)
    assert paused.done
    data_minute = (H + 25) * 60 + 30  # 24 complete hours after the action's hour
    with engine.connect() as conn:
        started = time.perf_counter()
        effects = action_effects(conn, data_minute, TZ)
        seconds = time.perf_counter() - started
    assert list(effects.columns) == COLUMNS
    assert list(effects["metric"]) == ["spend", "orders"]
    spend, orders = effects.iloc[0], effects.iloc[1]
    assert spend["action_id"] == paused.action_id and spend["verb"] == "pause_campaign" and spend["entity"] == "CMP-A"
    assert spend["post_hours"] == 24 and spend["actual"] == 0
    usual = 50.0 * 24  # the daily wave sums to 0
    assert spend["lower"] <= -usual <= spend["upper"]
    assert spend["effect"] == pytest.approx(-usual, rel=0.1)
    assert spend["effect"] == pytest.approx(spend["actual"] - spend["counterfactual"])
    assert orders["upper"] < 0 and orders["lower"] <= -48 <= orders["upper"]
    assert str(spend["verdict"]).startswith("Pausing campaign CMP-A saved about 1,") and "lost orders" in str(spend["verdict"])
    assert orders["verdict"] == spend["verdict"]
    assert seconds < 15, f"two fits took {seconds:.1f} s"


def test_a_pause_is_measured_up_to_the_resume_and_a_fresh_resume_is_too_early(engine):
    ensure_users(engine, tester="operator")
    with engine.begin() as conn:
        add_campaigns(conn, [("CMP-B", "paid_search", 0.5, "active")])
        usual_campaign(conn, "CMP-B", H - 14 * 24, H + 1)
        actions.pause_campaign(conn, "CMP-B", "tester", "pause-b", now_ts=(H * 60 + 5) * 60, tz=TZ)
        resume_hour = H + 11
        actions.resume_campaign(conn, "CMP-B", "tester", "resume-b", now_ts=(resume_hour * 60 + 40) * 60, tz=TZ)
        usual_campaign(conn, "CMP-B", resume_hour, resume_hour + 3, seed=6)
    with engine.connect() as conn:
        effects = action_effects(conn, (resume_hour + 2) * 60 + 59, TZ)
    resume, pause = effects[effects["verb"] == "resume_campaign"], effects[effects["verb"] == "pause_campaign"]
    assert list(effects["verb"]) == ["resume_campaign"] * 2 + ["pause_campaign"] * 2  # newest first
    assert list(pause["post_hours"]) == [10, 10]  # hours H+1 .. H+10: the resume's hour is the next action's
    usual = (50 + DAY_SHAPE[np.arange(H + 1, H + 11) % 24]).sum()  # ten hours of the daily wave
    assert pause["lower"].iloc[0] <= -usual <= pause["upper"].iloc[0]
    assert pause["effect"].iloc[0] == pytest.approx(-usual, rel=0.15)
    assert list(resume["post_hours"]) == [2, 2]
    assert str(resume["verdict"].iloc[0]) == "Too early to tell: 2 hours after the action"
    assert resume["effect"].isna().all()
    with engine.connect() as conn:
        one = action_effects(conn, (resume_hour + 2) * 60 + 59, TZ, action_id=int(pause["action_id"].iloc[0]))
    assert list(one["post_hours"]) == [10, 10]  # alone, still capped at the resume


def test_a_replenishment_is_on_its_way_then_recovers_the_sales_a_stock_out_lost(engine):
    rng = np.random.default_rng(9)
    arrival_hour = H + 72
    hours = np.arange(H - 11 * 24, arrival_hour + 25)
    selling = (hours < H + 24) | (hours >= arrival_hour)  # out of stock from H+24 until the stock arrives
    units = np.where(selling, rng.poisson(3.0 + 2 * np.sin(hours * 2 * np.pi / 24).clip(0), len(hours)), 0)
    with engine.begin() as conn:
        add_stock(conn, [("SKU-1", "WH-A", 10, 5)])
        conn.execute(insert(AggSkuMinute), [
            {"minute_utc": int(h) * 60 + 7, "sku": "SKU-1", "warehouse_id": "WH-A", "units_sold": int(u),
             "revenue": 10.0 * int(u), "units_returned": 0}
            for h, u in zip(hours, units) if u
        ])
        rebuild_sku_days(conn)
    ensure_users(engine, tester="operator")
    with engine.begin() as conn:
        done = actions.replenish_sku(conn, "SKU-1", "WH-A", 200, "tester", "repl-1", now_ts=(H * 60 + 20) * 60, tz=TZ)
    assert done.done
    with engine.connect() as conn:
        waiting = action_effects(conn, (H + 30) * 60, TZ)
    assert list(waiting["metric"]) == ["units sold"] and waiting["entity"].iloc[0] == "SKU-1 at WH-A"
    assert str(waiting["verdict"].iloc[0]).startswith(f"Order {done.after['replenishment_id']} still on its way (expected ")
    assert waiting["post_hours"].iloc[0] == 0 and np.isnan(waiting["effect"].iloc[0])
    with engine.begin() as conn:
        conn.execute(update(ReplenishmentOrder).values(status="received", qty_received=200,
                                                       received_ts_utc=arrival_hour * 3600))
    with engine.connect() as conn:
        measured = action_effects(conn, (arrival_hour + 24) * 60 + 59, TZ).iloc[0]
    after = units[hours >= arrival_hour].sum()  # the arrival hour counts: the stock came at its start
    assert measured["post_hours"] == 25 and measured["actual"] == after
    assert measured["lower"] > 0 and measured["effect"] == pytest.approx(after, rel=0.3)
    assert str(measured["verdict"]).startswith("Replenishing SKU-1 at WH-A recovered about ")


def test_no_measured_actions_give_an_empty_frame(engine):
    with engine.connect() as conn:
        frame = action_effects(conn, H * 60, TZ)
    assert list(frame.columns) == COLUMNS and frame.empty


@pytest.fixture(scope="module")
def paused_shop(module_db_url):
    """Two days of a seeded shop with its first campaign paused six hours before the end."""
    now_minute = int(time.time()) // 60
    engine = get_engine(module_db_url)
    seed_history(engine, days=2, scenario="normal", seed=21, now_minute=now_minute - 1, tz=TZ, progress=False)
    ensure_users(engine, tester="operator")
    with engine.begin() as conn:
        campaign = conn.execute(
            AggCampaignMinute.__table__.select().order_by(AggCampaignMinute.spend.desc()).limit(1)
        ).first().campaign_id
        actions.pause_campaign(conn, campaign, "tester", "pause-page", now_ts=(now_minute - 6 * 60) * 60, tz=TZ)
    from cockpit.config import load_settings
    from cockpit.jobs import refresh

    refresh(load_settings({"COCKPIT_DB_URL": module_db_url, "COCKPIT_SOURCES": "simulator"}), now_ts=now_minute * 60)
    return module_db_url, campaign


def test_the_alerts_page_shows_whether_the_actions_worked(paused_shop, monkeypatch):
    url, campaign = paused_shop
    at = app_for(url, monkeypatch, "pages/05_alerts.py")
    assert "Did the actions work?" in [h.value for h in at.subheader]
    choice = at.selectbox(key="alerts_effect_action")
    assert f"paused {campaign}" in choice.format_func(choice.value)
    texts = " ".join(m.value for m in at.markdown) + " ".join(i.value for i in at.info) + \
        " ".join(s.value for s in at.success)
    assert f"campaign {campaign}" in texts
    table = at.dataframe[-1].value
    assert list(table.iloc[:, 0]) == ["spend", "orders"]
