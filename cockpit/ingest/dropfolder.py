"""Imports shop exports (CSV or Parquet): orders, stock snapshots, ad spend and service contacts.

Formats (one header row; times are ISO 8601 with a zone, e.g. 2026-11-11T00:03:12+08:00,
or naive times in the shop's timezone, or integer epoch seconds):

- orders (file name starts with "orders", one row per order line): order_id, customer_id, ts,
  channel, region, warehouse_id, status (paid | cancelled), sku, qty, unit_price; optional:
  line_no, campaign_id, discount, unit_cost, is_returning (true/false).
- stock (file name starts with "stock"): sku, warehouse_id, on_hand; optional: safety_stock,
  reorder_point, lead_time_days, ts. On-hand becomes the snapshot's value, recorded as an
  "import" stock movement of the difference.
- ad spend (file name starts with "ad_spend"): campaign_id, ts (the minute), spend; optional:
  impressions, clicks.
- service contacts (file name starts with "service_contacts"): contact_id, customer_id, ts,
  channel, reason, handled_by (bot | human: escalated to a person), resolved (true/false);
  optional: order_id, first_response_s (a person's first answer, in seconds; empty for the
  bot), resolved_ts (not before ts; only for resolved contacts).

Each row is validated; a bad row is rejected with its row number and reason (import_rejects)
and the good rows are kept. A file is imported once: its SHA-256 is remembered, so dropping
the same file again changes nothing. A file is applied inside the caller's transaction.

Other platforms' exports (Shopify's orders, products and inventory exports, and any export with
a `<name>.mapping.toml` next to it) are translated by cockpit.ingest.adapters into these formats,
or into "products" (sku, name, category, price; optional: cost, supplier_id, launched_ts: the
catalogue, created or updated), and then checked and applied exactly like our own files; their
rejects carry the original file's row numbers and rows. The drop folder imports product exports
first, then the others, and stock snapshots last (by name within each group), so that one drop
of a catalogue, its orders and a stock count applies in that order.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, insert, select, update

from cockpit.db.dialect import insert_ignore
from cockpit.db.schema import (
    AdSpend,
    Campaign,
    Channel,
    ImportedFile,
    ImportReject,
    Order,
    Product,
    ServiceContact,
    StockLevel,
    StockMovement,
    Supplier,
    Warehouse,
)
from cockpit.ingest.writer import WriteResult, write_batch

KINDS = {
    "orders": (["order_id", "customer_id", "ts", "channel", "region", "warehouse_id", "status", "sku", "qty", "unit_price"],
               ["line_no", "campaign_id", "discount", "unit_cost", "is_returning"]),
    "stock": (["sku", "warehouse_id", "on_hand"], ["safety_stock", "reorder_point", "lead_time_days", "ts"]),
    "ad_spend": (["campaign_id", "ts", "spend"], ["impressions", "clicks"]),
    "service_contacts": (["contact_id", "customer_id", "ts", "channel", "reason", "handled_by", "resolved"],
                         ["order_id", "first_response_s", "resolved_ts"]),
}
# What an adapter may produce: our formats and the catalogue's products (no file-name prefix of
# its own: product files come from an adapter, cockpit.ingest.adapters).
TARGETS = {**KINDS, "products": (["sku", "name", "category", "price"], ["cost", "supplier_id", "launched_ts"])}
TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes"), ("false", "0", "no")
SUFFIXES = (".csv", ".parquet")
INT_MAX, BIGINT_MAX = 2**31 - 1, 2**63 - 1  # the largest whole numbers an INTEGER and a BIGINT column hold
MAX_EPOCH_S = 10**11  # about the year 5100: a larger number is epoch milliseconds or no time at all


class ImportError_(ValueError):
    """A whole file was refused (unreadable, wrong kind, missing columns); nothing applied."""


@dataclass
class ImportReport:
    path: str
    kind: str  # the format the rows were checked as: orders, stock, ad_spend, service_contacts, products
    accepted: int = 0
    rejected: int = 0
    duplicate_file: bool = False
    reasons: list[str] = field(default_factory=list)
    write: WriteResult = field(default_factory=WriteResult)
    adapter: str = ""  # the adapter that translated the file (shopify_orders, mapped_orders...); "" for ours
    skipped: int = 0  # rows an adapter found nothing to import in (a Shopify product's image rows)


@dataclass
class Translated:
    """A file's rows in one of the TARGETS formats, ready for the checks.

    `frame` holds our columns as text (a unique index); `origin` gives each row's position
    among the original file's data rows (its row number is origin + 2); `problems` holds the
    adapter's own reasons ("" where none): those rows are rejected without further checks;
    `source` is the file as read, whose rows the rejects record."""

    kind: str
    frame: pd.DataFrame
    origin: pd.Series
    problems: pd.Series
    source: pd.DataFrame
    skipped: int = 0

    @classmethod
    def as_is(cls, kind: str, frame: pd.DataFrame) -> "Translated":
        """One of our own files: each row is its own origin, nothing flagged yet."""
        return cls(kind, frame, pd.Series(frame.index, index=frame.index),
                   pd.Series("", index=frame.index, dtype="object"), frame)


def file_kind(path: Path) -> str:
    name = path.name.lower()
    for kind in KINDS:
        if name.startswith(kind):
            return kind
    raise ImportError_(f"{path.name}: cannot tell the export's kind; name it orders*.csv, stock*.csv, ad_spend*.csv "
                       "or service_contacts*.csv (our formats), shopify_orders*.csv, shopify_products*.csv or "
                       f"shopify_inventory*.csv (Shopify's exports), or describe it in {path.stem}.mapping.toml "
                       "next to it")


def _adapter_for(path: Path):
    # Imported here: the adapters build on this module's formats and errors.
    from cockpit.ingest.adapters import adapter_for

    return adapter_for(path)


def read_table(path: Path) -> pd.DataFrame:
    """The file's rows as strings (validation does the typing, row by row)."""
    if path.suffix.lower() not in SUFFIXES:
        raise ImportError_(f"{path.name}: only .csv and .parquet exports are read")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
            return frame.astype(object).where(frame.notna(), None).astype("string")
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""], encoding=encoding)
            except UnicodeDecodeError:
                continue
        raise ImportError_(f"{path.name}: the text is neither UTF-8 nor GBK/GB18030")
    except pd.errors.EmptyDataError:
        raise ImportError_(f"{path.name}: the file is empty") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise ImportError_(f"{path.name}: not a readable {path.suffix[1:]} file ({exc})") from None


