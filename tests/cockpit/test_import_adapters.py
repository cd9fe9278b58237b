"""Other platforms' exports (Shopify's, and any export with a mapping file) go through the same
checks as our own: good rows kept, bad ones rejected with the original row number, a file never
applied twice, a broken mapping refused whole."""
import csv
import hashlib
import io
import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, select

from cockpit.db.schema import TABLES, ImportedFile, ImportReject, Order, OrderLine, Product, StockLevel
from cockpit.ingest.adapters import stable_id
from cockpit.ingest.dropfolder import ImportError_, import_file, import_pending
from cockpit.ingest.simulator_source import write_catalog
from data import simulator

TZ = ZoneInfo("Asia/Shanghai")
EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples"
HISTORY_START = int(pd.Timestamp("2026-10-01T00:00:00Z").timestamp()) // 60
PRODUCTS, INVENTORY = "shopify_products_example.csv", "shopify_inventory_example.csv"
ORDERS, MARKETPLACE = "shopify_orders_example.csv", "marketplace_orders_example.csv"


@pytest.fixture
def demo(engine):
    """The demo shop's reference data (warehouses, channels, suppliers, its own products and
    opening stock), as `python -m cockpit seed` writes it before the history."""
    with engine.begin() as conn:
        write_catalog(conn, simulator.build_catalog(42, HISTORY_START))
    return engine


@pytest.fixture
def folder(tmp_path):
    """A drop folder holding a copy of data/examples."""
    drop = tmp_path / "drop"
    shutil.copytree(EXAMPLES, drop)
    return drop


def load(engine, folder: Path, *names: str):
    reports = []
    for name in names:
        with engine.begin() as conn:
            reports.append(import_file(conn, folder / name, TZ))
    return reports[-1] if len(reports) == 1 else reports


def counts(engine) -> dict[str, int]:
    names = ("products", "orders", "order_lines", "stock_levels", "stock_movements", "import_rejects", "imported_files")
    with engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(TABLES[name])).scalar() for name in names}


def edited(folder: Path, name: str, row_number: int, column: str, value: str, new_name: str | None = None) -> Path:
    """A copy of an export with one cell changed (row_number as a spreadsheet counts: header = 1)."""
    with open(folder / name, newline="", encoding="utf-8") as source:
        rows = list(csv.reader(source))
    rows[row_number - 1][rows[0].index(column)] = value
    path = folder / (new_name or name.replace("_example", "_edited"))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    mapping = folder / name.replace(".csv", ".mapping.toml")
    if mapping.exists():
        shutil.copy(mapping, path.with_name(path.stem + ".mapping.toml"))
    return path


def rejects(engine, path: Path) -> list[tuple[int, str, dict]]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with engine.connect() as conn:
        rows = conn.execute(select(ImportReject.row_number, ImportReject.reason, ImportReject.row_json)
                            .where(ImportReject.sha256 == digest).order_by(ImportReject.row_number)).all()
    return [(n, reason, json.loads(cells)) for n, reason, cells in rows]


# --- the examples, in the order the drop folder takes them ------------------------------------

def test_the_example_set_imports_into_the_demo_shop_through_the_drop_folder_catalogue_first(demo, folder):
    with demo.begin() as conn:
        reports = import_pending(conn, folder, TZ)
    seen = [(Path(r.path).name, r.kind, r.adapter, r.accepted, r.rejected, r.skipped) for r in reports]
    assert seen == [
        (PRODUCTS, "products", "shopify_products", 6, 1, 1),
        (MARKETPLACE, "orders", "mapped_orders", 4, 1, 0),
        (ORDERS, "orders", "shopify_orders", 6, 2, 0),
        (INVENTORY, "stock", "shopify_inventory", 7, 1, 1),
    ]
    with demo.connect() as conn:
        kinds = dict(conn.execute(select(ImportedFile.path, ImportedFile.kind)).all())
    assert {Path(p).name: k for p, k in kinds.items()}[MARKETPLACE] == "mapped_orders"


