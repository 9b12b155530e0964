"""The MLflow mirror: runs as in the local store (SQLite default), safe names, steps, batches, the
model registry, the pytest switches, and a real `mlflow server` on 127.0.0.1."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow.tracking import MlflowClient  # noqa: E402

from conftest import demo_files, write_increment  # noqa: E402
from mlflow_support import mlflow_server  # noqa: E402,F401 - the module's server fixture
from pytest_specweave.tracking import mlflow_mirror  # noqa: E402
from pytest_specweave.tracking.api import ENV_INCREMENT, ENV_TASK, track_experiment  # noqa: E402
from pytest_specweave.tracking.mlflow_mirror import (  # noqa: E402
    _fluent_uri,
    batches,
    configure_mlflow,
    param_text,
    safe_name,
    safe_names,
)
from pytest_specweave.evaluation.promotion import promote_best_model  # noqa: E402
from pytest_specweave.tracking.models import load_model  # noqa: E402
from pytest_specweave.tracking.store import ExperimentStore, TrackingWarning  # noqa: E402

SPEC = """
---
primary_metric: accuracy
---
# Demo
## ML Problem Definition
- Success metrics: accuracy > 0.5
"""


@pytest.fixture(autouse=True)
def mirror_state(monkeypatch):
    """Each test configures the mirror itself; the process's state and environment are put back after."""
    before = mlflow_mirror.current_state()
    mlflow_mirror.restore_state(None)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv(ENV_INCREMENT, raising=False)
    monkeypatch.delenv(ENV_TASK, raising=False)
    yield
    mlflow_mirror.restore_state(before)


@pytest.fixture(autouse=True)
def forget_increment_packages():
    """load_model registers `pytest_specweave_increments` in this process; later in-process pytest runs
    (pytester) must not find it imported (pytest could no longer rewrite its asserts)."""
    before = {name for name in sys.modules if name.split(".")[0] == "pytest_specweave_increments"}
    yield
    for name in [n for n in sys.modules if n.split(".")[0] == "pytest_specweave_increments" and n not in before]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def sqlite_inc(tmp_path_factory) -> Path:
    """One increment (so one SQLite database, created once) shared by the tests of runs."""
    root = tmp_path_factory.mktemp("mirror")
    return write_increment(root, "0011-mirrored", {"spec.md": SPEC, "tasks.md": "- [ ] T-004: Train\n"})


@pytest.fixture(scope="module", autouse=True)
def mlflow_loaded(sqlite_inc):
    """MLflow's stores, SQLAlchemy and alembic imported by this process before any in-process pytest run:
    pytester removes the modules a run imports when it ends, and a second copy of SQLAlchemy breaks."""
    import mlflow.pyfunc  # noqa: F401
    import mlflow.sklearn  # noqa: F401

    client_for(mlflow_mirror.default_tracking_uri(sqlite_inc)).search_experiments()
    client_for(mlflow_mirror.default_tracking_uri(sqlite_inc)).search_registered_models()


