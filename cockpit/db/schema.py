"""The cockpit's schema: one declarative model per table, identical on SQLite and PostgreSQL.

Conventions: times are integers. `*_ts_utc` columns hold seconds since the Unix epoch (UTC);
`minute_utc` holds minutes since the epoch (ts_utc // 60), `hour_utc` hours, and `day_local`
the shop-timezone day number (days since 1970-01-01 in the configured timezone). Integer time
buckets keep the hot tables small and their scans fast on SQLite (see NOTES.md).
Money is in the shop's currency as floats (`amount`, `spend`, `revenue`).
"""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- reference data -------------------------------------------------------------------------

class Supplier(Base):
    __tablename__ = "suppliers"
    supplier_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lead_time_days: Mapped[float] = mapped_column(Float)  # typical, before noise


class Product(Base):
    __tablename__ = "products"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(100), index=True)
    price: Mapped[float] = mapped_column(Float)
    cost: Mapped[float] = mapped_column(Float)
    supplier_id: Mapped[str | None] = mapped_column(ForeignKey("suppliers.supplier_id"))
    launched_ts_utc: Mapped[int] = mapped_column(BigInteger)


class Warehouse(Base):
    __tablename__ = "warehouses"
    warehouse_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16))  # regional | forward


class Channel(Base):
    __tablename__ = "channels"
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # paid | content | social | owned | organic


class Campaign(Base):
    __tablename__ = "campaigns"
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(ForeignKey("channels.channel"))
    name: Mapped[str] = mapped_column(String(200))
    daily_budget: Mapped[float] = mapped_column(Float)
    roi_floor: Mapped[float] = mapped_column(Float)  # ROI = (revenue - spend) / spend
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | paused
    start_ts_utc: Mapped[int] = mapped_column(BigInteger)


class Experiment(Base):
    __tablename__ = "experiments"
    experiment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    target_segment: Mapped[str] = mapped_column(String(64), default="all")
    arms: Mapped[str] = mapped_column(String(200))  # comma-separated arm names, control first
    metric: Mapped[str] = mapped_column(String(64))  # conversion | revenue_per_user
    start_ts_utc: Mapped[int] = mapped_column(BigInteger)
    end_ts_utc: Mapped[int | None] = mapped_column(BigInteger)


class Promotion(Base):
    """The promotions calendar: past promotions are the shop's record, planned ones tell the
    forecasts which future days are promotion days. Days are shop-local day numbers
    (first_day..last_day inclusive); (name, first_day) is unique so recording twice is a no-op."""

    __tablename__ = "promotions"
    __table_args__ = (UniqueConstraint("name", "first_day"),)
    promotion_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # sales_event | member_day | ...
    first_day: Mapped[int] = mapped_column(BigInteger)  # day_local
    last_day: Mapped[int] = mapped_column(BigInteger)  # day_local, inclusive
    expected_uplift: Mapped[float | None] = mapped_column(Float)  # e.g. 1.8: demand x1.8 (optional)
    created_ts_utc: Mapped[int] = mapped_column(BigInteger)


# --- customers and traffic ------------------------------------------------------------------

class Customer(Base):
    __tablename__ = "customers"
    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    region: Mapped[str] = mapped_column(String(64))
    acquisition_channel: Mapped[str] = mapped_column(String(32))
    referred_by: Mapped[int | None] = mapped_column(BigInteger)


class Session(Base):
    __tablename__ = "sessions"
    session_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    visitor_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    duration_s: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    is_returning: Mapped[bool] = mapped_column(Boolean)
    device: Mapped[str] = mapped_column(String(16))


class PageView(Base):
    __tablename__ = "page_views"
    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    session_id: Mapped[int] = mapped_column(BigInteger)
    visitor_id: Mapped[int] = mapped_column(BigInteger)
    ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    is_returning: Mapped[bool] = mapped_column(Boolean)
    page_type: Mapped[str] = mapped_column(String(16))
    sku: Mapped[str | None] = mapped_column(String(64))


class CartAdd(Base):
    __tablename__ = "cart_adds"
    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    session_id: Mapped[int] = mapped_column(BigInteger)
    visitor_id: Mapped[int] = mapped_column(BigInteger)
    ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    is_returning: Mapped[bool] = mapped_column(Boolean)
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)


