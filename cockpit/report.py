"""The weekly operations health report: built for a shop-local week (Monday to Sunday), with
the week before and the shop's targets beside every figure and plain-language findings on
top; kept in weekly_reports as it was written (figures, a self-contained HTML file with its
charts inlined, and a PDF).

The scheduler builds last week's report every Monday morning (and at start if it is missing:
`ensure_last_week_report`) in COCKPIT_LANG; `python -m cockpit report` and the Reports page
build one on demand in the language of whoever asks. A report is written in one language, every
word through cockpit.i18n (the findings are models.report phrases), and keeps it: the language
is stored with its figures. Charts are matplotlib PNGs, so the HTML needs no script and no
network to be read, and the PDF (fpdf2) holds the same pictures. Chinese charts and PDFs need a
font with the Chinese characters (Debian's fonts-wqy-microhei; `cjk_font`).
"""
from __future__ import annotations

import base64
import html
import io
import json
import logging
import subprocess
import time
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, insert, select

from cockpit import alerts, customers
from cockpit.actions import audit_log, stored_message
from cockpit.config import Settings
from cockpit.db.schema import AggSalesMinute, CustomerScore, WeeklyReport
from cockpit.i18n import check_language, language, money, number, percent, say, t, weekday_text
from cockpit.metrics import logistics as logistics_reads
from cockpit.metrics import weekly
from cockpit.metrics.ads import channel_performance
from cockpit.metrics.customers import paid_orders
from cockpit.metrics.read import ANOMALY_METRICS, kpis, last_heartbeat
from cockpit.timebuckets import EPOCH_DATE, day_start_minute, local_day_of
from models import report as model
from models import rfm
from models.phrases import Phrase, phrase

log = logging.getLogger(__name__)
DAYS = 7
SHOP_ACTIONS = ("replenish_sku", "pause_campaign", "resume_campaign", "start_clearance", "end_clearance")
ANOMALY_METRIC_NAMES = {name for names in ANOMALY_METRICS.values() for name in names}
MAX_EFFECTS = 20  # each measured action costs a forecast fit (about a second)


class ReportError(ValueError):
    """The report cannot be built for the week asked (no data yet, or the week is not over)."""


# --- weeks ------------------------------------------------------------------------------------

def week_start_of(day: int) -> int:
    """The Monday (shop-local day number) of the week holding `day` (day 0, 1970-01-01, was a Thursday)."""
    return int(day) - (int(day) + 3) % 7


def day_date(day: int) -> date:
    return EPOCH_DATE + timedelta(days=int(day))


def week_label(week_start_day: int, lang: str | None = None) -> str:
    """The week's Monday and Sunday: "2026-11-16 to 2026-11-22" ("2026-11-16 至 2026-11-22")."""
    first = day_date(week_start_day)
    return t("{first} to {last}", lang, first=first.isoformat(), last=(first + timedelta(days=DAYS - 1)).isoformat())


def last_complete_week(data_minute: int, tz: ZoneInfo) -> int:
    """The Monday of the newest week whose every minute is in the data."""
    monday = week_start_of(local_day_of(data_minute + 1, tz))
    return monday - DAYS


def parse_week(text: str) -> int:
    """A week from any of its days written YYYY-MM-DD: its Monday's day number."""
    try:
        day = (date.fromisoformat(text.strip()) - EPOCH_DATE).days
    except ValueError:
        raise ReportError(f"{text!r} is not a date such as 2026-11-16") from None
    return week_start_of(day)


# --- figures ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Targets:
    """The shop's targets the report checks (cockpit.config: COCKPIT_TARGET_*)."""

    stockout_rate: float
    turnover_days: float
    logistics_cost_share: float
    on_time_rate: float
    delivery_spread_days: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "Targets":
        return cls(settings.target_stockout_rate, settings.target_turnover_days, settings.target_logistics_cost_share,
                   settings.target_on_time_rate, settings.target_delivery_spread_days)

    def as_model(self, ad_roi_floor: float) -> dict[str, model.Target]:
        targets = {
            "stockout_rate": model.Target(self.stockout_rate, "max"),
            "turnover_days": model.Target(self.turnover_days, "max"),
            "logistics_cost_share": model.Target(self.logistics_cost_share, "max"),
            "on_time_rate": model.Target(self.on_time_rate, "min"),
            "delivery_spread_days": model.Target(self.delivery_spread_days, "max"),
        }
        if ad_roi_floor == ad_roi_floor:  # not NaN: some campaign has a floor
            targets["ad_roi"] = model.Target(ad_roi_floor, "min")
        return targets


def _segments_at(conn: Connection, day: int, start_ts: int, tz: ZoneInfo) -> tuple[pd.DataFrame, str]:
    """Every customer's RFM segment at the end of `day`: the scores the customer job stored
    for that day, or else computed from the paid orders before the week (RFM only, no CLV)."""
    stored = conn.execute(select(CustomerScore.customer_id, CustomerScore.segment)
                          .where(CustomerScore.as_of_day == int(day))).all()
    if stored:
        return pd.DataFrame(stored, columns=["customer_id", "segment"]).astype({"customer_id": "int64"}), "stored"
    orders = paid_orders(conn, None, start_ts)
    if orders.empty:
        return pd.DataFrame({"customer_id": pd.Series(dtype="int64"), "segment": pd.Series(dtype="str")}), "none"
    table = rfm.rfm_table(customers.transactions(orders, tz), as_of=customers.day_date(day))
    return table.reset_index()[["customer_id", "segment"]].astype({"customer_id": "int64"}), "computed"


