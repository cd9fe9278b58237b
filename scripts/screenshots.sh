#!/usr/bin/env bash
# Remakes the README's screenshots: runs the browser test that photographs each main page of a
# 30-day demo shop during an incident (tests/pages/test_screenshots.py) and copies its pictures
# to docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
bash scripts/ensure-services.sh
.venv/bin/python -m pytest -q tests/pages/test_screenshots.py
mkdir -p docs/screenshots
cp test-artifacts/screenshots/*.png docs/screenshots/
ls docs/screenshots
