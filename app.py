"""Streamlit entry point: page config and the explicit list of pages."""
import streamlit as st

from cockpit.ui.i18n import t

st.set_page_config(page_title=t("Operations cockpit"), page_icon="📈", layout="wide")
navigation = st.navigation([
    st.Page("pages/01_overview.py", title=t("Overview"), icon="📊", default=True),
])
navigation.run()
