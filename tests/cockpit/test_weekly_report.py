"""The weekly operations health report built from a seeded shop, on SQLite and PostgreSQL: its
figures equal a brute-force recount from the raw tables, it is stored with its HTML and PDF,
rebuilding a week replaces it, the scheduler's job writes last week's once, and weeks that
are not over are refused."""
import base64
import json
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, select

from cockpit import actions, report
from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.db.schema import AdSpend, Campaign, Order, Shipment, StockLevel, StockMovement, WeeklyReport
from cockpit.ingest.seed import seed_history
from cockpit.metrics.read import last_heartbeat
from cockpit.scheduler import SLOW_JOBS
from cockpit.timebuckets import day_start_minute
from tests.cockpit.test_refresh import ROOT
from tests.support.signin import ensure_users

TZ = ZoneInfo("Asia/Shanghai")
NOW_MINUTE = 1_795_000_000 // 60  # a Wednesday evening in Shanghai: 18 days hold two whole weeks


@pytest.fixture(scope="module")
def shop(module_db_url):
    engine = get_engine(module_db_url)
    seed_history(engine, days=18, scenario="normal", seed=5, now_minute=NOW_MINUTE, tz=TZ, progress=False)
    with engine.connect() as conn:
        data_minute = last_heartbeat(conn).data_minute_utc
    week = report.last_complete_week(data_minute, TZ)
    # One operator action inside the week, so the report lists it and measures its effect.
    ensure_users(engine, tester="operator")
    with engine.begin() as conn:
        campaign = conn.execute(select(Campaign.campaign_id).order_by(Campaign.campaign_id)).scalars().first()
        paused_at = day_start_minute(week + 3, TZ) * 60 + 12 * 3600
        done = actions.pause_campaign(conn, campaign, "tester", "report-test-pause", paused_at, tz=TZ)
        assert done.result == "done", done.message
    settings = load_settings({"COCKPIT_DB_URL": module_db_url})
    built = report.write_report(engine, week, settings, created_by="test")
    return {"url": module_db_url, "engine": engine, "week": week, "report": built, "settings": settings,
            "campaign": campaign}


def test_the_week_is_the_last_complete_monday_to_sunday(shop):
    week = shop["week"]
    assert report.day_date(week).weekday() == 0
    end = day_start_minute(week + 7, TZ)
    assert end <= NOW_MINUTE < end + 7 * 1440


