"""Product 360 (/product?sku=ID): one product end to end. Type an ID or part of a name and
pick from the suggestions; every panel that shows a SKU links here."""
import math

import streamlit as st

from cockpit.ui import exports, loaders, shell, widgets
from cockpit.ui import product_charts as pc
from cockpit.ui.i18n import say, t

shell.require_frame()
settings = loaders.settings()
tz = settings.tz

st.title(t("Product 360"))
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
widgets.freshness_badge(fresh, tz, settings.refresh_seconds)
if fresh.data_minute is None:
    st.stop()

MAX_QUERY = 200  # characters in the search box; product IDs are much shorter
asked = shell.param("sku") or ""
if len(asked) > MAX_QUERY:
    st.error(t("The link's product ID has {n:,} characters, more than any product ID: type the ID or part of the "
               "name in the box instead.", n=len(asked)))
    asked = ""
if "product_open" in st.session_state:  # a product chosen last run: the box shows its ID
    st.session_state["product_query"] = st.session_state.pop("product_open")


def open_product(sku: str) -> None:
    shell.set_params(sku=sku)
    st.session_state["product_open"] = sku
    st.rerun()


search, pick = st.columns([1, 2])
typed = search.text_input(t("Product ID or name"), value=asked, max_chars=MAX_QUERY, key="product_query",
                          placeholder=t("A SKU or words of the product name"))
typed = shell.clean(typed)
if typed and typed != asked:
    found = loaders.product_search(settings.db_url, typed)
    exact = found[found["sku"].str.lower() == typed.lower()]
    if len(exact):
        open_product(exact.iloc[0]["sku"])
    if found.empty:
        st.warning(t("No product ID or name contains {typed}: check the spelling or type a shorter part of it.",
                     typed=shell.quoted(typed)))
    else:
        skus = {f"{row.sku} · {row.name} ({row.category})": row.sku for row in found.itertuples()}
        chosen = pick.selectbox(t("Matching products"), list(skus), index=None,
                                placeholder=t("{n} match(es): choose one", n=len(skus)), key="product_pick")
        if chosen:
            open_product(skus[chosen])
    st.stop()
if not asked:
    st.info(t("Enter a product ID or part of its name; SKUs on the other pages link here."))
    st.stop()

loaded = loaders.guarded(f"product:{asked}", fresh.data_minute, loaders.product_360, settings.db_url,
                         fresh.data_minute, settings.timezone, asked)
if not widgets.load_marker(loaded, tz):
    st.stop()
value = loaded.value
if value is None:
    st.error(t("No product has the ID {sku}. Type part of its name to find it.", sku=shell.quoted(asked)))
    st.stop()

item = value["product"]
margin = (item["price"] - item["cost"]) / item["price"] if item["price"] else math.nan
st.subheader(f"{shell.literal(item['name'])} · {shell.literal(item['sku'])}")
st.caption(t("{category} · price {price:,.2f} · margin {margin} · supplier {supplier} (lead time about {lead} days)",
             category=shell.literal(item["category"]), price=item["price"], margin=pc.share(margin),
             supplier=shell.literal(item["supplier_name"] or "–"), lead=item["supplier_lead_time_days"] or "–"))
for column, (label, text) in zip(st.columns(6), pc.tiles(value)):
    column.metric(label, text)

spike = value["return_spike"]
if spike.is_spike:
    st.error(say(spike.sentence(item["name"])))

widgets.show_figure(pc.sales_figure(value["daily"]))

st.subheader(t("Stock"))
exports.table(pc.stock_table(value["stock"]), hide_index=True, width="stretch", column_config=pc.stock_columns(), name="product-stock")
left, right = st.columns(2)
with left:
    widgets.show_figure(pc.stock_figure(value["stock"]))
with right:
    if value["pending"].empty:
        st.caption(t("No replenishment on its way."))
    else:
        st.markdown(t("**Replenishments on their way**"))
        exports.table(pc.pending_table(value["pending"], tz), hide_index=True, width="stretch", name="product-pending")

st.subheader(t("Delivery"))
delivery = value["delivery"]
if delivery["parcels"] == 0:
    st.info(t("No parcel with this product was delivered in the last 30 days."))
else:
    st.caption(t("{parcels:,} parcels delivered in 30 days: median {median:.1f} days from payment to door, 90% within "
                 "{p90:.1f} days, {on_time} on time.", parcels=delivery["parcels"], median=delivery["median_days"],
                 p90=delivery["p90_days"], on_time=pc.share(delivery["on_time_rate"])))
    widgets.show_figure(pc.delivery_figure(value["delivery_by_region"]))

st.subheader(t("Returns"))
st.markdown(say(spike.sentence(item["name"])) if not spike.is_spike else t("See the spike above."))
left, right = st.columns([3, 2])
with left:
    widgets.show_figure(pc.returns_figure(value["returns_by_day"]))
with right:
    if value["return_breakdown"].empty:
        st.caption(t("No return in the last 30 days."))
    else:
        exports.table(pc.breakdown_table(value["return_breakdown"]), hide_index=True, width="stretch", name="product-returns")

st.subheader(t("Reviews"))
if value["rating_trend"].empty:
    st.caption(t("No review yet."))
else:
    widgets.show_figure(pc.rating_figure(value["rating_trend"]))
    left, right = st.columns(2)
    left.markdown(t("**Newest**"))
    left.markdown("\n".join(f"- {line}" for line in pc.review_lines(value["recent_reviews"], tz)))
    right.markdown(t("**Lowest rated**"))
    right.markdown("\n".join(f"- {line}" for line in pc.review_lines(value["lowest_reviews"], tz)))

st.subheader(t("Alert history"))
if value["alerts"].empty:
    st.caption(t("No alert about this product."))
else:
    exports.table(pc.alerts_table(value["alerts"], tz), hide_index=True, width="stretch", name="product-alerts")
