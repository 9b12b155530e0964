"""Explanations of a fitted model: permutation importance, SHAP values, and per-example reasons.

`explain_model(model, X, y, experiment=exp)` writes three artifacts into the experiment, the
names that "explainability artifacts present" looks for:

- feature_importance.csv  permutation importance of every feature (any model with predict:
                          the drop in a score when the feature's column is shuffled), and the
                          mean |SHAP value| when SHAP ran
- shap_values.pkl         when `shap` is installed: a dict of numpy arrays (values, base_values,
                          data, rows, feature_names, output), readable without shap
- explanations.md         the top reasons (3 by default) behind a few sampled predictions

What is explained: the positive-class probability of a binary classifier with predict_proba,
the predicted class's probability for a multiclass one, and predict(X) otherwise. Per-example
reasons come from the SHAP values when there are some, else from occlusion (the change in the
output when one feature is set to its median over X).

SHAP: a tree model goes through shap.TreeExplainer (exact, and in probability space for a
classifier), anything else through shap's model-agnostic explainer on a background sample.
shap, numpy and scikit-learn are imported inside the functions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from ..model import metric_names
from .deployment import predict_function

IMPORTANCE_FILE = "feature_importance.csv"
SHAP_FILE = "shap_values.pkl"
EXPLANATIONS_FILE = "explanations.md"


@dataclass
class ExampleExplanation:
    row: int  # position in X
    prediction: float  # the explained output for that row
    reasons: list[tuple[str, object, float]]  # (feature, its value, contribution), strongest first


@dataclass
class Explanation:
    features: list[str]
    importance: list[dict]  # one per feature, most important first: feature, importance_mean, importance_std, shap_mean_abs
    scoring: str | None  # what permutation importance measured (None without y)
    output: str  # what the SHAP values and reasons explain
    shap_values: object = None  # (n_rows, n_features) for the explained output, or None
    shap_error: str | None = None  # why SHAP values are missing, when they are
    examples: list[ExampleExplanation] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    lime: list = field(default_factory=list)  # lime_reasons.LimeExample of the example rows, when LIME ran
    lime_error: str | None = None  # why LIME did not run, when it was asked for

    def disagreements(self) -> list[tuple[int, str, str]]:
        """(row, SHAP's or occlusion's top feature, LIME's) for each example whose top reasons differ."""
        lime = {e.row: e for e in self.lime}
        found = []
        for example in self.examples:
            other = lime.get(example.row)
            if other is not None and example.reasons and other.reasons and example.reasons[0][0] != other.reasons[0][0]:
                found.append((example.row, example.reasons[0][0], other.reasons[0][0]))
        return found

    def importance_csv(self) -> str:
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["rank", "feature", "importance_mean", "importance_std", "shap_mean_abs"])
        for rank, row in enumerate(self.importance, 1):
            writer.writerow([rank, row["feature"], _cell(row["importance_mean"]), _cell(row["importance_std"]),
                             _cell(row["shap_mean_abs"])])
        return out.getvalue()

    def markdown(self, top: int = 3) -> str:
        lines = ["# Example explanations", ""]
        source = "SHAP values" if self.shap_values is not None else "occlusion (the feature set to its median)"
        lines += [f"What is explained: {self.output}. Reasons from {source}, strongest first.", ""]
        if self.scoring:
            ranked = ", ".join(f"`{r['feature']}`" for r in self.importance[:5])
            lines += [f"Most important features ({self.scoring}, permutation): {ranked}.", ""]
        lime = {e.row: e for e in self.lime}
        disagree = {row: (a, b) for row, a, b in self.disagreements()}
        source_name = "SHAP" if self.shap_values is not None else "occlusion"
        if self.lime:
            lines += [f"LIME explains the same output with a local linear model on quartile conditions; its top "
                      f"reason differs from {source_name}'s for {len(disagree)} of {len(self.lime)} rows.", ""]
        elif self.lime_error:
            lines += [f"LIME: not run — {self.lime_error}.", ""]
        for example in self.examples:
            lines.append(f"## Row {example.row}: {_fmt(example.prediction)}")
            lines.append("")
            for feature, value, contribution in example.reasons[:top]:
                verb = "raised" if contribution > 0 else "lowered" if contribution < 0 else "did not move"
                amount = f" by {_fmt(abs(contribution))}" if contribution else ""
                lines.append(f"- `{feature}` = {_fmt(value)} {verb} it{amount}")
            other = lime.get(example.row)
            if other is not None:
                shown = "; ".join(f"`{condition}` {weight:+.4g}" for _, condition, weight in other.reasons[:top])
                lines.append(f"- LIME (local R² {other.local_r2:.2f}): {shown}")
            if example.row in disagree:
                ours, theirs = disagree[example.row]
                lines.append(f"- ⚠️ {source_name} and LIME disagree on the top reason: `{ours}` against `{theirs}`")
            lines.append("")
        return "\n".join(lines)