class MarketingTouch(Base):
    __tablename__ = "marketing_touches"
    touch_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    visitor_id: Mapped[int] = mapped_column(BigInteger, index=True)
    ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    touch_type: Mapped[str] = mapped_column(String(16))  # impression | click | visit


class AdSpend(Base):
    """Spend per campaign and minute, as the ad platforms report it."""

    __tablename__ = "ad_spend"
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute_utc: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    spend: Mapped[float] = mapped_column(Float)
    impressions: Mapped[int] = mapped_column(Integer)
    clicks: Mapped[int] = mapped_column(Integer)


class ExperimentAssignment(Base):
    __tablename__ = "experiment_assignments"
    experiment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    arm: Mapped[str] = mapped_column(String(32))
    ts_utc: Mapped[int] = mapped_column(BigInteger)


# --- orders and fulfilment ------------------------------------------------------------------

class Order(Base):
    __tablename__ = "orders"
    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(BigInteger, index=True)
    session_id: Mapped[int | None] = mapped_column(BigInteger)
    ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)  # placed
    channel: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    is_returning: Mapped[bool] = mapped_column(Boolean)
    region: Mapped[str] = mapped_column(String(64))
    warehouse_id: Mapped[str] = mapped_column(String(32))
    # placed | paid | shipped | delivered | returned | cancelled
    status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[float] = mapped_column(Float)  # after discount
    discount: Mapped[float] = mapped_column(Float, default=0.0)
    paid_ts_utc: Mapped[int | None] = mapped_column(BigInteger, index=True)
    cancelled_ts_utc: Mapped[int | None] = mapped_column(BigInteger)
    shipped_ts_utc: Mapped[int | None] = mapped_column(BigInteger)
    delivered_ts_utc: Mapped[int | None] = mapped_column(BigInteger)
    returned_ts_utc: Mapped[int | None] = mapped_column(BigInteger)


class OrderLine(Base):
    __tablename__ = "order_lines"
    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[float] = mapped_column(Float)
    unit_cost: Mapped[float] = mapped_column(Float)


class Shipment(Base):
    __tablename__ = "shipments"
    shipment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    order_id: Mapped[int] = mapped_column(BigInteger, index=True)
    warehouse_id: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(64))  # destination
    carrier: Mapped[str] = mapped_column(String(64))
    shipped_ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    promised_ts_utc: Mapped[int] = mapped_column(BigInteger)
    delivered_ts_utc: Mapped[int | None] = mapped_column(BigInteger)
    cost: Mapped[float] = mapped_column(Float)


class Return(Base):
    __tablename__ = "returns"
    return_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    order_id: Mapped[int] = mapped_column(BigInteger, index=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    # quality | transport_damage | size_fit | changed_mind | other
    reason: Mapped[str] = mapped_column(String(32))
    refund_amount: Mapped[float] = mapped_column(Float)
    resellable: Mapped[bool] = mapped_column(Boolean)


class Review(Base):
    __tablename__ = "reviews"
    review_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    order_id: Mapped[int] = mapped_column(BigInteger)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    rating: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


# --- stock ----------------------------------------------------------------------------------

class StockLevel(Base):
    __tablename__ = "stock_levels"
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.warehouse_id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer)
    safety_stock: Mapped[int] = mapped_column(Integer)
    reorder_point: Mapped[int] = mapped_column(Integer)
    lead_time_days: Mapped[float] = mapped_column(Float)
    updated_ts_utc: Mapped[int] = mapped_column(BigInteger)


class StockMovement(Base):
    """Every change of on-hand stock; (reason, ref_id, sku, warehouse_id) is unique so a
    replayed event cannot move stock twice."""

    __tablename__ = "stock_movements"
    __table_args__ = (UniqueConstraint("reason", "ref_id", "sku", "warehouse_id"),)
    movement_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    warehouse_id: Mapped[str] = mapped_column(String(32))
    ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    qty_delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(16))  # sale | return | replenishment | adjustment | import
    ref_id: Mapped[str] = mapped_column(String(64))


