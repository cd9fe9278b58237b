"""Target 3: the overview's numbers from the raw event tables (a quick dashboard) against ours.

The naive way is what a dashboard without pre-aggregation does on every view: COUNT(DISTINCT
visitor_id) over page_views for today, the same time yesterday and last week and the last
hour, orders and GMV from orders, units from order_lines, the six-hour per-minute series from
the raw rows, campaign spend and revenue from ad_spend and orders, and stock with its sales
velocity from order_lines. Ours is what the overview loader reads for the same figures
(read.kpis, traffic_series, sales_series, campaign_performance, stock_water_levels on the
aggregate and exact-UV tables). Both run on the same seeded shop in the same run, and the
naive figures must equal ours (`differences` is empty) before anything is timed. The naive
side builds its frames from plain tuples (cockpit.db.frames.to_frame), the fast way, so the
baseline is not slowed by pandas probing SQLAlchemy Row objects.

Ours is timed as an app server's cache miss: every sample reads the published row from the
database and decodes it (cockpit.snapshots builds the frames from blocks of the payload). Nothing
decoded is kept between samples; an app server keeps a decoded minute only in its loaders'
st.cache_data, which the overview's loader benchmark (bench.panel_reads) measures separately.

Run: .venv/bin/python -m bench.run --only naive [--smoke]
"""
from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, case, func, select

from bench.harness import BenchContext, Measurement, at_least, median_of, timed
from bench.panel_reads import PAGES, load, seeded_shop
from cockpit import snapshots, views
from cockpit.db.engine import get_engine
from cockpit.db.frames import to_frame
from cockpit.db.schema import AdSpend, Campaign, CartAdd, Order, OrderLine, PageView, Session, StockLevel
from cockpit.metrics.aggregate import SECONDS_PER_MINUTE
from cockpit.metrics.read import VELOCITY_DAYS, Kpis

TARGET_RATIO = 100.0
OURS_REPEATS_FULL = 20  # ours takes milliseconds: more samples for a steady median
GMV_RTOL = 1e-9  # money sums in a different order may differ in the last bits
PAID = Order.paid_ts_utc.is_not(None)


def _in(ts_column, start: int, end: int):
    """Rows of epoch-second column ts_column inside minutes [start, end)."""
    return and_(ts_column >= start * 60, ts_column < end * 60)


def _int(value) -> int:
    return int(value or 0)  # PostgreSQL's SUM of integers is a Decimal


# --- the naive figures, from raw rows -----------------------------------------------------------

def naive_kpis(conn: Connection, start: int, end: int) -> Kpis:
    """read.Kpis of [start, end) counted from page_views, sessions, cart_adds, orders, order_lines."""
    uv, views = conn.execute(
        select(func.count(PageView.visitor_id.distinct()), func.count()).where(_in(PageView.ts_utc, start, end))
    ).one()
    sessions = conn.execute(select(func.count()).select_from(Session).where(_in(Session.ts_utc, start, end))).scalar()
    carts = conn.execute(select(func.count()).select_from(CartAdd).where(_in(CartAdd.ts_utc, start, end))).scalar()
    orders, paid, gmv, payers = conn.execute(
        select(
            func.count(), func.sum(case((PAID, 1), else_=0)), func.sum(case((PAID, Order.amount), else_=0.0)),
            func.count(case((PAID, Order.customer_id)).distinct()),
        ).where(_in(Order.ts_utc, start, end))
    ).one()
    units = conn.execute(
        select(func.sum(OrderLine.qty)).join(Order, Order.order_id == OrderLine.order_id)
        .where(_in(Order.ts_utc, start, end), PAID)
    ).scalar()
    return Kpis(start_minute=start, end_minute=end, uv=_int(uv), paying_visitors=_int(payers), sessions=_int(sessions),
                page_views=_int(views), cart_adds=_int(carts), orders=_int(orders), paid_orders=_int(paid),
                gmv=float(gmv or 0.0), units=_int(units))


def _per_minute_cell(conn: Connection, model, start: int, end: int, *columns) -> list:
    """Rows of (minute_utc, channel, is_returning, *columns) of one raw table, per minute and cell."""
    minute = model.ts_utc // SECONDS_PER_MINUTE
    return conn.execute(
        select(minute, model.channel, model.is_returning, *columns)
        .where(_in(model.ts_utc, start, end))
        .group_by(minute, model.channel, model.is_returning)
    ).all()


