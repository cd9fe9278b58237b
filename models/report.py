"""The weekly operations health report's arithmetic and its plain-language findings.

Pure functions on DataFrames (no database, no Streamlit): cockpit.report reads one week's rows
(cockpit.metrics.weekly), and these turn them into figures, compare them with the week before
and with the shop's targets, and write the findings a manager reads first. Findings are
models.phrases.Phrase sentences (str() gives the English) whose figures are Figure values, so
the report shows them in either language with the locale's numbers and currency.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.phrases import Phrase, phrase

DAY_S = 86_400
NEW_CUSTOMERS = "new this week"  # segment row of first-time buyers (no segment at the week's start)
ALL_QUIET = phrase("Every figure is on target and within 10% of the week before.")


@dataclass(frozen=True)
class Target:
    """A figure's target: `limit` is a ceiling (kind "max") or a floor (kind "min")."""

    limit: float
    kind: str  # max | min

    def met(self, value: float | None) -> bool | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return value <= self.limit if self.kind == "max" else value >= self.limit


@dataclass(frozen=True)
class Figure:
    """A figure inside a finding: `value` in `unit` (money | count | share | days | ratio, as
    format_value), optionally a target's bound ("max": ≤, "min": ≥) and fixed decimals for money.
    str() and format() give the English text; the report formats it in the reader's locale."""

    value: float
    unit: str
    bound: str = ""
    digits: int | None = None

    def __str__(self) -> str:
        sign = {"max": "≤ ", "min": "≥ "}.get(self.bound, "")
        if self.digits is not None and not _missing(self.value):
            return f"{sign}{self.value:,.{self.digits}f}"
        return sign + format_value(self.value, self.unit)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


# --- figures ----------------------------------------------------------------------------------

def segment_conversion(segments: pd.DataFrame, activity: pd.DataFrame) -> pd.DataFrame:
    """Per RFM segment at the week's start (segments: customer_id, segment), the week's
    activity (cockpit.metrics.weekly.customer_activity): customers, visited (customers with a
    signed-in session), ordered (customers with a paid order), conversion = the visitors who
    ordered / visited, orders and revenue. Buyers without a segment (first purchase this week)
    form the row NEW_CUSTOMERS, without a conversion. Sorted by revenue, largest first."""
    merged = segments[["customer_id", "segment"]].merge(activity, on="customer_id", how="outer")
    merged["segment"] = merged["segment"].fillna(NEW_CUSTOMERS)
    merged = merged[(merged["segment"] != NEW_CUSTOMERS) | (merged["orders"].fillna(0) > 0)]
    merged["visited"] = merged["visited"].astype("boolean").fillna(False).astype(bool)
    merged[["orders", "revenue"]] = merged[["orders", "revenue"]].fillna(0)
    merged["ordered"] = merged["orders"] > 0
    merged["visited_and_ordered"] = merged["visited"] & merged["ordered"]
    grouped = merged.groupby("segment", sort=True).agg(
        customers=("customer_id", "size"), visited=("visited", "sum"), ordered=("ordered", "sum"),
        visited_and_ordered=("visited_and_ordered", "sum"), orders=("orders", "sum"), revenue=("revenue", "sum"))
    grouped["conversion"] = grouped.pop("visited_and_ordered") / grouped["visited"].where(grouped["visited"] > 0)
    # First-time buyers mostly bought before they signed in: their visits are anonymous.
    grouped.loc[grouped.index == NEW_CUSTOMERS, "conversion"] = float("nan")
    frame = grouped.reset_index().sort_values(["revenue", "segment"], ascending=[False, True], kind="stable")
    return frame.astype({"customers": "int64", "visited": "int64", "ordered": "int64", "orders": "int64",
                         "revenue": "float64", "conversion": "float64"}).reset_index(drop=True)


