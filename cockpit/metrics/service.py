"""Customer-service reads: the service's figures for a window, its daily trend, breakdowns by
reason and channel, the effect of a contact's outcome on repurchase, and one customer's contacts.

Windows are [start_minute, end_minute) in epoch minutes and select contacts by the time they
were opened (ts_utc). The figures are models.service.service_figures over the window's
contacts: bot_resolved_share (resolved by the bot without a person, of all contacts),
escalated_share, a person's first response p50/p90 in seconds and the share within the target,
resolved_share (of all contacts).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, and_, exists, func, select

from cockpit.db.frames import to_frame
from cockpit.db.schema import Order, ServiceContact
from cockpit.timebuckets import day_start_minute, local_day_of, local_days
from models.service import FIGURE_COLUMNS, RepurchaseComparison, compare_repurchase, service_figures

CONTACT_COLUMNS = ["contact_id", "customer_id", "order_id", "ts_utc", "channel", "reason", "handled_by",
                   "first_response_s", "resolved", "resolved_ts_utc"]
TREND_COLUMNS = ["day_local", *FIGURE_COLUMNS]
BREAKDOWN_COLUMNS = ["key", "share_of_contacts", *FIGURE_COLUMNS]
REPURCHASE_COLUMNS = ["contact_id", "customer_id", "ts_utc", "reason", "handled_by", "first_response_s", "resolved",
                      "repurchased"]


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Contact rows with their documented dtypes (SQLite returns booleans as 0/1)."""
    return frame.astype({"contact_id": "int64", "customer_id": "int64", "order_id": "Int64", "ts_utc": "int64",
                         "first_response_s": "Int64", "resolved": "bool", "resolved_ts_utc": "Int64"})


def contacts_in(conn: Connection, start_minute: int, end_minute: int) -> pd.DataFrame:
    """The contacts opened in [start_minute, end_minute), oldest first; CONTACT_COLUMNS
    (first_response_s and resolved_ts_utc missing where there is none, order_id where the
    contact is about no order)."""
    table = ServiceContact.__table__
    rows = conn.execute(
        select(*[table.c[c] for c in CONTACT_COLUMNS])
        .where(table.c.ts_utc >= start_minute * 60, table.c.ts_utc < end_minute * 60)
        .order_by(table.c.ts_utc, table.c.contact_id)
    ).all()
    return _typed(to_frame(rows, CONTACT_COLUMNS))


def contacts_for_customer(conn: Connection, customer_id: int) -> pd.DataFrame:
    """Every contact of one customer, newest first; CONTACT_COLUMNS (times in epoch seconds,
    UTC; first_response_s in seconds, missing for the bot). Empty when there is none."""
    table = ServiceContact.__table__
    rows = conn.execute(
        select(*[table.c[c] for c in CONTACT_COLUMNS])
        .where(table.c.customer_id == int(customer_id))
        .order_by(table.c.ts_utc.desc(), table.c.contact_id.desc())
    ).all()
    return _typed(to_frame(rows, CONTACT_COLUMNS))


def service_summary(conn: Connection, start_minute: int, end_minute: int, *, response_target_s: float) -> dict:
    """The service's figures over the window (keys FIGURE_COLUMNS, see the module docstring)."""
    return service_figures(contacts_in(conn, start_minute, end_minute), response_target_s=response_target_s)


