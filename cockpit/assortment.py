"""The Products page's value: stock turnover and stock-out rate per category against the
targets, the slow movers (and their share against the 20% problem level) with a suggested
clearance, the clearances started and what they cleared, new products' sell-through and
incubation, and price bands per category."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from cockpit.action_effects import action_effects
from cockpit.metrics import assortment as reads
from cockpit.metrics.stock import stock_overview
from models import assortment as model

NEW_PRODUCT_DAYS = 60  # a product launched in the last 60 days is new
CLEARANCE_DAYS_SHOWN = 30  # clearances running, or ended in the last 30 days, with their effect
CLEARANCES_SHOWN = 5  # each measured effect costs a forecast fit (about a second)


def products_page(conn: Connection, data_minute: int, tz: ZoneInfo, *, slow_days: int = 14) -> dict:
    end = data_minute + 1
    now_ts = end * 60
    catalogue = reads.catalogue_sales(conn, end - model.INCUBATION_DAYS * 1440, end)
    # A product stocked ahead of its launch is neither slow nor new yet.
    catalogue = catalogue[catalogue["launched_ts_utc"] < now_ts].reset_index(drop=True)
    stock = stock_overview(conn, data_minute, slow_days=slow_days)
    stock = stock[stock["sku"].isin(catalogue["sku"])].reset_index(drop=True)
    new_skus = catalogue.loc[catalogue["launched_ts_utc"] >= now_ts - NEW_PRODUCT_DAYS * 86_400, "sku"].tolist()
    first_launch = int(catalogue.loc[catalogue["sku"].isin(new_skus), "launched_ts_utc"].min()) if new_skus else now_ts
    launch_hours = reads.launch_sales(conn, new_skus, first_launch // 60, end)
    on_hand = stock.assign(on_hand=stock["on_hand"].clip(lower=0)).groupby("sku")["on_hand"].sum()
    new = model.new_products(catalogue, launch_hours, on_hand, now_ts, NEW_PRODUCT_DAYS)
    bands = model.price_bands(catalogue)
    return {
        "slow_days": slow_days, "stock_pairs": len(stock),
        "stockout_rate": float(stock["is_stocked_out"].mean()) if len(stock) else float("nan"),
        "turnover_days": _turnover(stock), "slow_mover_share": model.slow_mover_share(stock, slow_days),
        "categories": model.category_stock(stock, slow_days), "slow_movers": model.slow_movers(stock, slow_days),
        "new_products": new, "incubation_success_rate": model.incubation_success_rate(new),
        "price_bands": bands, "price_competition": model.price_competition(bands),
        "clearances": clearances(conn, data_minute, tz),
    }


def clearances(conn: Connection, data_minute: int, tz: ZoneInfo):
    """The clearances running or ended in the last CLEARANCE_DAYS_SHOWN days (the newest
    CLEARANCES_SHOWN), each with running (bool) and its measured effect: effect (extra units
    sold against the forecast without it; NaN until measurable) and verdict."""
    now_ts = (int(data_minute) + 1) * 60
    frame = reads.recent_clearances(conn, now_ts - CLEARANCE_DAYS_SHOWN * 86_400, CLEARANCES_SHOWN)
    effects = [action_effects(conn, data_minute, tz, action_id=int(a)) for a in frame["action_id"]]
    frame = frame.assign(
        running=frame["end_ts_utc"] > now_ts,
        effect=[float(e["effect"].iloc[0]) if len(e) else float("nan") for e in effects],
        verdict=[e["verdict"].iloc[0] if len(e) else "" for e in effects])  # Phrases, shown with say()
    return frame.reset_index(drop=True)


def _turnover(stock) -> float:
    sold = float(stock["units_sold_30d"].sum())
    return float(stock["on_hand"].clip(lower=0).sum()) / (sold / 30) if sold else float("inf")