class ReplenishmentOrder(Base):
    __tablename__ = "replenishment_orders"
    replenishment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    warehouse_id: Mapped[str] = mapped_column(String(32))
    qty: Mapped[int] = mapped_column(Integer)
    created_ts_utc: Mapped[int] = mapped_column(BigInteger)
    expected_ts_utc: Mapped[int] = mapped_column(BigInteger)
    received_ts_utc: Mapped[int | None] = mapped_column(BigInteger)
    qty_received: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | received | cancelled
    source: Mapped[str] = mapped_column(String(16))  # purchasing | action | import
    created_by: Mapped[str] = mapped_column(String(100))


# --- alerting and actions -------------------------------------------------------------------

class AlertRule(Base):
    __tablename__ = "alert_rules"
    __table_args__ = (UniqueConstraint("profile", "name"),)
    rule_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile: Mapped[str] = mapped_column(String(32), default="default")
    name: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(64))
    entity_kind: Mapped[str] = mapped_column(String(16))  # shop | channel | campaign | sku | sku_warehouse
    window_minutes: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(8))  # below | above
    warn: Mapped[float | None] = mapped_column(Float)
    critical: Mapped[float | None] = mapped_column(Float)
    recovery: Mapped[float] = mapped_column(Float)
    hold_minutes: Mapped[int] = mapped_column(Integer, default=0)
    no_data_minutes: Mapped[int] = mapped_column(Integer, default=0)  # 0: no-data never alerts
    min_volume: Mapped[float] = mapped_column(Float, default=0.0)  # below it, the value is "no data"
    auto_action: Mapped[str | None] = mapped_column(String(32))  # e.g. pause_campaign
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_ts_utc: Mapped[int] = mapped_column(BigInteger, default=0)


class AlertState(Base):
    """The evaluator's memory per rule and entity (pending since, current level)."""

    __tablename__ = "alert_states"
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.rule_id"), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))  # ok | warn | critical | no_data
    candidate_level: Mapped[str] = mapped_column(String(16))
    candidate_since_minute: Mapped[int] = mapped_column(BigInteger)
    last_value: Mapped[float | None] = mapped_column(Float)
    last_data_minute: Mapped[int | None] = mapped_column(BigInteger)
    updated_minute: Mapped[int] = mapped_column(BigInteger)


class Alert(Base):
    __tablename__ = "alerts"
    alert_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.rule_id"), index=True)
    entity_id: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))  # warn | critical | no_data
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | acknowledged | resolved
    opened_minute: Mapped[int] = mapped_column(BigInteger)
    resolved_minute: Mapped[int | None] = mapped_column(BigInteger)
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)  # in COCKPIT_LANG when the alert was written
    # What the message says as data (cockpit.alerts.message_args), so each reader sees it in
    # their own language; NULL on alerts written before 0012, which show `message`.
    message_args: Mapped[str | None] = mapped_column(Text, nullable=True)
    snoozed_until_minute: Mapped[int | None] = mapped_column(BigInteger)
    # Holds rule_id:entity_id while open, NULL once resolved: a unique index makes
    # "one open alert per rule and entity" a database guarantee.
    open_key: Mapped[str | None] = mapped_column(String(140), unique=True)


class Notification(Base):
    """One message to one delivery channel (cockpit.notify): the alerts it groups, its text, and
    every delivery attempt's outcome. Pending until sent; failed after the last retry, kept."""

    __tablename__ = "notifications"
    notification_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))
    alert_ids: Mapped[str] = mapped_column(Text)  # JSON list
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # plain text; the channel's format is built from it
    link: Mapped[str] = mapped_column(Text)
    created_ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_ts_utc: Mapped[int] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_ts_utc: Mapped[int | None] = mapped_column(BigInteger)


class AlertNotice(Base):
    """When an alert was last put into a notification for a channel, and at which level: its
    repeat interval counts from here, and a rise to critical notifies again at once."""

    __tablename__ = "alert_notices"
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.alert_id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    notified_ts_utc: Mapped[int] = mapped_column(BigInteger)


