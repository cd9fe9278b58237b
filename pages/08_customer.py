"""Customer 360 (/customer?id=ID): one customer's orders, segment and its history, CLV and
probability alive, the channels and marketing touches that brought them, returns and
reviews, and the experiments they were in. Sections follow one another; later ones (service
contacts) append at the end."""
import streamlit as st

from cockpit.ui import customer_charts as cc, exports
from cockpit.ui import loaders, shell, widgets
from cockpit.ui.product_charts import SKU_LINK, with_product_links
from cockpit.ui.i18n import t

MAX_CUSTOMER_ID = 2**63 - 1  # the largest a BIGINT column holds

shell.require_frame()
settings = loaders.settings()
tz = settings.tz

st.title(t("Customer 360"))
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
widgets.freshness_badge(fresh, tz, settings.refresh_seconds)
if fresh.data_minute is None:
    st.stop()

asked = shell.param("id") or ""
typed = st.columns([1, 2])[0].text_input(t("Customer ID"), value=asked, placeholder=t("e.g. {example}",
                                                                                     example="29885012345678"),
                                         key="customer_id_input")
if shell.clean(typed) != asked:
    shell.set_params(id=shell.clean(typed) or None)
    st.rerun()
if not asked:
    st.info(t("Enter a customer ID, or open one from the Customers page (every customer ID there links here)."))
    st.stop()
# isdecimal, not isdigit: int() reads full-width digits (１２３) but not superscripts (²).
if not asked.isdecimal() or len(asked) > 19 or int(asked) > MAX_CUSTOMER_ID:
    st.error(t("{value} is not a customer ID: IDs are whole numbers of at most 19 digits, such as {example}.",
               value=shell.quoted(asked if len(asked) <= 40 else asked[:40] + "…"), example="29885012345678"))
    st.stop()

customer_id = int(asked)
loaded = loaders.guarded(f"customer:{customer_id}", fresh.data_minute, loaders.customer_360, settings.db_url,
                         fresh.data_minute, customer_id)
if not widgets.load_marker(loaded, tz):
    st.stop()
profile = loaded.value
if profile is None:
    st.error(t("No customer with ID {id}.", id=customer_id))
    st.stop()

row, orders, history = profile["customer"], profile["orders"], profile["history"]
paid = orders[orders["status"] != "cancelled"]
st.caption(t("Customer since {since} · region {region} · acquired through {channel}",
             since=widgets.local_time(row["created_ts_utc"], tz, "%Y-%m-%d"),
             region=row["region"], channel=row["acquisition_channel"]))

# --- segment, value and probability alive (from the newest stored day) ---
current = history.iloc[-1] if len(history) else None
tiles = st.columns([2, 1, 1, 1, 1])
tiles[0].metric(t("Segment"), cc.segment_name(current["segment"]) if current is not None else "–",
                help=t("As of {day}.", day=cc.day_text(current["as_of_day"])) if current is not None else
                t("Not scored yet: the customer has no paid order, or the scheduler has not scored them."))
tiles[1].metric(t("CLV, next 12 months"), cc.money(current["clv"]) if current is not None else "–")
tiles[2].metric(t("P(alive)"), f"{current['p_alive']:.0%}" if current is not None and current["p_alive"] == current["p_alive"]
                else "–", help=t("Probability the customer still buys from us (BG/NBD)."))
tiles[3].metric(t("Orders"), f"{len(paid):,}", delta=t("{n} cancelled", n=len(orders) - len(paid)) if len(orders) > len(paid)
                else None, delta_color="off", delta_arrow="off")
tiles[4].metric(t("Spend"), cc.money(paid["amount"].sum(), 2))

st.subheader(t("Segment history"))
if history.empty:
    st.info(t("No stored scores for this customer yet."))
