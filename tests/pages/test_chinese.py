"""The interface in Simplified Chinese: every page rendered by AppTest for a user who chose zh-CN,
every string the page sends to the browser (titles, labels, captions, metric tiles, buttons,
options, table headers, chart titles, axes and legends) read from the element protos, and no
English word of ours left in them once the shop's own data (product, campaign and warehouse
names...) is set aside. A string that skipped t(), or a msgid without a translation, fails here.
Also: the switch is remembered with the account, money is in the locale's currency format, and
a wall screen speaks COCKPIT_LANG."""
from __future__ import annotations

import json
import re
import time
from zoneinfo import ZoneInfo

import pytest
from google.protobuf.json_format import MessageToDict
from sqlalchemy import select, text, update

from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.db.schema import User
from cockpit.i18n import LANGUAGE_NAMES
from cockpit.ingest.seed import seed_history
from cockpit.jobs import attribution_job, customer_value_job, forecast_job, refresh
from tests.pages.test_pages import app_for
from tests.support.signin import ensure_users

TZ = ZoneInfo("Asia/Shanghai")
PAGES = ["pages/01_overview.py", "pages/02_traffic.py", "pages/03_stock.py", "pages/04_ads.py", "pages/05_alerts.py",
         "pages/06_forecasts.py", "pages/07_customers.py", "pages/08_customer.py", "pages/09_experiments.py",
         "pages/10_service.py", "pages/11_attribution.py", "pages/12_reports.py", "pages/13_product.py",
         "pages/14_logistics.py", "pages/15_products.py"]
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# English a Chinese operations team reads as it is: acronyms, units, formats and product words.
KEPT = {"SKU", "SKUs", "ROI", "ROAS", "GMV", "CLV", "UV", "AOV", "CSV", "Excel", "PNG", "PDF", "HTML", "MAPE", "MASE",
        "ETS", "SARIMA", "CI", "KOL", "R", "F", "M", "P", "p", "UTC", "Asia", "Shanghai", "CNY", "CN", "min", "s", "h",
        "d", "x", "e", "vs", "WeCom", "DingTalk", "Slack", "Markov", "Shopify", "COCKPIT", "TOML", "SMTP", "ID",
        "WH", "FW", "CMP", "OK", "Webhook", "STL", "r", "a", "b", "q", "v", "Gamma", "A", "B", "C", "BG", "NBD", "alive", "k", "K", "M", "ms", "API"}
# Proto fields that hold no visible text (ids, keys, styles, data, code).
SKIPPED_FIELDS = {"id", "formId", "key", "cssClass", "url", "icon", "data", "arrowData", "styler", "fragmentId",
                  "deltaPath", "script", "customdata", "hovertemplate", "texttemplate", "tickformat", "tickprefix",
                  "ticksuffix", "type", "mode", "colorway", "font", "family", "color", "bgcolor", "fillcolor",
                  "autorange", "barmode", "hovermode", "xaxis", "yaxis", "legendgroup", "orientation", "textposition",
                  "uid", "xref", "yref", "dash", "symbol", "theme", "spec_key", "format", "alignment", "width",
                  "height", "displayText", "display_text", "dataType", "config", "valueFormat", "anchor", "side",
                  "placeholderText", "scope", "rangemode", "visible", "showlegend", "layer", "editable", "xanchor",
                  "yanchor", "page", "pageScriptHash", "queryString", "deferredFileId", "hoverformat",
                  "tickformatstops"}


@pytest.fixture(scope="module")
def shop(module_db_url):
    """Two weeks of a shop with every scheduler job done (so each page draws its full content) and
    a user who chose Chinese."""
    now = int(time.time()) // 60 * 60
    seed_history(get_engine(module_db_url), days=14, scenario="incident", seed=8, now_minute=now // 60 - 1, tz=TZ,
                 progress=False)
    settings = load_settings({"COCKPIT_DB_URL": module_db_url, "COCKPIT_SOURCES": "simulator",
                              "COCKPIT_SCENARIO": "incident", "COCKPIT_SIM_SEED": "8"})
    refresh(settings, now_ts=now)
    for job in (customer_value_job, attribution_job, forecast_job):
        job(settings)
    engine = get_engine(module_db_url)
    ensure_users(engine, lin="operator")
    with engine.begin() as conn:
        conn.execute(update(User).where(User.username == "lin").values(language="zh-CN"))
    return module_db_url


