"""The only place in cockpit that imports streamlit: cached loaders and widgets for the pages."""
