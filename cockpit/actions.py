"""Actions: idempotent, audited verbs (replenish, pause/resume, alert and rule handling) that return a result."""
from __future__ import annotations

import hashlib
import json
import logging
import math
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from numbers import Integral
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select, update

from cockpit import alerts, auth, snapshots
from cockpit.db.dialect import insert_ignore, write_transaction
from cockpit.db.schema import (
    ActionLog,
    AggCampaignMinute,
    AggSkuMinute,
    Alert,
    AlertRule,
    Campaign,
    Channel,
    Clearance,
    Product,
    ReplenishmentOrder,
    StockLevel,
)
from cockpit.metrics.read import campaign_performance, sku_window_rows
from cockpit.i18n import N_
from cockpit.timebuckets import day_start_minute, local_day_of
from cockpit.db.frames import to_frame
from models.phrases import Phrase, from_json, phrase, to_json, word
from models.phrases import reason as error_reason

log = logging.getLogger(__name__)

ACTIONS = ActionLog.__table__
ACTION_LOCK = "cockpit-actions"
REVIEW_DAYS = 7  # the cover a replenishment adds beyond its lead time, in days
VELOCITY_DAYS = 3  # the sales window behind a replenishment suggestion, in days
SHARE_DAYS = 28  # the window behind a warehouse's share of a SKU's sales
SERVICE_Z = 1.65  # forecast safety stock: a 95% chance of not running out before the order lands
ROI_WINDOW_MINUTES = 60  # the ROI shown before and after pausing or resuming a campaign
RECOMMEND_KINDS = ("paid", "content")  # channels that can take budget moved from a paused campaign
UTC = ZoneInfo("UTC")
MAX_KEY_LENGTH = 200
MAX_ACTOR_LENGTH = 100
MAX_REPLENISH_QTY = 1_000_000  # units in one order: more is a typo (and beyond what the qty column holds)
MAX_SNOOZE_MINUTES = 7 * 1440  # a week; to silence an alert for longer, disable its rule

VERBS = {
    "replenish_sku": "sku_warehouse",
    "pause_campaign": "campaign",
    "resume_campaign": "campaign",
    "acknowledge_alert": "alert",
    "snooze_alert": "alert",
    "update_rule": "rule",
    "set_rule_profile": "profile",
    "start_clearance": "sku",
    "end_clearance": "sku",
}
# The least role (cockpit.auth.ROLES) a user needs for each verb; checked in _claim, so every
# verb is covered. A verb missing here needs admin.
REQUIRED_ROLE = {
    "replenish_sku": "operator",
    "pause_campaign": "operator",
    "resume_campaign": "operator",
    "acknowledge_alert": "operator",
    "snooze_alert": "operator",
    "update_rule": "admin",
    "set_rule_profile": "admin",
    "start_clearance": "operator",
    "end_clearance": "operator",
}


def required_role(verb: str) -> str:
    """The least role that may do `verb` (admin for a verb REQUIRED_ROLE does not name)."""
    return REQUIRED_ROLE.get(verb, "admin")


@dataclass(frozen=True)
class ActionResult:
    """What one action did (or, with duplicate=True, what the first call with its key did)."""

    action_id: int
    verb: str  # a key of VERBS
    entity_kind: str  # sku_warehouse | campaign | alert | rule | profile
    entity_id: str  # sku_warehouse ids are "SKU|WAREHOUSE"
    result: str  # done | refused
    message: str  # in English (str of `phrase`), as actions.message stores it
    before: dict
    after: dict
    actor: str
    ts_utc: int  # epoch seconds
    automatic: bool
    duplicate: bool
    # The message as a models.phrases.Phrase, to show in any language (cockpit.i18n.say); the
    # stored text for an action audited before message_args was kept.
    phrase: Phrase | str = ""

    @property
    def done(self) -> bool:
        return self.result == "done"


@dataclass(frozen=True)
class ReplenishmentSuggestion:
    """How much to order for one SKU in one warehouse, with the numbers behind it.

    Quantities are units, velocity_3d units/day, lead_time_days and review_days days,
    expected_ts_utc epoch seconds."""

    sku: str
    warehouse_id: str
    name: str
    on_hand: int
    on_order: int
    safety_stock: int
    reorder_point: int
    lead_time_days: float
    velocity_3d: float
    review_days: int
    suggested_qty: int
    expected_ts_utc: int
    state_token: str
    explanation: str  # in English: str(explanation_phrase)
    # "forecast" (demand from the SKU's sales forecast, safety stock from its error) or
    # "velocity" (the last 3 days' pace and the pair's configured safety stock).
    method: str = "velocity"
    demand_units: float = 0.0  # expected sales over lead time + review
    safety_units: float = 0.0
    explanation_phrase: Phrase | None = None  # the explanation, to show in any language


@dataclass(frozen=True)
class ChannelRecommendation:
    """Where budget taken from a paused campaign could go: roi is a fraction over the window,
    spare_budget the shop's currency left today in the channel's eligible campaigns."""

    channel: str
    roi: float
    spare_budget: float
    campaign_ids: tuple[str, ...]
    reason: str  # in English: str(reason_phrase)
    reason_phrase: Phrase | None = None  # the reason, to show in any language


# --- transactions and keys --------------------------------------------------------------------

@contextmanager
def action_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction for one action, waiting for other writers.

    Commits when the block ends, rolls back on an exception. TimeoutError when SQLite stays
    locked beyond its busy timeout (10 s): the caller should ask the user to try again."""
    with write_transaction(engine, ACTION_LOCK, wait=True) as conn:
        if conn is None:
            raise TimeoutError("the database stayed busy with another writer; try the action again")
        yield conn


def _digest(text: str, length: int = 24) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def intent_key(verb: str, entity_id: str, state_token: str) -> str:
    """The idempotency key of "do `verb` to `entity_id` as seen in state `state_token`".

    Two screens that saw the same state and ask for the same action get the same key, so the
    second gets the first's result (duplicate=True). At most 200 characters."""
    key = f"intent:{verb}:{entity_id}:{_digest(state_token)}"
    if len(key) > MAX_KEY_LENGTH:
        key = f"intent:{verb[:40]}:{_digest(entity_id, 40)}:{_digest(state_token)}"
    return key


def _last_done_action(conn: Connection, entity_kind: str, entity_id: str | None) -> int:
    conditions = [ACTIONS.c.entity_kind == entity_kind, ACTIONS.c.result == "done"]
    if entity_id is not None:
        conditions.append(ACTIONS.c.entity_id == entity_id)
    return conn.execute(select(func.coalesce(func.max(ACTIONS.c.action_id), 0)).where(*conditions)).scalar_one()


