"""How well the anomaly alert rules catch the simulator's incidents, over several seeds.

For each seed: eight normal days, then `--normal-minutes` live refreshes (every anomaly alert
opened there is a false alarm); and eight days ending just before the incident scenario's
start, then `--incident-minutes` live refreshes (an alert of the rule watching an incident's
target is a detection, with its delay from the incident's start; any other anomaly alert
is counted as a false alarm). Writes bench/results/anomaly_detection.{md,json}.

Usage: .venv/bin/python -m bench.anomaly_detection [--seeds 42,7,11,2026,5] [--incident-minutes 180]
       [--normal-minutes 120] [--workdir DIR]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from cockpit import alerts, jobs
from cockpit.config import load_settings
from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.ingest.seed import seed_history
from data import simulator

TZ = ZoneInfo("Asia/Shanghai")
T0 = 1_795_000_000 // 60  # the seeded present (2026-11-18 08:26 UTC); the incident starts a minute later
DAYS = 8
RESULTS = Path(__file__).resolve().parent / "results"
# Which rule should catch which of the incident's targets, and within how many minutes it
# counts as caught "within a few minutes" (ROI rests on a campaign's one or two orders an
# hour: it can only speak after hours, and is reported with its own deadline).
EXPECTED = {
    "Traffic anomaly by channel": ("channel", 15),
    "Spend anomaly by campaign": ("campaign", 15),
    "Returns anomaly by SKU": ("return_sku", 15),
    "ROI anomaly by campaign": ("campaign", 180),
}


@dataclass
class SeedResult:
    seed: int
    delays: dict[str, int | None] = field(default_factory=dict)  # rule -> minutes after the start, None: missed
    incident_false: list[str] = field(default_factory=list)  # "rule: entity" opened for no target
    normal_false: list[str] = field(default_factory=list)


def _run(url: str, scenario: str, seed: int, minutes: int) -> list[tuple[int, str, str]]:
    """Seed, refresh `minutes` minutes live; the anomaly rules' openings: (minute, rule, entity)."""
    upgrade_schema(url)
    seed_history(get_engine(url), days=DAYS, scenario=scenario, seed=seed, now_minute=T0, tz=TZ, progress=False,
                 anchor_minute=T0 + 1 if scenario == "incident" else None)
    settings = load_settings({"COCKPIT_DB_URL": url, "COCKPIT_SOURCES": "simulator", "COCKPIT_SCENARIO": scenario,
                              "COCKPIT_SIM_SEED": str(seed)})
    with get_engine(url).connect() as conn:
        names = {rule.rule_id: rule.name for rule in alerts.load_rules(conn, alerts.active_profile(conn))
                 if rule.metric.endswith("_anomaly")}
    opened = []
    for minute in range(T0 + 1, T0 + 1 + minutes):
        report = jobs.refresh(settings, now_ts=minute * 60 + 1)
        if report.status != "ok":
            raise RuntimeError(f"refresh at minute {minute} failed: {report}")
        opened += [(minute - T0, names[t.rule_id], t.entity_id) for t in report.transitions
                   if t.rule_id in names and t.kind in ("open", "data_back") and t.level in alerts.ALERTING]
    return opened


def measure_seed(seed: int, incident_minutes: int, normal_minutes: int, workdir: Path) -> SeedResult:
    result = SeedResult(seed)
    opened = _run(f"sqlite:///{workdir / f'normal-{seed}.db'}", "normal", seed, normal_minutes)
    result.normal_false = [f"{rule}: {entity}" for _, rule, entity in opened]
    targets = simulator.incident_targets(simulator.build_catalog(seed, (T0 - DAYS * 1440) // 60 * 60))
    opened = _run(f"sqlite:///{workdir / f'incident-{seed}.db'}", "incident", seed, incident_minutes)
    for rule, (target, _deadline) in EXPECTED.items():
        hits = [minute for minute, name, entity in opened if name == rule and entity == targets[target]]
        result.delays[rule] = min(hits) if hits else None
    result.incident_false = [f"{name}: {entity}" for _, name, entity in opened
                             if name not in EXPECTED or entity != targets[EXPECTED[name][0]]]
    return result


def summarise(results: list[SeedResult], incident_minutes: int, normal_minutes: int) -> dict:
    detected = sum(1 for r in results for rule, delay in r.delays.items()
                   if delay is not None and delay <= EXPECTED[rule][1])
    expected = len(results) * len(EXPECTED)
    false_alarms = sum(len(r.incident_false) + len(r.normal_false) for r in results)
    true_alerts = sum(1 for r in results for delay in r.delays.values() if delay is not None)
    return {
        "seeds": [r.seed for r in results],
        "recall": detected / expected if expected else None,
        "precision": true_alerts / (true_alerts + false_alarms) if true_alerts + false_alarms else None,
        "false_alarms_per_normal_hour": sum(len(r.normal_false) for r in results) / (len(results) * normal_minutes / 60),
        "incident_minutes": incident_minutes,
        "normal_minutes": normal_minutes,
        "per_seed": [asdict(r) for r in results],
    }


def markdown(summary: dict, seconds: float) -> str:
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {seconds:.0f} s: seeds "
        f"{', '.join(map(str, summary['seeds']))}; each seed {DAYS} seeded days, then {summary['normal_minutes']} "
        f"live minutes of a normal day and {summary['incident_minutes']} of the incident scenario.",
        "",
        f"- **Recall** (incident targets caught within their deadline): {summary['recall']:.0%}",
        f"- **Precision** (anomaly alerts that were an incident target): {summary['precision']:.0%}",
        f"- False alarms on normal days: {summary['false_alarms_per_normal_hour']:.2f} per hour (all anomaly rules, "
        "whole shop)",
        "",
        "| seed | " + " | ".join(f"{rule} (deadline {deadline} min)" for rule, (_, deadline) in EXPECTED.items())
        + " | other alerts in the incident | alerts on the normal day |",
        "| --- | " + " | ".join("---" for _ in EXPECTED) + " | --- | --- |",
    ]
    for r in summary["per_seed"]:
        cells = [("missed" if r["delays"][rule] is None else f"{r['delays'][rule]} min") for rule in EXPECTED]
        lines.append(f"| {r['seed']} | " + " | ".join(cells) + f" | {', '.join(r['incident_false']) or 'none'} | "
                     f"{', '.join(r['normal_false']) or 'none'} |")
    lines += ["", "Delays are minutes from the incident's first minute to the refresh that opened the alert."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.anomaly_detection", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="42,7,11,2026,5")
    parser.add_argument("--incident-minutes", type=int, default=180)
    parser.add_argument("--normal-minutes", type=int, default=120)
    parser.add_argument("--workdir", type=Path, default=None, help="where the databases go (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cockpit-anomaly-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = []
    try:
        for seed in [int(s) for s in args.seeds.split(",")]:
            print(f"== seed {seed}", file=sys.stderr, flush=True)
            results.append(measure_seed(seed, args.incident_minutes, args.normal_minutes, workdir))
            print(f"   {results[-1]}", file=sys.stderr, flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    summary = summarise(results, args.incident_minutes, args.normal_minutes)
    text = markdown(summary, time.perf_counter() - started)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "anomaly_detection.md").write_text(text)
    (args.out / "anomaly_detection.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
