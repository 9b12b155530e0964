"""Metric functions under the names the threshold language knows, and `compute_metrics` for a problem type.

classification  accuracy, precision, recall, f1 (labels, or scores cut at a decision threshold),
                roc_auc, pr_auc (scores)
regression      rmse, mae, r2, mape
forecasting     mape, smape, mase (against the training series), rmse, mae
ranking         precision@k, recall@k, hit_rate@k, ndcg@k, map@k, mrr, coverage@k (see ranking.py)
registered      a team's own metrics (custom_metrics.py), for the problem types each names

Rates are fractions (mape 0.1 is 10%). scikit-learn computes what it has; numpy and scikit-learn
are imported inside the functions. `row_decomposition` says how a metric is a function of means
of per-row values, which is what the bootstrap in validation.py resamples.
"""

from __future__ import annotations

import warnings

from ..model.metric_names import canonical
from . import custom_metrics

PROBLEMS = {
    "classification": "classification",
    "binary": "classification",
    "multiclass": "classification",
    "regression": "regression",
    "forecasting": "forecasting",
    "time_series": "forecasting",
    "timeseries": "forecasting",
    "ranking": "ranking",
    "recommendation": "ranking",
    "recommender": "ranking",
}


class MetricWarning(UserWarning):
    """A metric was left out because it is undefined on this data (mape with zero targets, roc_auc with one class)."""


def problem_type(problem: str) -> str:
    key = str(problem).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in PROBLEMS:
        raise ValueError(
            f"unknown problem type {problem!r}; expected one of classification, regression, forecasting, ranking"
        )
    return PROBLEMS[key]


# -- array helpers -----------------------------------------------------------------------------------


def _array(values, name: str):
    import numpy as np

    arr = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array of values, got a scalar")
    return arr


def _pair(y_true, y_pred, what: str = "y_pred"):
    yt = _array(y_true, "y_true")
    yp = _array(y_pred, what)
    if len(yt) != len(yp):
        raise ValueError(f"y_true has {len(yt)} rows but {what} has {len(yp)}")
    if len(yt) == 0:
        raise ValueError("y_true is empty")
    return yt, yp


def _numeric(y_true, y_pred):
    import numpy as np

    yt, yp = _pair(y_true, y_pred)
    try:
        yt, yp = yt.astype(float).reshape(len(yt), -1), yp.astype(float).reshape(len(yp), -1)
    except (TypeError, ValueError):
        raise ValueError("regression metrics need numeric y_true and y_pred") from None
    if yt.shape != yp.shape:
        raise ValueError(f"y_true has shape {yt.shape} but y_pred has {yp.shape}")
    if not (np.all(np.isfinite(yt)) and np.all(np.isfinite(yp))):
        raise ValueError("y_true and y_pred must be finite (found NaN or infinity)")
    return yt.ravel(), yp.ravel()


def _is_scores(arr) -> bool:
    import numpy as np

    return arr.dtype.kind == "f" and arr.size > 0 and not np.all(arr == np.round(arr))


def _positive_scores(scores):
    """A (n,) array of positive-class scores from (n,), (n, 1) or (n, 2) input."""
    if scores.ndim == 2 and scores.shape[1] in (1, 2):
        return scores[:, -1]
    if scores.ndim != 1:
        raise ValueError(f"binary scores must have shape (n,) or (n, 2); got {scores.shape}")
    return scores


def labels_at_threshold(y_true, y_score, threshold: float = 0.5, pos_label=1):
    """Class labels from positive-class scores: score >= threshold -> pos_label, else the other class."""
    import numpy as np

    yt, scores = _pair(y_true, y_score, "y_score")
    scores = _positive_scores(scores.astype(float))
    classes = [c for c in np.unique(yt).tolist() if c != pos_label]
    if len(classes) > 1:
        raise ValueError(f"a decision threshold needs two classes; y_true has {len(classes) + 1}")
    negative = classes[0] if classes else (0 if pos_label == 1 else None)
    out = np.where(scores >= threshold, pos_label, negative)
    return out.astype(yt.dtype) if yt.dtype.kind in "biuf" else out


