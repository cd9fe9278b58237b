"""Job bodies the scheduler runs: the minute refresh (ingest, aggregate, alert, heartbeat)."""
from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, delete, insert

from cockpit import actions, alerts, i18n, snapshots, views
from cockpit.config import Settings
from cockpit.db.dialect import write_transaction
from cockpit.db.engine import get_engine
from cockpit.db.schema import CartAdd, PageView, RefreshRun, Search, UvHour, UvMinute
from cockpit.ingest.dropfolder import import_pending
from cockpit.ingest.simulator_source import SimulatorSource
from cockpit.ingest.writer import WriteResult, write_batch
from cockpit.metrics.aggregate import rebuild_minutes
from cockpit.metrics.read import last_heartbeat, metric_values

log = logging.getLogger(__name__)
REFRESH_LOCK = "cockpit-refresh"
# The minute-level UV table answers windows inside one hour; older minutes are only read
# through the hour and day tables, so two days of it are plenty.
UV_MINUTE_KEEP_MINUTES = 2 * 1440


@dataclass
class RefreshReport:
    status: str  # ok | skipped | failed
    data_minute: int | None = None
    events: int = 0
    minutes: int = 0
    duration_s: float = 0.0
    transitions: list = field(default_factory=list)
    auto_actions: list = field(default_factory=list)  # ActionResults the transitions triggered
    imports: list = field(default_factory=list)
    message: str = ""


# One source object per process and settings: it caches the simulator's catalog and customers.
_SOURCES: dict[tuple, SimulatorSource] = {}


def _simulator_source(settings: Settings) -> SimulatorSource:
    key = (settings.db_url, settings.scenario, settings.max_catchup_minutes)
    if key not in _SOURCES:
        _SOURCES[key] = SimulatorSource(settings.scenario, settings.max_catchup_minutes)
    return _SOURCES[key]