def test_shopify_products_become_catalogue_products_with_their_prices_and_suppliers(demo, folder):
    report = load(demo, folder, PRODUCTS)
    assert (report.accepted, report.rejected, report.skipped) == (6, 1, 1)
    assert report.reasons == ["row 8: Variant SKU is missing: the cockpit keys products by SKU"]
    with demo.connect() as conn:
        rows = conn.execute(select(Product.sku, Product.name, Product.category, Product.price, Product.cost,
                                   Product.supplier_id).where(Product.sku.like("SHP-%")).order_by(Product.sku)).all()
    assert [tuple(r) for r in rows] == [
        ("SHP-LAMP-01", "Beichen desk lamp", "electronics", 199.0, 96.0, "SUP-SZ-ELEC"),
        ("SHP-MAT-LNG", "Tianlan yoga mat - Long", "sports", 149.0, 0.0, None),
        ("SHP-MAT-STD", "Tianlan yoga mat - Standard", "sports", 129.0, 52.0, None),
        ("SHP-MUG-BLU", "Lanmu ceramic mug - Blue", "home", 59.0, 21.5, "SUP-NB-HOME"),
        ("SHP-MUG-WHT", "Lanmu ceramic mug - White", "home", 59.0, 21.5, "SUP-NB-HOME"),
        ("SHP-TEA-250", "Yunshan green tea 250 g", "food", 89.0, 38.0, "SUP-YN-TEA"),
    ]


def test_a_later_products_export_updates_known_products_and_keeps_what_it_does_not_say(demo, folder):
    load(demo, folder, PRODUCTS)
    (folder / "shopify_products_sale.csv").write_text(
        "Handle,Title,Type,Variant SKU,Variant Price\nyunshan-green-tea,Yunshan green tea (11.11),,SHP-TEA-250,79.90\n")
    report = load(demo, folder, "shopify_products_sale.csv")
    assert (report.accepted, report.rejected) == (1, 0)
    with demo.connect() as conn:
        row = conn.execute(select(Product.name, Product.category, Product.price, Product.cost, Product.supplier_id)
                           .where(Product.sku == "SHP-TEA-250")).one()
    assert tuple(row) == ("Yunshan green tea (11.11)", "other", 79.9, 38.0, "SUP-YN-TEA")


def test_shopify_orders_keep_multi_line_cancelled_and_refunded_orders_with_their_amounts(demo, folder):
    load(demo, folder, PRODUCTS)
    report = load(demo, folder, ORDERS)
    assert (report.accepted, report.rejected) == (6, 2)
    assert report.reasons == [
        "row 6: Lineitem sku is missing: a line without a SKU (a tip, a custom item) matches no product",
        "row 8: Financial Status pending: neither paid nor cancelled; only paid (refunds included) and cancelled "
        "orders are imported",
    ]
    with demo.connect() as conn:
        orders = {r.order_id: r for r in conn.execute(select(Order).where(Order.order_id < 10**13))}
        lines = conn.execute(select(OrderLine.order_id, OrderLine.line_no, OrderLine.sku, OrderLine.qty,
                                    OrderLine.unit_price, OrderLine.unit_cost)
                             .where(OrderLine.order_id.in_(list(orders))).order_by(OrderLine.order_id,
                                                                                   OrderLine.line_no)).all()
    assert {i: (o.amount, o.status) for i, o in orders.items()} == {
        5981234560001: (pytest.approx(186.3), "paid"),  # 2 x 59 + 89 - (11.80 + 8.90)
        5981234560002: (129.0, "cancelled"),
        5981234560003: (149.0, "paid"),  # refunded later: the sale happened; the tip is not goods
        5981234560004: (267.0, "paid"),
        5981234560006: (118.0, "paid"),
    }
    assert [tuple(r) for r in lines if r.order_id == 5981234560001] == [
        (5981234560001, 1, "SHP-MUG-BLU", 2, 59.0, 21.5), (5981234560001, 2, "SHP-TEA-250", 1, 89.0, 38.0)]
    assert len(lines) == 6
    first, cancelled, pos, again = (orders[5981234560000 + n] for n in (1, 2, 4, 6))
    assert first.discount == pytest.approx(20.7)
    assert pd.Timestamp(first.ts_utc, unit="s", tz="UTC") == pd.Timestamp("2026-11-10T16:03:12Z")
    assert (first.channel, first.region, first.warehouse_id) == ("organic", "East", "WH-EAST")
    assert (cancelled.region, cancelled.cancelled_ts_utc, cancelled.paid_ts_utc) == ("South", cancelled.ts_utc, None)
    # The point-of-sale order names its location (a warehouse) and no address.
    assert (pos.channel, pos.region, pos.warehouse_id) == ("organic", "South", "WH-SOUTH")
    assert (again.channel, again.region) == ("community", "Central")
    # The same e-mail, differently written, is the same customer.
    assert first.customer_id == again.customer_id == stable_id("li.wei@example.com")
    assert pos.customer_id == stable_id("order:#1004")