else:
    left, right = st.columns([2, 3])
    with left:
        widgets.show_figure(cc.history_figure(history, t("Segment on each stored day")))
    with right:
        exports.table(cc.history_table(history), hide_index=True, column_config=cc.HISTORY_COLUMNS, name="customer-history")

st.subheader(t("Orders"))
if orders.empty:
    st.info(t("No orders."))
else:
    exports.table(cc.orders_table(orders, tz), hide_index=True, column_config=cc.ORDER_COLUMNS, width="stretch",
                 height=min(400, 40 + 35 * len(orders)), name="customer-orders")

st.subheader(t("Channels and marketing touches"))
left, right = st.columns([1, 2])
with left:
    st.markdown(t("**Acquired through** {channel}", channel=row["acquisition_channel"]))
    if len(orders):
        exports.table(cc.channel_counts(orders), hide_index=True, width="stretch",
                     column_config={"channel": t("Order channel"), "orders": t("Orders"),
                                    "amount": st.column_config.NumberColumn(t("Amount"), format="yen")}, name="customer-channel-counts")
with right:
    touches = profile["touches"]
    if touches.empty:
        st.info(t("No marketing touches recorded for the visits this customer ordered from."))
    else:
        exports.table(cc.dated(touches, tz), hide_index=True, width="stretch", height=260,
                     column_config={"when": t("When"), "channel": t("Channel"), "campaign_id": t("Campaign"),
                                    "touch_type": t("Touch")}, name="customer-touches")

st.subheader(t("Returns and reviews"))
left, right = st.columns(2)
with left:
    if profile["returns"].empty:
        st.info(t("No returns."))
    else:
        exports.table(with_product_links(cc.dated(profile["returns"], tz)), hide_index=True, width="stretch",
                     column_config={"when": t("When"), "order_id": st.column_config.NumberColumn(t("Order"), format="%d"),
                                    "sku": SKU_LINK, "qty": t("Qty"), "reason": t("Reason"),
                                    "refund_amount": st.column_config.NumberColumn(t("Refund"), format="¤%.2f")}, name="customer-returns")
with right:
    if profile["reviews"].empty:
        st.info(t("No reviews."))
    else:
        exports.table(with_product_links(cc.dated(profile["reviews"], tz)), hide_index=True, width="stretch",
                     column_config={"when": t("When"), "order_id": st.column_config.NumberColumn(t("Order"), format="%d"),
                                    "sku": SKU_LINK, "rating": st.column_config.NumberColumn(t("Rating"), format="%d ★"),
                                    "text": t("Review")}, name="customer-reviews")

st.subheader(t("Experiments"))
if profile["experiments"].empty:
    st.info(t("Not in any experiment."))
else:
    exports.table(cc.dated(profile["experiments"], tz, "assigned_ts_utc", "assigned"), hide_index=True, width="stretch",
                 column_config={"assigned": t("Assigned"), "experiment_id": t("Experiment"), "name": t("Name"),
                                "arm": t("Arm"), "metric": t("Metric")}, name="customer-experiments")

st.subheader(t("Service contacts"))
contacts = profile["contacts"]
if contacts.empty:
    st.info(t("No service contacts."))
else:
    unresolved = int((~contacts["resolved"]).sum())
    st.caption(t("{n} contacts, {bot} resolved by the bot, {unresolved} unresolved.", n=len(contacts),
                 bot=int(((contacts["handled_by"] == "bot") & contacts["resolved"]).sum()), unresolved=unresolved))
    exports.table(cc.dated(contacts.drop(columns=["customer_id", "resolved_ts_utc"]), tz), hide_index=True,
                 width="stretch",
                 column_config={"when": t("When"), "contact_id": None,
                                "order_id": st.column_config.NumberColumn(t("Order"), format="%d"),
                                "channel": t("Channel"), "reason": t("Reason"), "handled_by": t("Handled by"),
                                "first_response_s": st.column_config.NumberColumn(t("First response"), format="%d s"),
                                "resolved": t("Resolved")}, name="customer-service-contacts")
