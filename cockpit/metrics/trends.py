"""Search demand reads: searches per shop-local day and term."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, func, select

from cockpit.db.frames import to_frame
from cockpit.db.schema import Product, Search
from cockpit.metrics.traffic import typed
from cockpit.timebuckets import EPOCH_DATE, local_days

DAILY_COLUMNS = {"day": "datetime64[ns]", "term": "str", "category": "str", "searches": "int64"}


def daily_searches(conn: Connection, start_minute: int, end_minute: int, tz: ZoneInfo) -> pd.DataFrame:
    """Searches per shop-local day, term and category in the window (DAILY_COLUMNS)."""
    start_ts, end_ts = int(start_minute) * 60, int(end_minute) * 60
    hour = (Search.ts_utc // 3600).label("hour")
    rows = conn.execute(
        select(hour, Search.term, Search.category, func.count())
        .where(Search.ts_utc >= start_ts, Search.ts_utc < end_ts)
        .group_by(hour, Search.term, Search.category)
    ).all()
    frame = to_frame(rows, ["hour_utc", "term", "category", "searches"])
    if frame.empty:
        return typed(pd.DataFrame(columns=list(DAILY_COLUMNS)), DAILY_COLUMNS)
    frame["day"] = pd.Timestamp(EPOCH_DATE) + pd.to_timedelta(
        local_days(pd.to_numeric(frame["hour_utc"]).to_numpy() * 60, tz), unit="D")
    daily = frame.groupby(["day", "term", "category"], as_index=False)["searches"].sum()
    return typed(daily, DAILY_COLUMNS)


def stocked_terms(conn: Connection) -> set[str]:
    """Lower-case product names, to tell a term the shop already sells from a new one."""
    return {name.lower() for name in conn.execute(select(func.lower(Product.name))).scalars()}
