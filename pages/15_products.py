"""Products: stock turnover and stock-out rate by category against the targets, slow movers
with a suggested clearance, new products' sell-through and incubation, and price bands."""

import streamlit as st

from cockpit.assortment import NEW_PRODUCT_DAYS
from cockpit.timebuckets import day_start_minute, local_day_of
from cockpit.ui import assortment_charts as ac, exports
from cockpit.actions import CLEARANCE_DISCOUNT_PCT, CLEARANCE_MAX_DAYS
from cockpit.ui import action_dialogs, loaders, shell, widgets
from cockpit.ui.i18n import t
from cockpit.ui.product_charts import SKU_LINK, share
from models.assortment import INCUBATION_DAYS, INCUBATION_TARGET, SLOW_MOVER_PROBLEM

shell.require_frame()
settings = loaders.settings()
tz = settings.tz

st.title(t("Products"))
action_dialogs.show_last_result()
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
widgets.freshness_badge(fresh, tz, settings.refresh_seconds)
if fresh.data_minute is None:
    st.stop()

slow_days = st.columns(4)[0].number_input(t("Slow mover: no sale for (days)"), min_value=1, max_value=30, value=14,
                                          key="products_slow_days")
loaded = loaders.guarded(f"products:{slow_days}", fresh.data_minute, loaders.products_page, settings.db_url,
                         fresh.data_minute, settings.timezone, int(slow_days))
if not widgets.load_marker(loaded, tz):
    st.stop()
value = loaded.value

tiles = st.columns(4)
tiles[0].metric(t("Slow movers"), share(value["slow_mover_share"]),
                help=t("Share of stocked SKUs without a sale in {days} days; over {problem} is a problem.",
                       days=slow_days, problem=share(SLOW_MOVER_PROBLEM)))
tiles[1].metric(t("Stock-out rate (target {target})", target=share(settings.target_stockout_rate)),
                share(value["stockout_rate"]))
tiles[2].metric(t("Stock turnover (target {days:g} days)", days=settings.target_turnover_days),
                t("{days} days", days=ac.days_text(value["turnover_days"], "")))
tiles[3].metric(t("New products succeeding"), share(value["incubation_success_rate"]),
                help=t("Of the products launched in the last {days} days and past their first {weeks} weeks, the "
                       "share that sold at least {target} of their category's usual pace.", days=NEW_PRODUCT_DAYS,
                       weeks=INCUBATION_DAYS // 7, target=share(INCUBATION_TARGET)))
if value["slow_mover_share"] > SLOW_MOVER_PROBLEM:
    st.error(t("{share} of the stocked SKUs sold nothing in {days} days: over the {problem} problem level.",
               share=share(value["slow_mover_share"]), days=slow_days, problem=share(SLOW_MOVER_PROBLEM)))
if value["stockout_rate"] > settings.target_stockout_rate:
    st.warning(t("{share} of SKU-warehouse pairs are out of stock (target {target}).",
                 share=share(value["stockout_rate"]), target=share(settings.target_stockout_rate)))

st.subheader(t("Turnover and stock-outs by category"))
left, right = st.columns(2)
with left:
    widgets.show_figure(ac.category_figure(value["categories"], settings.target_turnover_days))
exports.table(ac.category_table(value["categories"], settings.target_stockout_rate), hide_index=True,
                width="stretch", name="products-category", container=right)

st.subheader(t("Slow movers"))
slow = value["slow_movers"]
if slow.empty:
    st.success(t("Every stocked SKU sold in the last {days} days.", days=slow_days))
else:
    exports.table(ac.slow_table(slow), hide_index=True, width="stretch", column_config={"sku": SKU_LINK}, name="products-slow")
if not slow.empty and shell.can("operator"):
    with st.form("products_clearance", border=True):
        st.markdown(t("**Clear a slow mover**: a flash sale puts it on the front page, a community clearance in the "
                      "shop's community groups. Its price and demand change from the next refresh."))
        cols = st.columns([3, 2, 2, 1])
        sku = cols[0].selectbox(t("Product"), slow["sku"].tolist(), key="products_clear_sku",
                                format_func=lambda s: ac.slow_label(slow, s))
        suggested = slow.set_index("sku").loc[sku, "suggestion"]
        kind = cols[1].selectbox(t("Kind"), list(ac.SUGGESTIONS), key="products_clear_kind",
                                 index=list(ac.SUGGESTIONS).index(suggested), format_func=lambda k: t(ac.SUGGESTIONS[k]))
        discount = cols[2].slider(t("Discount (%)"), *CLEARANCE_DISCOUNT_PCT, value=30, step=5, key="products_clear_pct")
        days = cols[3].number_input(t("Days"), min_value=1, max_value=CLEARANCE_MAX_DAYS, value=3,
                                    key="products_clear_days")
        st.form_submit_button(t("Start clearance…"), type="primary", on_click=action_dialogs.request_from_form,
                              args=("clearance",), kwargs={"sku": "products_clear_sku", "clearance_kind": "products_clear_kind",
                                                           "discount_pct": "products_clear_pct",
                                                           "days": "products_clear_days"})

running = value["clearances"]
if not running.empty:
    st.subheader(t("Clearances"))
    exports.table(ac.clearance_table(running, tz), hide_index=True, width="stretch", column_config={"sku": SKU_LINK}, name="products-clearance")
    for row in running[running["running"]].itertuples() if shell.can("operator") else ():
        st.button(t("End the clearance of {sku}", sku=row.sku), key=f"products_end_{row.clearance_id}",
                  on_click=action_dialogs.request, kwargs={"kind": "end_clearance", "sku": row.sku})

st.subheader(t("New products"))
new = value["new_products"]
if new.empty:
    st.info(t("No product launched in the last {days} days.", days=NEW_PRODUCT_DAYS))
else:
    exports.table(ac.new_products_table(new, tz), hide_index=True, width="stretch", column_config={"sku": SKU_LINK}, name="products-new-products")

st.subheader(t("Price bands"))
if value["price_competition"]:
    st.warning(t("Stuck in price competition (most units in the cheapest band at a thinner margin): {categories}.",
                 categories=", ".join(value["price_competition"])))
widgets.show_figure(ac.price_band_figure(value["price_bands"]))
with st.expander(t("Bands by category")):
    exports.table(ac.band_table(value["price_bands"]), hide_index=True, width="stretch", name="products-band")

st.subheader(t("Rising searches"))
trends = loaders.search_trends(settings.db_url, day_start_minute(local_day_of(fresh.data_minute, tz), tz),
                               settings.timezone)
if trends["covered_days"] < 2 * trends["days"]:
    st.caption(t("The data holds {covered} of the {needed} days two periods need: growth is measured on what there is.",
                 covered=trends["covered_days"], needed=2 * trends["days"]))
rising_terms = trends["terms"][trends["terms"]["is_rising"]]
if rising_terms.empty:
    st.info(t("No search term rose enough over the last {days} days to matter.", days=trends["days"]))
else:
    st.markdown(t("Searches over the last {days} days (to {day}) against the {days} days before. Terms that at least "
                  "doubled on real volume are candidates to stock, first those the shop does not sell yet.",
                  days=trends["days"], day=f"{trends['end_day']:%Y-%m-%d}"))
    widgets.show_figure(ac.trend_figure(trends["daily"], rising_terms["term"].head(5).tolist()))
left, right = st.columns([3, 2])
exports.table(ac.trend_table(trends["terms"]), hide_index=True, width="stretch", name="products-trend", container=left)
exports.table(ac.category_trend_table(trends["categories"]), hide_index=True, width="stretch", name="products-category-trend", container=right)
action_dialogs.render_pending()
