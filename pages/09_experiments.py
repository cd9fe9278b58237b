"""Experiments: each outreach experiment's read-out so far, with the effect and its confidence
interval, the sample-ratio check, the users still needed and a verdict in words."""
import streamlit as st

from cockpit.ui import customer_charts as cc, exports
from cockpit.ui import loaders, shell, widgets
from cockpit.ui.i18n import currency_symbol, money, say, t

shell.require_frame()
settings = loaders.settings()
tz = settings.tz
METRICS = {"conversion": t("Conversion (bought at least once during the test)"),
           "revenue_per_user": t("Revenue per user during the test")}

st.title(t("Experiments"))
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
widgets.freshness_badge(fresh, tz, settings.refresh_seconds)
if fresh.data_minute is None:
    st.stop()

loaded = loaders.guarded("experiments", fresh.data_minute, loaders.experiment_outcomes, settings.db_url,
                         fresh.data_minute)
if not widgets.load_marker(loaded, tz) or loaded.value is None:
    st.stop()
if not loaded.value:
    st.info(t("No experiments yet."))
st.caption(t("Each read-out compares every arm with the control (the first arm) on orders placed since the "
             "experiment started; 95% confidence intervals, 80% power. \"Enough data\" means each arm has the users "
             "needed to detect the effect worth detecting, which you set per experiment."))

for experiment, _ in loaded.value:
    experiment_id, conversion = experiment["experiment_id"], experiment["metric"] == "conversion"
    with st.container(border=True):
        st.subheader(f"{experiment['name']} · {experiment_id}")
        head, setting = st.columns([3, 1])
        setting_label = t("Effect worth detecting (points)") if conversion else t("Effect worth detecting ({currency} per user)", currency=currency_symbol())
        mde = setting.number_input(setting_label, min_value=0.1, max_value=50.0 if conversion else 500.0,
                                   value=3.0 if conversion else 10.0, step=0.5, key=f"experiments_mde_{experiment_id}")
        report = loaders.experiment_report(settings.db_url, fresh.data_minute, experiment_id,
                                           mde / 100 if conversion else float(mde))
        ends = widgets.local_time(report.end_ts, tz, "%Y-%m-%d %H:%M") if report.end_ts else t("open")
        head.markdown(experiment["description"])
        head.caption(t("{metric} · audience: {segment} · {start} to {end} ({tz}) · {state}",
                       metric=METRICS.get(report.metric, report.metric), segment=report.target_segment,
                       start=widgets.local_time(report.start_ts, tz, "%Y-%m-%d %H:%M"), end=ends, tz=tz.key,
                       state=t("running") if report.running else t("ended")))
        if report.message == "not_started":
            st.info(t("Not started yet: it starts {start}.", start=widgets.local_time(report.start_ts, tz, "%Y-%m-%d %H:%M")))
            continue
        if report.message == "arm_without_users":
            st.warning(t("An arm has no users yet: nothing to compare."))
            continue
        tiles = st.columns(len(report.arms) + 1)
        for column, arm in zip(tiles, report.arms.itertuples()):
            column.metric(t("{arm}: users", arm=arm.arm), f"{arm.users:,}",
                          delta=(f"{arm.conversion:.1%} " + t("bought")) if conversion
                          else money(arm.revenue_per_user, 2) + " " + t("per user"), delta_color="off", delta_arrow="off")
        if report.srm is not None:
            (st.error if report.srm.mismatch else st.caption)(say(report.srm.verdict))
        if not report.readouts:
            st.info(t("No read-out yet: {reason}", reason=say(report.message)))
            continue
        for readout in report.readouts:
            if not readout.enough_data:
                st.warning(say(readout.verdict))
            elif readout.significant:
                st.success(say(readout.verdict))
            else:
                st.info(say(readout.verdict))
        if not report.running and not all(r.enough_data for r in report.readouts):
            st.caption(t("The experiment has ended, so its arms get no more users: read the interval above, or run it "
                         "again with more users to settle an effect this small."))
        required = report.readouts[0].required_users_per_arm
        tiles[-1].metric(t("Users needed per arm"), f"{required:,}",
                         delta=t("{n:,} more", n=max(r.more_users_needed_per_arm for r in report.readouts))
                         if not all(r.enough_data for r in report.readouts) else t("reached"),
                         delta_color="off", delta_arrow="off", help=t("To detect the effect worth detecting at 80% power."))
        left, right = st.columns([1, 1])
        with left:
            widgets.show_figure(cc.effect_figure(report, t("Effect against the control, with its 95% interval")),
                                key=f"experiments_effect_{experiment_id}")
        with right:
            exports.table(report.arms, hide_index=True, column_config=cc.ARM_COLUMNS, width="stretch",
                          name=f"experiment-{experiment_id}-arms")
