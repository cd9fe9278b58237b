"""Traffic queries behind the pages: the funnel, conversion by hour, channel mix and engagement.

Windows are half-open minute ranges [start, end) in epoch minutes (UTC). Every function returns
a DataFrame with fixed columns (right dtypes also when empty); rates are fractions, NaN where
the denominator is 0. The small frame helpers at the bottom (`ratio`, `typed`, `bucket_sums`)
are shared with the stock and ads queries.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import BigInteger, Connection, Integer, func, literal_column, select

from cockpit.db.schema import AggSalesMinute, AggTrafficMinute, CartAdd, Channel, UvHour
from cockpit.metrics.read import unique_visitors
from cockpit.db.frames import to_frame

SECONDS_PER_MINUTE = 60

FUNNEL_COLUMNS = {
    "group": "str", "sessions": "int64", "cart_sessions": "int64", "orders": "int64", "paid_orders": "int64",
    "gmv": "float64", "view_to_cart": "float64", "cart_to_order": "float64", "order_to_pay": "float64",
    "session_conversion": "float64",
}
HOUR_COLUMNS = {
    "hour_utc": "int64", "sessions": "int64", "uv": "int64", "orders": "int64", "paid_orders": "int64",
    "gmv": "float64", "conversion_rate": "float64",
}
MIX_COLUMNS = {"channel": "str", "name": "str", "kind": "str", "sessions": "int64", "share": "float64", "is_paid": "bool"}
ENGAGEMENT_COLUMNS = {
    "channel": "str", "name": "str", "kind": "str", "sessions": "int64", "avg_session_seconds": "float64",
    "page_views_per_session": "float64", "orders": "int64", "paid_orders": "int64", "gmv": "float64",
    "content_conversion": "float64",
}
FUNNEL_GROUPINGS = ("channel", "segment", "total")


def funnel(conn: Connection, start: int, end: int, by: str) -> pd.DataFrame:
    """The shop funnel over [start, end), per channel, per segment or in total.

    by: "channel" (group = channel id, one row per channel with any data), "segment" (group =
    "new" / "returning", both always present) or "total" (one row, group = "all").
    Columns: group, sessions, cart_sessions (distinct sessions with a cart add in the window),
    orders (placed), paid_orders (placed in the window and paid), gmv (currency),
    view_to_cart = cart_sessions / sessions, cart_to_order = orders / cart_sessions,
    order_to_pay = paid_orders / orders, session_conversion = paid_orders / sessions.
    Sorted by sessions, largest first."""
    if by not in FUNNEL_GROUPINGS:
        raise ValueError(f"funnel(by={by!r}): choose one of {', '.join(FUNNEL_GROUPINGS)}")
    return funnels(conn, start, end)[by]


def funnels(conn: Connection, start: int, end: int) -> dict[str, pd.DataFrame]:
    """funnel(...) for every grouping at once ({"channel": ..., "segment": ..., "total": ...}).

    One query per source, grouped by channel and segment; the three groupings are sums of
    those cells (a session has one channel and one segment, so its distinct cart sessions add
    up), which costs a third of asking three times."""
    start, end = int(start), int(end)  # numpy integers bind as blobs in SQLite and compare wrongly

    def cells(model, *columns):
        return conn.execute(
            select(model.channel, model.is_returning, *(func.sum(column) for column in columns))
            .where(model.minute_utc >= start, model.minute_utc < end)
            .group_by(model.channel, model.is_returning)
        ).all()

    keys = ["channel", "is_returning"]
    traffic = to_frame(cells(AggTrafficMinute, AggTrafficMinute.sessions), [*keys, "sessions"])
    sales = to_frame(cells(AggSalesMinute, AggSalesMinute.orders, AggSalesMinute.paid_orders, AggSalesMinute.gmv),
                     [*keys, "orders", "paid_orders", "gmv"])
    carts = to_frame(
        conn.execute(
            select(CartAdd.channel, CartAdd.is_returning, func.count(CartAdd.session_id.distinct()))
            .where(CartAdd.ts_utc >= start * SECONDS_PER_MINUTE, CartAdd.ts_utc < end * SECONDS_PER_MINUTE)
            .group_by(CartAdd.channel, CartAdd.is_returning)
        ).all(),
        [*keys, "cart_sessions"],
    )
    for frame in (traffic, sales, carts):
        frame["is_returning"] = frame["is_returning"].astype(bool)
    grid = (
        traffic.set_index(keys)
        .join(carts.set_index(keys), how="outer")
        .join(sales.set_index(keys), how="outer")
        .reset_index()
        .fillna({"sessions": 0, "cart_sessions": 0, "orders": 0, "paid_orders": 0, "gmv": 0.0})
    )
    sums = ["sessions", "cart_sessions", "orders", "paid_orders", "gmv"]
    by_channel = grid.groupby("channel")[sums].sum()
    by_segment = grid.groupby(grid["is_returning"].map({True: "returning", False: "new"}))[sums].sum()
    by_segment = by_segment.reindex(["new", "returning"], fill_value=0)
    total = pd.DataFrame([grid[sums].sum()], index=["all"])
    return {name: _funnel_frame(frame) for name, frame in
            (("channel", by_channel), ("segment", by_segment), ("total", total))}


def _funnel_frame(sums: pd.DataFrame) -> pd.DataFrame:
    frame = sums.rename_axis("group").reset_index()
    frame = typed(frame, {name: FUNNEL_COLUMNS[name] for name in list(FUNNEL_COLUMNS)[:6]})  # all but the rates
    frame["view_to_cart"] = ratio(frame["cart_sessions"], frame["sessions"])
    frame["cart_to_order"] = ratio(frame["orders"], frame["cart_sessions"])
    frame["order_to_pay"] = ratio(frame["paid_orders"], frame["orders"])
    frame["session_conversion"] = ratio(frame["paid_orders"], frame["sessions"])
    frame = frame.sort_values(["sessions", "group"], ascending=[False, True], kind="stable")
    return typed(frame.reset_index(drop=True), FUNNEL_COLUMNS)


def conversion_by_hour(conn: Connection, start: int, end: int, tz: ZoneInfo) -> pd.DataFrame:
    """One row per UTC hour overlapping [start, end), zeros included, each counting only the
    hour's minutes inside the window.

    Columns: hour_utc (epoch hours), sessions, uv (exact distinct visitors of the hour within
    the window), orders (placed), paid_orders, gmv (currency), conversion_rate = orders / uv."""
    start, end = int(start), int(end)
    if end <= start:
        return typed(pd.DataFrame(columns=list(HOUR_COLUMNS)), HOUR_COLUMNS)
    first_hour, last_hour = start // 60, (end - 1) // 60
    hours = pd.RangeIndex(first_hour, last_hour + 1, name="hour_utc")

    def hourly(model, names):
        inner = (
            select((model.minute_utc // 60).label("hour_utc"), *(getattr(model, n) for n in names))
            .where(model.minute_utc >= start, model.minute_utc < end)
            .subquery()
        )
        rows = conn.execute(
            select(inner.c.hour_utc, *(func.sum(inner.c[n]) for n in names)).group_by(inner.c.hour_utc)
        ).all()
        return to_frame(rows, ["hour_utc", *names]).set_index("hour_utc").reindex(hours, fill_value=0)

    traffic = hourly(AggTrafficMinute, ["sessions"])
    sales = hourly(AggSalesMinute, ["orders", "paid_orders", "gmv"])

    # Whole hours in one grouped COUNT(DISTINCT) on uv_hour; a cut first or last hour through
    # the exact window reader (which picks minute rows when both ends fall in one hour).
    whole_from = first_hour if start % 60 == 0 else first_hour + 1
    whole_to = last_hour if end % 60 == 0 else last_hour - 1
    uv = pd.Series(0, index=hours, dtype="int64")
    if whole_from <= whole_to:
        rows = conn.execute(
            select(UvHour.hour_utc, func.count(UvHour.visitor_id.distinct()))
            .where(UvHour.activity == "visit", UvHour.hour_utc >= whole_from, UvHour.hour_utc <= whole_to)
            .group_by(UvHour.hour_utc)
        ).all()
        for hour, count in rows:
            uv[int(hour)] = int(count)
    for hour in {first_hour, last_hour} - set(range(whole_from, whole_to + 1)):
        uv[hour] = unique_visitors(conn, max(start, hour * 60), min(end, (hour + 1) * 60), tz)

    frame = traffic.join(sales)
    frame["uv"] = uv
    frame = typed(frame.reset_index(), {n: HOUR_COLUMNS[n] for n in HOUR_COLUMNS if n != "conversion_rate"})
    frame["conversion_rate"] = ratio(frame["orders"], frame["uv"])
    return typed(frame, HOUR_COLUMNS)


def _channel_sums(conn: Connection, start: int, end: int, model, names: list[str]) -> pd.DataFrame:
    """Sums of `names` per channel over [start, end), indexed by channel."""
    rows = conn.execute(
        select(model.channel, *(func.sum(getattr(model, n)) for n in names))
        .where(model.minute_utc >= start, model.minute_utc < end)
        .group_by(model.channel)
    ).all()
    return to_frame(rows, ["channel", *names]).set_index("channel")


def _channels(conn: Connection) -> pd.DataFrame:
    rows = conn.execute(select(Channel.channel, Channel.name, Channel.kind).order_by(Channel.channel)).all()
    return to_frame(rows, ["channel", "name", "kind"]).set_index("channel")


def channel_mix(conn: Connection, start: int, end: int) -> pd.DataFrame:
    """Every channel of the channels table over [start, end), zeros included.

    Columns: channel, name, kind, sessions, share (fraction of all sessions in the window,
    NaN when there were none), is_paid (kind == "paid"). Sorted by sessions, largest first."""
    start, end = int(start), int(end)
    channels = _channels(conn)
    total = conn.execute(
        select(func.coalesce(func.sum(AggTrafficMinute.sessions), 0))
        .where(AggTrafficMinute.minute_utc >= start, AggTrafficMinute.minute_utc < end)
    ).scalar()
    frame = channels.join(_channel_sums(conn, start, end, AggTrafficMinute, ["sessions"]), how="left")
    frame = typed(frame.fillna({"sessions": 0}).reset_index(), {n: MIX_COLUMNS[n] for n in list(MIX_COLUMNS)[:4]})
    frame["share"] = ratio(frame["sessions"], pd.Series(int(total), index=frame.index))
    frame["is_paid"] = frame["kind"] == "paid"
    frame = frame.sort_values(["sessions", "channel"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return typed(frame, MIX_COLUMNS)


def paid_share(frame: pd.DataFrame) -> float | None:
    """Fraction of all sessions that came from paid channels, from a channel_mix frame
    (None when the window had no sessions)."""
    if frame.empty or not frame["share"].notna().any():
        return None
    return float(frame.loc[frame["is_paid"], "share"].sum())


def engagement(conn: Connection, start: int, end: int) -> pd.DataFrame:
    """Per channel of the channels table over [start, end), zeros included.

    Columns: channel, name, kind, sessions, avg_session_seconds (seconds per session),
    page_views_per_session, orders (placed), paid_orders, gmv (currency),
    content_conversion = paid_orders / sessions. Sorted by sessions, largest first."""
    start, end = int(start), int(end)
    traffic = _channel_sums(conn, start, end, AggTrafficMinute, ["sessions", "page_views", "session_seconds"])
    sales = _channel_sums(conn, start, end, AggSalesMinute, ["orders", "paid_orders", "gmv"])
    frame = _channels(conn).join(traffic, how="left").join(sales, how="left")
    frame = frame.fillna(0)
    frame = typed(frame.reset_index(), {
        "channel": "str", "name": "str", "kind": "str", "sessions": "int64", "page_views": "int64",
        "session_seconds": "int64", "orders": "int64", "paid_orders": "int64", "gmv": "float64",
    })
    frame["avg_session_seconds"] = ratio(frame["session_seconds"], frame["sessions"])
    frame["page_views_per_session"] = ratio(frame["page_views"], frame["sessions"])
    frame["content_conversion"] = ratio(frame["paid_orders"], frame["sessions"])
    frame = frame.sort_values(["sessions", "channel"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return typed(frame, ENGAGEMENT_COLUMNS)


def channel_exists(conn: Connection, channel: str) -> bool:
    """Whether the channels table has `channel` (a drill-down link may name any text)."""
    return conn.execute(select(Channel.channel).where(Channel.channel == channel)).first() is not None


def channel_series(conn: Connection, channel: str, start: int, end: int, bucket_minutes: int = 10) -> pd.DataFrame:
    """One channel over [start, end) in buckets of bucket_minutes, zeros included (the last
    bucket may be shorter).

    Columns: minute_utc (bucket start, epoch minutes), sessions, cart_adds (events), orders
    (placed), paid_orders, gmv (currency)."""
    traffic = bucket_sums(
        conn, AggTrafficMinute, ["sessions", "cart_adds"], start, end, bucket_minutes, AggTrafficMinute.channel == channel
    )
    sales = bucket_sums(
        conn, AggSalesMinute, ["orders", "paid_orders", "gmv"], start, end, bucket_minutes, AggSalesMinute.channel == channel
    )
    return traffic.merge(sales, on="minute_utc")


# --- frame helpers shared by the page metrics -------------------------------------------------

def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator as float, NaN where the denominator is 0."""
    denominator = denominator.astype("float64")
    return numerator.astype("float64") / denominator.where(denominator != 0)


