"""The Weekly reports page on a seeded database: a week is built from the page, then shown as
the stored report (the HTML the download gives), with HTML and PDF downloads; the wall screen
only reads; a reader who chose Chinese builds it in Chinese, and others see it as written."""
import base64
import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from cockpit import report
from cockpit.db.engine import get_engine
from cockpit.db.schema import User
from cockpit.ingest.seed import seed_history
from cockpit.metrics.read import last_heartbeat
from tests.pages.test_pages import app_for
from tests.support.signin import ensure_users

TZ = ZoneInfo("Asia/Shanghai")
PAGE = "pages/12_reports.py"


@pytest.fixture(scope="module")
def seeded_url(module_db_url):
    # 14 days always hold one whole Monday-to-Sunday week.
    seed_history(get_engine(module_db_url), days=14, scenario="normal", seed=23, now_minute=int(time.time()) // 60,
                 tz=TZ, progress=False)
    return module_db_url


def shown_html(at) -> str:
    frames = at.get("iframe")
    assert len(frames) == 1
    source = frames[0].proto.src
    prefix = "data:text/html;base64,"
    assert source.startswith(prefix)
    return base64.b64decode(source[len(prefix):]).decode("utf-8")


def test_a_report_built_from_the_page_is_shown_and_downloadable(seeded_url, monkeypatch):
    at = app_for(seeded_url, monkeypatch, PAGE)
    assert any("No report yet" in info.value for info in at.info)
    with get_engine(seeded_url).connect() as conn:
        newest = report.last_complete_week(last_heartbeat(conn).data_minute_utc, TZ)
    build_week = at.selectbox(key="report_build_week")
    assert build_week.value == newest and build_week.format_func(newest) == report.week_label(newest)
    [build] = [b for b in at.button if b.label == "Build the report"]
    build.click().run(timeout=300)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    with get_engine(seeded_url).connect() as conn:
        stored = report.stored_report(conn, newest)
    assert stored is not None and stored["created_by"] == "tester"  # the signed-in user (app_for)
    assert at.selectbox(key="report_week").value == newest
    page = shown_html(at)
    assert page == stored["html"]
    assert f"Week {report.week_label(newest)}" in page
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == ["Download HTML", "Download PDF"]
    assert any(f"{len(stored['findings'])} finding(s)" in caption.value for caption in at.caption)


def test_the_wall_screen_reads_reports_but_cannot_build_them(seeded_url, monkeypatch):
    with get_engine(seeded_url).connect() as conn:
        listed = report.report_list(conn)
    assert len(listed) >= 1  # built by the test before
    at = app_for(seeded_url, monkeypatch, PAGE, mode="wall")
    assert not [b for b in at.button if b.label == "Build the report"]
    assert "Operations health report" in shown_html(at)


def test_a_reader_who_chose_chinese_builds_a_chinese_report_that_others_see_as_written(seeded_url, monkeypatch):
    engine = get_engine(seeded_url)
    ensure_users(engine, lin="operator")
    with engine.begin() as conn:
        conn.execute(update(User).where(User.username == "lin").values(language="zh-CN"))
    at = app_for(seeded_url, monkeypatch, PAGE, user="lin", role="operator")
    assert at.session_state["ui_language"] == "zh-CN"
    week = at.selectbox(key="report_build_week").value
    assert at.selectbox(key="report_build_week").format_func(week) == report.week_label(week, "zh-CN")
    [build] = [b for b in at.button if b.label == "生成报告"]
    build.click().run(timeout=300)
    assert not at.exception, at.exception
    with engine.connect() as conn:
        stored = report.stored_report(conn, week)
    assert stored["language"] == "zh-CN" and stored["created_by"] == "lin"
    page = shown_html(at)
    assert page == stored["html"] and "<html lang='zh-CN'>" in page and "<h1>运营健康周报</h1>" in page
    assert not any("简体中文" in caption.value for caption in at.caption)  # written in the reader's language
    # An English reader: the page's own words in English, the report as it was written, and a caption saying so.
    english = app_for(seeded_url, monkeypatch, PAGE)
    assert shown_html(english) == stored["html"]
    assert any("written in 简体中文" in caption.value for caption in english.caption)
    assert [d.proto.label for d in english.get("download_button")] == ["Download HTML", "Download PDF"]
