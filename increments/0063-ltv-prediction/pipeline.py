"""The pipeline of increment 0063: one function per task of tasks.md, in its order.

Each task function takes pytest fixtures as parameters: `experiment` (the running task's tracked
experiment) from pytest-specweave, and `transactions`, `increment_dir` from this increment's
conftest.py. The increment's own parts live beside it: the time windows and features
(features.py), the models and baselines (models.py), the data exploration (eda.py). Everything
statistical — metrics, intervals, paired comparisons, explanations, latency, promotion — is
pytest-specweave's.

Tasks hand over through the experiment store: T-004 logs `model-selection.json` (the chosen
algorithm), T-005 logs it again with the tuned parameters and the name of the experiment T-006
evaluates; T-006 saves that model with `log_model`, which T-007 explains and T-008 promotes and
serves.

Protocol (spec.md, Evaluation protocol): selection and tuning use the validation split only; the
chosen configuration is refitted at the test cut-off (1997-10-01) and scored once on the 39-week
hold-out, as are the three baselines, each with per-customer evidence so that every verdict and
the summary's comparison with each baseline pair the same customers.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pytest_specweave import (
    ExperimentStore,
    bootstrap_ci,
    compute_metrics,
    error_analysis,
    explain_model,
    load_model,
    log_reference_profile,
    log_search,
    measure_latency,
    measure_model_size,
    measure_throughput,
    measure_training_time,
    model_versions,
    promote_best_model,
    track_experiment,
)

from .eda import DATA_FILE, explore_data
from .features import FEATURES, LABEL_FRACTION, TEST, VALIDATION, features_at, spend_between, split_data
from .models import ALGORITHMS, BASELINES, SEED, TUNING, baseline_predictions, fit_model, search_space

PRIMARY = "rmse"
GATED = ("rmse", "mae", "r2")  # the success metrics scored on the hold-out
SELECTION_FILE = "model-selection.json"
N_BOOTSTRAP = 2000


def validation_scores(y: pd.Series, pred: np.ndarray) -> dict[str, float]:
    """val_rmse, val_mae, val_r2 of predictions for the validation window."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "mape left out")  # most customers spend $0: MAPE is undefined
        return compute_metrics("regression", y.to_numpy(), pred, prefix="val_")


def score_on_test(exp, y: pd.Series, pred: np.ndarray, *, keep_predictions: bool = False) -> None:
    """The gated metrics on the hold-out with 95% BCa intervals over customers, each keeping its
    per-customer evidence (so that the verdicts and the summary pair the model with each baseline
    customer by customer), and the aggregate forecast ratio, total predicted / total actual spend."""
    customers, actual = y.index.to_numpy(), y.to_numpy()
    for metric in GATED:
        bootstrap_ci(metric, actual, pred, n_resamples=N_BOOTSTRAP, experiment=exp, units=customers,
                     log_predictions=keep_predictions and metric == PRIMARY)
    exp.log_metric("aggregate_ratio", float(pred.sum() / actual.sum()))
    exp.log_evidence("aggregate_ratio", np.column_stack([pred, actual]), combine="ratio", units=customers,
                     unit="customers")


def load_selection(increment_dir: Path, task: str = "T-005") -> dict:
    """The model-selection.json `task` logged (its latest succeeded run; sha256 checked)."""
    return ExperimentStore(increment_dir).latest(task=task, artifact=SELECTION_FILE).load_dict(SELECTION_FILE)


def evaluated_experiment(increment_dir: Path):
    """The store's record of the experiment T-006 evaluated (named in T-005's model selection)."""
    return ExperimentStore(increment_dir).latest(name=load_selection(increment_dir)["experiment"])


# ---------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------


def explore(experiment, transactions: pd.DataFrame, increment_dir: Path) -> None:
    """T-001: data exploration and quality analysis, the hold-out target's spread (which decides
    the RMSE target, spec.md Targets), and the acquisition-cohort analysis (eda.py)."""
    metrics, report = explore_data(transactions)
    experiment.log_input(Path(increment_dir) / DATA_FILE, role="data")
    experiment.log_params({"dataset": DATA_FILE, "dataset_size": len(transactions),
                           "source": "CDNOW_master.txt (lifetimes)"})
    experiment.log_metrics(metrics)
    experiment.save_report("eda-summary.md", report)


