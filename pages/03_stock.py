"""Stock water-level: on-hand against safety stock and reorder point per SKU and warehouse, days
of cover, stock-outs, sell-through, turnover, slow movers, pending replenishments; a SKU
drill-down with the one-click replenish."""
import streamlit as st

from cockpit.ui import action_dialogs, charts, exports, loaders, product_charts, shell, widgets
from cockpit.ui.i18n import t

shell.require_frame()
settings = loaders.settings()
tz = settings.tz
wall = shell.is_wall()

st.title(t("Stock water-level"))
action_dialogs.show_last_result()
slow_days = st.columns(4)[0].number_input(t("Slow mover: no sale for (days)"), min_value=1, max_value=90, value=14,
                                          key="stock_slow_days")


@st.fragment(run_every=settings.refresh_seconds)
def live_panels():
    live = widgets.live_data(f"stock:{slow_days}", loaders.stock_page, int(slow_days))
    if live is None:
        return
    states = live.states
    levels, pending = live.data["levels"], live.data["pending"]
    stock_state = states.get("stock")
    level_of = charts.stock_level_map(stock_state)

    tiles = st.columns(5)
    with tiles[0]:
        widgets.state_tile(t("Below safety stock"), f"{int((levels['on_hand'] < levels['safety_stock']).sum())}",
                           stock_state, delta_note=t("of {n} SKU-warehouse pairs", n=len(levels)))
    with tiles[1]:
        widgets.state_tile(t("Stock-out rate"), charts.pct(charts.stock_out_rate(levels), 1), stock_state,
                           delta_note=t("{n} pairs at zero", n=int(levels["is_stocked_out"].sum())))
    with tiles[2]:
        widgets.state_tile(t("Slow movers"), f"{int(levels['is_slow_mover'].sum())}", None,
                           delta_note=t("no sale for {d} days, stock on hand", d=int(slow_days)))
    with tiles[3]:
        overdue = int(pending["is_overdue"].sum())
        widgets.state_tile(t("Pending replenishments"), f"{len(pending)}", None,
                           delta_note=t("{n} overdue", n=overdue), inverse=True)
    with tiles[4]:
        returns = states.get("returns")
        widgets.state_tile(t("SKUs with high returns"),
                           f"{returns.count('warn') + returns.count('critical')}" if returns else "–", returns)

    widgets.show_figure(charts.water_level_figure(levels, level_of, t("Lowest water levels: on hand against safety "
                                                                     "stock and reorder point")))
    if wall:
        return
    filters = st.columns(3)
    warehouses = filters[0].multiselect(t("Warehouse"), sorted(levels["warehouse_id"].unique()), key="stock_wh")
    categories = filters[1].multiselect(t("Category"), sorted(levels["category"].unique()), key="stock_cat")
    positions = filters[2].multiselect(t("Level"), list(charts.POSITION_WORDS), format_func=lambda p: t(charts.POSITION_WORDS[p]),
                                       default=["out", "below_safety", "below_reorder"], key="stock_pos")
    table = charts.stock_table(levels, level_of, warehouses, categories, positions)
    if table.empty and len(levels):
        # An empty table must not read as missing data: say that no pair matches and how to see them all.
        st.info(t("No SKU-warehouse pair matches these filters: all {n} pairs are outside the chosen levels. "
                  "Add “{ok}” to Level to list them.", n=len(levels), ok=t(charts.POSITION_WORDS["ok"])))
    st.caption(t("Select a row to open the SKU, its history and the replenish action."))
    event = exports.table(charts.styled_states(table), hide_index=True, on_select="rerun", selection_mode="single-row", key="stock_table",
                         column_config=charts.STOCK_COLUMNS, height=360, name="stock-levels")
    picked = charts.selected_value(event, table, "pair")
    if picked and picked != f"{shell.param('sku')}|{shell.param('wh')}":
        sku, warehouse_id = picked.split("|", 1)
        shell.set_params(sku=sku, wh=warehouse_id)
        st.rerun()

    slow, incoming = st.columns(2)
    with slow:
        st.markdown(f"**{t('Slow movers')}**")
        exports.table(product_charts.with_product_links(charts.slow_movers(levels)), hide_index=True,
                     column_config={**charts.STOCK_COLUMNS, "sku": product_charts.SKU_LINK}, height=260, name="stock-slow-movers")
    with incoming:
        st.markdown(f"**{t('Pending replenishments')}**")
        exports.table(charts.pending_table(pending, tz), hide_index=True, height=260,
                     column_config=charts.PENDING_COLUMNS, name="stock-pending")


live_panels()

sku, warehouse_id = shell.param("sku"), shell.param("wh")
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
if sku and warehouse_id and fresh.data_minute is not None and not wall:
    st.subheader(t("SKU {sku} at {warehouse}", sku=shell.quoted(sku), warehouse=shell.quoted(warehouse_id)))
    detail = loaders.guarded(f"sku:{sku}:{warehouse_id}", fresh.data_minute, loaders.sku_detail, settings.db_url,
                             fresh.data_minute, sku, warehouse_id)
    levels = loaders.stock_page(settings.db_url, fresh.data_minute, int(slow_days))["levels"]
    row = levels[(levels["sku"] == sku) & (levels["warehouse_id"] == warehouse_id)]
    if row.empty:
        st.error(t("No stock row for SKU {sku} at warehouse {warehouse}: select a row in the table above to open "
                   "a SKU.", sku=shell.quoted(sku), warehouse=shell.quoted(warehouse_id)))
    elif widgets.load_marker(detail, tz):
        row = row.iloc[0]
        buttons = st.columns([1, 1, 1, 3])
        if shell.can("operator"):
            buttons[0].button(t("Replenish…"), type="primary", key="stock_replenish",
                              on_click=action_dialogs.request, kwargs={"kind": "replenish", "sku": sku,
                                                                       "warehouse_id": warehouse_id})
        buttons[2].page_link("pages/13_product.py", label=t("Product 360"), icon=":material/package_2:",
                             query_params={"sku": sku})
        if buttons[1].button(t("Close"), key="stock_close"):
            shell.set_params(sku=None, wh=None)
            st.rerun()
        st.caption(t("{name} · on hand {on_hand:,} · safety {safety:,} · reorder point {reorder:,} · on order {order:,} "
                     "· {cover} days of cover", name=row["name"], on_hand=int(row["on_hand"]), safety=int(row["safety_stock"]),
                     reorder=int(row["reorder_point"]), order=int(row["on_order"]), cover=charts.days(row["days_of_cover"])))
        widgets.show_figure(charts.stock_history_figure(detail.value, row, tz, t("On hand over the last 14 days")))
action_dialogs.render_pending()
