"""The CDNOW sample (Fader & Hardie), fetched from the `lifetimes` wheel on PyPI into tests/.cache/.

The data set's licence is not clearly stated, so it is not shipped: the test set-up downloads the
archived wheel with pip (no install, no import of lifetimes) and reads the text file out of the zip.
A test that cannot get its data fails with the reason; it never skips.
"""
from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "tests" / ".cache" / "lifetimes-0.11.3"
REQUIREMENT = "lifetimes==0.11.3"
MEMBER = "lifetimes/datasets/CDNOW_sample.txt"
CDNOW_CUSTOMERS = 2357


def _wheel() -> Path:
    found = sorted(CACHE.glob("*.whl"))
    if found:
        return found[0]
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    # Download beside the cache and move into place, so two test runs at once never see half a file.
    with tempfile.TemporaryDirectory(dir=CACHE.parent) as scratch:
        command = [sys.executable, "-m", "pip", "download", REQUIREMENT, "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "-q", "-d", scratch]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.fail(f"could not fetch the CDNOW reference data ({' '.join(command)}): {exc}")
        wheels = sorted(Path(scratch).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            pytest.fail(
                f"could not fetch the CDNOW reference data with `{' '.join(command)}` "
                f"(exit {done.returncode}); PyPI must be reachable for this test.\n{done.stderr[-2000:]}"
            )
        CACHE.mkdir(exist_ok=True)
        target = CACHE / wheels[0].name
        if not target.exists():
            wheels[0].replace(target)
        return target


def cdnow_sample() -> pd.DataFrame:
    """The CDNOW sample's purchases: `customer_id`, `date` (datetime), `cds`, `amount` (US dollars)."""
    wheel = _wheel()
    try:
        with zipfile.ZipFile(wheel) as archive:
            text = archive.read(MEMBER).decode("ascii")
    except (zipfile.BadZipFile, KeyError) as exc:
        pytest.fail(f"{wheel} does not hold {MEMBER} ({exc}); delete {CACHE} and run again")
    raw = pd.read_csv(io.StringIO(text), sep=r"\s+", header=None,
                      names=["customer_id", "customer_index", "date", "cds", "amount"],
                      dtype={"customer_id": "int64", "customer_index": "int64", "date": "str"})
    return pd.DataFrame({
        "customer_id": raw["customer_id"],
        "date": pd.to_datetime(raw["date"], format="%Y%m%d"),
        "cds": raw["cds"].astype("int64"),
        "amount": raw["amount"].astype("float64"),
    })