def _cell(value):
    return "" if value is None else f"{value:.6g}"


def _fmt(value) -> str:
    if isinstance(value, float) or hasattr(value, "dtype"):
        try:
            return f"{float(value):.4g}"
        except (TypeError, ValueError):
            pass
    return str(value)


# -- the explained output ----------------------------------------------------------------------------


class _Output:
    """What is explained, as a function of rows in X's own type."""

    def __init__(self, model, predict, X):
        import numpy as np

        self.proba = getattr(model, "predict_proba", None) if predict is None else None
        self.predict = predict_function(model, predict, caller="explain_model")
        self.n_classes = None
        self.has_classes = hasattr(model, "classes_")
        if callable(self.proba):
            try:
                self.n_classes = np.asarray(self.proba(_head(X))).shape[1]
            except Exception:  # noqa: BLE001 - a predict_proba that does not work: explain predict
                self.proba = None
        if self.proba is None:
            self.description = "predict(X)"
        elif self.n_classes == 2:
            self.description = "the positive-class probability (predict_proba[:, 1])"
        else:
            self.description = "the probability of the predicted class"

    @property
    def classifier(self) -> bool:
        return self.proba is not None

    def full(self, rows):
        """(n,) or, for multiclass, (n, n_classes)."""
        import numpy as np

        if self.proba is None:
            out = np.asarray(self.predict(rows), dtype=float)
            return out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out
        proba = np.asarray(self.proba(rows), dtype=float)
        return proba[:, 1] if proba.shape[1] == 2 else proba

    def __call__(self, rows, classes=None):
        """(n,): per row, the explained value (for multiclass, the probability of `classes[i]`)."""
        import numpy as np

        out = self.full(rows)
        if out.ndim == 2:
            chosen = out.argmax(axis=1) if classes is None else classes
            return out[np.arange(len(out)), chosen]
        return out


def _n_rows(X) -> int:
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None else len(X)


def _head(X):
    return X.iloc[:2] if hasattr(X, "iloc") else X[:2]


