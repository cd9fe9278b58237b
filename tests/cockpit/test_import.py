"""Shop exports: good rows kept, bad rows rejected with their reason, the same file never applied twice."""
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, insert, select

from cockpit.db.schema import (
    AggSalesMinute, AdSpend, Campaign, Channel, ImportReject, Order, OrderLine, Product, StockLevel,
    StockMovement, Supplier, Warehouse,
)
from cockpit.ingest.dropfolder import ImportError_, import_file, import_pending
from cockpit.metrics.aggregate import rebuild_minutes

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def shop(engine):
    with engine.begin() as conn:
        conn.execute(insert(Supplier), [{"supplier_id": "S1", "name": "Acme", "lead_time_days": 5}])
        conn.execute(insert(Product), [
            {"sku": "SKU-1", "name": "Mug", "category": "home", "price": 30.0, "cost": 12.0, "supplier_id": "S1", "launched_ts_utc": 0},
            {"sku": "SKU-2", "name": "Tea", "category": "food", "price": 50.0, "cost": 20.0, "supplier_id": "S1", "launched_ts_utc": 0},
        ])
        conn.execute(insert(Warehouse), [{"warehouse_id": "WH-E", "name": "East", "region": "East", "tier": "regional"}])
        conn.execute(insert(Channel), [{"channel": "organic", "name": "Organic", "kind": "organic"},
                                       {"channel": "paid_search", "name": "Paid search", "kind": "paid"}])
        conn.execute(insert(Campaign), [{"campaign_id": "C1", "channel": "paid_search", "name": "Brand", "daily_budget": 1000.0,
                                         "roi_floor": 1.0, "status": "active", "start_ts_utc": 0}])
        conn.execute(insert(StockLevel), [{"sku": "SKU-1", "warehouse_id": "WH-E", "on_hand": 100, "safety_stock": 20,
                                           "reorder_point": 30, "lead_time_days": 5.0, "updated_ts_utc": 0}])
    return engine


ORDERS_CSV = """order_id,customer_id,ts,channel,region,warehouse_id,status,sku,qty,unit_price,campaign_id
1001,501,2026-11-11T00:03:12+08:00,paid_search,East,WH-E,paid,SKU-1,2,30,C1
1001,501,2026-11-11T00:03:12+08:00,paid_search,East,WH-E,paid,SKU-2,1,50,C1
1002,502,2026-11-11 00:04:00,organic,East,WH-E,paid,SKU-1,1,30,
1003,503,2026-11-11 00:05:00,organic,East,WH-E,paid,SKU-404,1,30,
1004,504,not-a-time,organic,East,WH-E,paid,SKU-1,1,30,
1005,505,2026-11-11 00:06:00,organic,East,WH-E,paid,SKU-1,-3,30,
1006,506,2026-11-11 00:07:00,tv,East,WH-E,shipped,SKU-1,1,30,
"""


def test_good_order_rows_are_kept_and_bad_ones_rejected_with_reasons(shop, tmp_path):
    path = tmp_path / "orders_2026-11-11.csv"
    path.write_text(ORDERS_CSV)
    with shop.begin() as conn:
        report = import_file(conn, path, TZ)
        rebuild_minutes(conn, report.write.touched_minutes)
    assert (report.accepted, report.rejected) == (3, 4)
    reasons = " | ".join(report.reasons)
    assert "row 5: unknown SKU" in reasons
    assert "row 6: ts is not a time" in reasons
    assert "row 7: qty is below 1" in reasons
    assert "row 8: unknown channel; status must be paid or cancelled" in reasons
    with shop.connect() as conn:
        orders = dict(conn.execute(select(Order.order_id, Order.amount)).all())
        assert orders == {1001: 110.0, 1002: 30.0}
        assert conn.execute(select(func.count()).select_from(OrderLine)).scalar() == 3
        # naive times are the shop's: 00:04 in Shanghai is 16:04 UTC the day before
        ts = conn.execute(select(Order.ts_utc).where(Order.order_id == 1002)).scalar()
        assert pd.Timestamp(ts, unit="s", tz="UTC") == pd.Timestamp("2026-11-10T16:04:00Z")
        assert conn.execute(select(func.sum(AggSalesMinute.gmv))).scalar() == 140.0
        assert conn.execute(select(StockLevel.on_hand).where(StockLevel.sku == "SKU-1")).scalar() == 97
        assert conn.execute(select(func.count()).select_from(ImportReject)).scalar() == 4