def week_figures(conn: Connection, week_start_day: int, tz: ZoneInfo) -> dict:
    """Everything the report shows about one week: a flat dict of headline figures
    ("headline") and the frames behind them (daily, segments, stock by category, deliveries by
    region, channels, anomalies, actions)."""
    days = [week_start_day + i for i in range(DAYS + 1)]
    bounds = [day_start_minute(day, tz) for day in days]
    start, end = bounds[0], bounds[-1]
    week = kpis(conn, start, end, tz)
    daily = pd.DataFrame([
        {"day": day_date(day).isoformat(), "gmv": k.gmv, "paid_orders": k.paid_orders, "uv": k.uv}
        for day, k in ((day, kpis(conn, lo, hi, tz)) for day, lo, hi in zip(days, bounds, bounds[1:]))
    ])
    segments_at, segment_source = _segments_at(conn, week_start_day - 1, start * 60, tz)
    segments = model.segment_conversion(segments_at, weekly.customer_activity(conn, start, end))
    stock, by_category = model.stock_figures(weekly.stock_by_day(conn, bounds[1:]), weekly.sku_sales(conn, start, end),
                                             DAYS)
    delivery, by_region = model.delivery_figures(weekly.deliveries(conn, start, end))
    shipping = (logistics_reads.shipping_cost(conn, start, end)
                .groupby("tier", as_index=False, sort=True)[["parcels", "cost"]].sum())
    channels = channel_performance(conn, start, end).merge(weekly.channel_roi_floors(conn), on="channel", how="left")
    channels = channels[["channel", "name", "spend", "orders", "revenue", "roi", "roi_floor"]]
    spend, revenue = float(channels["spend"].sum()), float(channels["revenue"].sum())
    weights = channels["spend"].where(channels["spend"] > 0)
    ad_roi_floor = float((channels["roi_floor"] * weights).sum() / weights.sum()) if weights.notna().any() else float("nan")
    week_alerts = alerts.recent_alerts(conn, start)
    week_alerts = week_alerts[(week_alerts["opened_minute"] >= start) & (week_alerts["opened_minute"] < end)]
    # message_args: what each message says as data, so the report shows it in its own language.
    anomalies = week_alerts[week_alerts["metric"].isin(ANOMALY_METRIC_NAMES)][
        ["opened_minute", "metric", "entity_id", "level", "message", "message_args"]].reset_index(drop=True)
    log_rows = audit_log(conn, since_ts=start * 60, limit=10_000)
    actions = log_rows[(log_rows["ts_utc"] < end * 60) & log_rows["verb"].isin(SHOP_ACTIONS)
                       & (log_rows["result"] == "done")][["action_id", "ts_utc", "actor", "automatic", "verb", "entity_id",
                                                          "message", "message_args"]].reset_index(drop=True)
    headline = {
        "gmv": week.gmv, "paid_orders": week.paid_orders, "uv": week.uv, "conversion_rate": week.conversion_rate,
        "aov": week.aov,
        "stockout_rate": stock["stockout_rate"], "sell_through": stock["sell_through"],
        "turnover_days": stock["turnover_days"], "pairs_stocked_out": stock["pairs_stocked_out"],
        "pairs": stock["pairs"],
        "median_delivery_days": delivery["median_days"], "delivery_spread_days": delivery["spread_days"],
        "on_time_rate": delivery["on_time_rate"], "parcels_delivered": delivery["parcels"],
        "late_parcels": delivery["late"],
        "logistics_cost": float(shipping["cost"].sum()),
        "logistics_cost_share": float(shipping["cost"].sum()) / week.gmv if week.gmv else float("nan"),
        "ad_spend": spend, "ad_revenue": revenue, "ad_roi": model.roi(revenue, spend), "ad_roi_floor": ad_roi_floor,
        "anomalies": len(anomalies), "actions": len(actions),
    }
    return {"week_start_day": week_start_day, "label": week_label(week_start_day), "start_minute": start,
            "end_minute": end, "segment_source": segment_source, "headline": headline, "daily": daily,
            "segments": segments, "stock_by_category": by_category, "shipping_by_tier": shipping,
            "deliveries_by_region": by_region, "channels": channels, "anomalies": anomalies, "actions": actions}


@dataclass
class Report:
    week_start_day: int
    data_minute: int
    created_ts: int
    created_by: str
    this_week: dict
    previous_week: dict
    table: pd.DataFrame  # models.report.comparison
    findings: list[str]  # in `language`
    effects: pd.DataFrame  # cockpit.action_effects rows of the week's actions
    timezone: str
    language: str = "en"  # every word of the report is in it
    pdf_error: str | None = None  # why the stored report has no PDF (store_report)

    @property
    def label(self) -> str:
        return week_label(self.week_start_day, self.language)


