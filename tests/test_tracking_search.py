"""Hyperparameter searches, trial by trial: Optuna studies and scikit-learn's *SearchCV, in the tuning experiment."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pytest_specweave import ExperimentStore, log_search, optuna_callback, track_experiment
from pytest_specweave.tracking.store import read_series


@pytest.fixture
def inc(tmp_path):
    folder = tmp_path / "increments" / "0001-tune"
    folder.mkdir(parents=True)
    return folder


def test_an_optuna_study_keeps_every_trial_pruned_and_failed_ones_too(inc):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        x = trial.suggest_float("x", -4, 4)
        depth = trial.suggest_int("depth", 1, 8)
        if trial.number == 3:
            raise optuna.TrialPruned()
        if trial.number == 5:
            raise ValueError("diverged")
        return -(x - 1) ** 2 - 0.1 * depth

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    with track_experiment("tuning", increment=inc) as exp:
        study.optimize(objective, n_trials=12, callbacks=[optuna_callback(exp)], catch=(ValueError,))
        record = log_search(exp, study)
    assert record["counts"] == {"complete": 10, "pruned": 1, "fail": 1}
    assert [t["number"] for t in record["trials"]] == list(range(12))
    assert record["trials"][3]["state"] == "pruned" and record["trials"][5]["state"] == "fail"
    assert record["best"] == study.best_trial.number
    assert set(record["importance"]) == {"x", "depth"}

    stored = ExperimentStore(inc).find("tuning")
    assert stored.params == {k: pytest.approx(v) for k, v in study.best_params.items()}
    assert stored.metric("val_score").value == pytest.approx(study.best_value)
    steps = read_series(stored.path / "logs" / "metrics.jsonl", "val_score")
    completed = sorted(t.number for t in study.trials if t.state.name == "COMPLETE")
    # each completed trial once (the callback logged them; log_search added none again), then the best again
    assert [s for s, _, _ in steps][:-1] == completed and steps[-1][0] == study.best_trial.number
    assert stored.meta["search"] == {"library": "optuna", "metric": "val_score", "direction": "maximize",
                                     "trials": 12, "counts": {"complete": 10, "pruned": 1, "fail": 1},
                                     "data": "validation"}
    assert json.loads((stored.path / "search-trials.json").read_text())["trials"][0]["params"].keys() == {"x", "depth"}


@pytest.mark.parametrize("kind", ["grid", "random", "halving"])
def test_scikit_learns_searches_keep_every_candidate_with_its_folds(inc, kind):
    from sklearn.datasets import make_classification
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV, RandomizedSearchCV

    X, y = make_classification(n_samples=300, random_state=0)
    grid = {"C": [0.01, 0.1, 1.0, 10.0], "fit_intercept": [True, False]}
    search = {"grid": lambda: GridSearchCV(LogisticRegression(max_iter=500), grid, scoring="roc_auc", cv=3),
              "random": lambda: RandomizedSearchCV(LogisticRegression(max_iter=500), grid, n_iter=6, scoring="roc_auc",
                                                   cv=3, random_state=0),
              "halving": lambda: HalvingGridSearchCV(LogisticRegression(max_iter=500), grid, scoring="roc_auc", cv=3,
                                                     random_state=0, min_resources=60)}[kind]().fit(X, y)
    with track_experiment("tuning", increment=inc) as exp:
        record = log_search(exp, search)
    n = len(search.cv_results_["params"])
    assert len(record["trials"]) == n and record["counts"] == {"complete": n}
    assert record["metric"] == "val_roc_auc" and record["library"] == "scikit-learn"
    best = record["trials"][search.best_index_]
    assert best["rank"] == 1 or kind == "halving"  # halving ranks every round's candidates together
    assert best["value"] == pytest.approx(search.best_score_)
    assert best["std"] == pytest.approx(search.cv_results_["std_test_score"][search.best_index_])
    stored = ExperimentStore(inc).find("tuning")
    assert stored.metric("val_roc_auc").value == pytest.approx(search.best_score_)
    assert stored.params == search.best_params_


def test_something_that_is_not_a_search_is_refused(inc):
    with track_experiment("tuning", increment=inc) as exp:
        with pytest.raises(TypeError, match=r"expected an optuna Study, a fitted scikit-learn \*SearchCV or a list"):
            log_search(exp, object())


def test_the_summary_shows_the_search_its_best_trials_and_a_chart(pytester):
    pytest.importorskip("optuna")
    pytester.makefile(".md", **{
        "increments/0001-tune/spec": "# Spec\n\n## Success Metrics\n\n- accuracy > 0.5\n",
        "increments/0001-tune/tasks": "# Tasks\n\n- [x] T-001: Tune and evaluate — `pipeline.py::tune`\n",
    })
    pytester.path.joinpath("increments/0001-tune/pipeline.py").write_text('''
import numpy as np
import optuna
from pytest_specweave import compute_metrics, log_search, track_experiment


def tune(experiment):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(lambda t: -(t.suggest_float("alpha", 0, 2) - 1) ** 2, n_trials=15)
    log_search(experiment, study, metric="val_accuracy")
    y = np.array([0, 1] * 50)
    with track_experiment("model") as exp:
        exp.log_metric("val_accuracy", 0.9)
        compute_metrics("classification", y, y, experiment=exp)
''')
    result = pytester.runpytest_subprocess("increments/0001-tune", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    summary = pytester.path.joinpath("increments/0001-tune/COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "## Hyperparameter Search" in summary
    assert "optuna, 15 trials (15 complete), ranked by val_accuracy" in summary
    assert "the best of 15 looks" in summary and "Parameter importance (Optuna, fANOVA): `alpha` 100%" in summary
    assert "| trial | val_accuracy | params |" in summary and " ✅ | " in summary
    charts = sorted(p.name for p in pytester.path.joinpath("increments/0001-tune/charts").glob("search-*.png"))
    assert charts == ["search-t-001-tune-and-evaluate.png"]


def test_the_trials_of_your_own_loop_are_recorded_the_same_way(inc):
    trials = [{"params": {"l2": 100}, "value": 0.31}, {"params": {"l2": 400}, "value": 0.29},
              {"params": {"l2": 800}, "value": None, "state": "fail"}, {"params": {"l2": 50}, "value": 0.35}]
    with track_experiment("tuning", increment=inc) as exp:
        record = log_search(exp, trials, metric="val_rmse", direction="minimize")
    assert record["library"] == "own loop" and record["best"] == 1
    assert record["counts"] == {"complete": 3, "fail": 1}
    stored = ExperimentStore(inc).find("tuning")
    assert stored.params == {"l2": 400} and stored.metric("val_rmse").value == 0.29
    with track_experiment("bad", increment=inc) as exp:
        with pytest.raises(TypeError, match="trial 0 is not a mapping with 'params'"):
            log_search(exp, [{"l2": 1}])


def test_your_own_loop_can_name_the_trial_it_chose(inc):
    trials = [{"params": {"stage": 1}, "value": 0.35}, {"params": {"stage": 2}, "value": 0.33}]
    with track_experiment("tuning", increment=inc) as exp:
        record = log_search(exp, trials, best=1)
        with pytest.raises(ValueError, match="best=5 is not a completed trial"):
            log_search(exp, trials, best=5)
    assert record["best"] == 1 and ExperimentStore(inc).find("tuning").params == {"stage": 2}


def test_a_search_record_that_cannot_be_read_costs_its_section_not_the_summary(inc):
    from pytest_specweave.model.increment import Increment
    from pytest_specweave.reports.summary import write_summary

    (inc / "spec.md").write_text("# Spec\n\n## Success Metrics\n- accuracy > 0.5\n", encoding="utf-8")
    with track_experiment("tuning", increment=inc) as exp:
        exp.log_dict({"library": "optuna", "trials": [], "counts": 5}, "search-trials.json")
    with track_experiment("model", increment=inc) as exp:
        exp.log_metric("accuracy", 0.9, ci=(0.85, 0.95))
    summary = write_summary(Increment.load(inc), charts=False).read_text(encoding="utf-8")
    assert "## Hyperparameter Search\n\nNot shown: AttributeError" in summary
    assert "## Success Metrics" in summary
