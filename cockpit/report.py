"""The weekly operations health report: built for a shop-local week (Monday to Sunday), with
the week before and the shop's targets beside every figure and plain-language findings on
top; kept in weekly_reports as it was written (figures, a self-contained HTML file with its
charts inlined, and a PDF).

The scheduler builds last week's report every Monday morning (and at start if it is missing:
`ensure_last_week_report`); `python -m cockpit report` and the Reports page build one on
demand. Charts are matplotlib PNGs, so the HTML needs no script and no network to be read,
and the PDF (fpdf2) holds the same pictures.
"""
from __future__ import annotations

import base64
import html
import io
import json
import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, insert, select

from cockpit import alerts, customers
from cockpit.actions import audit_log
from cockpit.config import Settings
from cockpit.db.schema import AggSalesMinute, CustomerScore, WeeklyReport
from cockpit.metrics import logistics as logistics_reads
from cockpit.metrics import weekly
from cockpit.metrics.ads import channel_performance
from cockpit.metrics.customers import paid_orders
from cockpit.metrics.read import ANOMALY_METRICS, kpis, last_heartbeat
from cockpit.timebuckets import EPOCH_DATE, day_start_minute, local_day_of
from models import report as model
from models import rfm

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


def week_label(week_start_day: int) -> str:
    first = day_date(week_start_day)
    return f"{first.isoformat()} to {(first + timedelta(days=DAYS - 1)).isoformat()}"


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
    anomalies = week_alerts[week_alerts["metric"].isin(ANOMALY_METRIC_NAMES)][
        ["opened_minute", "metric", "entity_id", "level", "message"]].reset_index(drop=True)
    log_rows = audit_log(conn, since_ts=start * 60, limit=10_000)
    actions = log_rows[(log_rows["ts_utc"] < end * 60) & log_rows["verb"].isin(SHOP_ACTIONS)
                       & (log_rows["result"] == "done")][["action_id", "ts_utc", "actor", "automatic", "verb",
                                                          "entity_id", "message"]].reset_index(drop=True)
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
    findings: list[str]
    effects: pd.DataFrame  # cockpit.action_effects rows of the week's actions
    timezone: str

    @property
    def label(self) -> str:
        return week_label(self.week_start_day)


def build_report(conn: Connection, week_start_day: int, tz: ZoneInfo, targets: Targets, *,
                 created_by: str, now_ts: float | None = None) -> Report:
    """The report of the week starting on Monday week_start_day; raises ReportError when the
    week is not over in the data or no data exists."""
    beat = last_heartbeat(conn)
    if beat is None or beat.data_minute_utc is None:
        raise ReportError("no data yet: seed the demo or import your shop's data first")
    data_minute = int(beat.data_minute_utc)
    if week_start_day != week_start_of(week_start_day):
        raise ReportError(f"{day_date(week_start_day)} is not a Monday")
    if day_start_minute(week_start_day + DAYS, tz) > data_minute + 1:
        raise ReportError(f"the week {week_label(week_start_day)} is not over yet: the data runs to "
                          f"{pd.Timestamp(data_minute * 60, unit='s', tz='UTC').tz_convert(tz):%Y-%m-%d %H:%M}")
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
                              segment_names=segment_name)
    if not previous_complete:
        if findings == [model.ALL_QUIET]:
            findings = ["Every figure with a target is on target."]
        since = pd.Timestamp(first_minute * 60, unit="s", tz="UTC").tz_convert(tz)
        findings.append(f"The week before is only partly in the data (it starts {since:%a %Y-%m-%d %H:%M}): "
                        "this report compares nothing with it.")
    return Report(week_start_day, data_minute, int(now_ts if now_ts is not None else time.time()), created_by,
                  this_week, previous_week, table, findings, effects, tz.key)


