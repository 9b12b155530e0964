"""What a fresh clone holds: the promoted model's metadata is committed, its pickle is not (`*.pkl` is
ignored, as the scaffold's .gitignore says). A run from a clone restores the promoted version from the
experiment's model when the bytes are the ones recorded, and says how to restore it when they are not."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import head_env, write_increment

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

SPEC = """
---
primary_metric: accuracy
---
# Served model

## ML Problem Definition
- Success metrics: accuracy > 0.5
"""

TASKS = """
# Tasks

- [ ] T-001: Train the model — `pipeline.py::train`
- [ ] T-002: Serve the promoted model — `pipeline.py::serve`
"""

PIPELINE = """
from pytest_specweave import load_model, track_experiment


def train():
    with track_experiment("cutoff") as exp:
        exp.log_metric("accuracy", 0.9, exact=True)
        exp.log_model({"cut": 0.5})  # the same bytes on every run


def serve(experiment):
    model = load_model("0003")
    experiment.log_metric("cut", model["cut"], exact=True)
"""

GITIGNORE = "*.pkl\n.lock*\n.tmp-*\n.*.tmp\n__pycache__/\n"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args], cwd=cwd,
                          capture_output=True, text=True, check=False)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd,
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture
def clone(tmp_path) -> Path:
    """A project whose model v1 was promoted and committed, then extracted with `git archive HEAD`."""
    project = tmp_path / "project"
    folder = write_increment(project, "0003-served", {"spec.md": SPEC, "tasks.md": TASKS, "pipeline.py": PIPELINE,
                                                       ".gitignore": GITIGNORE})
    first = run(project, "increments/0003-served/tasks.md::T-001")
    assert first.returncode == 0, first.stdout[-3000:]
    assert (folder / "models" / "model-v1.pkl").is_file()
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "v1")
    copy = tmp_path / "clone"
    copy.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=project, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x"], input=archive, cwd=copy, check=True)
    served = copy / "increments" / "0003-served"
    assert (served / "models" / "model-v1.metadata.json").is_file()
    assert not (served / "models" / "model-v1.pkl").exists(), "the clone has no pickle"
    return served


def test_a_clone_restores_the_promoted_version_from_the_retrained_experiment(clone):
    result = run(clone.parent.parent, "increments/0003-served")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "3 passed" in output
    metadata = json.loads((clone / "models" / "model-v1.metadata.json").read_text(encoding="utf-8"))
    import hashlib

    assert hashlib.sha256((clone / "models" / "model-v1.pkl").read_bytes()).hexdigest() == metadata["sha256"]
    assert not (clone / "models" / "model-v2.metadata.json").exists(), "the same bytes are not a new version"


def test_promotion_alone_restores_a_missing_version_file(clone):
    result = run(clone.parent.parent, "increments/0003-served/tasks.md::T-001")
    assert result.returncode == 0, result.stdout[-3000:]
    assert (clone / "models" / "model-v1.pkl").is_file()
    assert sorted(p.name for p in (clone / "models").glob("model-v*")) == ["model-v1.card.md", "model-v1.metadata.json", "model-v1.pkl"]


def test_without_the_experiments_model_the_failure_says_which_command_restores_it(clone):
    result = run(clone.parent.parent, "increments/0003-served/tasks.md::T-002")
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert ("models/model-v1.pkl does not exist, though model-v1.metadata.json does (pickles are not committed: "
            "a fresh clone has only the metadata), and the model it was promoted from, "
            "experiments/exp-001-cutoff/model.pkl, is gone too. Restore it with `pytest increments/0003-served`: "
            "its task T-001 trains the model again") in output, output[-3000:]
    assert "Traceback" not in output


def test_a_changed_experiment_model_is_not_restored_as_the_promoted_version(clone):
    (clone / "experiments" / "exp-001-cutoff" / "model.pkl").write_bytes(b"not the promoted bytes")
    result = run(clone.parent.parent, "increments/0003-served/tasks.md::T-002")
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "experiments/exp-001-cutoff/model.pkl is not the model promoted (its sha256 differs from" in output
    assert not (clone / "models" / "model-v1.pkl").exists()


def test_the_example_and_scaffold_runs_use_the_package_git_holds(git_head):
    """tests/conftest.py's git_head: a subprocess given head_env imports pytest_specweave from the HEAD copy."""
    found = subprocess.run([sys.executable, "-c", "import pytest_specweave, sys; print(pytest_specweave.__file__)"],
                           capture_output=True, text=True, check=True, env=head_env(git_head), cwd=git_head.parent)
    assert Path(found.stdout.strip()).resolve().is_relative_to(git_head.resolve())
    assert (git_head / "pytest_specweave" / "scaffold" / "templates" / "common" / "gitignore.tmpl").is_file()