class ActionLog(Base):
    """The audit log: every action, who, when, what, before and after, and its result."""

    __tablename__ = "actions"
    action_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    verb: Mapped[str] = mapped_column(String(32))
    entity_kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(100))
    before_json: Mapped[str] = mapped_column(Text)
    after_json: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(String(16))  # done | refused | failed
    message: Mapped[str] = mapped_column(Text, default="")  # in English, as the audit log's text
    # The message as data (models.phrases.to_json), shown in each reader's language; NULL on
    # actions from before 0012.
    message_args: Mapped[str | None] = mapped_column(Text, nullable=True)


class Clearance(Base):
    """A clearance of a slow mover, started through actions.start_clearance (action_id, one
    per action): a flash sale or a community clearance at discount_pct off from start_ts_utc
    until end_ts_utc (ended early by moving end_ts_utc)."""

    __tablename__ = "clearances"
    clearance_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # flash_sale | community_clearance
    discount_pct: Mapped[float] = mapped_column(Float)
    start_ts_utc: Mapped[int] = mapped_column(BigInteger)
    end_ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    action_id: Mapped[int] = mapped_column(Integer, unique=True)
    created_by: Mapped[str] = mapped_column(String(100))


# --- ingestion bookkeeping ------------------------------------------------------------------

class IngestWatermark(Base):
    """Per source: the last minute (simulator) or marker it has ingested."""

    __tablename__ = "ingest_watermarks"
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    minute_utc: Mapped[int] = mapped_column(BigInteger)
    params_json: Mapped[str] = mapped_column(Text, default="{}")


class SimOutbox(Base):
    """Simulator events dated after the ingested minute (deliveries, returns, reviews),
    released when their minute is ingested."""

    __tablename__ = "sim_outbox"
    outbox_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    due_minute_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload_json: Mapped[str] = mapped_column(Text)


class ImportedFile(Base):
    __tablename__ = "imported_files"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    ts_utc: Mapped[int] = mapped_column(BigInteger)
    rows_accepted: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)


class ImportReject(Base):
    __tablename__ = "import_rejects"
    reject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    row_json: Mapped[str] = mapped_column(Text)


class RefreshRun(Base):
    """One row per refresh: the heartbeat the pages read for their 'data as of' time."""

    __tablename__ = "refresh_runs"
    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_ts_utc: Mapped[float] = mapped_column(Float)
    finished_ts_utc: Mapped[float | None] = mapped_column(Float)
    data_minute_utc: Mapped[int | None] = mapped_column(BigInteger)  # newest minute ingested
    duration_s: Mapped[float | None] = mapped_column(Float)
    events_ingested: Mapped[int] = mapped_column(Integer, default=0)
    minutes_ingested: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), index=True)  # ok | failed | skipped
    message: Mapped[str] = mapped_column(Text, default="")
    host: Mapped[str] = mapped_column(String(200), default="")


class SchedulerLock(Base):
    """SQLite's stand-in for PostgreSQL's advisory lock: a lease row renewed by its holder."""

    __tablename__ = "scheduler_lock"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_ts_utc: Mapped[float] = mapped_column(Float)