def build_report(conn: Connection, week_start_day: int, tz: ZoneInfo, targets: Targets, *,
                 created_by: str, now_ts: float | None = None, lang: str | None = None) -> Report:
    """The report of the week starting on Monday week_start_day, written in `lang` (None: the
    language in force, cockpit.i18n.language); raises ReportError (its message in `lang`) when
    the week is not over in the data or no data exists."""
    lang = check_language(language(lang))
    beat = last_heartbeat(conn)
    if beat is None or beat.data_minute_utc is None:
        raise ReportError(t("no data yet: seed the demo or import your shop's data first", lang))
    data_minute = int(beat.data_minute_utc)
    if week_start_day != week_start_of(week_start_day):
        raise ReportError(t("{day} is not a Monday", lang, day=day_date(week_start_day).isoformat()))
    if day_start_minute(week_start_day + DAYS, tz) > data_minute + 1:
        data = pd.Timestamp(data_minute * 60, unit="s", tz="UTC").tz_convert(tz)
        raise ReportError(t("the week {label} is not over yet: the data runs to {data}", lang,
                            label=week_label(week_start_day, lang), data=f"{data:%Y-%m-%d %H:%M}"))
    this_week = week_figures(conn, week_start_day, tz)
    previous_week = week_figures(conn, week_start_day - DAYS, tz)
    effects = _week_effects(conn, data_minute, tz, this_week["actions"])
    first_minute = first_data_minute(conn)
    previous_complete = first_minute is not None and previous_week["start_minute"] >= first_minute
    table = model.comparison(this_week["headline"], previous_week["headline"],
                             targets.as_model(this_week["headline"]["ad_roi_floor"]),
                             previous_complete=previous_complete)
    findings = model.findings(table, this_week["segments"],
                              previous_week["segments"] if previous_complete else previous_week["segments"].iloc[:0],
                              this_week["channels"], this_week["anomalies"], model.effect_sentences(effects),
                              segment_names=lambda key: segment_name(key, lang),
                              metric_names=lambda metric: anomaly_name(metric, lang))
    if not previous_complete:
        if findings == [model.ALL_QUIET]:
            findings = [phrase("Every figure with a target is on target.")]
        since = pd.Timestamp(first_minute * 60, unit="s", tz="UTC").tz_convert(tz)
        findings.append(phrase("The week before is only partly in the data (it starts {since}): this report compares "
                               "nothing with it.", since=f"{weekday_text(since.date(), lang)} {since:%Y-%m-%d %H:%M}"))
    return Report(week_start_day, data_minute, int(now_ts if now_ts is not None else time.time()), created_by,
                  this_week, previous_week, table, [finding_text(f, lang) for f in findings], effects, tz.key, lang)


