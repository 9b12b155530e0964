"""The evaluation library inside an increment: what it logs is what spec.md and tests.md judge."""

from __future__ import annotations

from conftest import write_increment

SPEC = """
---
primary_metric: accuracy
---
# Churn

## ML Problem Definition
- Success metrics: accuracy > 0.8

## Model Requirements
- Accuracy: Better than random baseline by 1.5x
- Latency: <100ms inference
- Throughput: 50 req/sec
"""

TASKS = """
- [ ] T-001: Baselines — `pipeline.py::baselines`
- [ ] T-002: Train and evaluate — `pipeline.py::train`
- [ ] T-003: Explain — `pipeline.py::explain`
"""

TESTS = """
## Evaluation Criteria
- TC-001: accuracy >= 0.99
- TC-002: explainability artifacts present
- TC-003: accuracy_delta > 0
"""

PIPELINE = """
import numpy as np
from sklearn.linear_model import LogisticRegression

from pytest_specweave import (bootstrap_ci, explain_model, majority_baseline, measure_latency, measure_throughput,
                              paired_bootstrap, uniform_baseline)

rng = np.random.default_rng(0)
X = rng.normal(size=(600, 3))
y = (X[:, 0] + rng.normal(0, 0.4, 600) > 0).astype(int)
X_train, X_test, y_train, y_test = X[:400], X[400:], y[:400], y[400:]


def baselines():
    uniform_baseline(y_train, y_test, eval_data=X_test)
    majority_baseline(y_train, y_test, eval_data=X_test)


def train(experiment):
    model = LogisticRegression().fit(X_train, y_train)
    pred = model.predict(X_test)
    bootstrap_ci("accuracy", y_test, pred, experiment=experiment)
    paired_bootstrap("accuracy", y_test, pred, np.zeros_like(pred), experiment=experiment)
    measure_latency(model, X_test, n_requests=100, experiment=experiment)
    measure_throughput(model, X_test, n_requests=100, experiment=experiment)
    experiment.save_artifact(model, "model.pkl")


def explain(experiment):
    import pickle

    model = pickle.loads((experiment.path.parent / "exp-003-t-002-train-and-evaluate" / "model.pkl").read_bytes())
    explain_model(model, X_test, y_test, experiment=experiment, shap=False, explains="exp-003-t-002-train-and-evaluate")
"""


def test_an_increment_gated_on_what_the_library_logged(pytester):
    inc = write_increment(pytester.path, "0021-churn", {"spec.md": SPEC, "tasks.md": TASKS, "tests.md": TESTS,
                                                         "pipeline.py": PIPELINE})
    result = pytester.runpytest("increments/0021-churn", "-p", "no:cacheprovider", "-rA")
    # accuracy carries an exact interval: 0.99 lies above all of it (TC-001 fails), 0.8 below all of it; the
    # ratio to the random baseline, paired row by row, straddles 1.5 on these 200 rows: inconclusive
    outcomes = result.parseoutcomes()
    assert (outcomes["passed"], outcomes["failed"], outcomes["inconclusive"]) == (8, 1, 1), outcomes
    result.stdout.fnmatch_lines([
        "*SM-2*accuracy better than*87.5% (1.651×*≥ 1.5×*INCONCLUSIVE*",
        "*SM-3*latency_p95_ms < 100 ms*PASS*",
        "*SM-4*throughput_rps*PASS*",
        "*TC-001*accuracy*0.99*[[]*]*FAIL*",
        "*TC-002*explainability*PASS*",
    ])
    folders = sorted(p.name for p in (inc / "experiments").iterdir() if p.is_dir())
    assert folders == ["exp-001-baseline-random", "exp-002-baseline-majority", "exp-003-t-002-train-and-evaluate",
                       "exp-004-t-003-explain"]
