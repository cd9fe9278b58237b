"""Trend detection on a seeded shop, on SQLite and PostgreSQL: the simulator's planted search
term that is rising now is found; the flat catalogue terms and the planted terms that are quiet,
early in their rise or past it are not."""
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from cockpit import trends
from cockpit.db.engine import get_engine
from cockpit.db.schema import Search, Session
from cockpit.ingest.seed import seed_history
from cockpit.metrics.read import last_heartbeat
from data import search

TZ = ZoneInfo("Asia/Shanghai")
DAY = 20_815  # glow serum is 55 days into its rise; the other planted terms are not rising
NOW_MINUTE = DAY * 1440 + 12 * 60
PERIOD = 20


@pytest.fixture(scope="module")
def shop(module_db_url):
    engine = get_engine(module_db_url)
    seed_history(engine, days=2 * PERIOD + 1, scenario="normal", seed=3, now_minute=NOW_MINUTE, tz=TZ, progress=False)
    with engine.connect() as conn:
        value = trends.search_trends(conn, last_heartbeat(conn).data_minute_utc, TZ, days=PERIOD)
    return {"engine": engine, "value": value}


def test_the_planted_rising_term_is_found_and_flat_terms_are_not(shop):
    assert search.rising_trend_terms(DAY, min_days_into_rise=2 * PERIOD) == ["glow serum"]
    terms = shop["value"]["terms"].set_index("term")
    assert terms.loc["glow serum", "is_rising"] and terms.loc["glow serum", "growth"] >= 2
    assert not terms.loc["glow serum", "stocked"]  # a candidate to stock: the shop sells none
    assert list(terms.index[terms["is_rising"]]) == ["glow serum"]
    items = terms[~terms.index.isin([t for t, _, _ in search.TREND_TERMS])]
    assert len(items) > 50 and items["growth"].between(0.7, 1.4).mean() > 0.9  # flat
    assert terms.loc["hoodie", "stocked"]


def test_the_counts_equal_the_stored_searches(shop):
    value = shop["value"]
    daily = value["daily"]
    with shop["engine"].connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Search)).scalar()
        sessions = conn.execute(select(func.count()).select_from(Session)).scalar()
    assert 0.3 < stored / sessions < 0.4  # about SEARCH_SHARE of the sessions search
    totals = value["terms"]["current"].sum() + value["terms"]["previous"].sum()
    assert totals == daily["searches"].sum() <= stored
    assert value["covered_days"] == 2 * PERIOD