def features(experiment, transactions: pd.DataFrame) -> dict[str, float]:
    """T-002: the feature tables at every cut-off the protocol uses, and the target windows."""
    out: dict[str, float] = {}
    rows = []
    for split in (VALIDATION, TEST):
        for role, cutoff, start, end in (
                ("supervised labels", split.label_start, split.label_start, split.origin),
                ("prediction", split.origin, split.origin, split.end)):
            X = features_at(transactions, cutoff)
            assert len(X) == transactions["customer_id"].nunique(), \
                f"{transactions['customer_id'].nunique() - len(X)} customers have no purchase before {cutoff:%Y-%m-%d}"
            assert np.isfinite(X.to_numpy()).all(), f"non-finite features at {cutoff:%Y-%m-%d}"
            y = spend_between(transactions, start, end, X.index)
            if not (split is TEST and role == "prediction"):
                out[f"{split.name}_{'label' if role != 'prediction' else 'target'}_buyer_share"] = float((y > 0).mean())
            rows.append((split.name, role, cutoff, start, end, X, y))
    out["n_features"] = len(FEATURES)
    out["n_customers"] = len(rows[0][5])
    experiment.log_params({"features": ", ".join(FEATURES), "validation": VALIDATION.describe(),
                           "test": TEST.describe(), "label_fraction": LABEL_FRACTION})
    lines = ["# Features and windows", "",
             "| split | used for | features before | target window | weeks | customers | mean repeat purchase "
             "days | mean spend_last_13w |", "|---|---|---|---|---:|---:|---:|---:|"]
    for name, role, cutoff, start, end, X, y in rows:
        lines.append(f"| {name} | {role} | {cutoff:%Y-%m-%d} | [{start:%Y-%m-%d}, {end:%Y-%m-%d}) | "
                     f"{(end - start).days / 7:.0f} | {len(X):,} | {X['frequency'].mean():.2f} | "
                     f"${X['spend_last_13w'].mean():.2f} |")
    lines += ["", "Features (per customer, from the purchase days before the cut-off):", ""]
    lines += [f"- `{f}`" for f in FEATURES]
    experiment.save_report("features.md", "\n".join(lines) + "\n")
    return out


def train_baselines(experiment, transactions: pd.DataFrame) -> None:
    """T-003: same-as-before, zero and recent-mean baselines, scored on validation and on test."""
    y_val, y_test = split_data(transactions, VALIDATION)[1], split_data(transactions, TEST)[1]
    validation, test = baseline_predictions(transactions, VALIDATION), baseline_predictions(transactions, TEST)
    for name, strategy in BASELINES.items():
        with track_experiment(name, baseline=True) as exp:
            exp.log_params({"strategy": strategy})
            exp.log_metrics(validation_scores(y_val, validation[name]))
            score_on_test(exp, y_test, test[name])
    experiment.log_param("baselines", ", ".join(BASELINES))


def train_candidates(experiment, transactions: pd.DataFrame) -> None:
    """T-004: four algorithms fitted on the data before the validation cut-off and compared on the
    validation window (never on test); the choice is this task's model-selection.json."""
    X_val, y_val = split_data(transactions, VALIDATION)
    results = {}
    for name, params in ALGORITHMS.items():
        with track_experiment(name) as exp:
            exp.log_params({"algorithm": name, **params, "validation": VALIDATION.describe()})
            model = measure_training_time(fit_model, name, params, transactions, VALIDATION, experiment=exp).result
            results[name] = validation_scores(y_val, model.predict(X_val))
            exp.log_metrics(results[name])
    best = min(results, key=lambda n: results[n][f"val_{PRIMARY}"])
    experiment.log_params({"selected_algorithm": best, "selected_by": f"val_{PRIMARY}"})
    experiment.log_dict({"algorithm": best, "candidates": results}, SELECTION_FILE)


