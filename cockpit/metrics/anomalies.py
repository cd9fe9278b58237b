"""Anomaly scores for the alert rules: a window's count against the same window on earlier days.

Each metric here is a signed score per entity (models.anomaly.count_scores: the normal quantile
of the count's tail probability, -4.5 meaning a drop as unlikely as a normal value 4.5
standard deviations low), so an alert rule's thresholds are the detector's sensitivity
(models.anomaly.SENSITIVITY names the usual ones). The expectation comes from the same window
on each of the REFERENCE_DAYS days before (days before the shop's history are left out, and
fewer than MIN_REFERENCES days give no score): the median of those days, with the spread
between them beyond chance widening the tolerance. That follows the daily shape without a
model fit each minute, and a holiday or a slow Sunday among the reference days moves the
median little.

Windows are half-open minute ranges [start, end) in epoch minutes (UTC).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, case, func, or_, select

from cockpit.db.schema import AggCampaignMinute, AggSalesMinute, AggTrafficMinute, Return
from cockpit.metrics import read
from models.anomaly import amount_scores, count_scores, expectation_from_references, explain_change

REFERENCE_DAYS = 7
MIN_REFERENCES = 3
DAY = 1440
# Returns are counted as parcels, not units (one order of three returned at once is one
# event, not three), against the SKU's own pace over the week before the window; the extra
# spread allows for the clusters a bad batch or a careless courier makes on any week.
RETURN_EXTRA_CV = 0.5

METRICS = read.ANOMALY_METRICS


def anomaly_scores(conn: Connection, metric: str, entity_kind: str, start: int, end: int,
                   memo: dict | None = None) -> pd.DataFrame:
    """Columns entity_id, value (the score; NaN: not enough history), volume (compared with a
    rule's min_volume: the expected count the score rests on, unless said otherwise).

    - channel, sessions_anomaly: sessions in the window against the same window on earlier days.
    - shop, conversion_anomaly: paid orders in the window against the sessions in it times the
      conversion of the same window on earlier days (a drop in orders that traffic explains
      is no conversion anomaly).
    - campaign, spend_anomaly: spend in the window against the same window on earlier days, on
      the log scale (models.anomaly.amount_scores): budgets are paced, so a campaign's spend
      is far steadier than its clicks and a bid misconfiguration shows within minutes.
      volume: the usual spend.
    - campaign, roi_anomaly: attributed orders against the spend in the window times the orders
      per unit of spend on earlier days: what ROI rests on, scored as a count.
    - sku, return_anomaly: returns received in the window (parcels, from the returns table)
      against the SKU's returns over the week before, scaled to the window; volume the units
      it sold in the 7 days up to the window's end (a SKU selling a few units a week makes any
      return look extreme: give the rule a min_volume).
    """
    if metric not in METRICS.get(entity_kind, ()):
        raise ValueError(f"unknown anomaly metric {metric!r} for entity kind {entity_kind!r}; known: {METRICS}")
    if metric == "return_anomaly":
        return _return_scores(conn, start, end, memo)
    first = read._remembered(memo, ("first_minute",), lambda: _first_minute(conn))
    days = [d for d in range(1, REFERENCE_DAYS + 1) if first is not None and start - d * DAY >= first]
    if metric == "sessions_anomaly":
        sums = _by_day(conn, memo, AggTrafficMinute, AggTrafficMinute.channel, (AggTrafficMinute.sessions,),
                       start, end, days)
        return _scored(_column(sums, 0, 0), _columns(sums, days, 0))
    if metric == "conversion_anomaly":
        sessions = _by_day(conn, memo, AggTrafficMinute, None, (AggTrafficMinute.sessions,), start, end, days)
        orders = _by_day(conn, memo, AggSalesMinute, None, (AggSalesMinute.paid_orders,), start, end, days)

        def total(sums, d):
            return sums[d].get("shop", (0.0,))[0]

        sessions_now = total(sessions, 0)
        # Earlier days' orders, scaled to the sessions the window has now.
        reference = pd.DataFrame({d: [total(orders, d) * sessions_now / total(sessions, d)
                                      if total(sessions, d) > 0 else np.nan] for d in days}, index=["shop"])
        return _scored(pd.Series({"shop": total(orders, 0)}), reference)
    sums = _by_day(conn, memo, AggCampaignMinute, AggCampaignMinute.campaign_id,
                   (AggCampaignMinute.spend, AggCampaignMinute.orders), start, end, days)
    spend_now = _column(sums, 0, 0)
    if metric == "spend_anomaly":
        reference = _columns(sums, days, 0)
        ids = sorted(set(spend_now.index) | set(reference.index))
        if not len(reference.columns):
            return read._entity_frame(ids, [np.nan] * len(ids), [0.0] * len(ids))
        scored = amount_scores(spend_now.reindex(ids).fillna(0.0).to_numpy(), reference.reindex(ids).fillna(0.0))
        return read._entity_frame(ids, scored["score"], scored["expected"].fillna(0.0))
    # Earlier days' orders per unit of spend, applied to the spend the window has now.
    reference = pd.DataFrame({d: {k: orders * spend_now.get(k, 0.0) / spend for k, (spend, orders) in sums[d].items()
                                  if spend > 0} for d in days})
    return _scored(_column(sums, 0, 1), reference)


def _scored(now: pd.Series, reference: pd.DataFrame) -> pd.DataFrame:
    ids = sorted(set(now.index.astype(str)) | set(reference.index.astype(str)))
    reference = reference.reindex(ids) if len(reference.columns) else pd.DataFrame(index=ids)
    if not len(reference.columns):
        return read._entity_frame(ids, [np.nan] * len(ids), [0.0] * len(ids))
    # A day that is missing for one entity (no sessions from that channel at all) is a zero,
    # not a gap: the day itself has data.
    reference = reference.fillna(0.0) if reference.notna().any(axis=None) else reference
    observed = now.reindex(ids).fillna(0.0).to_numpy(dtype="float64")
    expectation = expectation_from_references(reference, min_references=MIN_REFERENCES).frame
    scores = count_scores(observed, expectation["expected"].to_numpy(), extra_cv=expectation["extra_cv"].to_numpy())
    return read._entity_frame(ids, scores, expectation["expected"].fillna(0.0).to_numpy())


def _first_minute(conn: Connection) -> int | None:
    return conn.execute(select(func.min(AggTrafficMinute.minute_utc))).scalar()


def _by_day(conn: Connection, memo: dict | None, model, key, columns: tuple, start: int, end: int,
            days: list[int]) -> dict[int, dict[str, tuple]]:
    """Sums of `columns` over [start, end) shifted back by each of 0 and `days` days, per `key`
    value (or under "shop" when key is None), in one statement: {day: {key: (sums...)}}; a day
    without rows maps to an empty dict."""
    def compute():
        minute = model.minute_utc
        windows = {d: (minute >= start - d * DAY) & (minute < end - d * DAY) for d in [0, *days]}
        day = case(*[(window, d) for d, window in windows.items()]).label("day")
        keys = [day] if key is None else [day, key]
        rows = conn.execute(select(*keys, *[func.sum(c) for c in columns])
                            .where(or_(*windows.values())).group_by(*keys)).all()
        found: dict[int, dict[str, tuple]] = {d: {} for d in windows}
        for row in rows:
            name = "shop" if key is None else str(row[1])
            found[int(row[0])][name] = tuple(float(v or 0) for v in row[len(keys):])
        return found
    return read._remembered(memo, ("anomaly_by_day", model.__tablename__, key is not None, start, end, tuple(days)),
                            compute)


def _column(sums: dict[int, dict[str, tuple]], day: int, i: int) -> pd.Series:
    return pd.Series({k: v[i] for k, v in sums[day].items()}, dtype="float64")


def _columns(sums: dict[int, dict[str, tuple]], days: list[int], i: int) -> pd.DataFrame:
    """One column per earlier day (NaN where an entity had no row that day)."""
    return pd.DataFrame({d: {k: v[i] for k, v in sums[d].items()} for d in days}, dtype="float64")


def _return_scores(conn: Connection, start: int, end: int, memo: dict | None) -> pd.DataFrame:
    window = end - start
    base = REFERENCE_DAYS * DAY
    first = read._remembered(memo, ("first_minute",), lambda: _first_minute(conn))
    usual = _returns_by_sku(conn, start - base, start)
    now = _returns_by_sku(conn, start, end)
    # Units sold over the week to the window's end: the read the return-rate rule and days of
    # cover make in the same evaluation (shared through the memo).
    weekly = read._remembered(memo, ("sku_units_sold", end - base, end), lambda: read.sku_units_sold(conn, end - base, end))
    sold = weekly.groupby("sku")["units_sold"].sum().to_dict()
    skus = sorted(set(usual) | set(now))
    volumes = [float(sold.get(sku, 0)) for sku in skus]
    if first is None or start - first < DAY:
        return read._entity_frame(skus, [np.nan] * len(skus), volumes)
    span = min(base, start - first)  # a young shop: its whole history so far
    expected = np.array([float(usual.get(sku, 0)) for sku in skus]) * window / span
    # A SKU without a return all week still can have one: at least a tenth of one a week.
    expected = np.maximum(expected, 0.1 * window / base)
    observed = np.array([float(now.get(sku, 0)) for sku in skus])
    return read._entity_frame(skus, count_scores(observed, expected, extra_cv=RETURN_EXTRA_CV), volumes)


def _returns_by_sku(conn: Connection, start: int, end: int) -> dict[str, int]:
    """Returns (parcels sent back, whatever their units) per SKU received in [start, end)."""
    return dict(conn.execute(
        select(Return.sku, func.count()).where(Return.ts_utc >= start * 60, Return.ts_utc < end * 60)
        .group_by(Return.sku)).all())


# --- what moved -----------------------------------------------------------------------------

EXPLAINED_BY = {
    "sessions_anomaly": "visitor type",
    "conversion_anomaly": "channel",
    "return_anomaly": "return reason",
}


def explain(conn: Connection, metric: str, entity_id: str, window_minutes: int, as_of_minute: int) -> pd.DataFrame | None:
    """Which values of the metric's dimension (EXPLAINED_BY) account for an anomaly: the
    window's figure per value against what the score expected of it (the median of the same
    window on earlier days; returns: the week before scaled to the window), through
    models.anomaly.explain_change (columns value, before = expected, after, change,
    share_of_change). None for metrics with nothing finer to split (a campaign's spend)."""
    if metric not in EXPLAINED_BY:
        return None
    start, end = as_of_minute - window_minutes + 1, as_of_minute + 1
    if metric == "return_anomaly":
        now = _returns_by(conn, entity_id, start, end)
        base = REFERENCE_DAYS * DAY
        expected = _returns_by(conn, entity_id, start - base, start) * (window_minutes / base)
    else:
        first = _first_minute(conn)
        days = [d for d in range(1, REFERENCE_DAYS + 1) if first is not None and start - d * DAY >= first]
        read_part = _sessions_by_type if metric == "sessions_anomaly" else _orders_by_channel
        now = read_part(conn, entity_id, start, end)
        parts = pd.DataFrame({d: read_part(conn, entity_id, start - d * DAY, end - d * DAY) for d in days})
        expected = parts.fillna(0.0).median(axis=1) if len(parts.columns) else pd.Series(dtype="float64")
    dimension = EXPLAINED_BY[metric]
    before = pd.DataFrame({"value": expected.index.astype(str), "amount": expected.to_numpy(dtype="float64")})
    after = pd.DataFrame({"value": now.index.astype(str), "amount": now.to_numpy(dtype="float64")})
    out = explain_change(before, after, dimension="value", value="amount")
    out.attrs["dimension"] = dimension
    return out


def _sessions_by_type(conn: Connection, channel: str, start: int, end: int) -> pd.Series:
    rows = conn.execute(
        select(AggTrafficMinute.is_returning, func.sum(AggTrafficMinute.sessions))
        .where(AggTrafficMinute.channel == channel, AggTrafficMinute.minute_utc >= start,
               AggTrafficMinute.minute_utc < end)
        .group_by(AggTrafficMinute.is_returning)).all()
    return pd.Series({("returning" if returning else "new"): float(n) for returning, n in rows}, dtype="float64")


def _orders_by_channel(conn: Connection, _shop: str, start: int, end: int) -> pd.Series:
    rows = conn.execute(
        select(AggSalesMinute.channel, func.sum(AggSalesMinute.paid_orders))
        .where(AggSalesMinute.minute_utc >= start, AggSalesMinute.minute_utc < end)
        .group_by(AggSalesMinute.channel)).all()
    return pd.Series({channel: float(n) for channel, n in rows}, dtype="float64")


def _returns_by(conn: Connection, sku: str, start: int, end: int) -> pd.Series:
    rows = conn.execute(
        select(Return.reason, func.count())
        .where(Return.sku == sku, Return.ts_utc >= start * 60, Return.ts_utc < end * 60)
        .group_by(Return.reason)).all()
    return pd.Series({reason: float(n) for reason, n in rows}, dtype="float64")
