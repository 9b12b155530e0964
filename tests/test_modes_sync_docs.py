"""--sw-sync-docs: the chosen model in docs/architecture/ml-models.md, and an ADR with the comparison behind it."""

from __future__ import annotations

from conftest import demo_files, write_increment
from modes_support import write_complete

USER_TEXT = "# Our models\r\n\r\nHand-written notes that must survive.\r\n"


def test_the_models_doc_and_the_adr_are_written_and_rewritten_in_place(pytester):
    write_complete(pytester.path)
    docs = pytester.path / "docs" / "architecture"
    (docs / "adr").mkdir(parents=True)
    (docs / "adr" / "0003-use-postgres.md").write_text("# ADR-0003: Postgres\n")
    (docs / "ml-models.md").write_bytes(USER_TEXT.encode())
    result = pytester.runpytest("increments", "--sw-sync-docs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)
    result.stdout.fnmatch_lines(["specweave: wrote docs/architecture/ml-models.md",
                                 "specweave: wrote docs/architecture/adr/0004-churn-algorithm.md"])
    models = (docs / "ml-models.md").read_bytes().decode()
    assert models.startswith(USER_TEXT + "\r\n<!-- pytest-specweave:0001-churn -->\r\n## 0001-churn: Churn classifier")
    assert models.endswith("<!-- /pytest-specweave:0001-churn -->\r\n")
    for row in ("| algorithm | threshold (`ThresholdModel`) |", "| experiment | `exp-002-t-002-train-model` (task T-002) |",
                "| promoted version | `models/model-v1.pkl` (v1, sha256 `", "| accuracy (primary) | 90% |",
                "| decision record | [ADR-0004](adr/0004-churn-algorithm.md) |",
                "| increment | [`0001-churn`](../../increments/0001-churn) |"):
        assert row in models
    adr = (docs / "adr" / "0004-churn-algorithm.md").read_text()
    assert adr.startswith("# ADR-0004: threshold for Churn classifier\n")
    for part in ("## Context", "## Decision", "## Comparison", "## Consequences",
                 "| experiment | role | algorithm | accuracy |",
                 "| `exp-002-t-002-train-model` | **chosen** | threshold | 90% |",
                 "| `exp-001-baseline-random` | baseline | baseline-random | 30% |",
                 "Use **threshold** (ThresholdModel): the model of experiment `exp-002-t-002-train-model` (task T-002), "
                 "the best succeeded candidate by accuracy = 90%; promoted as `models/model-v1.pkl`",
                 "- Against the best baseline, `exp-001-baseline-random` (accuracy = 30%): 90% (3×)."):
        assert part in adr

    (docs / "ml-models.md").write_bytes(models.encode() + b"\r\nMore notes after the section.\r\n")
    again = pytester.runpytest("increments", "--sw-sync-docs", "-p", "no:cacheprovider")
    again.stdout.fnmatch_lines(["specweave: wrote docs/architecture/adr/0004-churn-algorithm.md"])
    assert sorted(p.name for p in (docs / "adr").iterdir()) == ["0003-use-postgres.md", "0004-churn-algorithm.md"]
    rewritten = (docs / "ml-models.md").read_bytes().decode()
    assert rewritten.count("<!-- pytest-specweave:0001-churn -->") == 1
    assert rewritten.startswith(USER_TEXT) and rewritten.endswith("\r\nMore notes after the section.\r\n")


def test_each_increment_gets_its_own_section_and_adr(pytester):
    write_increment(pytester.path, "0001-demo", demo_files())
    write_increment(pytester.path, "0002-demo", demo_files(accuracy=0.95))
    pytester.runpytest("increments", "--sw-sync-docs", "-p", "no:cacheprovider")
    docs = pytester.path / "docs" / "architecture"
    models = (docs / "ml-models.md").read_text()
    assert models.index("<!-- pytest-specweave:0001-demo -->") < models.index("<!-- pytest-specweave:0002-demo -->")
    assert sorted(p.name for p in (docs / "adr").iterdir()) == ["0001-demo-algorithm.md", "0002-demo-algorithm.md"]
    assert "promoted version | none" in models  # the demo saves no model file


def test_specweave_layout_writes_under_its_internal_docs(pytester):
    write_complete(pytester.path, "0005-churn").rename(pytester.path / "increments" / "moved")
    (pytester.path / ".specweave" / "increments").mkdir(parents=True)
    (pytester.path / "increments" / "moved").rename(pytester.path / ".specweave" / "increments" / "0005-churn")
    result = pytester.runpytest(".specweave/increments/0005", "--sw-sync-docs", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["specweave: wrote .specweave/docs/internal/architecture/ml-models.md",
                                 "specweave: wrote .specweave/docs/internal/architecture/adr/0001-churn-algorithm.md"])
    assert not (pytester.path / "docs").exists()


def test_nothing_is_written_before_a_model_is_chosen(pytester):
    files = demo_files()
    files["tasks.md"] = "- [ ] T-001: Train baseline — `pipeline.py::train_baseline`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = pytester.runpytest("increments", "--sw-sync-docs", "-m", "sw_task", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["specweave: 0001-demo: docs not synced: no model chosen yet: no succeeded candidate "
                                 "logged the primary metric accuracy"])
    assert not (pytester.path / "docs").exists()


