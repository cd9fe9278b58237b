"""Table downloads (cockpit.ui.exports): the file holds what the page shows, under the shown
headers, read back with the tools people open it with (pandas / openpyxl for Excel)."""
import io

import pandas as pd
import streamlit as st

from cockpit.ui import exports


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "sku": ["APP-1", "雪地靴-2"], "warehouse_id": ["WH-E", "WH-S"], "on_hand": [12, 0],
        "secret": ["x", "y"], "when": pd.to_datetime([1_794_000_000, 1_794_003_600], unit="s", utc=True)
        .tz_convert("Asia/Shanghai"),
    })


CONFIG = {"sku": "SKU", "warehouse_id": st.column_config.TextColumn("Warehouse"),
          "on_hand": st.column_config.NumberColumn("On hand", format="%d"), "secret": None, "missing": "Nope"}


def test_the_export_has_the_shown_headers_drops_hidden_columns_and_keeps_local_times():
    shown = exports.export_frame(frame(), CONFIG)
    assert list(shown.columns) == ["SKU", "Warehouse", "On hand", "when"]
    # 1,794,000,000 s is 2026-11-06 21:20 UTC: 05:20 the next morning in Shanghai.
    assert shown["when"].tolist() == [pd.Timestamp("2026-11-07 05:20:00"), pd.Timestamp("2026-11-07 06:20:00")]
    styled = exports.export_frame(frame().style.format(precision=1), CONFIG)  # a Styler: its data
    assert styled.equals(shown)


def test_csv_opens_with_chinese_text_intact_and_excel_reads_back_the_same_values():
    shown = exports.export_frame(frame(), CONFIG)
    raw = exports.csv_bytes(shown)
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs for UTF-8
    again = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert again["SKU"].tolist() == ["APP-1", "雪地靴-2"] and again["On hand"].tolist() == [12, 0]
    book = pd.read_excel(io.BytesIO(exports.excel_bytes(shown, "stock/levels: [today]")), sheet_name=None)
    assert list(book) == ["stocklevels today"]  # characters Excel forbids in sheet names are dropped
    sheet = book["stocklevels today"]
    assert sheet["SKU"].tolist() == ["APP-1", "雪地靴-2"] and sheet["On hand"].tolist() == [12, 0]
    assert sheet["when"].tolist() == shown["when"].tolist()


def test_a_table_drawn_in_a_loop_names_its_downloads_after_the_item():
    """Download buttons are keyed by the table's name: a table drawn once per alert or per
    experiment with a fixed name would stop the page with a duplicate-key error."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    fixed = []
    for path in [*root.glob("pages/*.py"), *root.glob("cockpit/ui/*.py")]:
        for loop in ast.walk(ast.parse(path.read_text())):
            if not isinstance(loop, (ast.For, ast.While, ast.comprehension)):
                continue
            for node in ast.walk(loop):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("table", "download_buttons")
                        and getattr(node.func.value, "id", "") == "exports"):
                    name = next((k.value for k in node.keywords if k.arg == "name"), None)
                    if not isinstance(name, ast.JoinedStr):
                        fixed.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not fixed, f"tables in loops with a fixed download name: {fixed}"
