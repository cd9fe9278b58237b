"""Supply chain and logistics figures from rows: late parcels in flight, the cost of shipping
against revenue and where it goes, returns by sales channel, and supplier lead times and fill
rates. Pure functions on DataFrames (cockpit.metrics.logistics reads the rows)."""
from __future__ import annotations

import numpy as np
import pandas as pd

DAY_S = 86_400
SPREAD_PROBLEM_DAYS = 2.0  # a region whose deliveries vary by more than two days (P90 - P10)
COST_SHARE_PROBLEM = 0.15  # logistics cost over 15% of revenue is a problem (12% the usual aim)


def late_parcels(in_flight: pd.DataFrame, now_ts: int) -> pd.DataFrame:
    """Parcels in flight past their promised time, the most overdue first, with hours_late."""
    late = in_flight[in_flight["promised_ts_utc"] < now_ts]
    late = late.assign(hours_late=(now_ts - late["promised_ts_utc"]) / 3600)
    return late.sort_values("hours_late", ascending=False, kind="stable").reset_index(drop=True)


def in_flight_summary(in_flight: pd.DataFrame, now_ts: int) -> pd.DataFrame:
    """Per destination region: parcels in flight, late (past their promise) and due within a
    day (at risk), most late first."""
    frame = in_flight.assign(late=in_flight["promised_ts_utc"] < now_ts,
                             due_soon=(in_flight["promised_ts_utc"] >= now_ts)
                             & (in_flight["promised_ts_utc"] < now_ts + DAY_S))
    summary = frame.groupby("region").agg(in_flight=("shipment_id", "size"), late=("late", "sum"),
                                          due_within_a_day=("due_soon", "sum")).reset_index()
    summary = summary.astype({"in_flight": "int64", "late": "int64", "due_within_a_day": "int64"})
    return summary.sort_values(["late", "in_flight"], ascending=False, kind="stable").reset_index(drop=True)


def cost_split(costs: pd.DataFrame, revenue: float, by: str) -> pd.DataFrame:
    """Shipping cost per `by` (tier, region or carrier): parcels, cost, cost_per_parcel,
    share_of_cost and share_of_revenue (cost over the window's revenue), largest cost first."""
    frame = costs.groupby(by, as_index=False)[["parcels", "cost"]].sum()
    total = frame["cost"].sum()
    frame["cost_per_parcel"] = frame["cost"] / frame["parcels"].where(frame["parcels"] > 0)
    frame["share_of_cost"] = frame["cost"] / total if total else np.nan
    frame["share_of_revenue"] = frame["cost"] / revenue if revenue else np.nan
    return frame.sort_values("cost", ascending=False, kind="stable").reset_index(drop=True)


def cost_share(costs: pd.DataFrame, revenue: float) -> float:
    """All shipping cost over revenue (NaN without revenue)."""
    return float(costs["cost"].sum()) / revenue if revenue else float("nan")


def channel_returns(frame: pd.DataFrame) -> pd.DataFrame:
    """Returns per sales channel (metrics.logistics.returns_by_channel) with return_rate =
    units returned / units sold and resold_share = units fit to sell again / units returned,
    the highest return rate first."""
    out = frame.copy()
    sold, returned = out["units_sold"].astype("float64"), out["units_returned"].astype("float64")
    out["return_rate"] = returned / sold.where(sold > 0)
    out["resold_share"] = out["resellable_units"] / returned.where(returned > 0)
    return out.sort_values("return_rate", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def returns_flow(returns: pd.DataFrame) -> dict:
    """Where returned goods go, from metrics.logistics.returns_flow rows: units returned, back
    on sale, awaiting inspection (resellable, not back yet) and scrapped; back_on_sale_share
    and scrapped_share of the units whose fate is known; and the hours from return received
    to back on sale (median, 90th percentile; NaN when none is back yet)."""
    qty = returns["qty"].astype("int64")
    resellable = returns["resellable"].astype(bool)
    back = returns["back_on_sale_ts_utc"].notna()
    back_units, scrapped = int(qty[back].sum()), int(qty[~resellable].sum())
    awaiting = int(qty[resellable & ~back].sum())
    known = back_units + scrapped
    hours = (returns.loc[back, "back_on_sale_ts_utc"].astype("int64") - returns.loc[back, "ts_utc"]) / 3600
    return {
        "units_returned": int(qty.sum()), "back_on_sale_units": back_units, "awaiting_units": awaiting,
        "scrapped_units": scrapped,
        "back_on_sale_share": back_units / known if known else float("nan"),
        "scrapped_share": scrapped / known if known else float("nan"),
        "hours_to_back_median": float(hours.median()) if len(hours) else float("nan"),
        "hours_to_back_p90": float(hours.quantile(0.9)) if len(hours) else float("nan"),
    }


def supplier_performance(orders: pd.DataFrame, now_ts: int) -> pd.DataFrame:
    """Per supplier, from its replenishment orders (metrics.logistics.supplier_orders): orders,
    received, open, overdue (open past the expected time), lead_time_days (median, order to
    receipt), on_time_rate (received by the expected time), fill_rate (units received / units
    ordered, over received orders). The lowest fill rate first."""
    frame = orders.copy()
    frame["lead_days"] = (frame["received_ts_utc"].astype("float64") - frame["created_ts_utc"]) / DAY_S
    frame["on_time"] = frame["received_ts_utc"].astype("float64") <= frame["expected_ts_utc"]
    frame["overdue"] = (frame["status"] == "open") & (frame["expected_ts_utc"] < now_ts)
    rows = []
    for (supplier_id, supplier), group in frame.groupby(["supplier_id", "supplier"], sort=True):
        got = group[group["status"] == "received"]
        ordered = float(got["qty"].sum())
        rows.append({
            "supplier_id": supplier_id, "supplier": supplier, "orders": len(group), "received": len(got),
            "open": int((group["status"] == "open").sum()), "overdue": int(group["overdue"].sum()),
            "lead_time_days": float(got["lead_days"].median()) if len(got) else np.nan,
            "on_time_rate": float(got["on_time"].mean()) if len(got) else np.nan,
            "fill_rate": float(got["qty_received"].astype("float64").sum()) / ordered if ordered else np.nan,
        })
    out = pd.DataFrame(rows, columns=["supplier_id", "supplier", "orders", "received", "open", "overdue",
                                      "lead_time_days", "on_time_rate", "fill_rate"])
    return out.sort_values(["fill_rate", "supplier"], na_position="last", kind="stable").reset_index(drop=True)


def fluctuating_regions(by_region: pd.DataFrame, limit_days: float = SPREAD_PROBLEM_DAYS) -> list[str]:
    """Regions (any warehouse tier) whose delivery spread is over limit_days."""
    return sorted(set(by_region.loc[by_region["spread_days"] > limit_days, "region"]))
