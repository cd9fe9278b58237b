"""The weekly report in Simplified Chinese, built from a seeded shop on SQLite and PostgreSQL: its
headings, tables, charts and findings are Chinese, with the same figures as the English build;
no English text of the report is left in it; its PDF draws the Chinese in a CJK font; the
language is kept with the report; the scheduler writes COCKPIT_LANG's, the CLI --lang's. Without
a CJK font the PDF fails naming the package to install, and the HTML is still kept."""
from __future__ import annotations

import html
import logging
import os
import re
import string
import subprocess
import sys
import warnings
import zlib
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cockpit import actions, report
from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.db.schema import Campaign, WeeklyReport
from cockpit.ingest.seed import seed_history
from cockpit.locales.zh_cn import MESSAGES
from cockpit.metrics.read import last_heartbeat
from cockpit.timebuckets import day_start_minute
from tests.cockpit.test_refresh import ROOT
from tests.support.msgids import extract
from tests.support.signin import ensure_users

TZ = ZoneInfo("Asia/Shanghai")
NOW_MINUTE = 1_795_000_000 // 60  # a Wednesday evening in Shanghai: 18 days hold two whole weeks
NOW_TS = 1_795_000_000
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?%?")


@pytest.fixture(scope="module")
def shop(module_db_url):
    engine = get_engine(module_db_url)
    seed_history(engine, days=18, scenario="normal", seed=5, now_minute=NOW_MINUTE, tz=TZ, progress=False)
    with engine.connect() as conn:
        week = report.last_complete_week(last_heartbeat(conn).data_minute_utc, TZ)
    # A pause inside the week: the report lists the action and measures it (a finding, two tables).
    ensure_users(engine, tester="operator")
    with engine.begin() as conn:
        campaign = conn.execute(select(Campaign.campaign_id).order_by(Campaign.campaign_id)).scalars().first()
        done = actions.pause_campaign(conn, campaign, "tester", "report-language-pause",
                                      day_start_minute(week + 3, TZ) * 60 + 12 * 3600, tz=TZ)
        assert done.result == "done", done.message
    settings = load_settings({"COCKPIT_DB_URL": module_db_url})
    targets = report.Targets.from_settings(settings)
    with engine.connect() as conn:
        built = {lang: report.build_report(conn, week, TZ, targets, created_by="test", now_ts=NOW_TS, lang=lang)
                 for lang in ("en", "zh-CN")}
    pictures = {}
    for lang, one in built.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pictures[lang] = report.charts(one)
        assert not [str(w.message) for w in caught if "missing from" in str(w.message)]  # no tofu boxes
    return {"url": module_db_url, "engine": engine, "week": week, "settings": settings, "built": built,
            "pictures": pictures, "campaign": campaign,
            "html": {lang: report.render_html(one, pictures[lang]) for lang, one in built.items()}}


def visible_text(page: str) -> str:
    """What a reader sees of an HTML page: tags dropped (the images' alt names with them), entities decoded."""
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


def shop_words(built: report.Report) -> list[str]:
    """The texts the report shows as the shop's data holds them (names, ids, and the alerts'
    messages, English for alerts written before their message_args were kept), longest first."""
    this = built.this_week
    words = {built.created_by, built.timezone}
    for frame, columns in ((this["stock_by_category"], ["category"]),
                           (this["deliveries_by_region"], ["region", "tier"]), (this["channels"], ["channel", "name"]),
                           (this["anomalies"], ["entity_id", "message"]), (this["actions"], ["entity_id", "actor"]),
                           (built.effects, ["entity"])):
        for column in columns:
            words |= {str(v) for v in frame[column].dropna()}
    return sorted(words, key=len, reverse=True)


def report_msgids() -> list[str]:
    """The English texts of cockpit/report.py and the phrases of models/report.py."""
    found = extract().msgids
    return [msgid for msgid, where in found.items()
            if any(w.startswith(("cockpit/report.py:", "models/report.py:")) for w in where)]


