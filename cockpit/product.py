"""Product 360: everything about one product on one screen (the page `/product?sku=ID`).

Sales and revenue per day, stock per warehouse with its water level and days of cover, open
replenishments, delivery time per destination region, returns split into quality problems,
transport damage and other causes with the last 24 hours against the usual, review ratings
over time with the newest and the lowest-rated texts, and the product's alert history.
"""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection

from cockpit.metrics import product as reads
from cockpit.metrics import weekly
from cockpit.metrics.stock import pending_replenishments, stock_overview
from cockpit.timebuckets import EPOCH_DATE, day_start_minute, local_day_of
from models import product as model
from models.report import delivery_figures

WINDOW_DAYS = 30
TEXTS = 5  # newest and lowest-rated reviews shown


def search(conn: Connection, text: str, limit: int = 10) -> pd.DataFrame:
    """Suggestions for what a manager typed: an ID or part of a name (metrics.product.find_products)."""
    return reads.find_products(conn, text, limit)


def product_360(conn: Connection, sku: str, data_minute: int, tz: ZoneInfo, days: int = WINDOW_DAYS) -> dict | None:
    """The product page's value for `sku` as of data_minute over the last `days` shop-local
    days (today included), or None when no product has that ID."""
    item = reads.product(conn, sku)
    if item is None:
        return None
    today = local_day_of(data_minute, tz)
    first = today - days + 1
    start, end = day_start_minute(first, tz), data_minute + 1
    first_date = pd.Timestamp(EPOCH_DATE + timedelta(days=first))
    last_date = pd.Timestamp(EPOCH_DATE + timedelta(days=today))
    hourly = reads.hourly_sales(conn, sku, start, end)
    daily = model.daily_sales(hourly, tz, first_date, last_date)
    # Returns reach back 8 days before the window too: the spike compares with a usual week.
    returns = reads.returns(conn, sku, min(start, end - 9 * 1440), end)
    in_window = returns[returns["ts_utc"] >= start * 60]
    stock = stock_overview(conn, data_minute)
    stock = stock[stock["sku"] == sku].reset_index(drop=True)
    pending = pending_replenishments(conn, data_minute)
    deliveries = weekly.deliveries(conn, start, end, sku=sku)
    delivery, by_region = delivery_figures(deliveries)
    review_rows = reads.reviews(conn, sku, start - 335 * 1440, end)  # a year of ratings, for the trend
    units_sold, units_returned = int(daily["units_sold"].sum()), int(daily["units_returned"].sum())
    return {
        "product": item, "first_day": first, "last_day": today, "data_minute": data_minute,
        "daily": daily, "units_sold": units_sold, "revenue": float(daily["revenue"].sum()),
        "units_returned": units_returned, "return_rate": model.return_rate(units_returned, units_sold),
        "stock": stock, "pending": pending[pending["sku"] == sku].reset_index(drop=True),
        "delivery": delivery, "delivery_by_region": by_region,
        "returns": in_window.reset_index(drop=True), "return_breakdown": model.return_breakdown(in_window),
        "returns_by_day": model.daily_returns_by_group(in_window, tz, first_date, last_date),
        "return_spike": model.return_spike(returns, data_minute * 60 + 60),
        "rating_trend": model.rating_trend(review_rows, tz),
        "recent_reviews": review_rows.sort_values(["ts_utc", "review_id"], ascending=False).head(TEXTS),
        "lowest_reviews": review_rows.sort_values(["rating", "ts_utc"], ascending=[True, False]).head(TEXTS),
        "mean_rating": float(review_rows["rating"].mean()) if len(review_rows) else float("nan"),
        "alerts": reads.alert_history(conn, sku),
    }
