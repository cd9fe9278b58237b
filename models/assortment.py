"""Assortment health from rows: stock turnover and stock-outs per category, slow movers, new
products' sell-through and incubation, and where each category's products sit by price and
margin. Pure functions on DataFrames."""
from __future__ import annotations

import numpy as np
import pandas as pd

SLOW_MOVER_PROBLEM = 0.20  # over a fifth of the stocked SKUs without a sale is a problem
INCUBATION_DAYS = 28  # a new product's first four weeks decide whether it is kept
INCUBATION_TARGET = 0.5  # it succeeds when it sells at least half its category's usual pace
BANDS = ("entry", "core", "upper", "premium")  # price quartiles within a category


def category_stock(stock: pd.DataFrame, slow_days: int) -> pd.DataFrame:
    """Per category, from stock_overview rows (one per SKU and warehouse): on_hand,
    units_sold_30d, turnover_days (on hand over the last 30 days' daily sales; inf when
    nothing sold), stockout_rate (pairs with nothing on hand) and slow_mover_share (stocked
    SKUs with no sale anywhere in slow_days days). Sorted by category."""
    rows = []
    for category, group in stock.groupby("category", sort=True):
        on_hand = int(group["on_hand"].clip(lower=0).sum())
        sold = int(group["units_sold_30d"].sum())
        skus = sku_level(group, slow_days)
        stocked = skus[skus["on_hand"] > 0]
        rows.append({
            "category": category, "skus": len(skus), "on_hand": on_hand, "units_sold_30d": sold,
            "turnover_days": on_hand / (sold / 30) if sold else np.inf,
            "stockout_rate": float(group["is_stocked_out"].mean()),
            "slow_mover_share": float(stocked["is_slow"].mean()) if len(stocked) else 0.0,
        })
    return pd.DataFrame(rows, columns=["category", "skus", "on_hand", "units_sold_30d", "turnover_days",
                                       "stockout_rate", "slow_mover_share"])


def sku_level(stock: pd.DataFrame, slow_days: int) -> pd.DataFrame:
    """stock_overview rows summed per SKU: on_hand, units_sold_30d, days_since_last_sale (the
    most recent sale in any warehouse) and is_slow (stock somewhere, and no sale anywhere in
    the last slow_days days)."""
    frame = stock.assign(on_hand_pos=stock["on_hand"].clip(lower=0))
    out = frame.groupby("sku", sort=True).agg(
        name=("name", "first"), category=("category", "first"), on_hand=("on_hand_pos", "sum"),
        units_sold_30d=("units_sold_30d", "sum"), days_since_last_sale=("days_since_last_sale", "min"))
    out["is_slow"] = (out["on_hand"] > 0) & (out["days_since_last_sale"] >= slow_days)
    return out.reset_index()


def slow_mover_share(stock: pd.DataFrame, slow_days: int) -> float:
    """Share of the SKUs with stock that sold nothing in slow_days days (NaN without stock)."""
    skus = sku_level(stock, slow_days)
    stocked = skus[skus["on_hand"] > 0]
    return float(stocked["is_slow"].mean()) if len(stocked) else float("nan")


def slow_movers(stock: pd.DataFrame, slow_days: int) -> pd.DataFrame:
    """The slow SKUs, the longest without a sale first, with a suggested clearance: a flash
    sale for those never or long unsold with much stock, community clearance otherwise."""
    skus = sku_level(stock, slow_days)
    slow = skus[skus["is_slow"]].sort_values(["days_since_last_sale", "on_hand"], ascending=False, kind="stable")
    big = slow["on_hand"] >= slow["on_hand"].median() if len(slow) else slow["on_hand"]
    slow = slow.assign(suggestion=np.where(big, "flash_sale", "community_clearance"))
    return slow.reset_index(drop=True)


