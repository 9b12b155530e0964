"""A task that fails before it runs (a misspelt link) leaves its earlier run's experiments in the store.
Verdicts judged on them are that earlier run's: they say so, and never count as a pass of this run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import demo_files, write_increment

STALE = re.compile(r"stale: exp-002-t-002-train-model is from an earlier run \(run 1, \d{4}-\d\d-\d\d \d\d:\d\d UTC\); "
                   r"T-002 failed this run")


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "increments/0001-demo", "-p", "no:cacheprovider", "-rA",
                           "--junitxml=report.xml", *args], cwd=cwd, capture_output=True, text=True, check=False)


def items(report: Path) -> dict[str, dict]:
    found = {}
    for case in ET.parse(report).iter("testcase"):
        skipped = case.find("skipped")
        outcome = "skipped" if skipped is not None else "failed" if case.find("failure") is not None else "passed"
        found[case.get("name")] = {"outcome": outcome, **{p.get("name"): p.get("value") for p in case.iter("property")}}
    return found


@pytest.fixture
def misspelt(tmp_path) -> Path:
    """The demo increment after a good run, then with T-002's link misspelt (`trian`)."""
    folder = write_increment(tmp_path, "0001-demo", demo_files(intervals=True))
    first = run(tmp_path, "--sw-strict")
    assert first.returncode == 0, first.stdout[-3000:]
    tasks = folder / "tasks.md"
    tasks.write_text(tasks.read_text(encoding="utf-8").replace("pipeline.py::train_model", "pipeline.py::trian"),
                     encoding="utf-8")
    return tmp_path


def test_a_verdict_on_the_failed_tasks_earlier_experiment_says_it_is_stale_and_does_not_pass(misspelt):
    result = run(misspelt, "--sw-json=report.json")
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "pipeline.py has no callable 'trian'" in output, output[-3000:]
    found = items(misspelt / "report.xml")
    assert found["T-002"]["outcome"] == "failed"
    for item in ("SM-1", "TC-001"):  # judged on T-002's experiment of the first run
        assert found[item]["outcome"] == "skipped", found[item]
        assert STALE.search(found[item]["stale"]), found[item]
    assert re.search(r"SM-1 .* STALE$", output, re.MULTILINE), output[-3000:]
    (increment,) = json.loads((misspelt / "report.json").read_text(encoding="utf-8"))["increments"]
    reported = {item["id"]: item for item in increment["items"]}
    assert STALE.search(reported["SM-1"]["stale"]) and reported["T-001"]["stale"] is None
    assert found["SM-3"]["outcome"] == "skipped"  # T-003 depends on T-002: its latency is the first run's too
    assert "T-003 did not run (dependency T-002 failed) this run" in found["SM-3"]["stale"]
    summary = (misspelt / "increments" / "0001-demo" / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "**Status**: STALE" in summary and "ALL GATES PASSED" not in summary
    sm1 = next(line for line in summary.splitlines() if line.startswith("| SM-1 |"))
    assert "⚠️ stale — exp-002-t-002-train-model is from an earlier run (run 1, " in sm1, sm1


def test_under_sw_done_a_stale_verdict_fails_and_the_increment_is_not_completed(misspelt):
    result = run(misspelt, "--sw-done")
    output = result.stdout + result.stderr
    assert result.returncode == 1
    found = items(misspelt / "report.xml")
    for item in ("SM-1", "TC-001", "SM-3"):
        assert found[item]["outcome"] == "failed", found[item]
    assert "(a stale verdict fails under --sw-done)" in output
    assert re.search(r"SM-1 .* FAIL \(stale\)$", output, re.MULTILINE), output[-3000:]
    assert re.search(r"0001-demo: not complete, metadata.json unchanged: T-002 failed; .*SM-1 stale; .*SM-3 stale",
                     output), output[-3000:]
    assert not (misspelt / "increments" / "0001-demo" / "metadata.json").exists()


def test_once_the_task_runs_again_its_verdicts_are_fresh(misspelt):
    tasks = misspelt / "increments" / "0001-demo" / "tasks.md"
    tasks.write_text(tasks.read_text(encoding="utf-8").replace("pipeline.py::trian", "pipeline.py::train_model"),
                     encoding="utf-8")
    result = run(misspelt, "--sw-strict")
    assert result.returncode == 0, result.stdout[-3000:]
    assert not any("stale" in props for props in items(misspelt / "report.xml").values())