def test_a_bare_shopify_orders_export_takes_order_ids_from_names_and_keys_guests_by_order(demo, folder):
    load(demo, folder, PRODUCTS)
    (folder / "shopify_orders_bare.csv").write_text(
        "Name,Created at,Financial Status,Discount Amount,Lineitem quantity,Lineitem price,Lineitem sku\n"
        "#2001,2026-11-11 08:00:00 +0800,paid,5.00,1,59.00,SHP-MUG-BLU\n"
        "#2001,,,,2,89.00,SHP-TEA-250\n"
        "#2002,2026-11-11 08:30:00 +0800,authorized,,1,129.00,SHP-MAT-STD\n")
    report = load(demo, folder, "shopify_orders_bare.csv")
    assert (report.accepted, report.rejected) == (3, 0)
    with demo.connect() as conn:
        orders = {o.order_id: o for o in conn.execute(select(Order).where(Order.order_id.in_([2001, 2002])))}
    assert {i: (o.amount, o.discount, o.status) for i, o in orders.items()} == {
        2001: (232.0, 5.0, "paid"), 2002: (129.0, 0.0, "paid")}
    assert orders[2001].customer_id == stable_id("order:#2001")
    # No address: the region of the warehouse the orders ship from.
    assert (orders[2001].warehouse_id, orders[2001].region) == ("WH-EAST", "East")


def test_the_inventory_export_sets_on_hand_per_warehouse(demo, folder):
    load(demo, folder, PRODUCTS)
    report = load(demo, folder, INVENTORY)
    assert (report.accepted, report.rejected, report.skipped) == (7, 1, 1)
    assert report.reasons == ["row 10: Location 'Pop-up store Shanghai' names no warehouse: add it under [locations] "
                              "in shopify.toml next to the export"]
    with demo.connect() as conn:
        levels = dict(((s, w), o) for s, w, o in conn.execute(
            select(StockLevel.sku, StockLevel.warehouse_id, StockLevel.on_hand).where(StockLevel.sku.like("SHP-%"))))
    assert levels == {
        ("SHP-MUG-BLU", "WH-EAST"): 38, ("SHP-MUG-BLU", "WH-SOUTH"): 12, ("SHP-MUG-WHT", "WH-EAST"): 25,
        ("SHP-TEA-250", "WH-EAST"): 120, ("SHP-TEA-250", "WH-NORTH"): 30, ("SHP-MAT-STD", "WH-EAST"): 15,
        ("SHP-MAT-LNG", "WH-EAST"): 0,  # oversold: Available -2
    }


def test_the_one_column_per_location_inventory_export_is_read_too(demo, folder):
    load(demo, folder, PRODUCTS)
    (folder / "shopify_inventory_wide.csv").write_text(
        "Handle,Title,Option1 Name,Option1 Value,SKU,Kunshan regional DC,Guangzhou flagship,Nowhere\n"
        "lanmu-ceramic-mug,Lanmu ceramic mug,Colour,Blue,SHP-MUG-BLU,7,not stocked,1\n"
        "yunshan-green-tea,Yunshan green tea 250 g,Title,Default Title,SHP-TEA-250,9,4,not stocked\n")
    report = load(demo, folder, "shopify_inventory_wide.csv")
    assert (report.accepted, report.rejected, report.skipped) == (3, 1, 2)
    assert report.reasons == ["row 2: Location 'Nowhere' names no warehouse: add it under [locations] in shopify.toml "
                              "next to the export"]
    with demo.connect() as conn:
        levels = dict(((s, w), o) for s, w, o in conn.execute(
            select(StockLevel.sku, StockLevel.warehouse_id, StockLevel.on_hand).where(StockLevel.sku.like("SHP-%"))))
    assert levels == {("SHP-MUG-BLU", "WH-EAST"): 7, ("SHP-TEA-250", "WH-EAST"): 9, ("SHP-TEA-250", "WH-SOUTH"): 4}