def new_products(catalogue: pd.DataFrame, launch_hours: pd.DataFrame, on_hand: pd.Series, now_ts: int,
                 new_days: int) -> pd.DataFrame:
    """Products launched in the last `new_days` days with their sell-through and incubation.

    catalogue: metrics.assortment.catalogue_sales over the last INCUBATION_DAYS (its units_sold
    per day is the category's usual pace, from the established products); launch_hours:
    hourly units of the new SKUs since their launch; on_hand: units in stock per SKU now.
    Columns: sku, name, category, launched_ts_utc, days_live, units_since_launch, on_hand,
    sell_through = sold / (sold + on hand), first_weeks_per_day (units per day over the first
    INCUBATION_DAYS, or so far), category_per_day (the median established product's pace),
    status: succeeded | failed | incubating."""
    established = catalogue[catalogue["launched_ts_utc"] < now_ts - new_days * 86_400]
    pace = (established.groupby("category")["units_sold"].median() / INCUBATION_DAYS).rename("category_per_day")
    new = catalogue[catalogue["launched_ts_utc"] >= now_ts - new_days * 86_400].copy()
    new["days_live"] = (now_ts - new["launched_ts_utc"]) / 86_400
    hours = launch_hours.merge(new[["sku", "launched_ts_utc"]], on="sku")
    since = hours.groupby("sku")["units_sold"].sum()
    early = hours[hours["hour_utc"] * 3600 < hours["launched_ts_utc"] + INCUBATION_DAYS * 86_400]
    first = early.groupby("sku")["units_sold"].sum()
    new["units_since_launch"] = new["sku"].map(since).fillna(0).astype("int64")
    new["on_hand"] = new["sku"].map(on_hand).fillna(0).astype("int64")
    whole = (new["units_since_launch"] + new["on_hand"]).astype("float64")
    new["sell_through"] = new["units_since_launch"] / whole.where(whole > 0)
    new["first_weeks_per_day"] = new["sku"].map(first).fillna(0) / new["days_live"].clip(upper=INCUBATION_DAYS,
                                                                                          lower=1 / 24)
    new = new.join(pace, on="category")
    reached = new["first_weeks_per_day"] >= INCUBATION_TARGET * new["category_per_day"]
    new["status"] = np.where(new["days_live"] < INCUBATION_DAYS, "incubating",
                             np.where(reached, "succeeded", "failed"))
    columns = ["sku", "name", "category", "launched_ts_utc", "days_live", "units_since_launch", "on_hand",
               "sell_through", "first_weeks_per_day", "category_per_day", "status"]
    return new[columns].sort_values("launched_ts_utc", ascending=False, kind="stable").reset_index(drop=True)


def incubation_success_rate(new: pd.DataFrame) -> float:
    """Share of the new products past incubation that succeeded (NaN when none is past it)."""
    done = new[new["status"] != "incubating"]
    return float((done["status"] == "succeeded").mean()) if len(done) else float("nan")


def price_bands(catalogue: pd.DataFrame) -> pd.DataFrame:
    """Per category and price band (the category's price quartiles: BANDS): skus, price range,
    mean margin ((price - cost) / price), units sold, revenue and unit_share (of the category's
    units)."""
    frame = catalogue.assign(margin=(catalogue["price"] - catalogue["cost"]) / catalogue["price"])
    parts = []
    for category, group in frame.groupby("category", sort=True):
        ranks = group["price"].rank(method="first", pct=True)
        band = np.minimum((ranks * len(BANDS) - 1e-9).astype(int), len(BANDS) - 1)
        group = group.assign(band=[BANDS[i] for i in band])
        summary = group.groupby("band").agg(skus=("sku", "size"), price_min=("price", "min"),
                                            price_max=("price", "max"), margin=("margin", "mean"),
                                            units=("units_sold", "sum"), revenue=("revenue", "sum"))
        summary = summary.reindex([b for b in BANDS if b in summary.index])
        total = summary["units"].sum()
        summary["unit_share"] = summary["units"] / total if total else np.nan
        parts.append(summary.reset_index().assign(category=category))
    columns = ["category", "band", "skus", "price_min", "price_max", "margin", "units", "revenue", "unit_share"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def price_competition(bands: pd.DataFrame, *, unit_share: float = 0.5, margin_gap: float = 0.10) -> list[str]:
    """Categories stuck in price competition: at least `unit_share` of their units sell in
    the entry band, whose margin is `margin_gap` or more below the category's other bands'."""
    stuck = []
    for category, group in bands.groupby("category", sort=True):
        entry = group[group["band"] == BANDS[0]]
        rest = group[group["band"] != BANDS[0]]
        if entry.empty or rest.empty or rest["units"].sum() == 0 and entry["units"].sum() == 0:
            continue
        other_margin = float(np.average(rest["margin"], weights=rest["units"])) if rest["units"].sum() else float(
            rest["margin"].mean())
        if float(entry["unit_share"].iloc[0]) >= unit_share and float(entry["margin"].iloc[0]) <= other_margin - margin_gap:
            stuck.append(category)
    return stuck
