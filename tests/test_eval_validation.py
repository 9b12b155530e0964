"""Bootstrap intervals (the fast path equals recomputing the metric), paired bootstrap, intervals, cross-validation."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold

from pytest_specweave import track_experiment
from pytest_specweave.evaluation import ranking as R
from pytest_specweave.evaluation.validation import (
    Interval,
    _index_chunks,
    bootstrap_ci,
    cross_validate,
    group_kfold,
    paired_bootstrap,
    stratified_kfold,
    time_series_split,
)
from pytest_specweave.tracking import experiment as experiment_module
from pytest_specweave.tracking.store import ExperimentStore


@pytest.fixture
def inc(tmp_path):
    folder = tmp_path / "increments" / "0007-eval"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("# eval\n")
    return folder


def _binary(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1), 2)  # rounded: ties, as real scores have
    return y, s


def _scipy_bca(metric, n, seed=5):
    """scipy.stats.bootstrap's BCa interval, recomputing `metric(rows)` on each resample: the reference."""
    from scipy.stats import bootstrap

    found = bootstrap((np.arange(n),), metric, vectorized=False, n_resamples=4000, method="BCa",
                      random_state=np.random.default_rng(seed))
    return found.confidence_interval.low, found.confidence_interval.high


def _close(got, reference, tolerance=0.12):
    """Both endpoints within `tolerance` of the reference interval's width (Monte Carlo error of two bootstraps)."""
    width = reference[1] - reference[0]
    return abs(got[0] - reference[0]) <= tolerance * width and abs(got[1] - reference[1]) <= tolerance * width


@pytest.mark.parametrize("name", ["accuracy", "precision", "recall"])
def test_a_proportion_of_rows_gets_the_exact_interval(name):
    from scipy.stats import binomtest

    y, s = _binary()
    labels = (s >= 0.5).astype(int)
    got = bootstrap_ci(name, y, labels)
    successes, trials = {"accuracy": ((y == labels).sum(), len(y)),
                         "precision": (((labels == 1) & (y == 1)).sum(), (labels == 1).sum()),
                         "recall": (((labels == 1) & (y == 1)).sum(), (y == 1).sum())}[name]
    exact = binomtest(int(successes), int(trials)).proportion_ci(0.95, method="exact")
    assert got.value == pytest.approx(successes / trials)
    assert got.ci == pytest.approx((exact.low, exact.high)) and got.method.startswith("exact (Clopper-Pearson)")


@pytest.mark.parametrize("name", ["f1", "roc_auc", "pr_auc"])
def test_other_classification_metrics_get_the_bca_interval(name):
    y, s = _binary()
    labels = (s >= 0.5).astype(int)
    sk = {"f1": skm.f1_score, "roc_auc": skm.roc_auc_score, "pr_auc": skm.average_precision_score}[name]
    pred = s if name in ("roc_auc", "pr_auc") else labels
    got = bootstrap_ci(name, y, pred, seed=5)
    assert got.value == pytest.approx(sk(y, pred)) and "BCa" in got.method
    assert _close(got.ci, _scipy_bca(lambda r: sk(y[r], pred[r]), len(y)))


@pytest.mark.parametrize("name", ["rmse", "mae", "r2", "mape"])
def test_regression_intervals_equal_scipys_bca(name):
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, 400)
    p = y + rng.normal(0, 1.5, 400)
    sk = {"rmse": lambda a, b: math.sqrt(skm.mean_squared_error(a, b)), "mae": skm.mean_absolute_error,
          "r2": skm.r2_score, "mape": skm.mean_absolute_percentage_error}[name]
    got = bootstrap_ci(name, y, p, seed=9)
    assert got.value == pytest.approx(sk(y, p))
    assert _close(got.ci, _scipy_bca(lambda r: sk(y[r], p[r]), len(y)))


@pytest.mark.parametrize("name", ["precision@5", "ndcg@5", "map@5", "mrr"])
def test_ranking_intervals_resample_users_as_scipys_bca_does(name):
    rng = np.random.default_rng(4)
    relevant = [set(rng.choice(40, rng.integers(1, 6), replace=False).tolist()) for _ in range(150)]
    recommended = np.array([rng.choice(40, 8, replace=False) for _ in range(150)])
    base, _, k = name.partition("@")
    k = int(k) if k else None
    got = bootstrap_ci(name, relevant, recommended, seed=2)
    reference = _scipy_bca(lambda r: R.RankedLists([relevant[i] for i in r], recommended[r]).metric(base, k), 150)
    assert _close(got.ci, reference)


