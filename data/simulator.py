"""Seeded, vectorised generator of the simulated shop's events, one window of minutes at a time.

The simulator is pure: `simulate(catalog, state, start_minute, end_minute, scenario=..., seed=...)`
returns every event in [start_minute, end_minute) plus the future lifecycle of the orders placed
in it, and the state after the window. It touches no database and imports nothing of ours but
`data.catalog`.

Determinism: a window draws its randomness from `np.random.default_rng([seed, start_minute,
end_minute])`; customer and product traits, day-to-day noise, experiment responses and the
arrival of replenishments are pure hashes of (seed, key). The same (catalog, state, window,
scenario, seed) therefore gives identical frames; splitting a day into other windows gives a
different (equally valid) draw. Service contacts draw nothing from the window's generator:
they are hashes of (seed, order_id) and (seed, contact_id), so the same orders give the same
contacts whatever the windows (service_contacts()), and the other streams stay as they were
until the first customer the service loses stops visiting (SERVICE_TRUE_EFFECTS).

Ids are `minute_utc * 1_000_000 + k`, k counting the table's rows within that minute. The minute
is the row's own minute for sessions, page views, cart adds and orders; the creating session's
minute for marketing touches (earlier touches are back-dated); the order's minute for
shipments (shipment_id == order_id), returns, reviews and service contacts. A known customer's visitor_id is
their customer_id; a new visitor's visitor_id is their first session's id, and becomes their
customer_id when they place an order. The incident's early returns (see Scenario) take their
order's id + 500_000.

Times: every row of a session (page views, cart adds, the order, its payment or cancellation)
lies inside the window; a session that would outlive the window has its later events squeezed
into it. Shipments, deliveries, returns, reviews and service contacts lie after the order,
usually after the window: the caller parks them until their time. Earlier marketing touches of a visitor's
journey are back-dated (up to 7 days).

Updates, not inserts: `deliveries` sets shipments.delivered_ts_utc (and the order's delivered
time and status), `returns` the order's returned time and status, `replenishment_receipts`
receives an open replenishment order (received_ts_utc, qty_received, status "received").
Receipts come for every open replenishment, the state's (managers' included) or the window's,
whose arrival falls in the window: expected_ts_utc shifted by a hash of its id (early by up
to 15 % of the lead time, late by up to 30 %); one overdue before the window arrives at its start.

Stock moves only through events inside the window, and exactly so:
    on_hand(after) = on_hand(before) - qty of paid order lines (at orders.warehouse_id)
                     + replenishment_receipts.qty_received + stock_adjustments.qty_delta
Returned goods go to the returns centre: a resellable one comes back on sale after inspection
(a return_restocks row dated then, which the ingestion turns into a stock movement when its time
comes); the rest is scrapped. The window's own stock count leaves restocks out (they are dated
after the window that emits them; a live state rebuilt from the database holds them).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from data import search
from data.catalog import (
    CAMPAIGN_SPECS,
    CATEGORY_EXTRA_UNITS,
    CATEGORY_FRAGILITY,
    CATEGORY_NAMES,
    CATEGORY_SIZE_FIT,
    CHANNELS,
    COVER_DAYS,
    EXPERIMENT_TRUE_EFFECTS,
    EXPERIMENTS,
    ID_BASE,
    MINUTES_PER_DAY,
    NOVELTY_DAYS,
    REGION_DELAY_SIGMA,
    REGION_SHARE,
    REGIONS,
    SECONDS_PER_DAY,
    TZ_OFFSET_HOURS,
    WAREHOUSES,
    WINBACK_BASKET_MEAN,
    WINBACK_COUPON,
    Catalog,
    build_catalog,
    hash_uniform,
    local_day,
    product_traits,
    region_km,
    text_uniform,
    warehouse_routes,
)

__all__ = [
    "SCENARIOS",
    "EXPERIMENT_TRUE_EFFECTS",
    "SERVICE_TRUE_EFFECTS",
    "CLEARANCE_COLUMNS",
    "CLEARANCE_ELASTICITY",
    "CLEARANCE_EXPOSURE",
    "FRAME_COLUMNS",
    "TZ_OFFSET_HOURS",
    "Catalog",
    "SimState",
    "Scenario",
    "build_catalog",
    "initial_state",
    "incident_targets",
    "lost_customers",
    "promotions",
    "recent_deliveries",
    "service_contacts",
    "service_repurchase_factor",
    "simulate",
]

SCENARIOS = ("normal", "sales-event", "incident")
INCIDENT_MINUTES = 360
INCIDENT_RETURN_LOOKBACK_DAYS = 14

# --- the columns of every frame simulate returns --------------------------------------------

_I, _NI, _F, _B, _S = "int64", "Int64", "float64", "bool", "str"
# Nullable integer columns are pandas "Int64" (missing = pd.NA); text columns are "str"
# (missing = NaN).
FRAME_COLUMNS: dict[str, dict[str, str]] = {
    "customers": {"customer_id": _I, "created_ts_utc": _I, "region": _S, "acquisition_channel": _S,
                  "referred_by": _NI},
    "sessions": {"session_id": _I, "visitor_id": _I, "customer_id": _NI, "ts_utc": _I, "duration_s": _I,
                 "channel": _S, "campaign_id": _S, "is_returning": _B, "device": _S},
    "page_views": {"event_id": _I, "session_id": _I, "visitor_id": _I, "ts_utc": _I, "channel": _S,
                   "is_returning": _B, "page_type": _S, "sku": _S},
    "cart_adds": {"event_id": _I, "session_id": _I, "visitor_id": _I, "ts_utc": _I, "channel": _S,
                  "is_returning": _B, "sku": _S, "qty": _I},
    "marketing_touches": {"touch_id": _I, "visitor_id": _I, "ts_utc": _I, "channel": _S, "campaign_id": _S,
                          "touch_type": _S},
    "ad_spend": {"campaign_id": _S, "minute_utc": _I, "spend": _F, "impressions": _I, "clicks": _I},
    "experiment_assignments": {"experiment_id": _S, "customer_id": _I, "arm": _S, "ts_utc": _I},
    "orders": {"order_id": _I, "customer_id": _I, "session_id": _NI, "ts_utc": _I, "channel": _S,
               "campaign_id": _S, "is_returning": _B, "region": _S, "warehouse_id": _S, "status": _S,
               "amount": _F, "discount": _F, "paid_ts_utc": _NI, "cancelled_ts_utc": _NI,
               "shipped_ts_utc": _NI, "delivered_ts_utc": _NI, "returned_ts_utc": _NI},
    "order_lines": {"order_id": _I, "line_no": _I, "sku": _S, "qty": _I, "unit_price": _F, "unit_cost": _F},
    "shipments": {"shipment_id": _I, "order_id": _I, "warehouse_id": _S, "region": _S, "carrier": _S,
                  "shipped_ts_utc": _I, "promised_ts_utc": _I, "delivered_ts_utc": _NI, "cost": _F},
    "deliveries": {"shipment_id": _I, "order_id": _I, "delivered_ts_utc": _I},
    "returns": {"return_id": _I, "order_id": _I, "sku": _S, "qty": _I, "ts_utc": _I, "reason": _S,
                "refund_amount": _F, "resellable": _B},
    "return_restocks": {"return_id": _I, "sku": _S, "warehouse_id": _S, "qty": _I, "ts_utc": _I},
    "reviews": {"review_id": _I, "order_id": _I, "sku": _S, "customer_id": _I, "ts_utc": _I, "rating": _I,
                "text": _S},
    "replenishment_orders": {"replenishment_id": _S, "sku": _S, "warehouse_id": _S, "qty": _I,
                             "created_ts_utc": _I, "expected_ts_utc": _I, "received_ts_utc": _NI,
                             "qty_received": _NI, "status": _S, "source": _S, "created_by": _S},
    "replenishment_receipts": {"replenishment_id": _S, "received_ts_utc": _I, "qty_received": _I},
    "stock_adjustments": {"sku": _S, "warehouse_id": _S, "ts_utc": _I, "qty_delta": _I, "ref_id": _S},
    "service_contacts": {"contact_id": _I, "customer_id": _I, "order_id": _NI, "ts_utc": _I, "channel": _S,
                         "reason": _S, "handled_by": _S, "first_response_s": _NI, "resolved": _B,
                         "resolved_ts_utc": _NI},
    "searches": {"session_id": _I, "ts_utc": _I, "term": _S, "category": _S},
}
STATE_COLUMNS = {
    "customers": {"customer_id": _I, "created_ts_utc": _I, "region": _S, "acquisition_channel": _S},
    "stock": {"sku": _S, "warehouse_id": _S, "on_hand": _I, "safety_stock": _I, "reorder_point": _I,
              "lead_time_days": _F},
    "open_replenishments": {"replenishment_id": _S, "sku": _S, "warehouse_id": _S, "qty": _I,
                            "created_ts_utc": _I, "expected_ts_utc": _I},
}
RECENT_DELIVERY_COLUMNS = ("order_id", "sku", "qty", "refund_amount", "delivered_ts_utc")
LOST_CUSTOMER_COLUMNS = ("customer_id", "lost_ts_utc")
_NULL = np.iinfo(np.int64).min  # marks a missing value in nullable integer columns while building

# --- behaviour: traffic ---------------------------------------------------------------------

# Shop-local hour profiles (relative traffic per hour, normalised to mean 1): a night trough
# at 3-5h, a lunch bump, the evening peak at 20-22h; weekends sleep in and shop all afternoon.
_HOURS_WEEKDAY = np.array([0.55, 0.34, 0.22, 0.15, 0.13, 0.16, 0.28, 0.50, 0.72, 0.86, 0.95, 1.02,
                           1.22, 1.10, 0.95, 0.93, 0.95, 0.98, 1.05, 1.28, 1.58, 1.70, 1.42, 0.98])
_HOURS_WEEKEND = np.array([0.68, 0.45, 0.28, 0.18, 0.14, 0.14, 0.20, 0.34, 0.55, 0.78, 0.98, 1.08,
                           1.15, 1.15, 1.15, 1.15, 1.12, 1.08, 1.10, 1.28, 1.50, 1.60, 1.40, 1.02])
_HOURS_WEEKDAY = _HOURS_WEEKDAY / _HOURS_WEEKDAY.mean()
_HOURS_WEEKEND = _HOURS_WEEKEND / _HOURS_WEEKEND.mean()
_WEEKDAY_LEVEL = np.array([0.96, 0.95, 0.97, 0.98, 1.00, 1.08, 1.10])  # Monday .. Sunday
DAY_NOISE = 0.05  # day-to-day level noise, +-5 %

_CH = {c[0]: i for i, c in enumerate(CHANNELS)}
_CHANNEL_KIND = np.array([c[2] for c in CHANNELS], dtype=object)

# New visitors per normal day arriving outside campaigns (campaign clicks come on top).
NEW_VISITORS_PER_DAY = {"live_stream": 350.0, "kol_seeding": 200.0, "app": 200.0, "mini_program": 800.0,
                        "community": 150.0, "organic": 1300.0}
REFERRALS_PER_ALIVE_CUSTOMER_DAY = 0.055  # social_referral: customers share links with friends
# Known customers' own visits (outside campaign clicks): channel mix, and visits per expected order.
RETURNING_MIX = {"app": 0.34, "mini_program": 0.26, "community": 0.08, "organic": 0.17, "live_stream": 0.09,
                 "social_referral": 0.03, "kol_seeding": 0.03}
VISITS_PER_ORDER = 11.0
_STREAM_CH = np.array(
    [_CH[c] for c in NEW_VISITORS_PER_DAY] + [_CH["social_referral"]] + [_CH[c] for c in RETURNING_MIX]
)
_STREAM_RET = np.array([False] * (len(NEW_VISITORS_PER_DAY) + 1) + [True] * len(RETURNING_MIX))
_STREAM_REF = np.array([False] * len(NEW_VISITORS_PER_DAY) + [True] + [False] * len(RETURNING_MIX))
LANDING_RATE = 0.9  # share of ad clicks that become a session
SPEND_NOISE_SIGMA = 0.3
CLICK_ELASTICITY = 0.7  # clicks grow with spend ** 0.7: diminishing returns

# Funnel per channel for new visitors: P(cart add | session), P(order | cart add).
FUNNEL = {
    "paid_search": (0.11, 0.36), "feed_ads": (0.08, 0.26), "short_video_ads": (0.085, 0.27),
    "live_stream": (0.13, 0.42), "kol_seeding": (0.09, 0.28), "social_referral": (0.10, 0.33),
    "app": (0.10, 0.30), "mini_program": (0.08, 0.28), "community": (0.10, 0.32), "organic": (0.08, 0.28),
}
_P_CART = np.array([FUNNEL[c[0]][0] for c in CHANNELS])
_P_ORDER = np.array([FUNNEL[c[0]][1] for c in CHANNELS])
RETURNING_CART_LIFT = 1.7
RETURNING_ORDER_LIFT = 1.6
PAY_RATE = (0.955, 0.975)  # new, returning: the rest never pay and are cancelled
_DESKTOP_SHARE = np.array([0.35, 0.15, 0.05, 0.08, 0.10, 0.05, 0.0, 0.0, 0.0, 0.25])
_LANDING_PAGE = {"paid": "product", "content": "product", "social": "product", "owned": "home", "organic": "search"}
_PAGE_TYPES = np.array(["home", "search", "category", "product", "cart", "checkout"], dtype=object)
_BROWSE_P = np.array([0.18, 0.15, 0.20, 0.47])  # home, search, category, product

# Earlier touches of a visitor's journey (for multi-touch attribution).
_PRIOR_CHANNELS = ("feed_ads", "short_video_ads", "live_stream", "kol_seeding", "paid_search", "social_referral",
                   "organic", "community")
_PRIOR_P = np.array([0.22, 0.22, 0.12, 0.14, 0.10, 0.06, 0.08, 0.06])
_PRIOR_CODES = np.array([_CH[c] for c in _PRIOR_CHANNELS])
_CHANNEL_VISIT = np.isin(_CHANNEL_KIND, ["owned", "organic"])  # their touches are visits
_CHANNEL_ADS = np.isin(_CHANNEL_KIND, ["paid", "content"])  # their earlier touches are often impressions
_PRIOR_MEAN = (0.9, 0.6)  # new, returning

# --- behaviour: customers -------------------------------------------------------------------

BASE_CUSTOMERS = 22_000
BASE_AGE_MEAN_DAYS = 30.0  # most customers are recent (the shop grew), a tenth are older
ONE_TIME_SHARE = 0.30  # customers who never come back
LIFETIME_MEAN_DAYS = 50.0  # the others stay active for an exponential lifetime
ORDERS_PER_DAY_MEAN = 1 / 24  # gamma (shape 1) distributed purchase rate of active customers
VALUABLE_RATE = ORDERS_PER_DAY_MEAN * np.log(2.0)  # the upper half of purchase rates
LAPSED_DAYS = 30

# --- behaviour: fulfilment and after-sales --------------------------------------------------

CARRIERS = np.array(["SF Express", "JD Logistics", "ZTO Express", "YTO Express", "Yunda Express"], dtype=object)
_CARRIER_SPEED = np.array([0.80, 0.85, 1.00, 1.05, 1.10])
_CARRIER_COST = np.array([1.50, 1.25, 1.00, 1.00, 0.95])
CUTOFF_HOUR_LOCAL = 16  # paid before 16:00 ships the same day
RETURN_REASONS = np.array(["quality", "transport_damage", "size_fit", "changed_mind", "other"], dtype=object)
_RESELLABLE_P = np.array([0.05, 0.0, 0.8, 0.85, 0.5])
# The returns centre inspects a resellable return before it is back on sale: half a day to about
# four days (a quality complaint is tested first: a day more).
INSPECTION_DAYS = (0.5, 3.5)
INSPECTION_TEST_DAYS = 1.0
_RETURN_LAG_DAYS = np.array([(2.0, 3.0), (0.2, 0.5), (1.0, 2.0), (0.5, 1.5), (1.0, 3.0)])  # min, mean extra
_REVIEW_TEXTS = {
    5: ("Excellent, exactly as described.", "Love it, will buy again!", "Great quality and fast delivery.",
        "Perfect, my family likes it too."),
    4: ("Good value for money.", "Nice, but the packaging could be better.", "Works well, delivery was quick.",
        "Pretty good, as expected."),
    3: ("It's okay.", "Average quality for the price.", "Fine, nothing special.", "Delivery was slow but it's okay."),
    2: ("Disappointed with the quality.", "Not as described.", "Took much longer than promised.",
        "Cheap feel, would not buy again."),
    1: ("Poor quality, returned it.", "Broke after two days.", "Terrible, asked for a refund.",
        "Completely different from the pictures."),
}
_REASON_TEXTS = {  # by return reason code
    1: "Arrived damaged, the box was crushed.",
    2: "Size runs small, had to return it.",
    3: "Changed my mind, returned it.",
}
_LATE_TEXT = "Took much longer than promised."

# --- scenarios ------------------------------------------------------------------------------

PRE_EVENT_DAYS = 3
PEAK_MINUTES = 120
PEAK_MULTIPLIER = 10.0
EVENT_DAY_MULTIPLIER = 2.2
EVENT_EXTRA_DAYS = 4.0  # extra days of demand purchasing stocks for an event
# Earlier one-day promotions (member days) in a sales event's history, these many days before
# its peak, with traffic times PROMO_DAY_MULTIPLIER: what a forecast's promotion regressor learns from.
PROMO_DAYS_BEFORE_EVENT = (28, 56)
PROMO_DAY_MULTIPLIER = 1.8
INCIDENT_CHANNEL_FACTOR = 0.15  # the channel is down for most of its users
INCIDENT_CAMPAIGN_CONVERSION = 0.1
INCIDENT_CAMPAIGN_SPEND_FACTOR = 3.0  # a bid misconfiguration: the same clicks at three times the cost
INCIDENT_RETURN_P = 0.22  # of the return SKU's recent deliveries, returned during the incident
INCIDENT_STOCK_LEFT = 2

# --- customer service -----------------------------------------------------------------------

# Contacts follow their causes, each a pure hash of (seed, order_id, cause): the same orders
# give the same contacts whatever the windows (see service_contacts()).
SERVICE_REASONS = ("where_is_my_order", "late_delivery", "return_refund", "product_question", "damaged_item")
SERVICE_CHANNELS = ("in_app", "mini_program", "web_chat", "phone")
_SERVICE_CHANNEL_P = np.array([0.46, 0.26, 0.16, 0.12])  # phone goes straight to a person
SERVICE_LATE_CONTACT_P = 0.35  # of parcels delivered after their promise, asked about while late
SERVICE_WISMO_P = (0.02, 0.015)  # on-time parcels: base + per day between payment and delivery
SERVICE_DAMAGED_CONTACT_P = 0.85  # of orders returned for transport damage
SERVICE_RETURN_CONTACT_P = 0.40  # of orders returned for any other reason
SERVICE_QUESTION_P = 0.025  # of delivered orders, a question about the product
# Share of a reason's chat contacts the bot answers without a person (the rest escalate), and
# the bot's success when it answers: on a normal day about 75 % of contacts end resolved by
# the bot, below the shop's 80 % target.
_BOT_ANSWERS_P = np.array([0.96, 0.86, 0.90, 0.84, 0.62])
BOT_RESOLVES_P = 0.95
# Human first response: a queue whose load follows the day's traffic and, in a sales event,
# the backlog of the event's orders; median wait = SERVICE_BASE_WAIT_S / (1 - load).
SERVICE_BASE_WAIT_S = 6.0
SERVICE_BASE_LOAD = 0.42
SERVICE_MAX_LOAD = 0.93
_SERVICE_BACKLOG_LAGS_DAYS = np.arange(0, 3.01, 0.25)  # the load looks back over three days
# A person leaves the contact unresolved more often the longer the customer waited.
HUMAN_UNRESOLVED_P = (0.06, 0.30, 90.0)  # base + extra * (1 - exp(-wait / scale))
# The known effect on repurchase: a customer whose contact went unresolved, or who waited
# longer than SLOW_RESPONSE_S for a person, stops buying (for good, from the contact on) with
# these probabilities, independently; otherwise nothing changes. A group of contacts'
# repurchase rate is therefore its customers' usual rate times the mean of
# service_repurchase_factor() over the group (see tests/cockpit/test_service.py).
SERVICE_TRUE_EFFECTS = {
    "unresolved_loss": 0.45,
    "slow_response_loss": 0.20,
    "slow_response_s": 15,
}


@dataclass(frozen=True)
class SimState:
    """What the simulator carries from one window to the next (all rebuildable from the
    database): known customers, stock, open replenishment orders, paused campaigns, the
    customers the service lost."""

    customers: pd.DataFrame  # customer_id, created_ts_utc, region, acquisition_channel
    stock: pd.DataFrame  # sku, warehouse_id, on_hand, safety_stock, reorder_point, lead_time_days
    open_replenishments: pd.DataFrame  # replenishment_id, sku, warehouse_id, qty, created_ts_utc, expected_ts_utc
    paused_campaigns: frozenset[str] = frozenset()
    # Only the incident scenario reads this: delivered, unreturned order lines of the incident's
    # return SKU (order_id, sku, qty, refund_amount, delivered_ts_utc) from the two weeks before
    # its anchor, some of which come back from the anchor on. simulate() carries it forward
    # itself; a caller rebuilding the state from its database fills it with recent_deliveries()
    # (left None, the SKU's returns only spike as the incident's own orders come back).
    recent_deliveries: pd.DataFrame | None = None
    # Customers the service lost (SERVICE_TRUE_EFFECTS): customer_id, lost_ts_utc; from that
    # time on they no longer visit. simulate() adds the losses of the contacts it emits; a
    # caller rebuilding the state from its database fills it with lost_customers() over the
    # stored contacts (None: nobody lost).
    lost_customers: pd.DataFrame | None = None
    # Clearances the team started (a flash sale or a community clearance of a slow mover): sku,
    # kind, discount_pct, start_ts_utc, end_ts_utc. While one runs its SKU sells at the
    # discounted price and shoppers see it (CLEARANCE_EXPOSURE), so it sells like a typical
    # product of its category scaled by the discount (CLEARANCE_ELASTICITY). None: none runs.
    clearances: pd.DataFrame | None = None


# A clearance makes a slow SKU sell like the median product of its category (it is put in front
# of shoppers: the flash-sale banner, or the community groups' posts) times the exposure and
# the price response ((1 - discount) ** -elasticity).
CLEARANCE_EXPOSURE = {"flash_sale": 2.0, "community_clearance": 1.2}
CLEARANCE_ELASTICITY = 2.5
CLEARANCE_COLUMNS = ("sku", "kind", "discount_pct", "start_ts_utc", "end_ts_utc")


@dataclass(frozen=True)
class Scenario:
    """The scenario in force. anchor_minute: sales-event, the start of the peak (put it at a
    local midnight; traffic ramps up over the three days before); incident, the start of the
    six-hour incident (its early returns need state.recent_deliveries). Pass the same Scenario
    for every window, the history before the anchor included."""

    name: str = "normal"
    anchor_minute: int = 0


# --- small helpers --------------------------------------------------------------------------

class _Coded(NamedTuple):
    """A text column given as codes into a vocabulary built by _vocab (code -1: missing); far
    cheaper to turn into a pandas str column than an object array."""

    vocab: pd.api.extensions.ExtensionArray
    codes: np.ndarray


def _vocab(values) -> pd.api.extensions.ExtensionArray:
    """A str array of the values and a trailing missing value, which code -1 picks."""
    return pd.array(np.asarray(list(values) + [None], dtype=object), dtype="str")


def _text_column(v) -> pd.api.extensions.ExtensionArray:
    if isinstance(v, _Coded):
        return v.vocab.take(np.asarray(v.codes, dtype=np.int64))
    return pd.array(np.asarray(v, dtype=object), dtype="str")


_EMPTY_FRAMES: dict[tuple[str, str], pd.DataFrame] = {}
_COLUMN_INDEX: dict[tuple[str, str], pd.Index] = {}


def _frame(name: str, data: dict | None, columns: dict[str, dict[str, str]] = FRAME_COLUMNS) -> pd.DataFrame:
    """A frame with exactly the columns and dtypes of columns[name]. Nullable integers come
    in with _NULL for missing; text as _Coded or a sequence of str/None."""
    spec = columns[name]
    key = ("state" if columns is STATE_COLUMNS else "frame", name)
    first = next(iter(spec))
    if not data or len(data[first]) == 0:
        if key not in _EMPTY_FRAMES:
            _EMPTY_FRAMES[key] = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in spec.items()})
        return _EMPTY_FRAMES[key].copy(deep=False)
    arrays = []
    for col, dtype in spec.items():
        v = data[col]
        if dtype == _NI:
            v = np.asarray(v, dtype=np.int64)
            arrays.append(pd.arrays.IntegerArray(v, v == _NULL))
        elif dtype == _S:
            arrays.append(_text_column(v))
        else:
            arrays.append(np.asarray(v, dtype=dtype))
    if key not in _COLUMN_INDEX:
        _COLUMN_INDEX[key] = pd.Index(list(spec))
    try:
        # The private constructor is about 4x faster than DataFrame(dict) on the tiny frames of
        # one-minute windows (it skips re-validating what is built right here).
        return pd.DataFrame._from_arrays(
            arrays, columns=_COLUMN_INDEX[key], index=pd.RangeIndex(len(arrays[0])), verify_integrity=False
        )
    except (AttributeError, TypeError):  # a pandas without it
        return pd.DataFrame(dict(zip(spec, arrays)))


_CHANNEL_V = _vocab(c[0] for c in CHANNELS)
_REGION_V = _vocab(REGIONS)
_PAGE_V = _vocab(_PAGE_TYPES)
_DEVICE_V = _vocab(("mobile", "desktop", "tablet"))
_TOUCH_V = _vocab(("impression", "click", "visit"))
_STATUS_V = _vocab(("paid", "cancelled"))
_REASON_V = _vocab(RETURN_REASONS)
_CARRIER_V = _vocab(CARRIERS)
_TEXT_V = _vocab([t for r in range(1, 6) for t in _REVIEW_TEXTS[r]] + list(_REASON_TEXTS.values()) + [_LATE_TEXT])


# Page view ids are session_id * PAGE_ID_BASE + rank within the session.
PAGE_ID_BASE = 1000
MAX_BROWSE_PAGES = 900


def _minute_ids(minutes: np.ndarray) -> np.ndarray:
    """Ids `minute * ID_BASE + k` for rows sorted by minute, k counting within each minute."""
    n = len(minutes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, minutes[1:] != minutes[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return minutes.astype(np.int64) * ID_BASE + (np.arange(n) - first)


def _seasonality(minutes: np.ndarray, seed: int) -> np.ndarray:
    """Relative traffic per minute (about 1 on average): hour of day, weekday, daily noise."""
    local = minutes + TZ_OFFSET_HOURS * 60
    day = local // MINUTES_PER_DAY
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
    pos = (local % MINUTES_PER_DAY) / 60.0 - 0.5
    h0 = np.floor(pos).astype(np.int64)
    frac = pos - h0
    h0 %= 24
    h1 = (h0 + 1) % 24
    weekend = weekday >= 5
    prof = np.where(
        weekend,
        _HOURS_WEEKEND[h0] * (1 - frac) + _HOURS_WEEKEND[h1] * frac,
        _HOURS_WEEKDAY[h0] * (1 - frac) + _HOURS_WEEKDAY[h1] * frac,
    )
    noise = 1 + DAY_NOISE * (2 * hash_uniform(seed, day, salt=101) - 1)
    return prof * _WEEKDAY_LEVEL[weekday] * noise


def _event_multiplier(minutes: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Sales-event traffic multiplier per minute (1 outside the event)."""
    m = np.ones(len(minutes))
    if scenario.name != "sales-event":
        return m
    d = (np.asarray(minutes) - scenario.anchor_minute).astype(np.float64)
    pre_len = PRE_EVENT_DAYS * MINUTES_PER_DAY
    pre = (d >= -pre_len) & (d < 0)
    m[pre] = 1 + 0.6 * ((d[pre] + pre_len) / pre_len) ** 2
    m[(d >= 0) & (d < PEAK_MINUTES)] = PEAK_MULTIPLIER
    decay = (d >= PEAK_MINUTES) & (d < MINUTES_PER_DAY)
    m[decay] = EVENT_DAY_MULTIPLIER + (PEAK_MULTIPLIER - EVENT_DAY_MULTIPLIER) * np.exp(-(d[decay] - PEAK_MINUTES) / 80)
    for days_before in PROMO_DAYS_BEFORE_EVENT:
        start = -days_before * MINUTES_PER_DAY
        m[(d >= start) & (d < start + MINUTES_PER_DAY)] = PROMO_DAY_MULTIPLIER
    return m