def _whole_shop(series: pd.DataFrame) -> pd.DataFrame:
    """Per-channel minutes summed into one row per minute with channel "all", as the overview reads them."""
    summed = series.groupby("minute_utc", as_index=False)[["sessions", "page_views", "cart_adds", "uv"]].sum()
    return summed.assign(channel="all")[["minute_utc", "channel", "sessions", "page_views", "cart_adds", "uv"]]


def naive_traffic_series(conn: Connection, start: int, end: int) -> pd.DataFrame:
    """read.traffic_series from raw rows: per minute and channel, the distinct visitors counted
    per minute, channel and segment (new/returning) and summed, as the aggregate keeps them."""
    key = ["minute_utc", "channel", "is_returning"]
    parts = [
        to_frame(_per_minute_cell(conn, Session, start, end, func.count()), columns=[*key, "sessions"]),
        to_frame(_per_minute_cell(conn, PageView, start, end, func.count(), func.count(PageView.visitor_id.distinct())),
                 columns=[*key, "page_views", "uv"]),
        to_frame(_per_minute_cell(conn, CartAdd, start, end, func.count()), columns=[*key, "cart_adds"]),
    ]
    for part in parts:
        part["is_returning"] = part["is_returning"].astype(bool)
    cells = parts[0].set_index(key).join([p.set_index(key) for p in parts[1:]], how="outer").fillna(0)
    frame = cells.groupby(level=["minute_utc", "channel"]).sum().reset_index()
    columns = ["minute_utc", "channel", "sessions", "page_views", "cart_adds", "uv"]
    return frame.astype({name: "int64" for name in columns if name != "channel"})[columns]


def naive_sales_series(conn: Connection, start: int, end: int) -> pd.DataFrame:
    """read.sales_series from orders and order_lines: every minute of [start, end), zeros included."""
    minute = Order.ts_utc // SECONDS_PER_MINUTE
    orders = to_frame(
        conn.execute(
            select(minute, func.count(), func.sum(case((PAID, 1), else_=0)), func.sum(case((PAID, Order.amount), else_=0.0)))
            .where(_in(Order.ts_utc, start, end)).group_by(minute)
        ).all(),
        columns=["minute_utc", "orders", "paid_orders", "gmv"],
    ).set_index("minute_utc")
    units = to_frame(
        conn.execute(
            select(minute, func.sum(OrderLine.qty)).join(OrderLine, OrderLine.order_id == Order.order_id)
            .where(_in(Order.ts_utc, start, end), PAID).group_by(minute)
        ).all(),
        columns=["minute_utc", "units"],
    ).set_index("minute_utc")
    frame = orders.join(units, how="outer").apply(pd.to_numeric).fillna(0)
    frame.index = frame.index.astype("int64")
    frame = frame.reindex(pd.RangeIndex(start, end, name="minute_utc"), fill_value=0).reset_index()
    return frame.astype({"minute_utc": "int64", "orders": "int64", "paid_orders": "int64", "gmv": "float64",
                         "units": "int64"})[["minute_utc", "orders", "paid_orders", "gmv", "units"]]


def naive_campaign_performance(conn: Connection, start: int, end: int) -> pd.DataFrame:
    """read.campaign_performance from ad_spend (spend, clicks) and orders (last-touch paid orders, revenue)."""
    spend = to_frame(
        conn.execute(
            select(AdSpend.campaign_id, func.sum(AdSpend.spend), func.sum(AdSpend.clicks))
            .where(AdSpend.minute_utc >= start, AdSpend.minute_utc < end).group_by(AdSpend.campaign_id)
        ).all(),
        columns=["campaign_id", "spend", "clicks"],
    ).set_index("campaign_id")
    attributed = to_frame(
        conn.execute(
            select(Order.campaign_id, func.count(), func.sum(Order.amount))
            .where(_in(Order.ts_utc, start, end), PAID, Order.campaign_id.is_not(None)).group_by(Order.campaign_id)
        ).all(),
        columns=["campaign_id", "orders", "revenue"],
    ).set_index("campaign_id")
    campaigns = to_frame(
        conn.execute(select(Campaign.campaign_id, Campaign.channel, Campaign.name, Campaign.status, Campaign.roi_floor)).all(),
        columns=["campaign_id", "channel", "name", "status", "roi_floor"],
    )
    frame = campaigns.join(spend, on="campaign_id").join(attributed, on="campaign_id")
    frame = frame.fillna({"spend": 0.0, "clicks": 0, "orders": 0, "revenue": 0.0})
    frame = frame.astype({"spend": "float64", "clicks": "int64", "orders": "int64", "revenue": "float64"})
    paid_for = frame["spend"].where(frame["spend"] > 0)
    frame["roi"] = (frame["revenue"] - frame["spend"]) / paid_for
    frame["roas"] = frame["revenue"] / paid_for
    return frame


