"""`python -m cockpit promotions list|add|remove`: the promotions calendar from the command line."""
from __future__ import annotations

from datetime import date

from cockpit import promotions
from cockpit.cli import EXIT_OK, UserError, _engine
from cockpit.config import Settings
from cockpit.timebuckets import EPOCH_DATE


def _day(text: str, option: str) -> int:
    try:
        return (date.fromisoformat(text) - EPOCH_DATE).days
    except ValueError:
        raise UserError(f"{option} {text!r} is not a date such as 2026-11-11") from None


def cmd_list(args, settings: Settings) -> int:
    with _engine(settings).connect() as conn:
        calendar = promotions.list_promotions(conn, first_day=_day(args.since, "--since") if args.since else None)
    if calendar.empty:
        print("no promotion recorded" + (f" since {args.since}" if args.since else ""))
        return EXIT_OK
    for row in calendar.itertuples(index=False):
        uplift = "" if row.expected_uplift != row.expected_uplift else f"  expected x{row.expected_uplift:g}"
        print(f"{row.promotion_id:>4}  {promotions.day_date(row.first_day):%Y-%m-%d} .. "
              f"{promotions.day_date(row.last_day):%Y-%m-%d}  {row.kind:<12} {row.name}{uplift}")
    return EXIT_OK


def cmd_add(args, settings: Settings) -> int:
    first = _day(args.first_day, "--first-day")
    last = _day(args.last_day, "--last-day") if args.last_day else first
    try:
        with _engine(settings).begin() as conn:
            promotion_id = promotions.add_promotion(conn, args.name, args.kind, first, last,
                                                    expected_uplift=args.expected_uplift)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(f"promotion {promotion_id} added: {args.name} ({args.kind}) {args.first_day} .. "
          f"{promotions.day_date(last):%Y-%m-%d}; the next forecast run uses it")
    return EXIT_OK


def cmd_remove(args, settings: Settings) -> int:
    with _engine(settings).begin() as conn:
        removed = promotions.remove_promotion(conn, args.promotion_id)
    if not removed:
        raise UserError(f"no promotion with id {args.promotion_id} (see `python -m cockpit promotions list`)")
    print(f"promotion {args.promotion_id} removed")
    return EXIT_OK


def add_promotions_command(sub) -> None:
    """Register `promotions` and its list/add/remove subcommands on the CLI's subparsers."""
    p = sub.add_parser("promotions", help="list, add or remove promotion days",
                       description="The promotions calendar (shop-local days): past promotions are the shop's "
                       "record, planned ones tell the sales forecasts which future days are promotion days.")
    actions = p.add_subparsers(dest="promotions_command", required=True, metavar="ACTION")
    q = actions.add_parser("list", help="list the promotions, earliest first")
    q.add_argument("--since", help="only promotions running on or after this day (YYYY-MM-DD)")
    q.set_defaults(handler=cmd_list)
    q = actions.add_parser("add", help="record a past or planned promotion")
    q.add_argument("name", help="e.g. 'Double 12'")
    q.add_argument("--first-day", required=True, help="its first shop-local day (YYYY-MM-DD)")
    q.add_argument("--last-day", help="its last day, inclusive (default: the first day)")
    q.add_argument("--kind", choices=promotions.KINDS, default="sales_event", help="default sales_event")
    q.add_argument("--expected-uplift", type=float, help="expected demand factor, e.g. 1.8 (optional)")
    q.set_defaults(handler=cmd_add)
    q = actions.add_parser("remove", help="delete a promotion by its id")
    q.add_argument("promotion_id", type=int)
    q.set_defaults(handler=cmd_remove)
