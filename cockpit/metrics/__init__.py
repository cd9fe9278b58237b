"""Metrics: building the minute aggregates and reading metrics from them."""