# pandas reads these words as the clock's time at import: an export that says "now" is broken,
# and taking it for the import's moment would put the order at a wrong, ever-changing time.
def test_words_for_the_clock_are_no_order_time(shop, tmp_path):
    header = ORDERS_CSV.splitlines()[0]
    rows = [f"{2001 + i},601,{when},organic,East,WH-E,paid,SKU-1,1,30," for i, when in
            enumerate(["now", "today", "yesterday", " Tomorrow ", "2026-11-11 00:09:00"])]
    path = tmp_path / "orders_words.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    with shop.begin() as conn:
        report = import_file(conn, path, TZ)
    assert (report.accepted, report.rejected) == (1, 4)
    assert [reason.split(": ", 1)[1] for reason in report.reasons] == ["ts is not a time"] * 4
    with shop.connect() as conn:
        assert conn.execute(select(Order.order_id)).scalars().all() == [2005]


def test_the_same_file_imported_twice_changes_nothing(shop, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV)
    with shop.begin() as conn:
        import_file(conn, path, TZ)
    with shop.begin() as conn:
        again = import_file(conn, path, TZ)
    assert again.duplicate_file
    with shop.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Order)).scalar() == 2
        assert conn.execute(select(StockLevel.on_hand).where(StockLevel.sku == "SKU-1")).scalar() == 97


def test_an_order_already_in_the_database_is_rejected_not_doubled(shop, tmp_path):
    first, second = tmp_path / "orders_a.csv", tmp_path / "orders_b.csv"
    first.write_text(ORDERS_CSV)
    second.write_text(ORDERS_CSV.splitlines()[0] + "\n" + ORDERS_CSV.splitlines()[3] + "\n")
    with shop.begin() as conn:
        import_file(conn, first, TZ)
        report = import_file(conn, second, TZ)
    assert report.rejected == 1 and "order_id already in the database" in report.reasons[0]


def test_a_stock_snapshot_sets_on_hand_through_a_movement(shop, tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text("sku,warehouse_id,on_hand,safety_stock\nSKU-1,WH-E,60,25\nSKU-2,WH-E,40,\nSKU-9,WH-E,1,\nSKU-1,WH-X,5,\n")
    with shop.begin() as conn:
        report = import_file(conn, path, TZ)
    assert (report.accepted, report.rejected) == (2, 2)
    with shop.connect() as conn:
        levels = {(s, w): (o, ss) for s, w, o, ss in conn.execute(
            select(StockLevel.sku, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.safety_stock)).all()}
        assert levels == {("SKU-1", "WH-E"): (60, 25), ("SKU-2", "WH-E"): (40, 0)}
        deltas = dict(conn.execute(select(StockMovement.sku, StockMovement.qty_delta)).all())
        assert deltas == {"SKU-1": -40, "SKU-2": 40}


def test_ad_spend_parquet_is_imported(shop, tmp_path):
    path = tmp_path / "ad_spend.parquet"
    pd.DataFrame({"campaign_id": ["C1", "C1", "C9"], "ts": ["2026-11-11T00:00:00+08:00", "2026-11-11T00:01:00+08:00", "2026-11-11T00:01:00+08:00"],
                  "spend": [12.5, 13.0, 1.0], "clicks": [10, 11, 1]}).to_parquet(path)
    with shop.begin() as conn:
        report = import_file(conn, path, TZ)
    assert (report.accepted, report.rejected) == (2, 1)
    with shop.connect() as conn:
        assert conn.execute(select(func.sum(AdSpend.spend))).scalar() == 25.5


@pytest.mark.parametrize("name, content, message", [
    ("orders.csv", "", "the file is empty"),
    ("orders.csv", "order_id,customer_id\n1,2\n", "missing required column(s) ts, channel"),
    ("returns.csv", "a\n1\n", "cannot tell the export's kind"),
    ("orders.xlsx", "x", "only .csv and .parquet"),
    ("orders.csv", "order_id,customer_id,ts,channel,region,warehouse_id,status,sku,qty,unit_price\n", "header but no rows"),
])
def test_a_file_that_cannot_be_read_is_refused_whole(shop, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with shop.begin() as conn, pytest.raises(ImportError_, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_file(conn, path, TZ)


def test_gbk_encoded_exports_are_read(shop, tmp_path):
    path = tmp_path / "orders_gbk.csv"
    path.write_bytes(ORDERS_CSV.replace("East,WH-E", "华东,WH-E").encode("gbk"))
    with shop.begin() as conn:
        report = import_file(conn, path, TZ)
    assert report.accepted == 3
    with shop.connect() as conn:
        assert set(conn.execute(select(Order.region)).scalars()) == {"华东"}


def test_the_drop_folder_imports_new_files_once_and_remembers_refused_ones(shop, tmp_path):
    (tmp_path / "orders.csv").write_text(ORDERS_CSV)
    (tmp_path / "orders_broken.csv").write_text("nonsense\n1\n")
    with shop.begin() as conn:
        reports = import_pending(conn, tmp_path, TZ)
    assert sorted(r.kind for r in reports) == ["orders", "refused"]
    with shop.begin() as conn:
        assert import_pending(conn, tmp_path, TZ) == []
    with shop.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Order)).scalar() == 2
