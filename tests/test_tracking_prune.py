"""Pruning the store's history (`pytest-specweave prune --keep N`, the ini key sw_keep_runs): the older runs
go, the current runs, the run a promoted model came from and the evaluation ledger stay."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_specweave.evaluation.promotion import promote_best_model
from pytest_specweave.tracking.api import ENV_INCREMENT, ENV_TASK, track_experiment
from pytest_specweave.tracking.ledger import evaluation_counts
from pytest_specweave.tracking.models import load_model
from pytest_specweave.tracking.prune import prune_history

from conftest import demo_files, write_increment

SPEC = """
---
primary_metric: accuracy
---
# Pruned
## ML Problem Definition
- Success metrics: accuracy > 0.5
"""


@pytest.fixture
def inc(tmp_path, monkeypatch) -> Path:
    folder = write_increment(tmp_path, "0009-pruned", {"spec.md": SPEC, "tasks.md": "- [ ] T-001: Train\n"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_INCREMENT, raising=False)
    monkeypatch.delenv(ENV_TASK, raising=False)
    return folder


def train(run: int) -> None:
    with track_experiment("cutoff", increment="0009") as exp:
        exp.log_metric("accuracy", 0.6 + run / 100, exact=True)
        exp.log_input(b"the same test labels", role="eval_targets")
        exp.log_model({"cut": run})


def history(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "experiments" / "exp-001-cutoff" / "history").iterdir())


def test_keep_n_removes_older_runs_but_not_the_promoted_models_source_nor_the_ledger(inc):
    for run in (1, 2):
        train(run)
    assert promote_best_model(inc)["source_run"] == 2  # v1 came from run 2
    for run in (3, 4, 5):
        train(run)
    counts = evaluation_counts(inc)
    assert history(inc) == ["run-1", "run-2", "run-3", "run-4"]

    planned = prune_history(inc, 2, dry_run=True)
    assert history(inc) == ["run-1", "run-2", "run-3", "run-4"], "a dry run removes nothing"
    result = prune_history(inc, 2)
    assert [p.name for p in result.removed] == [p.name for p in planned.removed] == ["run-1", "run-3"]
    assert [p.name for p in result.kept_for_models] == ["run-2"]
    assert result.bytes_freed > 0
    assert history(inc) == ["run-2", "run-4"]  # the current run is run 5: it and the one before it are kept
    assert evaluation_counts(inc) == counts, "a pruned run's scorings of the test data still count"

    (inc / "models" / "model-v1.pkl").unlink()  # as in a fresh clone
    assert load_model("0009", version=1) == {"cut": 2}, "restored from the run it came from, kept in history"


def test_keep_one_leaves_only_the_current_runs(inc):
    for run in (1, 2, 3):
        train(run)
    prune_history(inc, 1)
    assert not (inc / "experiments" / "exp-001-cutoff" / "history").exists()
    with pytest.raises(ValueError, match="at least 1"):
        prune_history(inc, 0)


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest_specweave", "prune", *args], cwd=cwd, capture_output=True,
                          text=True, check=False)


def test_the_prune_command_prunes_the_increments_of_the_current_project(inc):
    for run in (1, 2, 3):
        train(run)
    dry = cli(inc.parent.parent, "--keep", "2", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("increments/0009-pruned: would remove 1 earlier run (")
    assert history(inc) == ["run-1", "run-2"]
    done = cli(inc.parent.parent, "--keep", "1")
    assert done.returncode == 0 and done.stdout.startswith("increments/0009-pruned: removed 2 earlier runs ("), done
    refused = cli(inc.parent.parent, "--keep", "0")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "--keep 0: keep at least 1 run (the current one) of each experiment" in refused.stderr


def test_the_ini_key_prunes_after_each_run(tmp_path):
    write_increment(tmp_path, "0001-demo", demo_files())
    (tmp_path / "pytest.ini").write_text("[pytest]\nsw_keep_runs = 1\n", encoding="utf-8")
    for _ in range(2):
        result = subprocess.run([sys.executable, "-m", "pytest", "increments/0001-demo", "-p", "no:cacheprovider"],
                                cwd=tmp_path, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout[-3000:]
    assert "specweave: 0001-demo: sw_keep_runs = 1: removed 3 earlier runs (" in result.stdout
    assert not list((tmp_path / "increments" / "0001-demo" / "experiments").glob("*/history/run-*"))

    (tmp_path / "pytest.ini").write_text("[pytest]\nsw_keep_runs = all\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pytest", "increments/0001-demo", "-p", "no:cacheprovider"],
                            cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ("specweave: could not prune: pytest.ini: sw_keep_runs = 'all', expected a whole number of runs, "
            "at least 1") in result.stdout