def purge_old_raw_events(conn: Connection, now_minute: int, retention_days: int) -> None:
    """Retention: raw page views, cart adds and searches older than the retention go (their
    minutes stay in the aggregates; trends read 60 days); minute-level UV rows go after two
    days, hourly after retention."""
    cutoff_ts = (now_minute - retention_days * 1440) * 60
    conn.execute(delete(PageView).where(PageView.ts_utc < cutoff_ts))
    conn.execute(delete(CartAdd).where(CartAdd.ts_utc < cutoff_ts))
    conn.execute(delete(Search).where(Search.ts_utc < cutoff_ts))
    conn.execute(delete(UvMinute).where(UvMinute.minute_utc < now_minute - UV_MINUTE_KEEP_MINUTES))
    conn.execute(delete(UvHour).where(UvHour.hour_utc < (now_minute - retention_days * 1440) // 60))


def notify_job(settings: Settings, now_ts: float | None = None):
    """Alert notifications (cockpit.notify) to the channels of COCKPIT_NOTIFY_FILE; None when
    no file is configured. The file is read each run, so a changed channel applies without a
    restart; a broken file is logged and nothing is sent until it is fixed."""
    if settings.notify_file is None:
        return None
    from cockpit import notify

    channels = notify.load_channels(settings.notify_file, settings.smtp_password)
    report = notify.notify(get_engine(settings.db_url), channels, settings.tz, settings.public_url, now_ts,
                           lang=settings.language)
    if report.planned or report.sent or report.retrying or report.failed:
        log.info("notifications: %d planned, %d sent, %d to retry, %d failed", report.planned, report.sent,
                 report.retrying, report.failed)
    return report


def apply_retention(settings: Settings, now_ts: float | None = None) -> bool:
    """The hourly retention job: purge old raw events under the refresh lock (skipped, and
    retried next hour, while a refresh holds it). Returns whether it ran."""
    now_minute = int(time.time() if now_ts is None else now_ts) // 60
    with write_transaction(get_engine(settings.db_url), REFRESH_LOCK) as conn:
        if conn is None:
            return False
        purge_old_raw_events(conn, now_minute, settings.retention_days)
        return True


def refresh(settings: Settings, now_ts: float | None = None, *, sources: list | None = None) -> RefreshReport:
    """One refresh run: everything new since the watermark, in one transaction.

    sources: objects with `collect(conn, until_minute) -> (frames, new_mark, minutes)` (like
    SimulatorSource) ingested instead of the simulator, e.g. a benchmark's synthetic peak
    minute; None means the simulator when settings.sources names it. The drop folder follows
    settings.sources either way.

    Holds the database-wide refresh lock for the whole run; if another process holds it, the
    run is skipped. A run that fails leaves the database as it was (the transaction rolls
    back) and records a failed heartbeat; the next run catches up."""
    started = time.time() if now_ts is None else now_ts
    clock = time.perf_counter()
    now_minute = int(started) // 60
    until_minute = now_minute - 1  # the last complete minute
    engine = get_engine(settings.db_url)
    tz = settings.tz
    try:
        with write_transaction(engine, REFRESH_LOCK) as conn:
            if conn is None:
                return RefreshReport(status="skipped", message="another refresh holds the lock")
            log.info("refresh started: lock taken, ingesting up to minute %d", until_minute)
            report = _refresh_in_transaction(conn, settings, until_minute, tz, sources)
            report.duration_s = time.perf_counter() - clock
            conn.execute(
                insert(RefreshRun.__table__).values(
                    started_ts_utc=started, finished_ts_utc=started + report.duration_s,
                    data_minute_utc=report.data_minute, duration_s=report.duration_s,
                    events_ingested=report.events, minutes_ingested=report.minutes, status="ok",
                    message=report.message, host=socket.gethostname(),
                )
            )
            return report
    except Exception as exc:  # recorded, then re-raised for the caller (scheduler logs it)
        duration = time.perf_counter() - clock
        log.exception("refresh failed")
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(RefreshRun.__table__).values(
                        started_ts_utc=started, finished_ts_utc=started + duration, duration_s=duration,
                        status="failed", message=f"{type(exc).__name__}: {exc}"[:2000], host=socket.gethostname(),
                    )
                )
        except Exception:
            log.exception("could not record the failed refresh")
        raise


@dataclass
class PublishReport:
    """What publish_views stored: the data minute, and per view (milliseconds to compute, bytes)."""

    data_minute: int | None
    views: dict[str, tuple[float, int]] = field(default_factory=dict)
    duration_s: float = 0.0


def publish_views(settings: Settings, data_minute: int | None = None) -> PublishReport:
    """Compute the pages' common views for data_minute (default: the last heartbeat's) and
    store them (cockpit.views.PUBLISHED), so that app servers read them instead of each
    computing them. Runs after the refresh has committed, outside its lock: the views are
    computed on a read connection and written in one short transaction."""
    clock = time.perf_counter()
    engine = get_engine(settings.db_url)
    tz = settings.tz
    computed = []
    with engine.connect() as conn:
        if data_minute is None:
            beat = last_heartbeat(conn)
            if beat is None:
                return PublishReport(None)
            data_minute = beat.data_minute_utc
        for name, params in views.PUBLISHED:
            started = time.perf_counter()
            value = views.VIEWS[name](conn, data_minute, tz, **params)
            computed.append((name, params, value, (time.perf_counter() - started) * 1000))
    report = PublishReport(data_minute)
    with engine.begin() as conn:
        for name, params, value, compute_ms in computed:
            size = snapshots.publish(conn, name, views.snapshot_params(tz, params), data_minute, value, compute_ms)
            report.views[f"{name} {snapshots.params_key(params)}"] = (compute_ms, size)
    report.duration_s = time.perf_counter() - clock
    log.info("published %d views for minute %d in %.2fs", len(report.views), data_minute, report.duration_s)
    return report


def forecast_job(settings: Settings):
    """The scheduler's slow job: refit and publish the sales forecasts (cockpit.forecasting)."""
    from cockpit import forecasting  # statsmodels is imported only by the processes that fit

    run = forecasting.publish_forecasts(get_engine(settings.db_url), settings.tz)
    if run is not None:
        log.info("forecasts: %d series for minute %d in %.1fs", run.series, run.data_minute, run.seconds)
    return run


def attribution_job(settings: Settings):
    """The scheduler's slow job: channel credit under every attribution model and campaigns'
    new vs returning revenue over the last 30 days (cockpit.attribution)."""
    from cockpit import attribution  # the models load only in the processes that attribute

    run = attribution.publish_attribution(get_engine(settings.db_url), settings.tz)
    if run is not None:
        log.info("attribution: %d orders, %d touches for minute %d in %.1fs", run.orders, run.touches,
                 run.data_minute, run.seconds)
    return run


def customer_value_job(settings: Settings):
    """The scheduler's slow job: score every customer (RFM segment, CLV, probability alive) as
    of the last complete day and store the scores (cockpit.customers)."""
    from cockpit import customers  # scipy and the models load only in the processes that score

    run = customers.publish_customer_scores(get_engine(settings.db_url), settings.tz)
    if run is not None:
        log.info("customer scores: %d customers as of day %d in %.1fs%s", run.customers, run.as_of_day, run.seconds,
                 "" if run.clv_fitted else " (CLV not fitted)")
    return run


def weekly_report_job(settings: Settings):
    """The scheduler's Monday job (also run soon after a start): write last week's operations
    health report unless it exists (cockpit.report)."""
    from cockpit import report  # matplotlib and fpdf load only in the processes that write reports

    return report.ensure_last_week_report(get_engine(settings.db_url), settings)


def _metric_reader(conn: Connection, data_minute: int | None, tz):
    """The alert evaluator's reader. Rules are evaluated at the wall-clock minute; a window
    lying wholly after the newest ingested minute has no data (a stalled feed is "no data",
    not "zero visitors"), and one that overlaps it is read up to the newest minute."""
    memo: dict = {}  # figures several rules share are read once per refresh

    def read_metric(metric: str, entity_kind: str, window_minutes: int, as_of_minute: int) -> pd.DataFrame:
        if data_minute is None or as_of_minute - window_minutes >= data_minute:
            return pd.DataFrame({"entity_id": pd.Series(dtype="str"), "value": pd.Series(dtype="float64"),
                                 "volume": pd.Series(dtype="float64")})
        return metric_values(conn, metric, entity_kind, window_minutes, min(as_of_minute, data_minute), tz, memo=memo)

    return read_metric


def _refresh_in_transaction(
    conn: Connection, settings: Settings, until_minute: int, tz, sources: list | None = None
) -> RefreshReport:
    total = WriteResult()
    report = RefreshReport(status="ok")
    data_minute = None
    if sources is None:
        sources = [_simulator_source(settings)] if "simulator" in settings.sources else []
    for source in sources:
        frames, new_mark, minutes = source.collect(conn, until_minute)
        if new_mark is not None:
            data_minute = new_mark if data_minute is None else max(data_minute, new_mark)
            total.merge(write_batch(conn, frames, tz))
            report.minutes += minutes
    if "dropfolder" in settings.sources:
        imports = import_pending(conn, settings.drop_dir, tz)
        for item in imports:
            total.merge(item.write)
        report.imports = imports
    if data_minute is None:
        # Without new simulated minutes the data reaches as far as the newest minute anything
        # was ingested for, or stays where the last refresh left it: never "now" by default.
        previous = last_heartbeat(conn)
        candidates = [m for m in (max(total.touched_minutes, default=None), previous and previous.data_minute_utc) if m]
        data_minute = max(candidates, default=None)
    cutoff = until_minute - settings.retention_days * 1440
    rebuild_minutes(conn, (m for m in total.touched_minutes if m > cutoff))
    with i18n.using(settings.language):  # alerts.message is written in COCKPIT_LANG (message_args in any)
        report.transitions = alerts.evaluate_alerts(conn, until_minute, _metric_reader(conn, data_minute, tz))
    # Rules with an auto_action act in the same transaction as the alerts that trigger them.
    report.auto_actions = actions.run_auto_actions(conn, report.transitions, (until_minute + 1) * 60, tz)
    report.data_minute = data_minute
    report.events = total.events
    report.message = f"{total.events} events, {len(total.touched_minutes)} minutes re-aggregated"
    return report
