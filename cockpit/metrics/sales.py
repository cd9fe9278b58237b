"""Daily sales series per category or SKU in the shop's days, for forecasts and reports, and
hourly ones for the hour-by-hour forecast of a promotion day.

Daily: read from agg_sku_minute in quarter-hour buckets, which every timezone's midnight falls
on (UTC offsets are whole quarter hours), then summed per shop-local day with zero days filled.
Hourly: read from agg_sku_hour by UTC hour (a regular series whatever daylight saving does).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import BigInteger, Connection, func, literal_column, select

from cockpit.db.frames import to_frame
from cockpit.db.schema import AggSkuHour, AggSkuMinute, Product
from cockpit.timebuckets import EPOCH_DATE, day_start_minute, local_days

QUARTER = literal_column("15", BigInteger)  # inline: the same expression in SELECT and GROUP BY
DAILY_COLUMNS = ["day", "key", "units", "revenue"]
HOURLY_COLUMNS = ["hour_utc", "key", "units", "revenue"]


def daily_sales(conn: Connection, first_day: int, last_day: int, tz: ZoneInfo, *, by: str = "category",
                skus: list[str] | None = None) -> pd.DataFrame:
    """Units sold and revenue per shop-local day in [first_day, last_day] (day numbers) and per
    category (by="category") or SKU (by="sku", optionally only `skus`).

    Columns: day (datetime64, local midnight without zone), key, units (int64), revenue
    (float64); every key that sold in the range has a row for every day (zeros filled)."""
    if by not in ("category", "sku"):
        raise ValueError("by must be 'category' or 'sku'")
    start, end = day_start_minute(first_day, tz), day_start_minute(last_day + 1, tz)
    key = Product.category if by == "category" else AggSkuMinute.sku
    bucket = (AggSkuMinute.minute_utc // QUARTER).label("quarter")
    query = (
        select(bucket, key, func.sum(AggSkuMinute.units_sold), func.sum(AggSkuMinute.revenue))
        .join(Product, Product.sku == AggSkuMinute.sku)
        .where(AggSkuMinute.minute_utc >= start, AggSkuMinute.minute_utc < end)
        .group_by(bucket, key)
    )
    if skus is not None:
        query = query.where(AggSkuMinute.sku.in_(list(skus)))
    rows = to_frame(conn.execute(query).all(), ["quarter", "key", "units", "revenue"])
    days = pd.date_range(pd.Timestamp(EPOCH_DATE) + pd.Timedelta(days=first_day), periods=last_day - first_day + 1,
                         freq="D")
    if rows.empty:
        return pd.DataFrame({"day": pd.Series(dtype="datetime64[ns]"), "key": pd.Series(dtype="str"),
                             "units": pd.Series(dtype="int64"), "revenue": pd.Series(dtype="float64")})
    rows["day"] = pd.Timestamp(EPOCH_DATE) + pd.to_timedelta(
        local_days(pd.to_numeric(rows["quarter"]).to_numpy() * 15, tz), unit="D")
    rows["units"] = pd.to_numeric(rows["units"]).astype("int64")
    rows["revenue"] = pd.to_numeric(rows["revenue"]).astype("float64")
    daily = rows.groupby(["key", "day"])[["units", "revenue"]].sum()
    full = pd.MultiIndex.from_product([sorted(daily.index.get_level_values("key").unique()), days], names=["key", "day"])
    daily = daily.reindex(full, fill_value=0).reset_index()
    daily["key"] = daily["key"].astype("str")
    daily["day"] = daily["day"].astype("datetime64[ns]")
    return daily[DAILY_COLUMNS]


def top_skus(conn: Connection, start_minute: int, end_minute: int, limit: int = 10) -> list[str]:
    """The SKUs with the most units sold in [start_minute, end_minute), most first."""
    total = func.sum(AggSkuMinute.units_sold)
    rows = conn.execute(
        select(AggSkuMinute.sku).where(AggSkuMinute.minute_utc >= start_minute, AggSkuMinute.minute_utc < end_minute)
        .group_by(AggSkuMinute.sku).order_by(total.desc(), AggSkuMinute.sku).limit(limit)
    ).scalars().all()
    return list(rows)


def hourly_sales(conn: Connection, start_hour: int, end_hour: int, *, keys: list[str] | None = None) -> pd.DataFrame:
    """Units sold and revenue per UTC hour in [start_hour, end_hour) (hours since the epoch)
    and category; the current hour holds what was sold so far.

    Columns HOURLY_COLUMNS: hour_utc (int64), key (the category), units (int64), revenue
    (float64); every category that sold in the range, or each of `keys`, has a row for every
    hour (zeros filled)."""
    query = (
        select(AggSkuHour.hour_utc, Product.category, func.sum(AggSkuHour.units_sold), func.sum(AggSkuHour.revenue))
        .join(Product, Product.sku == AggSkuHour.sku)
        .where(AggSkuHour.hour_utc >= int(start_hour), AggSkuHour.hour_utc < int(end_hour))
        .group_by(AggSkuHour.hour_utc, Product.category)
    )
    rows = to_frame(conn.execute(query).all(), HOURLY_COLUMNS)
    rows = rows.astype({"hour_utc": "int64", "key": "str", "units": "int64", "revenue": "float64"})
    names = sorted(set(rows["key"])) if keys is None else list(keys)
    full = pd.MultiIndex.from_product([names, range(int(start_hour), int(end_hour))], names=["key", "hour_utc"])
    hourly = rows.groupby(["key", "hour_utc"])[["units", "revenue"]].sum().reindex(full, fill_value=0).reset_index()
    return hourly.astype({"hour_utc": "int64", "key": "str", "units": "int64", "revenue": "float64"})[HOURLY_COLUMNS]
