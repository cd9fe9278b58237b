"""The Logistics & supply page's value: delivery times by destination region and warehouse
tier with their spread and on-time rate, parcels in flight and the late ones, the logistics
cost share of revenue and where the cost goes, returns by sales channel (how much comes back
and how much is sold again), the returns flow (back on sale after inspection, and how long that
takes, or scrapped), and suppliers' lead times and fill rates."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from cockpit.metrics import logistics as reads
from cockpit.metrics.read import kpis
from cockpit.metrics.weekly import deliveries
from cockpit.timebuckets import day_start_minute, local_day_of
from models import logistics as model
from models.report import delivery_figures

WINDOWS = (7, 30)  # days, today included
SUPPLIER_DAYS = 90  # replenishment orders take weeks: a longer view


def logistics_page(conn: Connection, data_minute: int, tz: ZoneInfo, days: int) -> dict:
    """Everything the page shows over the last `days` shop-local days (today included)."""
    start = day_start_minute(local_day_of(data_minute, tz) - days + 1, tz)
    end = data_minute + 1
    now_ts = end * 60
    delivered = deliveries(conn, start, end)
    delivery, by_region = delivery_figures(delivered)
    _, by_tier = delivery_figures(delivered.assign(region="all regions"))
    in_flight = reads.parcels_in_flight(conn, data_minute)
    costs = reads.shipping_cost(conn, start, end)
    revenue = kpis(conn, start, end, tz).gmv
    supplier_start = day_start_minute(local_day_of(data_minute, tz) - SUPPLIER_DAYS + 1, tz)
    return {
        "days": days, "start_minute": start, "end_minute": end,
        "delivery": delivery, "delivery_by_region": by_region, "delivery_by_tier": by_tier,
        "fluctuating_regions": model.fluctuating_regions(by_region),
        "in_flight": len(in_flight), "late": model.late_parcels(in_flight, now_ts),
        "in_flight_by_region": model.in_flight_summary(in_flight, now_ts),
        "revenue": revenue, "cost_share": model.cost_share(costs, revenue),
        "cost_by_tier": model.cost_split(costs, revenue, "tier"),
        "cost_by_carrier": model.cost_split(costs, revenue, "carrier"),
        "cost_by_region": model.cost_split(costs, revenue, "region"),
        "returns_by_channel": model.channel_returns(reads.returns_by_channel(conn, start, end)),
        "returns_flow": model.returns_flow(reads.returns_flow(conn, start, end, data_minute)),
        "suppliers": model.supplier_performance(reads.supplier_orders(conn, supplier_start, end), now_ts),
    }