class Setting(Base):
    """Runtime settings changed from the app (e.g. the active rule profile)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# --- sign-in and roles (cockpit.auth) --------------------------------------------------------

class User(Base):
    """Who may sign in and with which role (viewer, operator, admin). password_hash is an
    argon2id hash (None for users who only sign in through OpenID Connect)."""

    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)  # an OIDC user's email
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_ts_utc: Mapped[int] = mapped_column(BigInteger)
    updated_ts_utc: Mapped[int] = mapped_column(BigInteger)
    # The interface language the user chose (en, zh-CN); NULL: COCKPIT_LANG.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)


class SignInAttempt(Base):
    """Every sign-in attempt (outcome ok, bad_password, unknown_user, disabled, locked): the
    per-user rate limit counts the failures here."""

    __tablename__ = "sign_in_attempts"
    attempt_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts_utc: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(16))


class AuthSession(Base):
    """A signed-in browser session: only the SHA-256 of its random token is stored."""

    __tablename__ = "auth_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    created_ts_utc: Mapped[int] = mapped_column(BigInteger)
    expires_ts_utc: Mapped[int] = mapped_column(BigInteger)
    ended_ts_utc: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # signed out


class DisplayToken(Base):
    """A read-only wall-screen token (revocable); only the SHA-256 of the token is stored."""

    __tablename__ = "display_tokens"
    label: Mapped[str] = mapped_column(String(100), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_ts_utc: Mapped[int] = mapped_column(BigInteger)
    revoked_ts_utc: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


# --- pre-aggregated metrics (the tables the pages read) -------------------------------------

class AggTrafficMinute(Base):
    __tablename__ = "agg_traffic_minute"
    minute_utc: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    is_returning: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer)
    page_views: Mapped[int] = mapped_column(Integer)
    cart_adds: Mapped[int] = mapped_column(Integer)
    uv: Mapped[int] = mapped_column(Integer)  # distinct visitors in this minute and cell
    session_seconds: Mapped[int] = mapped_column(BigInteger)


class AggSalesMinute(Base):
    __tablename__ = "agg_sales_minute"
    minute_utc: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    is_returning: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)  # placed
    paid_orders: Mapped[int] = mapped_column(Integer)  # placed in this minute and paid
    cancelled_orders: Mapped[int] = mapped_column(Integer)
    gmv: Mapped[float] = mapped_column(Float)  # amount of paid orders placed in this minute
    units: Mapped[int] = mapped_column(Integer)


class AggSkuMinute(Base):
    __tablename__ = "agg_sku_minute"
    minute_utc: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    units_sold: Mapped[int] = mapped_column(Integer)  # paid order lines
    revenue: Mapped[float] = mapped_column(Float)
    units_returned: Mapped[int] = mapped_column(Integer)  # by return time


class AggSkuDay(Base):
    """agg_sku_minute summed per UTC day (day_utc = minute_utc // 1440), kept equal to it by
    aggregate.rebuild_range: week-long windows read whole days here and only their ragged
    ends from the minute table, so their cost does not grow with a busy shop's history."""

    __tablename__ = "agg_sku_day"
    day_utc: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    units_sold: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[float] = mapped_column(Float)
    units_returned: Mapped[int] = mapped_column(Integer)


class AggSkuHour(Base):
    """agg_sku_minute summed per UTC hour (hour_utc = minute_utc // 60), kept equal to it like
    agg_sku_day: a week-long window's ragged partial days read at most 23 hour rows and 59
    minute rows per SKU and warehouse at each end instead of up to 1,439 minute rows."""

    __tablename__ = "agg_sku_hour"
    hour_utc: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    units_sold: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[float] = mapped_column(Float)
    units_returned: Mapped[int] = mapped_column(Integer)


class ViewSnapshot(Base):
    """A page's figures for one data minute, published by the scheduler after its refresh
    (cockpit.snapshots): app servers read one row instead of recomputing the page."""

    __tablename__ = "view_snapshots"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    params: Mapped[str] = mapped_column(String(200), primary_key=True)  # canonical JSON of the view's arguments
    data_minute_utc: Mapped[int] = mapped_column(BigInteger)
    published_ts_utc: Mapped[float] = mapped_column(Float)
    compute_ms: Mapped[float] = mapped_column(Float)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class AggCampaignMinute(Base):
    __tablename__ = "agg_campaign_minute"
    minute_utc: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    spend: Mapped[float] = mapped_column(Float)
    impressions: Mapped[int] = mapped_column(Integer)
    clicks: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)  # paid orders attributed (last touch)
    revenue: Mapped[float] = mapped_column(Float)


class CustomerScore(Base):
    """Each customer's RFM segment and lifetime value as of a shop-local day, stored by the
    scheduler's customer job (cockpit.customers): one row per customer with a paid order and
    stored day; a later run of the same day replaces that day's rows. The CLV columns are NULL
    when the models could not be fitted (too little repeat-purchase history)."""

    __tablename__ = "customer_scores"
    as_of_day: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # day_local, the last complete day
    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, index=True)
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)  # paid orders
    monetary: Mapped[float] = mapped_column(Float)  # paid order amounts
    r_score: Mapped[int] = mapped_column(Integer)
    f_score: Mapped[int] = mapped_column(Integer)
    m_score: Mapped[int] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(String(32))  # models.rfm.SEGMENT_KEYS
    p_alive: Mapped[float | None] = mapped_column(Float)
    expected_purchases: Mapped[float | None] = mapped_column(Float)  # over the CLV horizon
    expected_spend: Mapped[float | None] = mapped_column(Float)  # per purchase (Gamma-Gamma)
    clv: Mapped[float | None] = mapped_column(Float)  # discounted, over the horizon
    computed_ts_utc: Mapped[int] = mapped_column(BigInteger)


