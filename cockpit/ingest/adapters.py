"""Import adapters: other platforms' exports translated into the drop folder's own formats.

An adapter reads an export as the drop folder does (CSV in UTF-8 or GBK/GB18030, or Parquet),
translates it into one of our formats (see cockpit.ingest.dropfolder: orders, stock, ad_spend,
service_contacts, or products for the catalogue) and hands it to the same checks and writes as
our own files. A row is rejected with the ORIGINAL file's row number (the header is row 1) and
its original cells in import_rejects; the file's SHA-256 is remembered, so importing the same
file again changes nothing. A file that cannot be translated at all (not the export it claims to
be, a broken mapping or options file) is refused whole with a message naming the file.

How a file is recognised, first match wins:

1. `<name>.csv` (or .parquet) with a sibling `<name>.mapping.toml`: the generic adapter.
2. A name starting with `shopify_orders`, `shopify_products` or `shopify_inventory`: Shopify's
   orders, products and inventory CSV exports, as Shopify writes them (rename the downloaded
   `orders_export_1.csv` to e.g. `shopify_orders_2026-11-11.csv`).
3. Our own prefixes (orders, stock, ad_spend, service_contacts). Anything else is refused.

The drop folder imports product exports first, then orders and the like, and stock snapshots
last, so that a catalogue, its orders and a stock count dropped together apply in that order.

Shopify options: `shopify.toml`, optional, in the same folder as the Shopify exports::

    [orders]
    warehouse_id = "WH-EAST"      # the warehouse web orders ship from (see below)
    default_channel = "organic"   # the channel of a Source not named below (default organic)
    [orders.channels]             # Shopify Source -> our channel id
    web = "organic"
    shopify_draft_order = "community"
    [orders.regions]              # shipping province (name or code) -> our region
    Shanghai = "East"
    [products]
    default_category = "other"    # the category of a product without Type or Product Category
    [products.categories]         # Shopify Type or Product Category -> our category
    Mugs = "home"
    [locations]                   # Shopify location name -> our warehouse_id
    "Guangzhou DC" = "WH-SOUTH"

Keys of these tables are matched ignoring case; an unknown section or key refuses the import
(a typo would otherwise be ignored silently).

Shopify orders export (`shopify_orders*.csv`, one row per line item). Shopify writes an order's
own fields (Email, Financial Status, Created at, the addresses...) on its first line only; they
are carried down to the order's other lines (rows with the same "Name"). Needed columns: Name,
Created at, Financial Status, Lineitem quantity, Lineitem price, Lineitem sku. Translation:

- order_id: "Id"; without an Id, the digits of "Name" (#1001 -> 1001; two shops' #1001 collide,
  the second is then rejected as already in the database).
- customer_id: a stable hash of "Email" (trimmed, lower-cased), else of "phone:" + the digits of
  "Phone", else of "order:" + Name (a guest). The hash (stable_id) is BLAKE2b with an 8-byte
  digest of the trimmed, lower-cased text in UTF-8, read big-endian, with the top bit cleared
  (0 becomes 1): a positive 63-bit integer, the same for the same e-mail in every file and
  process (hashlib.blake2b(text.encode(), digest_size=8)).
- ts: "Created at" (Shopify writes 2026-11-11 00:03:12 +0800; the offset is kept).
- channel: "Source" through [orders.channels]; else the Source itself when it is one of our
  channel ids; else default_channel.
- warehouse_id: "Location" (a point-of-sale order's location) when it names a warehouse (see
  locations below); else [orders] warehouse_id; else the catalogue's warehouse when it has
  exactly one; else the row is rejected ("no warehouse ...").
- region: "Shipping Province Name", "Shipping Province", "Billing Province Name" or "Billing
  Province", the first given, through [orders.regions]; an order with no address (a
  point-of-sale sale) gets its warehouse's region.
- status: cancelled when "Cancelled at" is set or Financial Status is voided or expired; paid
  when Financial Status is paid, partially_paid, authorized, partially_refunded or refunded (the
  sale happened; refunds are not imported: returns need a SKU, quantity and reason); any other
  Financial Status (pending, an empty one) is rejected as not paid yet.
- sku, qty, unit_price: "Lineitem sku", "Lineitem quantity", "Lineitem price". A line without
  a SKU (a tip, a custom item) is rejected: it matches no product.
- discount: the sum of the order's "Lineitem discount" over its lines with a SKU (so a free
  shipping code does not lower the goods' amount); without that column, "Discount Amount".
  The order's amount is then the goods after discounts (Shopify's Subtotal); Shipping and Taxes
  are not part of it. Currency is not converted: export in the shop's currency.
- line_no: the line's position in its order; unit_cost: the product's catalogue cost.

Shopify products export (`shopify_products*.csv`, one row per variant; extra image rows carry no
variant and are skipped, counted in the report's `skipped`). Needed: Handle (or URL handle),
Title, Variant SKU (or SKU), Variant Price (or Price). Product fields (Title, Vendor, Type,
Product Category) are carried down the product's rows. Each variant becomes a catalogue product:
sku from Variant SKU (a variant without one is rejected); name = Title, plus " - " and the
option values unless the only option is "Default Title"; category = Type, else the last level of
Product Category ("Home & Garden > ... > Mugs" -> "Mugs"), mapped through [products.categories],
lower-cased when unmapped, default_category when both are empty; price from Variant Price; cost
from "Cost per item" (a new product without one costs 0 until a later file says); supplier_id:
the supplier whose id or name is "Vendor", none otherwise. Known SKUs are updated. Status
(active, draft, archived) and Variant Inventory Qty are not imported: stock comes from the
inventory export.

Shopify inventory export (`shopify_inventory*.csv`), a stock snapshot. Needed: SKU and either
a "Location" column with "Available" or "On hand" (the "All quantity types" export, one row per
variant and location; Shopify's "(not editable)" and "(current)" notes after a name are ignored)
or one column per location holding its available quantity (the "Only Available quantities"
export). on_hand is Available when given (our on-hand already counts paid orders out, as
Shopify's Available does), else On hand; a negative quantity (oversold) is read as 0, "not
stocked" cells are skipped. The location names a warehouse through [locations], else when its
slug (upper-cased, other characters as "-": "wh east" -> WH-EAST) is a warehouse_id, else when it
is a warehouse's name (ignoring case); otherwise the row is rejected.

Generic adapter: a `<name>.mapping.toml` next to `<name>.csv` describes the export::

    kind = "orders"                  # orders | stock | ad_spend | service_contacts | products
    time_format = "%Y/%m/%d %H:%M:%S"  # optional, Python strptime codes, for the time columns
    timezone = "Asia/Shanghai"       # optional, the zone of times without an offset
    hashed = ["customer_id"]         # optional: text ids (nicknames, e-mails) made numeric
    [columns]                        # our column = "their column" (matched ignoring case)
    order_id = "订单编号"
    ts = "下单时间"
    [constants]                      # our column = the same value on every row
    channel = "live_stream"
    [values.status]                  # per our column: their value = our value
    "已付款" = "paid"

Our columns are those of the target kind (the dropfolder docstring lists them; products: sku,
name, category, price, cost, supplier_id, launched_ts). Every required column must be mapped or
constant. The file is refused whole when the mapping names a column of ours the kind does not
have, or a column of theirs the export does not have (the message lists the export's columns).
Cells are trimmed; a value missing from a [values] table passes unchanged (and is then checked
like any other). With time_format, a time that does not match it is rejected; hashed columns
use stable_id as above. Orders without a unit_cost column take the catalogue's cost. Put the
mapping file in place before its export: an export without one that arrives first is refused.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from sqlalchemy import Connection, select

from cockpit.db.schema import Channel, Product, Supplier, Warehouse
from cockpit.ingest.dropfolder import TARGETS, ImportError_, Translated, _Checker

SHOPIFY_OPTIONS = "shopify.toml"
MAPPING_SUFFIX = ".mapping.toml"
ID_BITS = 2**63 - 1
# The time columns of each target format (what time_format and timezone apply to).
TIME_COLUMNS = {"orders": ("ts",), "stock": ("ts",), "ad_spend": ("ts",), "service_contacts": ("ts", "resolved_ts"),
                "products": ("launched_ts",)}
PAID_STATES = {"paid", "partially_paid", "authorized", "partially_refunded", "refunded"}
VOID_STATES = {"voided", "expired"}


@dataclass(frozen=True)
class Adapter:
    """Translates one export: name (shopify_orders, mapped_stock...), the format it produces,
    and translate(conn, table as read, path) -> Translated."""

    name: str
    kind: str
    translate: Callable[[Connection, pd.DataFrame, Path], Translated]


def adapter_for(path: Path) -> Adapter | None:
    """The adapter for the export at `path`, or None for our own formats (and unknown files).
    Raises ImportError_ when the export's mapping or options file is unusable."""
    path = Path(path)
    mapping = path.with_name(path.stem + MAPPING_SUFFIX)
    if mapping.is_file():
        spec = load_mapping(mapping, path)
        return Adapter(f"mapped_{spec.kind}", spec.kind, partial(_translate_mapped, spec))
    name = path.name.lower()
    for prefix, kind, translate in SHOPIFY_EXPORTS:
        if name.startswith(prefix):
            return Adapter(prefix, kind, partial(translate, shopify_options(path)))
    return None