def _rows(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def _feature_names(X, feature_names):
    n_features = X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else None
    if n_features is None:
        raise ValueError("explain_model needs X as a 2-D array or DataFrame (rows x features)")
    if feature_names is not None:
        names = [str(f) for f in feature_names]
        if len(names) != n_features:
            raise ValueError(f"feature_names has {len(names)} names but X has {n_features} columns")
        return names
    if hasattr(X, "columns"):
        return [str(c) for c in X.columns]
    return [f"x{j}" for j in range(n_features)]


def _with_column(X, j, values):
    """A copy of X whose column j holds `values`."""
    out = X.copy()
    if hasattr(out, "iloc"):
        out.iloc[:, j] = values
    else:
        out[:, j] = values
    return out


def _column(X, j):
    import numpy as np

    return X.iloc[:, j].to_numpy() if hasattr(X, "iloc") else np.asarray(X[:, j])


# -- permutation importance --------------------------------------------------------------------------


def _scorer(scoring, y, output: _Output):
    """(label, score(rows) -> float, sign): sign +1 when higher is better."""
    import numpy as np

    from .metrics import metric_value

    if callable(scoring):
        label = getattr(scoring, "__name__", "score")
        return label, (lambda rows, yt: float(scoring(yt, output.predict(rows)))), 1.0
    if scoring is None:
        kind = np.asarray(y).dtype.kind
        scoring = "accuracy" if output.classifier or output.has_classes or kind in "bOUS" else "r2"
    name = metric_names.canonical(scoring)
    sign = -1.0 if metric_names.direction(name) == "lower" else 1.0
    if name in ("roc_auc", "pr_auc"):
        return name, (lambda rows, yt: metric_value(name, yt, y_score=output.full(rows))), sign
    return name, (lambda rows, yt: metric_value(name, yt, output.predict(rows))), sign


def permutation_importance(model, X, y, *, predict=None, scoring=None, n_repeats: int = 5, seed=0,
                           feature_names=None) -> tuple[str, list[dict]]:
    """(scoring, [{feature, importance_mean, importance_std}]) — for any model with predict.

    A feature's importance is how much the score worsens when its column is shuffled (the mean
    over `n_repeats` shuffles; positive = the model relies on it). scoring: a metric name
    ('accuracy', 'roc_auc', 'rmse' ...) or a callable(y_true, y_pred); default accuracy for a
    classifier, r2 otherwise.
    """
    import numpy as np

    output = _Output(model, predict, X)
    names = _feature_names(X, feature_names)
    label, score, sign = _scorer(scoring, y, output)
    y_arr = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    if len(y_arr) != _n_rows(X):
        raise ValueError(f"X has {_n_rows(X)} rows but y has {len(y_arr)}")
    rng = np.random.default_rng(seed)
    reference = score(X, y_arr)
    rows = []
    for j, feature in enumerate(names):
        column = _column(X, j)
        drops = [sign * (reference - score(_with_column(X, j, column[rng.permutation(len(column))]), y_arr))
                 for _ in range(n_repeats)]
        rows.append({"feature": feature, "importance_mean": float(np.mean(drops)),
                     "importance_std": float(np.std(drops))})
    return label, rows


# -- SHAP --------------------------------------------------------------------------------------------


def _shap_values(model, X, output: _Output, rows, background, seed, tree_model: bool):
    """(values (n, F) or (n, F, C), base values) for X[rows], or raise.

    A tree model goes through TreeExplainer (for a classifier, interventional, in probability
    space); anything else through KernelExplainer on the background rows (model-agnostic, and
    with no just-in-time compilation to pay for, unlike shap's newer permutation/exact explainers,
    whose first call in a process costs seconds).
    """
    import numpy as np
    import shap

    sample, back = _rows(X, rows), _rows(X, background)
    if tree_model:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kwargs = {"model_output": "probability"} if output.classifier else {}
                explanation = shap.TreeExplainer(model, back, **kwargs)(sample)
            values = np.asarray(explanation.values, dtype=float)
            base = np.asarray(explanation.base_values, dtype=float)
            return _positive_class(values, base)
        except Exception:  # noqa: BLE001 - not a tree model shap knows: the model-agnostic explainer
            pass
    columns = getattr(X, "columns", None)

    def f(Z):
        if columns is not None:
            import pandas as pd

            Z = pd.DataFrame(Z, columns=columns).astype(X.dtypes.to_dict())
        return output.full(Z)

    explainer = shap.KernelExplainer(f, _numpy(back), seed=seed if isinstance(seed, int) else 0)
    values = explainer.shap_values(_numpy(sample), silent=True)
    if isinstance(values, list):  # older shap: one array per output
        values = np.stack(values, axis=-1)
    values = np.asarray(values, dtype=float)
    base = np.asarray(explainer.expected_value, dtype=float)
    if values.ndim == 3 and base.ndim == 1:
        base = np.broadcast_to(base, (values.shape[0], base.shape[0]))
    elif base.ndim == 0:
        base = np.full(values.shape[0], float(base))
    return _positive_class(values, base)


def _numpy(X):
    import numpy as np

    return np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X)


def _positive_class(values, base):
    if values.ndim == 3 and values.shape[2] == 2:
        return values[:, :, 1], (base[..., 1] if base.ndim == 2 else base)
    return values, base


