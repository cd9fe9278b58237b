"""Analytics as pure functions on DataFrames (no database, no Streamlit)."""