def _labels(y_true, y_pred, threshold, pos_label):
    yt, yp = _pair(y_true, y_pred)
    if threshold is not None:
        return yt, labels_at_threshold(yt, yp, threshold, pos_label)
    if yp.ndim == 2:
        raise ValueError(
            f"y_pred has shape {yp.shape}: pass class labels (n,), or positive-class scores with threshold="
        )
    if _is_scores(yp):
        raise ValueError(
            "y_pred holds scores (non-integer values), not class labels: pass threshold= to turn them into"
            " labels (score >= threshold -> positive), or the predicted labels"
        )
    return yt, yp


def _average(yt, yp, average):
    import numpy as np

    if average is not None:
        return average
    return "binary" if len(np.union1d(np.unique(yt), np.unique(yp))) <= 2 else "macro"


# -- classification ----------------------------------------------------------------------------------


def accuracy(y_true, y_pred, *, threshold=None, pos_label=1, sample_weight=None) -> float:
    """Fraction of rows predicted right. `threshold`: y_pred are positive-class scores, cut there."""
    from sklearn.metrics import accuracy_score

    yt, yp = _labels(y_true, y_pred, threshold, pos_label)
    return float(accuracy_score(yt, yp, sample_weight=sample_weight))


def precision(y_true, y_pred, *, threshold=None, pos_label=1, average=None, sample_weight=None) -> float:
    """TP / (TP + FP) (0 when nothing is predicted positive). `average`: binary for two classes, else macro."""
    from sklearn.metrics import precision_score

    yt, yp = _labels(y_true, y_pred, threshold, pos_label)
    avg = _average(yt, yp, average)
    return float(precision_score(yt, yp, average=avg, pos_label=pos_label, zero_division=0, sample_weight=sample_weight))


def recall(y_true, y_pred, *, threshold=None, pos_label=1, average=None, sample_weight=None) -> float:
    """TP / (TP + FN)."""
    from sklearn.metrics import recall_score

    yt, yp = _labels(y_true, y_pred, threshold, pos_label)
    avg = _average(yt, yp, average)
    return float(recall_score(yt, yp, average=avg, pos_label=pos_label, zero_division=0, sample_weight=sample_weight))


def f1(y_true, y_pred, *, threshold=None, pos_label=1, average=None, sample_weight=None) -> float:
    """Harmonic mean of precision and recall."""
    from sklearn.metrics import f1_score

    yt, yp = _labels(y_true, y_pred, threshold, pos_label)
    avg = _average(yt, yp, average)
    return float(f1_score(yt, yp, average=avg, pos_label=pos_label, zero_division=0, sample_weight=sample_weight))


def _check_scores(yt, scores):
    import numpy as np

    if not np.all(np.isfinite(scores.astype(float))):
        raise ValueError("y_score must be finite (found NaN or infinity)")
    if len(np.unique(yt)) < 2:
        raise ValueError("roc_auc and pr_auc need both classes in y_true; it holds one")


