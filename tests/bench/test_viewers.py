"""bench.viewers' instruments: the in-server statement counter counts what runs, the protocol
viewer gets the overview's real numbers from a real server, and sessions share the loaders'
reads within a data minute."""
import asyncio
import os
import time

import pytest
from sqlalchemy import text

from bench.harness import BenchContext, viewer_cookie
from bench.panel_reads import TZ, seeded_shop
from cockpit.views import overview_numbers
from bench.viewers import (OVERVIEW_TILES, Server, StatementCounter, SteppedScheduler, Viewer, copy_shop,
                           proc_cpu_seconds, proc_memory_mb, read_counts)
from cockpit.db.engine import dispose_engines, get_engine
from cockpit.ui.loaders import HEARTBEAT_TTL_S


def test_the_counter_counts_statements_of_every_engine_but_not_transaction_control(tmp_path):
    url = f"sqlite:///{tmp_path / 'count.db'}"
    engine = get_engine(url)  # the cockpit's engine: it sends its own BEGIN on SQLite
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE refresh_runs (run_id INTEGER PRIMARY KEY)"))
    counter = StatementCounter(tmp_path / "counts.bin")
    with counter.installed():
        with engine.begin() as conn:
            for _ in range(3):
                conn.execute(text("SELECT 1"))
            conn.execute(text("SELECT max(run_id) FROM refresh_runs"))
    with engine.connect() as conn:  # after removal: not counted
        conn.execute(text("SELECT 2"))
    dispose_engines()
    counts = read_counts(tmp_path / "counts.bin")
    assert (counts.statements, counts.heartbeat) == (4, 1)
    assert counts.db_seconds > 0


def test_proc_readers_see_a_childs_own_memory_and_cpu():
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; b = b'x' * (200 << 20); sum(range(10**7)); "
                              "print('ready', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert proc_memory_mb(child.pid, "VmHWM") >= 200 > proc_memory_mb(os.getpid(), "VmRSS") - 1000
        assert proc_memory_mb(child.pid, "VmHWM") >= proc_memory_mb(child.pid, "VmRSS")
        assert proc_cpu_seconds(child.pid) > 0.1
    finally:
        child.kill()
        child.wait()


@pytest.fixture(scope="module")
def served_shop(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("viewers")
    shop = seeded_shop(BenchContext(smoke=True, workdir=workdir))
    url = copy_shop(shop.url, workdir / "served.db")
    with Server(url, refresh_s=60, workdir=workdir) as server:
        yield server, url, shop.data_minute
    dispose_engines()


def expected_tiles(url: str, data_minute: int) -> dict[str, str]:
    with get_engine(url).connect() as conn:
        today = overview_numbers(conn, data_minute, TZ)["today"]
    return {"UV": f"{today.uv:,}", "Orders": f"{today.orders:,}", "GMV": f"CN¥{today.gmv:,.0f}"}


def test_a_protocol_viewer_gets_the_overviews_numbers_and_sessions_share_the_reads(served_shop):
    server, url, data_minute = served_shop

    async def scenario():
        first, second = (Viewer(server.ws_url, expect_tiles=OVERVIEW_TILES, cookies=viewer_cookie(url))
                         for _ in range(2))
        await first.open()
        shown_first = dict(first.metrics)
        before = server.counts()
        await second.open()  # same data minute, within the heartbeat's cache time: no new reads
        second_cost = server.counts() - before
        shown_second = dict(second.metrics)

        scheduler = SteppedScheduler(url, data_minute)
        scheduler()  # a new data minute
        time.sleep(HEARTBEAT_TTL_S + 0.5)  # the heartbeat's cache time runs out
        before = server.counts()
        await first.rerun_fragment()
        turnover = server.counts() - before
        before = server.counts()
        await second.rerun_fragment()
        shared = server.counts() - before
        result = (first, second, shown_first, shown_second, second_cost, turnover, shared, scheduler.data_minute)
        await first.close()
        await second.close()
        return result

    first, second, shown_first, shown_second, second_cost, turnover, shared, new_minute = asyncio.run(scenario())
    assert first.errors == [] and second.errors == []
    assert first.fragment_id and first.fragment_interval_s == 60
    assert len(shown_first) == OVERVIEW_TILES
    assert {k: shown_first[k] for k in ("UV", "Orders", "GMV")} == expected_tiles(url, data_minute)
    assert shown_second == shown_first
    # Opening a page reads only its own session (one indexed lookup); the numbers are shared.
    assert second_cost.sign_in == 1
    assert second_cost.statements - second_cost.heartbeat - second_cost.sign_in == 0
    # The new minute: the first rerun reads it once, the second session's rerun shares it.
    assert turnover.heartbeat == 1 and turnover.statements > 10
    assert shared.statements == 0
    assert {k: first.metrics[k] for k in ("UV", "Orders", "GMV")} == expected_tiles(url, new_minute)
    assert second.metrics == first.metrics