def entity_state_token(conn: Connection, entity_kind: str, entity_id: str, now_ts: float | None = None) -> str:
    """A string that changes whenever the entity's actionable state changes, for intent_key.

    It includes the id of the last action done to the entity, so that pause, resume, pause
    again gives three different keys. entity_kind: campaign, alert, rule (entity_id the
    rule_id), profile (any entity_id) or sku_warehouse ("SKU|WAREHOUSE"; needs now_ts).
    ValueError for an unknown entity."""
    last = _last_done_action(conn, entity_kind, None if entity_kind == "profile" else entity_id)
    if entity_kind == "campaign":
        return f"{_campaign(conn, entity_id).status}:{last}"
    if entity_kind == "alert":
        row = _alert_row(conn, int(entity_id))
        return f"{row.status}:{row.level}:{row.snoozed_until_minute}:{last}"
    if entity_kind == "rule":
        row = conn.execute(select(AlertRule).where(AlertRule.rule_id == int(entity_id))).first()
        if row is None:
            raise ValueError(f"rule {entity_id} does not exist")
        values = json.dumps(_jsonable(alerts.rule_to_values(alerts.rule_from_row(row))), sort_keys=True)
        return f"{row.updated_ts_utc}:{_digest(values)}:{last}"
    if entity_kind == "profile":
        return f"{alerts.active_profile(conn)}:{last}"
    if entity_kind == "sku":
        if now_ts is None:
            raise ValueError("a sku state token needs now_ts (epoch seconds)")
        running = _running_clearance(conn, entity_id, now_ts)
        return f"{running.clearance_id if running is not None else 'none'}:{last}"
    if entity_kind == "sku_warehouse":
        if now_ts is None:
            raise ValueError("a sku_warehouse state token needs now_ts (epoch seconds)")
        sku, _, warehouse_id = entity_id.partition("|")
        return replenishment_suggestion(conn, sku, warehouse_id, now_ts).state_token
    kinds = ", ".join(sorted(set(VERBS.values())))
    raise ValueError(f"entity kind {entity_kind!r} has no state token; use one of {kinds}")


# --- the audit row ----------------------------------------------------------------------------

def _check_caller(actor: str, idempotency_key: str, now_ts: float, *entity_ids: str) -> None:
    """ValueError for a blank or over-long actor or key, a time that is no number, or an
    identifier that is no text or holds control characters (PostgreSQL refuses a NUL byte
    with a database error; a clear refusal names it)."""
    for name, text in [("actor", actor), ("idempotency_key", idempotency_key)] + [("entity id", e) for e in entity_ids]:
        if isinstance(text, str) and any(unicodedata.category(ch) == "Cc" for ch in text):
            raise ValueError(f"{name} {text!r} holds control characters")
        if name == "entity id" and not isinstance(text, str):
            raise ValueError(f"an entity id must be text, not {text!r}")
    if not isinstance(actor, str) or not actor.strip():
        raise ValueError("say who acts: actor must be a non-blank name")
    if len(actor) > MAX_ACTOR_LENGTH:
        raise ValueError(f"actor must be at most {MAX_ACTOR_LENGTH} characters")
    if not isinstance(idempotency_key, str) or not idempotency_key.strip():
        raise ValueError("an action needs a non-blank idempotency_key (see intent_key)")
    if len(idempotency_key) > MAX_KEY_LENGTH:
        raise ValueError(f"idempotency_key must be at most {MAX_KEY_LENGTH} characters; hash it")
    if not isinstance(now_ts, (int, float)) or isinstance(now_ts, bool) or not math.isfinite(now_ts):
        raise ValueError(f"now_ts must be epoch seconds, not {now_ts!r}")


def _jsonable(value):
    """Plain JSON values: numpy scalars become Python ones, NaN and infinities None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, float) or hasattr(value, "__float__"):
        number = float(value)
        return number if math.isfinite(number) else None
    return str(value)


def _dumps(value: dict) -> str:
    return json.dumps(_jsonable(value), sort_keys=True, allow_nan=False)


def stored_message(message: str, message_args: str | None) -> Phrase | str:
    """An audited action's message as a Phrase (from its message_args, the JSON of
    models.phrases.to_json), to show in the reader's language with cockpit.i18n.say; its stored
    English `message` when there is none (actions before migration 0012) or it does not render."""
    said = from_json(message_args) if isinstance(message_args, str) else None
    if said is None:
        return message
    try:
        str(said)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        log.debug("action message_args %r cannot be rendered; showing the stored message", message_args)
        return message
    return said


def _plain(value):
    """A phrase's values as JSON holds them: numpy scalars become Python ones."""
    if isinstance(value, Phrase):
        return replace(value, values={key: _plain(item) for key, item in value.values.items()})
    return value.item() if isinstance(value, np.generic) else value


def _stored(message: Phrase | str) -> dict:
    """The message columns of an audit row: the English text and, for a Phrase, its JSON."""
    return {"message": str(message), "message_args": to_json(_plain(message)) if isinstance(message, Phrase) else None}


def _result_of(row, duplicate: bool) -> ActionResult:
    return ActionResult(
        action_id=row.action_id, verb=row.verb, entity_kind=row.entity_kind, entity_id=row.entity_id,
        result=row.result, message=row.message, before=json.loads(row.before_json or "{}"),
        after=json.loads(row.after_json or "{}"), actor=row.actor, ts_utc=int(row.ts_utc),
        automatic=bool(row.automatic), duplicate=duplicate, phrase=stored_message(row.message, row.message_args),
    )


def _claim(
    conn: Connection, verb: str, entity_id: str, actor: str, key: str, now_ts: float, automatic: bool
) -> tuple[int | None, ActionResult | None]:
    """Insert the audit row for `key`: (its action_id, None), or (None, the first call's result),
    or (None, a refusal) when the actor's role may not do `verb` (cockpit.auth.refusal).

    ON CONFLICT DO NOTHING: on PostgreSQL a concurrent transaction holding the same key makes
    this one wait for it, then find its row."""
    reason = auth.refusal(conn, actor, required_role(verb), automatic=automatic)
    if reason is not None:
        return None, _deny(conn, verb, entity_id, actor, key, now_ts, automatic, reason)
    action_id = _insert_audit(conn, key, verb, entity_id, actor, now_ts, automatic, "pending", "")
    if action_id is not None:
        return action_id, None
    row = conn.execute(select(ACTIONS).where(ACTIONS.c.idempotency_key == key)).one()
    return None, _result_of(row, duplicate=True)


def _insert_audit(
    conn: Connection, key: str, verb: str, entity_id: str, actor: str, now_ts: float, automatic: bool,
    result: str, message: Phrase | str,
) -> int | None:
    """Insert an audit row unless `key` is taken: its action_id, or None."""
    return conn.execute(
        insert_ignore(conn, ACTIONS).returning(ACTIONS.c.action_id),
        {
            "idempotency_key": key, "ts_utc": int(now_ts), "actor": actor, "automatic": bool(automatic),
            "verb": verb, "entity_kind": VERBS[verb], "entity_id": entity_id[:100],
            "before_json": "{}", "after_json": "{}", "result": result, **_stored(message),
        },
    ).scalar()


def _deny(
    conn: Connection, verb: str, entity_id: str, actor: str, key: str, now_ts: float, automatic: bool,
    reason: Phrase | str,
) -> ActionResult:
    """Audit a refusal for want of a role. Its key is the actor's own, so a viewer's attempt
    never takes the intent key an operator who saw the same state will use; asked again with
    the same key, the first refusal is returned as a duplicate."""
    denied_key = f"denied:{_digest(actor + chr(0) + key, 40)}"
    inserted = _insert_audit(conn, denied_key, verb, entity_id, actor, now_ts, automatic, "refused",
                             phrase("Not allowed: {reason}.", reason=reason))
    log.warning("action %s on %s by %r refused: %s", verb, entity_id, actor, reason)
    row = conn.execute(select(ACTIONS).where(ACTIONS.c.idempotency_key == denied_key)).one()
    return _result_of(row, duplicate=inserted is None)


