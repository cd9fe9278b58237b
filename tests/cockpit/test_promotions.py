"""The promotions calendar: recorded by the simulated sales event, kept from the command line, and
used by the forecast job: promotion days as the daily regressor, and an hour-by-hour forecast of
a promotion day."""
import subprocess
import sys
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from cockpit import forecasting, promotions
from cockpit.db.engine import get_engine
from cockpit.ingest.seed import seed_history
from cockpit.timebuckets import day_start_minute, local_day_of
from data import simulator
from tests.cockpit.test_refresh import ROOT

TZ = ZoneInfo("Asia/Shanghai")
EVENT_DAY = 20_400  # 2025-11-09, shop-local
NOW = day_start_minute(EVENT_DAY, TZ) + 14 * 60  # 14:00 on the event day
SEED_DAYS = 8  # the three ramp days and four ordinary ones before the event


def seed_event_shop(db_url: str) -> None:
    seed_history(get_engine(db_url), days=SEED_DAYS, scenario="sales-event", seed=5, now_minute=NOW, tz=TZ,
                 progress=False)


@pytest.fixture(scope="module")
def event_shop(module_db_url):
    seed_event_shop(module_db_url)
    return get_engine(module_db_url)


def test_the_calendar_keeps_promotions_and_refuses_what_makes_no_sense(engine):
    with engine.begin() as conn:
        first = promotions.add_promotion(conn, "Double 12", "sales_event", 20_434, 20_434, expected_uplift=2.0)
        promotions.add_promotion(conn, "Member day", "member_day", 20_420, 20_421, now_ts=0)
        with pytest.raises(ValueError, match="last day is before"):
            promotions.add_promotion(conn, "Oops", "member_day", 20_430, 20_429)
        with pytest.raises(ValueError, match="choose one of"):
            promotions.add_promotion(conn, "Oops", "flash", 20_430, 20_430)
        with pytest.raises(ValueError, match="exists already"):
            promotions.add_promotion(conn, "Double 12", "sales_event", 20_434, 20_435)
    with engine.connect() as conn:
        calendar = promotions.list_promotions(conn)
        later = promotions.list_promotions(conn, first_day=20_422)
    assert list(calendar["name"]) == ["Member day", "Double 12"] and list(later["name"]) == ["Double 12"]
    assert calendar["expected_uplift"].isna().tolist() == [True, False]
    days = promotions.promotion_days(calendar, 20_419, 20_435)
    assert days["member_day"].tolist() == [0, 1, 1] + [0] * 14
    assert days["sales_event"].iloc[-2:].tolist() == [1, 0]
    assert promotions.next_promotion(calendar, 20_422)["name"] == "Double 12"
    assert promotions.next_promotion(calendar, 20_435) is None
    with engine.begin() as conn:
        assert promotions.remove_promotion(conn, first) and not promotions.remove_promotion(conn, first)


def test_the_promotions_command_adds_lists_and_removes(db_url):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "cockpit", "promotions", *args], cwd=ROOT, capture_output=True,
                              text=True, env={"COCKPIT_DB_URL": db_url, "PATH": "/usr/bin:/bin"}, timeout=120)

    added = cli("add", "Double 12", "--first-day", "2026-12-12", "--expected-uplift", "2")
    assert added.returncode == 0 and "promotion 1 added" in added.stdout
    listed = cli("list")
    assert "2026-12-12 .. 2026-12-12  sales_event  Double 12  expected x2" in listed.stdout
    wrong = cli("add", "Late", "--first-day", "2026-12-12", "--last-day", "2026-12-01")
    assert wrong.returncode == 2 and wrong.stderr.strip() == "error: the last day is before the first day"
    assert cli("remove", "1").returncode == 0 and cli("remove", "1").returncode == 2
    assert "no promotion recorded" in cli("list").stdout


