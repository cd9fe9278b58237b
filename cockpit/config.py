"""Settings read once from environment variables; the only module that reads os.environ."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import list_currencies

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "cockpit.db"

SCENARIOS = ("normal", "sales-event", "incident")
LANGUAGES = ("en", "zh-CN")  # cockpit.i18n has their catalogues


class ConfigError(ValueError):
    """A setting has a value the cockpit cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Every setting with its default. See README "Configuration" for the table."""

    # COCKPIT_DB_URL: any SQLAlchemy URL; default a SQLite file under data/.
    db_url: str = f"sqlite:///{DEFAULT_DB_PATH}"
    # COCKPIT_REFRESH_SECONDS: how often the scheduler refreshes.
    refresh_seconds: int = 60
    # COCKPIT_SCENARIO: the simulator's scenario for live mode (normal, sales-event, incident).
    scenario: str = "normal"
    # COCKPIT_SIM_SEED: the simulator's seed for live mode.
    sim_seed: int = 42
    # COCKPIT_SOURCES: comma-separated event sources the refresh ingests (simulator, dropfolder).
    sources: tuple[str, ...] = ("simulator", "dropfolder")
    # COCKPIT_DROP_DIR: folder watched for CSV/Parquet exports.
    drop_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "data" / "dropbox")
    # COCKPIT_TIMEZONE: the shop's timezone; days and displayed times follow it.
    timezone: str = "Asia/Shanghai"
    # COCKPIT_RETENTION_DAYS: raw page views / cart adds older than this are deleted.
    retention_days: int = 90
    # COCKPIT_RULE_PROFILE: if set, the scheduler switches to this alert rule set (default,
    # sales-event) when it starts; if not, the set last chosen stays in force.
    rule_profile: str | None = None
    # COCKPIT_MAX_CATCHUP_MINUTES: how many missed minutes one refresh catches up at most.
    max_catchup_minutes: int = 1440
    # COCKPIT_RETRY_MAX_SECONDS: when the database cannot be reached, the scheduler retries
    # after 1 s, 2 s, 4 s... up to this many seconds between attempts (then catches up).
    retry_max_seconds: int = 60
    # COCKPIT_PORT: the Streamlit app's port for `python -m cockpit run`.
    port: int = 8501
    # COCKPIT_FORECAST_MINUTES: how often the scheduler refits the sales forecasts.
    forecast_minutes: int = 60
    # COCKPIT_ATTRIBUTION_MINUTES: how often the scheduler recomputes channel attribution.
    attribution_minutes: int = 60
    # COCKPIT_SERVICE_BOT_TARGET: the share of service contacts the bot should resolve alone.
    service_bot_target: float = 0.80
    # COCKPIT_SERVICE_RESPONSE_TARGET_S: seconds within which a person should first answer.
    service_response_target_s: int = 15
    # COCKPIT_CUSTOMER_MINUTES: how often the scheduler recomputes and stores customer value
    # (RFM segments, CLV, probability alive).
    customer_minutes: int = 60
    # The weekly report's targets. COCKPIT_TARGET_STOCKOUT_RATE: the share of SKU-warehouse-days
    # allowed to end out of stock; COCKPIT_TARGET_TURNOVER_DAYS: the most days of stock on hand
    # (average stock / daily sales); COCKPIT_TARGET_LOGISTICS_COST_SHARE: shipping cost over GMV
    # (15% is a problem, 12% the usual aim); COCKPIT_TARGET_ON_TIME_RATE: the share of parcels
    # delivered by their promised time; COCKPIT_TARGET_DELIVERY_SPREAD_DAYS: the most days
    # between a fast (10th percentile) and a slow (90th) delivery.
    target_stockout_rate: float = 0.02
    target_turnover_days: float = 45.0
    target_logistics_cost_share: float = 0.12
    target_on_time_rate: float = 0.95
    target_delivery_spread_days: float = 2.0
    # Sign-in (README "Sign-in and roles"). COCKPIT_ADMIN_PASSWORD: the first admin's password
    # when the users table is empty (else one is generated and printed once).
    admin_password: str | None = field(default=None, repr=False)
    # COCKPIT_DISPLAY_TOKEN: a display token (`python -m cockpit tokens add`) that signs in every
    # ?mode=wall screen of this server without a token in its URL.
    display_token: str | None = field(default=None, repr=False)
    # COCKPIT_SESSION_HOURS: a signed-in session ends this many hours after sign-in.
    session_hours: int = 12
    # COCKPIT_OIDC_UNKNOWN: what an OpenID Connect user whose email is not in the users table
    # gets: "deny" (no access) or "viewer" (read only).
    oidc_unknown: str = "deny"
    # Alert notifications (README "Alert notifications"). COCKPIT_NOTIFY_FILE: a TOML file
    # naming the delivery channels (webhook, WeCom, DingTalk, Slack, email); none: no messages.
    notify_file: Path | None = None
    # COCKPIT_PUBLIC_URL: the address people open the cockpit at; messages link back to it.
    public_url: str = "http://localhost:8501"
    # COCKPIT_SMTP_PASSWORD: the SMTP password of email channels that name a user but no password.
    smtp_password: str | None = field(default=None, repr=False)
    # COCKPIT_LANG: the interface language of new sessions and wall screens, and of alert messages
    # and weekly reports: en or zh-CN. Each user's own choice is remembered with their account.
    language: str = "en"
    # COCKPIT_CURRENCY: the ISO 4217 code of the shop's money (CNY, USD, EUR...), shown the way
    # the chosen language writes it.
    currency: str = "CNY"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)


def _int(env: dict, name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def _float(env: dict, name: str, default: float, example: str) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number such as {example}") from None


def _share(env: dict, name: str, default: float) -> float:
    value = _float(env, name, default, "0.8")
    if not 0 < value <= 1:
        raise ConfigError(f"{name}={value} must be a share between 0 and 1, e.g. 0.8 for 80%")
    return value


def _positive(env: dict, name: str, default: float) -> float:
    value = _float(env, name, default, "2.5")
    if not value > 0:
        raise ConfigError(f"{name}={value} must be more than 0")
    return value


def load_settings(env: dict | None = None) -> Settings:
    """Build Settings from `env` (default: the process environment); raises ConfigError."""
    env = dict(os.environ if env is None else env)
    base = Settings()
    scenario = env.get("COCKPIT_SCENARIO", base.scenario) or base.scenario
    if scenario not in SCENARIOS:
        raise ConfigError(f"COCKPIT_SCENARIO={scenario!r}: choose one of {', '.join(SCENARIOS)}")
    timezone = env.get("COCKPIT_TIMEZONE", base.timezone) or base.timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"COCKPIT_TIMEZONE={timezone!r} is not an IANA timezone such as Asia/Shanghai") from None
    sources = tuple(s.strip() for s in env.get("COCKPIT_SOURCES", ",".join(base.sources)).split(",") if s.strip())
    unknown = set(sources) - {"simulator", "dropfolder"}
    if unknown:
        raise ConfigError(f"COCKPIT_SOURCES has unknown source(s) {sorted(unknown)}: use simulator, dropfolder")
    drop_dir = env.get("COCKPIT_DROP_DIR")
    oidc_unknown = env.get("COCKPIT_OIDC_UNKNOWN") or base.oidc_unknown
    if oidc_unknown not in ("deny", "viewer"):
        raise ConfigError(f"COCKPIT_OIDC_UNKNOWN={oidc_unknown!r}: choose deny or viewer")
    notify_file = env.get("COCKPIT_NOTIFY_FILE") or None
    if notify_file and not Path(notify_file).is_file():
        raise ConfigError(f"COCKPIT_NOTIFY_FILE={notify_file!r} is not a file: point it at the channels' TOML file")
    port = _int(env, "COCKPIT_PORT", base.port, minimum=1)
    public_url = env.get("COCKPIT_PUBLIC_URL") or f"http://localhost:{port}"
    if not public_url.startswith(("http://", "https://")):
        raise ConfigError(f"COCKPIT_PUBLIC_URL={public_url!r} must start with http:// or https://")
    language = env.get("COCKPIT_LANG") or base.language
    if language not in LANGUAGES:
        raise ConfigError(f"COCKPIT_LANG={language!r}: choose one of {', '.join(LANGUAGES)}")
    currency = (env.get("COCKPIT_CURRENCY") or base.currency).strip().upper()
    if currency not in list_currencies():
        raise ConfigError(f"COCKPIT_CURRENCY={currency!r} is not an ISO 4217 currency code such as CNY or USD")
    return Settings(
        db_url=env.get("COCKPIT_DB_URL") or base.db_url,
        refresh_seconds=_int(env, "COCKPIT_REFRESH_SECONDS", base.refresh_seconds, minimum=1),
        scenario=scenario,
        sim_seed=_int(env, "COCKPIT_SIM_SEED", base.sim_seed),
        sources=sources,
        drop_dir=Path(drop_dir) if drop_dir else base.drop_dir,
        timezone=timezone,
        retention_days=_int(env, "COCKPIT_RETENTION_DAYS", base.retention_days, minimum=1),
        rule_profile=env.get("COCKPIT_RULE_PROFILE") or None,
        max_catchup_minutes=_int(env, "COCKPIT_MAX_CATCHUP_MINUTES", base.max_catchup_minutes, minimum=1),
        retry_max_seconds=_int(env, "COCKPIT_RETRY_MAX_SECONDS", base.retry_max_seconds, minimum=1),
        port=port,
        forecast_minutes=_int(env, "COCKPIT_FORECAST_MINUTES", base.forecast_minutes, minimum=1),
        attribution_minutes=_int(env, "COCKPIT_ATTRIBUTION_MINUTES", base.attribution_minutes, minimum=1),
        service_bot_target=_share(env, "COCKPIT_SERVICE_BOT_TARGET", base.service_bot_target),
        service_response_target_s=_int(env, "COCKPIT_SERVICE_RESPONSE_TARGET_S", base.service_response_target_s,
                                       minimum=1),
        customer_minutes=_int(env, "COCKPIT_CUSTOMER_MINUTES", base.customer_minutes, minimum=1),
        target_stockout_rate=_share(env, "COCKPIT_TARGET_STOCKOUT_RATE", base.target_stockout_rate),
        target_turnover_days=_positive(env, "COCKPIT_TARGET_TURNOVER_DAYS", base.target_turnover_days),
        target_logistics_cost_share=_share(env, "COCKPIT_TARGET_LOGISTICS_COST_SHARE", base.target_logistics_cost_share),
        target_on_time_rate=_share(env, "COCKPIT_TARGET_ON_TIME_RATE", base.target_on_time_rate),
        target_delivery_spread_days=_positive(env, "COCKPIT_TARGET_DELIVERY_SPREAD_DAYS",
                                              base.target_delivery_spread_days),
        admin_password=env.get("COCKPIT_ADMIN_PASSWORD") or None,
        display_token=env.get("COCKPIT_DISPLAY_TOKEN") or None,
        session_hours=_int(env, "COCKPIT_SESSION_HOURS", base.session_hours, minimum=1),
        oidc_unknown=oidc_unknown,
        notify_file=Path(notify_file) if notify_file else None,
        public_url=public_url.rstrip("/"),
        smtp_password=env.get("COCKPIT_SMTP_PASSWORD") or None,
        language=language,
        currency=currency,
    )
