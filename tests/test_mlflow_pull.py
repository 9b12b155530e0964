"""The MLflow pull: runs logged by plain MLflow code in another process (no pytest-specweave there), brought
from a real `mlflow server` into fresh increments that never trained, then gated by pytest."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

from mlflow.tracking import MlflowClient  # noqa: E402

from conftest import write_increment  # noqa: E402
from mlflow_support import mlflow_server  # noqa: E402,F401 - the module's server fixture
from pytest_specweave.cli import main as cli_main  # noqa: E402
from pytest_specweave.tracking.mlflow_pull import PullError, pull_increment  # noqa: E402
from pytest_specweave.tracking.store import ExperimentStore  # noqa: E402

pytestmark = pytest.mark.skipif(os.name == "nt", reason="process groups")

# The cluster job: only mlflow, scikit-learn and numpy; it knows the increment by its tags.
JOB = """
import json, os, sys, tempfile
import numpy as np
import mlflow
import mlflow.sklearn
from mlflow.tracking import MlflowClient
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("cluster-job")
X, y = make_classification(n_samples=600, n_features=6, class_sep=2.0, random_state=0)
X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:], y[300:]
ids = np.arange(300, 600)
tmp = tempfile.mkdtemp()
out = {}


def evidence(metric, per_row, name=None):
    path = os.path.join(tmp, (name or metric) + ".npz")
    header = json.dumps({"metric": metric, "combine": "mean", "unit": "rows"})
    np.savez_compressed(path, header=np.array(header), columns=np.asarray(per_row, dtype=float), units=ids)
    mlflow.log_artifact(path, artifact_path="specweave/evidence")


def train(increment, run_name, labels, task, log_model=False):
    with mlflow.start_run(run_name=run_name, tags={"specweave.increment": increment, "specweave.task": task}) as run:
        model = LogisticRegression(C=0.5, max_iter=200).fit(X_train, labels)
        mlflow.log_params({"C": 0.5, "max_iter": 200, "solver": "lbfgs"})
        for step in range(4):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        correct = model.predict(X_test) == y_test
        mlflow.log_metric("accuracy", float(correct.mean()))
        mlflow.log_metric("precision_at_10", 0.5)
        evidence("accuracy", correct)
        mlflow.log_dict({"loss": {"ci": [0.2, 0.3], "level": 0.9}}, "specweave/intervals.json")
        if log_model:
            mlflow.sklearn.log_model(model, name="model")
    return run.info.run_id


def baseline(increment):
    with mlflow.start_run(run_name="baseline-random", tags={"specweave.increment": increment,
                                                            "specweave.baseline": "true",
                                                            "specweave.task": "T-001"}) as run:
        guess = np.random.default_rng(0).integers(0, 2, size=len(y_test))
        correct = guess == y_test
        mlflow.log_metric("accuracy", float(correct.mean()))
        evidence("accuracy", correct)
    return run.info.run_id


out["baseline"] = baseline("0001")
out["first"] = train("0001", "logreg", y_train, "T-002")
out["good"] = train("0001-gate", "logreg", y_train, "T-002", log_model=True)  # the latest logreg: by full name this time
out["weak_baseline"] = baseline("0002")
out["weak"] = train("0002", "logreg", np.random.default_rng(1).permutation(y_train), "T-002")
with mlflow.start_run(run_name="logreg-failed", tags={"specweave.increment": "0001"}) as run:
    mlflow.log_metric("accuracy", 0.99)
client = MlflowClient()
client.set_terminated(run.info.run_id, status="FAILED")
with mlflow.start_run(run_name="sweep") as parent:
    for c in (0.01, 1.0):
        with mlflow.start_run(run_name=f"logreg-c{c}", nested=True):
            model = LogisticRegression(C=c).fit(X_train, y_train)
            mlflow.log_param("C", c)
            mlflow.log_metric("accuracy", float((model.predict(X_test) == y_test).mean()))
out["parent"] = parent.info.run_id
with mlflow.start_run(run_name="broken", tags={"specweave.increment": "0005"}) as run:
    mlflow.log_metric("accuracy", 0.9)
    path = os.path.join(tmp, "accuracy.npz")
    with open(path, "wb") as f:
        f.write(b"not an archive")
    mlflow.log_artifact(path, artifact_path="specweave/evidence")
