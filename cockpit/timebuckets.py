"""Integer time buckets: epoch minutes, hours, and shop-local day numbers."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

EPOCH_DATE = date(1970, 1, 1)


def minute_of(ts: datetime) -> int:
    """Minutes since the epoch of an aware datetime."""
    return int(ts.timestamp()) // 60


def datetime_of_minute(minute: int, tz: ZoneInfo | None = None) -> datetime:
    moment = datetime.fromtimestamp(minute * 60, tz=timezone.utc)
    return moment.astimezone(tz) if tz else moment


def local_days(minutes: np.ndarray | pd.Series, tz: ZoneInfo) -> np.ndarray:
    """Shop-local day numbers (days since 1970-01-01 in `tz`) of epoch minutes, vectorised."""
    stamps = pd.to_datetime(np.asarray(minutes, dtype="int64") * 60, unit="s", utc=True).tz_convert(tz)
    local_midnights = stamps.tz_localize(None).normalize()
    return ((local_midnights - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1)).to_numpy(dtype="int64")


def local_day_of(minute: int, tz: ZoneInfo) -> int:
    return (datetime_of_minute(minute, tz).date() - EPOCH_DATE).days


def day_start_minute(day: int, tz: ZoneInfo) -> int:
    """The epoch minute at which local day `day` starts (midnight in `tz`, DST-aware)."""
    local_date = EPOCH_DATE + timedelta(days=day)
    return minute_of(datetime(local_date.year, local_date.month, local_date.day, tzinfo=tz))
