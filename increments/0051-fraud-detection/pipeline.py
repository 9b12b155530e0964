"""The pipeline of increment 0051: one function per task of tasks.md, in its order.

Each task function takes pytest fixtures: `experiment` (the running task's tracked experiment)
from pytest-specweave, and `transactions`, `cities`, `categories`, `periods`, `increment_dir` from
this increment's conftest.py. The feature table (features.py) is built once per process and split
by time into history / train / validation / test. The models and the deployable FraudScorer are
in models.py; how an explanation reads, in explanations.py.

Protocol (plan.md): models learn from the training period and are compared, tuned and given their
decision threshold on the validation period (T-004 to T-006); the test period is scored once, by
the baselines (T-003) and the chosen scorer (T-006). Tasks hand results on through the experiment
store: T-004 and T-005 save `model-selection.json` (`log_dict`), later tasks find it with
`ExperimentStore.latest(task=..., artifact=...)`, and T-006's FraudScorer is its logged model.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from pytest_specweave import (ExperimentStore, bootstrap_ci, compute_metrics, explain_model, load_model,
                              log_reference_profile, log_search, majority_baseline, measure_latency,
                              measure_model_size, measure_throughput,
                              promote_best_model, track_experiment, tune_decision_threshold, uniform_baseline)

from .eda import eda_summary
from .explanations import SCENARIOS, explanations_markdown
from .features import CATEGORICAL, FEATURES, build_features
from .models import ALGORITHMS, N_TUNING, SEED, TUNING_GRIDS, FraudScorer, fit

DATA_FILE = "data/transactions.csv.gz"
DATA_SEEDS = "51 (the cards, and every event before June 1), 5151 (the events from June 1: the test period)"
TARGET_PRECISION = 0.99  # spec.md: 99% precision
CONFIDENCE = 0.95  # of the lower bound of validation precision the threshold must clear (plan.md)
SELECTION_LEGIT_SHARE = 0.10  # validation rows scored for model selection: all frauds, 10% of the rest
SELECTION_FILE = "model-selection.json"
DECLINED_FILE = "declined.json"

# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

_TABLE: dict = {}


def feature_table(transactions: pd.DataFrame, cities: pd.DataFrame,
                  periods: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """The features of every transaction (features.py) and its period; built once per process."""
    key = (id(transactions), len(transactions), id(cities))
    if key not in _TABLE:
        _TABLE.clear()
        table = build_features(transactions, cities)
        period = np.full(len(table), "", dtype=object)
        ts = table["timestamp"].to_numpy()
        for name, (start, end) in periods.items():
            period[(ts >= start) & (ts < end)] = name
        if (period == "").any():
            raise ValueError(f"{int((period == '').sum())} transactions fall outside the periods {list(periods)}")
        table["period"] = pd.Categorical(period, categories=list(periods))
        _TABLE[key] = (transactions, cities, table)  # the inputs are kept: their ids stay theirs
    return _TABLE[key][2]


def rows(table: pd.DataFrame, period: str) -> pd.DataFrame:
    return table[table["period"] == period]


def training_rows(train: pd.DataFrame, legit_share: float) -> pd.DataFrame:
    """All frauds of the training period and a random `legit_share` of the legitimate transactions
    (negative down-sampling: plan.md, Imbalanced data handling)."""
    keep = (train["is_fraud"].to_numpy() == 1) | (np.random.default_rng(SEED).random(len(train)) < legit_share)
    return train[keep]


def selection_rows(validation: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The validation rows scored to compare models: all frauds and SELECTION_LEGIT_SHARE of the
    legitimate transactions, with weights that restore the full period's proportions."""
    fraud = validation["is_fraud"].to_numpy() == 1
    keep = fraud | (np.random.default_rng(SEED + 1).random(len(validation)) < SELECTION_LEGIT_SHARE)
    return validation[keep], np.where(fraud[keep], 1.0, 1.0 / SELECTION_LEGIT_SHARE)