def stock_figures(stock_days: pd.DataFrame, sales: pd.DataFrame, days: int) -> tuple[dict, pd.DataFrame]:
    """Stock health over a week of `days` days.

    stock_days: on-hand per SKU, warehouse and day end (weekly.stock_by_day); sales: units sold
    per SKU and warehouse over the week (weekly.sku_sales). Returns the shop's figures:
    stockout_rate (share of SKU-warehouse-days ending with nothing on hand), pairs_stocked_out
    (pairs out at one day end or more), pairs, sell_through = sold / (sold + on hand at the
    end), turnover_days = average on-hand / units sold per day (inf when nothing sold); and the
    same per category (columns category, units_sold, revenue, on_hand_end, avg_on_hand,
    sell_through, turnover_days, stockout_rate)."""
    levels = stock_days.copy()
    levels["on_hand"] = levels["on_hand_end_of_day"].clip(lower=0)
    levels["out"] = levels["on_hand_end_of_day"] <= 0
    last = levels[levels["day_index"] == levels["day_index"].max()]
    per_pair = levels.groupby(["sku", "warehouse_id"]).agg(out_days=("out", "sum"))
    by_category = levels.groupby("category").agg(avg_on_hand=("on_hand", "mean"), stockout_rate=("out", "mean"))
    # The average is over SKU-warehouse-days: times the pairs per category it is the category's stock.
    pairs = levels.groupby("category")[["sku", "warehouse_id"]].apply(lambda g: len(g.drop_duplicates()))
    by_category["avg_on_hand"] = by_category["avg_on_hand"] * pairs
    by_category["on_hand_end"] = last.groupby("category")["on_hand"].sum()
    sold = sales.groupby("category")[["units_sold", "revenue"]].sum()
    by_category = by_category.join(sold, how="outer").fillna({"units_sold": 0, "revenue": 0.0, "avg_on_hand": 0.0,
                                                              "on_hand_end": 0, "stockout_rate": 0.0})
    by_category["sell_through"] = _share(by_category["units_sold"], by_category["units_sold"] + by_category["on_hand_end"])
    by_category["turnover_days"] = _turnover(by_category["avg_on_hand"], by_category["units_sold"], days)
    total_sold = float(sales["units_sold"].sum())
    end_stock = float(last["on_hand"].sum())
    avg_stock = float(levels.groupby("day_index")["on_hand"].sum().mean()) if len(levels) else 0.0
    figures = {
        "stockout_rate": float(levels["out"].mean()) if len(levels) else float("nan"),
        "pairs_stocked_out": int((per_pair["out_days"] > 0).sum()),
        "pairs": int(len(per_pair)),
        "units_sold": int(total_sold),
        "on_hand_end": int(end_stock),
        "sell_through": total_sold / (total_sold + end_stock) if total_sold + end_stock > 0 else float("nan"),
        "turnover_days": float(_turnover(pd.Series([avg_stock]), pd.Series([total_sold]), days).iloc[0]),
    }
    frame = by_category.reset_index().rename(columns={"index": "category"})
    columns = ["category", "units_sold", "revenue", "on_hand_end", "avg_on_hand", "sell_through", "turnover_days",
               "stockout_rate"]
    frame = frame[columns].astype({"units_sold": "int64", "on_hand_end": "int64"})
    return figures, frame.sort_values("category", kind="stable").reset_index(drop=True)


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    whole = whole.astype("float64")
    return part.astype("float64") / whole.where(whole > 0)


def _turnover(avg_on_hand: pd.Series, units_sold: pd.Series, days: int) -> pd.Series:
    per_day = units_sold.astype("float64") / days
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.where(per_day > 0, avg_on_hand.astype("float64") / per_day, np.inf), index=avg_on_hand.index)