def pdf_text(document: bytes) -> str:
    """The text an fpdf2 PDF draws, run by run: the literal strings of its pages' content streams
    (two-byte glyph ids, Identity-H) mapped to Unicode through each font's ToUnicode CMap."""
    objects = {int(m.group(1)): m.end() for m in re.finditer(rb"(?m)^(\d+) 0 obj", document)}

    def body(number: int) -> bytes:
        return document[objects[number]:document.index(b"endobj", objects[number])]

    def stream(number: int) -> bytes:
        head, _, rest = body(number).partition(b"stream\n")
        raw = rest[:rest.rindex(b"endstream")].rstrip(b"\r\n")
        return zlib.decompress(raw) if b"/FlateDecode" in head else raw

    fonts: dict[bytes, dict[int, str]] = {}
    for number in objects:
        for block in re.findall(rb"/Font\s*<<(.*?)>>", body(number), re.S):
            for name, ref in re.findall(rb"/(\w+)\s+(\d+) 0 R", block):
                to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", body(int(ref)))
                cmap = stream(int(to_unicode.group(1))) if to_unicode else b""
                fonts[name] = {int(glyph, 16): bytes.fromhex(code.decode()).decode("utf-16-be")
                               for glyph, code in re.findall(rb"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>", cmap)}
    pages = [int(n) for number in objects if re.search(rb"/Type /Page\b(?!s)", body(number))
             for n in re.findall(rb"/Contents (\d+) 0 R", body(number))]
    runs, font = [], {}
    for page in pages:
        for token in re.finditer(rb"/(\w+)\s+[\d.]+\s+Tf|\(((?:\\.|[^\\)])*)\)", stream(page), re.S):
            if token.group(1) is not None:
                font = fonts.get(token.group(1), {})
                continue
            raw = _unescape(token.group(2))
            runs.append("".join(font.get(int.from_bytes(raw[i:i + 2], "big"), "\ufffd") for i in range(0, len(raw), 2)))
    return "\n".join(runs)


def _unescape(raw: bytes) -> bytes:
    """A PDF literal string's bytes (backslash escapes resolved)."""
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i] != 0x5C:
            out.append(raw[i])
            i += 1
            continue
        following = raw[i + 1:i + 2]
        if following and following in b"nrtbf":
            out.append({b"n": 10, b"r": 13, b"t": 9, b"b": 8, b"f": 12}[following])
            i += 2
        elif following.isdigit():
            digits = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4]).group()
            out.append(int(digits, 8) & 0xFF)
            i += 1 + len(digits)
        else:
            out += following
            i += 2
    return bytes(out)


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_chinese_report_has_chinese_headings_and_the_english_reports_figures(shop):
    en, zh = shop["built"]["en"], shop["built"]["zh-CN"]
    page = shop["html"]["zh-CN"]
    assert page.startswith("<!DOCTYPE html><html lang='zh-CN'>")
    assert "<h1>运营健康周报</h1>" in page and "<h2>主要发现</h2>" in page and "<h2>指标记分卡</h2>" in page
    assert f"统计周 {report.week_label(shop['week'], 'zh-CN')}" in page
    assert any(text.startswith(f"暂停广告计划 {shop['campaign']} 在 ") for text in zh.findings)
    assert len(zh.findings) == len(en.findings) >= 3
    for english, chinese in zip(en.findings, zh.findings):
        assert CJK.search(chinese), chinese
        # The same figures (money without its symbol: CN¥ in English, ¥ in Chinese).
        assert sorted(NUMBER.findall(chinese)) == sorted(NUMBER.findall(english)), (english, chinese)
        assert html.escape(chinese) in page
    assert "¥" in page and "CN¥" not in page  # money in the Chinese locale's format
    # The actions' own messages and verdicts are rendered again in Chinese from what they stored.
    tables = dict(report.detail_tables(zh))
    acted, measured = tables["已执行操作"], tables["操作的效果（与未执行操作的预测对比）"]
    assert acted["操作"].tolist() == ["暂停广告计划"] and all(CJK.search(m) for m in acted["消息"])
    assert len(measured) == 2 and all(CJK.search(v) for v in measured["结论"])


def test_no_english_text_of_the_report_is_left_in_the_chinese_html(shop):
    zh = shop["built"]["zh-CN"]
    text = visible_text(shop["html"]["zh-CN"])
    for word in shop_words(zh):
        text = text.replace(word, " ")
    translations = " ".join(MESSAGES[msgid] for msgid in report_msgids())
    left = []
    for msgid in report_msgids():
        # Each run of words between placeholders, as a whole word; names kept in Chinese (GMV, ROI, P90) pass.
        for part in (literal.strip(" .,:;()") for literal, *_ in string.Formatter().parse(msgid)):
            pattern = rf"(?<![A-Za-z]){re.escape(part)}(?![A-Za-z])"
            if re.search("[A-Za-z]", part) and not re.search(pattern, translations) and re.search(pattern, text):
                left.append(f"{part!r} (from {msgid!r})")
    assert not left, "English left in the Chinese report:\n" + "\n".join(left)
    assert len(report_msgids()) > 100