def _week_effects(conn: Connection, data_minute: int, tz: ZoneInfo, actions: pd.DataFrame) -> pd.DataFrame:
    from cockpit.action_effects import COLUMNS, action_effects  # the forecaster loads only where reports are built

    measured = actions[actions["verb"].isin(SHOP_ACTIONS)].head(MAX_EFFECTS)
    parts = [action_effects(conn, data_minute, tz, action_id=int(a)) for a in measured["action_id"]]
    parts = [part for part in parts if len(part)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


# --- words and figures in the report's language --------------------------------------------------

# Keys the report shows, with their English labels (msgids: t() translates them where drawn).
ANOMALY_NAMES = {"sessions_anomaly": "sessions anomaly", "conversion_anomaly": "conversion anomaly",
                 "spend_anomaly": "spend anomaly", "roi_anomaly": "roi anomaly", "return_anomaly": "return anomaly"}
LEVELS = {"warn": "warn", "critical": "critical"}
VERBS = {"replenish_sku": "Replenish stock", "pause_campaign": "Pause campaign", "resume_campaign": "Resume campaign",
         "start_clearance": "Start clearance", "end_clearance": "End clearance"}
EFFECT_METRICS = {"spend": "spend", "orders": "orders", "units sold": "units sold"}


def segment_name(key: str, lang: str | None = None) -> str:
    if key == model.NEW_CUSTOMERS:
        return t("new this week", lang)  # model.NEW_CUSTOMERS, written out for the msgid extraction
    return rfm.segment_label(key, language(lang))


def anomaly_name(metric: str, lang: str | None = None) -> str:
    return t(ANOMALY_NAMES.get(metric, metric), lang)


def figure_text(value, unit: str, lang: str | None = None, *, bound: str = "", digits: int | None = None) -> str:
    """A figure in `lang`'s format (models.report.format_value's units): money with the shop's
    currency, shares as percentages, days with their word; a target's bound ("max", "min") as ≤, ≥."""
    sign = {"max": "≤ ", "min": "≥ "}.get(bound, "")
    if value is None or not np.isfinite(value):
        return sign + "–"
    if unit == "share":
        return sign + percent(value, 1, lang)
    if unit == "days":
        return sign + t("{days} days", lang, days=number(value, 1, lang))
    if unit == "ratio":
        return sign + number(value, 2, lang)
    if unit == "money":
        return sign + money(value, digits if digits is not None else 0 if abs(value) >= 100 else 2, lang)
    return sign + number(value, digits or 0, lang)


def finding_text(finding: Phrase | str, lang: str | None = None) -> str:
    """A models.report finding in `lang`: its template and nested phrases translated, its
    models.report.Figure values formatted for the locale."""
    def localised(item):
        if isinstance(item, Phrase):
            return replace(item, values={key: localised(value) for key, value in item.values.items()})
        if isinstance(item, model.Figure):
            return figure_text(item.value, item.unit, lang, bound=item.bound, digits=item.digits)
        return item

    return say(localised(finding), lang)


# --- charts -----------------------------------------------------------------------------------

CJK_FONT_PACKAGE = "fonts-wqy-microhei"
# Fonts holding the Chinese characters, best first: Debian's fonts-wqy-microhei (which
# scripts/ensure-services.sh installs; TrueType outlines, 5 MB), fonts-wqy-zenhei, fonts-noto-cjk.
CJK_FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                  "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


class MissingFontError(ReportError):
    """No font with the Chinese characters on this machine: a Chinese PDF would show boxes."""


def cjk_font() -> Path | None:
    """A font file with the Chinese characters (its first face when a collection), or None: the
    known Debian files first, else the first file fontconfig lists for Chinese."""
    for name in CJK_FONT_FILES:
        if Path(name).is_file():
            return Path(name)
    try:
        listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(Path(line.split(":")[0].strip()) for line in listed.splitlines() if line.strip())
    return next((f for f in files if f.suffix.lower() in (".ttf", ".ttc", ".otf") and f.is_file()), None)


def _missing_font(lang: str) -> MissingFontError:
    return MissingFontError(t("A report in Chinese needs a font with the Chinese characters and none was found: "
                              "install Debian's {package} (apt-get install {package}) or another font that "
                              "`fc-list :lang=zh` then lists.", lang, package=CJK_FONT_PACKAGE))


def _chart_font(lang: str) -> str | None:
    """The family matplotlib draws `lang`'s words in: None for English (its DejaVu Sans) or
    when no CJK font exists."""
    if lang == "en" or (path := cjk_font()) is None:
        return None
    from matplotlib import font_manager

    # Added by file: matplotlib's font cache was built before the font may have been installed.
    if not any(entry.fname == str(path) for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return buffer.getvalue()


def charts(report: Report) -> dict[str, bytes]:
    """The report's charts as PNG bytes, by name, in the report's language: daily GMV of both
    weeks, conversion by segment, channel ROI against floors, delivery time by region, turnover
    by category. Without a CJK font a Chinese report's charts keep their English words (the PDF
    then fails: render_pdf) rather than draw boxes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lang = report.language
    family = _chart_font(lang)
    if lang != "en" and family is None:
        log.warning("no font with Chinese characters (install %s): the charts keep English words", CJK_FONT_PACKAGE)
        lang = "en"
    with plt.rc_context({"font.family": [family, "DejaVu Sans"]} if family else {}):
        return _draw_charts(report, lang)


def _draw_charts(report: Report, lang: str) -> dict[str, bytes]:
    import matplotlib.pyplot as plt

    this, before = report.this_week, report.previous_week
    previous_week, this_week = t("previous week", lang), t("this week", lang)
    out: dict[str, bytes] = {}
    figure, axis = plt.subplots(figsize=(7, 2.8))
    labels = [weekday_text(date.fromisoformat(d), lang) for d in this["daily"]["day"]]
    axis.plot(labels, before["daily"]["gmv"], marker="o", color="#9aa5b1", label=previous_week)
    axis.plot(labels, this["daily"]["gmv"], marker="o", color="#1f77b4", label=this_week)
    axis.set_title(t("GMV per day", lang))
    axis.legend(frameon=False)
    axis.grid(axis="y", alpha=0.3)
    out["gmv_per_day"] = _png(figure)

    segments = this["segments"].merge(before["segments"][["segment", "conversion"]], on="segment", how="left",
                                      suffixes=("", "_before"))
    segments = segments[segments["segment"] != model.NEW_CUSTOMERS].sort_values("conversion", na_position="first")
    figure, axis = plt.subplots(figsize=(7, 0.35 * max(len(segments), 3) + 0.8))
    y = range(len(segments))
    axis.barh([i + 0.2 for i in y], segments["conversion_before"].fillna(0) * 100, height=0.4, color="#9aa5b1",
              label=previous_week)
    axis.barh([i - 0.2 for i in y], segments["conversion"].fillna(0) * 100, height=0.4, color="#1f77b4",
              label=this_week)
    axis.set_yticks(list(y), [segment_name(s, lang) for s in segments["segment"]])
    axis.set_xlabel(t("% of visiting customers who ordered", lang))
    axis.set_title(t("Conversion by customer segment", lang))
    axis.legend(frameon=False, loc="lower right")
    out["segment_conversion"] = _png(figure)

    channels = this["channels"][this["channels"]["spend"] > 0].sort_values("roi")
    figure, axis = plt.subplots(figsize=(7, 0.4 * max(len(channels), 3) + 0.8))
    colors = ["#d62728" if r < f else "#2ca02c" for r, f in zip(channels["roi"], channels["roi_floor"].fillna(-1e9))]
    axis.barh(channels["name"], channels["roi"], color=colors)
    axis.scatter(channels["roi_floor"], channels["name"], marker="|", s=300, color="black", label=t("ROI floor", lang))
    axis.set_title(t("Ad ROI by channel (red: under its floor)", lang))
    axis.legend(frameon=False, loc="lower right")
    out["channel_roi"] = _png(figure)

    regions = this["deliveries_by_region"].groupby("region").apply(
        lambda g: pd.Series({"median_days": (g["median_days"] * g["parcels"]).sum() / max(g["parcels"].sum(), 1),
                             "p90_days": g["p90_days"].max()}), include_groups=False).reset_index()
    figure, axis = plt.subplots(figsize=(7, 2.8))
    axis.bar(regions["region"], regions["median_days"], color="#1f77b4", label=t("median", lang))
    axis.scatter(regions["region"], regions["p90_days"], marker="_", s=400, color="#d62728",
                 label=t("90th percentile", lang))
    axis.set_ylabel(t("days, payment to door", lang))
    axis.set_title(t("Delivery time by destination region", lang))
    axis.legend(frameon=False)
    axis.tick_params(axis="x", labelrotation=30)
    out["delivery_by_region"] = _png(figure)

    categories = this["stock_by_category"].replace([float("inf")], float("nan"))
    figure, axis = plt.subplots(figsize=(7, 2.8))
    axis.bar(categories["category"], categories["turnover_days"].fillna(0), color="#1f77b4")
    target = report.table.set_index("key").loc["turnover_days"]
    if target["target_kind"]:
        axis.axhline(target["target_limit"], color="#d62728", linestyle="--",
                     label=t("target {target}", lang, target=figure_text(target["target_limit"], "days", lang,
                                                                         bound=target["target_kind"])))
        axis.legend(frameon=False)
    axis.set_ylabel(t("days of stock", lang))
    axis.set_title(t("Stock turnover by category", lang))
    axis.tick_params(axis="x", labelrotation=30)
    out["turnover_by_category"] = _png(figure)
    return out


CHART_TITLES = {
    "gmv_per_day": "Sales", "segment_conversion": "Customers", "channel_roi": "Marketing",
    "delivery_by_region": "Logistics", "turnover_by_category": "Stock",
}


# --- rendering --------------------------------------------------------------------------------

def _cell(value, lang: str) -> str:
    if isinstance(value, float):
        return number(value, 0 if abs(value) >= 100 else 2, lang) if np.isfinite(value) else "–"
    return str(value)


def detail_tables(report: Report) -> list[tuple[str, pd.DataFrame]]:
    """The report's detail tables, formatted for reading (strings) in the report's language,
    with their titles. Names from the data (categories, regions, channels, entities) are shown
    as stored; the alerts' and actions' messages are rendered again from their message_args."""
    lang, this = report.language, report.this_week
    tz = ZoneInfo(report.timezone)

    def shown(unit: str):
        return lambda value: figure_text(value, unit, lang)

    segments = this["segments"].assign(conversion=this["segments"]["conversion"].map(shown("share")),
                                       revenue=this["segments"]["revenue"].map(shown("money")))
    segments["segment"] = segments["segment"].map(lambda key: segment_name(key, lang))
    stock = this["stock_by_category"].copy()
    for name in ("sell_through", "stockout_rate"):
        stock[name] = stock[name].map(shown("share"))
    stock["turnover_days"] = stock["turnover_days"].map(shown("days"))
    stock["avg_on_hand"] = stock["avg_on_hand"].map(lambda v: number(v, 0, lang))
    stock["revenue"] = stock["revenue"].map(shown("money"))
    regions = this["deliveries_by_region"].copy()
    for name in ("median_days", "p90_days", "spread_days"):
        regions[name] = regions[name].map(shown("days"))
    regions["on_time_rate"] = regions["on_time_rate"].map(shown("share"))
    channels = this["channels"].copy()
    for name in ("spend", "revenue"):
        channels[name] = channels[name].map(shown("money"))
    for name in ("roi", "roi_floor"):
        channels[name] = channels[name].map(shown("ratio"))

    def local(minutes: pd.Series) -> pd.Series:
        times = pd.to_datetime(minutes * 60, unit="s", utc=True).dt.tz_convert(tz)
        return pd.Series([f"{weekday_text(when.date(), lang)} {when:%H:%M}" for when in times], index=minutes.index,
                         dtype=object)

    anomalies = this["anomalies"].assign(
        opened=lambda f: local(f["opened_minute"]), metric=lambda f: f["metric"].map(lambda m: anomaly_name(m, lang)),
        level=lambda f: f["level"].map(lambda level: t(LEVELS.get(level, level), lang)),
        message=lambda f: alerts.shown_messages(f, lang))[["opened", "metric", "entity_id", "level", "message"]]
    actions = this["actions"].assign(
        time=lambda f: local(f["ts_utc"] // 60),
        verb=lambda f: f["verb"].map(lambda verb: t(VERBS.get(verb, verb), lang)),
        by=lambda f: f["actor"].where(~f["automatic"], t("automatic rule", lang)),
        message=lambda f: pd.Series([say(stored_message(m, a), lang) for m, a in zip(f["message"], f["message_args"])],
                                    index=f.index, dtype=object))[["time", "verb", "entity_id", "by", "message"]]
    effects = report.effects
    if len(effects):
        effects = effects[["verb", "entity", "metric", "post_hours", "actual", "counterfactual", "effect", "verdict"]].copy()
        effects["verb"] = effects["verb"].map(lambda verb: t(VERBS.get(verb, verb), lang))
        effects["metric"] = effects["metric"].map(lambda metric: t(EFFECT_METRICS.get(metric, metric), lang))
        effects["verdict"] = effects["verdict"].map(lambda verdict: say(verdict, lang))
        for name in ("actual", "counterfactual", "effect"):
            effects[name] = effects[name].map(lambda v: number(v, 0, lang))
    tables = [
        (t("Customer segments (at the week's start) and their conversion", lang), segments),
        (t("Stock by category: sell-through, turnover, stock-outs", lang), stock),
        (t("Delivery by destination region and warehouse tier", lang), regions),
        (t("Channels: spend and return", lang), channels),
        (t("Anomaly alerts", lang), anomalies),
        (t("Actions taken", lang), actions),
        (t("What the actions did (against a forecast without them)", lang), effects),
    ]
    return [(title, frame.rename(columns=lambda name: _heading(name, lang))) for title, frame in tables]


# Column headings, by column name (msgids).
_HEADINGS = {
    "segment": "segment", "customers": "customers", "visited": "visited", "ordered": "ordered", "orders": "orders",
    "revenue": "revenue", "conversion": "conversion", "category": "category", "units_sold": "units sold",
    "on_hand_end": "on hand at the end", "avg_on_hand": "average on hand", "sell_through": "sell-through",
    "turnover_days": "turnover", "stockout_rate": "stock-out rate", "region": "region", "tier": "tier",
    "parcels": "parcels", "median_days": "median", "p90_days": "P90", "spread_days": "spread (P90 - P10)",
    "on_time_rate": "on time", "late": "late", "channel": "channel", "name": "name", "spend": "spend", "roi": "ROI",
    "roi_floor": "ROI floor", "opened": "opened", "metric": "metric", "entity_id": "entity", "level": "level",
    "message": "message", "time": "time", "verb": "verb", "by": "by", "entity": "entity",
    "post_hours": "hours measured", "actual": "actual", "counterfactual": "counterfactual", "effect": "effect",
    "verdict": "verdict", "section": "section", "figure": "figure", "this_week": "this week",
    "previous_week": "previous week", "change": "change", "target": "target", "status": "status",
}


def _heading(name: str, lang: str) -> str:
    return t(_HEADINGS.get(name, name.replace("_", " ")), lang)


def scorecard(report: Report) -> pd.DataFrame:
    """The comparison table as text in the report's language: section, figure, this week,
    previous week, change, target, status (met, missed or empty without a target)."""
    lang, table = report.language, report.table
    frame = pd.DataFrame({
        "section": table["section"].map(lambda section: say(section, lang)),
        "figure": table["label"].map(lambda label: say(label, lang)),
        "this_week": [figure_text(v, u, lang) for v, u in zip(table["this_week"], table["unit"])],
        "previous_week": [figure_text(v, u, lang) for v, u in zip(table["previous_week"], table["unit"])],
        "change": table["change"].map(model.format_change),
        "target": [figure_text(limit, unit, lang, bound=kind) if kind else ""
                   for limit, unit, kind in zip(table["target_limit"], table["unit"], table["target_kind"])],
        "status": table["met"].map(lambda m: t("met", lang) if m is True else t("missed", lang) if m is False else ""),
    })
    return frame.rename(columns=lambda name: _heading(name, lang))


def _status_classes(report: Report) -> list[str]:
    return report.table["met"].map(lambda m: "met" if m is True else "missed" if m is False else "").tolist()


_CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,'DejaVu Sans','PingFang SC','Microsoft YaHei','Noto Sans CJK SC',
'WenQuanYi Micro Hei',sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#1f2933}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #d9e2ec}
.meta{color:#52606d;margin-top:4px}ul.findings li{margin:4px 0}
table{border-collapse:collapse;width:100%;font-size:.85em;margin:8px 0}
th,td{border-bottom:1px solid #e4e7eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f5f7fa}.missed{color:#c81e1e;font-weight:600}.met{color:#18794e}
img{max-width:100%}
"""


def _html_table(frame: pd.DataFrame, lang: str, status: list[str] | None = None) -> str:
    """`frame` as an HTML table; `status` gives each row's last cell a class (met, missed)."""
    if frame.empty:
        return f"<p>{html.escape(t('None this week.', lang))}</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cells = [f"<td>{html.escape(_cell(value, lang))}</td>" for value in row]
        if status and status[i]:
            cells[-1] = cells[-1].replace("<td>", f'<td class="{status[i]}">', 1)
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _moments(report: Report) -> tuple[str, str]:
    """When the report was built and how far its data runs, in the shop's timezone."""
    tz = ZoneInfo(report.timezone)
    made = pd.Timestamp(report.created_ts, unit="s", tz="UTC").tz_convert(tz)
    data = pd.Timestamp(report.data_minute * 60, unit="s", tz="UTC").tz_convert(tz)
    return f"{made:%Y-%m-%d %H:%M}", f"{data:%Y-%m-%d %H:%M}"


def render_html(report: Report, pictures: dict[str, bytes]) -> str:
    """The report as one self-contained HTML file (styles and charts inlined), in its language."""
    lang, label = report.language, report.label
    built, data = _moments(report)
    meta = (t("Week {label} ({timezone}), against the week before.", lang, label=label, timezone=report.timezone) + " "
            + t("Built {built} by {who}; data through {data}.", lang, built=built, who=report.created_by, data=data))
    parts = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>",
        f"<title>{html.escape(t('Operations health report, week {label}', lang, label=label))}</title>"
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(t('Operations health report', lang))}</h1><p class='meta'>{html.escape(meta)}</p>",
        f"<h2>{html.escape(t('Findings', lang))}</h2><ul class='findings'>",
        *(f"<li>{html.escape(text)}</li>" for text in report.findings),
        f"</ul><h2>{html.escape(t('Scorecard', lang))}</h2>",
        _html_table(scorecard(report), lang, _status_classes(report)),
    ]
    for name in CHART_TITLES:
        encoded = base64.b64encode(pictures[name]).decode("ascii")
        parts.append(f"<h2>{html.escape(t(CHART_TITLES[name], lang))}</h2>"
                     f"<img alt='{html.escape(name)}' src='data:image/png;base64,{encoded}'>")
    for title, frame in detail_tables(report):
        parts.append(f"<h2>{html.escape(title)}</h2>{_html_table(frame, lang)}")
    if report.this_week["segment_source"] == "computed":
        parts.append("<p class='meta'>" + html.escape(t(
            "Segments were computed from the orders before the week (RFM), as no stored scores exist for that day.",
            lang)) + "</p>")
    parts.append("</body></html>")
    return "".join(parts)


