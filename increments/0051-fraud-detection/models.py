"""The models of increment 0051: the three candidate algorithms, their tuning grids, and the
deployable FraudScorer (model + decision threshold + SHAP explanation of a decision)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .features import CATEGORICAL, FEATURES

SEED = 51


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

    def additivity_error(self, X, explained: list[dict]) -> float:
        """The largest |base value + SHAP values - log-odds| over explained rows (exact TreeSHAP: ~1e-12);
        nan for a model whose raw score is not at hand."""
        if self.algorithm != "lightgbm":
            return float("nan")
        raw = self.model.booster_.predict(self._frame(X).to_numpy(np.float64), raw_score=True)
        return float(np.max(np.abs([e["base_value"] + sum(e["shap_values"]) - r for e, r in zip(explained, raw)])))

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