def data_words(db_url: str) -> list[str]:
    """The shop's own names, which the interface shows as the shop wrote them, longest first."""
    queries = ["SELECT name FROM products", "SELECT category FROM products", "SELECT name FROM suppliers",
               "SELECT warehouse_id FROM warehouses", "SELECT name FROM warehouses", "SELECT region FROM warehouses",
               "SELECT channel FROM channels", "SELECT name FROM channels", "SELECT kind FROM channels",
               "SELECT campaign_id FROM campaigns", "SELECT name FROM campaigns", "SELECT sku FROM products",
               "SELECT DISTINCT carrier FROM shipments", "SELECT DISTINCT region FROM shipments",
               "SELECT name FROM experiments", "SELECT description FROM experiments", "SELECT name FROM alert_rules",
               "SELECT DISTINCT channel FROM service_contacts", "SELECT DISTINCT reason FROM service_contacts", "SELECT username FROM users",
               "SELECT DISTINCT channel FROM campaigns", "SELECT experiment_id FROM experiments",
               "SELECT target_segment FROM experiments", "SELECT tier FROM warehouses", "SELECT DISTINCT term FROM searches"]
    words: set[str] = set()
    with get_engine(db_url).connect() as conn:
        for query in queries:
            try:
                words |= {str(v) for (v,) in conn.execute(text(query)) if v}
            except Exception:  # a table this shop does not have; roll back and go on
                conn.rollback()
        words |= {arm for (arms,) in conn.execute(text("SELECT arms FROM experiments")) for arm in str(arms).split(",")}
    return sorted(words, key=len, reverse=True)


def visible_strings(at) -> list[tuple[str, str]]:
    """Every string of every element the app sent: proto fields, chart specs and table column
    configs parsed from their JSON."""
    found: list[tuple[str, str]] = []

    def walk(value, field=""):
        if field in SKIPPED_FIELDS:
            return
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, key)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, field)
        elif isinstance(value, str):
            if field in ("spec", "columns", "figure") or (value[:1] in "{[" and value[-1:] in "}]"):
                try:
                    walk(json.loads(value), field)
                    return
                except ValueError:
                    pass
            found.append((field, value))

    for node in at._tree:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "DESCRIPTOR"):
            walk(MessageToDict(proto, use_integers_for_enums=True))
    for table in at.dataframe:  # the cells: words of ours (states, levels, reasons) are text too
        frame = table.value
        config = json.loads(table.proto.columns or "{}")
        for column in frame.columns:
            if config.get(str(column), {}).get("hidden"):
                continue
            if frame[column].dtype == object or str(frame[column].dtype).startswith("str"):
                found += [("cell", value) for value in frame[column].dropna().astype(str).unique()[:200]]
    return found


def english_left(strings: list[tuple[str, str]], data: list[str]) -> list[str]:
    """The strings that still hold an English word of ours once tags, links, code, numbers and the
    shop's names are taken out."""
    left = []
    for field, original in strings:
        value = re.sub(r"<style>.*?</style>|<script>.*?</script>", " ", original, flags=re.S)
        value = re.sub(r"<[^>]+>", " ", value)
        value = re.sub(r"\]\([^)]*\)", "]", value)  # markdown link targets
        value = re.sub(r"`[^`]*`|\bCOCKPIT_\w+|README “[^”]*”", " ", value)  # code, settings, README sections
        value = re.sub(r"https?://\S+|/[\w-]+\?\S*|\b[\w.-]+\.(csv|xlsx|png|pdf|html|toml)\b", " ", value)
        for word in data:
            if word in value:
                value = value.replace(word, " ")
        value = re.sub(r"\b[A-Z]{2,}(?:-[A-Z0-9]+)+\b", " ", value)  # identifiers: PO-123, EXP-WINBACK, WH-EAST
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z'’]*", value) if w not in KEPT and w not in LANGUAGE_NAMES.values()]
        if words:
            left.append(f"{field}: {original[:160]!r} -> {words[:8]}")
    return left


@pytest.mark.parametrize("page", PAGES)
def test_every_page_speaks_chinese_to_a_user_who_chose_it(shop, monkeypatch, page):
    at = app_for(shop, monkeypatch, page, user="lin", role="operator")
    assert at.session_state["ui_language"] == "zh-CN"
    strings = visible_strings(at)
    assert sum(bool(CJK.search(s)) for _, s in strings) >= 10, strings[:40]
    left = english_left(strings, data_words(shop))
    assert not left, f"{page}: {len(left)} string(s) with English left:\n" + "\n".join(left[:60])