_FONT = Path(__import__("matplotlib").get_data_path()) / "fonts" / "ttf"


def render_pdf(report: Report, pictures: dict[str, bytes]) -> bytes:
    """The report as a PDF (A4) in its language: findings, scorecard, charts, then the detail
    tables. Raises MissingFontError for a Chinese report when no CJK font is installed."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    lang = report.language
    pdf = FPDF(format="A4")
    pdf.set_lang(lang)
    pdf.set_auto_page_break(True, margin=12)
    # A Unicode font (DejaVu ships with matplotlib): ≤, ≥ and dashes are not in the core fonts.
    pdf.add_font("DejaVu", "", str(_FONT / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_FONT / "DejaVuSans-Bold.ttf"))
    family = "DejaVu"
    if lang != "en":
        path = cjk_font()
        if path is None:
            raise _missing_font(lang)
        for style in ("", "B"):  # the CJK fonts come without a bold face: headings are set larger instead
            pdf.add_font("CJK", style, str(path))
        pdf.set_fallback_fonts(["DejaVu"])  # for a symbol the CJK font lacks
        family = "CJK"
    pdf.add_page()
    pdf.set_font(family, "B", 16)
    pdf.cell(0, 9, t("Operations health report", lang), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    pdf.cell(0, 5, t("Week {label} ({timezone}), against the week before.", lang, label=report.label,
                     timezone=report.timezone), new_x="LMARGIN", new_y="NEXT")

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font(family, "B", 12)
        pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 8)

    def table(frame: pd.DataFrame) -> None:
        if frame.empty:
            pdf.cell(0, 5, t("None this week.", lang), new_x="LMARGIN", new_y="NEXT")
            return
        with pdf.table(headings_style=FontFace(emphasis="BOLD", fill_color=(245, 247, 250)), line_height=4.2,
                       text_align="LEFT") as grid:
            grid.row([str(c) for c in frame.columns])
            for row in frame.itertuples(index=False):
                grid.row([_cell(v, lang)[:160] for v in row])

    heading(t("Findings", lang))
    pdf.set_font(family, "", 9)
    for text in report.findings:
        pdf.multi_cell(0, 5, f"• {text}", new_x="LMARGIN", new_y="NEXT")
    heading(t("Scorecard", lang))
    table(scorecard(report))
    for name in CHART_TITLES:
        heading(t(CHART_TITLES[name], lang))
        pdf.image(io.BytesIO(pictures[name]), w=170)
    for title, frame in detail_tables(report):
        heading(title)
        table(frame)
    return bytes(pdf.output())


# --- archive ----------------------------------------------------------------------------------

def _figures_json(report: Report) -> str:
    def plain(part: dict) -> dict:
        return {key: (value.to_dict(orient="records") if isinstance(value, pd.DataFrame) else value)
                for key, value in part.items()}

    # The language (and a missing PDF's reason) ride in the figures: the table has no column for them.
    return json.dumps({"language": report.language, "pdf_error": report.pdf_error,
                       "this_week": plain(report.this_week), "previous_week": plain(report.previous_week),
                       "comparison": report.table.to_dict(orient="records"),
                       "effects": report.effects.to_dict(orient="records")}, default=str, allow_nan=True)


def store_report(conn: Connection, report: Report) -> tuple[str, bytes]:
    """Render the report (HTML and PDF) and keep it, replacing an earlier one of the same week.
    Without a CJK font a Chinese report is kept without its PDF (empty bytes): report.pdf_error
    says which package to install."""
    pictures = charts(report)
    page = render_html(report, pictures)
    try:
        document = render_pdf(report, pictures)
    except MissingFontError as exc:
        log.warning("weekly report %s kept without its PDF: %s", report.label, exc)
        report.pdf_error, document = str(exc), b""
    conn.execute(delete(WeeklyReport).where(WeeklyReport.week_start_day == report.week_start_day))
    conn.execute(insert(WeeklyReport).values(
        week_start_day=report.week_start_day, created_ts_utc=report.created_ts, created_by=report.created_by,
        data_minute_utc=report.data_minute, findings_json=json.dumps(report.findings, ensure_ascii=False),
        figures_json=_figures_json(report), html=page, pdf=document))
    return page, document


def write_report(engine: Engine, week_start_day: int, settings: Settings, *, created_by: str,
                 lang: str | None = None) -> Report:
    """Build and store one week's report in `lang` (None: COCKPIT_LANG, settings.language)."""
    started = time.perf_counter()
    with engine.begin() as conn:
        report = build_report(conn, week_start_day, settings.tz, Targets.from_settings(settings), created_by=created_by,
                              lang=lang or settings.language)
        store_report(conn, report)
    log.info("weekly report %s written in %.1fs", report.label, time.perf_counter() - started)
    return report