def _finish(
    conn: Connection, action_id: int, result: str, message: Phrase | str, before: dict, after: dict, **changes
) -> ActionResult:
    conn.execute(
        update(ACTIONS)
        .where(ACTIONS.c.action_id == action_id)
        .values(result=result, **_stored(message), before_json=_dumps(before), after_json=_dumps(after), **changes)
    )
    if result == "done":
        # What the pages show changed (a campaign's status, a rule, a pending order): the
        # published views are stale until the next refresh publishes them again.
        snapshots.forget_all(conn)
    row = conn.execute(select(ACTIONS).where(ACTIONS.c.action_id == action_id)).one()
    return _result_of(row, duplicate=False)


def _refuse(conn: Connection, action_id: int, message: Phrase | str, state: dict) -> ActionResult:
    """A refused action changes nothing: before and after are the same state."""
    return _finish(conn, action_id, "refused", message, state, state)


# --- formatting -------------------------------------------------------------------------------

def _when(ts_utc: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts_utc, tz=timezone.utc).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _num(value: float | None, digits: int = 2) -> Phrase | str:
    """A figure with thousands separators (the same in both languages), or "n/a"."""
    if value is None or not math.isfinite(value):
        return phrase("n/a")
    return f"{value:,.{digits}f}"


def _then(first: Phrase | str, *more: Phrase | str) -> Phrase | str:
    """Sentences one after another (a space between them in English, none in Chinese)."""
    for sentence in more:
        first = phrase("{message} {more}", message=first, more=sentence)
    return first


def _listed(items: list) -> Phrase | str:
    """Problems joined with "; " (phrases among them stay phrases)."""
    if not any(isinstance(item, Phrase) for item in items):
        return "; ".join(map(str, items))
    joined = items[0]
    for item in items[1:]:
        joined = phrase("{items}; {item}", items=joined, item=item)
    return joined


# --- replenishment ----------------------------------------------------------------------------

def _stock_row(conn: Connection, sku: str, warehouse_id: str, *, lock: bool = False):
    query = (
        select(StockLevel, Product.name)
        .join(Product, Product.sku == StockLevel.sku)
        .where(StockLevel.sku == sku, StockLevel.warehouse_id == warehouse_id)
    )
    row = conn.execute(query.with_for_update(of=StockLevel) if lock else query).first()
    if row is None:
        raise ValueError(
            f"no stock level for SKU {sku!r} in warehouse {warehouse_id!r}; pick a pair from the stock page"
        )
    return row


def _open_orders(conn: Connection, sku: str, warehouse_id: str) -> list[tuple[str, int]]:
    return [
        tuple(row)
        for row in conn.execute(
            select(ReplenishmentOrder.replenishment_id, ReplenishmentOrder.qty)
            .where(
                ReplenishmentOrder.sku == sku, ReplenishmentOrder.warehouse_id == warehouse_id,
                ReplenishmentOrder.status == "open",
            )
            .order_by(ReplenishmentOrder.replenishment_id)
        )
    ]


def _stock_state(conn: Connection, sku: str, warehouse_id: str, *, lock: bool = False) -> tuple:
    row = _stock_row(conn, sku, warehouse_id, lock=lock)
    orders = _open_orders(conn, sku, warehouse_id)
    state = {
        "on_hand": int(row.on_hand), "on_order": sum(int(qty) for _, qty in orders),
        "open_orders": [rid for rid, _ in orders],
    }
    return row, state


def replenishment_suggestion(conn: Connection, sku: str, warehouse_id: str, now_ts: float,
                             *, forecast: pd.DataFrame | None = None) -> ReplenishmentSuggestion:
    """The order quantity that covers lead time plus REVIEW_DAYS.

    Without a forecast: suggested_qty = max(0, ceil(velocity_3d * (lead_time_days +
    REVIEW_DAYS) + safety_stock - on_hand - on_order)), velocity_3d in units/day over epoch
    minutes (now - 3 days, now], on_order the units of open replenishment orders.

    forecast: the SKU's shop-wide daily sales forecast (cockpit.forecasting.sku_forecast:
    mean and upper 95% bound per day from today). With it, the demand is the forecast summed
    over the next lead_time_days + REVIEW_DAYS days (the last week's mean repeated past its
    horizon), and the safety stock SERVICE_Z times the forecast's error over those days (each
    day's standard deviation from its interval, independent days), both times this
    warehouse's share of the SKU's sales over the last SHARE_DAYS days. ValueError for an
    unknown pair."""
    row, state = _stock_state(conn, sku, warehouse_id)
    now_minute = int(now_ts) // 60
    lead = float(row.lead_time_days)
    share = _warehouse_share(conn, sku, warehouse_id, now_minute) if forecast is not None and len(forecast) else None
    if share is not None:
        demand, spread = _forecast_demand(forecast, lead + REVIEW_DAYS)
        demand, safety = share * demand, share * SERVICE_Z * spread
        need = demand + safety - state["on_hand"] - state["on_order"]
        qty = max(0, math.ceil(round(need, 6)))
        explanation = phrase(
            "forecast demand {demand} units over the next {days:g} days (lead time {lead:g} + review {review}; this "
            "warehouse sells {share:.0%} of the SKU) + safety stock {safety} ({z} × the forecast's error) − on hand "
            "{on_hand} − on order {on_order} = {need}, so order {qty} units",
            demand=_num(demand, 1), days=lead + REVIEW_DAYS, lead=lead, review=REVIEW_DAYS, share=float(share),
            safety=_num(safety, 1), z=SERVICE_Z, on_hand=state["on_hand"], on_order=state["on_order"],
            need=_num(need, 1), qty=qty,
        )
        return _suggestion(conn, row, state, sku, warehouse_id, now_ts, qty, explanation, velocity=0.0,
                           method="forecast", demand=demand, safety=safety)
    sold = conn.execute(
        select(func.coalesce(func.sum(AggSkuMinute.units_sold), 0)).where(
            AggSkuMinute.sku == sku, AggSkuMinute.warehouse_id == warehouse_id,
            AggSkuMinute.minute_utc > now_minute - VELOCITY_DAYS * 1440, AggSkuMinute.minute_utc <= now_minute,
        )
    ).scalar_one()
    velocity = float(sold) / VELOCITY_DAYS
    need = velocity * (lead + REVIEW_DAYS) + row.safety_stock - state["on_hand"] - state["on_order"]
    # round first so that 120.0000000001 from float arithmetic does not become 121
    qty = max(0, math.ceil(round(need, 6)))
    explanation = phrase(
        "{velocity:,.2f} units/day sold over the last {days} days × (lead time {lead:g} + review {review} days) + "
        "safety stock {safety} − on hand {on_hand} − on order {on_order} = {need:,.1f}, so order {qty} units",
        velocity=velocity, days=VELOCITY_DAYS, lead=lead, review=REVIEW_DAYS, safety=int(row.safety_stock),
        on_hand=state["on_hand"], on_order=state["on_order"], need=float(need), qty=qty,
    )
    return _suggestion(conn, row, state, sku, warehouse_id, now_ts, qty, explanation, velocity=velocity,
                       method="velocity", demand=velocity * (lead + REVIEW_DAYS), safety=float(row.safety_stock))