def val_pr_auc(model, algorithm: str, validation: pd.DataFrame, weights: np.ndarray) -> float:
    """PR AUC on the selection rows, weighted back to the whole validation period."""
    s = FraudScorer(model, algorithm, {}, 1.0, {}).scores(validation)
    return compute_metrics("classification", validation["is_fraud"].to_numpy(), y_score=s,
                           sample_weight=weights)["pr_auc"]


def selection(increment_dir: Path, task: str = "T-005") -> tuple[dict, object]:
    """The model-selection.json `task` saved (its latest succeeded run), and that run's record."""
    record = ExperimentStore(increment_dir).latest(task=task, artifact=SELECTION_FILE)
    return record.load_dict(SELECTION_FILE), record


def evaluated(increment_dir: Path):
    """T-006's experiment (the one the success metrics judge): its record and its FraudScorer."""
    name = selection(increment_dir)[0]["experiment"]
    record = ExperimentStore(increment_dir).latest(name=name)
    return record, load_model(increment_dir, experiment=record.folder)


# ---------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------


def explore(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, categories: pd.DataFrame,
            periods: dict, increment_dir: Path) -> None:
    """T-001: data exploration and quality analysis: the class imbalance, and why accuracy misleads."""
    df = transactions
    missing = int(df.isna().sum().sum())
    duplicates = int(df["tx_id"].duplicated().sum())
    unknown_city = int((~df["city_id"].isin(cities["city_id"])).sum())
    unknown_category = int((~df["category"].isin(categories["category"])).sum())
    inconsistent = int(((df["is_fraud"] == 1) != (df["fraud_scenario"] > 0)).sum())
    assert missing == 0, f"{missing} missing values in the transactions"
    assert duplicates == 0, f"{duplicates} repeated tx_id values"
    assert unknown_city == 0 and unknown_category == 0, \
        f"{unknown_city} transactions with a city and {unknown_category} with a category not in the tables"
    assert inconsistent == 0, f"{inconsistent} transactions whose is_fraud disagrees with fraud_scenario"

    fraud = df["is_fraud"].to_numpy() == 1
    amount = df["amount_cents"] / 100
    rate = float(fraud.mean())
    cnp_value = float(amount[fraud & (df["channel"] == 1)].sum() / amount[fraud].sum())
    metrics = {
        "n_transactions": len(df),
        "n_cards": int(df["card_id"].nunique()),
        "fraud_rate": rate,
        "legit_per_fraud": float((~fraud).sum() / fraud.sum()),
        "always_legit_accuracy": 1.0 - rate,
        "missing_values": missing,
        "duplicate_tx_ids": duplicates,
        "fraud_value_online_share": cnp_value,
    }
    experiment.log_input(Path(increment_dir) / DATA_FILE, role="data")
    experiment.log_params({"dataset": DATA_FILE, "dataset_size": len(df), "seeds_of_data": DATA_SEEDS})
    experiment.log_metrics(metrics)

    experiment.save_report("eda-summary.md", eda_summary(df, cities, categories, periods, metrics,
                                                          unknown_city + unknown_category))


def features(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, periods: dict) -> dict[str, float]:
    """T-002: the per-card history features of every transaction, and the split by time."""
    started = time.perf_counter()
    table = feature_table(transactions, cities, periods)
    seconds = time.perf_counter() - started
    values = table[FEATURES].to_numpy(np.float64)
    assert np.isfinite(values).all(), "a feature is NaN or infinite"
    experiment.log_params({"features": ", ".join(FEATURES), "n_features": len(FEATURES),
                           "split": ", ".join(f"{k} {a}..{b}" for k, (a, b) in
                                              {k: (pd.Timestamp(a, unit='s').date(), pd.Timestamp(b - 1, unit='s').date())
                                               for k, (a, b) in periods.items()}.items())})
    train = rows(table, "train")
    by_class = train.groupby("is_fraud")[FEATURES].mean().T
    lines = ["# Features (per-card history, strictly from the past)", "",
             "Means over the training period, legitimate vs fraudulent transactions.", "",
             "| feature | legitimate | fraud |", "|---|---:|---:|",
             *[f"| {f} | {by_class.loc[f, 0]:.3f} | {by_class.loc[f, 1]:.3f} |" for f in FEATURES], ""]
    experiment.save_report("features.md", "\n".join(lines))
    out = {"feature_seconds": seconds, "n_features": len(FEATURES)}
    for name in periods:
        part = rows(table, name)
        out[f"{name}_transactions"] = len(part)
        out[f"{name}_frauds"] = int(part["is_fraud"].sum())
    return out


