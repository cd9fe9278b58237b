"""The naive overview (counted from the raw event tables, bench/naive.py) equals ours (the
aggregates and exact-UV tables), on a small simulated shop, on SQLite and PostgreSQL."""
from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

import pytest

from bench.naive import differences, naive_kpis, naive_overview
from cockpit.views import overview_numbers
from cockpit.db.engine import get_engine
from cockpit.ingest.seed import seed_history
from cockpit.metrics.read import kpis
from cockpit.timebuckets import day_start_minute

TZ = ZoneInfo("Asia/Shanghai")
DAY = 20_400  # a shop-local day number (2025-11-08)
MIDNIGHT = day_start_minute(DAY, TZ)
NOW = MIDNIGHT + 14 * 60 + 30  # the seeded present: 14:30 in the shop's zone, two days of history before it


@pytest.fixture(scope="module")
def shop(module_db_url):
    engine = get_engine(module_db_url)
    seed_history(engine, days=2, scenario="normal", seed=7, now_minute=NOW, tz=TZ, progress=False)
    with engine.connect() as conn:
        yield conn


@pytest.mark.parametrize(
    "data_minute",
    [NOW - 1, NOW - 217, MIDNIGHT + 3, MIDNIGHT - 1],
    ids=["at 14:29", "at 10:52", "three minutes after midnight", "a minute before midnight"],
)
def test_the_overview_counted_from_raw_events_equals_the_aggregated_one(shop, data_minute):
    naive = naive_overview(shop, data_minute, TZ)
    ours = overview_numbers(shop, data_minute, TZ)
    assert differences(naive, ours) == []
    assert ours["today"].uv > 0 and ours["yesterday"].orders > 0  # the comparison is not between empty shops
    assert ours["traffic"]["sessions"].sum() > 0 and not ours["campaigns"].empty and not ours["stock"].empty


@pytest.mark.parametrize(
    "start, end",
    [
        (MIDNIGHT - 1440, MIDNIGHT),  # one whole local day
        (MIDNIGHT - 1000 + 7, NOW - 13),  # across midnight, cut days at both ends
        (NOW - 600, NOW - 60),  # whole hours inside one day
        (NOW - 97, NOW - 41),  # cut hours at both ends
        (NOW - 50, NOW - 20),  # inside one hour: minute rows
        (NOW - 1, NOW),  # a single minute
    ],
)
def test_kpis_counted_from_raw_events_equal_ours_over_any_window(shop, start, end):
    naive, ours = naive_kpis(shop, start, end), kpis(shop, start, end, TZ)
    assert dataclasses.asdict(naive) == pytest.approx(dataclasses.asdict(ours), rel=1e-9)


def test_a_single_visitor_more_is_a_difference(shop):
    naive = naive_overview(shop, NOW - 1, TZ)
    ours = overview_numbers(shop, NOW - 1, TZ)
    ours["today"] = dataclasses.replace(ours["today"], uv=ours["today"].uv + 1)
    ours["stock"].loc[0, "on_hand"] += 1
    found = differences(naive, ours)
    assert len(found) == 2 and found[0].startswith("today.uv") and found[1].startswith("stock.on_hand")