def client_for(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def run_of(uri: str, increment: Path, folder: str):
    client = client_for(uri)
    experiment = client.get_experiment_by_name(increment.name)
    (run,) = client.search_runs([experiment.experiment_id], filter_string=f"tags.`specweave.experiment` = '{folder}'")
    return run


# ----------------------------------------------------------------------------------------------
# Names and batches (no MLflow call)


@pytest.mark.parametrize(
    "name, safe",
    [
        ("precision@10", "precision_at_10"),
        ("ndcg@k=10", "ndcg_at_k_10"),
        ("error%", "error_"),
        ("val/loss", "val/loss"),
        ("a b-c.d:e_f", "a b-c.d:e_f" if os.name != "nt" else "a b-c.d_e_f"),
        ("../x", "__/x"),
        ("/lead//double/", "lead/double"),
        ("x" * 300, None),
    ],
)
def test_safe_names(name, safe):
    spelt = safe_name(name)
    if safe is not None:
        assert spelt == safe
    assert mlflow_mirror.is_safe(spelt) and len(spelt) <= 250


def test_safe_names_never_collide_and_keep_accepted_names():
    assert safe_names(["p@10", "p_at_10", "loss"]) == {"p_at_10": "p_at_10", "loss": "loss", "p@10": "p_at_10_2"}


def test_batches_respect_mlflows_limits():
    chunks = list(batches(list(range(150)), list(range(2500))))
    assert [(len(p), len(m)) for p, m in chunks] == [(100, 900), (50, 950), (0, 650)]
    assert all(len(p) <= 100 and len(p) + len(m) <= 1000 for p, m in chunks)
    assert list(batches([], [])) == [([], [])] and len(list(batches([1], [1, 2]))) == 1


def test_param_text_is_what_mlflow_log_param_writes():
    assert [param_text(v) for v in ("rank:ndcg", 6, 0.1, True, None, [64, 32], {"a": 1})] == [
        "rank:ndcg", "6", "0.1", "True", "None", "[64, 32]", '{"a": 1}']


# ----------------------------------------------------------------------------------------------
# The SQLite default


def test_runs_arrive_with_the_stores_params_and_metric_values(sqlite_inc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = configure_mlflow(sqlite_inc)
    assert uri == f"sqlite:///{sqlite_inc.resolve().as_posix()}/mlflow.db"
    with track_experiment("baseline-random", increment=sqlite_inc) as base:
        base.log_metric("precision@10", 0.012)
    with track_experiment("xgboost", increment=sqlite_inc, task="T-004") as exp:
        exp.log_params({"max_depth": 6, "eta": 0.1, "objective": "rank:ndcg", "early_stop": True,
                        "layers": [64, 32], "none": None, "lr@start": 0.5})
        for step in range(30):
            exp.log_metric("loss", 1 / (step + 1), step=step)
        exp.log_metric("precision@10", 0.31)
        exp.log_metric("ndcg@10", 0.4, ci=(0.38, 0.42))
        exp.log_metrics({"rmse": 1.25, "val/loss": 0.5, "recall at 5": 2 / 3})
    records = {r.folder: r for r in ExperimentStore(sqlite_inc).records()}
    with _fluent_uri(uri):
        runs = mlflow.search_runs(experiment_names=[sqlite_inc.name])
    assert sorted(runs["tags.specweave.experiment"]) == sorted(records) and set(runs["status"]) == {"FINISHED"}
    for folder, record in records.items():
        (row,) = [row for _, row in runs.iterrows() if row["tags.specweave.experiment"] == folder]
        metric_names = json.loads(_value(row, "tags.specweave.metric_names", "{}"))
        param_names = json.loads(_value(row, "tags.specweave.param_names", "{}"))
        mirrored_metrics = {k[len("metrics."):]: v for k, v in row.items() if k.startswith("metrics.") and not _missing(v)}
        mirrored_params = {k[len("params."):]: v for k, v in row.items() if k.startswith("params.") and not _missing(v)}
        assert mirrored_metrics == {metric_names.get(k, k): m.value for k, m in record.metrics.items()}
        assert mirrored_params == {param_names.get(k, k): param_text(v) for k, v in record.params.items()}
        assert row["tags.mlflow.runName"] == record.name and row["tags.specweave.increment"] == sqlite_inc.name
        assert row["tags.specweave.experiment_number"] == str(record.number)
        assert row["tags.specweave.baseline"] == ("true" if record.baseline else "false")
        assert record.meta["mlflow"]["run_id"] == row["run_id"]
        assert record.meta["mlflow"]["tracking_uri"] == "sqlite:///<increment>/mlflow.db"
    xgb = runs[runs["tags.specweave.experiment"] == "exp-002-xgboost"].iloc[0]
    assert xgb["tags.specweave.task"] == "T-004"
    assert json.loads(xgb["tags.specweave.metric_names"]) == {"precision@10": "precision_at_10", "ndcg@10": "ndcg_at_10"}
    assert json.loads(xgb["tags.specweave.param_names"]) == {"lr@start": "lr_at_start"}
    assert (sqlite_inc / "mlflow.db").is_file() and not (tmp_path / "mlruns").exists()
    experiment = client_for(uri).get_experiment_by_name(sqlite_inc.name)
    assert experiment.artifact_location == (sqlite_inc / "mlartifacts").resolve().as_uri()


def _missing(value) -> bool:
    return value is None or isinstance(value, float) and math.isnan(value)


def _value(row, column, default):
    value = row.get(column)
    return default if _missing(value) else value


def test_every_step_arrives_with_its_step_and_time(sqlite_inc):
    uri = configure_mlflow(sqlite_inc)
    with track_experiment("curves", increment=sqlite_inc) as exp:
        for step in range(0, 50, 5):
            exp.log_metric("loss", 10 - step / 10, step=step)
        for value in (0.1, 0.2, 0.3):
            exp.log_metric("no step", value)  # its lines get the steps 0, 1, 2, as the store's series do
    (record,) = [r for r in ExperimentStore(sqlite_inc).records() if r.folder == exp.folder]
    client = client_for(uri)
    run_id = record.meta["mlflow"]["run_id"]
    history = sorted((m.step, m.value, m.timestamp) for m in client.get_metric_history(run_id, "loss"))
    assert history == [(step, value, int(t * 1000)) for step, value, t in record.series("loss")]
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "no step")] == [(0, 0.1), (1, 0.2), (2, 0.3)]


