"""The minute refresh: idempotent, crash-safe (a killed refresh loses and doubles nothing), one at a time."""
import os
import random
import signal
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.db.schema import RefreshRun
from cockpit.ingest.seed import seed_history
from cockpit.ingest.simulator_source import read_watermark
from cockpit import jobs
from tests.support.recount import assert_aggregates_match_raw, assert_stock_matches_movements, row_counts

TZ = ZoneInfo("Asia/Shanghai")
T0 = 1_795_000_000 // 60  # epoch minute of the seeded present (2026-11-18 08:26 UTC)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def seeded(db_url, days=2):
    seed_history(get_engine(db_url), days=days, scenario="normal", seed=11, now_minute=T0, tz=TZ, progress=False)
    return get_engine(db_url)


def settings_for(db_url):
    return load_settings({"COCKPIT_DB_URL": db_url, "COCKPIT_SOURCES": "simulator"})


def cli(db_url, *args, **kwargs):
    env = {**os.environ, "COCKPIT_DB_URL": db_url, "COCKPIT_SOURCES": "simulator"}
    return subprocess.Popen([sys.executable, "-m", "cockpit", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_refresh_catches_up_the_missed_minutes_and_a_rerun_adds_nothing(db_url):
    engine = seeded(db_url)
    settings = settings_for(db_url)
    report = jobs.refresh(settings, now_ts=(T0 + 30) * 60 + 5)
    assert report.status == "ok" and report.minutes == 30 and report.data_minute == T0 + 29
    assert report.events > 0
    with engine.connect() as conn:
        counts = row_counts(conn)
        assert read_watermark(conn)[0] == T0 + 29
    again = jobs.refresh(settings, now_ts=(T0 + 30) * 60 + 50)
    assert again.events == 0 and again.data_minute == T0 + 29
    with engine.connect() as conn:
        assert row_counts(conn) == counts
        assert_aggregates_match_raw(conn)
        assert_stock_matches_movements(conn)
        beats = conn.execute(select(func.count()).select_from(RefreshRun).where(RefreshRun.status == "ok")).scalar()
        assert beats == 3  # the seed's and two refreshes'


def test_live_minutes_equal_one_long_catch_up(fresh_db_url, backend):
    """Minute-by-minute refreshes and one catch-up over the same hour store the same events."""
    stepwise, at_once = fresh_db_url(backend), fresh_db_url(backend)
    from cockpit.db.engine import upgrade_schema
    for url in (stepwise, at_once):
        upgrade_schema(url)
        seeded(url, days=1)
    for minute in range(1, 21):
        jobs.refresh(settings_for(stepwise), now_ts=(T0 + minute) * 60 + 1)
    jobs.refresh(settings_for(at_once), now_ts=(T0 + 20) * 60 + 1)
    with get_engine(stepwise).connect() as a, get_engine(at_once).connect() as b:
        # Different window cuts draw different random numbers, but nothing is lost or doubled.
        assert_aggregates_match_raw(a)
        assert_aggregates_match_raw(b)
        assert read_watermark(a)[0] == read_watermark(b)[0] == T0 + 19


def test_a_refresh_killed_at_random_points_loses_and_doubles_nothing(db_url):
    """SIGKILL lands at a random moment after the refresh took its lock; each time the
    database must hold either none of the run's work or all of it. A refresh that commits
    before the kill moves the catch-up window a day on and shortens the next delays, so the
    test keeps killing mid-way however fast the refresh has become."""
    engine = seeded(db_url)
    with engine.connect() as conn:
        before = row_counts(conn)
    rng = random.Random(5)
    watermark, day, max_delay = T0 - 1, 1, 1.5
    killed_mid_way = committed = 0
    for _attempt in range(12):
        now_iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime((T0 + 1440 * day) * 60 + 3))
        process = cli(db_url, "refresh", "--now", now_iso)
        for line in process.stderr:
            if "refresh started" in line:
                break
        time.sleep(rng.uniform(0.0, max_delay))
        process.send_signal(signal.SIGKILL)
        process.wait()
        with engine.connect() as conn:
            if read_watermark(conn)[0] == watermark:
                assert row_counts(conn) == before, "a killed refresh left part of its work behind"
                killed_mid_way += 1
                if killed_mid_way >= 3:
                    break
            else:
                # It committed before the kill: all of its work must be there, counted once.
                assert read_watermark(conn)[0] == T0 + 1440 * day - 1
                assert_aggregates_match_raw(conn)
                before, watermark = row_counts(conn), T0 + 1440 * day - 1
                committed += 1
                day += 1
                max_delay /= 2
    assert killed_mid_way >= 1, f"no refresh was killed mid-way ({committed} committed first); the test proved nothing"
    finished = cli(db_url, "refresh", "--now", now_iso)
    out, err = finished.communicate(timeout=300)
    assert finished.returncode == 0, err
    with engine.connect() as conn:
        after = row_counts(conn)
        assert read_watermark(conn)[0] == T0 + 1440 * day - 1
        assert after["sessions"] > before["sessions"]
        assert_aggregates_match_raw(conn)
        assert_stock_matches_movements(conn)


def test_two_refreshes_at_once_never_both_ingest(db_url):
    engine = seeded(db_url, days=1)
    now_iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime((T0 + 240) * 60 + 3))
    first, second = cli(db_url, "refresh", "--now", now_iso), cli(db_url, "refresh", "--now", now_iso)
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert first.returncode == second.returncode == 0, outputs
    said = " ".join(out for out, _ in outputs)
    # Either the second found the lock taken, or it ran after the first and found nothing new.
    assert "refresh skipped" in said or said.count(" 0 events") == 1, said
    with engine.connect() as conn:
        assert read_watermark(conn)[0] == T0 + 239
        assert_aggregates_match_raw(conn)
        assert_stock_matches_movements(conn)


def test_retention_purges_old_raw_events_and_keeps_their_aggregates(db_url):
    from cockpit.db.schema import AggTrafficMinute, PageView

    engine = seeded(db_url, days=3)
    settings = load_settings({"COCKPIT_DB_URL": db_url, "COCKPIT_RETENTION_DAYS": "1"})
    with engine.connect() as conn:
        views_before = conn.execute(select(func.count()).select_from(PageView)).scalar()
        agg_before = conn.execute(select(func.sum(AggTrafficMinute.page_views))).scalar()
    assert jobs.apply_retention(settings, now_ts=T0 * 60)
    with engine.connect() as conn:
        oldest = conn.execute(select(func.min(PageView.ts_utc))).scalar()
        views_after = conn.execute(select(func.count()).select_from(PageView)).scalar()
        assert oldest >= (T0 - 1440) * 60 and 0 < views_after < views_before
        assert conn.execute(select(func.sum(AggTrafficMinute.page_views))).scalar() == agg_before