def tune_best(experiment, transactions: pd.DataFrame, increment_dir: Path) -> None:
    """T-005: search the selected algorithm's hyperparameters on the validation window
    (scikit-learn's ParameterGrid or ParameterSampler, models.search_space); the selection, with
    the tuned parameters, is this task's model-selection.json."""
    selection = load_selection(increment_dir, "T-004")
    algorithm = selection["algorithm"]
    X_val, y_val = split_data(transactions, VALIDATION)
    candidates = search_space(algorithm)
    experiment.log_params({"algorithm": algorithm, "search": json.dumps(TUNING[algorithm], sort_keys=True),
                           "configurations": len(candidates)})
    rows = []
    for step, params in enumerate(candidates):
        scores = validation_scores(y_val, fit_model(algorithm, params, transactions, VALIDATION).predict(X_val))
        experiment.log_metric(f"val_{PRIMARY}", scores[f"val_{PRIMARY}"], step=step)
        experiment.log_metric("val_mae", scores["val_mae"], step=step)
        rows.append((step, params, scores))
    step, params, scores = min(rows, key=lambda r: (r[2][f"val_{PRIMARY}"], r[0]))
    log_search(experiment, [{"params": p, "value": m[f"val_{PRIMARY}"]} for _, p, m in rows],
               metric=f"val_{PRIMARY}", direction="minimize", best=step)  # every configuration, one trial each
    experiment.log_metrics(scores)  # the chosen configuration's
    experiment.log_params({f"best_{key}": value for key, value in params.items()})
    experiment.log_note(
        "| step | params | val rmse | val mae | val r2 |\n|---:|---|---:|---:|---:|\n"
        + "\n".join(f"| {s} | {json.dumps(p, sort_keys=True)} | {m['val_rmse']:.3f} | {m['val_mae']:.3f} | "
                    f"{m['val_r2']:.4f} |" for s, p, m in rows))
    experiment.log_dict({**selection, **scores, "params": params, "experiment": f"{algorithm}-tuned",
                         "tuned_step": step}, SELECTION_FILE)


def evaluate_best(experiment, transactions: pd.DataFrame, increment_dir: Path) -> None:
    """T-006: refit the chosen configuration at the test cut-off (1997-10-01, purchases before it
    only) and score it once on the 39-week hold-out, with 95% intervals over customers."""
    selection = load_selection(increment_dir)
    algorithm, params, name = selection["algorithm"], selection["params"], selection["experiment"]
    X_test, y_test = split_data(transactions, TEST)
    with track_experiment(name) as exp:
        exp.set_seed(SEED)
        exp.log_input(Path(increment_dir) / DATA_FILE, role="data")
        exp.log_params({"algorithm": algorithm, **params, "test": TEST.describe(), "evaluated_on": "test",
                        "selected_by": f"val_{PRIMARY}"})
        model = measure_training_time(fit_model, algorithm, params, transactions, TEST, experiment=exp).result
        score_on_test(exp, y_test, model.predict(X_test), keep_predictions=True)
        exp.log_metric("n_customers", len(y_test), exact=True)
        exp.log_note("Parameters fitted at the test cut-off: "
                     + json.dumps({k: getattr(model, k) for k in ("bg", "gg") if hasattr(model, k)}))
        exp.log_model(model, algorithm=algorithm, input_example=X_test[model.features].iloc[:5])
        log_reference_profile(exp, X_test[model.features], scores=model.predict(X_test))  # for monitoring
    experiment.log_params({"evaluated_experiment": name})


def explain(experiment, transactions: pd.DataFrame, increment_dir: Path) -> dict[str, float]:
    """T-007: which features the evaluated model relies on (permutation importance on the test
    customers, SHAP values for a sample), example explanations, and its errors by cohort and by
    purchase frequency."""
    record = evaluated_experiment(increment_dir)
    model = load_model(increment_dir, experiment=record.folder)
    X_test, y_test = split_data(transactions, TEST)
    X, y, pred = X_test[model.features], y_test.to_numpy(), model.predict(X_test)
    small = len(model.features) <= 4  # SHAP's cost grows with the features: fewer rows for more of them
    result = explain_model(None, X, y, predict=model.predict, experiment=experiment, explains=record.folder,
                           scoring="rmse", n_repeats=5, seed=SEED, max_shap_rows=100 if small else 40,
                           background_rows=25 if small else 15)
    first = transactions.groupby("customer_id")["date"].min().reindex(X_test.index)
    slices = pd.DataFrame({
        "customer_id": X_test.index.to_numpy(),
        "acquisition_month": first.dt.strftime("%Y-%m").to_numpy(),
        "calibration_purchase_days": pd.cut(X_test["frequency"], [-1, 0, 1, 3, 1000],
                                            labels=["1", "2", "3-4", "5+"]).astype(str).to_numpy()})
    error_analysis("regression", y, pred, data=slices, slice_by=["acquisition_month", "calibration_purchase_days"],
                   metric="rmse", n_worst=10, experiment=experiment)
    experiment.save_report("cohort-errors.md", cohort_report(record.folder, slices, y, pred, result.importance))
    return {"explained_customers": len(X), "top_feature_rmse_increase": float(result.importance[0]["importance_mean"]),
            "shap_rows": 0 if result.shap_values is None else len(result.shap_values)}