def test_coverage_and_callables_are_recomputed(inc):
    rng = np.random.default_rng(0)
    relevant = [{int(rng.integers(0, 30))} for _ in range(60)]
    recommended = np.array([rng.choice(400, 5, replace=False) for _ in range(60)])
    with pytest.raises(ValueError, match="coverage@5: the bootstrap is degenerate"):
        # every resample repeats users, so it covers fewer items than the data: no honest bootstrap interval
        bootstrap_ci("coverage@5", relevant, recommended, catalogue=400, n_resamples=200)
    with track_experiment("cand", increment=inc) as exp:
        custom = bootstrap_ci(lambda a, b: float(np.mean(np.asarray(a) == np.asarray(b))), [1, 0, 1, 1] * 10,
                              [1, 0, 0, 1] * 10, n_resamples=200, name="agreement", experiment=exp, level=0.9)
    m = ExperimentStore(inc).records()[0].metrics["agreement"]
    assert m.value == pytest.approx(0.75) and m.ci == pytest.approx(custom.ci) and m.level == 0.9
    assert custom.method == "BCa bootstrap (recomputed per resample)" and custom.low < 0.75 < custom.high


def test_level_is_a_parameter_and_logged(inc):
    y, s = _binary()
    narrow = bootstrap_ci("accuracy", y, (s > 0.5).astype(int), level=0.8)
    with track_experiment("cand", increment=inc) as exp:
        wide = bootstrap_ci("Accuracy", y, y_score=s, threshold=0.5, level=0.99, experiment=exp)
    assert wide.low < narrow.low < narrow.high < wide.high and wide.value == narrow.value
    (rec,) = ExperimentStore(inc).records()
    assert rec.metrics["accuracy"].ci == pytest.approx(wide.ci) and rec.metrics["accuracy"].level == 0.99
    assert any(e["role"] == "eval_targets" for e in rec.meta["inputs"])


def test_paired_bootstrap(inc):
    y, s = _binary(800)
    good, noisy = (s > 0.5).astype(int), (s + np.random.default_rng(1).normal(0, 0.3, len(s)) > 0.5).astype(int)
    with track_experiment("cand", increment=inc) as exp:
        result = paired_bootstrap("accuracy", y, good, noisy, experiment=exp)
    assert result.difference == pytest.approx(skm.accuracy_score(y, good) - skm.accuracy_score(y, noisy))
    assert result.low > 0 and result.better == "candidate" and result.p_value < 0.01
    metrics = ExperimentStore(inc).records()[0].metrics
    assert metrics["accuracy_delta"].ci == pytest.approx(result.interval.ci)
    assert metrics["accuracy_delta_p_value"].value == result.p_value
    same = paired_bootstrap("rmse", [1.0, 2.0, 3.0] * 10, [1.5, 2.0, 2.0] * 10, [1.5, 2.0, 2.0] * 10)
    assert same.difference == 0 and same.better == "inconclusive" and same.p_value == 1.0
    worse = paired_bootstrap("rmse", [1.0, 2.0, 3.0] * 10, [2.0, 3.0, 4.0] * 10, [1.1, 2.1, 3.1] * 10)
    assert worse.direction == "lower" and worse.better == "baseline"
    with pytest.raises(ValueError, match="the same rows"):
        paired_bootstrap("accuracy", y, good, good[:-1])
    with pytest.raises(ValueError, match="direction='higher' or 'lower'"):
        paired_bootstrap(lambda a, b: 0.0, y, good, noisy)