def test_run_from_a_parent_folder_the_docs_go_to_the_project_that_holds_the_increment(pytester):
    project = pytester.path / "churn-project"
    write_complete(project)
    (project / ".git").mkdir()
    result = pytester.runpytest("churn-project/increments", "--sw-sync-docs", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["specweave: wrote churn-project/docs/architecture/ml-models.md"])
    assert (project / "docs" / "architecture" / "ml-models.md").is_file()
    assert not (pytester.path / "docs").exists()
    models = (project / "docs" / "architecture" / "ml-models.md").read_text()
    assert "| increment | [`0001-churn`](../../increments/0001-churn) |" in models


def test_without_a_project_marker_the_docs_go_beside_the_increments_folder(pytester):
    write_complete(pytester.path / "unmarked")
    pytester.runpytest("unmarked/increments", "--sw-sync-docs", "-p", "no:cacheprovider")
    assert (pytester.path / "unmarked" / "docs" / "architecture" / "ml-models.md").is_file()
    assert not (pytester.path / "docs").exists()


def test_an_adr_written_before_under_the_increments_full_name_is_rewritten_in_place(tmp_path):
    from pytest_specweave.modes.sync_docs import _adr_path

    (tmp_path / "0001-use-postgres.md").write_text("# ADR-0001: Postgres\n")
    legacy = tmp_path / "0002-0001-churn-algorithm.md"
    legacy.write_text("# ADR-0002: x\n")
    assert _adr_path(tmp_path, "0001-churn") == legacy
    assert _adr_path(tmp_path, "0002-churn") == tmp_path / "0003-churn-algorithm.md"
    (tmp_path / "0003-churn-algorithm.md").write_text("# ADR-0003: y\n\n- **Status**: Accepted\n- **Increment**: `0002-churn`\n")
    assert _adr_path(tmp_path, "0002-churn") == tmp_path / "0003-churn-algorithm.md"
    assert _adr_path(tmp_path, "0007-churn") == tmp_path / "0004-churn-algorithm.md"


def test_the_runbook_holds_how_to_retrain_and_ship_and_is_rewritten_keeping_what_people_wrote(pytester):
    write_complete(pytester.path)
    result = pytester.runpytest("increments", "--sw-sync-docs", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["specweave: wrote docs/runbooks/churn.md"])
    path = pytester.path / "docs" / "runbooks" / "churn.md"
    runbook = path.read_text(encoding="utf-8")
    assert runbook.startswith("# Runbook: churn\n")
    for part in ("- Algorithm: threshold, trained by experiment `exp-002-t-002-train-model` (task T-002)",
                 "- Promoted: `increments/0001-churn/models/model-v1.pkl` (v1, sha256 `",
                 "| `algorithm` | `threshold` |",
                 "pytest increments/0001-churn                       # every task",
                 "pytest increments/0001-churn/tasks.md::T-002   # the task that trains this model",
                 "| latency_p95_ms | 12.5 ms [11 ms, 14 ms] | `exp-003-t-003-measure-latency` |",
                 "- No reference profile ships with the promoted model"):
        assert part in runbook, part
    path.write_text("On call: #ml-oncall\n\n" + runbook + "\nRollback: promote the previous version.\n",
                    encoding="utf-8")
    pytester.runpytest("increments", "--sw-sync-docs", "-p", "no:cacheprovider")
    again = path.read_text(encoding="utf-8")
    assert again.count("<!-- pytest-specweave:0001-churn -->") == 1  # rewritten, not appended
    assert again.startswith("On call: #ml-oncall\n\n# Runbook: churn\n")
    assert again.endswith("\nRollback: promote the previous version.\n")
