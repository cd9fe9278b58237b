"""Input checks and time handling shared by the customer models (order frames in, clean copies out)."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise ValueError naming the missing columns of `frame`, and the ones it has."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} is missing column(s) {missing}; it has {list(frame.columns)}. "
            f"Rename or add them before calling."
        )
    if frame.empty:
        raise ValueError(f"{what} is empty: pass at least one row")


def time_column(frame: pd.DataFrame, what: str) -> str:
    """The name of the time column of an order frame: `ts` if present, else `date`."""
    for name in ("ts", "date"):
        if name in frame.columns:
            return name
    raise ValueError(f"{what} needs a `ts` or `date` column (datetime); it has {list(frame.columns)}")


def naive_utc(values: pd.Series, name: str) -> pd.Series:
    """Datetimes as tz-naive UTC; ValueError if the column is not datetime or has gaps."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        raise ValueError(
            f"column `{name}` must hold datetimes (got dtype {values.dtype}); convert it with pd.to_datetime"
        )
    if values.isna().any():
        raise ValueError(f"column `{name}` has {int(values.isna().sum())} missing value(s); drop or fill them")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def as_day(value, name: str) -> pd.Timestamp:
    """A date-like argument as a tz-naive UTC midnight Timestamp (the whole day is included)."""
    if value is None:
        raise ValueError(f"`{name}` is required: pass the date the analysis is made as of")
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`{name}` must be a date or timestamp, got {value!r}") from exc
    if stamp is pd.NaT:
        raise ValueError(f"`{name}` must be a date or timestamp, got {value!r}")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize()


def amounts(values: pd.Series, name: str = "amount") -> pd.Series:
    """A numeric, finite, non-negative amount column as float."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise ValueError(f"column `{name}` must be numeric (got dtype {values.dtype}); convert it with pd.to_numeric")
    out = values.astype("float64")
    if not np.isfinite(out.to_numpy()).all():
        raise ValueError(f"column `{name}` has missing or infinite values; drop or fill them")
    if (out < 0).any():
        raise ValueError(
            f"column `{name}` has {int((out < 0).sum())} negative value(s); "
            "remove refunds and returns (or net them into their orders) first"
        )
    return out


def customer_ids(values: pd.Series) -> pd.Series:
    if values.isna().any():
        raise ValueError(f"column `customer_id` has {int(values.isna().sum())} missing value(s); drop those rows")
    return values
