"""The tracking API: track_experiment / track_model, increment resolution, context manager, artifacts, inputs."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_specweave.errors import SpecweaveError
from pytest_specweave.tracking import _runinfo, experiment as experiment_module
from pytest_specweave.tracking.api import (
    ENV_INCREMENT,
    ENV_TASK,
    active_increment,
    current_increment,
    track_experiment,
    track_model,
)
from pytest_specweave.tracking.store import ExperimentStore


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    inc = tmp_path / "increments" / "0042-recommendation-model"
    (inc / "notebooks").mkdir(parents=True)
    (inc / "spec.md").write_text("# Recs\n")
    other = tmp_path / "increments" / "0041-older"
    other.mkdir()
    (other / "tasks.md").write_text("- [ ] T-001: x\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_INCREMENT, raising=False)
    monkeypatch.delenv(ENV_TASK, raising=False)
    return inc


def test_track_experiment_by_prefix_and_context_manager(project):
    with track_experiment("exp-001-eda", increment="0042") as exp:
        exp.log_metric("rows", 1000)
        assert exp.status == "running"
    assert exp.status == "succeeded" and exp.folder == "exp-001-eda" and exp.name == "eda"
    assert exp.increment_dir.resolve() == project.resolve()
    (rec,) = ExperimentStore(project).records()
    assert rec.status == "succeeded" and rec.metrics["rows"].value == 1000 and rec.task is None


def test_increment_from_the_working_directory(project, monkeypatch):
    monkeypatch.chdir(project / "notebooks")
    assert current_increment() == project.resolve()
    with track_model("xgboost") as exp:
        exp.log_metric("rmse", 1.0)
    assert exp.kind == "model" and exp.path.parent == (project / "experiments").resolve()


def test_no_increment_asks_for_one(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecweaveError, match="increment="):
        track_experiment("x")
    with pytest.raises(SpecweaveError):
        track_experiment("x", increment="9999")


def test_active_increment_sets_increment_and_task(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with active_increment(project, task="T-004"):
        with track_experiment("candidate") as exp:
            pass
        with track_experiment("elsewhere", increment="0041") as other:  # explicit wins; not this task's increment
            pass
    assert exp.task == "T-004" and exp.path.parent.parent == project.resolve()
    assert other.task is None and other.path.parent.parent.name == "0041-older"
    with pytest.raises(SpecweaveError):
        track_experiment("outside the block")
    assert ExperimentStore(project).records()[0].task == "T-004"


def test_environment_variables_for_subprocesses_and_kernels(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV_INCREMENT, str(project))
    monkeypatch.setenv(ENV_TASK, "T-001")
    with track_experiment("from-kernel") as exp:
        pass
    assert exp.task == "T-001" and exp.path.parent.parent == project.resolve()


def test_exception_marks_failed_with_a_note_and_propagates(project):
    with pytest.raises(ZeroDivisionError):
        with track_experiment("broken", increment="0042") as exp:
            exp.log_metric("partial", 0.3)
            1 / 0
    (rec,) = ExperimentStore(project).records()
    assert rec.status == "failed" and rec.metrics["partial"].value == 0.3
    assert "ZeroDivisionError: division by zero" in rec.notes and "test_tracking_api.py" in rec.notes
    assert rec.meta["error"] == "ZeroDivisionError: division by zero"


def test_set_status_failed_keeps_a_failed_experiment_on_record(project):
    with track_experiment("diverged", increment="0042") as exp:
        exp.log_metric("loss", float("nan"))
        exp.set_status("failed")
        exp.log_note("loss went NaN at epoch 3")
        assert exp.status == "failed"
    (rec,) = ExperimentStore(project).records()
    assert rec.status == "failed" and "epoch 3" in rec.notes
    exp.set_status("succeeded")  # after the fact, still its own run: the record is rewritten
    assert ExperimentStore(project).records()[0].status == "succeeded"
    with pytest.raises(ValueError):
        exp.set_status("crashed")


def test_artifacts_are_copied_pickled_and_hashed(project, tmp_path):
    src = tmp_path / "importances.csv"
    src.write_text("feature,importance\na,0.7\n")
    tree = tmp_path / "shap"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "values.npy").write_bytes(b"\x00\x01")
    with track_experiment("explained", increment="0042") as exp:
        model_path = exp.save_artifact({"coef": [1.0, 2.0]}, "model.pkl")
        exp.log_artifact(src)
        exp.log_artifact(src, name="plots/imp.csv")
        assert exp.log_artifact(src, name="../../../escaped.csv") == exp.path / "escaped.csv"
        exp.log_artifact(tree)
        inside = exp.path / "made_here.txt"
        inside.write_text("x")
        exp.log_artifact(inside)
        report = exp.save_report("analysis.md", "# Analysis\n")
    assert pickle.loads(model_path.read_bytes()) == {"coef": [1.0, 2.0]}
    assert report.read_text() == "# Analysis\n"
    rec = ExperimentStore(project).records()[0]
    arts = rec.meta["artifacts"]
    assert arts["model.pkl"]["sha256"] == hashlib.sha256(model_path.read_bytes()).hexdigest()
    assert arts["importances.csv"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert arts["shap"]["kind"] == "dir" and arts["shap"]["files"] == 1
    assert set(arts) == {
        "model.pkl", "importances.csv", "plots/imp.csv", "escaped.csv", "shap", "made_here.txt", "analysis.md"
    }
    assert rec.artifacts == [
        "analysis.md", "escaped.csv", "importances.csv", "made_here.txt", "model.pkl", "plots/imp.csv",
        "shap/sub/values.npy",
    ]
    assert not (project.parent / "escaped.csv").exists() and not (project / "escaped.csv").exists()


def test_log_cv_and_the_interval_hook(project, monkeypatch):
    with track_experiment("cv", increment="0042") as exp:
        exp.log_cv("roc_auc", [0.90, 0.92, 0.94])
        exp.log_cv("recall", [0.90, 0.92, 0.94], test_train_ratio=0.25)
        monkeypatch.setattr(experiment_module, "cv_interval",
                            lambda folds, mean, std, level=0.95, test_train_ratio=None: (mean - 0.05, mean + 0.05, 0.9))
        exp.log_cv("f1", [0.5, 0.7])
        with pytest.raises(ValueError, match="test_train_ratio"):
            exp.log_cv("f1", [0.5, 0.7], test_train_ratio=-1)
    rec = ExperimentStore(project).records()[0]
    m = rec.metrics
    assert m["roc_auc"].value == pytest.approx(0.92) and m["roc_auc"].std == pytest.approx(0.02)
    assert m["roc_auc"].folds == (0.90, 0.92, 0.94)
    # the default hook: the Nadeau–Bengio corrected 95% t-interval, k-fold ratio 1/(3 - 1):
    # 0.92 ± t(0.975, 2) · √((1/3 + 1/2) · 0.02²)
    assert m["roc_auc"].ci == pytest.approx((0.92 - 0.0785553, 0.92 + 0.0785553), abs=1e-6) and m["roc_auc"].level == 0.95
    assert m["roc_auc"].test_train_ratio is None  # not given: the k-fold default, not stored
    # 0.92 ± t(0.975, 2) · √((1/3 + 1/4) · 0.02²)
    assert m["recall"].ci == pytest.approx((0.92 - 0.0657241, 0.92 + 0.0657241), abs=1e-6)
    assert m["recall"].test_train_ratio == 0.25
    assert m["f1"].ci == pytest.approx((0.55, 0.65)) and m["f1"].level == 0.9
    document = json.loads((rec.path / "metrics.json").read_text())["metrics"]
    assert document["recall"]["test_train_ratio"] == 0.25 and "test_train_ratio" not in document["roc_auc"]
    journal = [json.loads(line) for line in (rec.path / "logs" / "metrics.jsonl").read_text().splitlines()]
    assert [line.get("test_train_ratio") for line in journal if line["key"] == "recall"] == [0.25]


def test_log_input_hashes_files_folders_and_arrays(project, tmp_path):
    data = project / "data"
    data.mkdir()
    (data / "train.csv").write_text("a,b\n1,2\n")
    with track_experiment("inputs", increment="0042") as exp:
        digest = exp.log_input(data / "train.csv")
        exp.log_input(data, role="all")
        exp.log_input(b"raw", role="bytes")
        with pytest.raises(FileNotFoundError):
            exp.log_input(tmp_path / "missing.csv")
        with pytest.raises(TypeError, match="cannot hash"):
            exp.log_input(object())
        exp.set_seed(42)
    meta = ExperimentStore(project).records()[0].meta
    by_role = {e["role"]: e for e in meta["inputs"]}
    assert by_role["train"] == {**by_role["train"], "kind": "file", "path": "data/train.csv", "sha256": digest}
    assert digest == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert by_role["all"]["kind"] == "dir" and by_role["bytes"]["kind"] == "bytes"
    assert meta["seed"] == 42 and "random" in meta["seeded"]


def test_log_input_numpy_and_pandas(project):
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    a = np.arange(12, dtype="float64").reshape(3, 4)
    df = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    with track_experiment("arrays", increment="0042") as exp:
        h1 = exp.log_input(a, role="X")
        assert exp.log_input(a.copy(order="F"), role="X") == h1  # same values, same hash
        assert exp.log_input(a.astype("float32"), role="X32") != h1
        h_obj = exp.log_input(np.array(["a", None], dtype=object), role="obj")
        h_df = exp.log_input(df, role="df")
        assert exp.log_input(df.assign(x=[1, 3]), role="df2") != h_df
    assert h_obj and h_df
    inputs = ExperimentStore(project).records()[0].meta["inputs"]
    assert {e["role"]: e["kind"] for e in inputs} == {"X": "array", "X32": "array", "obj": "array", "df": "dataframe", "df2": "dataframe"}


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_commit_and_dirty_flag(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    inc = repo / "increments" / "0042-demo"
    inc.mkdir(parents=True)
    (inc / "spec.md").write_text("# x\n")
    (inc / "pipeline.py").write_text("x = 1\n")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    ExperimentStore(inc).open_run("first").finish()  # experiments/ gets committed, as the docs advise
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()

    monkeypatch.setattr(_runinfo, "_git_cache", {})
    ExperimentStore(inc).open_run("second").finish()  # rewrites committed experiment files: not "dirty"
    meta = json.loads((inc / "experiments" / "exp-002-second" / "meta.json").read_text())
    assert meta["git_commit"] == head and meta["git_dirty"] is False

    (inc / "pipeline.py").write_text("x = 2\n")
    monkeypatch.setattr(_runinfo, "_git_cache", {})
    ExperimentStore(inc).open_run("third").finish()
    meta = json.loads((inc / "experiments" / "exp-003-third" / "meta.json").read_text())
    assert meta["git_commit"] == head and meta["git_dirty"] is True


def test_tracker_imports_only_the_standard_library():
    code = (
        "import sys; import pytest_specweave.tracking.api, pytest_specweave.tracking.store, "
        "pytest_specweave.tracking.experiment; "
        "bad = [m for m in ('numpy', 'pandas', 'pytest', 'sklearn', 'mlflow', 'yaml') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([__import__("sys").executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_an_interval_with_non_finite_bounds_is_refused(tmp_path):
    import math

    import pytest

    from pytest_specweave.tracking.store import ExperimentStore

    folder = tmp_path / "increments" / "0001-demo"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("# Demo\n")
    with ExperimentStore(folder).open_run("m") as exp:
        with pytest.raises(ValueError, match="finite"):
            exp.log_metric("accuracy", 0.8, ci=(math.nan, 0.9))
        with pytest.raises(ValueError, match="above high"):
            exp.log_metric("accuracy", 0.8, ci=(0.9, 0.7))


def test_a_subprocess_of_a_task_naming_its_increment_keeps_the_task(tmp_path, monkeypatch):
    from pytest_specweave.tracking.api import track_experiment

    folder = tmp_path / "increments" / "0001-demo"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("# Demo\n")
    monkeypatch.setenv("PYTEST_SPECWEAVE_INCREMENT", str(folder))
    monkeypatch.setenv("PYTEST_SPECWEAVE_TASK", "T-007")
    monkeypatch.chdir(tmp_path)
    with track_experiment("eda", increment="increments/0001-demo") as exp:
        assert exp.task == "T-007"


def test_exact_metrics_round_trip_and_old_files_read(project):
    with track_experiment("exact", increment="0042") as exp:
        exp.log_metric("n_rows", 1200, exact=True)
        exp.log_metric("accuracy", 0.9)
        with pytest.raises(ValueError, match="exact.*ci"):
            exp.log_metric("n_rows", 1200, ci=(1100, 1300), exact=True)
    rec = ExperimentStore(project).records()[0]
    assert rec.metrics["n_rows"].exact and rec.metrics["n_rows"].value == 1200
    assert not rec.metrics["accuracy"].exact
    document = json.loads((rec.path / "metrics.json").read_text())["metrics"]
    assert document["n_rows"] == {"value": 1200.0, "exact": True} and document["accuracy"] == 0.9
    journal = [json.loads(line) for line in (rec.path / "logs" / "metrics.jsonl").read_text().splitlines()]
    assert [line.get("exact") for line in journal] == [True, None]
    # replaying the journal (a crashed run) keeps the flag
    from pytest_specweave.tracking.store import replay_journal

    assert replay_journal(rec.path / "logs" / "metrics.jsonl")[0]["n_rows"].exact
    # a metrics.json written before the flag existed still reads, every metric not exact
    (rec.path / "metrics.json").write_text(json.dumps({"schema": "pytest-specweave/metrics/1", "metrics": {
        "n_rows": 1200, "rmse": {"value": 1.2, "ci": [1.1, 1.3], "level": 0.95},
        "acc": {"value": 0.8, "folds": [0.79, 0.81, 0.8], "std": 0.01}}}))
    old = ExperimentStore(project).records()[0].metrics
    assert not any(m.exact for m in old.values()) and old["rmse"].ci == (1.1, 1.3)
    assert old["acc"].folds == (0.79, 0.81, 0.8) and old["acc"].test_train_ratio is None


def test_an_input_outside_the_increment_is_named_without_this_machines_folders(tmp_path):
    """Inside the project: relative to the increment; inside an installed package: the package and its path."""
    import pytest as pytest_module

    from pytest_specweave import ExperimentStore, track_experiment

    project = tmp_path / "project"
    inc = project / "increments" / "0001-x"
    inc.mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (project / "shared").mkdir()
    (project / "shared" / "data.csv").write_text("a\n1\n")
    installed = Path(pytest_module.__file__)  # a file of an installed package
    with track_experiment("model", increment=inc) as exp:
        exp.log_input(project / "shared" / "data.csv", role="train")
        exp.log_input(installed, role="code")
    inputs = {e["role"]: e for e in ExperimentStore(inc).find("model").meta["inputs"]}
    assert inputs["train"]["path"] == "../../shared/data.csv"
    assert inputs["code"]["path"] == "pytest/__init__.py" and inputs["code"]["package"] == "pytest"
    assert inputs["code"]["package_version"] == pytest_module.__version__
