"""Published views: the scheduler's snapshots equal what a page would compute, belong to one data
minute, are dropped by actions, and the payload format refuses anything it does not know."""
import dataclasses
import json
import math
import struct
import time

import numpy as np
import pandas as pd
import pytest

from cockpit import actions, jobs, snapshots, views
from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.ingest.seed import seed_history
from cockpit.metrics.read import Kpis, last_heartbeat
from cockpit.panels import PanelState
from cockpit.scheduler import CockpitScheduler
from models.phrases import phrase
from tests.cockpit.test_refresh import TZ
from tests.support.signin import ensure_users


def assert_same(actual, expected, path="value"):
    """Deep equality that compares frames column by column with their dtypes."""
    if isinstance(expected, pd.DataFrame):
        assert isinstance(actual, pd.DataFrame), path
        pd.testing.assert_frame_equal(actual, expected, check_exact=True, obj=path)
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and list(actual) == list(expected), path
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{path}[{i}]")
    elif dataclasses.is_dataclass(expected):
        assert type(actual) is type(expected), path
        for field in dataclasses.fields(expected):
            assert_same(getattr(actual, field.name), getattr(expected, field.name), f"{path}.{field.name}")
    elif isinstance(expected, float) and math.isnan(expected):
        assert isinstance(actual, float) and math.isnan(actual), path
    else:
        assert actual == expected and type(actual) is type(expected), (path, actual, expected)


@pytest.fixture(scope="module")
def shop(module_db_url):
    """An incident-scenario shop with a day of history and two live refreshes (open alerts)."""
    # A fixed evening (19:06 in Shanghai): at the wall clock just after local midnight the
    # ads panel's rules see too little spend and read no_data.
    now_minute = 1_795_000_000 // 60 - 2
    seed_history(get_engine(module_db_url), days=1, scenario="incident", seed=11, now_minute=now_minute, tz=TZ,
                 progress=False)
    settings = load_settings({"COCKPIT_DB_URL": module_db_url, "COCKPIT_SCENARIO": "incident",
                              "COCKPIT_SOURCES": "simulator", "COCKPIT_TIMEZONE": TZ.key, "COCKPIT_SIM_SEED": "11"})
    for step in (1, 2):
        jobs.refresh(settings, now_ts=(now_minute + step) * 60 + 1)
    return settings


def test_every_published_view_reads_back_equal_to_computing_it(shop):
    report = jobs.publish_views(shop)
    engine = get_engine(shop.db_url)
    with engine.connect() as conn:
        data_minute = last_heartbeat(conn).data_minute_utc
        assert report.data_minute == data_minute
        assert len(report.views) == len(views.PUBLISHED)
        stored = {(name, params): minute for name, params, minute, _ms, _size in snapshots.published(conn)}
        for name, params in views.PUBLISHED:
            assert stored[(name, snapshots.params_key(views.snapshot_params(TZ, params)))] == data_minute
            published = snapshots.fetch(conn, name, views.snapshot_params(TZ, params), data_minute)
            assert published is not None, name
            assert_same(published, views.VIEWS[name](conn, data_minute, TZ, **params), name)
        # The overview is assembled from published parts and equals computing all of it.
        overview = views.load(conn, "overview", data_minute, TZ)
        states = overview["panels"]
        assert isinstance(overview["today"], Kpis) and overview["today"].uv > 0
        assert all(isinstance(state, PanelState) for state in states.values())
        assert set(states["uv"].readings["level"]) <= {"ok", "warn", "critical", "no_data"}
        assert (states["ads"].readings["level"] != "no_data").any()
        live = {**views.overview_numbers(conn, data_minute, TZ), "panels": views.panel_states(conn, data_minute, TZ)}
        assert_same({key: overview[key] for key in live}, live, "overview")


def test_a_snapshot_of_another_minute_is_never_served(shop):
    jobs.publish_views(shop)
    with get_engine(shop.db_url).connect() as conn:
        data_minute = last_heartbeat(conn).data_minute_utc
        params = views.snapshot_params(TZ, {})
        assert snapshots.fetch(conn, "overview_numbers", params, data_minute) is not None
        assert snapshots.fetch(conn, "overview_numbers", params, data_minute + 1) is None
        assert snapshots.fetch(conn, "overview_numbers", {"tz": "UTC"}, data_minute) is None
        # load() computes what is not published: the next minute's (empty) last hour.
        later = views.load(conn, "overview_numbers", data_minute + 61, TZ)
        assert later["last_hour"].orders == 0


