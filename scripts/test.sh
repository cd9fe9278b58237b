#!/usr/bin/env bash
# Installs everything and runs the whole test suite (SQLite and PostgreSQL, AppTest, Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/ensure-services.sh
exec .venv/bin/python -m pytest "$@"