def roc_auc(y_true, y_score, *, pos_label=1, sample_weight=None) -> float:
    """Area under the ROC curve: scores (n,) for two classes, or probabilities (n, n_classes) (one-vs-rest, macro)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    yt, scores = _pair(y_true, y_score, "y_score")
    _check_scores(yt, scores)
    if scores.ndim == 2 and scores.shape[1] > 2:
        return float(roc_auc_score(yt, scores, multi_class="ovr", average="macro", sample_weight=sample_weight))
    return float(roc_auc_score(np.asarray(yt == pos_label), _positive_scores(scores), sample_weight=sample_weight))


def pr_auc(y_true, y_score, *, pos_label=1, sample_weight=None) -> float:
    """Area under the precision-recall curve as average precision: binary, or macro over classes one-vs-rest."""
    import numpy as np
    from sklearn.metrics import average_precision_score

    yt, scores = _pair(y_true, y_score, "y_score")
    _check_scores(yt, scores)
    if scores.ndim == 2 and scores.shape[1] > 2:
        from sklearn.preprocessing import label_binarize

        classes = np.unique(yt)
        if len(classes) != scores.shape[1]:
            raise ValueError(f"y_score has {scores.shape[1]} columns but y_true holds {len(classes)} classes")
        return float(average_precision_score(label_binarize(yt, classes=classes), scores, average="macro",
                                             sample_weight=sample_weight))
    return float(average_precision_score(np.asarray(yt == pos_label), _positive_scores(scores),
                                         sample_weight=sample_weight))


# -- regression and forecasting ----------------------------------------------------------------------


def rmse(y_true, y_pred) -> float:
    """Root mean squared error."""
    import math

    from sklearn.metrics import mean_squared_error

    yt, yp = _numeric(y_true, y_pred)
    return math.sqrt(float(mean_squared_error(yt, yp)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error."""
    from sklearn.metrics import mean_absolute_error

    yt, yp = _numeric(y_true, y_pred)
    return float(mean_absolute_error(yt, yp))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination, 1 - SSE / SST."""
    from sklearn.metrics import r2_score

    yt, yp = _numeric(y_true, y_pred)
    return float(r2_score(yt, yp))


def _no_zero_targets(yt):
    import numpy as np

    zeros = int(np.sum(yt == 0))
    if zeros:
        raise ValueError(f"mape is undefined where y_true is 0 ({zeros} rows): use smape, mase or mae")


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error, as a fraction (0.1 is 10%); undefined when a target is 0."""
    from sklearn.metrics import mean_absolute_percentage_error

    yt, yp = _numeric(y_true, y_pred)
    _no_zero_targets(yt)
    return float(mean_absolute_percentage_error(yt, yp))


def _smape_rows(yt, yp):
    import numpy as np

    denom = np.abs(yt) + np.abs(yp)
    return np.divide(2.0 * np.abs(yp - yt), denom, out=np.zeros_like(denom), where=denom != 0)


def smape(y_true, y_pred) -> float:
    """Symmetric MAPE: mean of 2|ŷ - y| / (|y| + |ŷ|), a fraction in [0, 2]; a row where both are 0 counts 0."""
    yt, yp = _numeric(y_true, y_pred)
    return float(_smape_rows(yt, yp).mean())


def mase_scale(y_train, season_length: int = 1) -> float:
    """The in-sample mean absolute error of the (seasonal) naive forecast on the training series."""
    import numpy as np

    train = _array(y_train, "y_train").astype(float).ravel()
    m = int(season_length)
    if m < 1:
        raise ValueError(f"season_length must be at least 1, got {season_length}")
    if len(train) <= m:
        raise ValueError(f"mase needs a training series longer than season_length = {m}; got {len(train)} values")
    scale = float(np.mean(np.abs(train[m:] - train[:-m])))
    if not scale > 0:
        raise ValueError("mase is undefined: the training series is constant (its naive forecast error is 0)")
    return scale


def mase(y_true, y_pred, y_train, *, season_length: int = 1) -> float:
    """Mean absolute scaled error: mae / the in-sample mae of the seasonal naive forecast on y_train."""
    return mae(y_true, y_pred) / mase_scale(y_train, season_length)


# -- by problem type ---------------------------------------------------------------------------------


def _omit(name: str, why: str) -> None:
    warnings.warn(f"{name} left out: {why}", MetricWarning, stacklevel=3)


