"""The bench's smoke mode: every benchmark runs (tiny sizes), the results files are written and
compared with the run before. Speed targets live in the full bench, never here."""
import json
import math

from bench import run as bench_run
from bench.harness import Measurement, markdown_table, write_results


def test_the_smoke_bench_runs_every_benchmark_and_writes_its_tables(tmp_path):
    assert bench_run.main(["--smoke", "--no-pg", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["smoke"] is True
    found = {m["benchmark"] for m in results["measurements"]}
    assert found == set(bench_run.BENCHMARKS)
    for m in results["measurements"]:
        assert math.isfinite(m["value"]) and m["value"] >= 0, m
        assert m["samples"], m
        assert (m["target"] is None) == (m["met"] is None), m
    table = (tmp_path / "latest.md").read_text()
    assert "| benchmark | case | measured | target | met |" in table
    assert all(m["case"] in table for m in results["measurements"])


def test_a_second_run_is_compared_with_the_first(tmp_path):
    first = [Measurement("seeding", "one", 100.0, "events/s", target=">= 50", met=True, samples=[100.0])]
    write_results(first, tmp_path, smoke=True, seconds=1.0)
    second = [Measurement("seeding", "one", 150.0, "events/s", target=">= 50", met=True, samples=[150.0]),
              Measurement("seeding", "new", 1.0, "s", samples=[1.0])]
    results = write_results(second, tmp_path, smoke=True, seconds=1.0)
    rows = {m["case"]: m for m in results["measurements"]}
    assert rows["one"]["previous"] == 100.0 and math.isclose(rows["one"]["change"], 0.5)
    assert rows["new"]["previous"] is None and rows["new"]["change"] is None
    assert (tmp_path / "previous.json").exists()
    assert "+50%" in markdown_table(results)


def test_a_partial_run_carries_the_other_benchmarks_over(tmp_path):
    write_results([Measurement("seeding", "one", 100.0, "events/s", samples=[100.0]),
                   Measurement("history", "ratio", 2.0, "x", samples=[2.0])], tmp_path, smoke=False, seconds=1.0)
    results = write_results([Measurement("seeding", "one", 120.0, "events/s", samples=[120.0])], tmp_path,
                            smoke=False, seconds=1.0)
    rows = {(m["benchmark"], m["case"]): m for m in results["measurements"]}
    assert rows[("seeding", "one")]["value"] == 120.0 and rows[("seeding", "one")]["previous"] == 100.0
    assert rows[("history", "ratio")]["value"] == 2.0
    assert "carried over" in (tmp_path / "latest.md").read_text()