PROMOTION_COLUMNS = ("name", "kind", "first_day", "last_day", "expected_uplift")


def promotions(scenario: Scenario) -> pd.DataFrame:
    """The scenario's promotions calendar (columns PROMOTION_COLUMNS; days are shop-local day
    numbers, last_day inclusive): a sales event's warm-up (the pre-event ramp) and its day, and
    its earlier member days, each with its planned uplift; no promotion in the other scenarios."""
    rows = []
    if scenario.name == "sales-event":
        anchor_day = int(local_day(np.int64(scenario.anchor_minute) * 60))
        # The planned uplifts: each period's mean traffic multiplier (what a team would plan with).
        ramp = np.arange(scenario.anchor_minute - PRE_EVENT_DAYS * MINUTES_PER_DAY, scenario.anchor_minute)
        day = np.arange(scenario.anchor_minute, scenario.anchor_minute + MINUTES_PER_DAY)
        rows.append(("Sales event warm-up", "pre_event", anchor_day - PRE_EVENT_DAYS, anchor_day - 1,
                     round(float(_event_multiplier(ramp, scenario).mean()), 2)))
        rows.append(("Sales event", "sales_event", anchor_day, anchor_day,
                     round(float(_event_multiplier(day, scenario).mean()), 2)))
        for days_before in sorted(PROMO_DAYS_BEFORE_EVENT, reverse=True):
            day = anchor_day - days_before
            rows.append(("Member day", "member_day", day, day, PROMO_DAY_MULTIPLIER))
    frame = pd.DataFrame(rows, columns=list(PROMOTION_COLUMNS))
    return frame.astype({"name": "str", "kind": "str", "first_day": "int64", "last_day": "int64",
                         "expected_uplift": "float64"})


def _delivery_hours(ts: np.ndarray, morning_h: np.ndarray) -> np.ndarray:
    """Couriers deliver 08:00-21:00 local: a parcel reaching its depot at night goes out the
    next morning, morning_h hours after 08:00."""
    local_h = ((ts + TZ_OFFSET_HOURS * 3600) % SECONDS_PER_DAY) / 3600
    day_start = local_day(ts) * SECONDS_PER_DAY - TZ_OFFSET_HOURS * 3600
    morning = day_start + ((8 + morning_h) * 3600).astype(np.int64)
    return np.where(local_h < 8, np.maximum(morning, ts), np.where(local_h >= 21, morning + SECONDS_PER_DAY, ts))