def compute_metrics(
    problem,
    y_true,
    y_pred=None,
    *,
    y_score=None,
    threshold=None,
    pos_label=1,
    average=None,
    k=10,
    catalogue=None,
    y_train=None,
    season_length: int = 1,
    experiment=None,
    prefix: str = "",
    log_predictions: bool = True,
    index=None,
    units=None,
    groups=None,
    block_length=None,
    sample_weight=None,
) -> dict[str, float]:
    """The standard metrics of a problem type, under canonical names, as {name: float}.

    classification: `y_pred` labels and/or `y_score` (positive-class scores (n,), or class
      probabilities (n, n_classes) in sorted-label order); labels come from `y_score` at
      `threshold` when one is given, else from `y_pred`, else from `y_score` at 0.5 (argmax for
      probabilities). accuracy, precision,
      recall, f1, and roc_auc, pr_auc when scores are given.
    regression: rmse, mae, r2, mape (left out, with a MetricWarning, when a target is 0).
    forecasting: mape, smape, rmse, mae, and mase when `y_train` is given (`season_length`).
    ranking: y_true = relevant items per user, y_pred = ranked lists (n_users, >= k);
      precision@k, recall@k, hit_rate@k, ndcg@k, map@k (`k` an int or several), mrr, coverage@k with
      `catalogue`.

    `experiment`: the metrics are logged into it (names prefixed by `prefix`), with the hash of
    y_true recorded as its "eval_targets" input, and (`log_predictions`, not for ranking) the
    rows as `<prefix>predictions.npz` (Experiment.log_predictions: y_true, the labels or values
    judged, the scores, and `index`, the rows' time index for a forecast) from which the
    report draws the confusion matrix, PR curve, residuals or forecast chart.

    With `experiment`, each metric's per-unit evidence is logged too (Experiment.log_evidence), so
    that verdicts put an interval on it and compare experiments pair by pair: `units` names the
    rows (an id per row; users for ranking, in the order of y_true), `groups` clusters them (a card,
    a customer), and a forecast's rows, which are time-ordered, are kept only with `block_length`
    (rows resampled in blocks of that many).

    `sample_weight` (classification only): a weight per row, as scikit-learn takes it; for instance
    to restore the proportions of a class that was down-sampled for speed (all frauds, 10% of the
    legitimate rows weighted 10). Weighted metrics are logged without per-unit evidence or
    predictions: an interval needs the rows as they are.
    """
    kind = problem_type(problem)
    if sample_weight is not None:
        if kind != "classification":
            raise ValueError(f"sample_weight is supported for classification metrics, not {kind}")
        sample_weight = _array(sample_weight, "sample_weight").astype(float)
        if len(sample_weight) != len(_array(y_true, "y_true")):
            raise ValueError(f"sample_weight has {len(sample_weight)} entries but y_true has"
                             f" {len(_array(y_true, 'y_true'))} rows")
    if kind == "ranking":
        from .ranking import ranking_metrics

        if y_pred is None:
            raise ValueError("ranking metrics need y_pred: the ranked lists of item ids, shape (n_users, k)")
        out = ranking_metrics(y_true, y_pred, k=k, catalogue=catalogue)
    elif kind == "classification":
        out, labels = _classification(y_true, y_pred, y_score, threshold, pos_label, average, sample_weight)
    else:
        if y_pred is None:
            raise ValueError(f"{kind} metrics need y_pred")
        yt, yp = _numeric(y_true, y_pred)
        out = {"rmse": rmse(yt, yp), "mae": mae(yt, yp)}
        if kind == "regression":
            out["r2"] = r2(yt, yp)
        if (yt == 0).any():
            _omit("mape", f"y_true is 0 in {int((yt == 0).sum())} rows")
        else:
            out["mape"] = mape(yt, yp)
        if kind == "forecasting":
            out["smape"] = smape(yt, yp)
            if y_train is not None:
                out["mase"] = mase(yt, yp, y_train, season_length=season_length)
    judged = labels if kind == "classification" else y_pred
    for metric in custom_metrics.registered_for(kind):
        if sample_weight is not None:
            _omit(metric.name, "a registered metric is computed on unweighted rows; sample_weight was given")
            continue
        try:
            out[metric.canonical_name] = _custom_value(metric, y_true, judged, y_score)
        except Exception as error:  # noqa: BLE001 - a team's metric that fails on this data is left out, said
            _omit(metric.name, f"{type(error).__name__}: {error}")
    out = {f"{prefix}{name}": value for name, value in out.items()}
    if experiment is not None:
        experiment.log_metrics(out)
        record_eval_targets(experiment, y_true)
        if sample_weight is not None:
            return out
        if kind != "forecasting" or block_length:
            _log_evidence(experiment, out, prefix, y_true, labels if kind == "classification" else y_pred, y_score,
                          dict(threshold=None, pos_label=pos_label, average=average, y_train=y_train,
                               season_length=season_length),
                          units=units, groups=groups, block_length=block_length)
        if log_predictions and kind != "ranking":
            joiner = "_" if prefix and not prefix.endswith(("_", "-", ".")) else ""
            save_predictions(experiment, y_true, judged, y_score=y_score, index=index,
                             name=f"{prefix}{joiner}predictions")
    return out