def ensure_last_week_report(engine: Engine, settings: Settings) -> Report | None:
    """The scheduler's job: write last week's report unless it exists (a scheduler down on
    Monday morning writes it when it comes back). None when it existed or no week is complete."""
    with engine.connect() as conn:
        beat = last_heartbeat(conn)
        if beat is None or beat.data_minute_utc is None:
            return None
        weeks = buildable_weeks(conn, int(beat.data_minute_utc), settings.tz)
        if not weeks:
            return None  # the shop's data starts inside last week: nothing to report yet
        exists = conn.execute(select(func.count()).select_from(WeeklyReport)
                              .where(WeeklyReport.week_start_day == weeks[0])).scalar()
    if exists:
        return None
    return write_report(engine, weeks[0], settings, created_by="scheduler", lang=settings.language)


def first_data_minute(conn: Connection) -> int | None:
    """The first minute with sales aggregates: where the shop's data starts."""
    first = conn.execute(select(func.min(AggSalesMinute.minute_utc))).scalar()
    return None if first is None else int(first)


def buildable_weeks(conn: Connection, data_minute: int, tz: ZoneInfo, limit: int = 12) -> list[int]:
    """Mondays of the complete weeks the data covers from their first minute, newest first."""
    first = first_data_minute(conn)
    if first is None:
        return []
    newest = last_complete_week(data_minute, tz)
    weeks = []
    for week in range(newest, newest - DAYS * limit, -DAYS):
        if day_start_minute(week, tz) < int(first):
            break
        weeks.append(week)
    return weeks