RULES = {
    # A rules engine as issuers ran before machine learning, written before any model was fitted
    # and not tuned: a transaction is declined when any rule fires.
    "velocity: 3 or more payments in the previous hour": lambda t: t["n_prev_1h"] >= 3,
    "card testing: 2 or more payments under 5 EUR in the previous 24 h, and this one under 5 EUR":
        lambda t: (t["n_small_prev_24h"] >= 2) & (t["log_amount"] < np.log1p(5.0)),
    "takeover: online, from a device new to the card, abroad": lambda t: (t["new_device_30d"] == 1) & (t["foreign"] == 1),
    "impossible travel: over 500 km/h from the previous payment": lambda t: t["log_speed_from_prev_kmh"] > np.log1p(500),
}


def train_baselines(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, periods: dict) -> None:
    """T-003: majority ("approve everything"), random and rules baselines, evaluated on test."""
    table = feature_table(transactions, cities, periods)
    y_train = rows(table, "train")["is_fraud"].to_numpy()
    test = rows(table, "test")
    y_test = test["is_fraud"].to_numpy()
    majority = majority_baseline(y_train, y_test)
    uniform_baseline(y_train, y_test, seed=SEED)
    fired = np.column_stack([np.asarray(rule(test), dtype=bool) for rule in RULES.values()])
    with track_experiment("baseline-rules", baseline=True) as exp:
        exp.log_params({"baseline": "rules", "rules": " | ".join(RULES), "decision": "decline when any rule fires"})
        compute_metrics("classification", y_test, fired.any(axis=1).astype(np.int64),
                        y_score=fired.sum(axis=1).astype(float), experiment=exp, log_predictions=False)
        exp.log_metric("flagged", int(fired.any(axis=1).sum()))
    experiment.log_note(
        f"Why accuracy misleads: approving everything (baseline-majority) is {majority.metrics['accuracy']:.4%} "
        f"accurate on the test period and its recall is {majority.metrics['recall']:.0%}: it never catches a fraud.")
    experiment.log_param("baselines", "baseline-majority, baseline-random, baseline-rules")


def train_candidates(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, periods: dict) -> None:
    """T-004: three algorithms fitted on the training period and compared on validation PR AUC
    (never on test); the choice goes to this task's model-selection.json."""
    table = feature_table(transactions, cities, periods)
    train = rows(table, "train")
    validation, weights = selection_rows(rows(table, "validation"))
    results = {}
    for name, params in ALGORITHMS.items():
        with track_experiment(name) as exp:
            sample = training_rows(train, params["legit_share"])
            exp.log_params({"algorithm": name, **params, "fitted_on": "train (all frauds, a sample of the rest)",
                            "training_rows": len(sample),
                            "scored_on": "validation (all frauds, 10% of the rest, weighted)"})
            started = time.perf_counter()
            model = fit(name, params, sample, sample["is_fraud"].to_numpy())
            results[name] = {"training_time_s": time.perf_counter() - started,
                             "val_pr_auc": val_pr_auc(model, name, validation, weights)}
            exp.log_metrics(results[name])
    best = max(results, key=lambda n: results[n]["val_pr_auc"])
    experiment.log_params({"selected_algorithm": best, "selected_by": "val_pr_auc"})
    experiment.log_dict({"algorithm": best, "candidates": results}, SELECTION_FILE)


