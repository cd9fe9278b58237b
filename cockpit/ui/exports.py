"""Downloads: every table as CSV and Excel (with the headers the page shows) and every chart as
PNG, for the reports and outreach tools people copy the cockpit's numbers into."""
from __future__ import annotations

import io
from datetime import datetime

import pandas as pd
import streamlit as st

from cockpit.ui import shell
from cockpit.ui.i18n import format_currency_symbol, t

CSV_MIME = "text/csv"
EXCEL_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NAME_LIMIT = 31  # Excel's limit on a sheet name


def export_frame(data, column_config: dict | None = None) -> pd.DataFrame:
    """The table as a reader sees it: a Styler's data, columns hidden by column_config (None)
    left out and the others under their shown labels; timezone-aware times as the shop's
    local times (Excel has no timezones)."""
    frame = data.data if hasattr(data, "data") and not isinstance(data, pd.DataFrame) else data
    frame = pd.DataFrame(frame).copy()
    labels = {}
    for column, config in (column_config or {}).items():
        if column not in frame.columns:
            continue
        if config is None:
            frame = frame.drop(columns=[column])
        elif isinstance(config, str):
            labels[column] = config
        elif isinstance(config, dict) and config.get("label"):
            labels[column] = config["label"]
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_localize(None)
    return frame.rename(columns=labels)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Chinese text right when double-clicked."""
    return frame.to_csv(index=False).encode("utf-8-sig")


def excel_bytes(frame: pd.DataFrame, sheet: str) -> bytes:
    buffer = io.BytesIO()
    safe_sheet = "".join(ch for ch in sheet if ch not in "[]:*?/\\")[:SHEET_NAME_LIMIT] or "Sheet1"
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name=safe_sheet, index=False)
    return buffer.getvalue()


def file_stem(name: str) -> str:
    return f"cockpit-{name}-{datetime.now():%Y%m%d-%H%M}"


def download_buttons(data, name: str, column_config: dict | None = None, container=None) -> None:
    """CSV and Excel buttons for `data`; the files are built only when clicked."""
    if shell.is_wall():
        return
    area = (container or st).container(horizontal=True, gap="small")
    stem = file_stem(name)
    area.download_button(t("CSV"), lambda: csv_bytes(export_frame(data, column_config)), file_name=f"{stem}.csv",
                         mime=CSV_MIME, icon=":material/download:", type="tertiary", on_click="ignore",
                         key=f"export_csv_{name}")
    area.download_button(t("Excel"), lambda: excel_bytes(export_frame(data, column_config), name),
                         file_name=f"{stem}.xlsx", mime=EXCEL_MIME, icon=":material/download:", type="tertiary",
                         on_click="ignore", key=f"export_xlsx_{name}")


TRANSLATED_KEYS = ("label", "help", "display_text")  # the words of a column config a reader sees


def localized_columns(column_config: dict | None) -> dict | None:
    """The column config in this session's language: labels, help and link texts (msgids, most
    of them marked with N_ where the config is defined) through t(), and money formats written
    with ¤ given the shop currency's symbol as the language writes it."""
    if not column_config:
        return column_config
    shown = {}
    for column, config in column_config.items():
        if isinstance(config, str):
            config = t(config)
        elif isinstance(config, dict):
            config = {**config, **{key: t(config[key]) for key in TRANSLATED_KEYS if isinstance(config.get(key), str)}}
            if isinstance(config.get("type_config"), dict):
                config["type_config"] = _localized_type_config(config["type_config"])
        shown[column] = config
    return shown


def _localized_type_config(type_config: dict) -> dict:
    out = dict(type_config)
    for key in ("display_text",):
        if isinstance(out.get(key), str):
            out[key] = t(out[key])
    if isinstance(out.get("format"), str) and "¤" in out["format"]:
        out["format"] = out["format"].replace("¤", format_currency_symbol())
    return out


def table(data, *, name: str, container=None, **dataframe_args):
    """st.dataframe(data, **dataframe_args) with its CSV and Excel downloads below it; `name`
    names the files (and keys the buttons: unique per page). Labels are translated here (see
    localized_columns). Returns st.dataframe's value (the selection event of a selectable table)."""
    where = container or st
    if dataframe_args.get("column_config"):
        dataframe_args["column_config"] = localized_columns(dataframe_args["column_config"])
    shown = where.dataframe(data, **dataframe_args)
    download_buttons(data, name, dataframe_args.get("column_config"), container)
    return shown