def test_intervals_refuse_bad_bounds():
    assert Interval(0.1, 0.2).ci == (0.1, 0.2) and 0.15 in Interval(0.1, 0.2, 0.9)
    with pytest.raises(ValueError, match="low 0.9 is above high 0.8"):
        Interval(0.9, 0.8)
    with pytest.raises(ValueError, match="low must be finite, got nan"):
        Interval(float("nan"), 1.0)
    with pytest.raises(ValueError, match="high must be finite, got inf"):
        Interval(0.0, float("inf"))
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        Interval(0.0, 1.0, 95)
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        bootstrap_ci("accuracy", [0, 1] * 10, [0, 1] * 10, level=1.5)
    with pytest.raises(ValueError, match="n_resamples must be at least 10"):
        bootstrap_ci("accuracy", [0, 1] * 10, [0, 1] * 10, n_resamples=3)
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci("rmse", [1.0, 2.0], [1.0, float("nan")])
    with pytest.raises(ValueError, match="both classes"):
        bootstrap_ci("roc_auc", [1, 1, 1], [0.2, 0.4, 0.9])


def test_cv_interval_is_the_nadeau_bengio_corrected_t_interval():
    from scipy import stats

    folds = [0.8, 0.82, 0.79, 0.85, 0.81]
    mean, std = np.mean(folds), np.std(folds, ddof=1)  # 0.814, 0.0230217
    # k-fold by default: n_test / n_train = 1 / (J - 1) = 1/4; half-width t(0.975, 4) · √((1/5 + 1/4) · s²)
    low, high, level = experiment_module.cv_interval(folds, mean, std)
    assert (low, high) == pytest.approx((0.814 - 0.0428779, 0.814 + 0.0428779), abs=1e-6) and level == 0.95
    half = stats.t.ppf(0.975, 4) * math.sqrt((1 / 5 + 1 / 4) * std**2)
    assert (low, high) == pytest.approx((mean - half, mean + half))
    # a given ratio (test 10% of train, as in repeated 90/10 splits) and level
    low, high, _ = experiment_module.cv_interval(folds, mean, std, test_train_ratio=0.1)
    assert high - mean == pytest.approx(0.0350096, abs=1e-6)
    low, high, level = experiment_module.cv_interval(folds, mean, std, level=0.99, test_train_ratio=0.1)
    assert high - mean == pytest.approx(0.0580554, abs=1e-6) and level == 0.99
    # wider than the naive t-interval on the folds, which ignores that their training sets overlap
    naive = stats.t.ppf(0.975, 4) * std / math.sqrt(5)
    assert experiment_module.cv_interval(folds, mean, std)[1] - mean > naive
    assert experiment_module.cv_interval([0.8], 0.8, 0.0) is None
    assert experiment_module.cv_interval([0.8, float("nan")], float("nan"), float("nan")) is None
    for bad in (0.0, -0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="test_train_ratio"):
            experiment_module.cv_interval(folds, mean, std, test_train_ratio=bad)


def test_the_corrected_cv_interval_covers_near_nominal_where_the_naive_one_does_not():
    """Repeated 5-fold CV of 1-nearest-neighbour (high variance) on fresh small samples.

    The estimand is the expected accuracy of the model trained on n_train rows, estimated on a
    large fresh sample. Measured with this seed: naive 0.875, corrected 0.95 (nominal 0.95).
    """
    from scipy import stats

    rng = np.random.default_rng(0)
    reps, n, n_folds = 200, 100, 5

    def draw(m):
        y = rng.integers(0, 2, m)
        return rng.normal(size=(m, 2)) + y[:, None], y

    def nearest_neighbour(X_train, y_train, X):
        return y_train[((X[:, None, :] - X_train[None, :, :]) ** 2).sum(-1).argmin(axis=1)]

    X_fresh, y_fresh = draw(2000)
    truths, intervals = [], []
    for _ in range(reps):
        X, y = draw(n)
        order = rng.permutation(n)
        folds = []
        for number, test in enumerate(np.array_split(order, n_folds)):
            train = np.setdiff1d(order, test)
            folds.append(float((nearest_neighbour(X[train], y[train], X[test]) == y[test]).mean()))
            if number == 0:
                truths.append((nearest_neighbour(X[train], y[train], X_fresh) == y_fresh).mean())
        mean, std = float(np.mean(folds)), float(np.std(folds, ddof=1))
        naive_half = stats.t.ppf(0.975, n_folds - 1) * std / math.sqrt(n_folds)
        low, high, _ = experiment_module.cv_interval(folds, mean, std)
        intervals.append((mean - naive_half, mean + naive_half, low, high))
    truth = float(np.mean(truths))
    intervals = np.array(intervals)
    naive = float(np.mean((intervals[:, 0] <= truth) & (truth <= intervals[:, 1])))
    corrected = float(np.mean((intervals[:, 2] <= truth) & (truth <= intervals[:, 3])))
    assert naive < corrected and naive <= 0.92, (naive, corrected)
    assert corrected >= 0.90, (naive, corrected)


