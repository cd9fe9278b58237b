"""Benchmarks of the cockpit: `python -m bench.run` (see README, Performance)."""