def test_a_done_action_drops_the_published_views_and_a_refused_one_does_not(shop):
    jobs.publish_views(shop)
    engine = get_engine(shop.db_url)
    with engine.connect() as conn:
        campaign = views.load(conn, "ads_page", last_heartbeat(conn).data_minute_utc, TZ)["last_hour"]
    active = campaign[campaign["status"] == "active"]["campaign_id"].iloc[0]
    ensure_users(engine, tester="operator")
    with engine.begin() as conn:
        refused = actions.resume_campaign(conn, active, "tester", f"k-resume-{time.time()}", time.time())
        assert refused.result == "refused"
        assert snapshots.published(conn)
        done = actions.pause_campaign(conn, active, "tester", f"k-pause-{time.time()}", time.time())
        assert done.result == "done"
        assert snapshots.published(conn) == []
    with engine.connect() as conn:  # the ads page now shows the pause, computed afresh
        data_minute = last_heartbeat(conn).data_minute_utc
        page = views.load(conn, "ads_page", data_minute, TZ)["last_hour"].set_index("campaign_id")
    assert page.loc[active, "status"] == "paused"


def test_the_scheduler_publishes_after_each_refresh_it_leads(shop):
    with get_engine(shop.db_url).begin() as conn:
        snapshots.forget_all(conn)
    scheduler = CockpitScheduler(shop, holder="publisher")
    report = scheduler.tick()
    assert report is not None and report.status in ("ok", "skipped")
    with get_engine(shop.db_url).connect() as conn:
        minutes = {minute for _n, _p, minute, _ms, _size in snapshots.published(conn)}
        assert minutes == {last_heartbeat(conn).data_minute_utc}
        assert len(snapshots.published(conn)) == len(views.PUBLISHED)


# --- the payload format ---------------------------------------------------------------------------

def test_the_format_round_trips_the_types_views_return():
    frame = pd.DataFrame({
        "n": np.array([1, -2, 3], dtype="int64"),
        "x": [0.5, np.nan, np.inf],
        "flag": [True, False, True],
        "maybe": pd.array([1, None, 3], dtype="Int64"),
        "name": pd.Series(["a", None, "c"], dtype="str"),
        "anything": pd.Series([None, "text", 2.5], dtype="object"),
    })
    value = {
        "frame": frame,
        "shifted": pd.DataFrame({"v": [1.0, 2.0]}, index=pd.RangeIndex(5, 7)),
        "empty": frame.iloc[:0].reset_index(drop=True),
        "kpis": Kpis(0, 60, 10, 2, 12, 40, 5, 3, 2, 99.5, 4),
        "numbers": [1, 2.5, float("nan"), -float("inf"), None, "s", True],
        "pair": (np.int64(7), np.float64(0.25)),
        "days": pd.DataFrame({"day": pd.date_range("2026-11-01", periods=3, freq="D").astype("datetime64[ns]"),
                              "units": [1, 2, 3]}),
        # a model's sentence, nested, as a value and in a column (shown later in the reader's language)
        "said": phrase("{verdict} ({n:,} of {share:.1%})", verdict=phrase("B converts {p}", p="1.0 point"), n=1200,
                       share=0.25),
        "scores": pd.DataFrame({"verdict": pd.Series([phrase("robust STL, period {period}", period=24), ""],
                                                     dtype="object")}),
    }
    back = snapshots.decode(snapshots.encode(value))
    assert str(back["said"]) == "B converts 1.0 point (1,200 of 25.0%)"
    assert_same(back, {**value, "pair": (7, 0.25)})


@pytest.mark.parametrize("bad", [{1: "int key"}, {"s": {1, 2}}, pd.DataFrame({"v": [1]}, index=["a"]),
                                 pd.DataFrame({"when": pd.to_datetime(["2026-11-11"]).tz_localize("UTC")})])
def test_the_format_refuses_what_it_cannot_carry(bad):
    with pytest.raises(snapshots.SnapshotFormatError):
        snapshots.encode(bad)


def forged(header: dict) -> bytes:
    text = json.dumps(header).encode()
    return snapshots.MAGIC + struct.pack("<I", len(text)) + text


@pytest.mark.parametrize("payload", [
    b"\x80\x04\x95 pickled",  # a pickle is not read
    forged({"$": "dc", "type": "Popen", "v": {"args": ["true"]}}),  # only the known dataclasses are built
    forged({"$": "eval", "v": "1+1"}),
    # a text column whose Arrow buffers lie outside the payload: refused, never read
    forged({"$": "frame", "index": [0, 1, 1], "columns": [["s", "str", "arrow", None, [0, 16], [16, 1]]], "blocks": []}),
    # a block that places one column twice
    forged({"$": "frame", "index": [0, 0, 1], "columns": [["a", "int64"], ["b", "int64"]],
            "blocks": [["int64", [0, 0], [0, 0]]]}),
])
def test_a_payload_that_is_not_ours_is_refused(payload):
    with pytest.raises(snapshots.SnapshotFormatError):
        snapshots.decode(payload)