out["broken"] = run.info.run_id
print(json.dumps(out))
"""

SPEC = """
---
primary_metric: accuracy
---
# Gate
## ML Problem Definition
- Success metrics: accuracy > 0.8
"""

FILES = {
    "spec.md": SPEC,
    "tasks.md": "- [x] T-001: Train the baseline (on the cluster)\n- [x] T-002: Train the model (on the cluster)\n",
    "tests.md": "## Evaluation Criteria\n- TC-001: accuracy >= 1.4x random baseline\n",
}


@pytest.fixture(scope="module")
def job(mlflow_server, tmp_path_factory) -> dict:
    """The cluster job, run once in its own process against the server; the ids of the runs it made."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PYTHONPATH")}
    done = subprocess.run([sys.executable, "-c", JOB, mlflow_server], capture_output=True, text=True, env=env,
                          cwd=tmp_path_factory.mktemp("job"), timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def no_tracking_uri(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_job_ran_without_pytest_specweave(job, mlflow_server):
    run = MlflowClient(mlflow_server).get_run(job["good"])
    assert run.data.tags["specweave.increment"] == "0001-gate"
    assert not any(key.startswith("specweave.experiment") for key in run.data.tags)  # the mirror's own tags


def test_a_fresh_increment_is_gated_on_the_pulled_runs(pytester, job, mlflow_server, monkeypatch):
    inc = write_increment(pytester.path, "0001-gate", FILES)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    result = pytester.runpytest_subprocess("increments/0001", "--sw-from-mlflow", "-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*0001-gate: 2 run(s) pulled from MLflow, 0 already in experiments/*"])
    store = ExperimentStore(inc)
    logreg, base = store.find("logreg"), store.find("baseline-random")
    assert (logreg.task, base.task, base.baseline, logreg.baseline) == ("T-002", "T-001", True, False)
    assert logreg.meta["mlflow"]["run_id"] == job["good"]  # the latest run of that name, not "first"
    assert logreg.meta["origin"]["run_uri"] == f"runs:/{job['good']}"
    assert logreg.meta["origin"]["model_uri"].startswith("models:/")
    assert logreg.params == {"C": 0.5, "max_iter": 200, "solver": "lbfgs"}
    assert [value for _, value, _ in logreg.series("loss")] == [1.0, 0.5, 1 / 3, 0.25]
    assert logreg.metric("loss").ci == (0.2, 0.3) and logreg.metric("loss").level == 0.9
    assert logreg.metric("precision@10").value == 0.5
    assert len(logreg.meta["evidence"]) == 1 and logreg.duration_s is not None
    # the training environment is the job's, not the gate's: unknown here but for what MLflow recorded
    assert (logreg.meta["python"], logreg.meta["packages"], logreg.meta["git_dirty"]) == (None, {}, None)
    assert "logreg-failed" not in [r.name for r in store.records()]
    summary = (inc / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "logreg" in summary and "baseline-random" in summary


def test_pulled_predictions_decide_a_failing_gate(pytester, job, mlflow_server, monkeypatch):
    write_increment(pytester.path, "0002-weak", FILES)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    pytester.makeini("[pytest]\nsw_from_mlflow = true\n")  # the ini key; pulled once, by the xdist controller
    result = pytester.runpytest_subprocess("increments/0002", "-p", "no:cacheprovider", "-n", "2",
                                           "--sw-json=report.json")
    assert result.ret == 1
    [increment] = json.loads((pytester.path / "report.json").read_text(encoding="utf-8"))["increments"]
    verdicts = {item["id"]: item["outcome"] for item in increment["items"]}
    assert verdicts == {"T-001": "passed", "T-002": "passed", "SM-1": "failed", "TC-001": "failed"}
    assert increment["judged_experiment"] == "exp-002-logreg"
    assert len(list((pytester.path / "increments/0002-weak/experiments").glob("exp-*"))) == 2


def test_pulling_twice_changes_nothing(tmp_path, job, mlflow_server):
    inc = write_increment(tmp_path, "0001-gate", FILES)
    first = pull_increment(inc, tracking_uri=mlflow_server)
    before = files_of(inc / "experiments")
    second = pull_increment(inc, tracking_uri=mlflow_server)
    assert [p.changed for p in first] == [True, True] and [p.changed for p in second] == [False, False]
    assert files_of(inc / "experiments") == before


def test_a_run_id_and_a_parent_select_runs(tmp_path, job, mlflow_server):
    one = write_increment(tmp_path, "0001-gate", FILES)
    pulled = pull_increment(one, tracking_uri=mlflow_server, run_id=job["first"])
    assert [(p.name, p.run_id) for p in pulled] == [("logreg", job["first"])]
    sweep = write_increment(tmp_path, "0003-sweep", FILES)
    pulled = pull_increment(sweep, tracking_uri=mlflow_server, parent=job["parent"])
    assert sorted(p.name for p in pulled) == ["logreg-c0.01", "logreg-c1.0"]
    record = ExperimentStore(sweep).find("logreg-c1.0")
    assert record.meta["origin"]["parent_run_id"] == job["parent"] and record.params == {"C": 1.0}
    with pytest.raises(PullError, match=r"tagged specweave.increment = '0002', not '0003-sweep'"):
        pull_increment(sweep, tracking_uri=mlflow_server, run_id=job["weak"])


def test_the_command_line_pulls(tmp_path, job, mlflow_server, monkeypatch, capsys):
    inc = write_increment(tmp_path, "0001-gate", FILES)
    monkeypatch.chdir(tmp_path)
    assert cli_main(["pull", "0001", "--tracking-uri", mlflow_server]) == 0
    out = capsys.readouterr().out
    assert f"exp-001-baseline-random <- run {job['baseline']}" in out and f"<- run {job['good']}" in out
    assert cli_main(["pull", "0001", "--tracking-uri", mlflow_server, "--run-id", job["good"]]) == 0
    assert "(already pulled)" in capsys.readouterr().out
    assert cli_main(["pull", "0001", "--tracking-uri", mlflow_server, "--run-id", "0" * 32]) == 2
    assert capsys.readouterr().err.strip() == f"pytest-specweave: MLflow at {mlflow_server} has no run {'0' * 32}"


def test_errors_name_what_and_where(tmp_path, job, mlflow_server):
    nothing = write_increment(tmp_path, "0009-nothing", FILES)
    with pytest.raises(PullError, match=r"has no finished run tagged specweave.increment = '0009-nothing' or '0009'"):
        pull_increment(nothing, tracking_uri=mlflow_server)
    broken = write_increment(tmp_path, "0005-broken", FILES)
    with pytest.raises(PullError, match=rf"run {job['broken']} \(broken\) at {mlflow_server}: artifact"
                                        r" specweave/evidence/accuracy.npz is not per-unit evidence"):
        pull_increment(broken, tracking_uri=mlflow_server)
    assert not (broken / "experiments").exists() or not list((broken / "experiments").glob("exp-*"))
    with pytest.raises(PullError, match="no MLflow tracking URI to pull from"):
        pull_increment(broken)


def test_an_unreachable_server_is_one_line(pytester, monkeypatch):
    write_increment(pytester.path, "0001-gate", FILES)
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    result = pytester.runpytest_subprocess("increments/0001", "--sw-from-mlflow", "-p", "no:cacheprovider")
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"ERROR: --sw-from-mlflow: 0001-gate: the MLflow tracking server at"
                                 f" http://127.0.0.1:{port} does not answer (*)"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_a_pushed_run_pulls_back_as_it_was(tmp_path, mlflow_server):
    from pytest_specweave.tracking import mlflow_mirror
    from pytest_specweave.tracking.api import track_experiment

    here = write_increment(tmp_path / "laptop", "0007-round-trip", FILES)
    before = mlflow_mirror.current_state()
    try:
        mlflow_mirror.configure_mlflow(here, tracking_uri=mlflow_server)
        with track_experiment("baseline-random", increment=here, task="T-001") as exp:
            exp.log_metric("precision@10", 0.1)
        with track_experiment("xgboost", increment=here, task="T-002") as exp:
            exp.log_params({"depth": 6, "objective": "rank:ndcg", "features": ["a", "b"], "early_stop": True})
            exp.log_metrics({"precision@10": 0.4, "loss": 0.3}, step=5)
    finally:
        mlflow_mirror.restore_state(before)
    assert [p.changed for p in pull_increment(here, tracking_uri=mlflow_server)] == [False, False]
    there = write_increment(tmp_path / "ci", "0007-round-trip", FILES)
    pull_increment(there, tracking_uri=mlflow_server)
    pushed, pulled = ExperimentStore(here).records(), ExperimentStore(there).records()

    def seen(r):
        return (r.folder, r.name, r.baseline, r.task, r.params, {k: v.value for k, v in r.metrics.items()},
                [(step, value) for step, value, _ in r.series("precision@10")], r.meta["mlflow"]["run_id"])

    assert [seen(r) for r in pulled] == [seen(r) for r in pushed]
    assert pulled[1].params["features"] == ["a", "b"] and "precision@10" in pulled[1].metrics


def docs_example(name: str) -> dict[str, str]:
    """{relative path: text} of the example `name` in docs/scaling.md (the markers of docs/hooks.md)."""
    from hooks_docs import _BLOCK

    text = (Path(__file__).resolve().parents[1] / "docs" / "scaling.md").read_text(encoding="utf-8")
    files = {m["path"]: m["body"] + "\n" for m in _BLOCK.finditer(text) if m["name"] == name}
    assert files, f"docs/scaling.md has no example named {name!r}"
    return files


@pytest.mark.examples
def test_the_docs_job_is_gated_as_the_docs_say(pytester, mlflow_server, monkeypatch):
    for rel, text in docs_example("mlflow-job").items():
        (pytester.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / rel).write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MLFLOW_TRACKING_URI"] = mlflow_server
    done = subprocess.run([sys.executable, "train.py"], cwd=pytester.path, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    result = pytester.runpytest_subprocess("increments/0042", "--sw-from-mlflow", "-m", "not sw_task",
                                           "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2, deselected=2)
    result.stdout.fnmatch_lines(["*spec.md::SM-1 PASSED*", "*spec.md::SM-2 PASSED*"])