def test_a_seeded_sales_event_records_its_ramp_and_member_days(event_shop):
    with event_shop.connect() as conn:
        calendar = promotions.list_promotions(conn)
    expected = simulator.promotions(simulator.Scenario("sales-event", day_start_minute(EVENT_DAY, TZ)))
    assert calendar[["name", "kind", "first_day", "last_day"]].values.tolist() == \
        expected.sort_values("first_day")[["name", "kind", "first_day", "last_day"]].values.tolist()
    event = calendar[calendar["kind"] == "sales_event"].iloc[0]
    assert (event["first_day"], event["last_day"]) == (EVENT_DAY, EVENT_DAY)
    warm_up = calendar[calendar["kind"] == "pre_event"].iloc[0]
    assert (warm_up["first_day"], warm_up["last_day"]) == (EVENT_DAY - simulator.PRE_EVENT_DAYS, EVENT_DAY - 1)
    # The planned uplifts are the simulator's own traffic multipliers, averaged over each period.
    assert 1.1 < warm_up["expected_uplift"] < 1.3 and 3.0 < event["expected_uplift"] < 3.6


def test_on_the_event_day_the_job_publishes_its_hours_above_an_ordinary_days(event_shop):
    with event_shop.connect() as conn:
        value = forecasting.compute_forecasts(conn, NOW - 1, TZ)
        sold = forecasting.hours_sold(conn, EVENT_DAY, TZ, NOW - 1)
        history = forecasting.hourly_sales(conn, day_start_minute(EVENT_DAY - 7, TZ) // 60,
                                           day_start_minute(EVENT_DAY - 3, TZ) // 60)
    hourly = value["hourly"]
    assert hourly is not None and hourly["day"] == EVENT_DAY == local_day_of(NOW - 1, TZ)
    assert hourly["promotion"] == "Sales event"
    frame = hourly["frame"]
    shop = frame[frame["key"] == forecasting.SHOP_TOTAL]
    assert len(shop) == 24 and shop["promotion"].eq(1.0).all()
    assert shop["hour"].dt.hour.tolist() == list(range(24))  # the shop's hours, midnight first
    assert (frame["lower"] <= frame["mean"]).all() and (frame["mean"] <= frame["upper"]).all()
    assert set(frame["key"]) == {forecasting.SHOP_TOTAL} | set(history["key"])
    assert "promotion days as regressor" in str(hourly["models"][forecasting.SHOP_TOTAL])
    # The four ordinary days before the ramp, hour by hour: the shop never had an event day,
    # so its forecast is the baseline times the calendar's planned uplift (about 3.3): far above
    # them, and near what the day sells (the first 14 hours against their forecast).
    ordinary = history.groupby("hour_utc")["units"].sum().to_numpy().reshape(4, 24).mean(axis=0)
    assert shop["mean"].sum() > 2.5 * ordinary.sum()
    assert (shop["mean"].to_numpy() > ordinary).mean() >= 2 / 3
    assert "planned uplift on Sales event" in str(hourly["models"][forecasting.SHOP_TOTAL])
    first_hours = sold[sold["key"] == forecasting.SHOP_TOTAL]["units"].sum()
    assert 0.6 < first_hours / shop["mean"].iloc[:14].sum() < 1.7
    # Sold so far: the 14 hours up to the data minute, per category and for the shop.
    shop_sold = sold[sold["key"] == forecasting.SHOP_TOTAL]
    assert len(shop_sold) == 14 and shop_sold["units"].sum() == sold[sold["key"] != forecasting.SHOP_TOTAL][
        "units"].sum() > 0


def test_without_a_promotion_today_or_tomorrow_there_is_no_hourly_forecast(engine):
    with engine.begin() as conn:
        promotions.add_promotion(conn, "Double 12", "sales_event", EVENT_DAY + 2, EVENT_DAY + 2)
        calendar = promotions.list_promotions(conn)
        assert forecasting.hourly_forecast(conn, EVENT_DAY, TZ, calendar) is None
        assert forecasting.hourly_forecast(conn, EVENT_DAY + 1, TZ, calendar) is None  # no sales to learn from
    assert np.isfinite(promotions.next_promotion(calendar, EVENT_DAY)["first_day"])


def test_a_kind_never_seen_takes_the_planned_uplift():
    import pandas as pd

    calendar = pd.DataFrame({"name": ["Double 11", "Member day", "Warm-up"], "kind": ["sales_event", "member_day",
                                                                                         "pre_event"],
                             "first_day": [10, 5, 8], "last_day": [10, 5, 9], "expected_uplift": [3.0, 1.8, float("nan")]})
    factors, applied = promotions.planned_uplift(calendar, np.arange(4, 12), seen_kinds={"member_day"})
    assert factors.tolist() == [1, 1, 1, 1, 1, 1, 3.0, 1]  # the seen member day and the unplanned warm-up: 1
    assert applied == ["Double 11"]