def _inspection_seconds(seed: int, return_ids: np.ndarray, reasons: np.ndarray) -> np.ndarray:
    """How long the returns centre takes before a resellable return is back on sale: a pure
    function of (seed, return_id), so no window's random draws move."""
    u = hash_uniform(seed, np.asarray(return_ids, dtype=np.int64), salt=91)
    days = INSPECTION_DAYS[0] + INSPECTION_DAYS[1] * u**1.5 + np.where(np.asarray(reasons) == 0, INSPECTION_TEST_DAYS, 0.0)
    return (days * SECONDS_PER_DAY).astype(np.int64)


def _in_incident(minutes: np.ndarray, scenario: Scenario) -> np.ndarray:
    if scenario.name != "incident":
        return np.zeros(len(minutes), dtype=bool)
    d = np.asarray(minutes) - scenario.anchor_minute
    return (d >= 0) & (d < INCIDENT_MINUTES)


def _validate(catalog: Catalog, state: SimState, start_minute: int, end_minute: int, scenario: Scenario) -> None:
    if end_minute <= start_minute:
        raise ValueError(f"end_minute ({end_minute}) must be after start_minute ({start_minute})")
    if start_minute < 0:
        raise ValueError("start_minute must be minutes since the epoch (non-negative)")
    if scenario.name not in SCENARIOS:
        raise ValueError(f"scenario {scenario.name!r}: choose one of {', '.join(SCENARIOS)}")
    for name, spec in STATE_COLUMNS.items():
        missing = set(spec) - set(getattr(state, name).columns)
        if missing:
            raise ValueError(f"state.{name} lacks columns {sorted(missing)}; build it with initial_state()")
    if state.recent_deliveries is not None:
        missing = set(RECENT_DELIVERY_COLUMNS) - set(state.recent_deliveries.columns)
        if missing:
            raise ValueError(f"state.recent_deliveries lacks columns {sorted(missing)}; or pass None")
    if state.clearances is not None:
        missing = set(CLEARANCE_COLUMNS) - set(state.clearances.columns)
        if missing:
            raise ValueError(f"state.clearances lacks columns {sorted(missing)}; or pass None")


# --- what the simulator derives once per catalog ---------------------------------------------

@dataclass
class _Model:
    skus: np.ndarray
    sku_v: pd.api.extensions.ExtensionArray
    sku_index: dict
    price: np.ndarray
    cost: np.ndarray
    category: np.ndarray
    popularity: np.ndarray
    faded: np.ndarray  # out of fashion: no campaign features it
    quality: np.ndarray
    launched: np.ndarray
    wh_ids: np.ndarray
    wh_v: pd.api.extensions.ExtensionArray
    wh_index: dict
    wh_region: np.ndarray
    wh_forward: np.ndarray
    routes: list
    km: np.ndarray  # warehouse x region
    camp_ids: np.ndarray
    camp_v: pd.api.extensions.ExtensionArray
    camp_channel: np.ndarray
    camp_budget: np.ndarray
    camp_start: np.ndarray
    camp_cpc: np.ndarray
    camp_cpm: np.ndarray
    camp_returning: np.ndarray
    camp_intent: np.ndarray
    exp_ids: tuple
    exp_start: np.ndarray
    exp_end: np.ndarray
    targets: dict


_MODEL_CACHE: dict[int, tuple[Catalog, _Model]] = {}


def _model(catalog: Catalog) -> _Model:
    hit = _MODEL_CACHE.get(id(catalog))
    if hit is not None and hit[0] is catalog:
        return hit[1]
    products = catalog.products.reset_index(drop=True)
    traits = product_traits(products)
    skus = products["sku"].to_numpy(dtype=object)
    wh_ids = catalog.warehouses["warehouse_id"].to_numpy(dtype=object)
    known_wh = [w[0] for w in WAREHOUSES]
    if list(wh_ids) != known_wh:
        raise ValueError("catalog.warehouses must be the simulator's warehouses; build it with build_catalog()")
    region_idx = {r: i for i, r in enumerate(REGIONS)}
    wh_region = np.array([region_idx[w[2]] for w in WAREHOUSES])
    specs = {c[0]: c for c in CAMPAIGN_SPECS}
    camps = catalog.campaigns.reset_index(drop=True)
    default_cpc = {"paid_search": 3.0, "feed_ads": 2.0, "short_video_ads": 2.2, "live_stream": 3.0, "kol_seeding": 3.0}
    spec_of = [specs.get(cid) for cid in camps["campaign_id"]]
    ch = camps["channel"].tolist()
    model = _Model(
        skus=skus,
        sku_v=_vocab(skus),
        sku_index={s: i for i, s in enumerate(skus)},
        price=products["price"].to_numpy(dtype=float),
        cost=products["cost"].to_numpy(dtype=float),
        category=traits["category_code"].to_numpy(),
        popularity=traits["popularity"].to_numpy(),
        faded=traits["faded"].to_numpy(dtype=bool),
        quality=traits["quality"].to_numpy(),
        launched=products["launched_ts_utc"].to_numpy(dtype=np.int64),
        wh_ids=wh_ids,
        wh_v=_vocab(wh_ids),
        wh_index={w: i for i, w in enumerate(wh_ids)},
        wh_region=wh_region,
        wh_forward=np.array([w[3] == "forward" for w in WAREHOUSES]),
        routes=warehouse_routes(),
        km=region_km()[wh_region],
        camp_ids=camps["campaign_id"].to_numpy(dtype=object),
        camp_v=_vocab(camps["campaign_id"]),
        camp_channel=np.array([_CH.get(c, _CH["feed_ads"]) for c in ch]),
        camp_budget=camps["daily_budget"].to_numpy(dtype=float),
        camp_start=camps["start_ts_utc"].to_numpy(dtype=np.int64),
        camp_cpc=np.array([s[5] if s else default_cpc.get(c, 2.5) for s, c in zip(spec_of, ch)]),
        camp_cpm=np.array([s[6] if s else 30.0 for s in spec_of]),
        camp_returning=np.array([s[7] if s else 0.1 for s in spec_of]),
        camp_intent=np.array([s[8] if s else 1.0 for s in spec_of]),
        exp_ids=tuple(catalog.experiments["experiment_id"]),
        exp_start=catalog.experiments["start_ts_utc"].to_numpy(dtype=np.int64),
        exp_end=catalog.experiments["end_ts_utc"].fillna(2**62).to_numpy(dtype=np.int64),
        targets={},
    )
    model.targets = _targets(model)
    if len(_MODEL_CACHE) > 8:
        _MODEL_CACHE.clear()
    _MODEL_CACHE[id(catalog)] = (catalog, model)
    return model


def _targets(model: _Model) -> dict:
    # Established products only (not the newest), ranked by the units they usually sell.
    established = model.launched < model.launched.max() - 90 * SECONDS_PER_DAY
    units = model.popularity * (1 + CATEGORY_EXTRA_UNITS[model.category])
    by_units = np.argsort(-np.where(established, units, -1.0), kind="stable")
    stockout = int(by_units[0])
    electronics = [i for i in by_units if model.category[i] == CATEGORY_NAMES.index("electronics") and i != stockout]
    ret = int(electronics[0]) if electronics else int(by_units[1])
    paid = [i for i in range(len(model.camp_ids)) if _CHANNEL_KIND[model.camp_channel[i]] == "paid"]
    camp = max(paid or range(len(model.camp_ids)), key=lambda i: (model.camp_budget[i], model.camp_ids[i]))
    return {
        "channel": "mini_program",
        "return_sku": str(model.skus[ret]),
        "campaign": str(model.camp_ids[camp]),
        "stockout_sku": str(model.skus[stockout]),
        "stockout_warehouse": "WH-EAST",
    }


def incident_targets(catalog: Catalog) -> dict:
    """What the incident scenario hits: {"channel", "return_sku", "campaign", "stockout_sku",
    "stockout_warehouse"}; a pure function of the catalog."""
    return dict(_model(catalog).targets)


# --- customers' hidden traits ---------------------------------------------------------------

@dataclass
class _Traits:
    ids: np.ndarray
    created: np.ndarray
    region: np.ndarray
    rate: np.ndarray  # orders per day while active
    end_ts: np.ndarray  # active until (epoch seconds)
    u_sel: np.ndarray  # experiment sampling
    u_arm: np.ndarray
    visits: dict = field(default_factory=dict)  # hour -> (cumulative visit weights, active customers)


_TRAIT_CACHE: dict[int, _Traits] = {}


def _trait_arrays(seed: int, ids: np.ndarray, created: np.ndarray, region_codes: np.ndarray) -> _Traits:
    one_time = hash_uniform(seed, ids, salt=1) < ONE_TIME_SHARE
    life_days = np.where(one_time, 0.0, -LIFETIME_MEAN_DAYS * np.log1p(-hash_uniform(seed, ids, salt=2)))
    rate = -ORDERS_PER_DAY_MEAN * np.log1p(-hash_uniform(seed, ids, salt=3))
    return _Traits(ids, created, region_codes, rate, created + (life_days * SECONDS_PER_DAY).astype(np.int64),
                   hash_uniform(seed, ids, salt=4), hash_uniform(seed, ids, salt=5))


def _region_codes(values: pd.Series) -> np.ndarray:
    codes = pd.Categorical(values, categories=list(REGIONS)).codes.astype(np.int64)
    return np.where(codes < 0, 0, codes)


def _customer_traits(seed: int, customers: pd.DataFrame) -> _Traits:
    """Traits are pure hashes of (seed, customer_id), kept in customer_id order (so the order of
    the state's rows does not matter); cached and extended as customers are added."""
    ids = customers["customer_id"].to_numpy(dtype=np.int64)
    order = None
    if len(ids) > 1 and not (ids[1:] > ids[:-1]).all():
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
    cached = _TRAIT_CACHE.get(seed)
    n0 = 0
    if cached is not None and len(cached.ids) <= len(ids) and np.array_equal(cached.ids, ids[: len(cached.ids)]):
        if len(cached.ids) == len(ids):
            return cached
        n0 = len(cached.ids)
    created = customers["created_ts_utc"].to_numpy(dtype=np.int64)
    region = customers["region"]
    if order is not None:
        created, region = created[order], region.iloc[order]
    tail = _trait_arrays(seed, ids[n0:], created[n0:], _region_codes(region.iloc[n0:]))
    if n0:
        arrays = [f for f in _Traits.__dataclass_fields__ if f != "visits"]
        tail = _Traits(*(np.concatenate([getattr(cached, f), getattr(tail, f)]) for f in arrays), visits=cached.visits)
    _TRAIT_CACHE[seed] = tail
    if len(_TRAIT_CACHE) > 4:
        _TRAIT_CACHE.pop(next(iter(_TRAIT_CACHE)))
    return tail


def _lost_index(traits: _Traits, lost: pd.DataFrame | None, t0: int) -> np.ndarray:
    """Positions in traits.ids of the customers lost by t0 (sorted, unique)."""
    if lost is None or not len(lost):
        return np.zeros(0, dtype=np.int64)
    ids = lost["customer_id"].to_numpy(dtype=np.int64)[lost["lost_ts_utc"].to_numpy(dtype=np.int64) <= t0]
    pos = np.searchsorted(traits.ids, ids)
    known = pos < len(traits.ids)
    pos, ids = pos[known], ids[known]
    return np.unique(pos[traits.ids[pos] == ids])


def _visit_weights(traits: _Traits, at_s: int, lost: pd.DataFrame | None = None) -> tuple[np.ndarray, int]:
    """Cumulative purchase rates of the customers active at the start of at_s's hour (zero for
    the others, and for those the service lost by then), to pick visiting customers by rate;
    and how many are active. Cached per hour and extended as customers are added (their
    prefix does not change)."""
    hour = at_s // 3600
    t0 = hour * 3600
    n = len(traits.ids)
    gone = _lost_index(traits, lost, t0)
    key = (len(gone), int(gone.sum()))
    hit = traits.visits.get(hour)
    if hit is not None and hit[2] != key:
        hit = None
    if hit is not None and len(hit[0]) == n:
        return hit[0], hit[1]
    n0 = len(hit[0]) if hit is not None and len(hit[0]) < n else 0
    alive = (traits.created[n0:] <= t0) & (traits.end_ts[n0:] > t0)
    if len(gone):
        alive[gone[gone >= n0] - n0] = False
    cum = np.cumsum(np.where(alive, traits.rate[n0:], 0.0))
    if n0:
        cum = np.concatenate([hit[0], cum + hit[0][-1]])
        n_alive = hit[1] + int(alive.sum())
    else:
        n_alive = int(alive.sum())
    traits.visits.clear()
    traits.visits[hour] = (cum, n_alive, key)
    return cum, n_alive


def _experiment_members(model: _Model, traits: _Traits, e: int) -> np.ndarray:
    """Indices of the customers assigned to experiment e (deterministic from their traits)."""
    start = model.exp_start[e]
    segment = EXPERIMENTS[e][3] if e < len(EXPERIMENTS) else ""
    existing = traits.created < start
    if segment == "valuable":
        mask = existing & (traits.end_ts > start) & (traits.rate >= VALUABLE_RATE)
    elif segment == "lapsed":
        mask = existing & (traits.end_ts < start - LAPSED_DAYS * SECONDS_PER_DAY) & (traits.u_sel >= 0.5)
    else:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(mask)


def _experiment_orders(model: _Model, traits: _Traits, seed: int, start_s: int, end_s: int):
    """Orders the experiments cause in [start_s, end_s): (customer index, ts, experiment, arm)."""
    out = []
    for e, spec in enumerate(EXPERIMENTS[: len(model.exp_ids)]):
        lo, hi = model.exp_start[e], model.exp_end[e]
        if hi <= start_s or lo >= end_s:
            continue
        members = _experiment_members(model, traits, e)
        if not len(members):
            continue
        ids = traits.ids[members]
        treated = traits.u_arm[members] >= 0.5
        effect = EXPERIMENT_TRUE_EFFECTS[spec[0]]
        if spec[5] == "conversion":
            p = np.where(treated, effect["treatment"], effect["control"])
            extra = 0.6  # a third of converters buy twice or three times, as they would anyway
        else:
            p = np.where(treated, effect["treatment_conversion"], effect["control_conversion"])
            extra = 0.0
        converts = hash_uniform(seed, ids, salt=40 + e) < p
        u_n = hash_uniform(seed, ids, salt=50 + e)
        n_orders = np.where(converts, 1 + (u_n < extra * 0.55) + (u_n < extra * 0.15), 0)
        span = hi - lo
        for j in range(3):
            has = n_orders > j
            u_t = hash_uniform(seed, ids, salt=60 + 10 * e + j)
            ts = lo + (span * (u_t**1.3 if j == 0 else u_t)).astype(np.int64)
            sel = has & (ts >= start_s) & (ts < end_s)
            for idx, t, tr in zip(members[sel], ts[sel], treated[sel]):
                out.append((int(idx), int(t), e, bool(tr)))
    return out


