"""Weekly reports: the operations health reports the scheduler writes every Monday (and any
built on demand, in the asker's language), each readable here as written and downloadable as
HTML and PDF."""
import base64
from datetime import datetime

import streamlit as st

from cockpit.report import ReportError, day_date, week_label
from cockpit.ui import loaders, shell, widgets
from cockpit.ui.i18n import LANGUAGE_NAMES, language, t

shell.require_frame()
settings = loaders.settings()
tz = settings.tz
lang = language()  # built reports are written in it

st.title(t("Weekly reports"))
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
widgets.freshness_badge(fresh, tz, settings.refresh_seconds)
if fresh.data_minute is None:
    st.stop()

loaded = loaders.guarded("weekly_reports", fresh.data_minute, loaders.weekly_reports, settings.db_url,
                         fresh.data_minute)
if not widgets.load_marker(loaded, tz) or loaded.value is None:
    st.stop()
stored, buildable = loaded.value["stored"], loaded.value["buildable"]

if shell.can("operator"):
    with st.expander(t("Build a report now"), expanded=stored.empty):
        if not buildable:
            st.info(t("No complete week in the data yet: a report covers a whole week, Monday to Sunday."))
        else:
            week = st.selectbox(t("Week"), buildable, format_func=lambda w: week_label(w, lang),
                                key="report_build_week")
            st.button(t("Build the report"), type="primary", key="report_build",
                      on_click=lambda: st.session_state.update(report_build_requested=True))
            if st.session_state.pop("report_build_requested", False):
                try:
                    with st.spinner(t("Building the report for {week}…", week=week_label(week, lang))):
                        loaders.build_weekly_report(settings.db_url, int(week), shell.actor(), lang)
                    st.session_state["report_week"] = int(week)
                    st.rerun()
                except ReportError as exc:
                    st.error(str(exc))

if stored.empty:
    st.info(t("No report yet: the scheduler writes last week's every Monday at 06:00 ({tz}), and the first one "
              "shortly after it starts once a whole week of data exists.", tz=tz.key))
    st.stop()

weeks = stored["week_start_day"].tolist()
chosen = st.session_state.get("report_week")
index = weeks.index(chosen) if chosen in weeks else 0
week = st.selectbox(t("Report"), weeks, index=index,
                    format_func=lambda w: t("Week {label}", lang, label=week_label(w, lang)), key="report_week")
row = stored[stored["week_start_day"] == week].iloc[0]
shown = loaders.weekly_report(settings.db_url, int(week), int(row["created_ts_utc"]))
if shown is None:
    st.warning(t("That report was removed; choose another."))
    st.stop()

left, middle, right = st.columns([3, 1, 1], vertical_alignment="center")
left.caption(t("Built {when} by {who}; {count} finding(s) at its top.",
               when=datetime.fromtimestamp(shown["created_ts_utc"], tz).strftime("%Y-%m-%d %H:%M"),
               who=shown["created_by"], count=len(shown["findings"])))
if shown["language"] != lang:
    st.caption(t("This report was written in {language}: it is shown as it was written. Build it again to have it in "
                 "this page's language.", language=LANGUAGE_NAMES.get(shown["language"], shown["language"])))
stem = f"operations-report-{day_date(week).isoformat()}"
middle.download_button(t("Download HTML"), shown["html"], file_name=f"{stem}.html", mime="text/html",
                       icon=":material/download:", width="stretch")
if shown["pdf"]:
    right.download_button(t("Download PDF"), shown["pdf"], file_name=f"{stem}.pdf", mime="application/pdf",
                          icon=":material/picture_as_pdf:", width="stretch")
else:
    st.warning(t("This report has no PDF: {reason}", reason=shown["pdf_error"] or "–"))
# A data: URL gives the report its own opaque origin: its styles stay out of the app.
st.iframe("data:text/html;base64," + base64.b64encode(shown["html"].encode("utf-8")).decode("ascii"), height=1400)
