"""Streamlit entry point: page config, the sign-in gate, the explicit list of pages, and the page frame (wall mode)."""
import streamlit as st

from cockpit.ui import shell, sign_in
from cockpit.ui.i18n import t

st.set_page_config(page_title=t("Operations cockpit"), page_icon=":material/monitoring:", layout="wide",
                   initial_sidebar_state="collapsed" if shell.is_wall() else "auto")
principal = sign_in.gate()  # None: the sign-in form is drawn
pages = {
    "overview": st.Page("pages/01_overview.py", title=t("Overview"), icon=":material/dashboard:", url_path="cockpit", default=True),
    "traffic": st.Page("pages/02_traffic.py", title=t("Traffic & conversion"), icon=":material/filter_alt:", url_path="traffic-conversion"),
    "stock": st.Page("pages/03_stock.py", title=t("Stock water-level"), icon=":material/inventory_2:", url_path="stock-levels"),
    "ads": st.Page("pages/04_ads.py", title=t("Ads & ROI"), icon=":material/campaign:", url_path="ads-roi"),
    "alerts": st.Page("pages/05_alerts.py", title=t("Alerts & actions"), icon=":material/notifications_active:", url_path="alerts-actions"),
    "forecasts": st.Page("pages/06_forecasts.py", title=t("Forecasts & anomalies"), icon=":material/insights:",
                         url_path="forecasts-anomalies"),
    "customers": st.Page("pages/07_customers.py", title=t("Customers"), icon=":material/groups:", url_path="customers"),
    "customer": st.Page("pages/08_customer.py", title=t("Customer 360"), icon=":material/person_search:", url_path="customer"),
    "experiments": st.Page("pages/09_experiments.py", title=t("Experiments"), icon=":material/science:", url_path="experiments"),
    "service": st.Page("pages/10_service.py", title=t("Service"), icon=":material/support_agent:", url_path="service"),
    "attribution": st.Page("pages/11_attribution.py", title=t("Attribution"), icon=":material/alt_route:",
                           url_path="attribution"),
    "product": st.Page("pages/13_product.py", title=t("Product 360"), icon=":material/package_2:", url_path="product"),
    "products": st.Page("pages/15_products.py", title=t("Products"), icon=":material/category:", url_path="products"),
    "logistics": st.Page("pages/14_logistics.py", title=t("Logistics & supply"), icon=":material/local_shipping:",
                         url_path="logistics"),
    "reports": st.Page("pages/12_reports.py", title=t("Weekly reports"), icon=":material/summarize:", url_path="reports"),
}
# Called before the gate stops an unsigned visitor, so the page in the URL (a shared link such
# as /product?sku=...) is the one shown once they have signed in.
sections = {
    t("Live cockpit"): ["overview", "traffic", "stock", "ads", "alerts"],
    t("Customers & marketing"): ["customers", "customer", "experiments", "service", "attribution"],
    t("Products & supply"): ["product", "products", "logistics"],
    t("Planning & reports"): ["forecasts", "reports"],
}
navigation = st.navigation({title: [pages[name] for name in names] for title, names in sections.items()},
                           position="hidden" if principal is None else shell.navigation_position(), expanded=True)
if principal is None:  # nothing but the sign-in form until someone signs in
    st.stop()
shell.decorate(pages, navigation)
navigation.run()