def test_sales_and_logistics_figures_equal_a_recount_of_the_raw_tables(shop):
    week, engine = shop["week"], shop["engine"]
    headline = shop["report"].this_week["headline"]
    start_ts, end_ts = day_start_minute(week, TZ) * 60, day_start_minute(week + 7, TZ) * 60
    with engine.connect() as conn:
        gmv, paid = conn.execute(select(func.sum(Order.amount), func.count()).where(
            Order.paid_ts_utc.is_not(None), Order.ts_utc >= start_ts, Order.ts_utc < end_ts)).one()
        shipping = conn.execute(select(func.sum(Shipment.cost)).where(
            Shipment.shipped_ts_utc >= start_ts, Shipment.shipped_ts_utc < end_ts)).scalar()
        delivered = pd.DataFrame(conn.execute(
            select(Shipment.delivered_ts_utc, Shipment.promised_ts_utc, Order.paid_ts_utc)
            .join(Order, Order.order_id == Shipment.order_id)
            .where(Shipment.delivered_ts_utc >= start_ts, Shipment.delivered_ts_utc < end_ts,
                   Order.paid_ts_utc.is_not(None))).all(), columns=["delivered", "promised", "paid"])
        spend = conn.execute(select(func.sum(AdSpend.spend)).where(
            AdSpend.minute_utc >= start_ts // 60, AdSpend.minute_utc < end_ts // 60)).scalar()
    assert paid > 1000
    change = shop["report"].table.set_index("key").loc["gmv", "change"]
    previous = shop["report"].previous_week["headline"]["gmv"]
    assert change == pytest.approx(float(gmv) / previous - 1)  # the week before is whole: compared
    assert headline["gmv"] == pytest.approx(float(gmv), rel=1e-9)
    assert headline["paid_orders"] == paid
    assert headline["logistics_cost_share"] == pytest.approx(float(shipping) / float(gmv), rel=1e-9)
    assert headline["on_time_rate"] == pytest.approx((delivered["delivered"] <= delivered["promised"]).mean())
    days = (delivered["delivered"] - delivered["paid"]) / 86_400
    assert headline["median_delivery_days"] == pytest.approx(days.median(), rel=1e-6)
    assert headline["ad_spend"] == pytest.approx(float(spend), rel=1e-6)


def test_stock_out_rate_equals_a_recount_from_the_ledger(shop):
    week, engine = shop["week"], shop["engine"]
    with engine.connect() as conn:
        levels = conn.execute(select(StockLevel.sku, StockLevel.warehouse_id, StockLevel.on_hand)).all()
        moves = pd.DataFrame(conn.execute(select(StockMovement.sku, StockMovement.warehouse_id, StockMovement.ts_utc,
                                                 StockMovement.qty_delta)).all(),
                             columns=["sku", "warehouse_id", "ts", "delta"])
    out = total = 0
    for day in range(week, week + 7):
        end_ts = day_start_minute(day + 1, TZ) * 60
        later = moves[moves["ts"] >= end_ts].groupby(["sku", "warehouse_id"])["delta"].sum()
        for sku, warehouse, on_hand in levels:
            total += 1
            out += (on_hand - int(later.get((sku, warehouse), 0))) <= 0
    assert total > 100
    assert shop["report"].this_week["headline"]["stockout_rate"] == pytest.approx(out / total)


def test_segment_conversion_counts_the_weeks_buyers(shop):
    week, engine = shop["week"], shop["engine"]
    start_ts, end_ts = day_start_minute(week, TZ) * 60, day_start_minute(week + 7, TZ) * 60
    with engine.connect() as conn:
        buyers = conn.execute(select(func.count(func.distinct(Order.customer_id))).where(
            Order.paid_ts_utc.is_not(None), Order.ts_utc >= start_ts, Order.ts_utc < end_ts)).scalar()
    segments = shop["report"].this_week["segments"]
    assert segments["ordered"].sum() == buyers
    assert (segments["conversion"].dropna().between(0, 1)).all()
    assert segments["revenue"].sum() == pytest.approx(shop["report"].this_week["headline"]["gmv"], rel=1e-9)


def test_the_action_is_listed_and_measured(shop):
    built = shop["report"]
    assert built.this_week["headline"]["actions"] == 1
    assert built.this_week["actions"]["entity_id"].tolist() == [shop["campaign"]]
    assert set(built.effects["metric"]) == {"spend", "orders"}
    assert any(text.startswith(f"Pausing campaign {shop['campaign']} saved about") for text in built.findings)


def test_the_report_is_stored_with_html_and_pdf(shop):
    with shop["engine"].connect() as conn:
        stored = report.stored_report(conn, shop["week"])
        listed = report.report_list(conn)
    assert listed["week_start_day"].tolist() == [shop["week"]]
    assert stored["findings"] == shop["report"].findings and stored["created_by"] == "test"
    page = stored["html"]
    assert "<h1>Operations health report</h1>" in page
    assert page.count("data:image/png;base64,") == len(report.CHART_TITLES)  # charts inlined, nothing fetched
    assert "src='http" not in page and "<script" not in page
    for text in stored["findings"]:
        assert text.replace("'", "&#x27;") in page
    png = base64.b64decode(page.split("data:image/png;base64,")[1].split("'")[0])
    assert png.startswith(b"\x89PNG")
    assert stored["pdf"].startswith(b"%PDF") and len(stored["pdf"]) > 20_000
    figures = stored["figures"]
    assert figures["this_week"]["headline"]["paid_orders"] == shop["report"].this_week["headline"]["paid_orders"]
    assert len(figures["comparison"]) == len(shop["report"].table)


def test_rebuilding_a_week_replaces_it_and_the_job_keeps_an_existing_one(shop):
    engine, settings = shop["engine"], shop["settings"]
    again = report.write_report(engine, shop["week"], settings, created_by="someone else")
    assert again.this_week["headline"] == pytest.approx(shop["report"].this_week["headline"], nan_ok=True)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(WeeklyReport)).scalar() == 1
        assert report.stored_report(conn, shop["week"])["created_by"] == "someone else"
    assert report.ensure_last_week_report(engine, settings) is None  # it exists: kept


def test_the_scheduler_job_writes_a_missing_report(shop):
    engine, settings = shop["engine"], shop["settings"]
    with engine.begin() as conn:
        conn.execute(WeeklyReport.__table__.delete())
    written = report.ensure_last_week_report(engine, settings)
    assert written is not None and written.week_start_day == shop["week"] and written.created_by == "scheduler"
    job = {j.job_id: j for j in SLOW_JOBS}["weekly_report"]
    assert job.trigger == "cron" and job.trigger_args == {"day_of_week": "mon", "hour": 6, "minute": 0}
    assert job.in_shop_timezone and job.at_start_after_s is not None


def test_weeks_not_over_or_not_mondays_are_refused(shop):
    engine, settings = shop["engine"], shop["settings"]
    with pytest.raises(report.ReportError, match="is not over yet"):
        report.write_report(engine, shop["week"] + 7, settings, created_by="test")
    with pytest.raises(report.ReportError, match="is not a Monday"):
        report.write_report(engine, shop["week"] + 1, settings, created_by="test")
    with engine.connect() as conn:
        weeks = report.buildable_weeks(conn, last_heartbeat(conn).data_minute_utc, TZ)
    assert weeks == [shop["week"], shop["week"] - 7]
    assert report.parse_week("2026-11-19") == report.parse_week("2026-11-16")
    with pytest.raises(report.ReportError, match="not a date"):
        report.parse_week("last week")


def test_the_cli_builds_and_writes_the_files(shop, tmp_path):
    env = {**os.environ, "COCKPIT_DB_URL": shop["url"]}
    done = subprocess.run([sys.executable, "-m", "cockpit", "report", "--out", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"weekly report for {report.week_label(shop['week'])} stored" in done.stdout
    files = sorted(p.name for p in tmp_path.iterdir())
    stem = f"operations-report-{report.day_date(shop['week']).isoformat()}"
    assert files == [f"{stem}.html", f"{stem}.pdf"]
    listed = subprocess.run([sys.executable, "-m", "cockpit", "report", "--list"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert f"week {report.week_label(shop['week'])}: built" in listed.stdout and "by cli" in listed.stdout
    refused = subprocess.run([sys.executable, "-m", "cockpit", "report", "--week", "2099-01-05"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "is not over yet" in refused.stderr
    assert json.loads(json.dumps(files))  # plain names, no surprise