def _suggestion(conn, row, state, sku, warehouse_id, now_ts, qty, explanation, *, velocity, method, demand, safety):
    last = _last_done_action(conn, "sku_warehouse", f"{sku}|{warehouse_id}")
    token = f"{state['on_hand']}:{state['on_order']}:{','.join(state['open_orders'])}:{last}"
    lead = float(row.lead_time_days)
    return ReplenishmentSuggestion(
        sku=sku, warehouse_id=warehouse_id, name=row.name, on_hand=state["on_hand"], on_order=state["on_order"],
        safety_stock=int(row.safety_stock), reorder_point=int(row.reorder_point), lead_time_days=lead,
        velocity_3d=velocity, review_days=REVIEW_DAYS, suggested_qty=qty,
        expected_ts_utc=int(now_ts + lead * 86400), state_token=token, explanation=str(explanation),
        method=method, demand_units=float(demand), safety_units=float(safety), explanation_phrase=explanation,
    )


def _warehouse_share(conn: Connection, sku: str, warehouse_id: str, now_minute: int) -> float | None:
    """The pair's share of the SKU's units sold over the last SHARE_DAYS days; None when the
    SKU sold nothing (no basis to split a forecast by)."""
    rows = sku_window_rows(now_minute + 1 - SHARE_DAYS * 1440, now_minute + 1).subquery()
    sold = dict(conn.execute(select(rows.c.warehouse_id, func.sum(rows.c.units_sold))
                             .where(rows.c.sku == sku).group_by(rows.c.warehouse_id)).all())
    total = float(sum(sold.values()))
    return float(sold.get(warehouse_id, 0)) / total if total > 0 else None


def _forecast_demand(forecast: pd.DataFrame, days: float) -> tuple[float, float]:
    """(expected units, their standard deviation) over the next `days` days of a daily
    forecast with columns mean and upper (the 95% bound); past the forecast's horizon its
    last week's mean and spread repeat."""
    mean = forecast["mean"].to_numpy(dtype="float64")
    sd = (forecast["upper"].to_numpy(dtype="float64") - mean) / 1.96
    whole = int(math.floor(days))
    if whole + 1 > len(mean):
        extra = whole + 1 - len(mean)
        tail_mean, tail_sd = float(mean[-7:].mean()), float(sd[-7:].mean())
        mean = np.concatenate([mean, np.full(extra, tail_mean)])
        sd = np.concatenate([sd, np.full(extra, tail_sd)])
    weights = np.zeros(len(mean))
    weights[:whole] = 1.0
    weights[whole] = days - whole  # a part day at the end
    return float((weights * mean).sum()), float(np.sqrt((weights * sd ** 2).sum()))


def replenish_sku(
    conn: Connection, sku: str, warehouse_id: str, qty: int, actor: str, idempotency_key: str, now_ts: float,
    *, automatic: bool = False, tz: ZoneInfo = UTC,
) -> ActionResult:
    """Open a replenishment order of `qty` units (a whole number from 1 to MAX_REPLENISH_QTY,
    else refused).

    The order is "RO-A-<action_id>", expected now + the pair's lead_time_days; `tz` only sets
    how the message shows that time. before/after: on_hand, on_order (units), open_orders
    (ids); after adds replenishment_id, qty and expected_ts_utc (epoch seconds). ValueError
    for a blank actor or key or an unknown SKU/warehouse pair."""
    _check_caller(actor, idempotency_key, now_ts, sku, warehouse_id)
    entity_id = f"{sku}|{warehouse_id}"
    _stock_row(conn, sku, warehouse_id)
    action_id, first = _claim(conn, "replenish_sku", entity_id, actor, idempotency_key, now_ts, automatic)
    if first is not None:
        return first
    row, before = _stock_state(conn, sku, warehouse_id, lock=True)
    if not isinstance(qty, Integral) or isinstance(qty, bool) or qty <= 0:
        return _refuse(conn, action_id, phrase(
            "Not replenished: the quantity must be a whole number of units above 0, not {qty}", qty=repr(qty)), before)
    if qty > MAX_REPLENISH_QTY:
        return _refuse(conn, action_id, phrase(
            "Not replenished: one order is at most {most:,} units, not {qty:,}; check the quantity",
            most=MAX_REPLENISH_QTY, qty=int(qty)), before)
    qty = int(qty)
    replenishment_id = f"RO-A-{action_id}"
    expected = int(now_ts + float(row.lead_time_days) * 86400)
    conn.execute(
        insert(ReplenishmentOrder).values(
            replenishment_id=replenishment_id, sku=sku, warehouse_id=warehouse_id, qty=qty,
            created_ts_utc=int(now_ts), expected_ts_utc=expected, status="open", source="action",
            created_by=actor,
        )
    )
    _, after = _stock_state(conn, sku, warehouse_id)
    after.update(replenishment_id=replenishment_id, qty=qty, expected_ts_utc=expected)
    message = phrase("Replenishment {order} of {qty} units for {sku} at {warehouse}, expected {expected}",
                     order=replenishment_id, qty=qty, sku=sku, warehouse=warehouse_id, expected=_when(expected, tz))
    return _finish(conn, action_id, "done", message, before, after)


# --- campaigns --------------------------------------------------------------------------------