def tune_best(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, periods: dict,
              increment_dir: Path) -> None:
    """T-005: random search (scikit-learn's ParameterSampler, the default first) of the selected
    algorithm, each configuration fitted on train and scored on validation."""
    from sklearn.model_selection import ParameterSampler

    chosen, _ = selection(increment_dir, "T-004")
    algorithm = chosen["algorithm"]
    table = feature_table(transactions, cities, periods)
    train = rows(table, "train")
    validation, weights = selection_rows(rows(table, "validation"))
    default = ALGORITHMS[algorithm]
    sampled = list(ParameterSampler(TUNING_GRIDS[algorithm], N_TUNING, random_state=SEED))
    configs = [default] + [c for c in sampled if c != default][:N_TUNING - 1]
    experiment.log_params({"algorithm": algorithm, "search": f"ParameterSampler, {len(configs)} configurations "
                           "(the default first)", "grid": TUNING_GRIDS[algorithm]})
    scores = []
    for params in configs:
        sample = training_rows(train, params["legit_share"])
        model = fit(algorithm, params, sample, sample["is_fraud"].to_numpy())
        scores.append(val_pr_auc(model, algorithm, validation, weights))
    best = int(np.argmax(scores))  # the first of equals: the default wins a tie
    log_search(experiment, [{"params": c, "value": v} for c, v in zip(configs, scores)], metric="val_pr_auc",
               best=best)  # every configuration a trial: steps, the search's record, the best as the final value
    experiment.log_params({f"best_{k}": v for k, v in configs[best].items()})
    experiment.log_note("| step | params | val PR AUC |\n|---:|---|---:|\n" + "\n".join(
        f"| {i} | {p} | {a:.4f} |" for i, (p, a) in enumerate(zip(configs, scores))))
    chosen.update({"params": configs[best], "experiment": f"{algorithm}-tuned", "val_pr_auc": scores[best]})
    experiment.log_dict(chosen, SELECTION_FILE)


