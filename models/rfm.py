"""RFM: recency, frequency and monetary value per customer, quantile scores, eight segments and their migration."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models._frames import amounts, as_day, customer_ids, naive_utc, require_columns, time_column


@dataclass(frozen=True)
class Segment:
    """One of the eight RFM segments: a stable key, its labels, and the high/low pattern that defines it."""

    key: str
    label_en: str
    label_zh: str
    recent: bool  # recency score in the upper half: bought lately
    frequent: bool
    high_value: bool


# The classic eight (重要价值、重要发展、重要保持、重要挽留 and the four 一般 ones): "important" means
# high monetary value; value / development / retention / win-back follow recency and frequency.
SEGMENTS: tuple[Segment, ...] = (
    Segment("important_value", "Important value", "重要价值客户", True, True, True),
    Segment("important_development", "Important development", "重要发展客户", True, False, True),
    Segment("important_retention", "Important retention", "重要保持客户", False, True, True),
    Segment("important_win_back", "Important win-back", "重要挽留客户", False, False, True),
    Segment("ordinary_value", "Ordinary value", "一般价值客户", True, True, False),
    Segment("ordinary_development", "Ordinary development", "一般发展客户", True, False, False),
    Segment("ordinary_retention", "Ordinary retention", "一般保持客户", False, True, False),
    Segment("ordinary_win_back", "Ordinary win-back", "一般挽留客户", False, False, False),
)
SEGMENT_KEYS: tuple[str, ...] = tuple(s.key for s in SEGMENTS)
SEGMENT_LABELS: dict[str, dict[str, str]] = {s.key: {"en": s.label_en, "zh-CN": s.label_zh} for s in SEGMENTS}
NOT_YET_CUSTOMER = "not_yet_customer"
SEGMENT_LABELS[NOT_YET_CUSTOMER] = {"en": "Not yet a customer", "zh-CN": "尚未购买"}

# High spenders who bought lately, and high spenders who have gone quiet.
VALUABLE_SEGMENTS: tuple[str, ...] = ("important_value", "important_development")
AT_RISK_SEGMENTS: tuple[str, ...] = ("important_retention", "important_win_back")

RFM_COLUMNS = ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_code", "segment")


def segment_label(key: str, language: str = "en") -> str:
    """The display label of a segment key in `language` ("en" or "zh-CN")."""
    if key not in SEGMENT_LABELS:
        raise ValueError(f"unknown segment key {key!r}; known keys are {sorted(SEGMENT_LABELS)}")
    labels = SEGMENT_LABELS[key]
    if language not in labels:
        raise ValueError(f"language must be one of {sorted(labels)}, got {language!r}")
    return labels[language]


def rfm_table(order_lines: pd.DataFrame, *, as_of, bins: int = 5, lookback_days: int | None = None) -> pd.DataFrame:
    """Recency, frequency, monetary value, their scores and the segment of every customer as of `as_of`.

    `order_lines` has `customer_id`, `ts` or `date` (datetime; tz-aware values are taken in UTC) and
    `amount` (>= 0), and optionally `order_id`. Only lines on or before the `as_of` day count (and,
    with `lookback_days`, only the last that many days up to it), so the same frame serves any date.

    Returns a DataFrame indexed by `customer_id` with:
    - `recency_days`: whole days from the last purchase day to `as_of` (0: bought that day);
    - `frequency`: distinct orders (`order_id`), or distinct purchase days without that column;
    - `monetary`: total amount;
    - `r_score`, `f_score`, `m_score`: 1..`bins` quantile scores (`bins` = most recent / most
      frequent / highest spend); equal values share a score, from their average rank;
    - `rfm_code`: the three scores as a string, e.g. "545";
    - `segment`: one of `SEGMENT_KEYS`. A score is "high" above the middle of the scale (for
      quintiles 4 and 5), the usual above-average test applied to scores.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ValueError(f"bins must be a whole number >= 2 (5 for quintiles), got {bins!r}")
    lines = _lines_up_to(order_lines, as_of, lookback_days)
    day = as_day(as_of, "as_of")
    if lines.empty:
        raise ValueError(f"no order lines on or before as_of {day.date()}"
                         + (f" within {lookback_days} days" if lookback_days else "")
                         + "; pick a later as_of or a longer lookback")
    grouped = lines.groupby("customer_id", sort=True)
    orders = grouped["order"].nunique()
    table = pd.DataFrame({
        "recency_days": (day - grouped["day"].max()).dt.days.astype("int64"),
        "frequency": orders.astype("int64"),
        "monetary": grouped["amount"].sum().astype("float64"),
    })
    table["r_score"] = quantile_scores(table["recency_days"], bins, higher_is_better=False)
    table["f_score"] = quantile_scores(table["frequency"], bins)
    table["m_score"] = quantile_scores(table["monetary"], bins)
    table["rfm_code"] = (table["r_score"].astype(str) + table["f_score"].astype(str)
                         + table["m_score"].astype(str))
    middle = (bins + 1) / 2
    table["segment"] = segment_of(table["r_score"] > middle, table["f_score"] > middle, table["m_score"] > middle)
    table.index.name = "customer_id"
    return table[list(RFM_COLUMNS)]