def _custom_value(metric, y_true, y_pred, y_score) -> float:
    given = metric.given(y_pred, y_score)
    if given is None:
        raise ValueError(f"metric {metric.name!r} needs {'y_score' if metric.scores else 'y_pred'}")
    return metric.value(y_true, given)


def _log_evidence(experiment, metrics, prefix, y_true, y_pred, y_score, options, **ids) -> None:
    """Each metric's per-unit evidence; a metric without any (coverage, macro averages) is skipped."""
    from . import evidence

    options = {key: value for key, value in options.items() if value is not None}
    for name in metrics:
        base = name[len(prefix):]
        try:
            found = evidence.from_predictions(base, y_true, y_pred, y_score=y_score, **ids, **options)
        except (ValueError, TypeError):
            found = None
        if found is not None:
            found.metric = name
            evidence.save(experiment, found)


def save_predictions(experiment, y_true, y_pred=None, *, y_score=None, index=None, name="predictions") -> None:
    """experiment.log_predictions, merging with what an earlier call saved; a failure is a warning, never an error."""
    log = getattr(experiment, "log_predictions", None)
    if log is None:
        return
    try:
        log(y_true, y_pred, y_score=y_score, index=index, name=name, merge=True)
    except (ValueError, TypeError) as err:
        warnings.warn(f"predictions not saved for the report's charts: {err}", MetricWarning, stacklevel=3)


def _classification(y_true, y_pred, y_score, threshold, pos_label, average, sample_weight=None) -> dict[str, float]:
    import numpy as np

    if y_pred is None and y_score is None:
        raise ValueError("classification metrics need y_pred (labels) or y_score (scores or probabilities)")
    scores = None
    if y_score is not None:
        yt, scores = _pair(y_true, y_score, "y_score")
    if y_pred is None or (threshold is not None and scores is not None):
        yt = _array(y_true, "y_true")
        if scores.ndim == 2 and scores.shape[1] > 2:
            classes = np.unique(yt)
            if len(classes) != scores.shape[1]:
                raise ValueError(f"y_score has {scores.shape[1]} columns but y_true holds {len(classes)} classes")
            labels = classes[scores.argmax(axis=1)]
        else:
            labels = labels_at_threshold(yt, scores, 0.5 if threshold is None else threshold, pos_label)
    else:
        yt, labels = _labels(y_true, y_pred, threshold, pos_label)
    w = sample_weight
    out = {
        "accuracy": accuracy(yt, labels, sample_weight=w),
        "precision": precision(yt, labels, pos_label=pos_label, average=average, sample_weight=w),
        "recall": recall(yt, labels, pos_label=pos_label, average=average, sample_weight=w),
        "f1": f1(yt, labels, pos_label=pos_label, average=average, sample_weight=w),
    }
    if scores is not None:
        if len(np.unique(yt)) < 2:
            _omit("roc_auc and pr_auc", "y_true holds one class")
        else:
            out["roc_auc"] = roc_auc(yt, scores, pos_label=pos_label, sample_weight=w)
            out["pr_auc"] = pr_auc(yt, scores, pos_label=pos_label, sample_weight=w)
    return out, labels


