"""The pipeline of increment 0051: one function per task of tasks.md.

Each task function takes pytest fixtures as parameters: `experiment` (the running task's tracked
experiment) from pytest-specweave, and `transactions`, `cities`, `categories`, `periods`,
`increment_dir` from this increment's conftest.py. The feature table is built once per process
(features.py; cached here) and split by time into history / train / validation / test.
Tasks share results through the experiment store (`experiments/`): `model-selection.json` is an
artifact of T-004's experiment (the chosen algorithm) and of T-005's (plus the tuned parameters),
and T-006 logs the deployable FraudScorer (model + decision threshold + explainer) as its model,
which T-007 explains and T-008 serves from models/ after promoting it.

Protocol: models learn from the training period and are compared, tuned and given their decision
threshold on the validation period (T-004 to T-006); the chosen scorer is evaluated once on the
test period (T-006). Test metrics are logged only by the baselines and by that evaluation.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from pytest_specweave import ExperimentStore, load_model, track_experiment

from .features import CATEGORICAL, FEATURES, build_features

SEED = 51
PRIMARY = "pr_auc"
TARGET_PRECISION = 0.99  # spec.md: the seed skill's "99% precision target"
CONFIDENCE = 0.95  # of the precision bound the threshold must clear on validation (plan.md, Revisions)
LEVEL = 0.95  # of the test intervals
N_BOOTSTRAP = 2000
SELECTION_LEGIT_SHARE = 0.10  # validation rows scored for model selection: all frauds, 10% of the rest
DATA_FILE = "data/transactions.csv.gz"
SELECTION_FILE = "model-selection.json"
DECLINED_FILE = "declined.json"
SCENARIOS = {1: "card_testing", 2: "account_takeover", 3: "counterfeit_card", 4: "lost_stolen_familiar"}

# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

_TABLE: dict = {}


def feature_table(transactions: pd.DataFrame, cities: pd.DataFrame,
                  periods: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """The features of every transaction (features.py) and its period; built once per process
    (the tasks of a session share it)."""
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


def training_rows(train: pd.DataFrame, legit_share: float, seed: int = SEED) -> pd.DataFrame:
    """All frauds of the training period and a random `legit_share` of its legitimate transactions
    (negative down-sampling: the class imbalance handling of plan.md)."""
    rng = np.random.default_rng(seed)
    keep = (train["is_fraud"].to_numpy() == 1) | (rng.random(len(train)) < legit_share)
    return train[keep]


def selection_rows(validation: pd.DataFrame, seed: int = SEED) -> tuple[pd.DataFrame, np.ndarray]:
    """The validation rows scored to compare models: all frauds and SELECTION_LEGIT_SHARE of the
    legitimate transactions, with weights that restore the full period's proportions."""
    rng = np.random.default_rng(seed + 1)
    fraud = validation["is_fraud"].to_numpy() == 1
    keep = fraud | (rng.random(len(validation)) < SELECTION_LEGIT_SHARE)
    weights = np.where(fraud[keep], 1.0, 1.0 / SELECTION_LEGIT_SHARE)
    return validation[keep], weights


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def cyclic_hour(X):
    """hour -> (sin, cos): 23:00 is next to 00:00 for the linear model."""
    h = np.asarray(X, dtype=float).reshape(-1) * (2 * np.pi / 24.0)
    return np.column_stack([np.sin(h), np.cos(h)])