def evaluate_best(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, periods: dict,
                  increment_dir: Path) -> None:
    """T-006: fit the chosen configuration on train, choose the decision threshold on validation,
    then score the test period once, with card-level intervals; the FraudScorer (model + threshold +
    explainer) is logged as the experiment's model."""
    chosen, _ = selection(increment_dir)
    algorithm, params, name = chosen["algorithm"], chosen["params"], chosen["experiment"]
    table = feature_table(transactions, cities, periods)
    train, validation, test = rows(table, "train"), rows(table, "validation"), rows(table, "test")
    with track_experiment(name) as exp:
        exp.set_seed(SEED)
        exp.log_input(Path(increment_dir) / DATA_FILE, role="data")
        sample = training_rows(train, params["legit_share"])
        started = time.perf_counter()
        model = fit(algorithm, params, sample, sample["is_fraud"].to_numpy())
        exp.log_metric("training_time_s", time.perf_counter() - started)

        # 1. The threshold, on the whole validation period (never on test).
        y_val = validation["is_fraud"].to_numpy()
        s_val = FraudScorer(model, algorithm, params, 1.0, {}).scores(validation, threads=2)
        rule = tune_decision_threshold(y_val, s_val, target_precision=TARGET_PRECISION, confidence=CONFIDENCE)
        scorer = FraudScorer(model, algorithm, params, rule.threshold, vars(rule))
        exp.log_params({"algorithm": algorithm, **params, "fitted_on": "train", "training_rows": len(sample),
                        "decision_threshold": rule.threshold, "threshold_rule": f"lowest score whose one-sided "
                        f"{CONFIDENCE:.0%} Clopper-Pearson lower bound of validation precision >= {TARGET_PRECISION}",
                        "threshold_tuned_on": "validation", "evaluated_on": "test", "selected_by": "val_pr_auc"})
        exp.log_metrics({"val_precision": rule.tuning_precision, "val_recall": rule.tuning_recall,
                         "val_precision_lower_bound": rule.precision_lower_bound,
                         "val_flagged": int((s_val >= rule.threshold).sum()),
                         "val_pr_auc": compute_metrics("classification", y_val, y_score=s_val)["pr_auc"]})

        # 2. Once, on test: intervals resample cards (a card's frauds are caught or missed together).
        y, cards = test["is_fraud"].to_numpy(), test["card_id"].to_numpy()
        s = scorer.scores(test, threads=2)
        decision = (s >= scorer.threshold).astype(np.int64)
        precision = bootstrap_ci("precision", y, decision, groups=cards, experiment=exp, log_predictions=False)
        recall = bootstrap_ci("recall", y, decision, groups=cards, experiment=exp, log_predictions=False)
        pr_auc = bootstrap_ci("pr_auc", y, y_score=s, groups=cards)  # no evidence kept: 2 million scores
        exp.log_metric("pr_auc", pr_auc.value, ci=pr_auc.ci, level=pr_auc.level)
        exp.log_metrics({k: v for k, v in compute_metrics("classification", y, decision, y_score=s).items()
                         if k in ("roc_auc", "accuracy", "f1")})
        flagged, tp = int(decision.sum()), int((decision & y).sum())
        amount, legit = test["amount_eur"].to_numpy(), int((y == 0).sum())
        exp.log_metrics({"flagged": flagged, "true_positives": tp, "false_positives": flagged - tp,
                         "false_negatives": int(y.sum()) - tp, "false_declines_per_10k_legit": 1e4 * (flagged - tp) / legit,
                         "fraud_value_recall": float(amount[(decision == 1) & (y == 1)].sum() / amount[y == 1].sum()),
                         "test_fraud_rate": float(y.mean())})
        scenario = test["fraud_scenario"].to_numpy()
        exp.log_metrics({f"recall_{label}": float(decision[scenario == code].mean()) for code, label in SCENARIOS.items()
                         if (scenario == code).any()})
        exp.log_note(
            f"Threshold {scorer.threshold:.6f} chosen on validation: {int((s_val >= rule.threshold).sum())} declined, "
            f"precision {rule.tuning_precision:.4f} (one-sided {CONFIDENCE:.0%} lower bound "
            f"{rule.precision_lower_bound:.4f}), recall {rule.tuning_recall:.4f}.\n"
            f"Test: {flagged} declined, {flagged - tp} legitimate; precision {precision.value:.4f} "
            f"[{precision.low:.4f}, {precision.high:.4f}] ({precision.method}), recall {recall.value:.4f} "
            f"[{recall.low:.4f}, {recall.high:.4f}], PR AUC {pr_auc.value:.4f} [{pr_auc.low:.4f}, {pr_auc.high:.4f}].")
        # For the report (confusion matrix, PR curve), T-007 (explains the declines) and T-008 (re-checks them).
        exp.log_predictions(y, decision, y_score=np.round(s, 6).astype(np.float32))
        declined = np.flatnonzero(decision == 1)
        declined = declined[np.argsort(-s[declined], kind="stable")]
        exp.log_dict({"threshold": scorer.threshold, "period": "test", "declined": [
            [int(t), round(float(v), 8)] for t, v in zip(test["tx_id"].to_numpy()[declined], s[declined])]},
            DECLINED_FILE)
        exp.log_model(scorer, algorithm=algorithm, input_example=test[FEATURES].head(5),
                      framework="lightgbm" if algorithm == "lightgbm" else "sklearn")
        log_reference_profile(exp, test[FEATURES], scores=s, categorical=CATEGORICAL)  # what monitoring compares with
    experiment.log_param("evaluated_experiment", name)


TOP_RISK = 10
MAX_FALSE_DECLINES = 10