def quantile_scores(values: pd.Series, bins: int, *, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..bins by quantile of `values` (ties share the score of their average rank)."""
    ranks = values.rank(method="average", ascending=higher_is_better)
    scores = np.ceil(bins * ranks.to_numpy() / len(values)).clip(1, bins)
    return pd.Series(scores.astype("int64"), index=values.index)


def segment_of(recent: pd.Series, frequent: pd.Series, high_value: pd.Series) -> pd.Series:
    """The segment key for each row of three boolean Series (high recency score, frequency, monetary)."""
    by_pattern = {(s.recent, s.frequent, s.high_value): s.key for s in SEGMENTS}
    keys = [by_pattern[(bool(r), bool(f), bool(m))] for r, f, m in zip(recent, frequent, high_value, strict=True)]
    return pd.Series(keys, index=recent.index, dtype="str")


@dataclass(frozen=True)
class SegmentMigration:
    """Where each customer's segment was at `from_as_of` and is at `to_as_of`."""

    from_as_of: pd.Timestamp
    to_as_of: pd.Timestamp
    customers: pd.DataFrame  # index customer_id; from_segment, to_segment (NOT_YET_CUSTOMER if new)

    @property
    def matrix(self) -> pd.DataFrame:
        """Customer counts, rows the segment at `from_as_of`, columns the segment at `to_as_of`."""
        rows = [*SEGMENT_KEYS, NOT_YET_CUSTOMER]
        counts = pd.crosstab(self.customers["from_segment"], self.customers["to_segment"])
        return counts.reindex(index=rows, columns=list(SEGMENT_KEYS), fill_value=0).astype("int64")

    def moved(self, from_segments=VALUABLE_SEGMENTS, to_segments=AT_RISK_SEGMENTS) -> pd.DataFrame:
        """The customers who were in one of `from_segments` and are now in one of `to_segments`.

        By default: who moved from valuable (recent high spenders) to at-risk (quiet high spenders).
        """
        unknown = set(from_segments) | set(to_segments)
        unknown -= {*SEGMENT_KEYS, NOT_YET_CUSTOMER}
        if unknown:
            raise ValueError(f"unknown segment key(s) {sorted(unknown)}; use keys from SEGMENT_KEYS")
        mask = self.customers["from_segment"].isin(from_segments) & self.customers["to_segment"].isin(to_segments)
        return self.customers[mask]


def segment_migration(
    order_lines: pd.DataFrame, *, from_as_of, to_as_of, bins: int = 5, lookback_days: int | None = None
) -> SegmentMigration:
    """Segments of every customer at two dates, from one frame of order lines (see `rfm_table`).

    Customers who first bought after `from_as_of` come from `NOT_YET_CUSTOMER`. Scores at each date
    are quantiles of the customers known at that date.
    """
    start, end = as_day(from_as_of, "from_as_of"), as_day(to_as_of, "to_as_of")
    if start >= end:
        raise ValueError(f"from_as_of ({start.date()}) must be before to_as_of ({end.date()})")
    before = rfm_table(order_lines, as_of=start, bins=bins, lookback_days=lookback_days)["segment"]
    after = rfm_table(order_lines, as_of=end, bins=bins, lookback_days=lookback_days)["segment"]
    customers = pd.DataFrame({
        "from_segment": before.reindex(after.index).fillna(NOT_YET_CUSTOMER),
        "to_segment": after,
    })
    return SegmentMigration(from_as_of=start, to_as_of=end, customers=customers)


def _lines_up_to(order_lines: pd.DataFrame, as_of, lookback_days: int | None) -> pd.DataFrame:
    """customer_id, day, order (an order id, or the purchase day) and amount of the lines in the window."""
    require_columns(order_lines, ("customer_id", "amount"), "order_lines")
    when = time_column(order_lines, "order_lines")
    day = as_day(as_of, "as_of")
    days = naive_utc(order_lines[when], when).dt.normalize()
    keep = days <= day
    if lookback_days is not None:
        if isinstance(lookback_days, bool) or not isinstance(lookback_days, (int, np.integer)) or lookback_days < 1:
            raise ValueError(f"lookback_days must be a whole number of days >= 1, or None, got {lookback_days!r}")
        keep &= days > day - pd.Timedelta(days=int(lookback_days))
    order = order_lines["order_id"] if "order_id" in order_lines.columns else days
    frame = pd.DataFrame({
        "customer_id": customer_ids(order_lines["customer_id"]).to_numpy(),
        "day": days.to_numpy(),
        "order": order.to_numpy(),
        "amount": amounts(order_lines["amount"]).to_numpy(),
    })
    return frame[keep.to_numpy()]