def delivery_figures(deliveries: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Delivery times of the parcels delivered in the week (weekly.deliveries): from payment to
    delivery, in days. Returns the shop's figures (parcels, median_days, p90_days, spread_days
    = P90 - P10, on_time_rate = delivered by the promised time, late) and a frame per
    destination region and warehouse tier with the same columns."""
    frame = deliveries.copy()
    frame["days"] = (frame["delivered_ts_utc"] - frame["paid_ts_utc"]) / DAY_S
    frame["on_time"] = frame["delivered_ts_utc"] <= frame["promised_ts_utc"]

    def summary(group: pd.DataFrame) -> dict:
        days = group["days"]
        if days.empty:
            return {"parcels": 0, "median_days": float("nan"), "p90_days": float("nan"), "spread_days": float("nan"),
                    "on_time_rate": float("nan"), "late": 0}
        p10, p50, p90 = np.quantile(days.to_numpy(), [0.1, 0.5, 0.9])
        return {"parcels": int(len(group)), "median_days": float(p50), "p90_days": float(p90),
                "spread_days": float(p90 - p10), "on_time_rate": float(group["on_time"].mean()),
                "late": int((~group["on_time"]).sum())}

    rows = [{"region": region, "tier": tier, **summary(group)}
            for (region, tier), group in frame.groupby(["region", "tier"], sort=True)]
    by_region = pd.DataFrame(rows, columns=["region", "tier", "parcels", "median_days", "p90_days", "spread_days",
                                            "on_time_rate", "late"])
    return summary(frame), by_region


def roi(revenue: float, spend: float) -> float:
    """(revenue - spend) / spend; NaN without spend."""
    return (revenue - spend) / spend if spend > 0 else float("nan")


# --- comparison and findings ---------------------------------------------------------------

# Each compared figure: key, section, label (phrases: the report translates them), unit (money |
# count | share | days | ratio), and whether up is good (None: neither).
SALES, STOCK, LOGISTICS = phrase("Sales"), phrase("Stock"), phrase("Logistics")
MARKETING, ALERTS = phrase("Marketing"), phrase("Alerts")
FIGURES = [
    ("gmv", SALES, phrase("GMV"), "money", True),
    ("paid_orders", SALES, phrase("Paid orders"), "count", True),
    ("uv", SALES, phrase("Unique visitors"), "count", True),
    ("conversion_rate", SALES, phrase("Conversion (orders / visitors)"), "share", True),
    ("aov", SALES, phrase("Average order value"), "money", True),
    ("stockout_rate", STOCK, phrase("Stock-out rate (SKU-days out)"), "share", False),
    ("sell_through", STOCK, phrase("Sell-through"), "share", True),
    ("turnover_days", STOCK, phrase("Stock turnover"), "days", False),
    ("median_delivery_days", LOGISTICS, phrase("Delivery time, median (payment to door)"), "days", False),
    ("delivery_spread_days", LOGISTICS, phrase("Delivery time spread (P90 - P10)"), "days", False),
    ("on_time_rate", LOGISTICS, phrase("On-time delivery"), "share", True),
    ("logistics_cost_share", LOGISTICS, phrase("Logistics cost / GMV"), "share", False),
    ("ad_spend", MARKETING, phrase("Ad spend"), "money", None),
    ("ad_roi", MARKETING, phrase("Ad ROI"), "ratio", True),
    ("anomalies", ALERTS, phrase("Anomaly alerts"), "count", False),
    ("actions", ALERTS, phrase("Actions taken"), "count", None),
]


def comparison(this_week: dict, previous_week: dict, targets: dict[str, Target], *,
               previous_complete: bool = True) -> pd.DataFrame:
    """One row per FIGURES entry: section and label (Phrase), key, unit, this_week,
    previous_week, change (relative, NaN when the previous value is 0 or missing, or the previous
    week is not complete in the data), target (English text, "" without one), target_limit and
    target_kind (NaN and "" without one), met (True, False or None without target), better (True
    when it moved the good way, False the bad way, None when unchanged or neutral)."""
    rows = []
    for key, section, label, unit, up_is_good in FIGURES:
        now, before = _number(this_week.get(key)), _number(previous_week.get(key))
        comparable = previous_complete and before != 0.0 and not _missing(before) and not _missing(now)
        change = (now - before) / abs(before) if comparable else float("nan")
        target = targets.get(key)
        better = None
        if up_is_good is not None and not _missing(change) and change != 0:
            better = (change > 0) == up_is_good
        rows.append({"section": section, "key": key, "label": label, "unit": unit, "this_week": now,
                     "previous_week": before, "change": change,
                     "target": "" if target is None else str(Figure(target.limit, unit, target.kind)),
                     "target_limit": float("nan") if target is None else float(target.limit),
                     "target_kind": "" if target is None else target.kind,
                     "met": None if target is None else target.met(now), "better": better})
    return pd.DataFrame(rows)


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def _missing(value: float) -> bool:
    return value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))


def format_value(value: float, unit: str) -> str:
    """A figure as a manager reads it: 12.3%, 1,234, 2.4 days, 1.85x (ROI as a multiple)."""
    if _missing(value):
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "days":
        return f"{value:,.1f} days"
    if unit == "ratio":
        return f"{value:,.2f}"
    if unit == "money":
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{value:,.0f}"


def format_change(change: float) -> str:
    return "–" if _missing(change) else f"{change:+.0%}" if abs(change) >= 0.1 else f"{change:+.1%}"


def findings(table: pd.DataFrame, segments: pd.DataFrame, previous_segments: pd.DataFrame, channels: pd.DataFrame,
             anomalies: pd.DataFrame, effect_sentences: list[Phrase | str], *, big_change: float = 0.10,
             segment_names=lambda key: key.replace("_", " "),
             metric_names=lambda metric: metric.replace("_", " ")) -> list[Phrase | str]:
    """Plain-language findings, most pressing first: missed targets, large moves against the
    week before, the segment whose conversion fell most, channels under their ROI floor, the
    week's anomalies and what the actions achieved.

    table: comparison(); segments / previous_segments: segment_conversion() of both weeks;
    channels: channel ROI (channel, name, spend, revenue, roi, roi_floor); anomalies: the
    week's anomaly alerts (metric, entity_id, level); segment_names, metric_names: the label of a
    segment key and of an anomaly metric, in the reader's language."""
    out: list[Phrase | str] = []
    missed = table[table["met"].eq(False)]
    for row in missed.itertuples():
        out.append(phrase("{label} missed its target: {value} against {target} (previous week {previous}).",
                          label=row.label, value=Figure(row.this_week, row.unit),
                          target=Figure(row.target_limit, row.unit, row.target_kind),
                          previous=Figure(row.previous_week, row.unit)))
    moved = table[table["better"].notna() & (table["change"].abs() >= big_change) & ~table["met"].eq(False)]
    for row in moved.reindex(moved["change"].abs().sort_values(ascending=False).index).itertuples():
        values = {"label": row.label, "direction": phrase("rose") if row.change > 0 else phrase("fell"),
                  "change": format_change(abs(row.change)).lstrip("+"), "value": Figure(row.this_week, row.unit)}
        out.append(phrase("{label} {direction} {change} to {value}.", **values) if row.better
                   else phrase("{label} {direction} {change} to {value} (a move the wrong way).", **values))
    out.extend(_segment_findings(segments, previous_segments, segment_names))
    for row in channels.itertuples():
        if not _missing(row.roi) and not _missing(row.roi_floor) and row.spend > 0 and row.roi < row.roi_floor:
            out.append(phrase("Channel {name} returned an ROI of {roi:.2f} on {spend} of spend, under its campaigns' "
                              "floor of {floor:.2f}.", name=row.name, roi=row.roi,
                              spend=Figure(row.spend, "money", digits=0), floor=row.roi_floor))
    if len(anomalies):
        counts = anomalies.groupby("metric").size().sort_values(ascending=False)
        top = ", ".join(f"{count} {metric_names(metric)}" for metric, count in counts.head(3).items())
        values = {"count": len(anomalies), "critical": int((anomalies["level"] == "critical").sum()), "top": top}
        out.append(phrase("{count} anomaly alerts this week ({critical} critical): {top}.", **values)
                   if len(anomalies) != 1 else phrase("{count} anomaly alert this week ({critical} critical): {top}.",
                                                      **values))
    out.extend(effect_sentences)
    if not out:
        out.append(ALL_QUIET)
    return out


