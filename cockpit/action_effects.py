"""Did the action work? Each recent pause, resume or replenishment against the forecast of what
would have happened without it (models.action_effect).

Per action, the metric it was meant to move, hourly (UTC hours):
- pause_campaign / resume_campaign: the campaign's spend and attributed orders
  (agg_campaign_minute); a pause should lower both, a resume raise them.
- start_clearance: the SKU's units sold in all warehouses (agg_sku_hour) while the clearance
  ran, against the forecast from the two weeks before it: the extra units it cleared.
- replenish_sku: the SKU's units sold in that warehouse (agg_sku_hour). Nothing changes until
  the stock arrives, so the effect is measured from the order's receipt: sales recovered
  against the forecast from the two weeks before it (which hold any stock-out the order was
  meant to end). An order still open is "on its way"; a cancelled one has nothing to measure.

The history is up to HISTORY_HOURS of whole hours before the start (the action, or the stock's
arrival); the post period runs from the first whole hour after it to the last complete hour at
the data minute, capped at MAX_POST_HOURS and at the next pause or resume of the same campaign
(whose effect would otherwise be counted as this one's). The hour the action happened in is
neither: it is partly before and partly after. Effects only change when an hour completes.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection

from cockpit.metrics.action_effects import (
    campaign_hourly,
    clearances,
    first_data_hour,
    measured_actions,
    replenishment_orders,
    sku_hourly,
    sku_total_hourly,
)
from models import action_effect as model
from models.action_effect import about
from models.phrases import Phrase, phrase

HISTORY_HOURS = 14 * 24
MAX_POST_HOURS = 7 * 24
COLUMNS = ["action_id", "ts_utc", "verb", "entity", "metric", "post_hours", "actual", "counterfactual", "effect",
           "lower", "upper", "verdict"]
UNITS = "units sold"


@dataclass(frozen=True)
class _Order:
    replenishment_id: str
    status: str  # open | received | cancelled
    expected_ts_utc: int
    received_ts_utc: int | None


def _hours_index(start_hour: int, count: int) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(int(start_hour) * 3600, unit="s"), periods=count, freq="h")


def _periods(start_ts: int, data_minute: int, first_hour: int | None, stop_ts: int | None) -> tuple[int, int, int, int]:
    """(history start, history end, post start, post end) in epoch hours, half-open."""
    pre_end = int(start_ts) // 3600
    post_start = -(-int(start_ts) // 3600)
    post_end = min((int(data_minute) + 1) // 60, post_start + MAX_POST_HOURS)
    if stop_ts is not None:
        post_end = min(post_end, int(stop_ts) // 3600)
    pre_start = pre_end - HISTORY_HOURS if first_hour is None else max(pre_end - HISTORY_HOURS, first_hour)
    return min(pre_start, pre_end), pre_end, post_start, max(post_start, post_end)


def _split(frame: pd.DataFrame, column: str, pre: tuple[int, int], post: tuple[int, int]):
    values = frame.set_index("hour_utc")[column]
    before = values.loc[pre[0]:pre[1] - 1]
    after = values.loc[post[0]:post[1] - 1]
    return (pd.Series(before.to_numpy(), index=_hours_index(pre[0], len(before)), name=column),
            pd.Series(after.to_numpy(), index=_hours_index(post[0], len(after)), name=column))


def _row(action, entity: str, effect: model.ActionEffect | None, metric: str, verdict: Phrase) -> dict:
    nan = float("nan")
    numbers = ((effect.actual, effect.counterfactual, effect.effect, effect.lower, effect.upper)
               if effect is not None else (nan,) * 5)
    return dict(zip(COLUMNS, (int(action.action_id), int(action.ts_utc), action.verb, entity, metric,
                              effect.post_steps if effect is not None else 0, *numbers, verdict)))


def _campaign_rows(conn: Connection, action, data_minute: int, first_hour: int | None,
                   next_change_ts: int | None) -> list[dict]:
    pre_start, pre_end, post_start, post_end = _periods(action.ts_utc, data_minute, first_hour, next_change_ts)
    hourly = campaign_hourly(conn, action.entity_id, pre_start, post_end)
    effects = {}
    for metric in ("spend", "orders"):
        before, after = _split(hourly, metric, (pre_start, pre_end), (post_start, post_end))
        effects[metric] = model.action_effect(before, after, metric=metric, seed=int(action.action_id))
    campaign = action.entity_id
    if action.verb == "pause_campaign":
        doing, subject = (phrase("pausing campaign {campaign}", campaign=campaign),
                          phrase("Pausing campaign {campaign}", campaign=campaign))
    else:
        doing, subject = (phrase("resuming campaign {campaign}", campaign=campaign),
                          phrase("Resuming campaign {campaign}", campaign=campaign))
    verdict = model.campaign_verdict(doing, effects["spend"], effects["orders"], subject=subject)
    return [_row(action, action.entity_id, effect, metric, verdict) for metric, effect in effects.items()]


def _when(ts_utc: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts_utc, tz=timezone.utc).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _replenishment_row(conn: Connection, action, order, data_minute: int, first_hour: int | None,
                       tz: ZoneInfo) -> dict:
    sku, _, warehouse_id = action.entity_id.partition("|")
    entity = f"{sku} at {warehouse_id}"
    if order is None:
        return _row(action, entity, None, UNITS,
                    phrase("The replenishment order is no longer on record: nothing to measure"))
    if order.status == "cancelled":
        return _row(action, entity, None, UNITS, phrase("Order {order} was cancelled: nothing to measure",
                                                        order=order.replenishment_id))
    if order.status != "received" or order.received_ts_utc is None or order.received_ts_utc // 60 > data_minute:
        return _row(action, entity, None, UNITS, phrase("Order {order} still on its way (expected {when})",
                                                        order=order.replenishment_id,
                                                        when=_when(order.expected_ts_utc, tz)))
    received = int(order.received_ts_utc)
    pre_start, pre_end, post_start, post_end = _periods(received, data_minute, first_hour, None)
    hourly = sku_hourly(conn, sku, warehouse_id, pre_start, post_end)
    before, after = _split(hourly, "units_sold", (pre_start, pre_end), (post_start, post_end))
    effect = model.action_effect(before, after, metric=UNITS, seed=int(action.action_id))
    where = dict(sku=sku, warehouse=warehouse_id)
    verdict = model.verdict(
        effect, phrase("replenishing {sku} at {warehouse}", **where), metric=phrase("units sold"),
        more=lambda n: phrase("Replenishing {sku} at {warehouse} recovered about {n} units sold once the stock arrived",
                              n=n, **where),
        less=lambda n: phrase("Replenishing {sku} at {warehouse} was followed by about {n} fewer units sold than "
                              "forecast", n=n, **where))
    if effect.status == "too_early":  # counted from the stock's arrival, not from the order
        hours, when = effect.post_steps, _when(received, tz)
        verdict = (phrase("Too early to tell: {hours} hour after the stock arrived ({when})", hours=hours, when=when)
                   if hours == 1 else
                   phrase("Too early to tell: {hours} hours after the stock arrived ({when})", hours=hours, when=when))
    return _row(action, entity, effect, UNITS, verdict)


def _clearance_row(conn: Connection, action, clearance, data_minute: int, first_hour: int | None) -> dict:
    sku = action.entity_id
    if clearance is None:
        return _row(action, sku, None, UNITS, phrase("The clearance is no longer on record: nothing to measure"))
    pre_start, pre_end, post_start, post_end = _periods(action.ts_utc, data_minute, first_hour,
                                                        int(clearance.end_ts_utc))
    hourly = sku_total_hourly(conn, sku, pre_start, post_end)
    before, after = _split(hourly, "units_sold", (pre_start, pre_end), (post_start, post_end))
    effect = model.action_effect(before, after, metric=UNITS, seed=int(action.action_id))
    sale = dict(sku=sku, discount=float(clearance.discount_pct))
    if clearance.kind == "flash_sale":
        verdict = model.verdict(
            effect, phrase("the flash sale of {sku} at {discount:g}% off", **sale), metric=phrase("units sold"),
            more=lambda n: phrase("The flash sale of {sku} at {discount:g}% off cleared about {n} more units than it "
                                  "would have sold", n=n, **sale),
            less=lambda n: phrase("The flash sale of {sku} at {discount:g}% off was followed by about {n} fewer units "
                                  "sold than forecast", n=n, **sale))
    else:
        verdict = model.verdict(
            effect, phrase("the community clearance of {sku} at {discount:g}% off", **sale),
            metric=phrase("units sold"),
            more=lambda n: phrase("The community clearance of {sku} at {discount:g}% off cleared about {n} more units "
                                  "than it would have sold", n=n, **sale),
            less=lambda n: phrase("The community clearance of {sku} at {discount:g}% off was followed by about {n} "
                                  "fewer units sold than forecast", n=n, **sale))
    if effect.measured:
        revenue = float(hourly.set_index("hour_utc").loc[post_start:post_end - 1, "revenue"].sum())
        verdict = phrase("{verdict} ({sold} sold in all, {revenue} in revenue at the clearance price)", verdict=verdict,
                         sold=about(effect.actual), revenue=about(revenue))
    return _row(action, sku, effect, UNITS, verdict)


def _next_changes(actions: pd.DataFrame) -> dict[int, int]:
    """action_id -> ts_utc of the next pause or resume of the same campaign."""
    out: dict[int, int] = {}
    campaigns = actions[actions["verb"].isin(["pause_campaign", "resume_campaign"])]
    for _, group in campaigns.sort_values(["ts_utc", "action_id"]).groupby("entity_id"):
        ids, stamps = group["action_id"].to_numpy(), group["ts_utc"].to_numpy()
        out.update({int(a): int(ts) for a, ts in zip(ids[:-1], stamps[1:])})
    return out


def action_effects(conn: Connection, data_minute: int, tz: ZoneInfo, limit: int = 50, *,
                   action_id: int | None = None) -> pd.DataFrame:
    """The measured effect of the `limit` most recent done pauses, resumes, replenishments and clearances
    (or of the one action `action_id`), newest first, as of data_minute (epoch minute).

    One row per action and metric (a campaign has two: spend and orders; a replenishment one:
    units sold): COLUMNS, with ts_utc the action's time (epoch seconds), entity the campaign
    or "SKU at WAREHOUSE", post_hours the whole hours measured, actual and counterfactual
    their sums (currency for spend, counts otherwise), effect = actual - counterfactual with
    its 95% interval [lower, upper] (NaN when not measured), and verdict a sentence (a
    models.phrases.Phrase, shown with cockpit.i18n.say; the same on both rows of a campaign).
    tz only sets how times in verdicts are shown. Each measured series costs one forecast fit
    (about a second): keep `limit` small on a page."""
    actions = measured_actions(conn, limit=limit)
    if action_id is not None:
        mine = actions[actions["action_id"] == int(action_id)]
        if mine.empty:  # older than the list: read its entity's actions from its time on
            everything = measured_actions(conn, limit=100_000)
            mine = everything[everything["action_id"] == int(action_id)]
        if mine.empty:
            return pd.DataFrame(columns=COLUMNS)
        row = mine.iloc[0]
        actions = measured_actions(conn, limit=100_000, entity_id=row["entity_id"], since_ts=int(row["ts_utc"]))
    if actions.empty:
        return pd.DataFrame(columns=COLUMNS)
    next_change = _next_changes(actions)
    if action_id is not None:
        actions = actions[actions["action_id"] == int(action_id)]
    order_ids = [json.loads(a or "{}").get("replenishment_id") for a in actions["after_json"]]
    orders = replenishment_orders(conn, [o for o in order_ids if o]).set_index("replenishment_id")
    first = {"campaign": first_data_hour(conn, "campaign") if actions["verb"].isin(["pause_campaign", "resume_campaign"]).any()
             else None,
             "sku": first_data_hour(conn, "sku") if actions["verb"].isin(["replenish_sku", "start_clearance"]).any()
             else None}
    started = clearances(conn, actions.loc[actions["verb"] == "start_clearance", "action_id"].tolist())
    started = started.set_index("action_id")
    rows: list[dict] = []
    for action, order_id in zip(actions.itertuples(index=False), order_ids):
        if action.verb == "start_clearance":
            found = started.loc[int(action.action_id)] if int(action.action_id) in started.index else None
            rows.append(_clearance_row(conn, action, found, int(data_minute), first["sku"]))
        elif action.verb == "replenish_sku":
            order = None
            if order_id and order_id in orders.index:
                found = orders.loc[order_id]
                received = found["received_ts_utc"]
                order = _Order(order_id, str(found["status"]), int(found["expected_ts_utc"]),
                               None if received is None or (isinstance(received, float) and math.isnan(received))
                               else int(received))
            rows.append(_replenishment_row(conn, action, order, int(data_minute), first["sku"], tz))
        else:
            rows.extend(_campaign_rows(conn, action, int(data_minute), first["campaign"],
                                       next_change.get(int(action.action_id))))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"post_hours": "int64", **{c: "float64" for c in COLUMNS[6:11]}})

