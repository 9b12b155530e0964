"""pytest-xdist: each increment on one worker, in order, and the same reports as without it."""

from __future__ import annotations

import importlib.util
import re
import shutil

import pytest

from conftest import demo_files, scored_files, write_increment

pytest.importorskip("xdist")


def _normalised(text: str) -> str:
    return re.sub(r"Run time: [\d.]+ s", "Run time: <t> s", text)


def test_each_increment_runs_on_one_worker_in_order_and_reports_match_a_single_process_run(pytester):
    for name in ("0001-demo", "0002-second", "0003-third"):
        write_increment(pytester.path, name, demo_files())
    pytester.makepyfile(test_plain="import pytest\n\n@pytest.mark.parametrize('n', range(6))\ndef test_n(n):\n    assert n >= 0\n")
    shutil.copytree(pytester.path / "increments", pytester.path / "single" / "increments")

    result = pytester.runpytest_subprocess("-n", "2", "-v", "increments", "test_plain.py", "-p", "no:cacheprovider",
                                           "--sw-json", "parallel.json")
    result.assert_outcomes(passed=36, skipped=3)
    runs: dict[str, list[tuple[str, str]]] = {}
    for line in result.outlines:
        match = re.match(r"\[(gw\d)\] .*?(PASSED|SKIPPED|FAILED) (increments/(\d{4})-[^/]+/(\w+)\.md::\S+)", line)
        if match:
            runs.setdefault(match.group(4), []).append((match.group(1), match.group(5)))
    assert sorted(runs) == ["0001", "0002", "0003"]
    for increment, items in runs.items():
        assert len({worker for worker, _ in items}) == 1, f"{increment} ran on several workers: {items}"
        assert [kind for _, kind in items] == ["tasks"] * 5 + ["spec"] * 3 + ["tests"] * 3

    alone = pytester.runpytest_subprocess("single/increments", "-p", "no:cacheprovider", "--sw-json", "serial.json")
    alone.assert_outcomes(passed=30, skipped=3)
    for name in ("0001-demo", "0002-second", "0003-third"):
        parallel = (pytester.path / "increments" / name / "COMPLETION-SUMMARY.md").read_text()
        serial = (pytester.path / "single" / "increments" / name / "COMPLETION-SUMMARY.md").read_text()
        assert _normalised(parallel) == _normalised(serial)
        assert (pytester.path / "increments" / name / "experiments" / "comparison.md").read_text() == \
            (pytester.path / "single" / "increments" / name / "experiments" / "comparison.md").read_text()
        charts = sorted((pytester.path / "increments" / name / "charts").glob("*.png"))
        assert charts or importlib.util.find_spec("matplotlib") is None
        for chart in charts:
            twin = pytester.path / "single" / "increments" / name / "charts" / chart.name
            assert chart.read_bytes() == twin.read_bytes(), chart.name
    import json

    parallel = json.loads((pytester.path / "parallel.json").read_text())
    serial = json.loads((pytester.path / "serial.json").read_text())
    assert _items(parallel) == _items(serial)


def test_plain_test_runs_keep_xdists_own_scheduler(pytester):
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def _targets_section(text: str) -> str:
    start = text.index("## Targets and test-data use")
    return re.sub(r"\d{4}-\d{2}-\d{2}", "<date>", text[start:text.index("\n## ", start)])


def test_the_targets_and_test_data_section_is_the_same_under_xdist(pytester):
    for name in ("0001-scored", "0002-scored"):
        write_increment(pytester.path, name, scored_files())
    shutil.copytree(pytester.path / "increments", pytester.path / "single" / "increments")
    parallel = pytester.runpytest_subprocess("-n", "2", "increments", "-p", "no:cacheprovider", "--sw-json", "parallel.json")
    parallel.assert_outcomes(passed=8)
    serial = pytester.runpytest_subprocess("single/increments", "-p", "no:cacheprovider", "--sw-json", "serial.json")
    serial.assert_outcomes(passed=8)
    for name in ("0001-scored", "0002-scored"):
        ours = _targets_section((pytester.path / "increments" / name / "COMPLETION-SUMMARY.md").read_text())
        theirs = _targets_section((pytester.path / "single" / "increments" / name / "COMPLETION-SUMMARY.md").read_text())
        assert ours == theirs
        assert "| TC-001 | accuracy >= 0.7 | unchanged since <date> |" in ours
        assert "was scored 2 times by 2 experiments; 0 of those since the targets were first fixed." in ours
    import json

    for report in ("parallel.json", "serial.json"):
        for entry in json.loads((pytester.path / report).read_text())["increments"]:
            assert entry["test_data_evaluations"]["count"] == 2
            assert [t["id"] for t in entry["targets"]] == ["SM-1", "TC-001"]