def daily_trend(conn: Connection, start_minute: int, end_minute: int, tz: ZoneInfo, *,
                response_target_s: float) -> pd.DataFrame:
    """One row per shop-local day with contacts in the window: TREND_COLUMNS (day_local: days
    since 1970-01-01 in tz)."""
    contacts = contacts_in(conn, start_minute, end_minute)
    if contacts.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    day = local_days(contacts["ts_utc"].to_numpy() // 60, tz)
    rows = [{"day_local": int(d), **service_figures(part, response_target_s=response_target_s)}
            for d, part in contacts.groupby(day, sort=True)]
    return pd.DataFrame(rows, columns=TREND_COLUMNS)


def breakdown(conn: Connection, start_minute: int, end_minute: int, by: str, *, response_target_s: float) -> pd.DataFrame:
    """The figures per reason or per channel (`by`), most contacts first: BREAKDOWN_COLUMNS
    (key: the reason or channel; share_of_contacts: its share of the window's contacts)."""
    if by not in ("reason", "channel"):
        raise ValueError(f"breakdown by {by!r}: choose reason or channel")
    contacts = contacts_in(conn, start_minute, end_minute)
    if contacts.empty:
        return pd.DataFrame(columns=BREAKDOWN_COLUMNS)
    rows = [{"key": key, "share_of_contacts": len(part) / len(contacts),
             **service_figures(part, response_target_s=response_target_s)}
            for key, part in contacts.groupby(by, sort=True)]
    frame = pd.DataFrame(rows, columns=BREAKDOWN_COLUMNS)
    return frame.sort_values(["contacts", "key"], ascending=[False, True], ignore_index=True)


def repurchase_contacts(conn: Connection, start_minute: int, end_minute: int, as_of_minute: int, *,
                        days: int) -> pd.DataFrame:
    """Each customer's first contact opened in the window early enough to be followed for `days`
    whole days by as_of_minute (ts_utc < as_of_minute * 60 - days * 86400), and whether the
    customer placed a paid order in the `days` after it (ts_utc in (contact, contact + days]):
    REPURCHASE_COLUMNS."""
    table, orders = ServiceContact.__table__, Order.__table__
    last = min(end_minute * 60, as_of_minute * 60 - days * 86_400)
    bought = exists().where(and_(
        orders.c.customer_id == table.c.customer_id, orders.c.paid_ts_utc.is_not(None),
        orders.c.ts_utc > table.c.ts_utc, orders.c.ts_utc <= table.c.ts_utc + days * 86_400,
    ))
    rows = conn.execute(
        select(*[table.c[c] for c in REPURCHASE_COLUMNS[:-1]], bought.label("repurchased"))
        .where(table.c.ts_utc >= start_minute * 60, table.c.ts_utc < last)
        .order_by(table.c.ts_utc, table.c.contact_id)
    ).all()
    frame = to_frame(rows, REPURCHASE_COLUMNS).drop_duplicates("customer_id", ignore_index=True)
    return frame.astype({"contact_id": "int64", "customer_id": "int64", "ts_utc": "int64",
                         "first_response_s": "Int64", "resolved": "bool", "repurchased": "bool"})


RESOLUTION, RESPONSE = "resolution", "response"


def repurchase_effect(conn: Connection, start_minute: int, end_minute: int, as_of_minute: int, *, days: int,
                      response_target_s: float, confidence: float = 0.95) -> dict[str, RepurchaseComparison | None]:
    """How a contact's outcome goes with buying again (repurchase_contacts' customers):
    RESOLUTION compares customers whose first contact was left unresolved with those whose
    contact was resolved; RESPONSE, among escalated contacts with a first-response time, those
    answered after more than response_target_s with those answered within it. A comparison is
    None while one of its groups is empty."""
    frame = repurchase_contacts(conn, start_minute, end_minute, as_of_minute, days=days)
    return compare_outcomes(frame, days=days, response_target_s=response_target_s, confidence=confidence)


def compare_outcomes(frame: pd.DataFrame, *, days: int, response_target_s: float,
                     confidence: float = 0.95) -> dict[str, RepurchaseComparison | None]:
    """repurchase_effect's comparisons over repurchase_contacts' rows."""
    wait = frame["first_response_s"].astype("float64")
    answered = (frame["handled_by"] == "human") & wait.notna()
    groups = {
        RESOLUTION: (~frame["resolved"], frame["resolved"], "left unresolved", "resolved"),
        RESPONSE: (answered & (wait > response_target_s), answered & (wait <= response_target_s),
                   f"answered by a person after more than {response_target_s:g} s",
                   f"answered by a person within {response_target_s:g} s"),
    }
    out: dict[str, RepurchaseComparison | None] = {}
    for name, (group, baseline, group_label, baseline_label) in groups.items():
        if not group.any() or not baseline.any():
            out[name] = None
            continue
        out[name] = compare_repurchase(
            int(frame["repurchased"][group].sum()), int(group.sum()),
            int(frame["repurchased"][baseline].sum()), int(baseline.sum()),
            group=group_label, baseline=baseline_label, days=days, confidence=confidence,
        )
    return out


WINDOW_DAYS = {"today": 1, "7d": 7, "30d": 30}
FOLLOW_UP_DAYS = 14
EFFECT_SPAN_DAYS = 30


def window_bounds(window: str, data_minute: int, tz: ZoneInfo) -> tuple[int, int]:
    """[start, end) of "today", "7d" or "30d" (that many shop-local days, today included) up
    to the data minute."""
    if window not in WINDOW_DAYS:
        raise ValueError(f"window {window!r}: choose one of {', '.join(WINDOW_DAYS)}")
    today = local_day_of(data_minute, tz)
    return day_start_minute(today - WINDOW_DAYS[window] + 1, tz), data_minute + 1


def effect_bounds(conn: Connection, data_minute: int, *, days: int = FOLLOW_UP_DAYS,
                  span_days: int = EFFECT_SPAN_DAYS) -> tuple[int, int]:
    """[start, end) of the contacts the repurchase comparison can follow for `days` whole days:
    the `span_days` before the last `days`, from the first stored contact on."""
    end = data_minute + 1 - days * 1440
    first = conn.execute(select(func.min(ServiceContact.ts_utc))).scalar()
    start = end - span_days * 1440 if first is None else max(end - span_days * 1440, int(first) // 60)
    return min(start, end), end


def service_page(conn: Connection, data_minute: int, tz: ZoneInfo, *, window: str, response_target_s: float,
                 follow_days: int = FOLLOW_UP_DAYS) -> dict:
    """Everything the Service page shows: "window" (start, end), "summary" (service_summary),
    "trend" (daily_trend), "by_reason" and "by_channel" (breakdown), "open_contacts" (the
    window's unresolved contacts, newest first, at most 50: CONTACT_COLUMNS), "effect_window"
    (start, end), "follow_days", "effect" (repurchase_effect over effect_window) and
    "effect_customers" (how many customers it compares)."""
    start, end = window_bounds(window, data_minute, tz)
    contacts = contacts_in(conn, start, end)
    trend_start, _ = window_bounds("30d", data_minute, tz)
    lo, hi = effect_bounds(conn, data_minute, days=follow_days)
    unresolved = contacts[~contacts["resolved"]].sort_values(["ts_utc", "contact_id"], ascending=False)
    followed = repurchase_contacts(conn, lo, hi, data_minute + 1, days=follow_days)
    return {
        "window": (start, end),
        "summary": service_figures(contacts, response_target_s=response_target_s),
        "trend": daily_trend(conn, trend_start, end, tz, response_target_s=response_target_s),
        "by_reason": breakdown(conn, start, end, "reason", response_target_s=response_target_s),
        "by_channel": breakdown(conn, start, end, "channel", response_target_s=response_target_s),
        "open_contacts": unresolved.head(50).reset_index(drop=True),
        "effect_window": (lo, hi),
        "follow_days": follow_days,
        "effect": compare_outcomes(followed, days=follow_days, response_target_s=response_target_s),
        "effect_customers": len(followed),
    }
