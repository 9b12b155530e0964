"""Decision-threshold tuning: the score cut-off that meets a precision target ("99% precision") or a recall target.

A row is predicted positive when its score >= the threshold (scikit-learn's convention). Tune on
validation scores and pass held-out scores as `test=` to report the precision and recall the
threshold achieves on data it was not chosen on (what it achieves on its own tuning data is
optimistic). numpy and scikit-learn are imported inside the functions.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass


@dataclass
class ThresholdChoice:
    threshold: float
    target: str  # "precision >= 0.99"
    met: bool  # whether the target was reached on the tuning data
    precision: float  # achieved, on the evaluation data (the test data when given)
    recall: float
    evaluated_on: str  # "tuning data" | "test data"
    tuning_precision: float
    tuning_recall: float


def _target(target_precision, target_recall) -> tuple[str, float]:
    given = [(name, value) for name, value in (("precision", target_precision), ("recall", target_recall))
             if value is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of target_precision= and target_recall= (e.g. target_precision=0.99)")
    name, value = given[0]
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"target_{name} must be a number in (0, 1], got {value!r}") from None
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise ValueError(f"target_{name} must be a fraction in (0, 1] (0.99 for 99%), got {value}")
    return name, value


def _binary(y_true, y_score, pos_label, what):
    import numpy as np

    from .metrics import _pair, _positive_scores

    yt, scores = _pair(y_true, y_score, what)
    scores = _positive_scores(scores.astype(float))
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{what} must be finite (found NaN or infinity)")
    positive = yt == pos_label
    if positive.all() or not positive.any():
        raise ValueError(f"threshold tuning needs positives and negatives in y_true (pos_label={pos_label!r})")
    return positive, scores


def _at(positive, scores, threshold):
    predicted = scores >= threshold
    tp = int((predicted & positive).sum())
    n_predicted = int(predicted.sum())
    return (tp / n_predicted if n_predicted else 0.0), tp / int(positive.sum())


def tune_decision_threshold(y_true, y_score, *, target_precision=None, target_recall=None, pos_label=1, test=None,
                            experiment=None) -> ThresholdChoice:
    """The threshold meeting the target with the most of the other quantity.

    target_precision: among thresholds whose precision >= target, the one with the highest recall.
    target_recall: among thresholds whose recall >= target, the one with the highest precision.
    A precision target no threshold reaches gives the highest-precision threshold, met=False and a
    warning (the gate on precision then fails where it should).
    test: (y_true, y_score) of held-out rows: the reported precision/recall are measured there.
    experiment: logs param decision_threshold (and decision_target), and metrics precision and recall.
    """
    import numpy as np
    from sklearn.metrics import precision_recall_curve

    name, goal = _target(target_precision, target_recall)
    positive, scores = _binary(y_true, y_score, pos_label, "y_score")
    precisions, recalls, thresholds = precision_recall_curve(positive, scores)
    precisions, recalls = precisions[:-1], recalls[:-1]  # the last point (recall 0) has no threshold
    if name == "precision":
        ok = precisions >= goal - 1e-12
        keys = (thresholds, precisions, recalls)  # lexsort: last key first
    else:
        ok = recalls >= goal - 1e-12
        keys = (thresholds, recalls, precisions)
    met = bool(ok.any())
    if not met:
        keys = (thresholds, recalls, precisions)  # best precision there is
        ok = np.ones_like(ok)
        warnings.warn(
            f"no threshold reaches precision >= {goal}: the best is {precisions.max():.4g};"
            " chose the highest-precision threshold",
            stacklevel=2,
        )
    candidates = np.flatnonzero(ok)
    best = candidates[np.lexsort(tuple(k[candidates] for k in keys))[-1]]
    threshold = float(thresholds[best])
    tuning = _at(positive, scores, threshold)
    achieved, where = tuning, "tuning data"
    if test is not None:
        try:
            test_true, test_score = test
        except (TypeError, ValueError):
            raise ValueError("test= must be a pair (y_true, y_score) of held-out rows") from None
        achieved, where = _at(*_binary(test_true, test_score, pos_label, "test y_score"), threshold), "test data"
    choice = ThresholdChoice(threshold, f"{name} >= {goal:g}", met, achieved[0], achieved[1], where, *tuning)
    if experiment is not None:
        experiment.log_params({"decision_threshold": threshold, "decision_target": choice.target,
                               "decision_evaluated_on": where})
        experiment.log_metrics({"precision": choice.precision, "recall": choice.recall})
        if test is not None:
            from .metrics import record_eval_targets

            record_eval_targets(experiment, test[0])
    return choice