def typed(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The frame reduced to `columns`, in that order, each cast to its dtype.

    Integer sums arrive as Python ints (or Decimals from PostgreSQL's SUM of a bigint) and as
    object columns when a query returned no rows: numbers go through to_numeric first."""
    out = {}
    for name, dtype in columns.items():
        column = frame[name] if name in frame.columns else pd.Series(index=frame.index, dtype="object")
        if dtype in ("int64", "float64", "Int64"):
            column = pd.to_numeric(column)
            column = column.astype("float64") if dtype == "Int64" else column
        out[name] = column.astype(dtype)
    return pd.DataFrame(out, index=frame.index)


def _sum_dtype(column) -> str:
    return "int64" if isinstance(column.type, (Integer, BigInteger)) else "float64"


def bucket_sums(
    conn: Connection, model, names: list[str], start: int, end: int, bucket_minutes: int, *where
) -> pd.DataFrame:
    """Sums of `names` of a minute table per bucket of [start, end), zeros included.

    Buckets start at `start` and step by bucket_minutes; the last may be shorter. Returns
    minute_utc (bucket start) and one column per name (int64 or float64 as the column)."""
    if bucket_minutes < 1:
        raise ValueError(f"bucket_minutes must be a positive number of minutes, got {bucket_minutes}")
    start, end, bucket_minutes = int(start), int(end), int(bucket_minutes)
    dtypes = {"minute_utc": "int64", **{n: _sum_dtype(getattr(model, n)) for n in names}}
    if end <= start:
        return typed(pd.DataFrame(columns=list(dtypes)), dtypes)
    inner = (
        select(((model.minute_utc - start) // bucket_minutes).label("bucket"), *(getattr(model, n) for n in names))
        .where(model.minute_utc >= start, model.minute_utc < end, *where)
        .subquery()
    )
    rows = conn.execute(select(inner.c.bucket, *(func.sum(inner.c[n]) for n in names)).group_by(inner.c.bucket)).all()
    frame = to_frame(rows, ["bucket", *names])
    frame["minute_utc"] = pd.to_numeric(frame["bucket"]).astype("int64") * bucket_minutes + start
    frame = frame.drop(columns="bucket").set_index("minute_utc")
    frame = frame.reindex(pd.RangeIndex(start, end, bucket_minutes, name="minute_utc"), fill_value=0)
    return typed(frame.reset_index(), dtypes)


MINUTES_PER_HOUR = literal_column("60", BigInteger)  # inline: the same expression in SELECT and GROUP BY


def hourly_sessions(conn: Connection, start_hour: int, end_hour: int) -> pd.DataFrame:
    """Sessions per whole UTC hour in [start_hour, end_hour) (epoch hours) and channel, zeros
    filled: hour_utc, channel, sessions."""
    hour = (AggTrafficMinute.minute_utc // MINUTES_PER_HOUR).label("hour_utc")
    rows = conn.execute(
        select(hour, AggTrafficMinute.channel, func.sum(AggTrafficMinute.sessions))
        .where(AggTrafficMinute.minute_utc >= start_hour * 60, AggTrafficMinute.minute_utc < end_hour * 60)
        .group_by(hour, AggTrafficMinute.channel)
    ).all()
    frame = to_frame(rows, ["hour_utc", "channel", "sessions"])
    channels = sorted(set(frame["channel"])) if not frame.empty else []
    full = pd.MultiIndex.from_product([range(start_hour, end_hour), channels], names=["hour_utc", "channel"])
    if frame.empty:
        return pd.DataFrame({"hour_utc": pd.Series(dtype="int64"), "channel": pd.Series(dtype="str"),
                             "sessions": pd.Series(dtype="int64")})
    frame["hour_utc"] = pd.to_numeric(frame["hour_utc"]).astype("int64")
    frame["sessions"] = pd.to_numeric(frame["sessions"]).astype("int64")
    out = frame.set_index(["hour_utc", "channel"]).reindex(full, fill_value=0).reset_index()
    out["channel"] = out["channel"].astype("str")
    return out