def cohort_report(explained: str, slices: pd.DataFrame, y: np.ndarray, pred: np.ndarray, importance) -> str:
    """Mean actual and predicted hold-out spend per acquisition cohort, and the top features."""
    table = (pd.DataFrame({"cohort": slices["acquisition_month"], "actual": y, "predicted": pred})
             .groupby("cohort").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                    predicted=("predicted", "mean")))
    lines = [f"# Hold-out spend by acquisition cohort ({explained})", "",
             "Mean spend per customer in the hold-out, actual and predicted (the aggregate forecast the "
             "CLV literature checks per cohort):", "",
             "| cohort | customers | actual | predicted | predicted / actual |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {c} | {int(r.customers):,} | ${r.actual:.2f} | ${r.predicted:.2f} | {r.predicted / r.actual:.2f} |"
              for c, r in table.iterrows()]
    lines += ["", "Most important features (permutation importance, the RMSE increase when the column is "
              "shuffled on the test customers):", ""]
    lines += [f"{i}. `{r['feature']}`: +${r['importance_mean']:.2f} RMSE" for i, r in enumerate(importance, 1)]
    return "\n".join(lines) + "\n"


def deployment(experiment, transactions: pd.DataFrame, increment_dir: Path) -> dict[str, float]:
    """T-008: promote the evaluated model, load it back through load_model (sha256 checked), check
    it reproduces T-006's predictions and that the single-customer path (raw purchases -> features
    -> $) agrees with the batch one; then latency, throughput and size of that path."""
    record = evaluated_experiment(increment_dir)
    evaluated = load_model(increment_dir, experiment=record.folder)
    promote_best_model(increment_dir)
    model = load_model(increment_dir)  # the latest promoted version
    X_test = features_at(transactions, TEST.origin)
    batch = model.predict(X_test)
    assert np.array_equal(batch, evaluated.predict(X_test)), \
        f"the promoted model predicts differently from {record.folder}'s: it is not the evaluated model"

    sample = np.random.default_rng(SEED).choice(X_test.index.to_numpy(), 1_000, replace=False)
    histories = purchase_histories(transactions, model.origin, sample)
    single = np.array([model.predict_customer(h) for h in histories])
    expected = batch[X_test.index.get_indexer(sample)]
    assert np.allclose(single, expected, rtol=1e-9, atol=1e-9), (
        f"single-customer and batch predictions differ (max {np.abs(single - expected).max():.3g} $): "
        "customer_features and features_at disagree")

    def serve(requests):  # one request: one customer's purchase rows
        return [model.predict_customer(h) for h in requests]

    version = model_versions(increment_dir)[-1]
    experiment.log_params({"model": f"models/model-v{version}.pkl (from {record.folder})",
                           "request": "one customer's purchase rows before the cut-off -> expected spend ($)",
                           "serving": "one process, one request at a time, model in memory"})
    measure_latency(predict=serve, X=histories, n_requests=500, warmup=50, experiment=experiment)
    measure_throughput(predict=serve, X=histories, n_requests=2_000, batch_size=100, experiment=experiment)
    measure_model_size(model, experiment=experiment)
    return {"promoted_version": version}


def purchase_histories(transactions: pd.DataFrame, cutoff: pd.Timestamp, customers) -> list[dict]:
    """Each customer's raw purchase rows before `cutoff`: the requests of the serving path."""
    groups = dict(tuple(transactions[transactions["date"] < cutoff].groupby("customer_id")))
    return [{column: groups[c][column].to_numpy() for column in ("date", "dollar_value", "number_of_cds")}
            for c in customers]