def _select_class(values, base, predicted_class):
    import numpy as np

    if values.ndim == 3:
        idx = np.arange(values.shape[0])
        return values[idx, :, predicted_class], (base[idx, predicted_class] if base.ndim == 2 else base)
    return values, base


# -- occlusion (reasons without SHAP) ----------------------------------------------------------------


def _reference_values(X):
    """Per column: the median of a numeric column, the most frequent value otherwise."""
    import numpy as np

    refs = []
    for j in range(X.shape[1]):
        column = _column(X, j)
        if column.dtype.kind in "biuf":
            refs.append(np.median(column))
        else:
            values, counts = np.unique(column.astype(str), return_counts=True)
            first = {str(v): v for v in column[::-1]}
            refs.append(first[values[counts.argmax()]])
    return refs


def _occlusion(X, output: _Output, rows):
    """(n_rows, n_features): output(row) - output(row with feature j set to its reference)."""
    import numpy as np

    sample = _rows(X, rows)
    classes = None
    if output.n_classes and output.n_classes > 2:
        classes = output.full(sample).argmax(axis=1)
    base = output(sample, classes)
    refs = _reference_values(X)
    out = np.empty((len(rows), X.shape[1]))
    for j, ref in enumerate(refs):
        out[:, j] = base - output(_with_column(sample, j, ref), classes)
    return out, base


# -- the entry point ---------------------------------------------------------------------------------


def explain_model(
    model,
    X,
    y=None,
    *,
    predict=None,
    feature_names=None,
    experiment=None,
    explains: str | None = None,
    scoring=None,
    n_repeats: int = 5,
    shap="auto",
    max_shap_rows: int = 200,
    background_rows: int = 50,
    n_examples: int = 5,
    top: int = 3,
    lime=False,
    seed=0,
) -> Explanation:
    """Permutation importance (needs y), SHAP values (shap='auto': when shap is installed), per-example reasons.

    X: the rows to explain on (a held-out sample, as a 2-D array or DataFrame), y: their targets.
    experiment: writes feature_importance.csv, shap_values.pkl (with SHAP) and explanations.md
    into it; `explains` (another experiment's folder) is recorded as its param "explains", for an
    experiment that explains the judged one. shap=True requires shap, shap=False skips it.
    lime=True (needs `lime`; "auto": when installed) also explains the example rows with LIME
    (evaluation.lime_reasons), saved as lime_explanations.json; explanations.md then shows both
    and says where their top reasons disagree.
    """
    import numpy as np

    names = _feature_names(X, feature_names)
    output = _Output(model, predict, X)
    n = _n_rows(X)
    if n == 0:
        raise ValueError("explain_model: X has no rows")
    rng = np.random.default_rng(seed)
    importance = {f: {"feature": f, "importance_mean": None, "importance_std": None, "shap_mean_abs": None}
                  for f in names}
    scoring_label = None
    if y is not None:
        scoring_label, rows = permutation_importance(model, X, y, predict=predict, scoring=scoring,
                                                     n_repeats=n_repeats, seed=rng, feature_names=names)
        for row in rows:
            importance[row["feature"]].update(row)

    shap_rows = np.sort(rng.choice(n, size=min(n, max_shap_rows), replace=False))
    shap_values = shap_base = None
    shap_error = None
    use_shap = shap
    if use_shap == "auto":
        try:
            import shap as _shap  # noqa: F401

            use_shap = True
        except ImportError:
            use_shap, shap_error = False, "shap is not installed (pip install shap)"
    if use_shap:
        background = np.sort(rng.choice(n, size=min(n, background_rows), replace=False))
        try:
            raw_values, raw_base = _shap_values(model, X, output, shap_rows, background, seed,
                                                tree_model=model is not None and predict is None)
        except ImportError:
            if shap is True:
                raise
            shap_error = "shap is not installed (pip install shap)"
        except Exception as err:  # noqa: BLE001 - SHAP failing must not lose the other explanations
            if shap is True:
                raise
            shap_error = f"SHAP failed: {type(err).__name__}: {err}"
            warnings.warn(f"explain_model: {shap_error}; permutation importance and occlusion still computed",
                          stacklevel=2)
        else:
            predicted = None
            if raw_values.ndim == 3:
                predicted = output.full(_rows(X, shap_rows)).argmax(axis=1)
            shap_values, shap_base = _select_class(raw_values, raw_base, predicted)
            for j, f in enumerate(names):
                importance[f]["shap_mean_abs"] = float(np.abs(shap_values[:, j]).mean())
    if y is None and shap_values is None:
        raise ValueError(
            f"explain_model: nothing to explain with: pass y for permutation importance, or install shap ({shap_error})"
        )

    picks = rng.choice(len(shap_rows), size=min(n_examples, len(shap_rows)), replace=False)
    if shap_values is not None:
        contributions, rows_used = shap_values[picks], shap_rows[picks]
        predictions = output(_rows(X, rows_used), None)
    else:
        rows_used = shap_rows[picks]
        contributions, predictions = _occlusion(X, output, rows_used)
    examples = []
    for i, row in enumerate(rows_used):
        order = np.argsort(-np.abs(contributions[i]), kind="stable")[:top]
        reasons = [(names[j], _value(X, int(row), j), float(contributions[i, j])) for j in order]
        examples.append(ExampleExplanation(int(row), float(predictions[i]), reasons))

    lime_examples, lime_error = _lime(lime, output, X, rows_used, names, top, seed)

    key = "importance_mean" if y is not None else "shap_mean_abs"
    ranked = sorted(importance.values(), key=lambda r: -(r[key] if r[key] is not None else -np.inf))
    result = Explanation(names, ranked, scoring_label, output.description, shap_values, shap_error, examples,
                         lime=lime_examples, lime_error=lime_error)
    if experiment is not None:
        _write(experiment, result, shap_values, shap_base, shap_rows, X, names, explains, top)
    return result