def report_list(conn: Connection) -> pd.DataFrame:
    """Stored reports, newest week first: week_start_day, created_ts_utc, created_by, data_minute_utc, findings."""
    rows = conn.execute(select(WeeklyReport.week_start_day, WeeklyReport.created_ts_utc, WeeklyReport.created_by,
                               WeeklyReport.data_minute_utc, WeeklyReport.findings_json)
                        .order_by(WeeklyReport.week_start_day.desc())).all()
    frame = pd.DataFrame(rows, columns=["week_start_day", "created_ts_utc", "created_by", "data_minute_utc",
                                        "findings_json"])
    frame["findings"] = frame.pop("findings_json").map(json.loads)
    frame["label"] = frame["week_start_day"].map(week_label)
    return frame


def stored_report(conn: Connection, week_start_day: int) -> dict | None:
    """One stored report: week_start_day, label, created_ts_utc, created_by, data_minute_utc,
    findings (list), figures (dict), html (str), pdf (bytes, empty when it could not be made),
    language (the one it is written in; reports from before it was kept are English) and
    pdf_error (why there is no PDF, or None); None if not stored."""
    row = conn.execute(select(WeeklyReport.__table__).where(WeeklyReport.week_start_day == int(week_start_day))).first()
    if row is None:
        return None
    figures = json.loads(row.figures_json)
    return {"week_start_day": row.week_start_day, "label": week_label(row.week_start_day),
            "created_ts_utc": row.created_ts_utc, "created_by": row.created_by, "data_minute_utc": row.data_minute_utc,
            "findings": json.loads(row.findings_json), "figures": figures, "html": row.html, "pdf": bytes(row.pdf),
            "language": figures.get("language", "en"), "pdf_error": figures.get("pdf_error")}