METRIC_FUNCTIONS = {
    "accuracy": accuracy,
    "precision": precision,
    "recall": recall,
    "f1": f1,
    "roc_auc": roc_auc,
    "pr_auc": pr_auc,
    "rmse": rmse,
    "mae": mae,
    "r2": r2,
    "mape": mape,
    "smape": smape,
    "mase": mase,
}
RANKING = ("precision", "recall", "hit_rate", "ndcg", "map", "mrr", "coverage")


def split_cut_off(name: str) -> tuple[str, int | None]:
    """'Precision@10' -> ('precision', 10); 'mrr' -> ('mrr', None)."""
    base, at, cut = canonical(name).partition("@")
    if not at:
        return base, None
    if not cut.isdigit():
        raise ValueError(f"metric {name!r}: the cut-off after @ must be a number")
    return base, int(cut)


def metric_value(name: str, y_true, y_pred=None, *, y_score=None, **options) -> float:
    """One metric by its name ('accuracy', 'RMSE', 'precision@10', 'AUC', a registered one ...), computed on the given rows."""
    custom = custom_metrics.registered(canonical(name))
    if custom is not None:
        return _custom_value(custom, y_true, y_pred, y_score)
    base, k = split_cut_off(name)
    if k is not None or base == "mrr":
        from . import ranking

        if base not in RANKING:
            raise ValueError(f"unknown ranking metric {name!r}; known: {', '.join(RANKING)} (with @k)")
        if base == "coverage":
            return ranking.catalogue_coverage(y_pred, _required(options, "catalogue", name), k)
        lists = ranking.RankedLists(y_true, y_pred)
        return lists.metric(base, k)
    func = METRIC_FUNCTIONS.get(base)
    if func is None:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(sorted(METRIC_FUNCTIONS))}, and ranking metrics @k")
    if base in ("roc_auc", "pr_auc"):
        scores = y_score if y_score is not None else y_pred
        return func(y_true, scores, pos_label=options.get("pos_label", 1))
    if base in ("accuracy", "precision", "recall", "f1"):
        allowed = {key: options[key] for key in ("threshold", "pos_label", "average") if key in options}
        if base == "accuracy":
            allowed.pop("average", None)
        if y_pred is None:
            y_pred, allowed["threshold"] = y_score, allowed.get("threshold", 0.5)
        return func(y_true, y_pred, **allowed)
    if base == "mase":
        return mase(y_true, y_pred, _required(options, "y_train", name), season_length=options.get("season_length", 1))
    return func(y_true, y_pred)


def _required(options, key, name):
    if options.get(key) is None:
        raise ValueError(f"metric {name!r} needs {key}=")
    return options[key]


# -- per-row decomposition (what the bootstrap resamples) ---------------------------------------------


class RowDecomposition:
    """A metric as `combine(means of the columns of per-row values)`: resampling rows resamples it exactly.

    columns: (n, K) float array; combine: the combiner's name (see evidence.py: mean, ratio, f1,
    sqrt_mean, r2), whose function maps (B, K) column means to (B,) metric values.
    """

    def __init__(self, columns, combine: str):
        from .evidence import _combiner

        self.columns = columns
        self.combine = combine
        self.combine_values = _combiner(combine)

    @property
    def n_rows(self) -> int:
        return self.columns.shape[0]

    def value(self) -> float:
        return float(self.combine_values(self.columns.mean(axis=0)[None, :])[0])


