#!/usr/bin/env bash
# Installs everything and starts the whole cockpit: schema, 30 days of demo data on first
# run, the scheduler and the app on http://localhost:8501. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m cockpit run "$@"