def _segment_findings(segments: pd.DataFrame, previous: pd.DataFrame, names) -> list[Phrase]:
    both = segments.merge(previous, on="segment", suffixes=("", "_before"))
    both = both[(both["visited"] >= 30) & (both["visited_before"] >= 30) & (both["segment"] != NEW_CUSTOMERS)]
    if both.empty:
        return []
    both = both.assign(drop=both["conversion_before"] - both["conversion"])
    worst = both.sort_values("drop", ascending=False, kind="stable").iloc[0]
    if worst["drop"] < 0.01:  # under one point: noise at these sizes
        return []
    return [phrase("Conversion of the {segment} segment fell from {before:.1%} to {now:.1%} ({visited} customers "
                   "visited).", segment=names(worst["segment"]), before=float(worst["conversion_before"]),
                   now=float(worst["conversion"]), visited=int(worst["visited"]))]


def effect_sentences(effects: pd.DataFrame) -> list[Phrase]:
    """One sentence per measured action (cockpit.action_effects rows): a pause's spend saved
    against orders lost, a resume's spend against orders won, a replenishment's or a
    clearance's extra units."""
    out: list[Phrase] = []
    measured = effects[effects["effect"].notna()] if len(effects) else effects
    for (action_id, verb, entity), group in measured.groupby(["action_id", "verb", "entity"], sort=False):
        by_metric = group.set_index("metric")
        if verb in ("pause_campaign", "resume_campaign") and {"spend", "orders"} <= set(by_metric.index):
            spend, orders = by_metric.loc["spend", "effect"], by_metric.loc["orders", "effect"]
            hours = int(by_metric.loc["spend", "post_hours"])
            if verb == "pause_campaign":
                out.append(phrase("Pausing campaign {campaign} saved about {spend} in spend for about {orders:,.0f} "
                                  "lost orders over {hours} hours.", campaign=entity,
                                  spend=Figure(float(-spend), "money", digits=0), orders=float(-orders), hours=hours))
            else:
                out.append(phrase("Resuming campaign {campaign} cost about {spend} in spend for about {orders:,.0f} "
                                  "more orders over {hours} hours.", campaign=entity,
                                  spend=Figure(float(spend), "money", digits=0), orders=float(orders), hours=hours))
        elif verb in ("start_clearance", "replenish_sku") and len(group):
            row = group.iloc[0]
            values = {"entity": entity, "units": float(row["effect"]), "hours": int(row["post_hours"]),
                      "lower": float(row["lower"]), "upper": float(row["upper"])}
            out.append(phrase("The clearance of {entity} sold about {units:,.0f} more units over {hours} hours than "
                              "it would have without it (95% interval {lower:,.0f} to {upper:,.0f}).", **values)
                       if verb == "start_clearance" else
                       phrase("Replenishing {entity} added about {units:,.0f} units sold over {hours} hours against "
                              "no replenishment (95% interval {lower:,.0f} to {upper:,.0f}).", **values))
    return out