def _week_effects(conn: Connection, data_minute: int, tz: ZoneInfo, actions: pd.DataFrame) -> pd.DataFrame:
    from cockpit.action_effects import COLUMNS, action_effects  # the forecaster loads only where reports are built

    measured = actions[actions["verb"].isin(SHOP_ACTIONS)].head(MAX_EFFECTS)
    parts = [action_effects(conn, data_minute, tz, action_id=int(a)) for a in measured["action_id"]]
    parts = [part for part in parts if len(part)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def segment_name(key: str) -> str:
    return key if key == model.NEW_CUSTOMERS else rfm.segment_label(key)


# --- charts -----------------------------------------------------------------------------------

def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return buffer.getvalue()


def charts(report: Report) -> dict[str, bytes]:
    """The report's charts as PNG bytes, by name: daily GMV of both weeks, conversion by
    segment, channel ROI against floors, delivery time by region, turnover by category."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    this, before = report.this_week, report.previous_week
    out: dict[str, bytes] = {}
    figure, axis = plt.subplots(figsize=(7, 2.8))
    labels = [pd.Timestamp(d).strftime("%a") for d in this["daily"]["day"]]
    axis.plot(labels, before["daily"]["gmv"], marker="o", color="#9aa5b1", label="previous week")
    axis.plot(labels, this["daily"]["gmv"], marker="o", color="#1f77b4", label="this week")
    axis.set_title("GMV per day")
    axis.legend(frameon=False)
    axis.grid(axis="y", alpha=0.3)
    out["gmv_per_day"] = _png(figure)

    segments = this["segments"].merge(before["segments"][["segment", "conversion"]], on="segment", how="left",
                                      suffixes=("", "_before"))
    segments = segments[segments["segment"] != model.NEW_CUSTOMERS].sort_values("conversion", na_position="first")
    figure, axis = plt.subplots(figsize=(7, 0.35 * max(len(segments), 3) + 0.8))
    y = range(len(segments))
    axis.barh([i + 0.2 for i in y], segments["conversion_before"].fillna(0) * 100, height=0.4, color="#9aa5b1",
              label="previous week")
    axis.barh([i - 0.2 for i in y], segments["conversion"].fillna(0) * 100, height=0.4, color="#1f77b4",
              label="this week")
    axis.set_yticks(list(y), [segment_name(s) for s in segments["segment"]])
    axis.set_xlabel("% of visiting customers who ordered")
    axis.set_title("Conversion by customer segment")
    axis.legend(frameon=False, loc="lower right")
    out["segment_conversion"] = _png(figure)

    channels = this["channels"][this["channels"]["spend"] > 0].sort_values("roi")
    figure, axis = plt.subplots(figsize=(7, 0.4 * max(len(channels), 3) + 0.8))
    colors = ["#d62728" if r < f else "#2ca02c" for r, f in zip(channels["roi"], channels["roi_floor"].fillna(-1e9))]
    axis.barh(channels["name"], channels["roi"], color=colors)
    axis.scatter(channels["roi_floor"], channels["name"], marker="|", s=300, color="black", label="ROI floor")
    axis.set_title("Ad ROI by channel (red: under its floor)")
    axis.legend(frameon=False, loc="lower right")
    out["channel_roi"] = _png(figure)

    regions = this["deliveries_by_region"].groupby("region").apply(
        lambda g: pd.Series({"median_days": (g["median_days"] * g["parcels"]).sum() / max(g["parcels"].sum(), 1),
                             "p90_days": g["p90_days"].max()}), include_groups=False).reset_index()
    figure, axis = plt.subplots(figsize=(7, 2.8))
    axis.bar(regions["region"], regions["median_days"], color="#1f77b4", label="median")
    axis.scatter(regions["region"], regions["p90_days"], marker="_", s=400, color="#d62728", label="90th percentile")
    axis.set_ylabel("days, payment to door")
    axis.set_title("Delivery time by destination region")
    axis.legend(frameon=False)
    axis.tick_params(axis="x", labelrotation=30)
    out["delivery_by_region"] = _png(figure)

    categories = this["stock_by_category"].replace([float("inf")], float("nan"))
    figure, axis = plt.subplots(figsize=(7, 2.8))
    axis.bar(categories["category"], categories["turnover_days"].fillna(0), color="#1f77b4")
    target = report.table.set_index("key").loc["turnover_days", "target"]
    if target:
        limit = float(target.split()[1].replace(",", ""))
        axis.axhline(limit, color="#d62728", linestyle="--", label=f"target {target}")
        axis.legend(frameon=False)
    axis.set_ylabel("days of stock")
    axis.set_title("Stock turnover by category")
    axis.tick_params(axis="x", labelrotation=30)
    out["turnover_by_category"] = _png(figure)
    return out


CHART_TITLES = {
    "gmv_per_day": "Sales", "segment_conversion": "Customers", "channel_roi": "Marketing",
    "delivery_by_region": "Logistics", "turnover_by_category": "Stock",
}


# --- rendering --------------------------------------------------------------------------------

def _cell(value, unit: str = "") -> str:
    if isinstance(value, float) and unit:
        return model.format_value(value, unit)
    if isinstance(value, float):
        return model.format_value(value, "count" if abs(value) >= 100 else "ratio")
    return str(value)


def detail_tables(report: Report) -> list[tuple[str, pd.DataFrame]]:
    """The report's detail tables, formatted for reading (strings), with their titles."""
    this = report.this_week
    tz = ZoneInfo(report.timezone)
    segments = this["segments"].assign(conversion=this["segments"]["conversion"].map(lambda v: model.format_value(v, "share")),
                                       revenue=this["segments"]["revenue"].map(lambda v: model.format_value(v, "money")))
    segments["segment"] = segments["segment"].map(segment_name)
    stock = this["stock_by_category"].copy()
    for name in ("sell_through", "stockout_rate"):
        stock[name] = stock[name].map(lambda v: model.format_value(v, "share"))
    stock["turnover_days"] = stock["turnover_days"].map(lambda v: model.format_value(v, "days"))
    stock["avg_on_hand"] = stock["avg_on_hand"].map(lambda v: f"{v:,.0f}")
    stock["revenue"] = stock["revenue"].map(lambda v: model.format_value(v, "money"))
    regions = this["deliveries_by_region"].copy()
    for name in ("median_days", "p90_days", "spread_days"):
        regions[name] = regions[name].map(lambda v: model.format_value(v, "days"))
    regions["on_time_rate"] = regions["on_time_rate"].map(lambda v: model.format_value(v, "share"))
    channels = this["channels"].copy()
    for name in ("spend", "revenue"):
        channels[name] = channels[name].map(lambda v: model.format_value(v, "money"))
    for name in ("roi", "roi_floor"):
        channels[name] = channels[name].map(lambda v: model.format_value(v, "ratio"))

    def local(minutes: pd.Series) -> pd.Series:
        return pd.to_datetime(minutes * 60, unit="s", utc=True).dt.tz_convert(tz).dt.strftime("%a %H:%M")

    anomalies = this["anomalies"].assign(opened=lambda f: local(f["opened_minute"]))[
        ["opened", "metric", "entity_id", "level", "message"]]
    actions = this["actions"].assign(time=lambda f: local(f["ts_utc"] // 60),
                                     by=lambda f: f["actor"].where(~f["automatic"], "automatic rule"))[
        ["time", "verb", "entity_id", "by", "message"]]
    effects = report.effects
    if len(effects):
        effects = effects[["verb", "entity", "metric", "post_hours", "actual", "counterfactual", "effect", "verdict"]].copy()
        for name in ("actual", "counterfactual", "effect"):
            effects[name] = effects[name].map(lambda v: f"{v:,.0f}" if v == v else "–")
    tables = [
        ("Customer segments (at the week's start) and their conversion", segments),
        ("Stock by category: sell-through, turnover, stock-outs", stock),
        ("Delivery by destination region and warehouse tier", regions),
        ("Channels: spend and return", channels),
        ("Anomaly alerts", anomalies),
        ("Actions taken", actions),
        ("What the actions did (against a forecast without them)", effects),
    ]
    return [(title, frame.rename(columns=_heading)) for title, frame in tables]


_HEADINGS = {"roi": "ROI", "roi_floor": "ROI floor", "median_days": "median", "p90_days": "P90",
             "spread_days": "spread (P90 - P10)", "on_time_rate": "on time", "avg_on_hand": "average on hand",
             "on_hand_end": "on hand at the end", "entity_id": "entity", "post_hours": "hours measured",
             "stockout_rate": "stock-out rate", "sell_through": "sell-through", "turnover_days": "turnover"}


def _heading(name: str) -> str:
    return _HEADINGS.get(name, name.replace("_", " "))


def scorecard(report: Report) -> pd.DataFrame:
    """The comparison table as text: section, figure, this week, previous week, change, target, status."""
    table = report.table
    return pd.DataFrame({
        "section": table["section"], "figure": table["label"],
        "this week": [model.format_value(v, u) for v, u in zip(table["this_week"], table["unit"])],
        "previous week": [model.format_value(v, u) for v, u in zip(table["previous_week"], table["unit"])],
        "change": table["change"].map(model.format_change),
        "target": table["target"],
        "status": table["met"].map(lambda m: "met" if m is True else "missed" if m is False else ""),
    })


_CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;max-width:980px;margin:24px auto;
padding:0 16px;color:#1f2933}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #d9e2ec}
.meta{color:#52606d;margin-top:4px}ul.findings li{margin:4px 0}
table{border-collapse:collapse;width:100%;font-size:.85em;margin:8px 0}
th,td{border-bottom:1px solid #e4e7eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f5f7fa}.missed{color:#c81e1e;font-weight:600}.met{color:#18794e}
img{max-width:100%}
"""


def _html_table(frame: pd.DataFrame, status_column: str | None = None) -> str:
    if frame.empty:
        return "<p>None this week.</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row):
            css = f' class="{value}"' if column == status_column and value else ""
            cells.append(f"<td{css}>{html.escape(_cell(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(report: Report, pictures: dict[str, bytes]) -> str:
    """The report as one self-contained HTML file (styles and charts inlined)."""
    tz = ZoneInfo(report.timezone)
    made = pd.Timestamp(report.created_ts, unit="s", tz="UTC").tz_convert(tz)
    data = pd.Timestamp(report.data_minute * 60, unit="s", tz="UTC").tz_convert(tz)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Operations health report, week {html.escape(report.label)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Operations health report</h1><p class='meta'>Week {html.escape(report.label)} ({html.escape(report.timezone)}), "
        f"against the week before. Built {made:%Y-%m-%d %H:%M} by {html.escape(report.created_by)}; data through "
        f"{data:%Y-%m-%d %H:%M}.</p>",
        "<h2>Findings</h2><ul class='findings'>",
        *(f"<li>{html.escape(text)}</li>" for text in report.findings),
        "</ul><h2>Scorecard</h2>", _html_table(scorecard(report), status_column="status"),
    ]
    for name, title in CHART_TITLES.items():
        encoded = base64.b64encode(pictures[name]).decode("ascii")
        parts.append(f"<h2>{title}</h2><img alt='{html.escape(name)}' src='data:image/png;base64,{encoded}'>")
    for title, frame in detail_tables(report):
        parts.append(f"<h2>{html.escape(title)}</h2>{_html_table(frame)}")
    if report.this_week["segment_source"] == "computed":
        parts.append("<p class='meta'>Segments were computed from the orders before the week (RFM), as no stored "
                     "scores exist for that day.</p>")
    parts.append("</body></html>")
    return "".join(parts)


_FONT = Path(__import__("matplotlib").get_data_path()) / "fonts" / "ttf"


def render_pdf(report: Report, pictures: dict[str, bytes]) -> bytes:
    """The report as a PDF (A4): findings, scorecard, charts, then the detail tables."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=12)
    # A Unicode font (DejaVu ships with matplotlib): ≤, ≥ and dashes are not in the core fonts.
    pdf.add_font("DejaVu", "", str(_FONT / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_FONT / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 9, "Operations health report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 5, f"Week {report.label} ({report.timezone}), against the week before.", new_x="LMARGIN", new_y="NEXT")

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 12)
        pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 8)

    def table(frame: pd.DataFrame) -> None:
        if frame.empty:
            pdf.cell(0, 5, "None this week.", new_x="LMARGIN", new_y="NEXT")
            return
        with pdf.table(headings_style=FontFace(emphasis="BOLD", fill_color=(245, 247, 250)), line_height=4.2,
                       text_align="LEFT") as grid:
            grid.row([str(c) for c in frame.columns])
            for row in frame.itertuples(index=False):
                grid.row([_cell(v)[:160] for v in row])

    heading("Findings")
    pdf.set_font("DejaVu", "", 9)
    for text in report.findings:
        pdf.multi_cell(0, 5, f"• {text}", new_x="LMARGIN", new_y="NEXT")
    heading("Scorecard")
    table(scorecard(report))
    for name, title in CHART_TITLES.items():
        heading(title)
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

    return json.dumps({"this_week": plain(report.this_week), "previous_week": plain(report.previous_week),
                       "comparison": report.table.to_dict(orient="records"),
                       "effects": report.effects.to_dict(orient="records")}, default=str, allow_nan=True)


def store_report(conn: Connection, report: Report) -> tuple[str, bytes]:
    """Render the report (HTML and PDF) and keep it, replacing an earlier one of the same week."""
    pictures = charts(report)
    page, document = render_html(report, pictures), render_pdf(report, pictures)
    conn.execute(delete(WeeklyReport).where(WeeklyReport.week_start_day == report.week_start_day))
    conn.execute(insert(WeeklyReport).values(
        week_start_day=report.week_start_day, created_ts_utc=report.created_ts, created_by=report.created_by,
        data_minute_utc=report.data_minute, findings_json=json.dumps(report.findings, ensure_ascii=False),
        figures_json=_figures_json(report), html=page, pdf=document))
    return page, document


def write_report(engine: Engine, week_start_day: int, settings: Settings, *, created_by: str) -> Report:
    """Build and store one week's report."""
    started = time.perf_counter()
    with engine.begin() as conn:
        report = build_report(conn, week_start_day, settings.tz, Targets.from_settings(settings), created_by=created_by)
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
    return write_report(engine, weeks[0], settings, created_by="scheduler")


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
    findings (list), figures (dict), html (str), pdf (bytes); None if not stored."""
    row = conn.execute(select(WeeklyReport.__table__).where(WeeklyReport.week_start_day == int(week_start_day))).first()
    if row is None:
        return None
    return {"week_start_day": row.week_start_day, "label": week_label(row.week_start_day),
            "created_ts_utc": row.created_ts_utc, "created_by": row.created_by, "data_minute_utc": row.data_minute_utc,
            "findings": json.loads(row.findings_json), "figures": json.loads(row.figures_json), "html": row.html,
            "pdf": bytes(row.pdf)}
