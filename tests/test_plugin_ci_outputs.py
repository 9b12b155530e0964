"""What CI reads: the JSON report, the job-page step summary, the exit code."""

from __future__ import annotations

import json

from conftest import demo_files, write_increment


def test_the_json_report_lists_every_item_with_its_verdict_and_the_experiments(pytester, demo):
    pytester.runpytest("increments", "-p", "no:cacheprovider", "--sw-json", "out/report.json")
    report = json.loads((pytester.path / "out" / "report.json").read_text())
    assert report["schema"] == "pytest-specweave/report/1"
    [increment] = report["increments"]
    assert increment["name"] == "0001-demo" and increment["status"] == "passed"
    assert increment["primary_metric"] == "accuracy"
    assert increment["judged_experiment"] == "exp-002-t-002-train-model"
    items = {item["id"]: item for item in increment["items"]}
    assert items["SM-1"] == {
        "id": "SM-1", "kind": "metric", "title": "accuracy > 0.8", "nodeid": "increments/0001-demo/spec.md::SM-1",
        "file": "increments/0001-demo/spec.md", "line": 8, "outcome": "passed",
        "message": "accuracy = 90% (exp-002-t-002-train-model) is > 80% — no interval (a point value)",
        "metric": "accuracy", "value": 0.9, "interval": None, "threshold": "accuracy > 0.8",
        "experiment": "exp-002-t-002-train-model", "reference": None, "basis": "point", "level": None,
        "method": None, "selection": None, "ratio": None, "data_factor": None, "stale": None,
    }
    assert items["T-005"]["outcome"] == "skipped" and items["T-005"]["kind"] == "task"
    experiments = {e["folder"]: e for e in increment["experiments"]}
    assert experiments["exp-001-baseline-random"]["baseline"] is True
    assert experiments["exp-002-t-002-train-model"]["metrics"] == {"accuracy": 0.9}


def test_a_json_report_of_a_failing_increment_says_failed(pytester):
    write_increment(pytester.path, "0001-demo", demo_files(accuracy=0.7))
    result = pytester.runpytest("increments", "-p", "no:cacheprovider", "--sw-json", "report.json")
    assert result.ret == 1
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["increments"][0]["status"] == "failed"


def test_the_step_summary_is_appended_for_the_ci_job_page(pytester, demo, monkeypatch):
    page = pytester.path / "step-summary.md"
    page.write_text("# Earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(page))
    pytester.runpytest("increments", "-p", "no:cacheprovider")
    text = page.read_text()
    assert text.startswith("# Earlier step\n")
    assert "### ✅ 0001-demo: passed" in text
    assert "| SM-1 | accuracy > 0.8 | 90% | exp-002-t-002-train-model | ✅ passed |" in text
    assert "Tasks: 4 passed, 1 skipped" in text
    assert "Full report: `increments/0001-demo/COMPLETION-SUMMARY.md`" in text


def test_the_step_summary_names_every_requirement_and_says_inconclusive_once(pytester, monkeypatch):
    import json

    from conftest import demo_files, write_increment

    files = demo_files()
    files["pipeline.py"] = files["pipeline.py"].replace('return {"accuracy": ACCURACY}',
                                                        'experiment.log_metric("accuracy", 0.86, ci=(0.78, 0.93))')
    write_increment(pytester.path, "0001-demo", files)
    page = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(page))
    pytester.runpytest("increments", "-p", "no:cacheprovider", "--sw-json", "report.json")
    text = page.read_text()
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert "inconclusive: inconclusive" not in text
    assert "❔ inconclusive: accuracy = 86% [78%, 93%]" in rows["SM-1"]
    linked = rows["TC-003"]  # a linked check: its requirement is its text, not an empty cell
    assert linked.split(" | ")[1].strip(), linked
    items = {item["id"]: item for item in json.loads((pytester.path / "report.json").read_text())["increments"][0]["items"]}
    assert all(item["title"] for item in items.values()), items
    assert items["T-002"]["title"].startswith("Train")