def _parse_ts(values: pd.Series, tz: ZoneInfo) -> pd.Series:
    """Epoch seconds (Int64, NA where unreadable) from ISO text or integer epoch seconds."""
    numeric = pd.to_numeric(values, errors="coerce")
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    is_number = numeric.notna()
    is_epoch = is_number & (numeric.abs() < MAX_EPOCH_S)  # infinities and huge numbers are no time
    out[is_epoch] = numeric[is_epoch].astype("int64")
    for index, raw in values[~is_number & values.notna()].items():
        if not any(ch.isdigit() for ch in str(raw)):
            continue  # pandas reads "now", "today" and "yesterday" as the clock's time: no export means that
        try:
            stamp = pd.to_datetime(raw, errors="coerce")
            if not pd.isna(stamp) and stamp.tzinfo is None:
                # A naive time in a daylight-saving gap or overlap names no single instant.
                stamp = stamp.tz_localize(tz, nonexistent="NaT", ambiguous="NaT")
            if not pd.isna(stamp):
                out[index] = math.floor(stamp.timestamp())
        except (ValueError, OverflowError):  # beyond the calendar pandas knows (e.g. year 1 shifted to UTC)
            continue
    return out


class _Checker:
    """Collects per-row problems; a row with any problem is rejected with all its reasons."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.problems = pd.Series("", index=frame.index, dtype="object")

    def flag(self, mask: pd.Series, reason: str) -> None:
        mask = mask.fillna(True).astype(bool)
        self.problems[mask] = self.problems[mask] + reason + "; "

    def number(self, column: str, *, integer: bool = False, minimum: float | None = None,
               maximum: int = BIGINT_MAX, required: bool = True) -> pd.Series:
        """The column's numbers (NA where missing or unreadable). With `integer`, whole numbers
        up to `maximum` (the largest the column holds), as exact Int64 (NA beyond a BIGINT)."""
        raw = self.frame[column] if column in self.frame else pd.Series(pd.NA, index=self.frame.index, dtype="string")
        values = pd.to_numeric(raw, errors="coerce")
        if required:
            self.flag(raw.isna(), f"{column} is missing")
        self.flag(raw.notna() & values.isna(), f"{column} is not a number")
        finite = (values.notna() & np.isfinite(values.astype("float64"))).fillna(False).astype(bool)
        whole = finite & (values % 1 == 0).fillna(False).astype(bool)
        if integer:
            self.flag(finite & ~whole, f"{column} is not a whole number")
        if minimum is not None:
            self.flag(values.notna() & (values < minimum), f"{column} is below {minimum:g}")
        if integer:
            exact = _exact_whole(raw, values, whole)
            # A whole number beyond a BIGINT is NA in `exact`: above the maximum when positive.
            too_big = (exact > maximum).fillna(False).astype(bool) | (exact.isna() & (values > 0).fillna(False))
            self.flag(whole & too_big, f"{column} is above {maximum}")
        self.flag(values.notna() & ~finite, f"{column} is not finite")
        return exact if integer else values

    def text(self, column: str, max_length: int) -> pd.Series:
        """The column's text, flagged where missing, longer than the column holds, or holding a NUL
        character (which a PostgreSQL text cannot store)."""
        values = self.frame[column]
        self.flag(values.isna(), f"{column} is missing")
        self.flag(values.str.len() > max_length, f"{column} is longer than {max_length} characters")
        self.flag(values.str.contains("\x00", regex=False), f"{column} contains a NUL character")
        return values

    def known(self, column: str, allowed: set[str], what: str):
        values = self.frame[column]
        self.flag(values.isna(), f"{column} is missing")
        self.flag(values.notna() & ~values.isin(list(allowed)), f"unknown {what}")
        return values

    @property
    def good(self) -> pd.Series:
        return self.problems == ""


def _exact_whole(raw: pd.Series, values: pd.Series, whole: pd.Series) -> pd.Series:
    """The whole numbers among `values` as Int64 (NA elsewhere and beyond a BIGINT). Those of
    2**53 or more are read again from their text: through a float, a long id (marketplaces'
    order numbers have 18-19 digits) would lose its last digits."""
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    small = whole & (values.abs() < 2**53).fillna(False).astype(bool)
    out[small] = values[small].astype("int64")
    big = whole & ~small
    if big.any():
        exact = [int(Decimal(str(text).strip())) for text in raw[big]]
        out[big] = [x if -BIGINT_MAX - 1 <= x <= BIGINT_MAX else pd.NA for x in exact]
    return out


def _reference(conn: Connection, column) -> set[str]:
    return set(conn.execute(select(column)).scalars())


def _existing(conn: Connection, column, keys: pd.Series, *also) -> set:
    """The keys (Int64) already in `column`; with `also` columns, (key, *also) tuples."""
    ids = [int(x) for x in keys.dropna().unique()]
    found: set = set()
    for start in range(0, len(ids), 5000):
        rows = conn.execute(select(column, *also).where(column.in_(ids[start : start + 5000])))
        found.update(rows.scalars() if not also else (tuple(row) for row in rows))
    return found


def _validate_orders(conn: Connection, frame: pd.DataFrame, tz: ZoneInfo) -> tuple[dict, pd.Series]:
    check = _Checker(frame)
    order_id = check.number("order_id", integer=True, minimum=1)
    customer_id = check.number("customer_id", integer=True, minimum=1)
    ts = _parse_ts(frame["ts"], tz)
    check.flag(ts.isna(), "ts is not a time")
    check.known("channel", _reference(conn, Channel.channel), "channel")
    check.known("sku", _reference(conn, Product.sku), "SKU")
    check.known("warehouse_id", _reference(conn, Warehouse.warehouse_id), "warehouse")
    check.text("region", 64)
    check.flag(~frame["status"].isin(["paid", "cancelled"]), "status must be paid or cancelled")
    qty = check.number("qty", integer=True, minimum=1, maximum=INT_MAX)
    unit_price = check.number("unit_price", minimum=0)
    unit_cost = check.number("unit_cost", minimum=0, required=False)
    discount = check.number("discount", minimum=0, required=False)
    line_no = check.number("line_no", integer=True, minimum=1, maximum=INT_MAX, required=False)
    campaigns = _reference(conn, Campaign.campaign_id)
    if "campaign_id" in frame:
        check.flag(frame["campaign_id"].notna() & ~frame["campaign_id"].isin(list(campaigns)), "unknown campaign")
    # An order's lines must agree on the order's own fields, or the order cannot be kept.
    header = ["customer_id", "ts", "channel", "region", "warehouse_id", "status"]
    known = order_id.notna()
    if known.any():  # (grouping rows none of which has a readable order_id fails in pandas)
        disagree = frame[known].groupby(order_id[known])[header].transform("nunique").gt(1).any(axis=1)
        check.flag(disagree.reindex(frame.index, fill_value=False),
                   "lines of this order_id disagree on customer, time, channel, region, warehouse or status")
    if line_no.notna().any():
        check.flag(pd.Series(list(zip(order_id, line_no)), index=frame.index).duplicated(keep=False) & line_no.notna(),
                   "duplicate line_no within order")
    check.flag(order_id.isin(list(_existing(conn, Order.order_id, order_id))), "order_id already in the database")
    good = check.good
    lines = pd.DataFrame({
        "order_id": order_id[good].astype("int64"), "sku": frame["sku"][good].astype(str),
        "qty": qty[good].astype("int64"), "unit_price": unit_price[good].astype("float64"),
        "unit_cost": unit_cost[good].fillna(0.0).astype("float64"),
        "line_no": line_no[good],
    })
    if lines["line_no"].isna().any():
        lines["line_no"] = lines.groupby("order_id").cumcount() + 1
    lines["line_no"] = lines["line_no"].astype("int64")
    first = frame[good].groupby(order_id[good]).head(1)
    ts_good = ts[first.index].astype("int64")
    status = first["status"].astype(str)
    orders = pd.DataFrame({
        "order_id": order_id[first.index].astype("int64"),
        "customer_id": customer_id[first.index].astype("int64"),
        "session_id": pd.Series(pd.NA, index=first.index, dtype="Int64"),
        "ts_utc": ts_good,
        "channel": first["channel"].astype(str),
        "campaign_id": first["campaign_id"] if "campaign_id" in first else None,
        "is_returning": first["is_returning"].str.lower().isin(["true", "1", "yes"]) if "is_returning" in first else False,
        "region": first["region"].astype(str),
        "warehouse_id": first["warehouse_id"].astype(str),
        "status": status,
        "discount": discount[first.index].fillna(0.0).astype("float64"),
        "paid_ts_utc": ts_good.where(status == "paid"),
        "cancelled_ts_utc": ts_good.where(status == "cancelled"),
    })
    totals = (lines["qty"] * lines["unit_price"]).groupby(lines["order_id"]).sum()
    orders["amount"] = orders["order_id"].map(totals) - orders["discount"]
    return {"orders": orders, "order_lines": lines}, check.problems


def _validate_ad_spend(conn: Connection, frame: pd.DataFrame, tz: ZoneInfo) -> tuple[dict, pd.Series]:
    check = _Checker(frame)
    check.known("campaign_id", _reference(conn, Campaign.campaign_id), "campaign")
    ts = _parse_ts(frame["ts"], tz)
    check.flag(ts.isna(), "ts is not a time")
    spend = check.number("spend", minimum=0)
    impressions = check.number("impressions", integer=True, minimum=0, maximum=INT_MAX, required=False)
    clicks = check.number("clicks", integer=True, minimum=0, maximum=INT_MAX, required=False)
    minute = ts // 60
    pairs = pd.Series(list(zip(frame["campaign_id"], minute)), index=frame.index)
    check.flag(pairs.duplicated(keep=False), "duplicate campaign and minute")
    # Inserted, such a row would be skipped: the report would count a row the database lacks.
    spent = _existing(conn, AdSpend.minute_utc, minute, AdSpend.campaign_id)
    check.flag(pairs.map(lambda pair: (pair[1], pair[0]) in spent),
               "spend for this campaign and minute already in the database")
    good = check.good
    spend_rows = pd.DataFrame({
        "campaign_id": frame["campaign_id"][good].astype(str), "minute_utc": minute[good].astype("int64"),
        "spend": spend[good].astype("float64"), "impressions": impressions[good].fillna(0).astype("int64"),
        "clicks": clicks[good].fillna(0).astype("int64"),
    })
    return {"ad_spend": spend_rows}, check.problems


def _validate_service_contacts(conn: Connection, frame: pd.DataFrame, tz: ZoneInfo) -> tuple[dict, pd.Series]:
    check = _Checker(frame)
    contact_id = check.number("contact_id", integer=True, minimum=1)
    customer_id = check.number("customer_id", integer=True, minimum=1)
    order_id = check.number("order_id", integer=True, minimum=1, required=False)
    ts = _parse_ts(frame["ts"], tz)
    check.flag(ts.isna(), "ts is not a time")
    for column in ("channel", "reason"):
        check.text(column, 32)
    handled_by = frame["handled_by"].str.strip().str.lower()
    check.flag(~handled_by.isin(["bot", "human"]), "handled_by must be bot or human")
    resolved_text = frame["resolved"].str.strip().str.lower()
    check.flag(~resolved_text.isin(TRUE_WORDS + FALSE_WORDS), "resolved must be true or false")
    resolved = resolved_text.isin(TRUE_WORDS)
    wait = check.number("first_response_s", integer=True, minimum=0, maximum=INT_MAX, required=False)
    check.flag((handled_by == "bot") & wait.notna(), "first_response_s is a person's answer: leave it empty for the bot")
    if "resolved_ts" in frame:
        resolved_ts = _parse_ts(frame["resolved_ts"], tz)
        check.flag(frame["resolved_ts"].notna() & resolved_ts.isna(), "resolved_ts is not a time")
        check.flag(resolved_ts.notna() & ts.notna() & (resolved_ts < ts), "resolved_ts is before ts")
        check.flag(resolved_ts.notna() & ~resolved, "resolved_ts given for an unresolved contact")
    else:
        resolved_ts = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    check.flag(contact_id.duplicated(keep=False) & contact_id.notna(), "duplicate contact_id")
    known = _existing(conn, ServiceContact.contact_id, contact_id)
    check.flag(contact_id.isin(list(known)), "contact_id already in the database")
    good = check.good
    contacts = pd.DataFrame({
        "contact_id": contact_id[good].astype("int64"), "customer_id": customer_id[good].astype("int64"),
        "order_id": order_id[good].astype("Int64"), "ts_utc": ts[good].astype("int64"),
        "channel": frame["channel"][good].str.strip().astype(str), "reason": frame["reason"][good].str.strip().astype(str),
        "handled_by": handled_by[good].astype(str), "first_response_s": wait[good].astype("Int64"),
        "resolved": resolved[good].astype(bool), "resolved_ts_utc": resolved_ts[good].astype("Int64"),
    })
    return {"service_contacts": contacts}, check.problems


def _apply_stock_snapshot(conn: Connection, frame: pd.DataFrame, tz: ZoneInfo, ref: str) -> tuple[pd.Series, int]:
    check = _Checker(frame)
    check.known("sku", _reference(conn, Product.sku), "SKU")
    check.known("warehouse_id", _reference(conn, Warehouse.warehouse_id), "warehouse")
    on_hand = check.number("on_hand", integer=True, minimum=0, maximum=INT_MAX)
    safety = check.number("safety_stock", integer=True, minimum=0, maximum=INT_MAX, required=False)
    reorder = check.number("reorder_point", integer=True, minimum=0, maximum=INT_MAX, required=False)
    lead = check.number("lead_time_days", minimum=0, required=False)
    ts = _parse_ts(frame["ts"], tz) if "ts" in frame else pd.Series(int(time.time()), index=frame.index, dtype="Int64")
    check.flag(ts.isna(), "ts is not a time")
    check.flag(pd.Series(list(zip(frame["sku"], frame["warehouse_id"])), index=frame.index).duplicated(keep=False),
               "duplicate SKU and warehouse")
    good = check.good
    current = {
        (s, w): (o, ss, rp, lt)
        for s, w, o, ss, rp, lt in conn.execute(
            select(StockLevel.sku, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.safety_stock,
                   StockLevel.reorder_point, StockLevel.lead_time_days)
        ).all()
    }
    movements, new_levels, changed_levels = [], [], []
    for index in frame.index[good]:
        key = (str(frame.at[index, "sku"]), str(frame.at[index, "warehouse_id"]))
        old = current.get(key, (0, 0, 0, 7.0))
        row = {
            "sku": key[0], "warehouse_id": key[1], "on_hand": int(on_hand[index]),
            "safety_stock": int(safety[index]) if pd.notna(safety[index]) else old[1],
            "reorder_point": int(reorder[index]) if pd.notna(reorder[index]) else old[2],
            "lead_time_days": float(lead[index]) if pd.notna(lead[index]) else old[3],
            "updated_ts_utc": int(ts[index]),
        }
        (changed_levels if key in current else new_levels).append(row)
        if row["on_hand"] != old[0]:
            movements.append({"sku": key[0], "warehouse_id": key[1], "ts_utc": int(ts[index]),
                              "qty_delta": row["on_hand"] - old[0], "reason": "import", "ref_id": f"{ref}:{index + 2}"})
    if new_levels:
        conn.execute(insert(StockLevel.__table__), new_levels)
    if changed_levels:
        conn.execute(
            update(StockLevel)
            .where(StockLevel.sku == bindparam("k_sku"), StockLevel.warehouse_id == bindparam("k_wh"))
            .values(on_hand=bindparam("on_hand"), safety_stock=bindparam("safety_stock"),
                    reorder_point=bindparam("reorder_point"), lead_time_days=bindparam("lead_time_days"),
                    updated_ts_utc=bindparam("updated_ts_utc")),
            [{**{k: v for k, v in r.items() if k not in ("sku", "warehouse_id")}, "k_sku": r["sku"], "k_wh": r["warehouse_id"]}
             for r in changed_levels],
        )
    if movements:
        conn.execute(insert_ignore(conn, StockMovement.__table__), movements)
    return check.problems, int(good.sum())


def _apply_products(conn: Connection, frame: pd.DataFrame, tz: ZoneInfo) -> tuple[pd.Series, int]:
    """Create the file's new SKUs in the catalogue and update the known ones (name, category and
    price always; cost, supplier and launch time where the file gives them). A new product
    without a cost gets 0 until a later file says; one without a launch time is launched now."""
    check = _Checker(frame)
    check.text("sku", 64)
    check.text("name", 300)
    check.text("category", 100)
    price = check.number("price", minimum=0)
    cost = check.number("cost", minimum=0, required=False)
    supplier = frame["supplier_id"] if "supplier_id" in frame else pd.Series(pd.NA, index=frame.index, dtype="string")
    check.flag(supplier.notna() & ~supplier.isin(list(_reference(conn, Supplier.supplier_id))), "unknown supplier")
    if "launched_ts" in frame:
        launched = _parse_ts(frame["launched_ts"], tz)
        check.flag(frame["launched_ts"].notna() & launched.isna(), "launched_ts is not a time")
    else:
        launched = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    check.flag(frame["sku"].notna() & frame["sku"].duplicated(keep=False), "duplicate SKU")
    good = check.good
    known = {row.sku: row for row in conn.execute(  # the whole catalogue: an export may name every SKU
        select(Product.sku, Product.cost, Product.supplier_id, Product.launched_ts_utc))}
    now = int(time.time())
    new_rows, changed = [], []
    for index in frame.index[good]:
        sku = str(frame.at[index, "sku"])
        old = known.get(sku)
        row = {
            "sku": sku, "name": str(frame.at[index, "name"]), "category": str(frame.at[index, "category"]),
            "price": float(price[index]),
            "cost": float(cost[index]) if pd.notna(cost[index]) else (old.cost if old else 0.0),
            "supplier_id": str(supplier[index]) if pd.notna(supplier[index]) else (old.supplier_id if old else None),
            "launched_ts_utc": (int(launched[index]) if pd.notna(launched[index])
                                else old.launched_ts_utc if old else now),
        }
        (changed if old else new_rows).append(row)
    if new_rows:
        conn.execute(insert(Product.__table__), new_rows)
    if changed:
        conn.execute(
            update(Product).where(Product.sku == bindparam("k_sku"))
            .values(name=bindparam("name"), category=bindparam("category"), price=bindparam("price"),
                    cost=bindparam("cost"), supplier_id=bindparam("supplier_id"),
                    launched_ts_utc=bindparam("launched_ts_utc")),
            [{**{k: v for k, v in r.items() if k != "sku"}, "k_sku": r["sku"]} for r in changed],
        )
    return check.problems, int(good.sum())


def _apply(conn: Connection, rows: Translated, tz: ZoneInfo, ref: str) -> tuple[pd.Series, int, WriteResult]:
    """Check and apply the rows the adapter did not reject already: (reasons per row, accepted, writes)."""
    problems = rows.problems.copy()
    frame = rows.frame[rows.problems == ""]
    if frame.empty:
        return problems, 0, WriteResult()
    write = WriteResult()
    if rows.kind == "stock":
        found, accepted = _apply_stock_snapshot(conn, frame, tz, ref)
    elif rows.kind == "products":
        found, accepted = _apply_products(conn, frame, tz)
    else:
        validate = {"orders": _validate_orders, "ad_spend": _validate_ad_spend,
                    "service_contacts": _validate_service_contacts}[rows.kind]
        frames, found = validate(conn, frame, tz)
        write = write_batch(conn, frames, tz)
        accepted = int((found == "").sum())
    problems[found.index] = found
    return problems, accepted, write


def import_file(conn: Connection, path: Path, tz: ZoneInfo) -> ImportReport:
    """Validate and apply one export inside the caller's transaction: one of our formats (by
    its name's prefix) or another platform's export an adapter translates (see the module's
    docstring and cockpit.ingest.adapters). Raises ImportError_ when the file is refused whole."""
    path = Path(path)
    if not path.is_file():
        raise ImportError_(f"{path}: no such file")
    adapter = _adapter_for(path)
    kind = adapter.kind if adapter else file_kind(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    report = ImportReport(path=str(path), kind=kind, adapter=adapter.name if adapter else "")
    if conn.execute(select(ImportedFile.sha256).where(ImportedFile.sha256 == digest)).first():
        report.duplicate_file = True
        return report
    frame = read_table(path)
    if frame.empty:
        raise ImportError_(f"{path.name}: the file has a header but no rows")
    frame = frame.reset_index(drop=True)
    if adapter:
        rows = adapter.translate(conn, frame, path)
    else:
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        rows = Translated.as_is(kind, frame)
    required, _optional = TARGETS[kind]
    missing = [c for c in required if c not in rows.frame.columns]
    if missing:
        raise ImportError_(f"{path.name}: missing required column(s) {', '.join(missing)} for a {kind} export")
    problems, accepted, report.write = _apply(conn, rows, tz, digest[:12])
    bad = problems[problems != ""]
    numbers = rows.origin[bad.index].astype(int) + 2
    bad = bad.iloc[np.argsort(numbers.to_numpy(), kind="stable")]  # in the file's order
    report.accepted, report.rejected, report.skipped = accepted, len(bad), rows.skipped
    if len(bad):
        conn.execute(
            insert(ImportReject.__table__),
            [{"sha256": digest, "row_number": int(numbers[i]), "reason": reason.rstrip("; "),
              "row_json": json.dumps({k: (None if pd.isna(v) else str(v))
                                      for k, v in rows.source.iloc[int(rows.origin[i])].items()}, ensure_ascii=False)}
             for i, reason in bad.items()],
        )
        report.reasons = [f"row {int(numbers[i])}: {reason.rstrip('; ')}" for i, reason in bad.items()]
    conn.execute(
        insert(ImportedFile.__table__).values(
            sha256=digest, path=str(path), kind=report.adapter or kind, ts_utc=int(time.time()),
            rows_accepted=report.accepted, rows_rejected=report.rejected,
        )
    )
    return report


def _import_order(path: Path) -> tuple[int, str]:
    """Product exports first (orders and stock name their SKUs), stock snapshots last (a count
    taken after the orders in the same drop already reflects them), by name within each group."""
    try:
        adapter = _adapter_for(path)
        kind = adapter.kind if adapter else file_kind(path)
    except ImportError_:
        kind = ""  # refused when its turn comes
    return {"products": 0, "stock": 2}.get(kind, 1), path.name


def pending_files(drop_dir: Path) -> list[Path]:
    """The drop folder's exports (mapping and option files aside) in the order they are imported."""
    if not drop_dir.is_dir():
        return []
    return sorted((p for p in drop_dir.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES), key=_import_order)


def import_pending(conn: Connection, drop_dir: Path, tz: ZoneInfo) -> list[ImportReport]:
    """Import every export in the drop folder not imported before. A file refused as a whole
    is remembered with its reason (import_rejects row 0) so it is not retried every minute."""
    reports = []
    for path in pending_files(drop_dir):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if conn.execute(select(ImportedFile.sha256).where(ImportedFile.sha256 == digest)).first():
            continue
        try:
            with conn.begin_nested():
                reports.append(import_file(conn, path, tz))
        except ImportError_ as exc:
            conn.execute(insert(ImportReject.__table__).values(sha256=digest, row_number=0, reason=str(exc), row_json="{}"))
            conn.execute(insert(ImportedFile.__table__).values(
                sha256=digest, path=str(path), kind="refused", ts_utc=int(time.time()), rows_accepted=0, rows_rejected=0))
            reports.append(ImportReport(path=str(path), kind="refused", reasons=[str(exc)]))
    return reports
