"""The browser benchmark's instruments: the websocket frame decoder and the idle probe, checked
against a real Streamlit server (a tiny app, not the cockpit) in Debian's headless Chromium,
and the pairing of requests with finished runs on hand-made frames."""
import pytest
from playwright.sync_api import sync_playwright
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench import browser
from bench.browser import Frame, WallRecord

# A metric, a plotly chart, and with ?tick=1 a fragment that reruns every second and draws a
# new "as of" minute each time (as the overview's freshness caption does).
TINY_APP = '''
import plotly.graph_objects as go
import streamlit as st

st.metric("Orders", 42)
st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2])))

if st.query_params.get("tick"):
    @st.fragment(run_every=1)
    def ticking():
        st.session_state["n"] = st.session_state.get("n", 0) + 1
        st.caption(f"Data as of 2026-01-01 10:{st.session_state['n']:02d} (UTC)")

    ticking()
'''


@pytest.fixture(scope="module")
def tiny_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-app")
    (folder / "app.py").write_text(TINY_APP)
    server = browser.start_server({}, folder / "server.log", usage_stats=True, app=folder / "app.py")
    try:
        browser.wait_healthy(server)
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as playwright:
        launched = browser.launch(playwright)  # fails with the fix when chromium is missing
        yield launched
        launched.close()


def test_a_missing_chromium_fails_loudly_with_the_fix():
    with pytest.raises(browser.ChromiumMissing, match="scripts/ensure-services.sh"):
        browser.require_chromium("/nonexistent/chromium")


def test_the_decoder_finds_a_real_servers_full_run_and_timed_fragment_runs(tiny_server, chromium):
    page = chromium.new_page()
    frames = browser.record_frames(page)
    page.goto(tiny_server + "/?tick=1")
    page.wait_for_selector("text=Data as of", timeout=30_000)
    page.wait_for_timeout(3500)
    page.close()
    runs = browser.script_runs(frames)
    assert runs[0].fragment_id == "" and runs[0].status == ForwardMsg.FINISHED_SUCCESSFULLY
    fragments = browser.fragment_runs(frames)
    assert len(fragments) >= 2
    for run in fragments:
        assert run.server_ms is not None and 0 < run.server_ms < 5000
        assert run.round_trip_ms >= run.server_ms  # the server's own timing lies inside the round trip
        assert run.as_of is not None and run.as_of.startswith("2026-01-01 10:")
        assert run.bytes_received > 0
    assert len({run.fragment_id for run in fragments}) == 1
    minutes = [run.as_of for run in browser.new_minute_runs(runs)]
    assert len(minutes) >= 1 and minutes == sorted(set(minutes))


def test_the_idle_moment_is_after_the_first_tile_before_the_wait_ended_and_final(tiny_server, chromium):
    page = chromium.new_page()
    sample = browser.measure_load(page, tiny_server, tiles=1, charts=1, quiet_ms=400)
    page.wait_for_timeout(1500)
    later = page.evaluate("window.__benchProbe.mutations")
    page.close()
    assert 0 < sample.dom_content_loaded_ms < sample.first_tile_ms <= sample.idle_ms
    assert sample.first_send_ms < sample.last_message_ms <= sample.idle_ms
    assert sample.idle_ms + 400 <= sample.waited_ms < sample.idle_ms + 30_000
    assert later == sample.mutations, "the page kept changing after the moment measured as idle"


def _back(fragment_id: str = "") -> bytes:
    message = BackMsg()
    message.rerun_script.fragment_id = fragment_id
    return message.SerializeToString()


def _finished(status) -> bytes:
    message = ForwardMsg()
    message.script_finished = status
    return message.SerializeToString()


def _profile(exec_us: int) -> bytes:
    message = ForwardMsg()
    message.page_profile.exec_time = exec_us
    message.page_profile.is_fragment_run = True
    return message.SerializeToString()


def _caption(text: str) -> bytes:
    message = ForwardMsg()
    message.delta.new_element.markdown.body = text
    return message.SerializeToString()


def test_only_fragment_runs_that_finish_count_each_paired_with_its_own_request():
    frames = [
        Frame(True, 10.000, _back()), Frame(False, 10.900, _finished(ForwardMsg.FINISHED_SUCCESSFULLY)),
        Frame(True, 12.000, _back("f1")), Frame(False, 12.010, _caption("Data as of 2026-01-01 10:01 (UTC)")),
        Frame(False, 12.080, _profile(60_000)),
        Frame(True, 12.050, b"not a protobuf \xff\xff"),  # arrives out of order; ignored either way
        Frame(False, 12.100, _finished(ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)),
        Frame(True, 14.000, _back("f1")), Frame(False, 14.050, _finished(ForwardMsg.FINISHED_EARLY_FOR_RERUN)),
        Frame(True, 16.000, _back("f1")), Frame(False, 16.010, _caption("Data as of 2026-01-01 10:01 (UTC)")),
        Frame(False, 16.040, _profile(30_000)),
        Frame(False, 16.050, _finished(ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)),
    ]
    runs = browser.script_runs(frames)
    assert [(r.fragment_id, r.status) for r in runs] == [
        ("", 0), ("f1", 3), ("f1", ForwardMsg.FINISHED_EARLY_FOR_RERUN), ("f1", 3)]
    fragments = browser.fragment_runs(frames)
    assert [(round(r.round_trip_ms), r.server_ms, r.as_of) for r in fragments] == [
        (100, 60.0, "2026-01-01 10:01"), (50, 30.0, "2026-01-01 10:01")]
    # the first fragment run draws a minute the full run did not show; the last one repeats it
    assert [round(r.round_trip_ms) for r in browser.new_minute_runs(runs)] == [100]


def test_the_summary_refuses_fragment_runs_the_server_did_not_time():
    frames = [Frame(True, 1.0, _back("f1")), Frame(False, 1.2, _finished(ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY))]
    with pytest.raises(RuntimeError, match="gatherUsageStats"):
        browser.wall_measurements(WallRecord(frames, None, 1), "context")