def recent_deliveries(
    catalog: Catalog,
    scenario: Scenario,
    orders: pd.DataFrame,
    order_lines: pd.DataFrame,
    delivered: pd.DataFrame,
    returns: pd.DataFrame,
) -> pd.DataFrame | None:
    """SimState.recent_deliveries rebuilt from stored events, for a caller that reads its state
    from a database; None unless the scenario is the incident.

    orders: order_id, status, amount, discount; order_lines: order_id, sku, qty, unit_price;
    delivered: order_id, delivered_ts_utc of the orders delivered so far; returns: order_id,
    sku. Only the lines of incident_targets(catalog)["return_sku"] in orders placed in the 14
    days before the anchor matter, so the reads may be filtered to those."""
    if scenario.name != "incident":
        return None
    lo = scenario.anchor_minute * 60
    sku = incident_targets(catalog)["return_sku"]
    lines = order_lines.loc[order_lines["sku"] == sku, ["order_id", "sku", "qty", "unit_price"]]
    placed = lines["order_id"] // ID_BASE * 60
    lines = lines[(placed < lo) & (placed >= lo - INCIDENT_RETURN_LOOKBACK_DAYS * SECONDS_PER_DAY)]
    paid = orders.loc[orders["status"] != "cancelled", ["order_id", "amount", "discount"]]
    lines = lines.merge(paid, on="order_id").merge(delivered[["order_id", "delivered_ts_utc"]], on="order_id")
    done = returns.loc[returns["sku"] == sku, ["order_id"]].assign(_returned=True).drop_duplicates()
    lines = lines.merge(done, on="order_id", how="left")
    lines = lines[lines["_returned"].isna()]
    share = lines["amount"] / (lines["amount"] + lines["discount"]).where(lambda g: g > 0, 1.0)
    return pd.DataFrame({
        "order_id": lines["order_id"].to_numpy(dtype=np.int64),
        "sku": pd.array(lines["sku"].to_numpy(dtype=object), dtype="str"),
        "qty": lines["qty"].to_numpy(dtype=np.int64),
        "refund_amount": np.round((lines["qty"] * lines["unit_price"] * share).to_numpy(dtype=float), 2),
        "delivered_ts_utc": lines["delivered_ts_utc"].to_numpy(dtype=np.int64),
    })


# --- customer service -----------------------------------------------------------------------

_SERVICE_REASON_V = _vocab(SERVICE_REASONS)
_SERVICE_CHANNEL_V = _vocab(SERVICE_CHANNELS)
_HANDLED_V = _vocab(("bot", "human"))
_PHONE = SERVICE_CHANNELS.index("phone")
_TRANSPORT_DAMAGE = list(RETURN_REASONS).index("transport_damage")
_WISMO, _LATE, _RETURN, _QUESTION, _DAMAGED = range(len(SERVICE_REASONS))


def _service_load(ts: np.ndarray, scenario: Scenario, seed: int) -> np.ndarray:
    """The human queue's load at each time: the day's traffic profile times, in a sales event,
    the mean traffic multiplier of the three days before (their orders are what people ask
    about), capped at SERVICE_MAX_LOAD."""
    minutes = np.asarray(ts, dtype=np.int64) // 60
    load = SERVICE_BASE_LOAD * _seasonality(minutes, seed)
    if scenario.name == "sales-event" and len(minutes):
        lags = (_SERVICE_BACKLOG_LAGS_DAYS * MINUTES_PER_DAY).astype(np.int64)
        backlog = _event_multiplier((minutes[:, None] - lags[None, :]).ravel(), scenario)
        load = load * backlog.reshape(len(minutes), len(lags)).mean(axis=1)
    return np.minimum(load, SERVICE_MAX_LOAD)


def _awake(ts: np.ndarray, u: np.ndarray) -> np.ndarray:
    """People write at night rarely: a contact due before 07:00 local comes 07:00-10:00."""
    local_h = ((ts + TZ_OFFSET_HOURS * 3600) % SECONDS_PER_DAY) / 3600
    day_start = local_day(ts) * SECONDS_PER_DAY - TZ_OFFSET_HOURS * 3600
    return np.where(local_h < 7, day_start + ((7 + 3 * u) * 3600).astype(np.int64), ts)


def _normal(seed: int, keys: np.ndarray, salt: int) -> np.ndarray:
    """Standard normal draws, a pure function of (seed, key, salt) (Box-Muller)."""
    u1 = np.maximum(hash_uniform(seed, keys, salt), 1e-12)
    u2 = hash_uniform(seed, keys, salt + 1)
    return np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)


