"""`python -m cockpit`: init, seed, refresh, scheduler, import, customers, status, doctor, nginx-config, run,
promotions, users, tokens."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from cockpit.config import LANGUAGES, PROJECT_ROOT, SCENARIOS, ConfigError, Settings, load_settings

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit code 2."""


def _parse_time(text: str, settings: Settings) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--now {text!r} is not an ISO time such as 2026-11-11T00:05:00+08:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings.tz)
    return moment.timestamp()


def _engine(settings: Settings, *, need_schema: bool = True):
    from sqlalchemy.exc import OperationalError

    from cockpit.db.engine import get_engine, schema_revision

    engine = get_engine(settings.db_url)
    try:
        revision = schema_revision(engine)
    except OperationalError as exc:
        raise UserError(f"cannot reach the database at {engine.url.render_as_string(hide_password=True)}: {exc.orig}") from None
    if need_schema and revision is None:
        raise UserError("the database has no cockpit schema yet: run `python -m cockpit init` first")
    return engine


def cmd_init(args, settings: Settings) -> int:
    from cockpit.db.engine import upgrade_schema

    _engine(settings, need_schema=False)
    head = upgrade_schema(settings.db_url)
    print(f"schema at revision {head} on {_safe_url(settings)}")
    from cockpit.auth_cli import announce_first_admin

    announce_first_admin(settings)
    return EXIT_OK


def cmd_seed(args, settings: Settings) -> int:
    from cockpit.db.engine import upgrade_schema
    from cockpit.ingest.seed import AlreadySeeded, seed_history, wipe

    if args.days < 1:
        raise UserError("--days must be at least 1")
    _engine(settings, need_schema=False)
    upgrade_schema(settings.db_url)
    engine = _engine(settings)
    if args.reset:
        wipe(engine)
    from cockpit.auth_cli import announce_first_admin

    announce_first_admin(settings)
    now_ts = _parse_time(args.now, settings) if args.now else time.time()
    anchor = int(_parse_time(args.anchor, settings)) // 60 if args.anchor else None
    try:
        report = seed_history(
            engine, days=args.days, scenario=args.scenario, seed=args.seed, now_minute=int(now_ts) // 60,
            tz=settings.tz, anchor_minute=anchor, progress=not args.quiet,
        )
    except AlreadySeeded as exc:
        raise UserError(str(exc)) from None
    print(
        f"seeded {report.days} days ({args.scenario}, seed {args.seed}): {report.events:,} events "
        f"in {report.seconds:.1f}s ({report.events_per_second:,.0f} events/s)"
    )
    from cockpit import jobs

    jobs.publish_views(settings)  # the first page view is then as fast as every later one
    return EXIT_OK


def cmd_refresh(args, settings: Settings) -> int:
    from cockpit import jobs

    _engine(settings)
    now_ts = _parse_time(args.now, settings) if args.now else None
    report = jobs.refresh(settings, now_ts=now_ts)
    if report.status == "skipped":
        print(f"refresh skipped: {report.message}")
        return EXIT_OK
    print(
        f"refresh ok: data as of minute {report.data_minute}, {report.events:,} events, "
        f"{report.minutes} minutes, {len(report.transitions)} alert changes, {report.duration_s:.3f}s"
    )
    for item in report.imports:
        print(f"  import {item.path}: {item.kind}, {item.accepted} accepted, {item.rejected} rejected")
    published = jobs.publish_views(settings, report.data_minute)
    print(f"published {len(published.views)} page views for the app servers in {published.duration_s:.3f}s")
    return EXIT_OK


def cmd_scheduler(args, settings: Settings) -> int:
    from cockpit.scheduler import run_forever

    _engine(settings)
    run_forever(settings)
    return EXIT_OK