def test_one_batch_per_experiment_split_only_at_mlflows_limits(sqlite_inc, monkeypatch):
    configure_mlflow(sqlite_inc)
    calls = []
    original = MlflowClient.log_batch

    def counting(self, run_id, metrics=(), params=(), tags=(), **kwargs):
        calls.append((len(params), len(metrics)))
        return original(self, run_id, metrics=metrics, params=params, tags=tags, **kwargs)

    monkeypatch.setattr(MlflowClient, "log_batch", counting)
    monkeypatch.setattr(MlflowClient, "log_metric", lambda *a, **k: pytest.fail("log_metric called"))
    with track_experiment("small", increment=sqlite_inc) as small:
        small.log_params({f"p{i}": i for i in range(10)})
        for step in range(100):
            small.log_metrics({"a": step, "b": -step}, step=step)
    assert calls == [(10, 200)]
    calls.clear()
    with track_experiment("large", increment=sqlite_inc) as large:
        large.log_params({f"p{i}": i for i in range(150)})
        for step in range(1250):
            large.log_metrics({"a": step, "b": -step}, step=step)
    assert calls == [(100, 900), (50, 950), (0, 650)]
    uri = mlflow_mirror.default_tracking_uri(sqlite_inc)
    run = run_of(uri, sqlite_inc, large.folder)
    assert len(run.data.params) == 150 and len(client_for(uri).get_metric_history(run.info.run_id, "b")) == 1250


def test_statuses_are_mapped(sqlite_inc):
    uri = configure_mlflow(sqlite_inc)
    with pytest.raises(ZeroDivisionError):
        with track_experiment("diverged", increment=sqlite_inc) as failed:
            failed.log_metric("loss", float("nan"))
            1 / 0
    crashed = ExperimentStore(sqlite_inc).open_run("killed")
    crashed.log_metric("loss", float("inf"))
    crashed._abandon()  # what the interpreter's exit does to an unfinished run
    assert run_of(uri, sqlite_inc, failed.folder).info.status == "FAILED"
    killed = run_of(uri, sqlite_inc, crashed.folder)
    assert killed.info.status == "KILLED" and killed.data.tags["specweave.status"] == "crashed"
    failed_run = run_of(uri, sqlite_inc, failed.folder)
    assert math.isnan(failed_run.data.metrics["loss"]) and "ZeroDivisionError" in failed_run.data.tags["mlflow.note.content"]