def explain(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, categories: pd.DataFrame,
            periods: dict, increment_dir: Path) -> dict[str, float]:
    """T-007: the features' importance over random test transactions (explain_model), and the
    reasons behind the declines (FraudScorer.explain, exact TreeSHAP of the log-odds): the highest
    scores, every false decline, and the best-scored declined fraud of each scenario."""
    record, scorer = evaluated(increment_dir)
    experiment.log_params({"explains": record.folder, "explainer": "shap.TreeExplainer", "top_risk": TOP_RISK})
    test = rows(feature_table(transactions, cities, periods), "test").reset_index(drop=True)
    sample = test.iloc[np.sort(np.random.default_rng(SEED).choice(len(test), 2000, replace=False))][FEATURES]
    explain_model(scorer.model, sample, experiment=experiment, explains=record.folder, max_shap_rows=500, seed=SEED,
                  lime=True)  # LIME beside SHAP for the example rows; where their top reasons differ is said

    position = pd.Series(np.arange(len(test)), index=test["tx_id"].to_numpy())
    declined = position.loc[[t for t, _ in record.load_dict(DECLINED_FILE)["declined"]]].to_numpy()
    truth = test["fraud_scenario"].to_numpy()[declined]
    groups = [("Highest-risk transactions", declined[:TOP_RISK]),
              ("False declines: legitimate transactions the model declined", declined[truth == 0][:MAX_FALSE_DECLINES]),
              ("The highest-scored declined fraud of each scenario",
               np.array([declined[truth == code][0] for code in SCENARIOS if (truth == code).any()], dtype=int))]
    chosen = list(dict.fromkeys(np.concatenate([g for _, g in groups]).tolist()))
    explained = dict(zip(chosen, scorer.explain(test.iloc[chosen], top=3)))
    error = scorer.additivity_error(test.iloc[chosen], [explained[i] for i in chosen])
    assert not error > 1e-6, f"SHAP values do not add up to the model's log-odds (max error {error:.2e})"
    # The reason a declined customer would be given first: the feature pushing hardest towards fraud.
    pushes = np.array([e["shap_values"] for e in scorer.explain(test.iloc[declined], top=1)])
    first_reason = pd.Series([FEATURES[j] for j in pushes.argmax(axis=1)]).value_counts()
    text, records = explanations_markdown(scorer, record.folder, groups, explained, test, transactions, cities,
                                          categories, error, first_reason, n_false=int((truth == 0).sum()))
    experiment.save_report("declined-explanations.md", text)
    experiment.log_dict({"explains": record.folder, "threshold": scorer.threshold, "output": "log-odds",
                         "transactions": records}, "shap_explanations.json")
    return {"explained_transactions": len(records), "shap_additivity_max_error": error,
            "top_risk_fraud_share": float(test["is_fraud"].to_numpy()[groups[0][1]].mean())}


def deployment(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, periods: dict,
               increment_dir: Path) -> dict[str, float]:
    """T-008: the promoted model (models/model-vN.pkl) loaded with load_model, deciding with its
    stored threshold: latency and throughput of single transactions, size, explanation time."""
    from pytest_specweave import model_versions

    promote_best_model(increment_dir)  # what the report does after a run; nothing new when done already
    version = model_versions(increment_dir)[-1]
    path = Path(increment_dir) / "models" / f"model-v{version}.pkl"
    scorer: FraudScorer = load_model(increment_dir)  # sha256 checked against the version's metadata
    record, judged = evaluated(increment_dir)
    assert scorer.threshold == judged.threshold == record.params["decision_threshold"], \
        f"models/{path.name} decides at {scorer.threshold}, T-006 chose {record.params['decision_threshold']}"

    test = rows(feature_table(transactions, cities, periods), "test").reset_index(drop=True)
    declined = record.load_dict(DECLINED_FILE)["declined"]  # the promoted model declines them again, same scores
    again = test.set_index("tx_id").loc[[t for t, _ in declined], FEATURES]
    assert (scorer.predict(again) == 1).all(), "the promoted model approves transactions T-006 declined"
    assert np.allclose(scorer.scores(again), [v for _, v in declined], atol=1e-7), "the promoted model scores differently"
    X = test[FEATURES].to_numpy(np.float64)[np.sort(np.random.default_rng(SEED).choice(len(test), 5000, replace=False))]
    experiment.log_params({"model": f"models/{path.name}", "model_version": version,
                           "source_experiment": record.folder, "decision_threshold": scorer.threshold,
                           "serving": "one process, one transaction per request (a feature row), model in memory"})
    measure_latency(scorer, X, n_requests=2000, warmup=100, experiment=experiment)
    measure_throughput(scorer, X, n_requests=3000, batch_size=1000, experiment=experiment)
    measure_model_size(path, experiment=experiment)
    explaining = measure_latency(predict=lambda row: scorer.explain(row), X=X[:200], n_requests=60, warmup=1)
    return {"explain_p95_ms": explaining.p95_ms, "declined_share_of_sample": float(scorer.predict(X).mean())}