def row_decomposition(name: str, y_true, y_pred=None, *, y_score=None, **options) -> RowDecomposition | None:
    """How `name` decomposes over rows (users, for ranking), or None when it does not (roc_auc, coverage, macro averages)."""
    import numpy as np

    custom = custom_metrics.registered(canonical(name))
    if custom is not None:
        given = custom.given(y_pred, y_score)
        return None if given is None else RowDecomposition(*custom.columns(y_true, given))
    base, k = split_cut_off(name)
    if k is not None or base == "mrr":
        if base not in ("precision", "recall", "ndcg", "map", "mrr", "hit_rate"):
            return None
        from .ranking import RankedLists

        per_user = RankedLists(y_true, y_pred).per_user(base, k)
        return RowDecomposition(np.asarray(per_user, dtype=float)[:, None], "mean")
    if base in ("accuracy", "precision", "recall", "f1"):
        threshold = options.get("threshold")
        pos_label = options.get("pos_label", 1)
        if y_pred is None:
            y_pred, threshold = y_score, 0.5 if threshold is None else threshold
        yt, yp = _labels(y_true, y_pred, threshold, pos_label)
        if base == "accuracy":
            return RowDecomposition((yt == yp).astype(float)[:, None], "mean")
        if _average(yt, yp, options.get("average")) != "binary":
            return None
        tp = ((yp == pos_label) & (yt == pos_label)).astype(float)
        predicted = (yp == pos_label).astype(float)
        actual = (yt == pos_label).astype(float)
        if base == "precision":
            return RowDecomposition(np.column_stack([tp, predicted]), "ratio")
        if base == "recall":
            return RowDecomposition(np.column_stack([tp, actual]), "ratio")
        return RowDecomposition(np.column_stack([tp, predicted, actual]), "f1")
    if base in ("rmse", "mse", "mae", "r2", "mape", "smape", "mase"):
        yt, yp = _numeric(y_true, y_pred)
        err = yp - yt
        if base == "rmse":
            return RowDecomposition((err**2)[:, None], "sqrt_mean")
        if base == "mse":
            return RowDecomposition((err**2)[:, None], "mean")
        if base == "mae":
            return RowDecomposition(np.abs(err)[:, None], "mean")
        if base == "mape":
            _no_zero_targets(yt)
            return RowDecomposition((np.abs(err) / np.abs(yt))[:, None], "mean")
        if base == "smape":
            return RowDecomposition(_smape_rows(yt, yp)[:, None], "mean")
        if base == "mase":
            scale = mase_scale(_required(options, "y_train", name), options.get("season_length", 1))
            return RowDecomposition((np.abs(err) / scale)[:, None], "mean")
        return RowDecomposition(np.column_stack([err**2, yt, yt**2]), "r2")
    return None


# -- the evaluation data's fingerprint ----------------------------------------------------------------

EVAL_TARGETS_ROLE = "eval_targets"


def record_eval_targets(experiment, y_true) -> str:
    """Record the sha256 of the evaluation targets in the experiment's meta.json inputs (role "eval_targets").

    Numbers are hashed as float64 whatever their container or dtype (a list, a Series, int32 ...), so
    two experiments scored on the same rows in the same order get the same hash; other values
    (class names, per-user item collections) through their canonical JSON text.
    """
    import json

    import numpy as np

    try:
        arr = _array(y_true, "y_true")
        if arr.dtype.kind in "biuf":
            return experiment.log_input(np.ascontiguousarray(arr, dtype=np.float64), role=EVAL_TARGETS_ROLE)
    except (ValueError, TypeError):
        pass
    values = y_true.tolist() if hasattr(y_true, "tolist") else list(y_true)
    rows = [_canonical_text(row) for row in values]
    return experiment.log_input(json.dumps(rows).encode(), role=EVAL_TARGETS_ROLE)


def _canonical_text(value):
    """JSON-ready text of one target: numpy scalars as Python ones, sets and dicts in sorted order."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, dict):
        return sorted([_canonical_text(k), _canonical_text(v)] for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical_text(v) for v in value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_canonical_text(v) for v in value]
    return repr(value)