def _campaign(conn: Connection, campaign_id: str, *, lock: bool = False):
    query = select(Campaign).where(Campaign.campaign_id == campaign_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise ValueError(f"campaign {campaign_id!r} does not exist; pick one from the campaigns page")
    return row


def _spend_today(conn: Connection, now_minute: int, tz: ZoneInfo) -> dict[str, float]:
    """Spend per campaign since the shop's local midnight, up to now_minute (inclusive)."""
    start = day_start_minute(local_day_of(now_minute, tz), tz)
    rows = conn.execute(
        select(AggCampaignMinute.campaign_id, func.sum(AggCampaignMinute.spend))
        .where(AggCampaignMinute.minute_utc >= start, AggCampaignMinute.minute_utc <= now_minute)
        .group_by(AggCampaignMinute.campaign_id)
    ).all()
    return {campaign_id: float(spend or 0.0) for campaign_id, spend in rows}


def _campaign_state(conn: Connection, row, now_minute: int, tz: ZoneInfo) -> dict:
    perf = campaign_performance(conn, now_minute - ROI_WINDOW_MINUTES + 1, now_minute + 1)
    mine = perf[perf["campaign_id"] == row.campaign_id]
    roi = float(mine["roi"].iloc[0]) if len(mine) else math.nan
    return {
        "status": row.status, "channel": row.channel, "roi_60m": roi, "roi_floor": float(row.roi_floor),
        "spend_today": _spend_today(conn, now_minute, tz).get(row.campaign_id, 0.0),
        "daily_budget": float(row.daily_budget),
    }


def recommend_channel(
    conn: Connection, exclude_channel: str, now_ts: float, tz: ZoneInfo, window_minutes: int = 180
) -> ChannelRecommendation | None:
    """The paid or content channel (other than exclude_channel) best placed to take budget.

    Eligible: channels with at least one active campaign whose spend since the shop's local
    midnight (in `tz`) is below its daily_budget. Among them, the best ROI ((revenue - spend) /
    spend, from agg_campaign_minute over the last window_minutes of those eligible campaigns);
    a channel that spent nothing in the window has no ROI and is not recommended. Ties go to
    the larger spare budget. None when no channel qualifies."""
    now_minute = int(now_ts) // 60
    campaigns = conn.execute(
        select(Campaign.campaign_id, Campaign.channel, Campaign.daily_budget)
        .join(Channel, Channel.channel == Campaign.channel)
        .where(Campaign.status == "active", Channel.kind.in_(RECOMMEND_KINDS), Campaign.channel != exclude_channel)
        .order_by(Campaign.campaign_id)
    ).all()
    spent = _spend_today(conn, now_minute, tz)
    eligible: dict[str, list[tuple[str, float]]] = {}
    for campaign_id, channel, budget in campaigns:
        spare = float(budget) - spent.get(campaign_id, 0.0)
        if spare > 0:
            eligible.setdefault(channel, []).append((campaign_id, spare))
    if not eligible:
        return None
    ids = [campaign_id for members in eligible.values() for campaign_id, _ in members]
    totals = {
        campaign_id: (float(spend or 0.0), float(revenue or 0.0))
        for campaign_id, spend, revenue in conn.execute(
            select(
                AggCampaignMinute.campaign_id, func.sum(AggCampaignMinute.spend), func.sum(AggCampaignMinute.revenue)
            )
            .where(
                AggCampaignMinute.campaign_id.in_(ids),
                AggCampaignMinute.minute_utc > now_minute - window_minutes,
                AggCampaignMinute.minute_utc <= now_minute,
            )
            .group_by(AggCampaignMinute.campaign_id)
        )
    }
    candidates = []
    for channel, members in eligible.items():
        spend = sum(totals.get(campaign_id, (0.0, 0.0))[0] for campaign_id, _ in members)
        revenue = sum(totals.get(campaign_id, (0.0, 0.0))[1] for campaign_id, _ in members)
        if spend <= 0:
            continue
        spare = sum(s for _, s in members)
        candidates.append(((revenue - spend) / spend, spare, channel, tuple(c for c, _ in members)))
    if not candidates:
        return None
    roi, spare, channel, campaign_ids = min(candidates, key=lambda c: (-c[0], -c[1], c[2]))
    reason = phrase(
        "{channel} has the best ROI among channels with budget left today: {roi:,.2f} over the last {hours:g} h, "
        "with {spare:,.2f} of daily budget unspent in {campaigns}",
        channel=channel, roi=roi, hours=window_minutes / 60, spare=spare, campaigns=", ".join(campaign_ids),
    )
    return ChannelRecommendation(channel=channel, roi=roi, spare_budget=spare, campaign_ids=campaign_ids,
                                 reason=str(reason), reason_phrase=reason)


def _recommendation_values(recommendation: ChannelRecommendation | None) -> dict | None:
    if recommendation is None:
        return None
    return {
        "channel": recommendation.channel, "roi": recommendation.roi, "spare_budget": recommendation.spare_budget,
        "campaign_ids": list(recommendation.campaign_ids), "reason": recommendation.reason,
    }


def pause_campaign(
    conn: Connection, campaign_id: str, actor: str, idempotency_key: str, now_ts: float,
    *, automatic: bool = False, reason: Phrase | str = "", tz: ZoneInfo = UTC,
) -> ActionResult:
    """Set a campaign's status to paused (refused when it is not active).

    `reason` (text, or a Phrase to show in any language) ends the message. before/after:
    status, channel, roi_60m (fraction, last 60 minutes), roi_floor,
    spend_today and daily_budget (currency; "today" is the local day in `tz`, the shop's zone);
    after adds "recommendation", the channel recommend_channel suggests for the budget (or
    None), which the message names too. ValueError for an unknown campaign."""
    return _set_campaign_status(
        conn, campaign_id, actor, idempotency_key, now_ts, "paused", automatic=automatic, reason=reason, tz=tz
    )


def resume_campaign(
    conn: Connection, campaign_id: str, actor: str, idempotency_key: str, now_ts: float,
    *, automatic: bool = False, reason: Phrase | str = "", tz: ZoneInfo = UTC,
) -> ActionResult:
    """Set a paused campaign's status back to active (refused when it is not paused).

    before/after as for pause_campaign, without a recommendation. ValueError for an unknown
    campaign."""
    return _set_campaign_status(
        conn, campaign_id, actor, idempotency_key, now_ts, "active", automatic=automatic, reason=reason, tz=tz
    )


# The messages of a campaign's status change, by the status asked for; the statuses as words.
CAMPAIGN_DONE = {
    "paused": "Paused campaign {campaign} ({channel}); ROI over the last {minutes} minutes {roi} against a floor of "
              "{floor:,.2f}, {spent:,.2f} of {budget:,.2f} spent today.",
    "active": "Resumed campaign {campaign} ({channel}); ROI over the last {minutes} minutes {roi} against a floor of "
              "{floor:,.2f}, {spent:,.2f} of {budget:,.2f} spent today.",
}
CAMPAIGN_REFUSED = {
    "paused": "Not paused: campaign {campaign} is already {status}.",
    "active": "Not resumed: campaign {campaign} is already {status}.",
}
STATUS_WORDS = {"active": "active", "paused": "paused"}


def _set_campaign_status(
    conn: Connection, campaign_id: str, actor: str, key: str, now_ts: float, target: str,
    *, automatic: bool, reason: Phrase | str, tz: ZoneInfo,
) -> ActionResult:
    _check_caller(actor, key, now_ts, campaign_id)
    _campaign(conn, campaign_id)
    verb = "pause_campaign" if target == "paused" else "resume_campaign"
    action_id, first = _claim(conn, verb, campaign_id, actor, key, now_ts, automatic)
    if first is not None:
        return first
    now_minute = int(now_ts) // 60
    row = _campaign(conn, campaign_id, lock=True)  # re-read under a row lock: a concurrent pause waits here
    before = _campaign_state(conn, row, now_minute, tz)
    required = "active" if target == "paused" else "paused"
    if isinstance(reason, str):
        reason = reason.strip()
    because = [phrase("Reason: {reason}", reason=reason)] if reason else []
    if row.status != required:
        status = word(STATUS_WORDS, row.status)
        refusal = phrase(CAMPAIGN_REFUSED[target], campaign=campaign_id, status=status)
        return _refuse(conn, action_id, _then(refusal, *because), before)
    conn.execute(update(Campaign).where(Campaign.campaign_id == campaign_id).values(status=target))
    after = {**before, "status": target}
    message = phrase(CAMPAIGN_DONE[target], campaign=campaign_id, channel=row.channel, minutes=ROI_WINDOW_MINUTES,
                     roi=_num(before["roi_60m"]), floor=before["roi_floor"], spent=before["spend_today"],
                     budget=before["daily_budget"])
    if target == "paused":
        recommendation = recommend_channel(conn, row.channel, now_ts, tz)
        after["recommendation"] = _recommendation_values(recommendation)
        advice = (phrase("Consider moving budget to {channel}: {reason}.", channel=recommendation.channel,
                         reason=recommendation.reason_phrase)
                  if recommendation else phrase("No other paid or content channel has budget left today to take it."))
        message = _then(message, advice)
    return _finish(conn, action_id, "done", _then(message, *because), before, after)


# --- alerts -----------------------------------------------------------------------------------

def _alert_row(conn: Connection, alert_id: int):
    row = conn.execute(select(Alert).where(Alert.alert_id == alert_id)).first()
    if row is None:
        raise ValueError(f"alert {alert_id} does not exist")
    return row


def _claim_alert(conn: Connection, verb: str, alert_id: int, actor: str, key: str, now_ts: float):
    """Check the caller and the alert, claim the key: (action_id, the first result if the key
    was used before, the alert's column values)."""
    _check_caller(actor, key, now_ts)
    _alert_row(conn, alert_id)
    action_id, first = _claim(conn, verb, str(alert_id), actor, key, now_ts, False)
    row = dict(_alert_row(conn, alert_id)._mapping) if first is None else None
    return action_id, first, row


def acknowledge(conn: Connection, alert_id: int, actor: str, idempotency_key: str, now_ts: float) -> ActionResult:
    """Acknowledge an open alert; refused when it is resolved or already acknowledged.

    before/after are the alert's column values. ValueError for an unknown alert."""
    action_id, first, row = _claim_alert(conn, "acknowledge_alert", alert_id, actor, idempotency_key, now_ts)
    if first is not None:
        return first
    if row["status"] != "open":
        return _refuse(conn, action_id, phrase("Not acknowledged: alert {alert_id} is already {status}.",
                                               alert_id=alert_id, status=word(alerts.STATUS_WORDS, row["status"])), row)
    before, after = alerts.acknowledge_alert(conn, alert_id, actor)
    message = phrase("Acknowledged alert {alert_id}: {message}", alert_id=alert_id,
                     message=alerts.stored_phrase(row["message"], row.get("message_args")))
    return _finish(conn, action_id, "done", message, before, after)


def snooze(
    conn: Connection, alert_id: int, minutes: int, actor: str, idempotency_key: str, now_ts: float,
    *, tz: ZoneInfo = UTC,
) -> ActionResult:
    """Snooze an open or acknowledged alert for `minutes` (a whole number from 1 to
    MAX_SNOOZE_MINUTES) from now's minute.

    Refused when the alert is resolved or minutes is out of that range. before/after are the
    alert's column values (snoozed_until_minute in epoch minutes); `tz` only sets how the
    message shows the wake-up time. ValueError for an unknown alert."""
    action_id, first, row = _claim_alert(conn, "snooze_alert", alert_id, actor, idempotency_key, now_ts)
    if first is not None:
        return first
    if row["status"] not in alerts.ACTIVE_STATUSES:
        return _refuse(conn, action_id, phrase("Not snoozed: alert {alert_id} is {status}.", alert_id=alert_id,
                                               status=word(alerts.STATUS_WORDS, row["status"])), row)
    if not isinstance(minutes, Integral) or isinstance(minutes, bool) or minutes <= 0:
        return _refuse(conn, action_id, phrase("Not snoozed: minutes must be a whole number above 0, not {minutes}.",
                                               minutes=repr(minutes)), row)
    if minutes > MAX_SNOOZE_MINUTES:
        return _refuse(conn, action_id, phrase(
            "Not snoozed: at most {most} minutes (a week), not {minutes:,}; disable the alert's rule to silence it "
            "for longer.", most=MAX_SNOOZE_MINUTES, minutes=int(minutes)), row)
    until = int(now_ts) // 60 + int(minutes)
    before, after = alerts.snooze_alert(conn, alert_id, until, actor)
    message = phrase("Snoozed alert {alert_id} for {minutes} minutes, until {until}", alert_id=alert_id,
                     minutes=int(minutes), until=_when(until * 60, tz))
    return _finish(conn, action_id, "done", message, before, after)


# --- rules ------------------------------------------------------------------------------------

def _rule_values(conn: Connection, rule: alerts.Rule) -> dict:
    """The stored column values of `rule` (by rule_id, else by profile and name); {} when there is
    none, or when those keys are not values the table could hold (there is nothing to look up)."""
    if alerts.rule_key_problems(rule):
        return {}
    if rule.rule_id is not None:
        row = conn.execute(select(AlertRule).where(AlertRule.rule_id == rule.rule_id)).first()
    else:
        row = conn.execute(
            select(AlertRule).where(AlertRule.profile == rule.profile, AlertRule.name == rule.name)
        ).first()
    return alerts.rule_to_values(alerts.rule_from_row(row)) if row is not None else {}


def update_rule(conn: Connection, rule: alerts.Rule, actor: str, idempotency_key: str, now_ts: float) -> ActionResult:
    """Save `rule` (alerts.save_rule) with updated_ts_utc = now; refused with the problems
    joined in the message when it is invalid. before/after are the rule's column values
    ({} before a new rule); entity_id is the rule_id (profile/name while none exists, "invalid"
    when its name, profile or rule_id is not a value the table could hold)."""
    _check_caller(actor, idempotency_key, now_ts)
    if alerts.rule_key_problems(rule):
        entity_id = "invalid"  # its name or rule_id may not even be storable text; the message shows them
    else:
        existing = _rule_values(conn, rule).get("rule_id", rule.rule_id)
        entity_id = str(existing) if existing is not None else f"{rule.profile}/{rule.name}"
    action_id, first = _claim(conn, "update_rule", entity_id, actor, idempotency_key, now_ts, False)
    if first is not None:
        return first
    before = _rule_values(conn, rule)
    problems = alerts.save_rule(conn, replace(rule, updated_ts_utc=int(now_ts)))
    if problems:
        return _refuse(conn, action_id, phrase("Rule {rule} not saved: {problems}.", rule=repr(rule.name),
                                               problems=_listed(problems)), before)
    after = _rule_values(conn, rule)
    changed = sorted(name for name in after if name != "updated_ts_utc" and before.get(name) != after.get(name))
    named = {"rule": repr(rule.name), "profile": str(rule.profile)}
    if not before:
        message = phrase("Rule {rule} ({profile}) created.", **named)
    elif changed:
        message = phrase("Rule {rule} ({profile}) changed {fields}.", fields=", ".join(changed), **named)
    else:
        message = phrase("Rule {rule} ({profile}) saved unchanged.", **named)
    return _finish(conn, action_id, "done", message, before, after, entity_id=str(after["rule_id"]))


def set_rule_profile(conn: Connection, profile: str, actor: str, idempotency_key: str, now_ts: float) -> ActionResult:
    """Make `profile` the active alert rule set; refused when it has no rules or is already active.

    before/after: {"profile": the active profile}."""
    _check_caller(actor, idempotency_key, now_ts, str(profile))
    action_id, first = _claim(conn, "set_rule_profile", str(profile), actor, idempotency_key, now_ts, False)
    if first is not None:
        return first
    before = {"profile": alerts.active_profile(conn)}
    if before["profile"] == profile:
        return _refuse(conn, action_id, phrase("Rule profile {profile} is already active.", profile=repr(profile)),
                       before)
    try:
        alerts.set_active_profile(conn, profile)
    except ValueError as exc:
        return _refuse(conn, action_id, phrase("Rule profile not changed: {reason}.", reason=error_reason(exc)), before)
    after = {"profile": alerts.active_profile(conn)}
    message = phrase("Alert rules switched from {old} to {new}.", old=repr(before["profile"]), new=repr(profile))
    return _finish(conn, action_id, "done", message, before, after)


# --- clearance of slow movers -----------------------------------------------------------------

CLEARANCE_KINDS = ("flash_sale", "community_clearance")
CLEARANCE_DISCOUNT_PCT = (5, 70)  # allowed discount, percent off the list price
CLEARANCE_MAX_DAYS = 14
CLEARANCE_PACE_DAYS = 14  # the sales pace shown before a clearance


def _product(conn: Connection, sku: str):
    row = conn.execute(select(Product.sku, Product.name, Product.price, Product.cost).where(Product.sku == sku)).first()
    if row is None:
        raise ValueError(f"product {sku!r} does not exist; pick one from the Products page")
    return row


def _running_clearance(conn: Connection, sku: str, now_ts: float):
    return conn.execute(
        select(Clearance).where(Clearance.sku == sku, Clearance.start_ts_utc <= int(now_ts),
                                Clearance.end_ts_utc > int(now_ts)).order_by(Clearance.clearance_id.desc())
    ).first()


def clearance_state(conn: Connection, sku: str, now_ts: float) -> dict:
    """A SKU's state as a clearance sees it: on_hand (units, all warehouses, negatives as 0),
    units_sold (the last CLEARANCE_PACE_DAYS days), price and cost (list, currency), and the
    clearance running at now_ts (its id, kind, discount_pct, end_ts_utc) or None."""
    product = _product(conn, sku)
    on_hand = conn.execute(select(func.coalesce(func.sum(StockLevel.on_hand), 0))
                           .where(StockLevel.sku == sku, StockLevel.on_hand > 0)).scalar_one()
    since = int(now_ts) // 60 - CLEARANCE_PACE_DAYS * 1440
    sold = conn.execute(select(func.coalesce(func.sum(AggSkuMinute.units_sold), 0))
                        .where(AggSkuMinute.sku == sku, AggSkuMinute.minute_utc > since,
                               AggSkuMinute.minute_utc <= int(now_ts) // 60)).scalar_one()
    running = _running_clearance(conn, sku, now_ts)
    return {
        "sku": sku, "name": product.name, "on_hand": int(on_hand), "units_sold": int(sold),
        "pace_days": CLEARANCE_PACE_DAYS, "price": float(product.price), "cost": float(product.cost),
        "clearance": None if running is None else {
            "clearance_id": int(running.clearance_id), "kind": running.kind, "discount_pct": float(running.discount_pct),
            "end_ts_utc": int(running.end_ts_utc)},
    }


# A clearance kind at the start of a sentence, and inside one.
CLEARANCE_NAMES = {"flash_sale": "Flash sale", "community_clearance": "Community clearance"}
CLEARANCE_WORDS = {"flash_sale": "flash sale", "community_clearance": "community clearance"}


def start_clearance(
    conn: Connection, sku: str, kind: str, discount_pct: float, days: int, actor: str, idempotency_key: str,
    now_ts: float, *, tz: ZoneInfo = UTC,
) -> ActionResult:
    """Put a slow mover on clearance: a flash sale (front-page slot) or a community clearance
    (the shop's community groups) at discount_pct off its list price for `days` days from now.

    Refused (and audited) for a kind not in CLEARANCE_KINDS, a discount outside
    CLEARANCE_DISCOUNT_PCT, days not a whole number from 1 to CLEARANCE_MAX_DAYS, a SKU already
    on clearance, or one with nothing on hand. before/after: clearance_state; after's
    "clearance" is the new one. ValueError for an unknown SKU or a blank actor or key."""
    _check_caller(actor, idempotency_key, now_ts, sku)
    _product(conn, sku)
    action_id, first = _claim(conn, "start_clearance", sku, actor, idempotency_key, now_ts, False)
    if first is not None:
        return first
    before = clearance_state(conn, sku, now_ts)
    low, high = CLEARANCE_DISCOUNT_PCT
    if kind not in CLEARANCE_KINDS:
        return _refuse(conn, action_id, phrase("Not started: the kind must be one of {kinds}, not {kind}",
                                               kinds=", ".join(CLEARANCE_KINDS), kind=repr(kind)), before)
    if (not isinstance(discount_pct, (int, float)) or isinstance(discount_pct, bool)
            or not math.isfinite(discount_pct) or not low <= discount_pct <= high):
        return _refuse(conn, action_id, phrase("Not started: the discount must be {low} to {high} percent, not "
                                               "{discount}", low=low, high=high, discount=repr(discount_pct)), before)
    if not isinstance(days, Integral) or isinstance(days, bool) or not 1 <= days <= CLEARANCE_MAX_DAYS:
        return _refuse(conn, action_id, phrase("Not started: the length must be a whole number of days from 1 to "
                                               "{most}, not {days}", most=CLEARANCE_MAX_DAYS, days=repr(days)), before)
    if before["clearance"] is not None:
        running = before["clearance"]
        return _refuse(conn, action_id, phrase(
            "Not started: {sku} is already on {kind} at {discount:g}% off until {until}", sku=sku,
            kind=phrase(CLEARANCE_WORDS.get(running["kind"], CLEARANCE_WORDS["community_clearance"])),
            discount=running["discount_pct"],
            until=_when(running["end_ts_utc"], tz)), before)
    if before["on_hand"] <= 0:
        return _refuse(conn, action_id, phrase("Not started: {sku} has nothing on hand to clear", sku=sku), before)
    end = int(now_ts) + int(days) * 86_400
    conn.execute(insert(Clearance).values(sku=sku, kind=kind, discount_pct=float(discount_pct),
                                          start_ts_utc=int(now_ts), end_ts_utc=end, action_id=action_id,
                                          created_by=actor))
    after = clearance_state(conn, sku, now_ts)
    price = before["price"] * (1 - float(discount_pct) / 100)
    message = phrase("{kind} of {sku} ({name}) at {discount:g}% off ({price:,.2f} instead of {list_price:,.2f}) until "
                     "{until}: {on_hand:,} units on hand, {sold:,} sold in the last {days} days",
                     kind=phrase(CLEARANCE_NAMES.get(kind, CLEARANCE_NAMES["community_clearance"])), sku=sku,
                     name=before["name"],
                     discount=float(discount_pct), price=price, list_price=before["price"], until=_when(end, tz),
                     on_hand=before["on_hand"], sold=before["units_sold"], days=CLEARANCE_PACE_DAYS)
    return _finish(conn, action_id, "done", message, before, after)


def end_clearance(
    conn: Connection, sku: str, actor: str, idempotency_key: str, now_ts: float, *, tz: ZoneInfo = UTC,
) -> ActionResult:
    """End the SKU's running clearance now (its price goes back to the list price); refused
    when none runs. before/after: clearance_state. ValueError for an unknown SKU."""
    _check_caller(actor, idempotency_key, now_ts, sku)
    _product(conn, sku)
    action_id, first = _claim(conn, "end_clearance", sku, actor, idempotency_key, now_ts, False)
    if first is not None:
        return first
    before = clearance_state(conn, sku, now_ts)
    if before["clearance"] is None:
        return _refuse(conn, action_id, phrase("Not ended: {sku} is not on clearance", sku=sku), before)
    conn.execute(update(Clearance).where(Clearance.clearance_id == before["clearance"]["clearance_id"])
                 .values(end_ts_utc=int(now_ts)))
    after = clearance_state(conn, sku, now_ts)
    kind = before["clearance"]["kind"]
    message = phrase("{kind} of {sku} ended at {when}; back at list price", sku=sku, when=_when(now_ts, tz),
                     kind=phrase(CLEARANCE_NAMES.get(kind, CLEARANCE_NAMES["community_clearance"])))
    return _finish(conn, action_id, "done", message, before, after)


# --- automatic actions ------------------------------------------------------------------------

AUTO_ACTOR = "scheduler"


def run_auto_actions(
    conn: Connection, transitions: Iterable[alerts.Transition], now_ts: float, tz: ZoneInfo
) -> list[ActionResult]:
    """Carry out the auto_action of the rules behind "open" and "escalate" transitions.

    Today that is pause_campaign for campaign rules, acted as "scheduler" (automatic=True).
    The key is "auto:<rule_id>:<entity_id>:<minute the alert opened>", so one alert pauses its
    campaign once: an escalation of it, or a later refresh, is a duplicate, and an operator who
    resumes the campaign is not overruled until a new alert opens. A refused pause (already
    paused) is normal. Returns the results, duplicates included."""
    results = []
    rules: dict[int, alerts.Rule | None] = {}
    for transition in transitions:
        if transition.kind not in ("open", "escalate") or transition.rule_id is None:
            continue
        if transition.rule_id not in rules:
            row = conn.execute(select(AlertRule).where(AlertRule.rule_id == transition.rule_id)).first()
            rules[transition.rule_id] = alerts.rule_from_row(row) if row is not None else None
        rule = rules[transition.rule_id]
        if rule is None or rule.auto_action != "pause_campaign" or rule.entity_kind != "campaign":
            continue
        opened = conn.execute(
            select(Alert.opened_minute).where(
                Alert.rule_id == rule.rule_id, Alert.entity_id == transition.entity_id,
                Alert.status.in_(alerts.ACTIVE_STATUSES),
            )
        ).scalar()
        key = f"auto:{rule.rule_id}:{transition.entity_id}:{opened if opened is not None else int(now_ts) // 60}"
        try:
            result = pause_campaign(
                conn, transition.entity_id, AUTO_ACTOR, key[:MAX_KEY_LENGTH], now_ts,
                automatic=True, reason=alerts.stored_phrase(transition.message, transition.message_args), tz=tz,
            )
        except ValueError as exc:  # e.g. a campaign that is not in the campaigns table
            log.warning("auto action of rule %s on %s skipped: %s", rule.rule_id, transition.entity_id, exc)
            continue
        if not result.duplicate:
            log.info("auto action: %s", result.message)
        results.append(result)
    return results


# --- reading ----------------------------------------------------------------------------------

AUDIT_COLUMNS = [
    "action_id", "ts_utc", "actor", "automatic", "verb", "entity_kind", "entity_id", "result", "message",
    "before_json", "after_json", "message_args",
]
MARKER_COLUMNS = ["ts_utc", "verb", "entity_kind", "entity_id", "actor", "automatic", "label"]


def audit_log(
    conn: Connection, *, since_ts: float | None = None, limit: int = 500,
    entity_kind: str | None = None, entity_id: str | None = None,
) -> pd.DataFrame:
    """The audit log, newest first: AUDIT_COLUMNS (ts_utc epoch seconds; before_json and
    after_json as stored JSON text; message in English, message_args its JSON to show in any
    language with stored_message, None for actions before migration 0012), at most `limit`
    rows, optionally from since_ts on and for one entity kind / entity."""
    conditions = [ACTIONS.c.result != "pending"]
    if since_ts is not None:
        conditions.append(ACTIONS.c.ts_utc >= math.ceil(since_ts))
    if entity_kind is not None:
        conditions.append(ACTIONS.c.entity_kind == entity_kind)
    if entity_id is not None:
        conditions.append(ACTIONS.c.entity_id == entity_id)
    rows = conn.execute(
        select(*(ACTIONS.c[name] for name in AUDIT_COLUMNS))
        .where(*conditions)
        .order_by(ACTIONS.c.ts_utc.desc(), ACTIONS.c.action_id.desc())
        .limit(int(limit))
    ).all()
    frame = to_frame(rows, AUDIT_COLUMNS)
    frame["automatic"] = frame["automatic"].astype(bool)
    return frame


_LABELS = {
    "pause_campaign": N_("paused {entity_id}"),
    "resume_campaign": N_("resumed {entity_id}"),
    "acknowledge_alert": N_("acknowledged alert {entity_id}"),
    "snooze_alert": N_("snoozed alert {entity_id}"),
    "update_rule": N_("edited rule {entity_id}"),
    "set_rule_profile": N_("rules: {entity_id}"),
    "start_clearance": N_("clearance of {entity_id}"),
    "end_clearance": N_("ended clearance of {entity_id}"),
}


def _label(verb: str, entity_id: str, after_json: str) -> Phrase | str:
    """A chart marker's text: a Phrase (str() English), or verb and id for a verb without one."""
    if verb == "replenish_sku":
        sku, _, warehouse_id = entity_id.partition("|")
        qty = json.loads(after_json or "{}").get("qty")
        return phrase("ordered {qty} × {sku} at {warehouse_id}", qty=qty, sku=sku, warehouse_id=warehouse_id)
    if verb == "update_rule":
        name = json.loads(after_json or "{}").get("name")
        if name:
            return Phrase(_LABELS["update_rule"], {"entity_id": name})
    return Phrase(_LABELS[verb], {"entity_id": entity_id}) if verb in _LABELS else f"{verb} {entity_id}"


def action_markers(
    conn: Connection, start_ts: float, end_ts: float, *, entity_kind: str | None = None, entity_id: str | None = None
) -> pd.DataFrame:
    """Done actions with start_ts <= ts_utc < end_ts (epoch seconds), oldest first, for chart
    annotations: MARKER_COLUMNS, label a short text such as "paused CMP-PS-GENERIC"."""
    conditions = [
        ACTIONS.c.result == "done", ACTIONS.c.ts_utc >= math.ceil(start_ts), ACTIONS.c.ts_utc < math.ceil(end_ts)
    ]
    if entity_kind is not None:
        conditions.append(ACTIONS.c.entity_kind == entity_kind)
    if entity_id is not None:
        conditions.append(ACTIONS.c.entity_id == entity_id)
    rows = conn.execute(
        select(
            ACTIONS.c.ts_utc, ACTIONS.c.verb, ACTIONS.c.entity_kind, ACTIONS.c.entity_id, ACTIONS.c.actor,
            ACTIONS.c.automatic, ACTIONS.c.after_json,
        )
        .where(*conditions)
        .order_by(ACTIONS.c.ts_utc, ACTIONS.c.action_id)
    ).all()
    frame = to_frame(rows, [*MARKER_COLUMNS[:-1], "after_json"])
    frame["automatic"] = frame["automatic"].astype(bool)
    frame["label"] = [
        _label(verb, entity, after)
        for verb, entity, after in zip(frame["verb"], frame["entity_id"], frame["after_json"])
    ]
    return frame[MARKER_COLUMNS]