def test_a_marketplace_export_is_read_through_its_mapping_file(demo, folder):
    load(demo, folder, PRODUCTS)
    report = load(demo, folder, MARKETPLACE)
    assert (report.kind, report.adapter, report.accepted, report.rejected) == ("orders", "mapped_orders", 4, 1)
    assert report.reasons == ["row 6: status must be paid or cancelled"]  # 待付款: not paid yet
    with demo.connect() as conn:
        orders = {r.order_id: r for r in conn.execute(select(Order).where(Order.order_id > 6 * 10**18))}
        lines = conn.execute(select(OrderLine.order_id, OrderLine.sku, OrderLine.qty)
                             .where(OrderLine.order_id.in_(list(orders))).order_by(OrderLine.line_no)).all()
    assert {i: (o.amount, o.status, o.region) for i, o in orders.items()} == {
        6938472615093847121: (168.0, "paid", "East"),  # 2 x 89 - 10
        6938472615093847122: (113.0, "paid", "East"),  # 59 + 59 - 5 (the order's discount, on each line)
        6938472615093847123: (199.0, "cancelled", "North"),
    }
    assert [(s, q) for o, s, q in lines if o == 6938472615093847122] == [("SHP-MUG-BLU", 1), ("SHP-MUG-WHT", 1)]
    first = orders[6938472615093847121]
    assert (first.channel, first.warehouse_id, first.customer_id) == ("live_stream", "WH-EAST", stable_id("小鹿爱喝茶"))
    assert pd.Timestamp(first.ts_utc, unit="s", tz="UTC") == pd.Timestamp("2026-11-11T12:01:33Z")


# --- bad rows, bad files ----------------------------------------------------------------------

@pytest.mark.parametrize("name, row_number, column, value, accepted, reason", [
    # The second line of the multi-line order #1001 (its order fields are blank: carried down).
    (ORDERS, 3, "Lineitem price", "abc", 5, "unit_price is not a number"),
    # After the skipped image row: still the file's own row number.
    (PRODUCTS, 5, "Variant Price", "-5", 5, "price is below 0"),
    (INVENTORY, 7, "Available (not editable)", "lots", 6, "on_hand is not a number"),
    (MARKETPLACE, 3, "下单时间", "2026-11-11 20:07", 3, "ts is not a time"),
])
def test_a_malformed_row_is_rejected_with_its_original_row_number_and_the_rest_kept(
        demo, folder, name, row_number, column, value, accepted, reason):
    if name != PRODUCTS:
        load(demo, folder, PRODUCTS)
    path = edited(folder, name, row_number, column, value)
    report = load(demo, folder, path.name)
    assert report.accepted == accepted
    assert f"row {row_number}: {reason}" in report.reasons
    number, stored, cells = next(r for r in rejects(demo, path) if r[0] == row_number)
    assert stored == reason and cells[column] == value  # the original row, as the file has it


def test_a_bad_line_leaves_the_rest_of_its_multi_line_order(demo, folder):
    load(demo, folder, PRODUCTS)
    load(demo, folder, edited(folder, ORDERS, 3, "Lineitem price", "abc").name)
    with demo.connect() as conn:
        assert conn.execute(select(Order.amount).where(Order.order_id == 5981234560001)).scalar() == pytest.approx(97.3)
        assert conn.execute(select(OrderLine.sku).where(OrderLine.order_id == 5981234560001)).scalars().all() == [
            "SHP-MUG-BLU"]


@pytest.mark.parametrize("name", [PRODUCTS, INVENTORY, ORDERS, MARKETPLACE])
def test_importing_the_same_export_twice_changes_nothing(demo, folder, name):
    if name != PRODUCTS:
        load(demo, folder, PRODUCTS)
    first = load(demo, folder, name)
    before = counts(demo)
    again = load(demo, folder, name)
    assert again.duplicate_file and not first.duplicate_file
    assert counts(demo) == before