def cmd_import(args, settings: Settings) -> int:
    from cockpit.db.engine import get_engine
    from cockpit.ingest.dropfolder import ImportError_, import_file
    from cockpit.metrics.aggregate import rebuild_minutes

    _engine(settings)
    path = Path(args.path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    try:
        with get_engine(settings.db_url).begin() as conn:
            report = import_file(conn, path, settings.tz)
            rebuild_minutes(conn, report.write.touched_minutes)
    except ImportError_ as exc:
        raise UserError(str(exc)) from None
    if report.duplicate_file:
        print(f"{path.name}: already imported (same content); nothing changed")
        return EXIT_OK
    via = f" (from {report.adapter.replace('_', ' ')})" if report.adapter else ""
    skipped = f", {report.skipped} skipped" if report.skipped else ""
    print(f"{path.name}: {report.kind} export{via}, {report.accepted} rows accepted, {report.rejected} rejected{skipped}")
    for reason in report.reasons[:20]:
        print(f"  {reason}")
    if len(report.reasons) > 20:
        print(f"  ... {len(report.reasons) - 20} more in the import_rejects table")
    return EXIT_OK


def cmd_customers(args, settings: Settings) -> int:
    from cockpit import customers
    from cockpit.timebuckets import EPOCH_DATE

    engine = _engine(settings)
    day = None
    if args.as_of:
        try:
            day = (datetime.strptime(args.as_of, "%Y-%m-%d").date() - EPOCH_DATE).days
        except ValueError:
            raise UserError(f"--as-of {args.as_of!r} is not a date such as 2026-11-24") from None
    run = customers.publish_customer_scores(engine, settings.tz, as_of_day=day)
    if run is None:
        print("no customer scores: no refresh or no paid order yet (run `python -m cockpit seed` first)")
        return EXIT_OK
    print(f"scored {run.customers:,} customers as of {customers.day_date(run.as_of_day):%Y-%m-%d} in {run.seconds:.1f}s"
          + ("" if run.clv_fitted else " (CLV not fitted: too little repeat-purchase history)")
          + (f"; retention dropped {len(run.dropped_days)} stored day(s)" if run.dropped_days else ""))
    return EXIT_OK


def cmd_report(args, settings: Settings) -> int:
    from cockpit import report
    from cockpit.metrics.read import last_heartbeat

    engine = _engine(settings)
    if args.list:
        with engine.connect() as conn:
            stored = report.report_list(conn)
        if stored.empty:
            print("no weekly report stored yet")
        for row in stored.itertuples():
            print(f"week {row.label}: built {datetime.fromtimestamp(row.created_ts_utc, settings.tz):%Y-%m-%d %H:%M} "
                  f"by {row.created_by}; {len(row.findings)} finding(s)")
        return EXIT_OK
    try:
        if args.week:
            week = report.parse_week(args.week)
        else:
            with engine.connect() as conn:
                beat = last_heartbeat(conn)
            if beat is None or beat.data_minute_utc is None:
                raise report.ReportError("no data yet: run `python -m cockpit seed` or import your shop's data first")
            week = report.last_complete_week(int(beat.data_minute_utc), settings.tz)
        built = report.write_report(engine, week, settings, created_by="cli", lang=args.lang)
    except report.ReportError as exc:
        raise UserError(str(exc)) from None
    print(f"weekly report for {built.label} stored; findings:")
    for text in built.findings:
        print(f"  - {text}")
    if built.pdf_error:
        print(f"no PDF: {built.pdf_error}", file=sys.stderr)
    if args.out:
        folder = Path(args.out)
        folder.mkdir(parents=True, exist_ok=True)
        with engine.connect() as conn:
            stored = report.stored_report(conn, week)
        stem = folder / f"operations-report-{report.day_date(week).isoformat()}"
        stem.with_suffix(".html").write_text(stored["html"], encoding="utf-8")
        if stored["pdf"]:
            stem.with_suffix(".pdf").write_bytes(stored["pdf"])
        print(f"wrote {stem}.html" + (f" and {stem}.pdf" if stored["pdf"] else ""))
    return EXIT_OK


def cmd_status(args, settings: Settings) -> int:
    from cockpit.db.engine import schema_revision
    from cockpit.metrics.read import last_heartbeat
    from cockpit.timebuckets import datetime_of_minute

    engine = _engine(settings)
    with engine.connect() as conn:
        beat = last_heartbeat(conn)
    print(f"database: {_safe_url(settings)} (schema {schema_revision(engine)})")
    if beat is None:
        print("no refresh yet: run `python -m cockpit seed` or `refresh`")
        return EXIT_OK
    lag = time.time() - beat.finished_ts_utc
    print(
        f"data as of {datetime_of_minute(beat.data_minute_utc, settings.tz):%Y-%m-%d %H:%M} {settings.timezone}; "
        f"last refresh {lag:.0f}s ago took {beat.duration_s:.3f}s for {beat.events_ingested:,} events"
    )
    return EXIT_OK


def cmd_doctor(args, settings: Settings) -> int:
    from cockpit import doctor

    app_url = None if args.no_app else (args.app_url or f"http://localhost:{settings.port}")
    return _print_checks(doctor.run_checks(settings, app_url=app_url))


def cmd_doctor_bad_config(args, error: ConfigError) -> int:
    """`doctor` with settings that do not load: the configuration check fails; the other
    checks need the settings it could not build."""
    from cockpit import doctor

    return _print_checks([doctor.configuration_failure(error)])


def _print_checks(checks) -> int:
    from cockpit import doctor

    for line in doctor.report_lines(checks):
        print(line)
    return EXIT_FAILURE if doctor.has_failure(checks) else EXIT_OK


def cmd_nginx_config(args, settings: Settings) -> int:
    from cockpit import deploy

    ports = args.app_port or [settings.port]
    try:
        if args.standalone:
            folder = Path(args.standalone).resolve()
            for name in ("client", "proxy", "fastcgi", "uwsgi", "scgi"):
                (folder / "temp" / name).mkdir(parents=True, exist_ok=True)
            text = deploy.standalone_config(args.listen, ports, folder, app_host=args.app_host)
        else:
            text = deploy.server_block(args.listen, ports, app_host=args.app_host, server_name=args.server_name)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(text, end="")
    return EXIT_OK


def cmd_run(args, settings: Settings) -> int:
    """Scheduler and Streamlit app as child processes; Ctrl-C stops both."""
    from cockpit.db.engine import dispose_engines, upgrade_schema
    from cockpit.ingest.seed import seed_history
    from sqlalchemy import func, select

    from cockpit.db.schema import Customer

    _engine(settings, need_schema=False)
    upgrade_schema(settings.db_url)
    engine = _engine(settings)
    with engine.connect() as conn:
        empty = not conn.execute(select(func.count()).select_from(Customer)).scalar()
    if empty and args.seed_days > 0:
        print(f"empty database: seeding {args.seed_days} days of demo history ({settings.scenario})")
        report = seed_history(
            engine, days=args.seed_days, scenario=settings.scenario, seed=settings.sim_seed,
            now_minute=int(time.time()) // 60, tz=settings.tz,
        )
        print(f"seeded {report.events:,} events in {report.seconds:.1f}s")
    from cockpit.auth_cli import announce_first_admin

    announce_first_admin(settings, hint=True)
    dispose_engines()
    env = {**os.environ, "COCKPIT_DB_URL": settings.db_url}
    children = [
        subprocess.Popen([sys.executable, "-m", "cockpit", "scheduler"], env=env, cwd=PROJECT_ROOT),
        subprocess.Popen(
            [sys.executable, "-m", "cockpit.ui.serve",
             "--server.port", str(settings.port), "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            env=env, cwd=PROJECT_ROOT,
        ),
    ]
    print(f"cockpit running: http://localhost:{settings.port}  (Ctrl-C stops the app and the scheduler)")
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    failed = [child for child in children if child.returncode not in (0, -signal.SIGTERM, None)]
    if failed and not stopping:
        print(f"error: a cockpit process exited with code {failed[0].returncode}", file=sys.stderr)
        return EXIT_FAILURE
    print("cockpit stopped")
    return EXIT_OK


def _safe_url(settings: Settings) -> str:
    from cockpit.db.engine import shown_url

    return shown_url(settings.db_url)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cockpit",
        description="The operations cockpit: e-commerce operations dashboard. The database comes "
        "from COCKPIT_DB_URL (any SQLAlchemy URL; default the SQLite file data/cockpit.db).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create or migrate the database schema",
                       description="Create the schema in an empty database, or migrate an existing one to the newest revision.")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("seed", help="write N days of simulated history ending now",
                       description="Write N days of simulated shop history ending at the present; live refreshes continue from there.")
    p.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    p.add_argument("--scenario", choices=SCENARIOS, default=None, help="normal, sales-event or incident (default COCKPIT_SCENARIO)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default COCKPIT_SIM_SEED)")
    p.add_argument("--anchor", help="when the scenario starts (ISO time; default: sales-event today 00:00, incident 30 min ago)")
    p.add_argument("--now", help="pretend the present is this ISO time (tests, backfills)")
    p.add_argument("--reset", action="store_true", help="delete all existing data first")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_seed)

    p = sub.add_parser("refresh", help="run one refresh now",
                       description="Ingest everything new since the watermark, update aggregates, evaluate alerts.")
    p.add_argument("--now", help="pretend the present is this ISO time")
    p.set_defaults(handler=cmd_refresh)

    p = sub.add_parser("scheduler", help="run the scheduler in the foreground",
                       description="Refresh every COCKPIT_REFRESH_SECONDS; one scheduler per database leads, others stand by.")
    p.set_defaults(handler=cmd_scheduler)

    p = sub.add_parser("import", help="import a CSV or Parquet export",
                       description="Import an orders*, stock*, ad_spend* or service_contacts* export (CSV or Parquet), "
                                   "a Shopify export (shopify_orders*, shopify_products*, shopify_inventory*; options in a "
                                   "shopify.toml beside it) or any export with a <name>.mapping.toml beside it; see README "
                                   "'Importing real exports'.")
    p.add_argument("path", help="the export file")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("customers", help="score every customer now (RFM segment, CLV) and store it",
                       description="Compute every customer's RFM segment, probability alive and CLV as of the last "
                       "complete day (or --as-of) and store them, replacing that day's scores; the scheduler does "
                       "this every COCKPIT_CUSTOMER_MINUTES.")
    p.add_argument("--as-of", help="score as of this shop-local day (YYYY-MM-DD; default the last complete day)")
    p.set_defaults(handler=cmd_customers)

    p = sub.add_parser("report", help="build the weekly operations health report now",
                       description="Build the weekly operations health report for last week (or --week) and store it, "
                       "replacing an earlier one of that week; the scheduler does this every Monday at 06:00.")
    p.add_argument("--week", help="any day of the week to report (YYYY-MM-DD; default the last complete week)")
    p.add_argument("--out", help="also write the report's HTML and PDF files into this folder")
    p.add_argument("--lang", choices=LANGUAGES,
                   help="the language to write the report in (default COCKPIT_LANG; a Chinese PDF needs a CJK font "
                   "such as Debian's fonts-wqy-microhei)")
    p.add_argument("--list", action="store_true", help="list the stored reports instead")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("status", help="show the database and the last refresh",
                       description="Print the database, its schema revision and the freshness of its data.")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("doctor", help="check the setup and say what to fix",
                       description="Check the configuration, that the database answers and has this code's schema "
                       "revision, that it holds data, that the scheduler refreshes, that an admin user exists and "
                       "that the app answers; print what to fix. Exit code 1 when a check fails.")
    p.add_argument("--app-url", help="where the app runs (default http://localhost:COCKPIT_PORT)")
    p.add_argument("--no-app", action="store_true", help="do not check the app")
    p.set_defaults(handler=cmd_doctor, config_error_handler=cmd_doctor_bad_config)

    p = sub.add_parser("nginx-config", help="print the nginx configuration for several app servers behind one port",
                       description="Print nginx's upstream and server blocks that put the given Streamlit app processes "
                       "behind one port, with websockets upgraded and each browser kept on one process (README "
                       "'Several app servers'). With --standalone FOLDER, a whole nginx.conf that runs without root "
                       "from FOLDER: nginx -p FOLDER -c FOLDER/nginx.conf.")
    p.add_argument("--listen", default="80", help="nginx's port or address:port (default 80)")
    p.add_argument("--app-port", type=int, action="append", help="an app process's port; repeat for each "
                   "(default COCKPIT_PORT)")
    p.add_argument("--app-host", default="127.0.0.1", help="where the app processes run (default 127.0.0.1)")
    p.add_argument("--server-name", default="_", help="nginx's server_name (default _: any)")
    p.add_argument("--standalone", metavar="FOLDER", help="a whole nginx.conf with its files in FOLDER")
    p.set_defaults(handler=cmd_nginx_config)

    p = sub.add_parser("run", help="run the scheduler and the Streamlit app together",
                       description="Create the schema, seed demo history if the database is empty, then run the scheduler and the app until Ctrl-C.")
    p.add_argument("--seed-days", type=int, default=30, help="days of demo history for an empty database (0: none; default 30)")
    p.set_defaults(handler=cmd_run)

    from cockpit.promotions_cli import add_promotions_command

    add_promotions_command(sub)
    from cockpit.auth_cli import add_auth_commands

    add_auth_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        try:
            settings = load_settings()
        except ConfigError as exc:
            # `doctor` reports a bad environment as its failed first check, with the fix.
            if getattr(args, "config_error_handler", None) is None:
                raise
            return args.config_error_handler(args, exc)
        if getattr(args, "scenario", None) is None and hasattr(args, "scenario"):
            args.scenario = settings.scenario
        if getattr(args, "seed", None) is None and hasattr(args, "seed"):
            args.seed = settings.sim_seed
        return args.handler(args, settings)
    except (UserError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an unexpected failure still gets one line, with the log above it
        logging.getLogger("cockpit").debug("unexpected failure", exc_info=True)
        first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        print(f"error: {type(exc).__name__}: {first_line} (run with -v for details)", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        from cockpit.db.engine import dispose_engines

        dispose_engines()