def test_the_same_page_in_english_has_no_chinese(shop, monkeypatch):
    at = app_for(shop, monkeypatch, "pages/01_overview.py")
    assert not [s for _, s in visible_strings(at) if CJK.search(s) and "简体中文" not in s]


def test_money_follows_the_locale_and_the_configured_currency(shop, monkeypatch):
    zh = app_for(shop, monkeypatch, "pages/01_overview.py", user="lin", role="operator")
    gmv_zh = next(m.value for m in zh.metric if m.label == "GMV")
    assert re.fullmatch(r"¥[\d,]+", gmv_zh), gmv_zh
    en = app_for(shop, monkeypatch, "pages/01_overview.py")
    gmv_en = next(m.value for m in en.metric if m.label == "GMV")
    assert gmv_en == "CN" + gmv_zh  # CLDR: English writes the yuan CN¥, Chinese ¥; same figure
    monkeypatch.setenv("COCKPIT_CURRENCY", "USD")
    from cockpit import i18n
    i18n._configured.cache_clear()
    try:
        usd = app_for(shop, monkeypatch, "pages/01_overview.py")
        assert next(m.value for m in usd.metric if m.label == "GMV") == gmv_en.replace("CN¥", "$")
    finally:
        monkeypatch.delenv("COCKPIT_CURRENCY")
        i18n._configured.cache_clear()


def test_switching_language_is_remembered_with_the_account(shop, monkeypatch):
    engine = get_engine(shop)
    ensure_users(engine, wang="viewer")
    at = app_for(shop, monkeypatch, "pages/01_overview.py", user="wang", role="viewer")
    assert not any(CJK.search(m.label) for m in at.metric)
    at.segmented_control(key="ui_language_switch").set_value("zh-CN").run()
    assert not at.exception
    assert at.session_state["ui_language"] == "zh-CN"
    assert any(CJK.search(m.label) for m in at.metric)
    with engine.connect() as conn:
        assert conn.execute(select(User.language).where(User.username == "wang")).scalar() == "zh-CN"
    # A new session of the same user (another browser, tomorrow) opens in Chinese.
    again = app_for(shop, monkeypatch, "pages/01_overview.py", user="wang", role="viewer")
    assert again.session_state["ui_language"] == "zh-CN"
    again.segmented_control(key="ui_language_switch").set_value("en").run()
    with engine.connect() as conn:
        assert conn.execute(select(User.language).where(User.username == "wang")).scalar() == "en"


def test_the_wall_screen_and_new_sessions_follow_cockpit_lang(shop, monkeypatch):
    from cockpit import i18n
    monkeypatch.setenv("COCKPIT_LANG", "zh-CN")
    i18n._configured.cache_clear()
    try:
        wall = app_for(shop, monkeypatch, "pages/01_overview.py", mode="wall")
        assert wall.session_state["ui_language"] == "zh-CN"
        assert any(CJK.search(m.label) for m in wall.metric)
        ensure_users(get_engine(shop), zhao="viewer")  # no choice of their own yet
        fresh = app_for(shop, monkeypatch, "pages/01_overview.py", user="zhao", role="viewer")
        assert any(CJK.search(m.label) for m in fresh.metric)
        english_wall = app_for(shop, monkeypatch, "pages/01_overview.py", mode="wall", lang="en")
        assert not any(CJK.search(m.label) for m in english_wall.metric)
    finally:
        monkeypatch.delenv("COCKPIT_LANG")
        i18n._configured.cache_clear()


def test_time_axes_carry_chinese_tick_formats_in_chinese_only(shop, monkeypatch):
    """plotly.js names months and weekdays in English whatever the page's language: in Chinese
    every time axis takes numeric Chinese tick formats instead."""
    def time_axes(at) -> list[dict]:
        axes = []
        for chart in at.get("plotly_chart"):
            spec = json.loads(chart.proto.spec)
            for name, axis in spec["layout"].items():
                if name.startswith("xaxis") and axis.get("hoverformat") == "%Y-%m-%d %H:%M":
                    axes.append(axis)
        return axes

    zh = time_axes(app_for(shop, monkeypatch, "pages/01_overview.py", user="lin", role="operator"))
    assert zh and all("月" in axis["tickformatstops"][1]["value"] for axis in zh)
    en = time_axes(app_for(shop, monkeypatch, "pages/01_overview.py"))
    assert len(en) == len(zh) and not any("tickformatstops" in axis for axis in en)
