"""The verdict table at the end of a run, and the one display rule shared by every report."""

from __future__ import annotations

import json

from conftest import write_increment

SPEC = """
---
primary_metric: roc_auc
---
# Demo

## Success Metrics
- roc_auc better than majority baseline by 50%
- accuracy ≥ 95%
- Precision of exp-002-t-002-train-logistic-regression ≥ 0.875
"""

TESTS = """
## Evaluation Criteria
- TC-001: accuracy >= 0.9
- TC-002: precision ≥ banana
"""

TASKS = """
- [ ] T-001: Majority baseline — `pipeline.py::baseline`
- [ ] T-002: Train logistic regression — `pipeline.py::train`
"""

PIPELINE = """
from pytest_specweave import track_experiment


def baseline():
    with track_experiment("majority", baseline=True) as exp:
        exp.log_metric("roc_auc", 0.5, exact=True)
        exp.log_metric("accuracy", 0.6, exact=True)


def train(experiment):
    experiment.log_metric("roc_auc", 0.9805, ci=(0.97, 0.99))
    experiment.log_metric("accuracy", 0.958, ci=(0.94, 0.97))
    experiment.log_metric("precision", 0.91, ci=(0.88, 0.93))
"""


def run(pytester, monkeypatch):
    folder = write_increment(pytester.path, "0001-demo", {"spec.md": SPEC, "tests.md": TESTS, "tasks.md": TASKS,
                                                          "pipeline.py": PIPELINE})
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "step.md"))
    monkeypatch.setenv("COLUMNS", "100")
    result = pytester.runpytest("increments", "-p", "no:cacheprovider", "--sw-json", "report.json")
    table = result.outlines[result.outlines.index(next(l for l in result.outlines if "specweave: 0001-demo" in l)):]
    return folder, result, table


def test_the_table_has_a_header_a_target_column_and_a_row_for_an_unreadable_threshold(pytester, monkeypatch):
    _, result, table = run(pytester, monkeypatch)
    header = table[1].split()
    assert header == ["id", "requirement", "measured", "target", "verdict"]
    rows = {line.split()[0]: line for line in table[2:] if line[:1] not in (" ", "") and line.split()[0][:2] in ("SM", "TC")}
    assert "0.9805 (1.961× [1.94×, 1.98×])" in rows["SM-1"] and "≥ 1.5×" in rows["SM-1"]
    assert "95.8% [94%, 97%]" in rows["SM-2"] and "≥ 95%" in rows["SM-2"] and rows["SM-2"].endswith("INCONCLUSIVE")
    assert "95.8% [94%, 97%]" in rows["TC-001"] and "≥ 90%" in rows["TC-001"] and rows["TC-001"].endswith("PASS")
    assert rows["TC-002"].endswith("FAIL (unreadable)") and "precision ≥ banana" in rows["TC-002"]
    unreadable = " ".join(" ".join(table[table.index(rows["TC-002"]):][:3]).split())
    assert "unreadable: expected a number" in unreadable and "after '>='" in unreadable
    assert any(line.startswith("judged on exp-002-t-002-train-logistic-regression") for line in table)


def test_a_long_requirement_wraps_and_keeps_its_number(pytester, monkeypatch):
    _, _, table = run(pytester, monkeypatch)
    start = next(i for i, line in enumerate(table) if line.startswith("SM-3"))
    block = [table[start]] + [line for line in table[start + 1:start + 6] if line.startswith(" ")]
    words = " ".join(block).split()
    assert "0.875" in words and "…" not in " ".join(block)
    assert "91% [88%, 93%]" in table[start] and "≥ 87.5%" in table[start]


def test_a_metric_reads_the_same_in_the_terminal_the_summary_and_the_step_summary(pytester, monkeypatch):
    folder, result, table = run(pytester, monkeypatch)
    summary = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    step = (pytester.path / "step.md").read_text(encoding="utf-8")
    for shown in ("95.8% [94%, 97%]", "0.9805 (1.961× [1.94×, 1.98×])"):
        assert shown in " ".join(table) and shown in summary and shown in step, shown
    assert "98.05%" not in summary + step + result.stdout.str()  # AUC is a score
    assert "150%" not in summary + step + result.stdout.str()  # a ratio is ×
    items = {i["id"]: i for i in json.loads((pytester.path / "report.json").read_text())["increments"][0]["items"]}
    assert items["SM-2"]["value"] == 0.958 and items["SM-2"]["interval"] == [0.94, 0.97]
    assert items["SM-1"]["ratio"] == [1.961, 1.94, 1.98] and items["SM-1"]["value"] == 0.9805