def naive_stock_levels(conn: Connection, as_of_minute: int) -> pd.DataFrame:
    """read.stock_water_levels with the last VELOCITY_DAYS of sales counted from order_lines."""
    start = as_of_minute - VELOCITY_DAYS * 1440 + 1
    sold = to_frame(
        conn.execute(
            select(OrderLine.sku, Order.warehouse_id, func.sum(OrderLine.qty))
            .join(Order, Order.order_id == OrderLine.order_id)
            .where(_in(Order.ts_utc, start, as_of_minute + 1), PAID)
            .group_by(OrderLine.sku, Order.warehouse_id)
        ).all(),
        columns=["sku", "warehouse_id", "units_7d"],
    ).set_index(["sku", "warehouse_id"])
    levels = to_frame(
        conn.execute(select(StockLevel.sku, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.safety_stock,
                            StockLevel.reorder_point, StockLevel.lead_time_days)).all(),
        columns=["sku", "warehouse_id", "on_hand", "safety_stock", "reorder_point", "lead_time_days"],
    )
    frame = levels.join(sold, on=["sku", "warehouse_id"])
    frame["daily_velocity"] = pd.to_numeric(frame.pop("units_7d")).fillna(0).astype("float64") / VELOCITY_DAYS
    on_hand = frame["on_hand"].clip(lower=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["days_of_cover"] = np.where(frame["daily_velocity"] > 0, on_hand / frame["daily_velocity"], np.inf)
        frame["cover_ratio"] = np.where(frame["safety_stock"] > 0, on_hand / frame["safety_stock"], np.inf)
    return frame


def naive_overview(conn: Connection, data_minute: int, tz: ZoneInfo) -> dict:
    """The figures of cockpit.views.overview_numbers, from the raw event tables."""
    windows = views.day_windows(data_minute, tz)
    end = data_minute + 1
    week = 7 * 1440
    result = {label: naive_kpis(conn, start, stop) for label, (start, stop) in windows.items()}
    result["last_hour"] = naive_kpis(conn, end - 60, end)
    result["traffic"] = _whole_shop(naive_traffic_series(conn, end - 6 * 60, end))
    result["sales"] = naive_sales_series(conn, end - 6 * 60, end)
    result["traffic_last_week"] = _whole_shop(naive_traffic_series(conn, end - 6 * 60 - week, end - week))
    result["sales_last_week"] = naive_sales_series(conn, end - 6 * 60 - week, end - week)
    result["campaigns"] = naive_campaign_performance(conn, windows["today"][0], end)
    result["stock"] = naive_stock_levels(conn, data_minute)
    return result


# --- equality -----------------------------------------------------------------------------------

KPI_COUNTS = ("uv", "paying_visitors", "sessions", "page_views", "cart_adds", "orders", "paid_orders", "units")
FRAME_KEYS = {
    "traffic": (["minute_utc", "channel"], ["sessions", "page_views", "cart_adds", "uv"], []),
    "traffic_last_week": (["minute_utc", "channel"], ["sessions", "page_views", "cart_adds", "uv"], []),
    "sales": (["minute_utc"], ["orders", "paid_orders", "units"], ["gmv"]),
    "sales_last_week": (["minute_utc"], ["orders", "paid_orders", "units"], ["gmv"]),
    "campaigns": (["campaign_id"], ["clicks", "orders"], ["spend", "revenue", "roi", "roas", "roi_floor"]),
    "stock": (["sku", "warehouse_id"], ["on_hand", "safety_stock", "reorder_point"],
              ["lead_time_days", "daily_velocity", "days_of_cover", "cover_ratio"]),
}


def kpi_differences(label: str, naive: Kpis, ours: Kpis) -> list[str]:
    found = [f"{label}.{name}: naive {getattr(naive, name)} != ours {getattr(ours, name)}"
             for name in KPI_COUNTS if getattr(naive, name) != getattr(ours, name)]
    if not math.isclose(naive.gmv, ours.gmv, rel_tol=GMV_RTOL, abs_tol=1e-6):
        found.append(f"{label}.gmv: naive {naive.gmv!r} != ours {ours.gmv!r}")
    return found


def frame_differences(label: str, naive: pd.DataFrame, ours: pd.DataFrame) -> list[str]:
    keys, exact, close = FRAME_KEYS[label]
    a = naive.sort_values(keys).reset_index(drop=True)
    b = ours.sort_values(keys).reset_index(drop=True)
    if len(a) != len(b) or not (a[keys].astype(str).to_numpy() == b[keys].astype(str).to_numpy()).all():
        return [f"{label}: naive has {len(a)} rows, ours {len(b)}, or their keys differ"]
    found = []
    for name in exact:
        x, y = pd.to_numeric(a[name]).to_numpy("int64"), pd.to_numeric(b[name]).to_numpy("int64")
        if not np.array_equal(x, y):
            at = int(np.flatnonzero(x != y)[0])
            found.append(f"{label}.{name}: {int((x != y).sum())} rows differ, e.g. {a.loc[at, keys].tolist()}: "
                         f"naive {x[at]} != ours {y[at]}")
    for name in close:
        x, y = pd.to_numeric(a[name]).to_numpy("float64"), pd.to_numeric(b[name]).to_numpy("float64")
        if not np.allclose(x, y, rtol=GMV_RTOL, atol=1e-6, equal_nan=True):
            found.append(f"{label}.{name}: naive and ours differ, e.g. max |diff| {np.nanmax(np.abs(x - y))}")
    return found


def differences(naive: dict, ours: dict) -> list[str]:
    """Every figure where the naive overview and ours disagree (empty: they are equal)."""
    found = []
    for label in ("today", "yesterday", "last_week", "last_hour"):
        found += kpi_differences(label, naive[label], ours[label])
    for label in FRAME_KEYS:
        found += frame_differences(label, naive[label], ours[label])
    return found


def assert_same(naive: dict, ours: dict) -> None:
    found = differences(naive, ours)
    assert not found, "the naive overview differs from ours:\n" + "\n".join(found)


# --- the benchmark ------------------------------------------------------------------------------

def run(ctx: BenchContext) -> list[Measurement]:
    shop = seeded_shop(ctx)
    engine = get_engine(shop.url)

    def naive_pass():
        with engine.connect() as conn:
            return naive_overview(conn, shop.data_minute, shop.tz)

    def ours_pass():
        """What an app server does for the figures: read what the scheduler published."""
        with engine.connect() as conn:
            figures = views.load(conn, "overview_numbers", shop.data_minute, shop.tz)
        assert figures is not None
        return figures

    def aggregates_pass():
        with engine.connect() as conn:
            return views.overview_numbers(conn, shop.data_minute, shop.tz)

    naive_figures, ours_figures, aggregate_figures = naive_pass(), ours_pass(), aggregates_pass()  # also warms
    with engine.connect() as conn:
        assert snapshots.fetch(conn, "overview_numbers", views.snapshot_params(shop.tz, {}), shop.data_minute), \
            "the overview's figures were not published for the shop's data minute"
    assert_same(naive_figures, ours_figures)
    assert_same(naive_figures, aggregate_figures)
    today = ours_figures["today"]

    ours_repeats = ctx.size(OURS_REPEATS_FULL, ctx.repeats)
    naive_s, naive_samples = median_of(lambda: timed(naive_pass), ctx.repeats)
    ours_s, ours_samples = median_of(lambda: timed(ours_pass), ours_repeats)
    aggregates_s, _ = median_of(lambda: timed(aggregates_pass), ours_repeats)
    loader_s, _ = median_of(lambda: timed(lambda: load(shop, PAGES["overview"])), ours_repeats)
    ratio = naive_s / ours_s
    return [Measurement(
        benchmark="naive", case="overview figures: raw tables vs published aggregates", value=ours_s * 1000, unit="ms",
        target=f">= {TARGET_RATIO:g}x faster (ratio naive/ours)", met=at_least(ratio, TARGET_RATIO),
        baseline=naive_s * 1000, ratio=ratio, samples=[round(s * 1000, 3) for s in ours_samples],
        note=(f"{shop.days}-day shop, {shop.events:,} events, SQLite; equal figures asserted (today: UV {today.uv:,}, "
              f"{today.orders:,} orders, GMV {today.gmv:,.2f}); naive samples (ms) "
              f"{[round(s * 1000, 1) for s in naive_samples]}; ours reads and decodes, on every sample (no cache), the "
              f"figures the scheduler published for the minute; computing them from the aggregate tables instead "
              f"(once per minute, by the scheduler) "
              f"{aggregates_s * 1000:.1f} ms, naive/aggregates {naive_s / aggregates_s:.1f}x; the whole overview "
              f"loader (with panel states and markers) {loader_s * 1000:.1f} ms, naive/loader {naive_s / loader_s:.1f}x"),
    )]

