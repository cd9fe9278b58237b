"""The soak run (tests/support/soak.py): 24 hours of minutes in accelerated time, 1,440 scheduler
ticks with live events, on SQLite and PostgreSQL at once (one process each, one per core). The
scheduler's memory does not grow, the raw tables stay bounded under the retention policy, and
every figure still equals a brute-force recount."""
import json
import subprocess
import sys

from cockpit.db.engine import get_engine, upgrade_schema
from tests.cockpit.test_refresh import ROOT
from tests.conftest import ARTIFACTS
from tests.support.figures import record
from tests.support.recount import assert_aggregates_match_raw, assert_stock_matches_movements

MINUTES = 1440
WARM_MINUTE = 240  # memory is compared from here on: caches and pools are filled by then
MAX_GROWTH_MB = 25.0


def test_a_day_of_minutes_leaks_no_memory_bounds_the_raw_tables_and_keeps_every_figure(fresh_db_url, tmp_path):
    urls = {backend: fresh_db_url(backend) for backend in ("sqlite", "postgresql")}
    runs = {}
    for backend, url in urls.items():
        upgrade_schema(url)  # before the children start, so they never migrate at once
        out = tmp_path / f"soak-{backend}.json"
        runs[backend] = (out, subprocess.Popen(
            [sys.executable, "-m", "tests.support.soak", url, str(out), "--minutes", str(MINUTES)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"soak-{backend}.log", "w")))
    for backend, (out, process) in runs.items():
        assert process.wait(timeout=3000) == 0, (tmp_path / f"soak-{backend}.log").read_text()[-3000:]
    for backend, (out, _) in runs.items():
        result = json.loads(out.read_text())
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / out.name).write_text(out.read_text())  # kept for the README's reliability table
        samples = result["samples"]
        assert result["statuses"] == {"ok": MINUTES}, result["statuses"]
        assert result["events"] > MINUTES * 20
        # Memory: flat once warm (a leak of even 20 kB a minute would add 24 MB by the end).
        warm = [s["rss_mb"] for s in samples if s["minute"] >= WARM_MINUTE]
        growth = warm[-1] - warm[0]
        assert max(warm) - warm[0] < MAX_GROWTH_MB and growth < MAX_GROWTH_MB, samples
        # The raw tables: retention ran every hour and holds them at about a day.
        hourly = [s for s in samples if s["retention_ran"]]
        assert len(hourly) == MINUTES // 60
        first_day = hourly[0]["page_views"]
        assert all(s["page_views"] <= 1.3 * first_day for s in hourly), [s["page_views"] for s in hourly]
        assert hourly[0]["page_views"] < samples[0]["page_views"]  # the seed's second day went
        # The seeded minutes whose raw events retention deleted keep their aggregates.
        assert result["seeded_minutes_kept"] == result["seeded_minutes"] > 2000
        with get_engine(urls[backend]).connect() as conn:
            assert_aggregates_match_raw(conn, raw_since_minute=result["retention_cutoff_minute"])
            assert_stock_matches_movements(conn)
        record(f"soak[{backend}]", minutes=MINUTES, refreshes_ok=result["statuses"]["ok"], events=result["events"],
               rss_mb_warm_first=warm[0], rss_mb_last=warm[-1], rss_growth_mb=round(growth, 1),
               page_views_kept_min=min(s["page_views"] for s in hourly),
               page_views_kept_max=max(s["page_views"] for s in hourly), seconds=result["seconds"],
               views_every_minutes=result["views_every"], events_lost=0, events_doubled=0)
