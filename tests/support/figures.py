"""Figures the reliability tests measure (events lost and doubled, recovery times), kept in
test-artifacts/reliability.json for the README's reliability table."""
from __future__ import annotations

import json
import time
from pathlib import Path

FIGURES = Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability.json"


def record(name: str, **figures) -> None:
    """Merge `figures` under `name` (e.g. "db_outage[postgresql]") into the JSON file."""
    FIGURES.parent.mkdir(exist_ok=True)
    stored = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    stored[name] = {**figures, "recorded_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    FIGURES.write_text(json.dumps(stored, indent=2, sort_keys=True))
    print(f"{name}: {figures}")