def _lime(lime, output, X, rows, names, top, seed) -> tuple[list, str | None]:
    """LIME's reasons for the example rows (lime=True, or "auto" when installed), and why not when it did not run."""
    if lime is False or lime is None:
        return [], None
    try:
        from .lime_reasons import lime_reasons

        return lime_reasons(output, X, rows, names, top=top, seed=seed if isinstance(seed, int) else 0), None
    except ImportError:
        if lime is True:
            raise ImportError('explain_model(lime=True) needs lime: pip install "pytest-specweave[lime]"') from None
        return [], 'lime is not installed (pip install "pytest-specweave[lime]")'
    except Exception as err:  # noqa: BLE001 - LIME failing must not lose the other explanations
        if lime is True:
            raise
        return [], f"LIME failed: {type(err).__name__}: {err}"


def _value(X, row, j):
    value = X.iloc[row, j] if hasattr(X, "iloc") else X[row, j]
    return value.item() if hasattr(value, "item") else value


def _write(experiment, result: Explanation, values, base, rows, X, names, explains, top):
    import numpy as np

    experiment.save_report(IMPORTANCE_FILE, result.importance_csv())
    result.artifacts.append(IMPORTANCE_FILE)
    if values is not None:
        sample = _rows(X, rows)
        data = sample.to_numpy() if hasattr(sample, "to_numpy") else np.asarray(sample)
        experiment.save_artifact(
            {"values": values, "base_values": base, "data": data, "rows": rows, "feature_names": names,
             "output": result.output},
            SHAP_FILE,
        )
        result.artifacts.append(SHAP_FILE)
    if result.lime:
        from .lime_reasons import LIME_FILE

        experiment.log_dict({"output": result.output, "examples": [e.as_json() for e in result.lime],
                             "disagreements": [{"row": r, "top": a, "lime_top": b} for r, a, b in result.disagreements()]},
                            LIME_FILE)
        result.artifacts.append(LIME_FILE)
    experiment.save_report(EXPLANATIONS_FILE, result.markdown(top))
    result.artifacts.append(EXPLANATIONS_FILE)
    if explains is not None:
        experiment.log_param("explains", str(explains))