def _contacts(seed: int, scenario: Scenario, order_id, order_ts, customer_id, paid_ts, shipped, promised, delivered,
              r_order, r_ts, r_reason) -> dict[str, np.ndarray]:
    """Contacts of paid orders (order_id ascending; order_ts, customer_id, paid_ts, shipped,
    promised, delivered aligned with it) and of their returns (r_order, r_ts, r_reason codes,
    any order): arrays by FRAME_COLUMNS["service_contacts"] column (codes for the texts).
    Every draw is a hash of (seed, order_id) or of (seed, contact_id)."""
    n = len(order_id)

    def u(salt):
        return hash_uniform(seed, order_id, salt)

    late = delivered > promised
    wait_days = (delivered - paid_ts) / SECONDS_PER_DAY
    # The order's first return, if any.
    first_ts = np.full(n, -1, dtype=np.int64)
    first_reason = np.full(n, -1, dtype=np.int64)
    if len(r_order):
        order = np.lexsort((r_ts, r_order))
        ro, rt, rr = r_order[order], r_ts[order], r_reason[order]
        first = np.r_[True, ro[1:] != ro[:-1]]
        pos = np.searchsorted(order_id, ro[first])
        ok = (pos < n) & (order_id[np.minimum(pos, n - 1)] == ro[first])
        first_ts[pos[ok]], first_reason[pos[ok]] = rt[first][ok], rr[first][ok]
    returned = first_ts >= 0
    damaged = returned & (first_reason == _TRANSPORT_DAMAGE)
    causes = [
        (_WISMO, ~late & (u(203) < SERVICE_WISMO_P[0] + SERVICE_WISMO_P[1] * wait_days),
         shipped + (u(204) * (delivered - shipped)).astype(np.int64)),
        (_LATE, late & (u(201) < SERVICE_LATE_CONTACT_P),
         promised + 1 + (u(202) * (delivered - promised)).astype(np.int64)),
        (_RETURN, returned & ~damaged & (u(205) < SERVICE_RETURN_CONTACT_P),
         first_ts + (u(206) * 2 * SECONDS_PER_DAY).astype(np.int64)),
        (_QUESTION, u(207) < SERVICE_QUESTION_P, delivered + ((0.1 + 2.9 * u(208)) * SECONDS_PER_DAY).astype(np.int64)),
        (_DAMAGED, damaged & (u(209) < SERVICE_DAMAGED_CONTACT_P),
         delivered + (u(210) * (first_ts - delivered)).astype(np.int64)),
    ]
    pos = np.concatenate([np.flatnonzero(hit) for _, hit, _ in causes])
    reason = np.concatenate([np.full(int(hit.sum()), code) for code, hit, _ in causes])
    ts = np.concatenate([when[hit] for _, hit, when in causes])
    order = np.lexsort((reason, pos))
    pos, reason, ts = pos[order], reason[order], ts[order]
    contact_id = _minute_ids(order_ts[pos] // 60)
    ts = _awake(ts, hash_uniform(seed, contact_id, 211))
    k = len(contact_id)
    channel = np.searchsorted(np.cumsum(_SERVICE_CHANNEL_P), hash_uniform(seed, contact_id, 212) * _SERVICE_CHANNEL_P.sum(),
                              side="right")
    channel = np.minimum(channel, len(SERVICE_CHANNELS) - 1)
    bot = (channel != _PHONE) & (hash_uniform(seed, contact_id, 213) < _BOT_ANSWERS_P[reason])
    median = SERVICE_BASE_WAIT_S / (1 - _service_load(ts, scenario, seed)) * np.where(channel == _PHONE, 1.8, 1.0)
    wait = np.maximum(1, np.round(median * np.exp(0.6 * _normal(seed, contact_id, 214)))).astype(np.int64)
    base, extra, scale = HUMAN_UNRESOLVED_P
    p_unresolved = np.where(bot, 1 - BOT_RESOLVES_P, base + extra * (1 - np.exp(-wait / scale)))
    resolved = hash_uniform(seed, contact_id, 216) >= p_unresolved
    handle = np.exp(np.log(420.0) + 0.6 * _normal(seed, contact_id, 217))
    took = np.where(bot, 20 + 280 * hash_uniform(seed, contact_id, 219), wait + handle).astype(np.int64)
    return {
        "contact_id": contact_id, "customer_id": customer_id[pos], "order_id": order_id[pos], "ts_utc": ts,
        "channel": channel, "reason": reason, "handled_by": (~bot).astype(np.int64),
        "first_response_s": np.where(bot, _NULL, wait), "resolved": resolved,
        "resolved_ts_utc": np.where(resolved, ts + took, _NULL),
    } if k else {}


def _contacts_frame(rows: dict[str, np.ndarray]) -> pd.DataFrame:
    if not rows:
        return _frame("service_contacts", None)
    return _frame("service_contacts", {
        **rows, "channel": _Coded(_SERVICE_CHANNEL_V, rows["channel"]), "reason": _Coded(_SERVICE_REASON_V, rows["reason"]),
        "handled_by": _Coded(_HANDLED_V, rows["handled_by"])})


def service_contacts(frames: dict[str, pd.DataFrame], *, scenario: Scenario, seed: int) -> pd.DataFrame:
    """The customer-service contacts that simulate() emits for the paid orders in `frames`
    ("orders", "shipments", "deliveries", "returns", as simulate returns them), as a pure
    function of those rows: each order's contacts depend on its own lifecycle and the seed
    only, never on the window that simulated it.

    Causes: a parcel delivered after its promise (late_delivery, SERVICE_LATE_CONTACT_P), an
    on-time parcel's wait (where_is_my_order, more often the longer it takes), a return
    (damaged_item for transport damage, else return_refund), a question about the product after
    delivery. Chat contacts are answered by the bot or escalated to a person (phone always goes
    to a person); a person's first response (first_response_s, NULL for the bot) waits on a
    queue that lengthens at the evening peak and after a sales event; waiting raises the share
    left unresolved. Ids: the order's minute * ID_BASE + a counter within that minute."""
    orders = frames["orders"]
    paid = orders[orders["paid_ts_utc"].notna()].sort_values("order_id")
    ship = frames["shipments"].set_index("order_id")
    done = frames["deliveries"].set_index("order_id")["delivered_ts_utc"]
    paid = paid[paid["order_id"].isin(ship.index) & paid["order_id"].isin(done.index)]
    oid = paid["order_id"].to_numpy(dtype=np.int64)
    ret = frames["returns"]
    ret = ret[ret["order_id"].isin(oid)]
    reason = pd.Categorical(ret["reason"], categories=list(RETURN_REASONS)).codes.astype(np.int64)
    rows = _contacts(
        int(seed), scenario, oid, paid["ts_utc"].to_numpy(dtype=np.int64), paid["customer_id"].to_numpy(dtype=np.int64),
        paid["paid_ts_utc"].to_numpy(dtype=np.int64), ship.loc[oid, "shipped_ts_utc"].to_numpy(dtype=np.int64),
        ship.loc[oid, "promised_ts_utc"].to_numpy(dtype=np.int64), done.loc[oid].to_numpy(dtype=np.int64),
        ret["order_id"].to_numpy(dtype=np.int64), ret["ts_utc"].to_numpy(dtype=np.int64), reason,
    )
    return _contacts_frame(rows)


def service_repurchase_factor(contacts: pd.DataFrame) -> np.ndarray:
    """Per contact, the probability that its customer keeps buying as before (SERVICE_TRUE_EFFECTS):
    1 - unresolved_loss if unresolved, times 1 - slow_response_loss if a person answered after
    more than slow_response_s. Columns used: resolved, handled_by, first_response_s."""
    effects = SERVICE_TRUE_EFFECTS
    unresolved = ~contacts["resolved"].to_numpy(dtype=bool)
    wait = pd.to_numeric(contacts["first_response_s"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    slow = (contacts["handled_by"].to_numpy(dtype=object) == "human") & (np.nan_to_num(wait) > effects["slow_response_s"])
    return (1 - effects["unresolved_loss"] * unresolved) * (1 - effects["slow_response_loss"] * slow)


def lost_customers(contacts: pd.DataFrame, seed: int) -> pd.DataFrame:
    """SimState.lost_customers from contacts (contact_id, customer_id, ts_utc, resolved,
    handled_by, first_response_s): whom the service lost and from when, a pure function of the
    contacts and the seed, so a state rebuilt from stored contacts loses the same customers."""
    if contacts is None or not len(contacts):
        return pd.DataFrame({"customer_id": pd.Series([], dtype="int64"), "lost_ts_utc": pd.Series([], dtype="int64")})
    ids = contacts["contact_id"].to_numpy(dtype=np.int64)
    lost = hash_uniform(seed, ids, 220) >= service_repurchase_factor(contacts)
    found = pd.DataFrame({"customer_id": contacts["customer_id"].to_numpy(dtype=np.int64)[lost],
                          "lost_ts_utc": contacts["ts_utc"].to_numpy(dtype=np.int64)[lost]})
    return found.groupby("customer_id", as_index=False)["lost_ts_utc"].min()


# --- initial state --------------------------------------------------------------------------

def initial_state(catalog: Catalog, seed: int, history_start_minute: int) -> SimState:
    """The shop as history starts: BASE_CUSTOMERS customers created before history_start_minute
    (mostly in the last months), the catalog's opening stock, replenishments in transit."""
    rng = np.random.default_rng([seed, 31_337, history_start_minute])
    n = BASE_CUSTOMERS
    age_days = np.where(rng.random(n) < 0.9, (-BASE_AGE_MEAN_DAYS * np.log1p(-rng.random(n))) % 720,
                        rng.uniform(60, 720, n))
    day = local_day(history_start_minute * 60) - 1 - np.floor(age_days).astype(np.int64)
    profile = np.repeat(_HOURS_WEEKDAY, 60)
    minute_of_day = rng.choice(MINUTES_PER_DAY, size=n, p=profile / profile.sum())
    minutes = np.sort(day * MINUTES_PER_DAY + minute_of_day - TZ_OFFSET_HOURS * 60)
    ids = _minute_ids(minutes)
    acq_names = list(NEW_VISITORS_PER_DAY) + ["paid_search", "feed_ads", "short_video_ads", "social_referral"]
    acq_w = np.array(list(NEW_VISITORS_PER_DAY.values()) + [2000.0, 2200.0, 2300.0, 500.0])
    acq_codes = np.array([_CH[c] for c in acq_names])
    customers = _frame(
        "customers",
        {
            "customer_id": ids,
            "created_ts_utc": minutes * 60 + rng.integers(0, 60, len(ids)),
            "region": _Coded(_REGION_V, rng.choice(len(REGIONS), len(ids), p=REGION_SHARE)),
            "acquisition_channel": _Coded(_CHANNEL_V, acq_codes[rng.choice(len(acq_names), len(ids),
                                                                           p=acq_w / acq_w.sum())]),
        },
        STATE_COLUMNS,
    )
    stock = catalog.stock_levels[list(STATE_COLUMNS["stock"])].reset_index(drop=True)
    # Replenishments in transit: about half the rows that sit below their target cover.
    start_s = history_start_minute * 60
    d = (stock["reorder_point"] - stock["safety_stock"]).to_numpy() / stock["lead_time_days"].to_numpy()
    tier = np.where(stock["warehouse_id"].str.startswith("FW-"), COVER_DAYS["forward"], COVER_DAYS["regional"])
    low = stock["on_hand"].to_numpy() < stock["reorder_point"].to_numpy() + 0.5 * d * tier
    pick = np.flatnonzero(low & (rng.random(len(stock)) < 0.5))
    lt = stock["lead_time_days"].to_numpy()[pick]
    created = start_s - (rng.uniform(0.1, 0.9, len(pick)) * lt * SECONDS_PER_DAY).astype(np.int64)
    order = np.argsort(created, kind="stable")
    pick, lt, created = pick[order], lt[order], created[order]
    po_ids = _minute_ids(created // 60)
    open_po = _frame(
        "open_replenishments",
        {
            "replenishment_id": np.array([f"PO-{i // ID_BASE}-{i % ID_BASE}" for i in po_ids], dtype=object),
            "sku": stock["sku"].to_numpy(dtype=object)[pick],
            "warehouse_id": stock["warehouse_id"].to_numpy(dtype=object)[pick],
            "qty": np.maximum(10, np.ceil(d[pick] * tier[pick] / 5) * 5).astype(np.int64),
            "created_ts_utc": created,
            "expected_ts_utc": created + (lt * SECONDS_PER_DAY).astype(np.int64),
        },
        STATE_COLUMNS,
    )
    return SimState(customers=customers, stock=stock, open_replenishments=open_po, paused_campaigns=frozenset())


# --- the window ------------------------------------------------------------------------------

def simulate(
    catalog: Catalog,
    state: SimState,
    start_minute: int,
    end_minute: int,
    *,
    scenario: Scenario,
    seed: int,
) -> tuple[dict[str, pd.DataFrame], SimState]:
    """Events in [start_minute, end_minute) (minutes since the epoch, UTC) and the future
    lifecycle of the orders placed in it; returns (frames by name, state after the window).

    Frames: see FRAME_COLUMNS. Rows dated after the window (shipments, deliveries, returns,
    reviews; and the incident's returns, planned by earlier orders) are for the caller to park
    until their time. Raises ValueError on an empty window or an unknown scenario."""
    _validate(catalog, state, start_minute, end_minute, scenario)
    return _Window(catalog, state, start_minute, end_minute, scenario, seed).run()


# The state a window returns is usually the next window's input: its stock and open
# replenishments are indexed once here and recognised by identity.
_STOCK_INDEX: dict[int, tuple] = {}
_PO_ROWS: dict[int, tuple] = {}


def _stock_index(m: _Model, stock: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sku index, warehouse index, known) per row of a stock frame."""
    hit = _STOCK_INDEX.get(id(stock))
    if hit is not None and hit[0] is stock:
        return hit[1]
    si = np.array([m.sku_index.get(x, -1) for x in stock["sku"].tolist()], dtype=np.int64)
    wi = np.array([m.wh_index.get(x, -1) for x in stock["warehouse_id"].tolist()], dtype=np.int64)
    return si, wi, (si >= 0) & (wi >= 0)


def _open_po_rows(m: _Model, open_po: pd.DataFrame) -> list[tuple]:
    """(id, sku index, warehouse index, qty, created, expected, sku, warehouse) per open order."""
    hit = _PO_ROWS.get(id(open_po))
    if hit is not None and hit[0] is open_po:
        return list(hit[1])
    return [
        (pid, m.sku_index.get(sku, -1), m.wh_index.get(wh, -1), int(q), int(c), int(e), sku, wh)
        for pid, sku, wh, q, c, e in zip(
            open_po["replenishment_id"].tolist(), open_po["sku"].tolist(), open_po["warehouse_id"].tolist(),
            open_po["qty"].tolist(), open_po["created_ts_utc"].tolist(), open_po["expected_ts_utc"].tolist(),
        )
    ]


def _remember(cache: dict, frame: pd.DataFrame, value) -> None:
    cache.clear()
    cache[id(frame)] = (frame, value)


@lru_cache(maxsize=200_000)
def _po_arrival(po_id: str, created: int, expected: int) -> tuple[int, float]:
    """Actual arrival (epoch s) and a short-delivery draw of a replenishment order, from a hash
    of its id: early by up to 15 % of its lead time, or late by up to 30 %."""
    u = text_uniform(po_id, "arrival")
    span = max(expected - created, 3600)
    arrival = max(created + 3600, expected + int((-0.15 + 0.45 * u * u) * span))
    return arrival, text_uniform(po_id, "short")


class _Window:
    """One call of simulate: the arrays of a window, built step by step."""

    def __init__(self, catalog, state, start_minute, end_minute, scenario, seed):
        self.m = _model(catalog)
        self.state = state
        self.start, self.end = int(start_minute), int(end_minute)
        self.start_s, self.end_s = self.start * 60, self.end * 60
        self.scenario, self.seed = scenario, int(seed)
        self.rng = np.random.default_rng([self.seed, self.start, self.end])
        self.minutes = np.arange(self.start, self.end, dtype=np.int64)
        self.season = _seasonality(self.minutes, self.seed)
        self.event = _event_multiplier(self.minutes, scenario)
        self.incident = _in_incident(self.minutes, scenario)
        self.traits = _customer_traits(self.seed, state.customers)
        self.visit_cum, self.n_alive = _visit_weights(self.traits, self.start_s, state.lost_customers)
        self.frames: dict[str, pd.DataFrame] = {}
        self.carry: pd.DataFrame | None = None  # this window's deliveries for recent_deliveries

    # -- traffic --------------------------------------------------------------------------------

    def _pick_customers(self, n: int) -> np.ndarray:
        total = self.visit_cum[-1] if len(self.visit_cum) else 0.0
        if n == 0 or total <= 0:
            return np.full(n, -1, dtype=np.int64)
        idx = np.searchsorted(self.visit_cum, self.rng.random(n) * total, side="right")
        return np.minimum(idx, len(self.visit_cum) - 1).astype(np.int64)

    def _ad_spend(self):
        """Spend, impressions and clicks per active campaign and minute; clicks per campaign."""
        m, rng = self.m, self.rng
        paused = self.state.paused_campaigns
        active = np.array([cid not in paused for cid in m.camp_ids], dtype=bool)
        n_min = len(self.minutes)
        on = active[:, None] & (m.camp_start[:, None] <= self.minutes[None, :] * 60)
        planned = (m.camp_budget[:, None] / MINUTES_PER_DAY) * self.season[None, :] * np.sqrt(self.event)[None, :]
        eps = rng.lognormal(-SPEND_NOISE_SIGMA**2 / 2, SPEND_NOISE_SIGMA, size=planned.shape)
        spend = np.round(planned * eps, 2)
        chan_factor = np.ones((len(m.camp_ids), n_min))
        target = _CH[m.targets["channel"]]
        chan_factor[np.ix_(m.camp_channel == target, self.incident)] = INCIDENT_CHANNEL_FACTOR
        exp_clicks = planned / m.camp_cpc[:, None] * eps**CLICK_ELASTICITY * np.sqrt(self.event)[None, :] * chan_factor
        clicks = rng.poisson(exp_clicks)
        if self.scenario.name == "incident":
            hit = (m.camp_ids == self.scenario_target("campaign"))[:, None] & self.incident[None, :]
            spend = np.where(hit, np.round(spend * INCIDENT_CAMPAIGN_SPEND_FACTOR, 2), spend)
        impressions = clicks + rng.poisson(spend / m.camp_cpm[:, None] * 1000)
        ci, ti = np.nonzero(on)
        self.frames["ad_spend"] = _frame(
            "ad_spend",
            {"campaign_id": _Coded(m.camp_v, ci), "minute_utc": self.minutes[ti], "spend": spend[ci, ti],
             "impressions": impressions[ci, ti], "clicks": clicks[ci, ti]},
        )
        self.camp_active = active
        return np.where(on, clicks, 0)

    def _sessions(self):
        m, rng = self.m, self.rng
        n_min = len(self.minutes)
        base = self.season * self.event
        # Streams of sessions outside campaigns: new visitors per channel, friends referred by
        # customers, and known customers' own visits; then campaign clicks, new and returning.
        visits = self.visit_cum[-1] * VISITS_PER_ORDER if len(self.visit_cum) else 0.0
        rate = np.concatenate([
            np.array(list(NEW_VISITORS_PER_DAY.values())),
            [REFERRALS_PER_ALIVE_CUSTOMER_DAY * self.n_alive],
            visits * np.array(list(RETURNING_MIX.values())),
        ]) / MINUTES_PER_DAY
        target = _CH[self.scenario_target("channel")]
        factor = np.where(self.incident[:, None] & (_STREAM_CH == target)[None, :], INCIDENT_CHANNEL_FACTOR, 1.0)
        counts = rng.poisson(base[:, None] * rate[None, :] * factor)
        clicks = self._ad_spend()
        landed = rng.binomial(clicks, LANDING_RATE)
        returning = rng.binomial(landed, m.camp_returning[:, None] if self.n_alive else 0.0)
        counts = np.hstack([counts, (landed - returning).T, returning.T])
        n_camp = len(m.camp_ids)
        s_ch = np.concatenate([_STREAM_CH, m.camp_channel, m.camp_channel])
        s_camp = np.concatenate([np.full(len(_STREAM_CH), -1), np.arange(n_camp), np.arange(n_camp)])
        s_ret = np.concatenate([_STREAM_RET, np.zeros(n_camp, dtype=bool), np.ones(n_camp, dtype=bool)])
        s_ref = np.concatenate([_STREAM_REF, np.zeros(2 * n_camp, dtype=bool)])
        flat = counts.ravel()
        n_streams = counts.shape[1]
        ti = np.repeat(np.arange(n_min).repeat(n_streams), flat)
        stream = np.repeat(np.tile(np.arange(n_streams), n_min), flat)
        ch, camp, ret, ref = s_ch[stream], s_camp[stream], s_ret[stream], s_ref[stream]

        n = len(ti)
        cust = np.full(n, -1, dtype=np.int64)
        cust[ret] = self._pick_customers(int(ret.sum()))
        ret = ret & (cust >= 0)
        referrer = np.full(n, -1, dtype=np.int64)
        referrer[ref] = self._pick_customers(int(ref.sum()))
        forced = np.full(n, -1, dtype=np.int64)  # experiment order: experiment index
        treated = np.zeros(n, dtype=bool)
        ts = self.minutes[ti] * 60 + rng.integers(0, 60, n)
        # Sessions the experiments cause (their orders are decided by hashes, see _experiment_orders).
        exp_orders = _experiment_orders(m, self.traits, self.seed, self.start_s, self.end_s)
        gone = _lost_index(self.traits, self.state.lost_customers, self.start_s)
        if len(gone) and exp_orders:  # a customer the service lost answers no outreach either
            gone = set(gone.tolist())
            exp_orders = [row for row in exp_orders if row[0] not in gone]
        if exp_orders:
            e_idx, e_ts, e_exp, e_tr = (np.array(x) for x in zip(*exp_orders))
            k = len(e_idx)
            mix_names = list(RETURNING_MIX)
            mix_p = np.array(list(RETURNING_MIX.values()))
            e_ch = np.array([_CH[c] for c in mix_names])[rng.choice(len(mix_names), k, p=mix_p / mix_p.sum())]
            e_ch = np.where(e_tr & (e_exp == 0), _CH["app"], e_ch)  # the invitation is an app push
            ti = np.concatenate([ti, (e_ts // 60 - self.start).astype(np.int64)])
            ch = np.concatenate([ch, e_ch])
            camp = np.concatenate([camp, np.full(k, -1)])
            ret = np.concatenate([ret, np.ones(k, dtype=bool)])
            ref = np.concatenate([ref, np.zeros(k, dtype=bool)])
            cust = np.concatenate([cust, e_idx.astype(np.int64)])
            referrer = np.concatenate([referrer, np.full(k, -1)])
            forced = np.concatenate([forced, e_exp.astype(np.int64)])
            treated = np.concatenate([treated, e_tr.astype(bool)])
            ts = np.concatenate([ts, e_ts.astype(np.int64)])
        order = np.argsort(ts, kind="stable")
        s = {
            "ts": ts[order], "ti": ti[order], "ch": ch[order], "camp": camp[order], "ret": ret[order],
            "cust": cust[order], "referrer": referrer[order], "forced": forced[order], "treated": treated[order],
        }
        s["minute"] = s["ts"] // 60
        s["id"] = _minute_ids(s["minute"])
        known = s["cust"] >= 0
        s["visitor"] = np.where(known, self.traits.ids[np.maximum(s["cust"], 0)], s["id"])
        n = len(s["ts"])
        # Where new visitors live: a referred friend often lives near the referrer.
        region = rng.choice(len(REGIONS), n, p=REGION_SHARE)
        has_ref = s["referrer"] >= 0
        near = has_ref & (rng.random(n) < 0.6)
        region[near] = self.traits.region[s["referrer"][near]]
        region[known] = self.traits.region[s["cust"][known]]
        s["region"] = region
        self.s = s

    def scenario_target(self, key: str) -> str:
        return self.m.targets[key]

    # -- funnel -------------------------------------------------------------------------------

    def _funnel(self):
        m, rng, s = self.m, self.rng, self.s
        n = len(s["ts"])
        ret = s["ret"]
        ti = s["ti"]
        in_event = self.event[ti] > 1.05
        event_day = in_event & (self.minutes[ti] >= self.scenario.anchor_minute)
        intent = np.where(s["camp"] >= 0, np.sqrt(m.camp_intent[np.maximum(s["camp"], 0)]), 1.0)
        p_cart = _P_CART[s["ch"]] * np.where(ret, RETURNING_CART_LIFT, 1.0) * intent
        p_order = _P_ORDER[s["ch"]] * np.where(ret, RETURNING_ORDER_LIFT, 1.0) * intent
        p_cart = p_cart * np.where(event_day, 1.15, 1.0)
        p_order = p_order * np.where(event_day, 1.15, np.where(in_event, 0.95, 1.0))
        if self.scenario.name == "incident":
            hit = self.incident[ti] & (s["camp"] >= 0)
            hit &= m.camp_ids[np.maximum(s["camp"], 0)] == self.scenario_target("campaign")
            p_cart = np.where(hit, p_cart * 0.5, p_cart)
            p_order = np.where(hit, p_order * INCIDENT_CAMPAIGN_CONVERSION / 0.5, p_order)
        # Customers in the invitation experiment buy only through the experiment's process
        # during it (their conversion there is set exactly), though they keep browsing.
        if len(m.exp_ids) and s["cust"].max(initial=-1) >= 0:
            e = 0
            in_period = (s["ts"] >= m.exp_start[e]) & (s["ts"] < m.exp_end[e]) & (s["cust"] >= 0)
            if in_period.any():
                members = np.zeros(len(self.traits.ids), dtype=bool)
                members[_experiment_members(m, self.traits, e)] = True
                held = in_period & members[np.maximum(s["cust"], 0)]
                p_cart = np.where(held, 0.3 * p_cart, p_cart)
                p_order = np.where(held, 0.0, p_order)
        forced = s["forced"] >= 0
        cart = (rng.random(n) < p_cart) | forced
        ordered = cart & ((rng.random(n) < p_order) | forced)
        paid = ordered & ((rng.random(n) < np.where(ret, PAY_RATE[1], PAY_RATE[0])) | forced)
        s["cart"], s["ordered"], s["paid"] = cart, ordered, paid

        # Cart lines: 1-5 SKUs by popularity among launched products (new ones get a novelty boost).
        n_lines = np.where(cart, 1 + np.minimum(rng.poisson(0.45 + 0.1 * ret + 0.3 * event_day), 4), 0)
        winback = forced & (s["forced"] == 1)
        n_lines[winback] = 1
        line_sess = np.repeat(np.arange(n), n_lines)
        line_ts = s["ts"][line_sess]
        sku = self._draw_skus(line_ts)
        # The invited customers try a new product; win-back baskets aim at a price around 200.
        invite = (s["forced"] == 0) & s["treated"]
        first_line = np.r_[True, line_sess[1:] != line_sess[:-1]] if len(line_sess) else np.zeros(0, dtype=bool)
        inv_lines = first_line & invite[line_sess]
        if inv_lines.any():
            sku[inv_lines] = self._draw_new_products(line_ts[inv_lines])
        wb_lines = winback[line_sess]
        if wb_lines.any():
            sku[wb_lines] = self._draw_by_price(line_ts[wb_lines])
        # One line per SKU in a session.
        key = line_sess * len(m.skus) + sku
        _, first = np.unique(key, return_index=True)
        keep = np.zeros(len(key), dtype=bool)
        keep[first] = True
        line_sess, sku, line_ts = line_sess[keep], sku[keep], line_ts[keep]
        qty = 1 + np.minimum(rng.poisson(CATEGORY_EXTRA_UNITS[m.category[sku]]), 4)
        qty[forced[line_sess]] = 1  # a trial, a coupon: one unit
        self.lines = {"sess": line_sess, "sku": sku, "qty": qty}

    def _launch_weights(self, at_s: int) -> np.ndarray:
        m = self.m
        age_days = (at_s - m.launched) / SECONDS_PER_DAY
        w = np.where(age_days >= 0, m.popularity * (1 + 2.0 * np.exp(-np.maximum(age_days, 0) / NOVELTY_DAYS)), 0.0)
        return w / w.sum()

    def _with_clearances(self, sku: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Lines drawn while a clearance runs go to its SKU with the share of demand it gains:
        its weight becomes the category median's times exposure and price response (see
        CLEARANCE_EXPOSURE), on top of the whole assortment's weight."""
        frame, m = self.state.clearances, self.m
        if frame is None or frame.empty or not len(ts):
            return sku
        for row in frame.itertuples(index=False):
            i = m.sku_index.get(row.sku)
            on = (ts >= row.start_ts_utc) & (ts < row.end_ts_utc)
            if i is None or not on.any():
                continue
            w = self._launch_weights(int(row.start_ts_utc))
            if w[i] <= 0 and m.launched[i] > row.start_ts_utc:
                continue  # not launched yet
            peers = (m.category == m.category[i]) & (w > 0)
            boosted = (max(float(w[i]), float(np.median(w[peers]))) * CLEARANCE_EXPOSURE.get(row.kind, 1.0)
                       * (1 - float(row.discount_pct) / 100) ** -CLEARANCE_ELASTICITY)
            gain = max(boosted - float(w[i]), 0.0)
            share = gain / (1.0 + gain)  # w sums to 1
            switch = on & (self.rng.random(len(ts)) < share)
            sku = np.where(switch, i, sku)
        return sku

    def _line_discounts(self, sku: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """The clearance discount (a fraction) of each order line: its SKU's at its time."""
        frame = self.state.clearances
        out = np.zeros(len(sku))
        if frame is None or frame.empty or not len(sku):
            return out
        for row in frame.itertuples(index=False):
            i = self.m.sku_index.get(row.sku)
            if i is None:
                continue
            hit = (sku == i) & (ts >= row.start_ts_utc) & (ts < row.end_ts_utc)
            out[hit] = float(row.discount_pct) / 100.0
        return out

    def _draw_skus(self, ts: np.ndarray) -> np.ndarray:
        m, rng = self.m, self.rng
        if not len(ts):
            return np.zeros(0, dtype=np.int64)
        last = len(m.skus) - 1
        w_end = np.cumsum(self._launch_weights(self.end_s - 1))
        sku = np.minimum(np.searchsorted(w_end, rng.random(len(ts)) * w_end[-1], side="right"), last)
        early = m.launched[sku] > ts  # not launched yet at that moment: draw among older products
        if early.any():
            w0 = np.cumsum(self._launch_weights(self.start_s))
            sku[early] = np.minimum(np.searchsorted(w0, rng.random(int(early.sum())) * w0[-1], side="right"), last)
        return self._with_clearances(sku.astype(np.int64), ts)

    def _in_stock(self) -> np.ndarray:
        """SKUs with plenty of units that are still in fashion: what the experiments' outreach offers."""
        return (self.S.sum(axis=1) >= 20) & ~self.m.faded

    def _draw_new_products(self, ts: np.ndarray) -> np.ndarray:
        m = self.m
        recent = (m.launched <= self.start_s) & (m.launched > self.start_s - 60 * SECONDS_PER_DAY) & self._in_stock()
        if not recent.any():
            return self._draw_skus(ts)
        pool = np.flatnonzero(recent)
        units = self.S[pool].sum(axis=1).astype(float)  # the invitation features what is well stocked
        return pool[np.searchsorted(np.cumsum(units), self.rng.random(len(ts)) * units.sum(), side="right")]

    def _draw_by_price(self, ts: np.ndarray) -> np.ndarray:
        m = self.m
        pool = np.flatnonzero((m.launched <= self.start_s) & self._in_stock())
        prices = m.price[pool]
        order = np.argsort(prices)
        sigma = 0.5
        target = self.rng.lognormal(np.log(WINBACK_BASKET_MEAN) - sigma**2 / 2, sigma, len(ts))
        pos = np.clip(np.searchsorted(prices[order], target), 1, len(pool) - 1)
        lo, hi = prices[order][pos - 1], prices[order][pos]
        pick = np.where(target - lo < hi - target, pos - 1, pos)
        return pool[order][pick]

    # -- page views and cart adds ----------------------------------------------------------

    def _page_views(self):
        m, rng, s, ln = self.m, self.rng, self.s, self.lines
        n = len(s["ts"])
        ret = s["ret"]
        mean_browse = 3.2 + 0.6 * ret
        browse = np.minimum(1 + rng.negative_binomial(1.3, 1.3 / (1.3 + mean_browse)), MAX_BROWSE_PAGES)
        n_cart_lines = np.bincount(ln["sess"], minlength=n)
        n_pv = browse + n_cart_lines + s["cart"] + s["ordered"]
        dwell = rng.lognormal(np.log(38) - 0.18, 0.6, n)
        duration = np.maximum(5, np.round(n_pv * dwell)).astype(np.int64)
        # The purchase path (cart product pages, cart, checkout, the order itself) is squeezed
        # into the window when the session outlives it, so an order never precedes its
        # checkout; browsing pages keep their true times, later windows' minutes included
        # (the caller parks those until their minute is ingested).
        squeeze = np.minimum(1.0, (self.end_s - 1 - s["ts"]) / duration)
        s["duration"] = duration

        def at(sess, pos):
            return s["ts"][sess] + np.floor(pos * duration[sess] * squeeze[sess]).astype(np.int64)

        def at_true_time(sess, pos):
            return s["ts"][sess] + np.floor(pos * duration[sess]).astype(np.int64)

        # Browsing pages.
        b_sess = np.repeat(np.arange(n), browse)
        first = np.r_[True, b_sess[1:] != b_sess[:-1]] if len(b_sess) else np.zeros(0, dtype=bool)
        b_type = rng.choice(4, len(b_sess), p=_BROWSE_P)
        landing = np.array([list(_PAGE_TYPES).index(_LANDING_PAGE[k]) for k in _CHANNEL_KIND])
        b_type[first] = landing[s["ch"][b_sess[first]]]
        b_pos = np.where(first, 0.0, rng.uniform(0.02, 0.85, len(b_sess)))
        b_ts = at_true_time(b_sess, b_pos)
        b_sku = np.where(b_type == 3, self._draw_skus(b_ts), -1)
        # Product pages of the SKUs put in the cart, the cart, the checkout.
        c_sess = ln["sess"]
        c_pos = rng.uniform(0.1, 0.85, len(c_sess))
        cart_sess = np.flatnonzero(s["cart"])
        chk_sess = np.flatnonzero(s["ordered"])
        sess = np.concatenate([b_sess, c_sess, cart_sess, chk_sess])
        ptype = np.concatenate([b_type, np.full(len(c_sess), 3), np.full(len(cart_sess), 4),
                                np.full(len(chk_sess), 5)])
        psku = np.concatenate([b_sku, ln["sku"], np.full(len(cart_sess) + len(chk_sess), -1)])
        pos = np.concatenate([b_pos, c_pos, np.full(len(cart_sess), 0.9), np.full(len(chk_sess), 0.95)])
        ts = np.concatenate([b_ts, at(sess[len(b_sess):], pos[len(b_sess):])])
        # Ids count within the session (its pages may fall into later windows' minutes, where
        # per-minute counters would collide): session_id * PAGE_ID_BASE + rank.
        by_session = np.lexsort((pos, ts, sess))
        rank = np.empty(len(sess), dtype=np.int64)
        starts = np.r_[True, sess[by_session][1:] != sess[by_session][:-1]] if len(sess) else np.zeros(0, dtype=bool)
        first = np.maximum.accumulate(np.where(starts, np.arange(len(sess)), 0)) if len(sess) else first
        rank[by_session] = np.arange(len(sess)) - first
        order = np.lexsort((pos, sess, ts))
        sess, ptype, psku, ts, rank = sess[order], ptype[order], psku[order], ts[order], rank[order]
        self.frames["page_views"] = _frame(
            "page_views",
            {
                "event_id": s["id"][sess] * PAGE_ID_BASE + rank, "session_id": s["id"][sess], "visitor_id": s["visitor"][sess],
                "ts_utc": ts, "channel": _Coded(_CHANNEL_V, s["ch"][sess]), "is_returning": ret[sess],
                "page_type": _Coded(_PAGE_V, ptype), "sku": _Coded(m.sku_v, psku),
            },
        )
        ca_ts = np.minimum(at(c_sess, c_pos) + 4, self.end_s - 1)
        ca_ts = np.maximum(ca_ts, s["ts"][c_sess])
        order = np.lexsort((c_sess, ca_ts))
        self.frames["cart_adds"] = _frame(
            "cart_adds",
            {
                "event_id": _minute_ids(ca_ts[order] // 60), "session_id": s["id"][c_sess[order]],
                "visitor_id": s["visitor"][c_sess[order]], "ts_utc": ca_ts[order],
                "channel": _Coded(_CHANNEL_V, s["ch"][c_sess[order]]), "is_returning": ret[c_sess[order]],
                "sku": _Coded(m.sku_v, ln["sku"][order]), "qty": ln["qty"][order],
            },
        )
        s["order_ts"] = np.maximum(s["ts"], np.minimum(at(np.arange(n), np.full(n, 0.97)) + 8, self.end_s - 1))

    # -- orders, stock, purchasing -------------------------------------------------------------

    def _stock_arrays(self):
        m = self.m
        st = self.state.stock
        n_sku, n_wh = len(m.skus), len(m.wh_ids)
        si, wi, ok = _stock_index(m, st)
        self.stock_rows = (si, wi, ok)
        self.S = np.zeros((n_sku, n_wh), dtype=np.int64)
        self.carried = np.zeros((n_sku, n_wh), dtype=bool)
        self.R = np.zeros((n_sku, n_wh), dtype=np.int64)
        self.safety = np.zeros((n_sku, n_wh), dtype=np.int64)
        self.LT = np.full((n_sku, n_wh), 7.0)
        at = (si[ok], wi[ok])
        self.S[at] = st["on_hand"].to_numpy(dtype=np.int64)[ok]
        self.carried[at] = True
        self.R[at] = st["reorder_point"].to_numpy(dtype=np.int64)[ok]
        self.safety[at] = st["safety_stock"].to_numpy(dtype=np.int64)[ok]
        self.LT[at] = st["lead_time_days"].to_numpy(dtype=float)[ok]
        self.extra_stock = {}  # rows of SKUs/warehouses the catalog does not know: (sku, wh) -> delta
        self.new_pairs = []  # (sku, warehouse) indices a receipt stocked for the first time

    def _fulfil(self):
        """Walk the window in time order: receipts, the incident's write-off, hourly purchasing
        checks and orders (each ships from the first warehouse on its region's route with stock)."""
        m, s, ln = self.m, self.s, self.lines
        sc = self.scenario
        incident_pair = None
        inc_lo = inc_hi = None
        if sc.name == "incident":
            incident_pair = (m.sku_index[self.scenario_target("stockout_sku")],
                             m.wh_index[self.scenario_target("stockout_warehouse")])
            inc_lo, inc_hi = sc.anchor_minute * 60, (sc.anchor_minute + INCIDENT_MINUTES) * 60
        events = []  # (ts, priority, seq, kind, payload)
        seq = 0
        on_order = np.zeros_like(self.S)
        open_po = self.state.open_replenishments
        po_rows = _open_po_rows(m, open_po)
        self.received = []
        self.new_pos = []
        self.adjustments = []

        def schedule_receipt(po):
            nonlocal seq
            pid, si, wi, qty, created, expected = po[:6]
            arrival, u_short = _po_arrival(pid, created, expected)
            arrival = max(arrival, self.start_s)
            if incident_pair is not None and (si, wi) == incident_pair and inc_lo <= arrival < inc_hi:
                arrival = inc_hi  # held at the gate until the incident is over
            if si >= 0 and wi >= 0:
                on_order[si, wi] += qty
            if arrival < self.end_s:
                q = qty if u_short >= 0.1 else max(1, int(round(qty * (0.8 + 1.5 * u_short))))
                heapq.heappush(events, (arrival, 0, seq, "receipt", (po, q)))
                seq += 1

        for po in po_rows:
            schedule_receipt(po)
        if incident_pair is not None and self.start_s <= inc_lo < self.end_s:
            heapq.heappush(events, (inc_lo, 1, seq, "writeoff", None))
            seq += 1
        first_hour = -(-self.start // 60) * 60
        for minute in range(first_hour, self.end, 60):
            heapq.heappush(events, (minute * 60, 2, seq, "purchase", minute))
            seq += 1
        order_sess = np.flatnonzero(s["ordered"])
        order_sess = order_sess[np.argsort(s["order_ts"][order_sess], kind="stable")]
        starts = np.searchsorted(ln["sess"], order_sess, side="left")
        ends = np.searchsorted(ln["sess"], order_sess, side="right")
        for k, sess in enumerate(order_sess):
            heapq.heappush(events, (int(s["order_ts"][sess]), 3, seq, "order", k))
            seq += 1

        S, carried = self.S, self.carried
        routes = m.routes
        line_keep = np.zeros(len(ln["sku"]), dtype=bool)
        order_wh = np.full(len(order_sess), -1, dtype=np.int64)
        sku_l, qty_l, region_l, paid_l = ln["sku"].tolist(), ln["qty"].tolist(), s["region"], s["paid"]
        # The experiments' orders may ship from any warehouse rather than be lost.
        forced_l = s["forced"]
        any_route = [r + [w for w in range(len(m.wh_ids)) if w not in r] for r in routes]
        event_horizon = None
        if sc.name == "sales-event":
            event_horizon = sc.anchor_minute * 60
        while events:
            ts, _, _, kind, payload = heapq.heappop(events)
            if kind == "order":
                sess = order_sess[payload]
                a, b = starts[payload], ends[payload]
                lines = list(range(a, b))
                route = routes[region_l[sess]] if forced_l[sess] < 0 else any_route[region_l[sess]]
                chosen = -1
                for w in route:
                    if all(carried[sku_l[i], w] and S[sku_l[i], w] >= qty_l[i] for i in lines):
                        chosen = w
                        keep = lines
                        break
                if chosen < 0:
                    main = lines[0]
                    for w in route:
                        if carried[sku_l[main], w] and S[sku_l[main], w] >= qty_l[main]:
                            chosen = w
                            keep = [i for i in lines if carried[sku_l[i], w] and S[sku_l[i], w] >= qty_l[i]]
                            break
                if chosen < 0 and forced_l[sess] >= 0:
                    # The experiments' product sold out: the customer takes the best-stocked one.
                    main = lines[0]
                    sku_l[main] = int(np.argmax(S.sum(axis=1)))
                    ln["sku"][main] = sku_l[main]
                    chosen = int(np.argmax(S[sku_l[main]]))
                    keep = [main] if S[sku_l[main], chosen] >= qty_l[main] else []
                    if not keep:
                        chosen = -1
                if chosen < 0:
                    continue  # sold out everywhere: a lost sale
                order_wh[payload] = chosen
                line_keep[keep] = True
                if paid_l[sess]:
                    for i in keep:
                        S[sku_l[i], chosen] -= qty_l[i]
            elif kind == "receipt":
                po, q = payload
                pid, si, wi = po[0], po[1], po[2]
                if si >= 0 and wi >= 0:
                    S[si, wi] += q
                    on_order[si, wi] -= po[3]
                    if not carried[si, wi]:
                        carried[si, wi] = True
                        self.new_pairs.append((si, wi))
                else:
                    key = (po[6], po[7])
                    self.extra_stock[key] = self.extra_stock.get(key, 0) + q
                self.received.append((pid, ts, q))
            elif kind == "writeoff":
                si, wi = incident_pair
                delta = -max(0, int(S[si, wi]) - INCIDENT_STOCK_LEFT)
                S[si, wi] += delta
                self.adjustments.append((si, wi, ts, delta, f"WO-{sc.anchor_minute}-{m.skus[si]}"))
            elif kind == "purchase":
                minute = payload
                d = np.maximum(self.R - self.safety, 1) / np.maximum(self.LT, 0.5)
                reorder_at = self.R.astype(float)
                qty = d * np.where(m.wh_forward[None, :], COVER_DAYS["forward"], COVER_DAYS["regional"])
                if event_horizon is not None:
                    ahead = (event_horizon - ts) / SECONDS_PER_DAY
                    boost = (ahead > -1) & (ahead < self.LT + 7)
                    reorder_at = reorder_at + np.where(boost, d * EVENT_EXTRA_DAYS, 0)
                    qty = qty + np.where(boost, d * EVENT_EXTRA_DAYS, 0)
                need = carried & (S + on_order <= reorder_at)
                if incident_pair is not None and inc_lo <= ts < inc_hi:
                    need[incident_pair] = False
                si_arr, wi_arr = np.nonzero(need)
                for n_po, (si, wi) in enumerate(zip(si_arr.tolist(), wi_arr.tolist())):
                    q = int(max(10, np.ceil((qty[si, wi] + max(0.0, reorder_at[si, wi] - S[si, wi] - on_order[si, wi]))
                                            / 5) * 5))
                    expected = ts + int(self.LT[si, wi] * SECONDS_PER_DAY)
                    pid = f"PO-{minute}-{n_po}"
                    po = (pid, si, wi, q, ts, expected, m.skus[si], m.wh_ids[wi])
                    self.new_pos.append(po)
                    schedule_receipt(po)
        self.order_sess, self.order_wh, self.line_keep = order_sess, order_wh, line_keep

    def _orders(self):
        m, rng, s, ln = self.m, self.rng, self.s, self.lines
        placed = self.order_wh >= 0
        osess = self.order_sess[placed]
        owh = self.order_wh[placed]
        ts = s["order_ts"][osess]
        order = np.lexsort((osess, ts))
        osess, owh, ts = osess[order], owh[order], ts[order]
        oid = _minute_ids(ts // 60)
        n = len(osess)
        # Lines kept by fulfilment, grouped per order in the orders' sequence.
        rank = np.full(len(s["ts"]), -1, dtype=np.int64)
        rank[osess] = np.arange(n)
        lk = np.flatnonzero(self.line_keep)
        l_order = rank[ln["sess"][lk]]
        lo = np.lexsort((lk, l_order))
        lk, l_order = lk[lo], l_order[lo]
        l_sku, l_qty = ln["sku"][lk], ln["qty"][lk]
        l_price, l_cost = m.price[l_sku], m.cost[l_sku]
        # A line of a SKU on clearance sells at the clearance price (whole cents).
        l_price = np.round(l_price * (1 - self._line_discounts(l_sku, ts[l_order])), 2)
        line_first = np.r_[True, l_order[1:] != l_order[:-1]] if len(lk) else np.zeros(0, dtype=bool)
        line_no = np.arange(len(lk)) - np.maximum.accumulate(np.where(line_first, np.arange(len(lk)), 0)) + 1
        gross = np.bincount(l_order, weights=l_qty * l_price, minlength=n)
        units = np.bincount(l_order, weights=l_qty, minlength=n)
        # Discounts: everyday coupons; the event's "50 off every 300"; the win-back coupon.
        sc = self.scenario
        disc = np.zeros(n)
        coupon = rng.random(n) < 0.15
        everyday = np.select([gross >= 199, gross >= 99, gross >= 49], [20.0, 10.0, 5.0], 0.0)
        disc = np.where(coupon, everyday, disc)
        if sc.name == "sales-event":
            d = ts // 60 - sc.anchor_minute
            disc = np.where((d >= 0) & (d < MINUTES_PER_DAY), 50.0 * np.floor(gross / 300), disc)
            pre = (d < 0) & (d >= -PRE_EVENT_DAYS * MINUTES_PER_DAY)
            disc = np.where(pre, np.maximum(disc, 20.0 * np.floor(gross / 200)), disc)
        winback = (s["forced"][osess] == 1) & s["treated"][osess]
        disc = np.where(winback, np.minimum(WINBACK_COUPON, 0.5 * gross), disc)
        disc = np.round(np.minimum(disc, 0.5 * gross), 2)
        amount = np.round(gross - disc, 2)
        paid = s["paid"][osess]
        paid_ts = np.minimum(ts + rng.integers(5, 120, n), self.end_s - 1)
        cancel_ts = np.minimum(ts + rng.integers(60, 1800, n), self.end_s - 1)
        known = s["cust"][osess] >= 0
        customer = s["visitor"][osess]
        camp = s["camp"][osess]
        region = s["region"][osess]
        self.frames["orders"] = _frame(
            "orders",
            {
                "order_id": oid, "customer_id": customer, "session_id": s["id"][osess], "ts_utc": ts,
                "channel": _Coded(_CHANNEL_V, s["ch"][osess]), "campaign_id": _Coded(m.camp_v, camp),
                "is_returning": known, "region": _Coded(_REGION_V, region), "warehouse_id": _Coded(m.wh_v, owh),
                "status": _Coded(_STATUS_V, (~paid).astype(np.int64)),
                "amount": amount, "discount": disc, "paid_ts_utc": np.where(paid, paid_ts, _NULL),
                "cancelled_ts_utc": np.where(paid, _NULL, cancel_ts), "shipped_ts_utc": np.full(n, _NULL),
                "delivered_ts_utc": np.full(n, _NULL), "returned_ts_utc": np.full(n, _NULL),
            },
        )
        self.frames["order_lines"] = _frame(
            "order_lines",
            {"order_id": oid[l_order], "line_no": line_no, "sku": _Coded(m.sku_v, l_sku), "qty": l_qty,
             "unit_price": l_price, "unit_cost": l_cost},
        )
        # New customers: visitors placing their first order.
        new = ~known
        ref = s["referrer"][osess][new]
        self.frames["customers"] = _frame(
            "customers",
            {"customer_id": customer[new], "created_ts_utc": ts[new], "region": _Coded(_REGION_V, region[new]),
             "acquisition_channel": _Coded(_CHANNEL_V, s["ch"][osess][new]),
             "referred_by": np.where(ref >= 0, self.traits.ids[np.maximum(ref, 0)], _NULL)},
        )
        self.o = {"sess": osess, "id": oid, "ts": ts, "wh": owh, "paid": paid, "paid_ts": paid_ts,
                  "amount": amount, "gross": gross, "units": units, "region": s["region"][osess],
                  "ch": s["ch"][osess], "customer": customer, "known": known,
                  "l_order": l_order, "l_sku": l_sku, "l_qty": l_qty, "l_price": l_price}

    # -- lifecycle: shipments, deliveries, returns, reviews -----------------------------------

    def _lifecycle(self):
        m, rng, o = self.m, self.rng, self.o
        sc = self.scenario
        p = np.flatnonzero(o["paid"])
        n = len(p)
        paid_ts = o["paid_ts"][p]
        wh, region = o["wh"][p], o["region"][p]
        km = m.km[wh, region]
        local_hour = ((paid_ts + TZ_OFFSET_HOURS * 3600) // 3600) % 24
        day_start = local_day(paid_ts) * SECONDS_PER_DAY - TZ_OFFSET_HOURS * 3600
        same_day = paid_ts + (rng.uniform(1.5, 6.0, n) * 3600).astype(np.int64)
        next_day = day_start + SECONDS_PER_DAY + (9 + rng.uniform(0, 4, n)) * 3600
        shipped = np.where(local_hour < CUTOFF_HOUR_LOCAL, same_day, next_day.astype(np.int64))
        surge = _event_multiplier(paid_ts // 60, sc)
        shipped = shipped + (10 * np.maximum(surge - 1, 0) ** 0.6 * 3600).astype(np.int64)
        # Carriers: SF for valuable parcels, JD out of forward warehouses, the rest by contract.
        carrier = rng.choice([2, 3, 4], n, p=[0.45, 0.3, 0.25])
        carrier = np.where(m.wh_forward[wh] & (rng.random(n) < 0.7), 1, carrier)
        carrier = np.where(o["amount"][p] > 600, 0, carrier)
        median_h = (10 + 0.02 * km) * _CARRIER_SPEED[carrier]
        transit_h = median_h * np.exp(REGION_DELAY_SIGMA[region] * rng.standard_normal(n))
        if sc.name == "sales-event":
            d = (shipped // 60) - sc.anchor_minute
            transit_h = np.where((d >= 0) & (d < 3 * MINUTES_PER_DAY), transit_h * 1.35, transit_h)
        # Now and then a parcel sits in a sorting centre for a day, more often on long routes.
        stuck = rng.random(n) < 0.03 + 0.04 * (km > 1000)
        transit_h = transit_h + np.where(stuck, rng.exponential(20.0, n), 0.0)
        delivered = _delivery_hours(shipped + (transit_h * 3600).astype(np.int64), rng.uniform(0, 4, n))
        # The promise at checkout: the end of the day a parcel usually arrives (normal
        # handling, median transit).
        usual_ship = np.where(
            local_hour < CUTOFF_HOUR_LOCAL, paid_ts + 4 * 3600, day_start + SECONDS_PER_DAY + 11 * 3600
        )
        usual = _delivery_hours(usual_ship + (median_h * 3600).astype(np.int64), np.full(n, 4.0))
        promised_day = local_day(usual)
        promised = (promised_day + 1) * SECONDS_PER_DAY - TZ_OFFSET_HOURS * 3600 - 1
        cost = (8 + 0.006 * km + 1.2 * o["units"][p]) * _CARRIER_COST[carrier] + 0.035 * o["amount"][p]
        oid = o["id"][p]
        self.frames["shipments"] = _frame(
            "shipments",
            {"shipment_id": oid, "order_id": oid, "warehouse_id": _Coded(m.wh_v, wh),
             "region": _Coded(_REGION_V, region), "carrier": _Coded(_CARRIER_V, carrier),
             "shipped_ts_utc": shipped, "promised_ts_utc": promised, "delivered_ts_utc": np.full(n, _NULL),
             "cost": np.round(cost, 2)},
        )
        self.frames["deliveries"] = _frame(
            "deliveries", {"shipment_id": oid, "order_id": oid, "delivered_ts_utc": delivered}
        )
        order_pos = np.full(len(o["id"]), -1, dtype=np.int64)
        order_pos[p] = np.arange(n)
        self.paid_lifecycle = (p, paid_ts, shipped, promised, delivered)
        self._returns_and_reviews(order_pos, delivered, delivered > promised, km)

    def _returns_and_reviews(self, order_pos, delivered, late, km):
        m, rng, o = self.m, self.rng, self.o
        sc = self.scenario
        lp = order_pos[o["l_order"]]
        lines = np.flatnonzero(lp >= 0)  # lines of paid orders
        pos = lp[lines]
        oi = o["l_order"][lines]
        sku, qty = o["l_sku"][lines], o["l_qty"][lines]
        cat = m.category[sku]
        ch = o["ch"][oi]
        live = ch == _CH["live_stream"]
        order_ts = o["ts"][oi]
        in_event = _event_multiplier(order_ts // 60, sc) > 1.05
        hazards = np.stack(
            [
                0.012 * np.exp(2.4 * (0.55 - m.quality[sku])) * np.where(cat == CATEGORY_NAMES.index("electronics"),
                                                                          1.4, 1.0),
                (0.002 + 0.010 * km[pos] / 2000) * CATEGORY_FRAGILITY[cat],
                CATEGORY_SIZE_FIT[cat] * np.where(live, 1.2, 1.0),
                0.022 * np.where(live, 2.6, 1.0) * np.where(in_event, 1.3, 1.0) * np.where(o["known"][oi], 0.8, 1.0),
                np.full(len(lines), 0.004),
            ],
            axis=1,
        )
        ret_sku = m.sku_index.get(self.scenario_target("return_sku"), -1)
        if sc.name == "incident":
            inc = _in_incident(order_ts // 60, sc) & (sku == ret_sku)
            hazards[inc, 0] = 0.3
        total = np.minimum(hazards.sum(axis=1), 0.9)
        returned = rng.random(len(lines)) < total
        cum = np.cumsum(hazards, axis=1) / hazards.sum(axis=1, keepdims=True)
        reason = (rng.random(len(lines))[:, None] > cum).sum(axis=1)
        reason = np.minimum(reason, 4)
        lag_min, lag_mean = _RETURN_LAG_DAYS[reason, 0], _RETURN_LAG_DAYS[reason, 1]
        lag_days = lag_min + rng.exponential(1.0, len(lines)) * lag_mean
        lag_days = np.minimum(lag_days, np.where(reason == 3, 7.0, 14.0))
        r_ts = delivered[pos] + (lag_days * SECONDS_PER_DAY).astype(np.int64)
        r_qty = np.where((qty > 1) & (rng.random(len(lines)) < 0.3), 1, qty)
        share = np.where(o["gross"][oi] > 0, o["amount"][oi] / np.maximum(o["gross"][oi], 1e-9), 1.0)
        refund = np.round(r_qty * m.price[sku] * share, 2)
        resellable = rng.random(len(lines)) < _RESELLABLE_P[reason]
        ri = np.flatnonzero(returned)
        ri = ri[np.lexsort((ri, oi[ri]))]
        ret = {"return_id": _minute_ids(order_ts[ri] // 60), "order_id": o["id"][oi[ri]], "sku": sku[ri],
               "qty": r_qty[ri], "ts_utc": r_ts[ri], "reason": reason[ri], "refund_amount": refund[ri],
               "resellable": resellable[ri]}
        self.window_returns = (ret["order_id"], ret["ts_utc"], ret["reason"])
        if sc.name == "incident" and ret_sku >= 0:
            keep = (sku == ret_sku) & ~returned
            self.carry = pd.DataFrame({
                "order_id": o["id"][oi[keep]], "sku": _text_column(_Coded(m.sku_v, sku[keep])),
                "qty": qty[keep].astype(np.int64),
                "refund_amount": np.round(qty[keep] * m.price[sku[keep]] * share[keep], 2),
                "delivered_ts_utc": delivered[pos][keep].astype(np.int64)})
            early = self._incident_returns(ret_sku)
            ret = {k: np.concatenate([v, early[k]]) for k, v in ret.items()}
        self.frames["returns"] = _frame(
            "returns", {**ret, "sku": _Coded(m.sku_v, ret["sku"]), "reason": _Coded(_REASON_V, ret["reason"])}
        )
        # Resellable returns go back on sale once the returns centre has inspected them.
        back = np.flatnonzero(ret["resellable"])
        back_ts = ret["ts_utc"][back] + _inspection_seconds(self.seed, ret["return_id"][back], ret["reason"][back])
        self.frames["return_restocks"] = _frame("return_restocks", {
            "return_id": ret["return_id"][back], "sku": _Coded(m.sku_v, ret["sku"][back]),
            "warehouse_id": _Coded(m.wh_v, o["wh"][oi[ri[back]]]), "qty": ret["qty"][back], "ts_utc": back_ts})
        # Reviews: happier for good products on time; returned or damaged items score low.
        reviewed = rng.random(len(lines)) < np.where(returned, 0.45, 0.2)
        score = 3.3 + 1.8 * m.quality[sku] - 0.8 * late[pos] + rng.normal(0, 0.6, len(lines))
        by_reason = np.array([1.2, 1.0, 2.5, 3.3, 2.5])[reason] + rng.normal(0, 0.5, len(lines))
        rating = np.clip(np.round(np.where(returned, by_reason, score)), 1, 5).astype(np.int64)
        v_ts = np.where(returned, r_ts, delivered[pos]) + (rng.uniform(0.3, 5.0, len(lines)) * SECONDS_PER_DAY).astype(
            np.int64)
        vi = np.flatnonzero(reviewed)
        vi = vi[np.lexsort((vi, oi[vi]))]
        # Text: a template for the rating; a returned item's reason, or lateness, speaks louder.
        text = (rating[vi] - 1) * 4 + rng.integers(0, 4, len(vi))
        special = returned[vi] & (reason[vi] >= 1) & (reason[vi] <= 3)
        text = np.where(special, 20 + reason[vi] - 1, text)
        text = np.where(~special & late[pos][vi] & (rating[vi] <= 3), 23, text)
        self.frames["reviews"] = _frame(
            "reviews",
            {"review_id": _minute_ids(order_ts[vi] // 60), "order_id": o["id"][oi[vi]], "sku": _Coded(m.sku_v, sku[vi]),
             "customer_id": o["customer"][oi[vi]], "ts_utc": v_ts[vi], "rating": rating[vi],
             "text": _Coded(_TEXT_V, text)},
        )

    def _service(self):
        """The service contacts of the window's paid orders (see service_contacts)."""
        o = self.o
        p, paid_ts, shipped, promised, delivered = self.paid_lifecycle
        self.frames["service_contacts"] = _contacts_frame(_contacts(
            self.seed, self.scenario, o["id"][p], o["ts"][p], o["customer"][p], paid_ts, shipped, promised, delivered,
            *self.window_returns))

    def _lost(self) -> pd.DataFrame | None:
        """lost_customers for the next window: the state's and those of this window's contacts."""
        old, contacts = self.state.lost_customers, self.frames["service_contacts"]
        if not len(contacts):
            return old
        new = lost_customers(contacts, self.seed)
        if old is None or not len(old):
            return new
        if not len(new):
            return old
        both = pd.concat([old, new], ignore_index=True)
        return both.groupby("customer_id", as_index=False)["lost_ts_utc"].min()

    def _incident_returns(self, ret_sku: int) -> dict[str, np.ndarray]:
        """The incident's early returns: of the return SKU's deliveries from orders placed in the
        two weeks before the anchor (state.recent_deliveries), a share comes back for quality
        from the anchor on. Which, and when, are hashes of (seed, order_id), so every one is
        emitted once, by the window its time falls in; its id is its order's id + 500_000."""
        sc, m = self.scenario, self.m
        lo = sc.anchor_minute * 60
        hi = lo + INCIDENT_MINUTES * 60
        d = self.state.recent_deliveries
        empty = {k: np.zeros(0, dtype=t) for k, t in (("return_id", np.int64), ("order_id", np.int64),
                 ("sku", np.int64), ("qty", np.int64), ("ts_utc", np.int64), ("reason", np.int64),
                 ("refund_amount", float), ("resellable", bool))}
        if d is None or not len(d) or self.end_s <= lo or self.start_s >= hi:
            return empty
        d = d[d["sku"] == m.skus[ret_sku]]
        order_id = d["order_id"].to_numpy(dtype=np.int64)
        placed = order_id // ID_BASE * 60
        delivered = d["delivered_ts_utc"].to_numpy(dtype=np.int64)
        when = lo + ((hi - lo) * hash_uniform(self.seed, order_id, salt=72) ** 1.7).astype(np.int64)
        when = np.maximum(when, delivered + 1800)
        pick = (placed < lo) & (placed >= lo - INCIDENT_RETURN_LOOKBACK_DAYS * SECONDS_PER_DAY)
        pick &= hash_uniform(self.seed, order_id, salt=71) < INCIDENT_RETURN_P
        pick &= (when < hi) & (when >= self.start_s) & (when < self.end_s)
        n = int(pick.sum())
        return {"return_id": order_id[pick] + ID_BASE // 2, "order_id": order_id[pick], "sku": np.full(n, ret_sku),
                "qty": d["qty"].to_numpy(dtype=np.int64)[pick], "ts_utc": when[pick], "reason": np.zeros(n, np.int64),
                "refund_amount": d["refund_amount"].to_numpy(dtype=float)[pick], "resellable": np.zeros(n, bool)}

    # -- marketing touches and experiments ------------------------------------------------------

    def _touches(self):
        m, rng, s = self.m, self.rng, self.s
        n = len(s["ts"])
        # touch type codes: 0 impression, 1 click, 2 visit
        own_type = np.where(_CHANNEL_VISIT[s["ch"]], 2, 1)
        n_prior = np.minimum(rng.poisson(np.where(s["ret"], _PRIOR_MEAN[1], _PRIOR_MEAN[0])), 4)
        p_sess = np.repeat(np.arange(n), n_prior)
        k = len(p_sess)
        p_ch = _PRIOR_CODES[rng.choice(len(_PRIOR_CODES), k, p=_PRIOR_P)]
        p_type = np.where(_CHANNEL_VISIT[p_ch], 2, np.where(_CHANNEL_ADS[p_ch] & (rng.random(k) < 0.65), 0, 1))
        back = 600 + rng.exponential(1.5 * SECONDS_PER_DAY, k)
        p_ts = s["ts"][p_sess] - np.minimum(back, 7 * SECONDS_PER_DAY).astype(np.int64)
        # An earlier paid or content touch belongs to one of its channel's running campaigns,
        # picked by budget (-1 where the channel has none).
        active = self.camp_active
        weight = (m.camp_channel[None, :] == np.arange(len(CHANNELS))[:, None]) * (m.camp_budget * active)[None, :]
        total = weight.sum(axis=1, keepdims=True)
        cum = np.cumsum(weight, axis=1) / np.where(total > 0, total, 1.0)
        p_camp = (rng.random(k)[:, None] >= cum[p_ch]).sum(axis=1)
        p_camp = np.where(total[p_ch, 0] > 0, np.minimum(p_camp, len(m.camp_ids) - 1), -1)
        sess = np.concatenate([np.arange(n), p_sess])
        ts = np.concatenate([s["ts"], p_ts])
        ch = np.concatenate([s["ch"], p_ch])
        camp = np.concatenate([s["camp"], p_camp])
        ttype = np.concatenate([own_type, p_type])
        order = np.lexsort((ts, sess))
        sess, ts, ch, camp, ttype = sess[order], ts[order], ch[order], camp[order], ttype[order]
        self.frames["marketing_touches"] = _frame(
            "marketing_touches",
            {"touch_id": _minute_ids(s["minute"][sess]), "visitor_id": s["visitor"][sess], "ts_utc": ts,
             "channel": _Coded(_CHANNEL_V, ch), "campaign_id": _Coded(m.camp_v, camp),
             "touch_type": _Coded(_TOUCH_V, ttype)},
        )

    def _assignments(self):
        m = self.m
        rows = {"experiment_id": [], "customer_id": [], "arm": [], "ts_utc": []}
        for e, spec in enumerate(EXPERIMENTS[: len(m.exp_ids)]):
            start = m.exp_start[e]
            if not (self.start_s <= start < self.end_s):
                continue
            members = _experiment_members(m, self.traits, e)
            arms = spec[4].split(",")
            treated = self.traits.u_arm[members] >= 0.5
            rows["experiment_id"].append(np.full(len(members), spec[0], dtype=object))
            rows["customer_id"].append(self.traits.ids[members])
            rows["arm"].append(np.where(treated, arms[1], arms[0]).astype(object))
            rows["ts_utc"].append(np.full(len(members), start, dtype=np.int64))
        if rows["customer_id"]:
            self.frames["experiment_assignments"] = _frame(
                "experiment_assignments", {k: np.concatenate(v) for k, v in rows.items()}
            )
        else:
            self.frames["experiment_assignments"] = _frame("experiment_assignments", None)

    def _sessions_frame(self):
        s = self.s
        n = len(s["ts"])
        desktop = self.rng.random(n) < _DESKTOP_SHARE[s["ch"]]
        tablet = ~desktop & (self.rng.random(n) < 0.06)
        known = s["cust"] >= 0
        self.frames["sessions"] = _frame(
            "sessions",
            {"session_id": s["id"], "visitor_id": s["visitor"], "customer_id": np.where(known, s["visitor"], _NULL),
             "ts_utc": s["ts"], "duration_s": s["duration"], "channel": _Coded(_CHANNEL_V, s["ch"]),
             "campaign_id": _Coded(self.m.camp_v, s["camp"]), "is_returning": s["ret"],
             "device": _Coded(_DEVICE_V, np.where(desktop, 1, np.where(tablet, 2, 0)))},
        )

    # -- state and stock frames ------------------------------------------------------------------

    def _stock_frames(self):
        m = self.m
        new = self.new_pos
        self.frames["replenishment_orders"] = _frame(
            "replenishment_orders",
            {"replenishment_id": [p[0] for p in new], "sku": [p[6] for p in new], "warehouse_id": [p[7] for p in new],
             "qty": [p[3] for p in new], "created_ts_utc": [p[4] for p in new], "expected_ts_utc": [p[5] for p in new],
             "received_ts_utc": np.full(len(new), _NULL), "qty_received": np.full(len(new), _NULL),
             "status": ["open"] * len(new), "source": ["purchasing"] * len(new),
             "created_by": ["purchasing"] * len(new)} if new else None,
        )
        rec = sorted(self.received, key=lambda r: (r[1], r[0]))
        self.frames["replenishment_receipts"] = _frame(
            "replenishment_receipts",
            {"replenishment_id": [r[0] for r in rec], "received_ts_utc": [r[1] for r in rec],
             "qty_received": [r[2] for r in rec]} if rec else None,
        )
        adj = self.adjustments
        self.frames["stock_adjustments"] = _frame(
            "stock_adjustments",
            {"sku": [m.skus[a[0]] for a in adj], "warehouse_id": [m.wh_ids[a[1]] for a in adj],
             "ts_utc": [a[2] for a in adj], "qty_delta": [a[3] for a in adj], "ref_id": [a[4] for a in adj]}
            if adj else None,
        )

    def _next_state(self) -> SimState:
        m, st = self.m, self.state
        si, wi, ok = self.stock_rows
        on_hand = st.stock["on_hand"].to_numpy(dtype=np.int64).copy()
        on_hand[ok] = self.S[si[ok], wi[ok]]
        if (~ok).any():
            keys = list(zip(st.stock["sku"].tolist(), st.stock["warehouse_id"].tolist()))
            for r in np.flatnonzero(~ok):
                on_hand[r] += self.extra_stock.pop(keys[r], 0)
        stock = st.stock.assign(on_hand=on_hand)
        extra_rows = [(m.skus[a], m.wh_ids[b], int(self.S[a, b])) for a, b in self.new_pairs]
        extra_rows += [(k[0], k[1], v) for k, v in self.extra_stock.items()]
        if extra_rows:
            add = _frame(
                "stock",
                {"sku": [r[0] for r in extra_rows], "warehouse_id": [r[1] for r in extra_rows],
                 "on_hand": [r[2] for r in extra_rows], "safety_stock": np.zeros(len(extra_rows)),
                 "reorder_point": np.zeros(len(extra_rows)), "lead_time_days": np.full(len(extra_rows), 7.0)},
                STATE_COLUMNS,
            )
            stock = pd.concat([stock, add], ignore_index=True)
            n_new = len(self.new_pairs)
            si = np.concatenate([si, [a for a, _ in self.new_pairs], np.full(len(extra_rows) - n_new, -1)])
            wi = np.concatenate([wi, [b for _, b in self.new_pairs], np.full(len(extra_rows) - n_new, -1)])
            si, wi = si.astype(np.int64), wi.astype(np.int64)
            ok = (si >= 0) & (wi >= 0)
        _remember(_STOCK_INDEX, stock, (si, wi, ok))

        received = {r[0] for r in self.received}
        po_rows = [p for p in _open_po_rows(m, st.open_replenishments) if p[0] not in received]
        open_po = st.open_replenishments
        if received:
            open_po = open_po[~open_po["replenishment_id"].isin(received)].reset_index(drop=True)
        new_po = [p for p in self.new_pos if p[0] not in received]
        if new_po:
            add = _frame(
                "open_replenishments",
                {"replenishment_id": [p[0] for p in new_po], "sku": [p[6] for p in new_po],
                 "warehouse_id": [p[7] for p in new_po], "qty": [p[3] for p in new_po],
                 "created_ts_utc": [p[4] for p in new_po], "expected_ts_utc": [p[5] for p in new_po]},
                STATE_COLUMNS,
            )
            open_po = pd.concat([open_po, add], ignore_index=True)
        _remember(_PO_ROWS, open_po, tuple(po_rows + new_po))

        new_c = self.frames["customers"]
        customers = st.customers
        if len(new_c):
            customers = pd.concat([customers, new_c[list(STATE_COLUMNS["customers"])]], ignore_index=True)
        return SimState(customers=customers, stock=stock, open_replenishments=open_po,
                        paused_campaigns=st.paused_campaigns, recent_deliveries=self._carried_deliveries(),
                        lost_customers=self._lost(), clearances=st.clearances)

    def _carried_deliveries(self) -> pd.DataFrame | None:
        """recent_deliveries for the next window: until the incident is over, the ones still
        young enough plus this window's."""
        sc, old = self.scenario, self.state.recent_deliveries
        if sc.name != "incident":
            return old
        lo = sc.anchor_minute * 60
        if self.end_s >= lo + INCIDENT_MINUTES * 60:
            return None
        parts = [p for p in (old, self.carry) if p is not None and len(p)]
        if not parts:
            return old
        d = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        young = d["order_id"] // ID_BASE * 60 >= lo - INCIDENT_RETURN_LOOKBACK_DAYS * SECONDS_PER_DAY
        return d[young & (d["order_id"] // ID_BASE * 60 < lo)].reset_index(drop=True)

    def _searches(self) -> None:
        """A share of the sessions search the site (data.search): for the catalogue's items,
        or for the planted trend terms the shop does not stock yet."""
        sessions = self.frames["sessions"]
        found = search.searches(sessions["session_id"].to_numpy(), sessions["ts_utc"].to_numpy(), self.seed)
        self.frames["searches"] = found.astype(FRAME_COLUMNS["searches"])

    def run(self) -> tuple[dict[str, pd.DataFrame], SimState]:
        self._stock_arrays()
        self._sessions()
        self._funnel()
        self._page_views()
        self._sessions_frame()
        self._searches()
        self._fulfil()
        self._orders()
        self._lifecycle()
        self._service()
        self._touches()
        self._assignments()
        self._stock_frames()
        state = self._next_state()
        frames = {name: self.frames[name] for name in FRAME_COLUMNS}
        return frames, state