class WeeklyReport(Base):
    """A weekly operations health report as it was written (cockpit.report): the figures it
    was built from (JSON), the self-contained HTML and the PDF. One row per shop-local week
    (Monday to Sunday); building the same week again replaces it."""

    __tablename__ = "weekly_reports"
    week_start_day: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # day_local of the Monday
    created_ts_utc: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(100))  # scheduler | cli | the user who asked
    data_minute_utc: Mapped[int] = mapped_column(BigInteger)  # the newest data the report saw
    findings_json: Mapped[str] = mapped_column(Text)  # the plain-language findings, top first
    figures_json: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)


class Search(Base):
    """A site search: one per searching session (the simulator's, or a search-log export), for
    trend detection (rising terms and categories are candidates to stock)."""

    __tablename__ = "searches"
    session_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)
    term: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(100))


class ServiceContact(Base):
    """A customer-service contact (simulated, or imported from a service_contacts export):
    answered by the bot or escalated to a person, with the person's first-response time."""

    __tablename__ = "service_contacts"
    contact_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(BigInteger, index=True)
    order_id: Mapped[int | None] = mapped_column(BigInteger)  # the order asked about, if any
    ts_utc: Mapped[int] = mapped_column(BigInteger, index=True)  # the contact opened
    channel: Mapped[str] = mapped_column(String(32))  # in_app | mini_program | web_chat | phone | ...
    # where_is_my_order | late_delivery | return_refund | product_question | damaged_item | ...
    reason: Mapped[str] = mapped_column(String(32))
    handled_by: Mapped[str] = mapped_column(String(8))  # bot | human (escalated to a person)
    first_response_s: Mapped[int | None] = mapped_column(Integer)  # a person's first answer; NULL for the bot
    resolved: Mapped[bool] = mapped_column(Boolean)
    resolved_ts_utc: Mapped[int | None] = mapped_column(BigInteger)


def _uv_table(name: str, bucket: str):
    """Distinct visitors per time bucket, activity and channel, with the first and last
    minute each was seen in the bucket: a window's exact UV is a COUNT(DISTINCT) over whole
    buckets, bucket prefixes (first_minute < end) and suffixes (last_minute >= start)."""
    return type(
        name,
        (Base,),
        {
            "__tablename__": name,
            "__annotations__": {
                bucket: Mapped[int],
                "activity": Mapped[str],
                "channel": Mapped[str],
                "visitor_id": Mapped[int],
                "first_minute": Mapped[int],
                "last_minute": Mapped[int],
            },
            bucket: mapped_column(BigInteger, primary_key=True),
            "activity": mapped_column(String(8), primary_key=True),  # visit | pay
            "channel": mapped_column(String(32), primary_key=True),
            "visitor_id": mapped_column(BigInteger, primary_key=True, autoincrement=False),
            "first_minute": mapped_column(BigInteger),
            "last_minute": mapped_column(BigInteger),
        },
    )


UvMinute = _uv_table("uv_minute", "minute_utc")
UvHour = _uv_table("uv_hour", "hour_utc")
UvDay = _uv_table("uv_day", "day_local")

Index("ix_orders_campaign_ts", Order.campaign_id, Order.ts_utc)
Index("ix_alerts_rule_entity", Alert.rule_id, Alert.entity_id)
Index("ix_stock_movements_sku_wh", StockMovement.sku, StockMovement.warehouse_id)
Index("ix_shipments_delivered", Shipment.delivered_ts_utc)
Index("ix_sign_in_attempts_username_ts", SignInAttempt.username, SignInAttempt.ts_utc)

TABLES = Base.metadata.tables