def make_model(algorithm: str, params: dict):
    """A fresh estimator; `params` may hold `legit_share` (the down-sampling rate), ignored here."""
    params = {k: v for k, v in params.items() if k != "legit_share"}
    if algorithm == "logistic-regression":
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

        numeric = [f for f in FEATURES if f not in CATEGORICAL and f != "hour"]
        encode = ColumnTransformer([
            ("hour", FunctionTransformer(cyclic_hour), ["hour"]),
            ("numeric", StandardScaler(), numeric),
            ("category", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ])
        return Pipeline([("encode", encode),
                         ("model", LogisticRegression(C=params.get("C", 1.0), max_iter=3000))])
    if algorithm == "lightgbm":
        from lightgbm import LGBMClassifier

        defaults = {"n_estimators": 200, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
                    "colsample_bytree": 0.8, "reg_lambda": 1.0}
        # One thread: deterministic, and immune to the thread oversubscription of a busy machine.
        return LGBMClassifier(**{**defaults, **params}, subsample=0.8, subsample_freq=1, n_jobs=1,
                              random_state=SEED, verbose=-1)
    if algorithm == "random-forest":
        from sklearn.ensemble import RandomForestClassifier

        defaults = {"n_estimators": 100, "min_samples_leaf": 5, "max_features": "sqrt", "max_samples": 0.5}
        return RandomForestClassifier(**{**defaults, **params}, n_jobs=2, random_state=SEED)
    raise ValueError(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")


def fit(algorithm: str, params: dict, X: pd.DataFrame, y: np.ndarray):
    model = make_model(algorithm, params)
    if algorithm == "lightgbm":
        model.fit(X[FEATURES], y, categorical_feature=CATEGORICAL)
    else:
        model.fit(X[FEATURES], y)
    return model


ALGORITHMS = {
    "logistic-regression": {"C": 1.0, "legit_share": 0.05},
    "lightgbm": {"n_estimators": 200, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
                 "legit_share": 0.05},
    "random-forest": {"n_estimators": 100, "min_samples_leaf": 5, "legit_share": 0.05},
}

# Each grid holds the default of ALGORITHMS, so tuning can only confirm or improve it; a seeded
# random sample of N_TUNING configurations is tried, the default always among them. LightGBM is
# capped at 200 trees of 31 leaves: the chosen scorer is applied to three million validation and
# test transactions in every run, and the cost grows with trees x leaves (plan.md, Budget).
TUNING_GRIDS = {
    "logistic-regression": {"C": [0.01, 0.1, 1.0, 10.0], "legit_share": [0.05, 0.2]},
    "lightgbm": {"n_estimators": [100, 200], "learning_rate": [0.05, 0.1], "num_leaves": [15, 31],
                 "min_child_samples": [20, 50], "legit_share": [0.05, 0.2]},
    "random-forest": {"n_estimators": [50, 100], "min_samples_leaf": [2, 5, 10], "legit_share": [0.05, 0.2]},
}
N_TUNING = 6


class FraudScorer:
    """What is deployed: the model, the decision threshold chosen on validation, and the way to
    explain a decision (SHAP, computed when asked; the explainer is not pickled).

    predict(X) is the decision (1 = decline as fraud) for rows of the feature table (a DataFrame
    with the FEATURES columns, or a 2-D array in FEATURES order); predict_proba(X) the scores.
    """

    def __init__(self, model, algorithm: str, params: dict, threshold: float, threshold_rule: dict):
        self.model = model
        self.algorithm = algorithm
        self.params = dict(params)
        self.threshold = float(threshold)
        self.threshold_rule = dict(threshold_rule)
        self.features = list(FEATURES)
        self.classes_ = np.array([0, 1])
        self._explainer = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_explainer"] = None
        return state

    def _frame(self, X) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X[self.features]
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ValueError(f"expected rows of {len(self.features)} features ({', '.join(self.features)}), "
                             f"got shape {X.shape}")
        return pd.DataFrame(X, columns=self.features)

    def scores(self, X, threads: int = 1) -> np.ndarray:
        """Fraud scores; `threads` > 1 for bulk scoring (one thread serves a single transaction)."""
        if self.algorithm == "lightgbm":  # the booster directly: no pandas checks on the hot path
            data = X[self.features].to_numpy(np.float64) if isinstance(X, pd.DataFrame) else np.asarray(X, float)
            if data.ndim != 2 or data.shape[1] != len(self.features):
                raise ValueError(f"expected rows of {len(self.features)} features, got shape {data.shape}")
            return self.model.booster_.predict(data, num_threads=threads)
        return self.model.predict_proba(self._frame(X))[:, 1]

    def predict_proba(self, X) -> np.ndarray:
        s = self.scores(X)
        return np.column_stack([1.0 - s, s])

    def predict(self, X) -> np.ndarray:
        return (self.scores(X) >= self.threshold).astype(np.int64)

    def explain(self, X, top: int = 3) -> list[dict]:
        """Per row: the score, the decision and the `top` features that moved the score most
        (SHAP values of the model's log-odds: TreeExplainer for the tree models)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import shap

        frame = self._frame(X)
        if self._explainer is None:
            tree = self.model.booster_ if self.algorithm == "lightgbm" else self.model
            if self.algorithm == "logistic-regression":
                raise NotImplementedError("explain() covers the tree models; use explain_model for the linear one")
            self._explainer = shap.TreeExplainer(tree)
        with warnings.catch_warnings():  # shap's notices about its own API changes
            warnings.simplefilter("ignore")
            values = np.asarray(self._explainer.shap_values(frame))
        if values.ndim == 3:  # one slice per class (random forest): the fraud class
            values = values[:, :, 1] if values.shape[2] == 2 else values[1]
        base = np.asarray(self._explainer.expected_value, dtype=float).ravel()[-1]
        scores = self.scores(frame)
        out = []
        for i in range(len(frame)):
            order = np.argsort(-np.abs(values[i]), kind="stable")[:top]
            out.append({"score": float(scores[i]), "decision": int(scores[i] >= self.threshold),
                        "base_value": float(base),
                        "reasons": [(self.features[j], float(frame.iat[i, j]), float(values[i, j])) for j in order],
                        "shap_values": values[i].tolist()})
        return out


# ---------------------------------------------------------------------------------------------
# Metrics, the threshold, intervals
# ---------------------------------------------------------------------------------------------


def average_precision(y: np.ndarray, s: np.ndarray, weights: np.ndarray | None = None) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, s, sample_weight=weights))


def recall_at_precision(y: np.ndarray, s: np.ndarray, target: float = TARGET_PRECISION,
                        weights: np.ndarray | None = None) -> float:
    """The best recall among thresholds whose precision (on these rows) is at least `target`: an
    in-sample diagnostic (the threshold is chosen on the rows it is measured on)."""
    from sklearn.metrics import precision_recall_curve

    p, r, _ = precision_recall_curve(y, s, sample_weight=weights)
    ok = p[:-1] >= target
    return float(r[:-1][ok].max()) if ok.any() else 0.0


def clopper_pearson(k, n, level: float = LEVEL, sides: int = 2):
    """Exact binomial interval(s) for k successes in n trials: (low, high); with sides=1, the
    one-sided lower bound at confidence `level` (high = 1)."""
    from scipy.stats import beta

    k, n = np.asarray(k, float), np.asarray(n, float)
    alpha = (1 - level) / sides
    low = np.where(k > 0, beta.ppf(alpha, np.maximum(k, 1e-12), n - k + 1), 0.0)
    high = np.where(k < n, beta.ppf(1 - alpha, k + 1, np.maximum(n - k, 1e-12)), 1.0) if sides == 2 else np.ones_like(k)
    return low, high


def choose_threshold(y: np.ndarray, s: np.ndarray, target: float = TARGET_PRECISION,
                     confidence: float = CONFIDENCE) -> dict:
    """The lowest score threshold at which the one-sided `confidence` Clopper-Pearson lower bound
    of the precision on these rows is at least `target` (rows with score >= threshold declined).

    A threshold at which the precision merely reaches the target on validation would meet it on
    new data about half the time; requiring its lower confidence bound to clear the target leaves
    a margin for sampling noise (the bound is not corrected for scanning thresholds: the test
    period is where the choice is checked). When no threshold qualifies, the one with the highest
    lower bound is returned with met=False.
    """
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order].astype(np.int64)
    tp = np.cumsum(y_sorted)
    n = np.arange(1, len(s) + 1)
    cut = np.r_[s_sorted[1:] != s_sorted[:-1], True]  # a threshold can only fall between distinct scores
    candidates = np.flatnonzero(cut & (tp >= target * n))  # the bound is below the point estimate
    if len(candidates):
        lower, _ = clopper_pearson(tp[candidates], n[candidates], confidence, sides=1)
        ok = candidates[lower >= target]
    else:
        lower, ok = np.zeros(0), np.zeros(0, dtype=int)
    met = len(ok) > 0
    if met:
        i = int(ok.max())
        bound = float(clopper_pearson(tp[i], n[i], confidence, sides=1)[0])
    else:
        pool = np.flatnonzero(cut)
        bounds, _ = clopper_pearson(tp[pool], n[pool], confidence, sides=1)
        i = int(pool[np.argmax(bounds)])
        bound = float(bounds.max())
    return {"threshold": float(s_sorted[i]), "flagged": int(n[i]), "true_positives": int(tp[i]),
            "false_positives": int(n[i] - tp[i]), "precision": float(tp[i] / n[i]),
            "recall": float(tp[i] / max(int(y_sorted.sum()), 1)), "precision_lower_bound": bound,
            "target_precision": target, "confidence": confidence, "met": met}


def _resample_weights(card_index: np.ndarray, n_cards: int, n: int, seed: int, chunk: int = 250):
    """Card-level bootstrap: for each of n resamples, how many times each card is drawn (cards
    resampled with replacement, all their transactions with them); yields (n_cards, b) chunks."""
    rng = np.random.default_rng(seed)
    for start in range(0, n, chunk):
        b = min(chunk, n - start)
        draws = rng.integers(0, n_cards, (b, n_cards)) + (np.arange(b) * n_cards)[:, None]
        counts = np.bincount(draws.ravel(), minlength=b * n_cards).reshape(b, n_cards)
        yield counts.T.astype(np.float64)


def cluster_bootstrap(y: np.ndarray, s: np.ndarray, decision: np.ndarray, cards: np.ndarray,
                      n: int = N_BOOTSTRAP, level: float = LEVEL, seed: int = SEED) -> dict:
    """Percentile intervals of precision, recall and average precision over a card-level
    bootstrap: a compromised card's fraudulent transactions are caught or missed together, so
    resampling cards (not transactions) keeps that dependence in the intervals."""
    import scipy.sparse as sp

    y = y.astype(np.int64)
    card_index = pd.factorize(cards)[0]
    n_cards = int(card_index.max()) + 1
    per_card = lambda v: np.bincount(card_index, weights=v.astype(float), minlength=n_cards)  # noqa: E731
    tp_c, flag_c, pos_c = per_card(decision & (y == 1)), per_card(decision), per_card(y == 1)

    # Average precision: transactions grouped by distinct score, best first; only groups holding a
    # fraud add a term, so the legitimate transactions are summed into segments ending at each
    # such group (those ranked below the last fraud never count).
    order = np.argsort(-s, kind="stable")
    s_o, y_o, c_o = s[order], y[order], card_index[order]
    group = np.r_[0, np.cumsum(s_o[1:] != s_o[:-1])]
    pos_groups = np.unique(group[y_o == 1])
    segment = np.searchsorted(pos_groups, group)  # the first fraud-holding group at or below
    above = segment < len(pos_groups)
    neg = above & (y_o == 0)
    pos = y_o == 1
    k = len(pos_groups)
    neg_m = sp.csr_matrix((np.ones(int(neg.sum())), (segment[neg], c_o[neg])), shape=(k, n_cards))
    pos_m = sp.csr_matrix((np.ones(int(pos.sum())), (segment[pos], c_o[pos])), shape=(k, n_cards))

    precision, recall, ap = [], [], []
    for w in _resample_weights(card_index, n_cards, n, seed):
        tp, fl, ps = tp_c @ w, flag_c @ w, pos_c @ w
        precision.append(np.divide(tp, fl, out=np.full_like(tp, np.nan), where=fl > 0))
        recall.append(np.divide(tp, ps, out=np.full_like(tp, np.nan), where=ps > 0))
        pw, nw = np.asarray(pos_m @ w), np.asarray(neg_m @ w)
        cum_p, cum_n = np.cumsum(pw, axis=0), np.cumsum(nw, axis=0)
        prec_at = np.divide(cum_p, cum_p + cum_n, out=np.zeros_like(cum_p), where=(cum_p + cum_n) > 0)
        total = pw.sum(axis=0)
        ap.append(np.divide((pw * prec_at).sum(axis=0), total, out=np.full_like(total, np.nan), where=total > 0))
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]

    def interval(values):
        v = np.concatenate(values)
        v = v[np.isfinite(v)]
        return tuple(float(x) for x in np.percentile(v, q))

    return {"precision": interval(precision), "recall": interval(recall), "pr_auc": interval(ap),
            "n_resamples": n, "n_cards": n_cards}


# ---------------------------------------------------------------------------------------------
# Files shared between tasks
# ---------------------------------------------------------------------------------------------


def read_selection(increment_dir: Path, task: str = "T-005") -> dict:
    """The model selection `task` saved in its experiment: the latest succeeded run of that task
    holding the artifact, read only if its sha256 is the one the store recorded for it."""
    runs = [r for r in ExperimentStore(increment_dir).records()
            if r.task == task and r.succeeded and SELECTION_FILE in r.artifacts]
    if not runs:
        raise FileNotFoundError(
            f"no succeeded {task} experiment with {SELECTION_FILE} in {increment_dir}/experiments: run {task} first")
    return json.loads(runs[-1].read_artifact(SELECTION_FILE))


def write_json_artifact(experiment, filename: str, content, indent: int | None = 2) -> Path:
    return experiment.save_report(filename, json.dumps(content, indent=indent, sort_keys=True) + "\n")


def experiment_dir(increment_dir: Path, name: str) -> Path:
    """Folder of the latest experiment called `name` in the increment's store (it must have succeeded)."""
    record = ExperimentStore(increment_dir).find(name)
    if record is None or not record.succeeded:
        raise FileNotFoundError(f"no succeeded experiment named {name!r} in {increment_dir}/experiments")
    return record.path


def read_declined(folder: Path) -> dict:
    """T-006's declined.json (the test transactions it declined, with their scores), sha256 checked."""
    return json.loads(ExperimentStore(folder.parent.parent).read(folder.name).read_artifact(DECLINED_FILE))


def load_scorer(increment_dir: Path) -> tuple[FraudScorer, Path]:
    """The scorer T-006 evaluated (its experiment's model.pkl, sha256 checked), and its folder."""
    folder = experiment_dir(increment_dir, read_selection(increment_dir)["experiment"])
    return load_model(increment_dir, experiment=folder.name), folder


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
    hour = (df["timestamp"] % 86_400) // 3600
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
    experiment.log_params({"dataset": DATA_FILE, "dataset_size": len(df), "seed_of_data": 51})
    experiment.log_metrics(metrics)

    ts = df["timestamp"].to_numpy()
    period_lines = []
    for name, (start, end) in periods.items():
        inside = (ts >= start) & (ts < end)
        period_lines.append(f"| {name} | {pd.Timestamp(start, unit='s'):%Y-%m-%d} to "
                            f"{pd.Timestamp(end - 1, unit='s'):%Y-%m-%d} | {int(inside.sum()):,} | "
                            f"{int((inside & fraud).sum()):,} | {fraud[inside].mean():.3%} |")
    q = [0.25, 0.5, 0.75]
    legit_q, fraud_q = amount[~fraud].quantile(q), amount[fraud].quantile(q)
    names = dict(zip(categories["category"], categories["name"]))
    by_cat = (df.assign(name=df["category"].map(names)).groupby("name")["is_fraud"]
              .agg(["size", "sum", "mean"]).sort_values("mean", ascending=False))
    scenario = pd.Series(df.loc[fraud, "fraud_scenario"]).map(SCENARIOS).value_counts()
    night = (hour < 6).to_numpy()
    country = dict(zip(cities["city_id"], cities["country"]))
    foreign = (df["city_id"].map(country) != "BE").to_numpy()
    lines = [
        "# EDA summary: transactions.csv.gz",
        "",
        f"- Transactions: {len(df):,} of {metrics['n_cards']:,} cards, "
        f"{pd.Timestamp(ts.min(), unit='s'):%Y-%m-%d} to {pd.Timestamp(ts.max(), unit='s'):%Y-%m-%d}",
        f"- Missing values: {missing}; repeated tx_id: {duplicates}; unknown cities or categories: "
        f"{unknown_city + unknown_category}",
        f"- **Class imbalance**: {int(fraud.sum()):,} frauds, {rate:.3%} of the transactions "
        f"(ULB/Worldline: 0.172%): {metrics['legit_per_fraud']:.0f} legitimate transactions per fraud",
        f"- **Why accuracy misleads**: approving everything (the majority class) is "
        f"{1 - rate:.2%} accurate and catches no fraud at all (recall 0). A model can only be judged on "
        "what it does to the fraud: precision and recall at its decision threshold, and the "
        "precision-recall curve (average precision), whose chance level is the fraud rate.",
        f"- Amounts: legitimate Q1 / median / Q3 {legit_q.iloc[0]:.2f} / {legit_q.iloc[1]:.2f} / "
        f"{legit_q.iloc[2]:.2f}, mean {amount[~fraud].mean():.2f} (ULB: 5.65 / 22.00 / 77.05, mean 88.29); "
        f"fraud {fraud_q.iloc[0]:.2f} / {fraud_q.iloc[1]:.2f} / {fraud_q.iloc[2]:.2f}, mean "
        f"{amount[fraud].mean():.2f} (ULB: 1.00 / 9.25 / 105.89, mean 122.21)",
        f"- Online (card not present): {df['channel'].mean():.1%} of transactions, {cnp_value:.1%} of "
        "the fraud value (ECB, 2016: 73%)",
        f"- Night (00:00-05:59): {night[~fraud].mean():.1%} of legitimate transactions, "
        f"{night[fraud].mean():.1%} of frauds; abroad: {foreign[~fraud].mean():.1%} vs {foreign[fraud].mean():.1%}",
        "",
        "## Periods (split by time)",
        "",
        "| period | dates | transactions | frauds | fraud rate |",
        "|---|---|---:|---:|---:|",
        *period_lines,
        "",
        "## Fraud by scenario (ground truth, kept for error analysis, never a feature)",
        "",
        "| scenario | frauds | share |",
        "|---|---:|---:|",
        *[f"| {k} | {v:,} | {v / fraud.sum():.1%} |" for k, v in scenario.items()],
        "",
        "## Fraud rate by merchant category",
        "",
        "| category | transactions | frauds | fraud rate |",
        "|---|---:|---:|---:|",
        *[f"| {k} | {int(r['size']):,} | {int(r['sum']):,} | {r['mean']:.3%} |" for k, r in by_cat.iterrows()],
        "",
    ]
    experiment.save_report("eda-summary.md", "\n".join(lines))


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
    from pytest_specweave import compute_metrics, majority_baseline, uniform_baseline

    table = feature_table(transactions, cities, periods)
    y_train = rows(table, "train")["is_fraud"].to_numpy()
    test = rows(table, "test")
    y_test = test["is_fraud"].to_numpy()
    majority = majority_baseline(y_train, y_test)
    uniform_baseline(y_train, y_test, seed=SEED)
    fired = np.column_stack([np.asarray(rule(test), dtype=bool) for rule in RULES.values()])
    with track_experiment("baseline-rules", baseline=True) as exp:
        exp.log_params({"baseline": "rules", "rules": " | ".join(RULES), "decision": "decline when any rule fires"})
        metrics = compute_metrics("classification", y_test, fired.any(axis=1).astype(np.int64),
                                  y_score=fired.sum(axis=1).astype(float))
        exp.log_metrics(metrics)
        exp.log_metric("flagged", int(fired.any(axis=1).sum()))
    acc = majority.metrics["accuracy"]
    experiment.log_note(
        f"Why accuracy misleads: approving everything (baseline-majority) is {acc:.4%} accurate on the test "
        f"period and its recall is {majority.metrics['recall']:.0%}: it never catches a fraud.")
    experiment.log_param("baselines", "baseline-majority, baseline-random, baseline-rules")


def _validation_scores(model, algorithm: str, X: pd.DataFrame, threads: int = 1) -> np.ndarray:
    return FraudScorer(model, algorithm, {}, 1.0, {}).scores(X, threads=threads)


def train_candidates(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, periods: dict) -> None:
    """T-004: three algorithms fitted on the training period and compared on validation (never on
    test); the choice is saved as this task's model-selection.json artifact."""
    table = feature_table(transactions, cities, periods)
    train = rows(table, "train")
    validation, weights = selection_rows(rows(table, "validation"))
    y_val = validation["is_fraud"].to_numpy()
    results = {}
    for name, params in ALGORITHMS.items():
        with track_experiment(name) as exp:
            sample = training_rows(train, params["legit_share"])
            exp.log_params({"algorithm": name, **params, "fitted_on": "train (all frauds, a sample of the rest)",
                            "training_rows": len(sample), "scored_on": "validation (all frauds, 10% of the rest, weighted)"})
            started = time.perf_counter()
            model = fit(name, params, sample, sample["is_fraud"].to_numpy())
            fit_seconds = time.perf_counter() - started
            s = _validation_scores(model, name, validation)
            metrics = {"val_pr_auc": average_precision(y_val, s, weights),
                       "val_recall_at_p99": recall_at_precision(y_val, s, weights=weights),
                       "training_time_s": fit_seconds}
            exp.log_metrics(metrics)
            results[name] = metrics
    best = max(results, key=lambda n: results[n]["val_pr_auc"])
    experiment.log_params({"selected_algorithm": best, "selected_by": "val_pr_auc"})
    write_json_artifact(experiment, SELECTION_FILE, {"algorithm": best, "candidates": results})


def tune_best(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, periods: dict,
              increment_dir: Path) -> None:
    """T-005: random search (scikit-learn's ParameterSampler) over the selected algorithm's grid,
    each configuration fitted on train and scored on validation; the selection, with the tuned
    parameters, is saved as this task's model-selection.json."""
    from sklearn.model_selection import ParameterSampler

    selection = read_selection(increment_dir, "T-004")
    algorithm = selection["algorithm"]
    table = feature_table(transactions, cities, periods)
    train = rows(table, "train")
    validation, weights = selection_rows(rows(table, "validation"))
    y_val = validation["is_fraud"].to_numpy()
    default = ALGORITHMS[algorithm]
    sampled = list(ParameterSampler(TUNING_GRIDS[algorithm], N_TUNING, random_state=SEED))
    configs = [default] + [c for c in sampled if c != default][:N_TUNING - 1]
    experiment.log_params({"algorithm": algorithm, "search": f"ParameterSampler, {len(configs)} configurations "
                           "(the default first)", "grid": json.dumps(TUNING_GRIDS[algorithm], sort_keys=True)})
    results = []
    for step, params in enumerate(configs):
        sample = training_rows(train, params["legit_share"])
        model = fit(algorithm, params, sample, sample["is_fraud"].to_numpy())
        s = _validation_scores(model, algorithm, validation)
        ap, rec = average_precision(y_val, s, weights), recall_at_precision(y_val, s, weights=weights)
        experiment.log_metric("val_pr_auc", ap, step=step)
        experiment.log_metric("val_recall_at_p99", rec, step=step)
        results.append((step, params, ap, rec))
    step, params, ap, rec = max(results, key=lambda r: (r[2], -r[0]))
    experiment.log_metrics({"val_pr_auc": ap, "val_recall_at_p99": rec})
    experiment.log_params({f"best_{k}": v for k, v in params.items()})
    experiment.log_note("| step | params | val PR AUC | val recall at 99% precision |\n|---:|---|---:|---:|\n"
                        + "\n".join(f"| {s} | {json.dumps(p, sort_keys=True)} | {a:.4f} | {r:.4f} |"
                                    for s, p, a, r in results))
    selection.update({"params": params, "experiment": f"{algorithm}-tuned", "val_pr_auc": ap})
    write_json_artifact(experiment, SELECTION_FILE, selection)


def evaluate_best(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, periods: dict,
                  increment_dir: Path) -> None:
    """T-006: fit the chosen configuration on train, choose the decision threshold on validation,
    then evaluate once on test (with card-level bootstrap intervals); the FraudScorer (model +
    threshold + explainer) is logged as the experiment's model."""
    from pytest_specweave.evaluation.metrics import save_predictions

    selection = read_selection(increment_dir)
    if "params" not in selection:
        raise RuntimeError(f"{SELECTION_FILE} has no tuned params: run T-005 first")
    algorithm, params, name = selection["algorithm"], selection["params"], selection["experiment"]
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
        s_val = _validation_scores(model, algorithm, validation, threads=2)
        rule = choose_threshold(y_val, s_val)
        scorer = FraudScorer(model, algorithm, params, rule["threshold"], rule)
        exp.log_params({"algorithm": algorithm, **params, "fitted_on": "train", "training_rows": len(sample),
                        "decision_threshold": rule["threshold"],
                        "threshold_rule": f"lowest score whose one-sided {CONFIDENCE:.0%} Clopper-Pearson lower "
                                          f"bound of validation precision >= {TARGET_PRECISION}",
                        "threshold_tuned_on": "validation", "evaluated_on": "test",
                        "selected_by": "val_pr_auc"})
        exp.log_metrics({"val_precision": rule["precision"], "val_recall": rule["recall"],
                         "val_precision_lower_bound": rule["precision_lower_bound"],
                         "val_flagged": rule["flagged"], "val_pr_auc": average_precision(y_val, s_val)})

        # 2. Once, on test.
        y = test["is_fraud"].to_numpy()
        s = scorer.scores(test, threads=2)
        decision = (s >= scorer.threshold).astype(np.int64)
        tp = int(((decision == 1) & (y == 1)).sum())
        flagged, positives = int(decision.sum()), int(y.sum())
        fp = flagged - tp
        boot = cluster_bootstrap(y, s, decision.astype(bool), test["card_id"].to_numpy())
        cp_low, cp_high = clopper_pearson(tp, flagged)
        precision_ci = (min(boot["precision"][0], float(cp_low)), max(boot["precision"][1], float(cp_high)))
        exp.log_metric("precision", tp / max(flagged, 1), ci=precision_ci)
        exp.log_metric("recall", tp / positives, ci=boot["recall"])
        exp.log_metric("pr_auc", average_precision(y, s), ci=boot["pr_auc"])
        from sklearn.metrics import roc_auc_score

        amount = test["amount_eur"].to_numpy()
        legit = int((y == 0).sum())
        exp.log_metrics({
            "roc_auc": float(roc_auc_score(y, s)),
            "accuracy": float((decision == y).mean()),
            "f1": 2 * tp / (flagged + positives),
            "flagged": flagged, "true_positives": tp, "false_positives": fp, "false_negatives": positives - tp,
            "false_declines_per_10k_legit": 1e4 * fp / legit,
            "fraud_value_recall": float(amount[(decision == 1) & (y == 1)].sum() / amount[y == 1].sum()),
            "test_fraud_rate": positives / len(y),
        })
        scenario = test["fraud_scenario"].to_numpy()
        for code, label in SCENARIOS.items():
            mask = scenario == code
            exp.log_metric(f"recall_{label}", float(decision[mask].mean()) if mask.any() else float("nan"))
        exp.log_note(
            f"Threshold {scorer.threshold:.6f} chosen on validation: {rule['flagged']} declined, "
            f"{rule['false_positives']} of them legitimate; precision {rule['precision']:.4f} (one-sided "
            f"{CONFIDENCE:.0%} lower bound {rule['precision_lower_bound']:.4f}), recall {rule['recall']:.4f}.\n"
            f"Test: {flagged} declined, {fp} legitimate; precision {tp / max(flagged, 1):.4f}, recall "
            f"{tp / positives:.4f}. Precision interval: the wider of the card-level bootstrap "
            f"[{boot['precision'][0]:.4f}, {boot['precision'][1]:.4f}] and Clopper-Pearson "
            f"[{float(cp_low):.4f}, {float(cp_high):.4f}] (with few false positives the bootstrap interval "
            f"collapses towards 1). Bootstrap: {boot['n_resamples']} resamples of {boot['n_cards']} cards.")
        # The rows for the report's confusion matrix and PR curve (scores rounded: a small file), and
        # the declined transactions with their scores (T-007 explains them, T-008 checks the
        # promoted model declines them again).
        save_predictions(exp, y, decision, y_score=np.round(s, 6).astype(np.float32))
        declined = np.flatnonzero(decision == 1)
        declined = declined[np.argsort(-s[declined], kind="stable")]
        write_json_artifact(exp, DECLINED_FILE, {
            "threshold": scorer.threshold, "period": "test",
            "declined": [[int(t), round(float(v), 8)] for t, v in zip(test["tx_id"].to_numpy()[declined], s[declined])]},
            indent=None)
        exp.log_model(scorer, algorithm=algorithm, input_example=test[FEATURES].head(5),
                      framework="lightgbm" if algorithm == "lightgbm" else "sklearn")
    experiment.log_param("evaluated_experiment", name)


def _duration(seconds: float) -> str:
    if seconds >= 29.5 * 86_400:
        return "30 days or more"
    for unit, size in (("days", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


REASONS = {
    # How a feature's value reads in an explanation.
    "log_amount": lambda v: f"amount {np.expm1(v):.2f} EUR",
    "amount_vs_card_30d": lambda v: f"amount {np.exp(v):.1f}x the card's usual of the last 30 days (geometric mean)",
    "hour": lambda v: f"at {int(v):02d}:{int(round((v % 1) * 60)) % 60:02d}",
    "online": lambda v: "online" if v else "card present",
    "category": lambda v: f"category {int(v)}",
    "n_prev_30d": lambda v: f"{int(v)} payments of the card in the previous 30 days",
    "log_secs_since_prev": lambda v: f"{_duration(np.expm1(v))} after the card's previous payment",
    "n_prev_1h": lambda v: f"{int(v)} payments in the previous hour",
    "n_prev_24h": lambda v: f"{int(v)} payments in the previous 24 h",
    "log_amount_prev_24h": lambda v: f"{np.expm1(v):.0f} EUR spent in the previous 24 h",
    "n_small_prev_24h": lambda v: f"{int(v)} payments under 5 EUR in the previous 24 h",
    "new_merchant_30d": lambda v: "a shop the card did not use in 30 days" if v else "a shop the card used recently",
    "new_category_30d": lambda v: "a category the card did not use in 30 days" if v else "a usual category",
    "new_device_30d": lambda v: "a device the card did not use in 30 days" if v else "a device the card used recently",
    "log_device_age": lambda v: (f"device in use by the card for {_duration(np.expm1(v))}" if v > 0
                                 else "the card's first payment from this device (in 30 days)"),
    "device_other_cards_30d": lambda v: f"device used by {int(v)} other cards in 30 days",
    "new_city_30d": lambda v: "a city the card did not pay in for 30 days" if v else "a city the card paid in recently",
    "log_city_age": lambda v: (f"the card has paid in this city for {_duration(np.expm1(v))}" if v > 0
                               else "the card's first payment in this city (in 30 days)"),
    "foreign": lambda v: "abroad" if v else "in Belgium",
    "log_distance_home_km": lambda v: f"{np.expm1(v):.0f} km from home",
    "log_speed_from_prev_kmh": lambda v: f"{np.expm1(v):.0f} km/h from the previous payment's place",
    "card_night_share_30d": lambda v: f"{v:.0%} of the card's payments of the last 30 days at night",
}
TOP_RISK = 10
MAX_FALSE_DECLINES = 10


def explain(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, categories: pd.DataFrame,
            periods: dict, increment_dir: Path) -> dict[str, float]:
    """T-007: SHAP explanations (TreeExplainer) of the high-risk test predictions: the highest
    scores, every false decline (a customer who would call), and the best-scored declined fraud
    of each scenario; plus the features' mean |SHAP| over random and over declined transactions."""
    scorer, folder = load_scorer(increment_dir)
    experiment.log_params({"explains": folder.name, "explainer": "shap.TreeExplainer (model log-odds)",
                           "top_risk": TOP_RISK})
    table = feature_table(transactions, cities, periods)
    test = rows(table, "test").reset_index(drop=True)
    position = pd.Series(np.arange(len(test)), index=test["tx_id"].to_numpy())
    declined_ids = [t for t, _ in read_declined(folder)["declined"]]  # highest score first
    declined_rows = position.loc[declined_ids].to_numpy()
    truth = test["fraud_scenario"].to_numpy()[declined_rows]
    groups = [("Highest-risk transactions", declined_rows[:TOP_RISK]),
              ("False declines: legitimate transactions the model declined", declined_rows[truth == 0][:MAX_FALSE_DECLINES]),
              ("The highest-scored declined fraud of each scenario",
               np.array([declined_rows[truth == code][0] for code in SCENARIOS if (truth == code).any()], dtype=int))]
    chosen = np.array(list(dict.fromkeys(np.concatenate([g for _, g in groups]).tolist())), dtype=int)
    explained = dict(zip(chosen.tolist(), scorer.explain(test.iloc[chosen], top=3)))

    # Additivity: base value + SHAP values = the model's log-odds, row by row.
    if scorer.algorithm == "lightgbm":
        raw = scorer.model.booster_.predict(test.iloc[chosen][FEATURES].to_numpy(np.float64), raw_score=True)
        error = float(np.max(np.abs([explained[i]["base_value"] + sum(explained[i]["shap_values"]) - r
                                     for i, r in zip(chosen.tolist(), raw)])))
        assert error < 1e-6, f"SHAP values do not add up to the model's log-odds (max error {error:.2e})"
    else:
        error = float("nan")

    rng = np.random.default_rng(SEED)
    sample = test.iloc[np.sort(rng.choice(len(test), 2000, replace=False))]
    declined_values = np.array([e["shap_values"] for e in scorer.explain(test.iloc[declined_rows], top=1)])
    mean_abs = np.abs(np.array([e["shap_values"] for e in scorer.explain(sample, top=1)])).mean(axis=0)
    mean_abs_declined = np.abs(declined_values).mean(axis=0)
    ranked = np.argsort(-mean_abs, kind="stable")
    csv_lines = ["rank,feature,shap_mean_abs,shap_mean_abs_declined"]
    csv_lines += [f"{r},{FEATURES[j]},{mean_abs[j]:.6g},{mean_abs_declined[j]:.6g}" for r, j in enumerate(ranked, 1)]
    experiment.save_report("feature_importance.csv", "\n".join(csv_lines) + "\n")
    # The reason a declined customer would be given first: the feature with the largest push towards fraud.
    first_reason = pd.Series([FEATURES[j] for j in declined_values.argmax(axis=1)]).value_counts()

    names = dict(zip(categories["category"], categories["name"]))
    place = dict(zip(cities["city_id"], cities["city"] + " (" + cities["country"] + ")"))
    raw_rows = transactions.set_index("tx_id").loc[test["tx_id"].to_numpy()[chosen]]
    raw_rows.index = chosen
    records = []
    lines = [
        f"# Why were these transactions declined? ({scorer.algorithm}, {folder.name})", "",
        "High-risk transactions of the test period (June to September), each with the three features "
        "that moved its score most: SHAP values of the model's log-odds (shap.TreeExplainer, exact for "
        "a tree ensemble: the base value plus a row's SHAP values is its log-odds, checked here to "
        f"{error:.1e}). A positive value pushes towards fraud. Decision threshold {scorer.threshold:.4f}, "
        f"chosen on validation; {len(declined_rows):,} test transactions were declined, "
        f"{int((truth == 0).sum())} of them legitimate. *Truth* is the ground truth, unknown to the model.", "",
        "The reason given first for a decline (the feature pushing hardest towards fraud), over all "
        "declined transactions: " + ", ".join(f"`{f}` {n:,}" for f, n in first_reason.items()) + ".", "",
    ]
    for title, group in groups:
        lines += [f"## {title}", ""]
        for rank, i in enumerate(group.tolist(), 1):
            e, row, raw = explained[i], test.iloc[i], raw_rows.loc[i]
            label = SCENARIOS.get(int(row["fraud_scenario"]), "legitimate")
            when = pd.Timestamp(int(row["timestamp"]), unit="s")
            lines.append(f"{rank}. **tx {int(row['tx_id'])}**, card {int(row['card_id'])}, {when:%Y-%m-%d %H:%M}, "
                         f"{row['amount_eur']:.2f} EUR, {names[int(raw['category'])]}, "
                         f"{'online' if raw['channel'] else 'card present'}, {place[int(raw['city_id'])]}: score "
                         f"{e['score']:.4f}, {'declined' if e['decision'] else 'approved'}; truth: {label}")
            for feature, value, contribution in e["reasons"]:
                text = REASONS[feature](value) if feature != "category" else names[int(value)]
                lines.append(f"   - {text} (`{feature}` = {value:.4g}): {contribution:+.2f}")
            records.append({"group": title, "tx_id": int(row["tx_id"]), "score": round(e["score"], 6),
                            "decision": e["decision"], "is_fraud": int(row["is_fraud"]), "truth": label,
                            "base_value": round(e["base_value"], 6),
                            "top_reasons": [{"feature": f, "value": round(v, 6), "shap": round(c, 6)}
                                            for f, v, c in e["reasons"]],
                            "shap_values": dict(zip(FEATURES, (round(v, 6) for v in e["shap_values"])))})
        lines.append("")
    lines += ["## Which features drive the scores", "",
              "Mean |SHAP| (log-odds) over 2,000 random test transactions and over the declined ones "
              "(feature_importance.csv).", "",
              "| feature | all (sample) | declined |", "|---|---:|---:|",
              *[f"| {FEATURES[j]} | {mean_abs[j]:.3f} | {mean_abs_declined[j]:.3f} |" for j in ranked], ""]
    experiment.save_report("explanations.md", "\n".join(lines))
    write_json_artifact(experiment, "shap_explanations.json", {
        "explains": folder.name, "threshold": scorer.threshold, "output": "log-odds", "transactions": records})
    top = groups[0][1]
    return {"explained_transactions": len(records),
            "top_risk_fraud_share": float(test["is_fraud"].to_numpy()[top].mean()),
            "shap_additivity_max_error": error}


def deployment(experiment, transactions: pd.DataFrame, cities: pd.DataFrame, periods: dict,
               increment_dir: Path) -> dict[str, float]:
    """T-008: the promoted model (models/model-vN.pkl) loaded with load_model, deciding with its
    stored threshold: latency and throughput of single transactions, size, explanation time."""
    from pytest_specweave import measure_latency, measure_throughput, promote_best_model
    from pytest_specweave.tracking.models import model_path

    promote_best_model(increment_dir)  # what the report does after a run; nothing new when done already
    path, version, meta = model_path(increment_dir)
    scorer: FraudScorer = load_model(increment_dir)  # sha256 checked against the version's metadata
    evaluated = read_selection(increment_dir)["experiment"]
    source = meta.get("source_experiment", "")
    assert source.endswith(evaluated), f"models/{path.name} comes from {source}, not from {evaluated}"
    t006 = json.loads((experiment_dir(increment_dir, evaluated) / "params.json").read_text())
    assert scorer.threshold == t006["decision_threshold"], \
        f"the promoted model's threshold {scorer.threshold} is not the one T-006 chose ({t006['decision_threshold']})"

    table = feature_table(transactions, cities, periods)
    test = rows(table, "test").reset_index(drop=True)
    # The promoted model declines again what T-006 declined, with the same scores.
    declined = read_declined(experiment_dir(increment_dir, evaluated))
    ids = np.array([t for t, _ in declined["declined"]])
    stored = np.array([v for _, v in declined["declined"]])
    again = test.set_index("tx_id").loc[ids, FEATURES]
    assert (scorer.predict(again) == 1).all(), "the promoted model approves transactions T-006 declined"
    assert np.allclose(scorer.scores(again), stored, atol=1e-7), "the promoted model scores differently from T-006"
    rng = np.random.default_rng(SEED)
    X = test[FEATURES].to_numpy(np.float64)[np.sort(rng.choice(len(test), 5000, replace=False))]
    decisions = scorer.predict(X)
    assert set(np.unique(decisions)) <= {0, 1}
    assert np.array_equal(decisions, (scorer.predict_proba(X)[:, 1] >= scorer.threshold).astype(int))
    experiment.log_params({"model": f"models/{path.name}", "model_version": version, "source_experiment": source,
                           "decision_threshold": scorer.threshold,
                           "serving": "one process, one transaction per request (a feature row), model in memory"})
    # logged with their intervals (p95 from order statistics, requests per second over timed rounds)
    measure_latency(scorer, X, n_requests=2000, warmup=100, experiment=experiment)
    measure_throughput(scorer, X, n_requests=3000, batch_size=1000, experiment=experiment)
    timings = []
    for i in range(60):  # an explanation on demand (a declined payment's reasons), first call excluded
        started = time.perf_counter()
        scorer.explain(X[i:i + 1])
        timings.append(time.perf_counter() - started)
    return {"model_size_bytes": path.stat().st_size,
            "explain_p95_ms": float(np.percentile(np.array(timings[1:]) * 1000, 95)),
            "declined_share_of_sample": float(decisions.mean())}