def test_shopify_orders_without_a_warehouse_are_rejected_unless_their_location_names_one(demo, folder):
    load(demo, folder, PRODUCTS)
    (folder / "shopify.toml").write_text('[locations]\n"Guangzhou flagship" = "WH-SOUTH"\n')
    report = load(demo, folder, ORDERS)
    assert report.accepted == 1  # the point-of-sale order: its location is a warehouse
    assert all("no warehouse: Shopify orders name none and the catalogue has 6" in r
               for r in report.reasons if not r.startswith(("row 6:", "row 8:")))


@pytest.mark.parametrize("mapping, message", [
    ('kind = "orders"\nhashed = ["customer_id"]\n[columns]\norder_id = "订单编号"\ncustomer_id = "买家昵称"\n'
     'ts = "下单时刻"\nstatus = "订单状态"\nsku = "商家编码"\nunit_price = "商品单价"\nqty = "购买数量"\n'
     'region = "收货省份"\n[constants]\nchannel = "live_stream"\nwarehouse_id = "WH-EAST"\n',
     "names column(s) '下单时刻' (for ts) that the export does not have; its columns are 订单编号, 子订单编号"),
    ('kind = "orders"\n[columns]\norder_id = "订单编号"\nbuyer = "买家昵称"\n',
     "[columns] names 'buyer': no such column in the orders format"),
    ('kind = "orders"\n[columns]\norder_id = "订单编号"\n',
     "required column(s) customer_id, ts, channel, region, warehouse_id, status, sku, qty, unit_price of the orders "
     "format are neither in [columns] nor in [constants]"),
    ('kind = "returns"\n', "kind must be one of orders, stock, ad_spend, service_contacts, products"),
    ('kind = "orders"\n[columns\n', "is not readable TOML"),
    ('kind = "stock"\ntimezone = "Mars/Olympus"\n[columns]\nsku = "商家编码"\nwarehouse_id = "x"\non_hand = "y"\n',
     "timezone 'Mars/Olympus' is not an IANA timezone"),
])
def test_a_broken_mapping_file_refuses_the_export_whole(demo, folder, mapping, message):
    load(demo, folder, PRODUCTS)
    (folder / "marketplace_orders_example.mapping.toml").write_text(mapping, encoding="utf-8")
    before = counts(demo)
    with demo.begin() as conn, pytest.raises(ImportError_) as refused:
        import_file(conn, folder / MARKETPLACE, TZ)
    assert str(refused.value).startswith(f"{MARKETPLACE}: marketplace_orders_example.mapping.toml")
    assert message in str(refused.value)
    assert counts(demo) == before


@pytest.mark.parametrize("name, content, message", [
    ("shopify_orders_x.csv", "order_id,customer_id\n1,2\n",
     "shopify_orders_x.csv: not a Shopify orders export: no column Name, Created at, Financial Status"),
    ("shopify_products_x.csv", "Handle,Title\nmug,Mug\n",
     "not a Shopify products export: no column Variant SKU or SKU, Variant Price or Price"),
    ("shopify_inventory_x.csv", "SKU,Location,Incoming\nA,B,1\n", "a Location column but no Available or On hand"),
    ("marketplace.csv", "a,b\n1,2\n", "cannot tell the export's kind"),
])
def test_a_file_no_adapter_can_read_is_refused_whole_with_a_clear_message(demo, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with demo.begin() as conn, pytest.raises(ImportError_, match=message):
        import_file(conn, path, TZ)


def test_an_unknown_key_in_shopify_options_refuses_the_export(demo, folder):
    (folder / "shopify.toml").write_text('[orders]\nwarehouse = "WH-EAST"\n')
    refused = r"shopify.toml \[orders\]: unknown key\(s\) warehouse; known: warehouse_id"
    with demo.begin() as conn, pytest.raises(ImportError_, match=refused):
        import_file(conn, folder / ORDERS, TZ)


@pytest.mark.parametrize("text", ["li.wei@example.com", "小鹿爱喝茶", "", "x" * 1000])
def test_stable_ids_are_positive_63_bit_and_ignore_case_and_spaces(text):
    value = stable_id(text)
    assert 1 <= value < 2**63
    assert stable_id(f"  {text.upper()} ") == value