def test_cross_validate_passes_the_real_test_train_ratio(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from pytest_specweave.tracking.store import ExperimentStore

    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + rng.normal(size=120) > 0).astype(int)
    # three splits, each testing 20 rows and training on 60: n_test / n_train = 1/3, not 1/(3 - 1)
    order = rng.permutation(120)
    pairs = [(order[i * 20:i * 20 + 60], order[i * 20 + 60:i * 20 + 80]) for i in range(3)]
    store = ExperimentStore(tmp_path)
    with store.open_run("cv") as exp:
        result = cross_validate(LogisticRegression(), X, y, problem="classification", cv=pairs,
                                metrics=["accuracy"], experiment=exp)
    assert result.test_train_ratio == pytest.approx(1 / 3)
    folds = result.folds["accuracy"]
    expected = experiment_module.cv_interval(folds, result.mean["accuracy"], result.std["accuracy"],
                                             test_train_ratio=1 / 3)
    assert result.ci["accuracy"] == pytest.approx(expected[:2])
    logged = store.records()[0].metrics["accuracy"]
    assert logged.test_train_ratio == pytest.approx(1 / 3) and logged.ci == pytest.approx(expected[:2])


def test_cv_interval_without_scipy(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.stats", None)  # import fails as if scipy were not installed
    assert experiment_module.cv_interval([0.8, 0.9], 0.85, 0.07) is None


def test_splitters():
    y = np.array([0] * 30 + [1] * 10)
    for train, test in stratified_kfold(y, 5):
        assert (y[test] == 1).sum() == 2 and len(set(train) & set(test)) == 0
    groups = np.repeat(np.arange(10), 4)
    for train, test in group_kfold(groups, 5):
        assert not set(groups[train]) & set(groups[test])
    for train, test in time_series_split(40, 4, gap=2):
        assert train.max() + 2 < test.min()


def test_cross_validate_logs_per_fold_values_with_an_interval(inc):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + rng.normal(0, 0.5, 200) > 0).astype(int)
    with track_experiment("logreg", increment=inc) as exp:
        result = cross_validate(LogisticRegression(), X, y, problem="classification", n_splits=4, experiment=exp)
    assert result.splitter == "stratified" and result.n_splits == 4
    assert set(result.folds) == {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"}
    m = ExperimentStore(inc).records()[0].metrics["roc_auc"]
    assert len(m.folds) == 4 and m.value == pytest.approx(np.mean(result.folds["roc_auc"]))
    assert m.ci == pytest.approx(result.ci["roc_auc"]) and m.level == 0.95 and m.ci[0] < m.value < m.ci[1]


def test_cross_validate_regression_groups_and_metric_choice():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2))
    y = X @ [2.0, -1.0] + rng.normal(0, 0.1, 120) + 10
    result = cross_validate(LinearRegression(), X, y, problem="regression", metrics=["RMSE", "R2"])
    assert result.splitter == "kfold" and set(result.folds) == {"rmse", "r2"} and result.mean["r2"] > 0.95
    grouped = cross_validate(LinearRegression(), X, y, problem="regression", groups=np.arange(120) % 6, n_splits=3)
    assert grouped.splitter == "group"


def test_forecasting_is_never_split_at_random():
    t = np.arange(60, dtype=float)
    X, y = t[:, None], 2 * t + 1
    with pytest.raises(ValueError, match="forecasting is never validated on a stratified split"):
        cross_validate(LinearRegression(), X, y, problem="forecasting", cv="stratified")
    with pytest.raises(ValueError, match="fold 0 trains on rows after its test rows"):
        cross_validate(LinearRegression(), X, y, problem="forecasting", cv=KFold(3, shuffle=True, random_state=0))
    result = cross_validate(LinearRegression(), X, y, problem="forecasting", n_splits=3)
    assert result.splitter == "time_series" and "mase" in result.folds and max(result.folds["mae"]) < 1e-6