def stable_id(text: str) -> int:
    """A positive 63-bit id for a text (an e-mail, a nickname), the same in every process:
    BLAKE2b with an 8-byte digest of the trimmed, lower-cased text in UTF-8, read big-endian,
    top bit cleared (0, which no id may be, becomes 1)."""
    digest = hashlib.blake2b(text.strip().lower().encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & ID_BITS or 1


# --- shared helpers ---------------------------------------------------------------------------

def _clean(values: pd.Series) -> pd.Series:
    """Cells as trimmed text, empty ones missing."""
    text = values.astype("string").str.strip()
    return text.mask((text == "").fillna(False).astype(bool))


def _text(values, index) -> pd.Series:
    return pd.Series(values, index=index, dtype="string")


def _origin(index: pd.Index) -> pd.Series:
    """Each row's own position in the file (adapters that keep the file's rows one to one)."""
    return pd.Series(index, index=index, dtype="int64")


def _stable_ids(values: pd.Series) -> pd.Series:
    return _text([str(stable_id(v)) if pd.notna(v) else pd.NA for v in values], values.index)


def _catalogue_costs(conn: Connection, skus: pd.Series) -> pd.Series:
    """Each SKU's catalogue cost as text (missing for unknown SKUs): an order line's unit_cost."""
    costs = dict(conn.execute(select(Product.sku, Product.cost)).all())
    return _text([repr(float(costs[s])) if pd.notna(s) and s in costs else pd.NA for s in skus], skus.index)


def _read_toml(path: Path, export: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ImportError_(f"{export.name}: {path.name} is not readable TOML ({exc})") from None


def _keys(table: dict, allowed, where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ImportError_(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(allowed)}")


def _scalar(value, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value).strip()
    raise ImportError_(f"{where}: {value!r} is not a text or number")


def _lookup(table, where: str) -> dict[str, str]:
    """A TOML table of text -> text, its keys case-folded for matching."""
    if not isinstance(table, dict):
        raise ImportError_(f"{where} must be a table of names and values")
    return {str(k).strip().casefold(): _scalar(v, f"{where} {k}") for k, v in table.items()}


# --- Shopify --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShopifyOptions:
    """shopify.toml, lookups case-folded (see the module docstring)."""

    warehouse_id: str | None = None
    default_channel: str = "organic"
    channels: dict[str, str] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=dict)
    default_category: str = "other"
    categories: dict[str, str] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)


def shopify_options(export: Path) -> ShopifyOptions:
    """The options in shopify.toml next to `export` (defaults when there is none)."""
    path = Path(export).with_name(SHOPIFY_OPTIONS)
    if not path.is_file():
        return ShopifyOptions()
    where = f"{export.name}: {path.name}"
    raw = _read_toml(path, export)
    _keys(raw, ("orders", "products", "locations"), where)
    orders, products = raw.get("orders", {}), raw.get("products", {})
    for section, table in (("orders", orders), ("products", products)):
        if not isinstance(table, dict):
            raise ImportError_(f"{where}: [{section}] must be a table")
    _keys(orders, ("warehouse_id", "default_channel", "channels", "regions"), f"{where} [orders]")
    _keys(products, ("default_category", "categories"), f"{where} [products]")
    base = ShopifyOptions()
    return ShopifyOptions(
        warehouse_id=_scalar(orders["warehouse_id"], f"{where} warehouse_id") if "warehouse_id" in orders else None,
        default_channel=_scalar(orders.get("default_channel", base.default_channel), f"{where} default_channel"),
        channels=_lookup(orders.get("channels", {}), f"{where} [orders.channels]"),
        regions=_lookup(orders.get("regions", {}), f"{where} [orders.regions]"),
        default_category=_scalar(products.get("default_category", base.default_category), f"{where} default_category"),
        categories=_lookup(products.get("categories", {}), f"{where} [products.categories]"),
        locations=_lookup(raw.get("locations", {}), f"{where} [locations]"),
    )


def _header_key(name) -> str:
    """A header as matched: lower-case, without a trailing note such as "(not editable)"."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", str(name)).strip().casefold()


def _shopify_table(table: pd.DataFrame, path: Path, what: str, required: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """The export's cells (trimmed, empty as missing) under matched header names; `required`
    maps each needed column (as matched) to the headers Shopify has written for it."""
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        key = _header_key(column)
        if key not in out:  # "On hand (current)" before "On hand (new)": the first wins
            out[key] = _clean(table[column])
    missing = []
    for name, headers in required.items():
        found = next((_header_key(h) for h in headers if _header_key(h) in out), None)
        if found is None:
            missing.append(" or ".join(headers))
        elif found != name:
            out[name] = out[found]
    if missing:
        raise ImportError_(f"{path.name}: not a Shopify {what} export: no column {', '.join(missing)}")
    return out


def _column(t: pd.DataFrame, name: str) -> pd.Series:
    return t[name] if name in t else _text([pd.NA] * len(t), t.index)


def _warehouses(conn: Connection) -> dict[str, tuple[str, str]]:
    """warehouse_id -> (name, region)."""
    return {w: (n, r) for w, n, r in conn.execute(select(Warehouse.warehouse_id, Warehouse.name, Warehouse.region))}


def _location_warehouse(location, options: ShopifyOptions, warehouses: dict) -> str | None:
    """The warehouse a Shopify location names: [locations], its slug as an id, or its name."""
    if pd.isna(location):
        return None
    key = str(location).strip().casefold()
    if key in options.locations:
        return options.locations[key]
    slug = re.sub(r"[^0-9a-z]+", "-", key).strip("-")
    for warehouse_id, (name, _region) in warehouses.items():
        if warehouse_id.casefold() in (key, slug) or name.strip().casefold() == key:
            return warehouse_id
    return None


def _translate_shopify_orders(options: ShopifyOptions, conn: Connection, table: pd.DataFrame, path: Path) -> Translated:
    t = _shopify_table(table, path, "orders", {
        "name": ("Name",), "created at": ("Created at",), "financial status": ("Financial Status",),
        "lineitem quantity": ("Lineitem quantity",), "lineitem price": ("Lineitem price",),
        "lineitem sku": ("Lineitem sku",)})
    name = t["name"]
    order_fields = [c for c in t.columns if not c.startswith("lineitem ") and c != "name"]
    if order_fields and name.notna().any():
        t[order_fields] = t.groupby(name, sort=False)[order_fields].ffill()
    check = _Checker(t)
    check.flag(name.isna(), "Name is missing")
    sku = t["lineitem sku"]
    check.flag(sku.isna(), "Lineitem sku is missing: a line without a SKU (a tip, a custom item) matches no product")

    digits = name.str.replace(r"\D+", "", regex=True)
    order_id = _column(t, "id").fillna(digits.mask((digits == "").fillna(False).astype(bool)))
    phone = _column(t, "phone").str.replace(r"\D+", "", regex=True)
    phone = phone.mask((phone == "").fillna(False).astype(bool))
    who = _column(t, "email").fillna("phone:" + phone).fillna("order:" + name)
    channels = set(conn.execute(select(Channel.channel)).scalars())
    channel = [options.default_channel if pd.isna(s) else options.channels.get(s.casefold(), s if s in channels
               else options.default_channel) for s in _column(t, "source")]

    warehouses = _warehouses(conn)
    fallback = options.warehouse_id or (next(iter(warehouses)) if len(warehouses) == 1 else None)
    warehouse = [_location_warehouse(loc, options, warehouses) or fallback for loc in _column(t, "location")]
    warehouse = _text([w if w else pd.NA for w in warehouse], t.index)
    check.flag(warehouse.isna(), f"no warehouse: Shopify orders name none and the catalogue has {len(warehouses)}; "
                                 f"set warehouse_id under [orders] in {SHOPIFY_OPTIONS} next to the export")
    province = _column(t, "shipping province name")
    for other in ("shipping province", "billing province name", "billing province"):
        province = province.fillna(_column(t, other))
    region = _text([options.regions.get(p.casefold(), p) if pd.notna(p)
                    else (warehouses[w][1] if pd.notna(w) and w in warehouses else pd.NA)
                    for p, w in zip(province, warehouse)], t.index)

    financial = t["financial status"].str.casefold()
    cancelled = (_column(t, "cancelled at").notna() | financial.isin(list(VOID_STATES))).astype(bool)
    paid = financial.isin(list(PAID_STATES)).fillna(False).astype(bool) & ~cancelled
    for state in financial[~cancelled & ~paid].fillna("").unique():
        check.flag(~cancelled & ~paid & (financial.fillna("") == state),
                   f"Financial Status {state or 'empty'}: neither paid nor cancelled; only paid (refunds included) "
                   "and cancelled orders are imported")
    status = _text(["cancelled" if c else "paid" if p else pd.NA for c, p in zip(cancelled, paid)], t.index)

    if "lineitem discount" in t:
        # Summed over the lines that will be imported; a line's unreadable discount is kept as
        # its order's, so that the order's lines are rejected for it.
        amounts = pd.to_numeric(t["lineitem discount"], errors="coerce").where(sku.notna())
        unreadable = (t["lineitem discount"].notna() & amounts.isna() & sku.notna()).astype(bool)
        total = amounts.fillna(0.0).groupby(name).transform("sum")
        discount = _text([repr(round(float(x), 6)) if pd.notna(x) else pd.NA for x in total], t.index)
        bad = t["lineitem discount"][unreadable].groupby(name[unreadable]).first()
        discount = discount.where(~name.isin(bad.index).fillna(False).astype(bool), name.map(bad))
    else:
        discount = _column(t, "discount amount")
    line_no = t.groupby(name).cumcount() + 1
    frame = pd.DataFrame({
        "order_id": order_id, "customer_id": _stable_ids(who), "ts": t["created at"],
        "channel": _text(channel, t.index), "region": region, "warehouse_id": warehouse, "status": status,
        "sku": sku, "qty": t["lineitem quantity"], "unit_price": t["lineitem price"], "discount": discount,
        "line_no": _text([str(int(n)) if pd.notna(n) else pd.NA for n in line_no], t.index),
        "unit_cost": _catalogue_costs(conn, sku),
    }, index=t.index)
    return Translated("orders", frame, _origin(t.index), check.problems, table)


def _translate_shopify_products(options: ShopifyOptions, conn: Connection, table: pd.DataFrame,
                                path: Path) -> Translated:
    t = _shopify_table(table, path, "products", {
        "handle": ("Handle", "URL handle"), "title": ("Title",), "variant sku": ("Variant SKU", "SKU"),
        "variant price": ("Variant Price", "Price")})
    handle = t["handle"]
    product_fields = [c for c in ("title", "vendor", "type", "product category") if c in t]
    if product_fields and handle.notna().any():
        t[product_fields] = t.groupby(handle, sort=False)[product_fields].ffill()
    # Shopify adds a row per extra product image with no variant on it: nothing to import.
    variant = (t["variant sku"].notna() | t["variant price"].notna()).astype(bool)
    skipped = int((~variant).sum())
    t = t[variant]
    check = _Checker(t)
    check.flag(t["handle"].isna(), "Handle is missing")
    check.flag(t["variant sku"].isna(), "Variant SKU is missing: the cockpit keys products by SKU")

    options_text = [" / ".join(v for v in values if pd.notna(v) and v != "Default Title")
                    for values in zip(*(_column(t, f"option{i} value") for i in (1, 2, 3)))]
    name = _text([title if pd.isna(title) or not extra else f"{title} - {extra}"
                  for title, extra in zip(t["title"], options_text)], t.index)

    def category(kind, taxonomy) -> str:
        leaf = taxonomy.split(">")[-1].strip() if pd.notna(taxonomy) else None
        for candidate in (kind, taxonomy, leaf):
            if pd.notna(candidate) and candidate and candidate.casefold() in options.categories:
                return options.categories[candidate.casefold()]
        text = kind if pd.notna(kind) else leaf
        return text.casefold() if text else options.default_category

    suppliers = {}
    for supplier_id, supplier_name in conn.execute(select(Supplier.supplier_id, Supplier.name)):
        suppliers.setdefault(supplier_name.strip().casefold(), supplier_id)
        suppliers[supplier_id.casefold()] = supplier_id
    frame = pd.DataFrame({
        "sku": t["variant sku"], "name": name,
        "category": _text([category(k, c) for k, c in zip(_column(t, "type"), _column(t, "product category"))],
                          t.index),
        "price": t["variant price"], "cost": _column(t, "cost per item"),
        "supplier_id": _text([suppliers.get(v.casefold(), pd.NA) if pd.notna(v) else pd.NA
                              for v in _column(t, "vendor")], t.index),
    }, index=t.index)
    return Translated("products", frame, _origin(t.index), check.problems, table, skipped)


# Columns of an inventory export that name the variant; in the one-column-per-location export,
# every other column is a location.
INVENTORY_FIELDS = {"handle", "title", "option1 name", "option1 value", "option2 name", "option2 value",
                    "option3 name", "option3 value", "sku", "barcode", "hs code", "coo"}


def _translate_shopify_inventory(options: ShopifyOptions, conn: Connection, table: pd.DataFrame,
                                 path: Path) -> Translated:
    t = _shopify_table(table, path, "inventory", {"sku": ("SKU",)})
    if "location" in t:
        quantity = next((c for c in ("available", "on hand") if c in t), None)
        if quantity is None:
            raise ImportError_(f"{path.name}: not a Shopify inventory export: a Location column but no Available or "
                               "On hand column")
        rows = pd.DataFrame({"origin": t.index, "sku": t["sku"], "location": t["location"], "qty": t[quantity]})
    else:
        places = [c for c in table.columns if _header_key(c) not in INVENTORY_FIELDS]
        if not places:
            raise ImportError_(f"{path.name}: not a Shopify inventory export: no Location column and no column per "
                               "location")
        rows = pd.concat([pd.DataFrame({"origin": t.index, "sku": t["sku"], "location": str(place).strip(),
                                        "qty": _clean(table[place])}) for place in places])
        rows = rows.sort_values("origin", kind="stable")
    stocked = ~rows["qty"].str.casefold().eq("not stocked").fillna(False).astype(bool)
    skipped = int((~stocked).sum())
    rows = rows[stocked].reset_index(drop=True)
    qty = rows["qty"].astype("string")
    oversold = (pd.to_numeric(qty, errors="coerce") < 0).fillna(False).astype(bool)
    warehouses = _warehouses(conn)
    warehouse = _text([_location_warehouse(loc, options, warehouses) or pd.NA for loc in rows["location"]], rows.index)
    frame = pd.DataFrame({"sku": rows["sku"].astype("string"), "warehouse_id": warehouse,
                          "on_hand": qty.mask(oversold, "0")}, index=rows.index)
    check = _Checker(frame)
    check.flag(frame["sku"].isna(), "SKU is missing")
    for location in rows["location"][warehouse.isna()].fillna("").unique():
        check.flag(warehouse.isna() & (rows["location"].fillna("") == location),
                   f"Location {location or '(empty)'!r} names no warehouse: add it under [locations] in "
                   f"{SHOPIFY_OPTIONS} next to the export")
    return Translated("stock", frame, rows["origin"].astype(int), check.problems, table, skipped)


SHOPIFY_EXPORTS = (
    ("shopify_orders", "orders", _translate_shopify_orders),
    ("shopify_products", "products", _translate_shopify_products),
    ("shopify_inventory", "stock", _translate_shopify_inventory),
)


# --- generic mapping ------------------------------------------------------------------------

@dataclass(frozen=True)
class Mapping:
    """A <name>.mapping.toml (see the module docstring): value lookups case-folded."""

    path: Path
    kind: str
    columns: dict[str, str]  # our column -> their column
    constants: dict[str, str]
    values: dict[str, dict[str, str]]
    time_format: str | None = None
    timezone: ZoneInfo | None = None
    hashed: tuple[str, ...] = ()


def load_mapping(path: Path, export: Path) -> Mapping:
    """Read and check a mapping file against its kind's columns; raises ImportError_ naming
    the export and the mapping file."""
    where = f"{export.name}: {path.name}"
    raw = _read_toml(path, export)
    _keys(raw, ("kind", "columns", "constants", "values", "time_format", "timezone", "hashed"), where)
    kind = raw.get("kind")
    if kind not in TARGETS:
        raise ImportError_(f"{where}: kind must be one of {', '.join(TARGETS)}, not {kind!r}")
    required, optional = TARGETS[kind]
    ours = required + optional
    columns = raw.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) and v.strip() for v in columns.values()):
        raise ImportError_(f"{where}: [columns] must map our column names to the export's column names (text)")
    constants = {k: _scalar(v, f"{where} [constants] {k}") for k, v in _table(raw, "constants", where).items()}
    values = {k: _lookup(v, f"{where} [values.{k}]") for k, v in _table(raw, "values", where).items()}
    hashed = raw.get("hashed", [])
    if not isinstance(hashed, list) or not all(isinstance(h, str) for h in hashed):
        raise ImportError_(f"{where}: hashed must be a list of our column names")
    for section, names in (("[columns]", columns), ("[constants]", constants), ("[values]", values),
                           ("hashed", hashed)):
        unknown = [n for n in names if n not in ours]
        if unknown:
            raise ImportError_(f"{where}: {section} names {', '.join(map(repr, unknown))}: no such column in the "
                               f"{kind} format (its columns: {', '.join(ours)})")
    both = sorted(set(columns) & set(constants))
    if both:
        raise ImportError_(f"{where}: {', '.join(both)} is both in [columns] and in [constants]; keep one")
    missing = [c for c in required if c not in columns and c not in constants]
    if missing:
        raise ImportError_(f"{where}: required column(s) {', '.join(missing)} of the {kind} format are neither in "
                           "[columns] nor in [constants]")
    unmapped = [h for h in hashed if h not in columns]
    if unmapped:
        raise ImportError_(f"{where}: hashed column(s) {', '.join(unmapped)} are not in [columns]")
    time_format = raw.get("time_format")
    if time_format is not None and (not isinstance(time_format, str) or "%" not in time_format):
        raise ImportError_(f"{where}: time_format must be strptime codes such as \"%Y/%m/%d %H:%M:%S\"")
    zone = None
    if "timezone" in raw:
        try:
            zone = ZoneInfo(str(raw["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise ImportError_(f"{where}: timezone {raw['timezone']!r} is not an IANA timezone such as "
                               "Asia/Shanghai") from None
    return Mapping(path, kind, {k: v.strip() for k, v in columns.items()}, constants, values, time_format, zone,
                   tuple(hashed))


def _table(raw: dict, key: str, where: str) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ImportError_(f"{where}: [{key}] must be a table")
    return value


def _times(values: pd.Series, time_format: str | None, zone: ZoneInfo | None) -> pd.Series:
    """Times as ISO text the importer reads: with time_format, parsed by it (no match: missing,
    hence rejected); naive times placed in `zone` (else left naive: the shop's timezone)."""
    if time_format:
        stamps = pd.to_datetime(values, format=time_format, errors="coerce", utc="%z" in time_format)
        if zone is not None and stamps.dt.tz is None:
            stamps = stamps.dt.tz_localize(zone, nonexistent="NaT", ambiguous="NaT")
        return _text([s.isoformat() if pd.notna(s) else pd.NA for s in stamps], values.index)
    out = values.copy()
    for index, raw in values.dropna().items():
        if raw.lstrip("-").isdigit() or not any(ch.isdigit() for ch in raw):
            continue  # epoch seconds, or no time at all: the importer decides
        stamp = pd.to_datetime(raw, errors="coerce")
        if pd.notna(stamp) and stamp.tzinfo is None and zone is not None:
            stamp = stamp.tz_localize(zone, nonexistent="NaT", ambiguous="NaT")
        if pd.notna(stamp):
            out[index] = stamp.isoformat()
    return out


def _translate_mapped(mapping: Mapping, conn: Connection, table: pd.DataFrame, path: Path) -> Translated:
    headers: dict[str, object] = {}
    for column in table.columns:
        headers.setdefault(str(column).strip().casefold(), column)
    absent = [f"{theirs!r} (for {ours})" for ours, theirs in mapping.columns.items()
              if theirs.casefold() not in headers]
    if absent:
        raise ImportError_(f"{path.name}: {mapping.path.name} names column(s) {', '.join(absent)} that the export "
                           f"does not have; its columns are {', '.join(str(c) for c in table.columns)}")
    frame = pd.DataFrame(index=table.index)
    for ours, theirs in mapping.columns.items():
        frame[ours] = _clean(table[headers[theirs.casefold()]])
    for ours, value in mapping.constants.items():
        frame[ours] = _text([value] * len(frame), frame.index)
    for ours, lookup in mapping.values.items():
        frame[ours] = _text([lookup.get(v.casefold(), v) if pd.notna(v) else pd.NA for v in frame[ours]], frame.index)
    for ours in mapping.hashed:
        frame[ours] = _stable_ids(frame[ours])
    if mapping.time_format or mapping.timezone:
        for ours in TIME_COLUMNS[mapping.kind]:
            if ours in frame:
                frame[ours] = _times(frame[ours], mapping.time_format, mapping.timezone)
    if mapping.kind == "orders" and "unit_cost" not in frame:
        frame["unit_cost"] = _catalogue_costs(conn, frame["sku"])
    return Translated(mapping.kind, frame, _origin(frame.index),
                      pd.Series("", index=frame.index, dtype="object"), table)
