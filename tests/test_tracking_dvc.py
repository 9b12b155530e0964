"""Data versions from DVC: a real `dvc init` and `dvc add` in a git repository; the version recorded beside the sha256."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from pytest_specweave import ExperimentStore, track_experiment
from pytest_specweave.tracking.dvc_versions import dvc_version

pytest.importorskip("dvc")


def dvc(cwd, *args):
    run = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


@pytest.fixture
def repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is needed")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    dvc(tmp_path, "init", "-q")
    dvc(tmp_path, "config", "core.analytics", "false")
    inc = tmp_path / "increments" / "0001-dvc"
    (inc / "data").mkdir(parents=True)
    (inc / "data" / "train.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    dvc(tmp_path, "add", "-q", "increments/0001-dvc/data/train.csv")
    return tmp_path, inc


def test_a_file_added_with_dvc_has_its_md5_recorded_beside_the_sha256(repo):
    root, inc = repo
    data = inc / "data" / "train.csv"
    version = dvc_version(data)
    assert version["file"] == "increments/0001-dvc/data/train.csv.dvc"
    assert version["path"] == "increments/0001-dvc/data/train.csv" and version["stage"] is None
    assert version["matches"] is True and len(version["md5"]) == 32
    with track_experiment("model", increment=inc) as exp:
        exp.log_input(data, role="train")
    entry = ExperimentStore(inc).find("model").meta["inputs"][0]
    assert entry["dvc"]["md5"] == version["md5"] and len(entry["sha256"]) == 64


def test_a_rerun_on_a_new_dvc_version_says_so_and_an_unadded_change_is_noted(repo):
    root, inc = repo
    data = inc / "data" / "train.csv"
    with track_experiment("model", increment=inc) as exp:
        exp.log_input(data, role="train")
    first = dvc_version(data)["md5"]
    data.write_text("a,b\n1,2\n3,5\n", encoding="utf-8")
    with track_experiment("model", increment=inc) as exp:
        exp.log_input(data, role="train")  # changed, not yet `dvc add`ed
    notes = ExperimentStore(inc).find("model").notes
    assert "differs from the version increments/0001-dvc/data/train.csv.dvc records" in notes
    dvc(root, "add", "-q", "increments/0001-dvc/data/train.csv")
    with track_experiment("model", increment=inc) as exp:
        exp.log_input(data, role="train")
    record = ExperimentStore(inc).find("model")
    assert record.meta["inputs"][0]["dvc"]["md5"] != first
    assert f"data/train.csv: its DVC version changed since the previous run (md5 {first[:12]}…" in record.notes


def test_a_stage_output_is_read_from_dvc_lock_and_a_folder_member_from_its_folder(repo):
    root, inc = repo
    (root / "dvc.yaml").write_text(
        "stages:\n  prepare:\n    cmd: python -c \"open('increments/0001-dvc/data/features.csv','w').write('x\\\\n1\\\\n')\"\n"
        "    outs:\n    - increments/0001-dvc/data/features.csv\n", encoding="utf-8")
    dvc(root, "repro", "-q")
    version = dvc_version(inc / "data" / "features.csv")
    assert version["stage"] == "prepare" and version["file"] == "dvc.lock" and version["matches"] is True
    (root / "raw").mkdir()
    (root / "raw" / "part-1.csv").write_text("x\n1\n", encoding="utf-8")
    dvc(root, "add", "-q", "raw")
    member = dvc_version(root / "raw" / "part-1.csv")
    assert member["path"] == "raw" and member["member"] == "part-1.csv" and member["md5"].endswith(".dir")


def test_a_project_without_dvc_records_no_version(tmp_path):
    (tmp_path / "x.csv").write_text("a\n1\n", encoding="utf-8")
    assert dvc_version(tmp_path / "x.csv") is None


def test_the_summary_shows_the_data_version_of_the_judged_experiment(repo):
    root, inc = repo
    (inc / "tasks.md").write_text("- [x] T-001: Train — `pipeline.py::train`\n", encoding="utf-8")
    (inc / "spec.md").write_text("# Spec\n\n## Success Metrics\n- accuracy > 0.5\n", encoding="utf-8")
    (inc / "pipeline.py").write_text(
        "from pathlib import Path\n\n\ndef train(experiment):\n"
        "    experiment.log_input(Path(__file__).parent / 'data' / 'train.csv', role='train')\n"
        "    experiment.log_metric('accuracy', 0.9, ci=(0.85, 0.95))\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "pytest", "increments", "-p", "no:cacheprovider"], cwd=root,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    md5 = dvc_version(inc / "data" / "train.csv")["md5"]
    summary = (inc / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert (f"- Data versions (DVC): data/train.csv md5 {md5[:12]}… (increments/0001-dvc/data/train.csv.dvc)"
            in summary)