def _items(report: dict) -> list:
    return [(i["name"], i["status"], i["judged_experiment"],
             [{k: v for k, v in item.items() if k not in ("nodeid", "file")} for item in i["items"]],
             i["experiments"]) for i in report["increments"]]


EVIDENCE_PIPELINE = """
import numpy as np

from pytest_specweave import compute_metrics, random_baseline, track_experiment

rng = np.random.default_rng(0)
RELEVANT = [set(rng.choice(100, 5, replace=False).tolist()) for _ in range(400)]
LISTS = np.array([list(sorted(r))[:2] + [i for i in range(100) if i not in r][:8] for r in RELEVANT])


def baseline():
    random_baseline(RELEVANT, 100, k=10)


def train(experiment):
    compute_metrics("ranking", RELEVANT, LISTS, k=10, experiment=experiment)
"""


def test_interval_and_paired_verdicts_are_the_same_under_xdist(pytester):
    import json

    files = {"spec.md": "---\nprimary_metric: precision@10\n---\n## ML Problem Definition\n"
                        "- Success metrics: precision@10 > 0.15, precision@10 better than random baseline by 3x\n",
             "tasks.md": "- [ ] T-001: Baseline — `pipeline.py::baseline`\n- [ ] T-002: Train — `pipeline.py::train`\n",
             "pipeline.py": EVIDENCE_PIPELINE}
    for name in ("0001-first", "0002-second"):
        write_increment(pytester.path, name, files)
    shutil.copytree(pytester.path / "increments", pytester.path / "single" / "increments")
    pytester.runpytest_subprocess("-n", "2", "increments", "-p", "no:cacheprovider", "--sw-json", "parallel.json"
                                  ).assert_outcomes(passed=8)
    pytester.runpytest_subprocess("single/increments", "-p", "no:cacheprovider", "--sw-json", "serial.json"
                                  ).assert_outcomes(passed=8)
    parallel = json.loads((pytester.path / "parallel.json").read_text())
    serial = json.loads((pytester.path / "serial.json").read_text())
    assert _items(parallel) == _items(serial)
    ratio = next(item for item in parallel["increments"][0]["items"] if item["id"] == "SM-2")
    assert "paired" in ratio["method"] and ratio["basis"] == "interval"


def test_a_crashed_worker_fails_its_task_once_and_the_rest_of_the_increment_runs(pytester):
    files = demo_files()
    files["pipeline.py"] += "\n\nimport os\n\n\ndef crash():\n    os._exit(1)\n"
    files["tasks.md"] = files["tasks.md"].replace("# Tasks\n", "# Tasks\n\n- [ ] T-000: Crash — `pipeline.py::crash`\n")
    write_increment(pytester.path, "0001-demo", files)
    write_increment(pytester.path, "0002-second", demo_files())
    result = pytester.runpytest_subprocess("-n", "2", "increments", "-p", "no:cacheprovider", "-rA", timeout=180)
    output = result.stdout.str()
    assert "INTERNALERROR" not in output, output
    assert result.ret == 1
    assert output.count("replacing crashed worker") == 1, output
    result.assert_outcomes(failed=1, passed=20, skipped=2)
    result.stdout.fnmatch_lines(["*crashed while running*increments/0001-demo/tasks.md::T-000*"])
    result.stdout.fnmatch_lines(["FAILED increments/0001-demo/tasks.md::T-000*"])
    result.stdout.fnmatch_lines(["PASSED increments/0001-demo/tests.md::TC-003*"])