def test_an_unusable_tracking_uri_warns_once_and_tracking_goes_on(tmp_path):
    inc = write_increment(tmp_path, "0012-offline", {"spec.md": SPEC})
    (tmp_path / "a-file").write_text("")
    configure_mlflow(inc, tracking_uri=f"sqlite:///{(tmp_path / 'a-file' / 'mlflow.db').as_posix()}")
    with pytest.warns(TrackingWarning, match=r"exp-001-first: not mirrored to MLflow: cannot use MLflow at sqlite:.*a-file"):
        with track_experiment("first", increment=inc) as first:
            first.log_metric("accuracy", 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with track_experiment("second", increment=inc) as second:
            second.log_metric("accuracy", 0.9)
    assert [r.status for r in ExperimentStore(inc).records()] == ["succeeded", "succeeded"]
    assert "mlflow" not in first.meta


# ----------------------------------------------------------------------------------------------
# Promoted models in the registry


class Rule:
    """A model without an MLflow flavor here: logged as a python_function around its pickle."""

    def __init__(self, cut):
        self.cut = cut

    def predict(self, rows):
        return [int(r > self.cut) for r in rows]


def test_each_promotion_is_a_new_registry_version_with_a_signature(tmp_path):
    from sklearn.linear_model import LogisticRegression

    inc = write_increment(tmp_path, "0013-registry", {"spec.md": SPEC})
    uri = configure_mlflow(inc)
    X = [[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]]
    y = [0, 1, 0, 1]

    def train(accuracy, C):
        with track_experiment("logreg", increment=inc) as exp:
            exp.log_metric("accuracy", accuracy)
            exp.log_model(LogisticRegression(C=C).fit(X, y), input_example=X[:2])

    train(0.8, 1.0)
    first = promote_best_model(inc)
    (entry,) = first["mlflow"]
    assert entry["registered_model"] == inc.name and entry["registry_version"] == 1 and entry["signature"] is True
    assert json.loads((inc / "models" / "model-v1.metadata.json").read_text())["mlflow"] == [entry]
    train(0.8, 1.0)  # the same model again: no new version, locally or in the registry
    assert promote_best_model(inc) is None
    train(0.85, 0.5)
    second = promote_best_model(inc)
    assert second["version"] == 2 and second["mlflow"][0]["registry_version"] == 2
    client = client_for(uri)
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{inc.name}'"))
    assert versions == [1, 2]
    run = client.get_run(second["mlflow"][0]["run_id"])
    assert run.data.tags["specweave.experiment"] == second["source_experiment"]
    with _fluent_uri(uri):
        info = mlflow.models.get_model_info(f"models:/{inc.name}/2")
        registered = mlflow.sklearn.load_model(f"models:/{inc.name}/2")
    assert info.signature is not None and info.signature.inputs.to_dict()
    assert list(registered.predict(X)) == list(load_model(inc).predict(X))

    with track_experiment("rule", increment=inc) as exp:  # no flavor, no input example: no signature
        exp.log_metric("accuracy", 0.9)
        exp.log_model(Rule(0.5))
    third = promote_best_model(inc)
    assert third["mlflow"][0]["registry_version"] == 3 and third["mlflow"][0]["signature"] is False
    with _fluent_uri(uri):
        assert list(mlflow.pyfunc.load_model(f"models:/{inc.name}/3").predict([0.2, 0.7])) == [0, 1]
    assert os.environ.get("MLFLOW_TRACKING_URI") is None, "the tracking URI set for model logging is put back"


# ----------------------------------------------------------------------------------------------
# The pytest switches


@pytest.mark.parametrize("switch", ["option", "ini"])
def test_the_plugin_mirrors_with_the_option_or_the_ini_key(pytester, switch):
    inc = write_increment(pytester.path, "0001-demo", demo_files())
    if switch == "ini":
        pytester.makeini("[pytest]\nsw_mlflow = true\n")
        args = []
    else:
        args = ["--sw-mlflow"]
    result = pytester.runpytest("increments/0001-demo", "-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=10, skipped=1)
    assert mlflow_mirror.current_state() is None, "the session's configuration is undone at its end"
    assert "MLFLOW_TRACKING_URI" not in os.environ
    uri = mlflow_mirror.default_tracking_uri(inc)
    client = client_for(uri)
    runs = client.search_runs([client.get_experiment_by_name("0001-demo").experiment_id])
    by_task = {r.data.tags.get("specweave.task"): r for r in runs}
    assert {"T-002", "T-003"} <= set(by_task) and by_task["T-002"].data.metrics == {"accuracy": 0.9}
    assert by_task["T-002"].data.params == {"C": "1.0"}


def test_mlflow_is_imported_only_when_mirroring(pytester):
    inc = write_increment(pytester.path, "0001-demo", demo_files())
    code = textwrap.dedent(f"""
        import sys
        import pytest
        from pytest_specweave import configure_mlflow, track_experiment
        pytest.main([{str(inc)!r}, "-q", "-p", "no:cacheprovider"])
        print("after a run:", "mlflow" in sys.modules)
        configure_mlflow({str(inc)!r})
        print("after configure_mlflow:", "mlflow" in sys.modules)
        with track_experiment("mirrored", increment={str(inc)!r}) as exp:
            exp.log_metric("accuracy", 0.5)
        print("after a mirrored experiment:", "mlflow" in sys.modules)
    """)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    out = subprocess.run([sys.executable, "-c", code], cwd=pytester.path, capture_output=True, text=True,
                         timeout=180, env=env)
    assert out.returncode == 0, out.stderr
    assert [line for line in out.stdout.splitlines() if line.startswith("after")] == [
        "after a run: False", "after configure_mlflow: False", "after a mirrored experiment: True"]


# ----------------------------------------------------------------------------------------------
# A real tracking server (the team setting)


TRAINING = """
from sklearn.tree import DecisionTreeClassifier

X = [[0.0, 1.0], [1.0, 0.0], [0.1, 0.8], [0.9, 0.2]]
y = [0, 1, 0, 1]


def train_baseline():
    from pytest_specweave import track_experiment

    with track_experiment("baseline-majority", baseline=True) as exp:
        exp.log_metric("precision@10", 0.5)


def train_tree(experiment):
    experiment.log_param("max_depth", 2)
    for step in range(20):
        experiment.log_metric("loss", 1 / (step + 1), step=step)
    experiment.log_metric("precision@10", 0.9)
    experiment.log_model(DecisionTreeClassifier(max_depth=2).fit(X, y), input_example=X[:2])
"""

TRAINING_SPEC = """
---
primary_metric: precision@10
---
# Server demo
## ML Problem Definition
- Success metrics: precision@10 > 0.8
"""


@pytest.mark.skipif(os.name == "nt", reason="process groups")
def test_a_pytest_run_with_xdist_mirrors_to_a_tracking_server(pytester, mlflow_server, monkeypatch):
    pytest.importorskip("xdist")
    pytest.importorskip("sklearn")
    inc = write_increment(pytester.path, "0014-served", {
        "spec.md": TRAINING_SPEC,
        "tasks.md": "- [ ] T-001: Baseline — `pipeline.py::train_baseline`\n- [ ] T-002: Tree — `pipeline.py::train_tree`\n",
        "pipeline.py": TRAINING,
    })
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    result = pytester.runpytest_subprocess("increments/0014-served", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert not (inc / "mlflow.db").exists() and not (inc / "mlartifacts").exists()
    client = client_for(mlflow_server)
    experiment = client.get_experiment_by_name("0014-served")
    runs = {r.data.tags["specweave.experiment"]: r for r in client.search_runs([experiment.experiment_id])}
    records = {r.folder: r for r in ExperimentStore(inc).records()}
    assert set(runs) == set(records)
    for folder, record in records.items():
        run = runs[folder]
        assert run.info.status == "FINISHED" and record.meta["mlflow"]["run_id"] == run.info.run_id
        assert run.data.metrics == {mlflow_mirror.safe_name(k): m.value for k, m in record.metrics.items()}
    tree = next(r for r in records.values() if r.task == "T-002")
    assert [m.value for m in sorted(client.get_metric_history(runs[tree.folder].info.run_id, "loss"),
                                    key=lambda m: m.step)] == [v for _, v, _ in tree.series("loss")]
    (version,) = client.search_model_versions("name='0014-served'")
    assert version.version == "1" and version.run_id == runs[tree.folder].info.run_id
    metadata = json.loads((inc / "models" / "model-v1.metadata.json").read_text())
    assert metadata["mlflow"][0]["tracking_uri"] == mlflow_server and metadata["mlflow"][0]["registry_version"] == 1


def test_an_unreachable_tracking_server_is_said_at_once_and_never_holds_the_run(tmp_path):
    """MLflow's own retry policy held a session for minutes; the mirror probes the server once, briefly."""
    from conftest import demo_files, write_increment

    write_increment(tmp_path, "0001-demo", demo_files())
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}"}
    env.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run([sys.executable, "-m", "pytest", "increments", "-p", "no:cacheprovider", "-W", "always"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert f"the MLflow tracking server at http://127.0.0.1:{port} does not answer" in output
    assert output.count("does not answer") == 1  # said once, then the experiments are kept locally only


# ----------------------------------------------------------------------------------------------
# What the registry serves loads without the plugin and without the increment's code


# Run in a child process started with -I (no PYTHONPATH, no working directory on sys.path): the
# plugin and the increment's package cannot be imported there, nor scipy, which the scaffold's
# pipeline imports and its model does not need. What is left is MLflow and the environment's
# other packages (this test does not build a fresh virtual environment: installing MLflow takes
# minutes); the model's requirements.txt is checked to name only what it needs.
ISOLATED_LOADER = """
import importlib.abc, json, sys

HIDDEN = ("pytest_specweave", "pytest_specweave_increments", "scipy")


class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden)", name=name)
        return None


sys.meta_path.insert(0, Hide())
for hidden in HIDDEN:
    try:
        __import__(hidden)
    except ModuleNotFoundError:
        pass
    else:
        raise SystemExit(f"{hidden} is importable: the test proves nothing")

import mlflow.pyfunc
import numpy as np

out = {}
recs = mlflow.pyfunc.load_model("models:/0001-recs/1").unwrap_python_model().model
history = np.eye(recs.similarity_.shape[0])[:3]
out["scores"] = recs.scores(history).tolist()
rule = mlflow.pyfunc.load_model("models:/0002-rule/1")
out["predictions"] = [int(v) for v in rule.predict(np.array([0.2, 0.7, 0.9]))]
out["leaked"] = sorted(m for m in sys.modules if m.split(".")[0] in HIDDEN)
print(json.dumps(out))
"""

RULE_MODULE = """
from pytest_specweave import track_experiment  # the plugin, imported by the code that trains


class Threshold:
    def __init__(self, cut):
        self.cut = cut

    def predict(self, rows):
        return [int(value > self.cut) for value in rows]


def train(increment):
    with track_experiment("threshold", increment=increment) as exp:
        exp.log_metric("accuracy", 0.9)
        exp.log_model(Threshold(0.5))
"""


@pytest.mark.skipif(os.name == "nt", reason="process groups")
def test_registered_models_of_the_increments_own_classes_load_where_neither_the_plugin_nor_its_code_can(
        tmp_path, mlflow_server, monkeypatch):
    pytest.importorskip("scipy")
    np = pytest.importorskip("numpy")
    from pytest_specweave.linked_code import import_linked_module
    from pytest_specweave.scaffold.create import create_increment

    recs = create_increment("Recs", "recommendation", cwd=tmp_path).path
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server}
    env.pop("PYTEST_ADDOPTS", None)
    run = subprocess.run([sys.executable, "-m", "pytest", "increments", "-p", "no:cacheprovider", "-q"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "could not" not in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
    rule_inc = write_increment(tmp_path, "0002-rule", {"spec.md": SPEC, "rules.py": RULE_MODULE})
    configure_mlflow(rule_inc, tracking_uri=mlflow_server)
    import_linked_module(rule_inc, rule_inc / "rules.py").train(rule_inc)
    assert promote_best_model(rule_inc)["mlflow"][0]["registry_version"] == 1

    child_env = {k: v for k, v in env.items() if not k.startswith("PYTHON")}
    loaded = subprocess.run([sys.executable, "-I", "-c", ISOLATED_LOADER], cwd=tmp_path / "increments",
                            env=child_env, capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    served = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert served["leaked"] == []
    local = load_model(recs)
    history = np.eye(local.similarity_.shape[0])[:3]
    assert served["scores"] == local.scores(history).tolist()
    assert served["predictions"] == load_model(rule_inc).predict([0.2, 0.7, 0.9]) == [0, 1, 1]

    for name in ("0001-recs", "0002-rule"):
        with _fluent_uri(mlflow_server):
            requirements = Path(mlflow.artifacts.download_artifacts(
                f"models:/{name}/1/requirements.txt", dst_path=str(tmp_path / f"req-{name}"))).read_text().split()
        names = {r.split("==")[0].lower() for r in requirements}
        assert {"mlflow", "cloudpickle"} <= names and "pytest-specweave" not in names and "scipy" not in names
        assert ("numpy" in names) == (name == "0001-recs")  # the kNN holds arrays, the rule a float


@pytest.mark.skipif(os.name == "nt", reason="process groups")
def test_a_model_promoted_before_mirroring_was_on_is_registered_on_its_real_runs(tmp_path, mlflow_server):
    """Mirroring switched on after a promotion: the version's run is a real mirror of the run that
    trained it (its params, number and task), never an empty run made for the registry."""
    from sklearn.tree import DecisionTreeClassifier

    X = [[0.0, 1.0], [1.0, 0.0], [0.1, 0.8], [0.9, 0.2]]
    y = [0, 1, 0, 1]
    inc = write_increment(tmp_path, "0016-late-mirror", {"spec.md": SPEC})

    def train():
        with track_experiment("tree", increment=inc, task="T-002") as exp:
            exp.log_params({"max_depth": 2, "criterion": "gini"})
            exp.log_metric("accuracy", 0.9)
            exp.log_model(DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y))
        return exp

    first = train()  # not mirrored
    assert promote_best_model(inc)["version"] == 1
    configure_mlflow(inc, tracking_uri=mlflow_server)
    second = train()  # the same model again, mirrored: run 2 of exp-001-tree
    assert promote_best_model(inc) is None  # nothing new locally; v1 is registered now
    metadata = json.loads((inc / "models" / "model-v1.metadata.json").read_text())
    assert metadata["source_run"] == first.run == 1 and second.run == 2

    client = client_for(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name(inc.name).experiment_id])
    assert sorted(r.data.tags["specweave.run"] for r in runs) == ["1", "2"]  # no run beside the two real ones
    for run in runs:
        assert run.data.params == {"max_depth": "2", "criterion": "gini"}
        assert run.data.tags["specweave.experiment_number"] == "1" and run.data.tags["specweave.task"] == "T-002"
        assert run.data.metrics == {"accuracy": 0.9}
    (version,) = client.search_model_versions(f"name='{inc.name}'")
    source = client.get_run(version.run_id)
    assert source.data.tags["specweave.run"] == "1" and source.info.run_name == "tree"
    assert metadata["mlflow"][0]["run_id"] == version.run_id
    history_meta = json.loads((inc / "experiments" / "exp-001-tree" / "history" / "run-1" / "meta.json").read_text())
    assert history_meta["mlflow"]["run_id"] == version.run_id  # recorded: registering again reuses it


# ----------------------------------------------------------------------------------------------
# MLflow's console output and colour codes


CONSOLE_PIPELINE = """
import warnings

from pytest_specweave import track_experiment


class Threshold:
    def __init__(self, cut):
        self.cut = cut

    def predict(self, rows):
        return [int(value > self.cut) for value in rows]


def train(experiment):
    experiment.log_param("cut", 0.5)
    experiment.log_metric("accuracy", 0.9)
    experiment.log_model(Threshold(0.5))


def colourful(experiment):
    from mlflow.utils.warnings_utils import color_warning

    try:  # an MLflow warning made an error fails this experiment; its message is in colour codes
        with track_experiment("colourful"):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                color_warning("Add type hints to the `predict` method", stacklevel=1, color="yellow")
    except UserWarning:
        pass
"""


def test_mlflow_says_nothing_on_the_console_and_no_colour_code_reaches_a_report(tmp_path):
    inc = write_increment(tmp_path, "0017-console", {
        "spec.md": SPEC,
        "tasks.md": "- [ ] T-001: Train — `pipeline.py::train`\n- [ ] T-002: Colour — `pipeline.py::colourful`\n",
        "pipeline.py": CONSOLE_PIPELINE,
    })
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PYTEST_ADDOPTS")}
    result = subprocess.run([sys.executable, "-m", "pytest", "increments", "-p", "no:cacheprovider", "--sw-mlflow",
                             "--color=no", "-W", "always", "--sw-json", "report.json"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    metadata = json.loads((inc / "models" / "model-v1.metadata.json").read_text())
    assert metadata["mlflow"][0]["registry_version"] == 1  # the model was logged and registered
    (colourful,) = [r for r in ExperimentStore(inc).records() if r.name == "colourful"]
    assert colourful.status == "failed"
    for chatter in ("INFO mlflow", "WARNING mlflow", "Downloading artifacts", "Successfully registered",
                    "Created version", "View run", "Add type hints", "\x1b"):
        assert chatter not in output, f"{chatter!r} on the console:\n{output[-3000:]}"
    progress = [line for line in output.splitlines() if line.startswith("increments/0017-console/")]
    assert progress and all(line.rstrip().endswith("%]") for line in progress), progress
    for report in (inc / "COMPLETION-SUMMARY.md", inc / "experiments" / "comparison.md", tmp_path / "report.json",
                   colourful.path / "notes.md", colourful.path / "meta.json"):
        assert "\x1b" not in report.read_text(encoding="utf-8") and "\\u001b" not in report.read_text(encoding="utf-8"), report
    summary = (inc / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "failed: **Failed**: `UserWarning: Add type hints to the `predict` method`" in summary


def test_plain_text_drops_every_terminal_code_and_nothing_else():
    from pytest_specweave.tracking._files import plain_text

    coloured = "\x1b[1;33mAdd type hints\x1b[0m, see \x1b]8;;https://mlflow.org\x07the docs\x1b]8;;\x07\x1b(B."
    assert plain_text(coloured) == "Add type hints, see the docs."
    assert plain_text("precision@10 [0.2, 0.3] | 95%\n") == "precision@10 [0.2, 0.3] | 95%\n"