def test_the_chinese_pdf_draws_its_text_in_a_cjk_font(shop, caplog):
    zh = shop["built"]["zh-CN"]
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        document = report.render_pdf(zh, shop["pictures"]["zh-CN"])
    assert not [r.getMessage() for r in caplog.records if "missing" in r.getMessage()]  # every glyph in the font
    assert document.startswith(b"%PDF") and re.search(rb"/Lang\s*\(zh-CN\)", document)
    assert b"+WenQuanYiMicroHei" in document or report.cjk_font().name != "wqy-microhei.ttc"
    text = pdf_text(document)
    assert "\ufffd" not in text
    assert "运营健康周报" in text and "主要发现" in text and "指标记分卡" in text
    for finding in zh.findings:
        assert squeezed(finding) in squeezed(text), finding
    english = pdf_text(report.render_pdf(shop["built"]["en"], shop["pictures"]["en"]))
    assert "Operations health report" in english and not CJK.search(english)


def test_the_english_build_is_unchanged(shop):
    en, page = shop["built"]["en"], shop["html"]["en"]
    assert page.startswith("<!DOCTYPE html><html lang='en'>") and "<h1>Operations health report</h1>" in page
    assert not CJK.search(visible_text(page))
    assert any(text.startswith(f"Pausing campaign {shop['campaign']} saved about") for text in en.findings)
    assert "<th>previous week</th>" in page and "<th>stock-out rate</th>" in page
    assert re.search(r"<td>Mon \d\d:\d\d</td>|<td>(Tue|Wed|Thu|Fri|Sat|Sun) \d\d:\d\d</td>", page)


def test_the_language_is_kept_with_the_report_and_the_scheduler_writes_cockpit_lang(shop):
    engine = shop["engine"]
    with engine.begin() as conn:
        conn.execute(WeeklyReport.__table__.delete())
    settings = load_settings({"COCKPIT_DB_URL": shop["url"], "COCKPIT_LANG": "zh-CN"})
    written = report.ensure_last_week_report(engine, settings)
    assert written is not None and written.language == "zh-CN" and written.pdf_error is None
    with engine.connect() as conn:
        stored = report.stored_report(conn, shop["week"])
        listed = report.report_list(conn)
    assert stored["language"] == "zh-CN" and stored["figures"]["language"] == "zh-CN"
    assert stored["findings"] == written.findings and all(CJK.search(f) for f in stored["findings"])
    assert "<html lang='zh-CN'>" in stored["html"] and stored["pdf"].startswith(b"%PDF")
    assert listed["findings"].iloc[0] == written.findings
    # Asked for in English (the page's build button, the CLI), it is written in English.
    again = report.write_report(engine, shop["week"], settings, created_by="test", lang="en")
    with engine.connect() as conn:
        assert report.stored_report(conn, shop["week"])["language"] == again.language == "en"


def test_the_refusals_speak_the_askers_language(shop):
    with shop["engine"].connect() as conn, pytest.raises(report.ReportError, match="不是星期一"):
        report.build_report(conn, shop["week"] + 1, TZ, report.Targets.from_settings(shop["settings"]),
                            created_by="test", lang="zh-CN")


def test_without_a_cjk_font_the_pdf_fails_naming_the_package_and_the_html_is_kept(shop, monkeypatch):
    monkeypatch.setattr(report, "cjk_font", lambda: None)
    zh = shop["built"]["zh-CN"]
    with pytest.raises(report.MissingFontError, match=report.CJK_FONT_PACKAGE):
        report.render_pdf(zh, shop["pictures"]["zh-CN"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pictures = report.charts(zh)  # English words rather than boxes
    assert not [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert report.render_pdf(shop["built"]["en"], pictures).startswith(b"%PDF")  # English needs no CJK font
    engine = shop["engine"]
    with engine.begin() as conn:
        page, document = report.store_report(conn, zh)
    try:
        assert document == b"" and report.CJK_FONT_PACKAGE in zh.pdf_error
        with engine.connect() as conn:
            stored = report.stored_report(conn, shop["week"])
        assert stored["html"] == page and "<h1>运营健康周报</h1>" in page and stored["pdf"] == b""
        assert report.CJK_FONT_PACKAGE in stored["pdf_error"]
    finally:
        zh.pdf_error = None


def test_the_cli_builds_in_the_language_asked(shop, tmp_path):
    env = {**os.environ, "COCKPIT_DB_URL": shop["url"]}
    env.pop("COCKPIT_LANG", None)
    done = subprocess.run([sys.executable, "-m", "cockpit", "report", "--lang", "zh-CN", "--out", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert CJK.search(done.stdout.split("findings:", 1)[1])
    stem = tmp_path / f"operations-report-{report.day_date(shop['week']).isoformat()}"
    assert "<html lang='zh-CN'>" in stem.with_suffix(".html").read_text(encoding="utf-8")
    assert "运营健康周报" in pdf_text(stem.with_suffix(".pdf").read_bytes())
    refused = subprocess.run([sys.executable, "-m", "cockpit", "report", "--lang", "fr"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "invalid choice" in refused.stderr
