"""Customers: RFM segments and their value, migration between two stored days, the CLV
distribution and top customers, cohort retention, new vs returning, acquisition cost by
channel, the private-domain share of orders, and a segment's customers as CSV for outreach."""
import streamlit as st

from cockpit.ui import customer_charts as cc, exports
from cockpit.ui import loaders, shell, widgets
from cockpit.ui.i18n import t
from models import rfm

shell.require_frame()
settings = loaders.settings()
tz = settings.tz

st.title(t("Customers"))
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
widgets.freshness_badge(fresh, tz, settings.refresh_seconds)
if fresh.data_minute is None:
    st.stop()

runs = loaders.guarded("customer_runs", fresh.data_minute, loaders.customer_runs, settings.db_url, fresh.data_minute,
                       settings.timezone)
days = runs.value["days"] if widgets.load_marker(runs, tz) and runs.value else []
if not days:
    st.info(t("No customer scores yet: the scheduler scores customers {minutes} min apart, the first time shortly "
              "after it starts (`python -m cockpit run`); `python -m cockpit customers` scores them now.",
              minutes=settings.customer_minutes))
else:
    fit = runs.value["fit"] or {}
    version = float(fit.get("computed_ts", 0.0))
    latest = loaders.customer_day(settings.db_url, days[-1], version)
    scores, summary = latest["scores"], latest["summary"]
    st.caption(cc.fit_caption(fit, tz, settings.customer_minutes) if fit.get("as_of_day") == days[-1]
               else t("Scores as of {day}.", day=cc.day_text(days[-1])))
    count = summary.set_index("segment")["customers"]
    tiles = st.columns(5)
    tiles[0].metric(t("Customers scored"), f"{len(scores):,}", help=t("Every customer with a paid order."))
    tiles[1].metric(t("Valuable"), f"{int(count[list(rfm.VALUABLE_SEGMENTS)].sum()):,}",
                    help=t("Important value and important development: high spenders who bought lately."))
    tiles[2].metric(t("At risk"), f"{int(count[list(rfm.AT_RISK_SEGMENTS)].sum()):,}",
                    help=t("Important retention and important win-back: high spenders who have gone quiet."))
    tiles[3].metric(t("CLV, next 12 months"), cc.money(scores["clv"].sum(min_count=1)))
    tiles[4].metric(t("Mean P(alive)"), f"{scores['p_alive'].mean():.0%}" if scores["p_alive"].notna().any() else "–")

    st.subheader(t("Segments"))
    left, right = st.columns([2, 3])
    with left:
        widgets.show_figure(cc.segment_figure(summary, t("Share of customers and of value per segment")))
    with right:
        exports.table(cc.summary_table(summary), hide_index=True, column_config=cc.SUMMARY_COLUMNS, width="stretch", name="customers-summary")
        pick, download = st.columns([2, 1], vertical_alignment="bottom")
        segment = pick.selectbox(t("Export a segment for an outreach campaign"), list(rfm.SEGMENT_KEYS),
                                 format_func=cc.segment_name, key="customers_export_segment")
        export = loaders.segment_export(settings.db_url, days[-1], version, segment)
        download.caption(t("{n:,} customers", n=len(export)))
        exports.download_buttons(export, f"customers-{segment}-{cc.day_text(days[-1])}", container=download)

    st.subheader(t("Migration between two days"))
    if len(days) < 2:
        st.info(t("Only one day is stored so far ({day}); the migration needs two. The scheduler stores a day each "
                  "day (`python -m cockpit customers --as-of YYYY-MM-DD` scores a past day).", day=cc.day_text(days[0])))
    else:
        ends = st.columns(4)
        default_from = max((d for d in days[:-1] if d <= days[-1] - 7), default=days[0])
        start = ends[0].selectbox(t("From"), days[:-1], index=days[:-1].index(default_from), format_func=cc.day_text,
                                  key="customers_from")
        end = ends[1].selectbox(t("To"), [d for d in days if d > start][::-1], format_func=cc.day_text,
                                key="customers_to")
        moved = loaders.segment_migration(settings.db_url, start, end, version)
        left, right = st.columns([3, 2])
        with left:
            widgets.show_figure(cc.migration_figure(moved["matrix"], t("Customers by segment: {start} (rows) → {end} "
                                                                       "(columns)", start=cc.day_text(start),
                                                                       end=cc.day_text(end))))
        with right:
            st.metric(t("From valuable to at risk"), f"{len(moved['moved']):,}",
                      help=t("Important value or development on the first day, important retention or win-back on "
                             "the second."))
            exports.table(cc.score_table(moved["moved"], ["customer", "segment", "monetary", "clv"]),
                         hide_index=True, column_config=cc.SCORE_COLUMNS, height=340, name="customers-moved-segment")

    st.subheader(t("Customer lifetime value"))
    left, right = st.columns(2)
    with left:
        widgets.show_figure(cc.clv_figure(scores, t("Distribution")))
    with right:
        st.markdown(f"**{t('Top customers')}**")
        exports.table(cc.score_table(latest["top"]), hide_index=True, column_config=cc.SCORE_COLUMNS, height=340, name="customers-top")

st.subheader(t("Orders, cohorts and acquisition"))
controls = st.columns(4)
window = controls[0].selectbox(t("Window"), [7, 30, 90], index=1, format_func=lambda d: t("last {d} days", d=d),
                               key="customers_window")
period = controls[1].radio(t("Cohorts by"), ["W", "M"], format_func=lambda p: t("week") if p == "W" else t("month"),
                           horizontal=True, key="customers_period")
as_of_day = loaders.as_of_day(fresh.data_minute, settings.timezone)
loaded = loaders.guarded(f"customers_page:{window}:{period}", fresh.data_minute, loaders.customers_page,
                         settings.db_url, as_of_day, settings.timezone, window, period)
if widgets.load_marker(loaded, tz) and loaded.value is not None:
    page = loaded.value
    if not page["orders"]:
        st.info(t("No paid orders in the last {d} complete days.", d=window))
    else:
        mix, acquisition = page["mix"], page["acquisition"]
        total = page["new_gmv"] + page["returning_gmv"]
        owned_share = mix["owned_orders"].sum() / mix["orders"].sum()
        tiles = st.columns(4)
        tiles[0].metric(t("Paid orders"), f"{page['orders']:,}", help=t("Complete days up to {day}.",
                                                                         day=cc.day_text(page["as_of_day"])))
        tiles[1].metric(t("GMV from returning customers"), f"{page['returning_gmv'] / total:.1%}",
                        help=t("Returning: customers who had bought before."))
        tiles[2].metric(t("Private-domain share of orders"), f"{owned_share:.1%}",
                        help=t("Orders through owned channels: {names}.", names=", ".join(page["owned_channels"]["name"])))
        paid = acquisition[acquisition["spend"] > 0]
        tiles[3].metric(t("Blended acquisition cost"),
                        cc.money(paid["spend"].sum() / max(1, int(paid["new_customers"].sum())), 2),
                        help=t("Ad spend over the new customers of the channels with spend."))
        left, right = st.columns(2)
        with left:
            widgets.show_figure(cc.cohort_figure(page["cohorts"], t("Retention by first-purchase cohort")))
            widgets.show_figure(cc.private_share_figure(mix, t("Private-domain share of paid orders per day")))
        with right:
            widgets.show_figure(cc.new_returning_figure(mix, t("GMV per day: new vs returning customers")))
            st.markdown(f"**{t('Customer acquisition cost by channel')}**")
            exports.table(cc.cac_table(acquisition), hide_index=True, column_config=cc.CAC_COLUMNS, width="stretch", name="customers-cac")
