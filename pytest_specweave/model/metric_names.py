"""Metric names: canonical spelling, aliases, direction (higher or lower is better), percent-likeness.

A canonical name is lower case, uses `_` as its only separator and writes ranking cut-offs as
`@k` (`Precision-At-10` -> `precision@10`). Metrics a team registers (evaluation/custom_metrics.py)
are known here too: their aliases, direction and whether they are proportions. Plain Python, no
pytest import.
"""

from __future__ import annotations

import functools
import re

from ..evaluation import custom_metrics

_WRAPPING = " \t\r\n*`'\"_.,;:!?"
_SEPARATORS = re.compile(r"[\s_\-()\[\]{}/]+")
_AT_K = re.compile(r"(?:_?@_?|_at_)(\d+|k)(?=_|$)")
_PERCENTILE = re.compile(r"p\d+(?:\.\d+)?")
_F_BETA = re.compile(r"f\d+(?:\.\d+)?|fbeta")
_CUT_OFF = re.compile(r"@(?:\d+|k)")

# Spellings of the ranking metrics; these keep their @k.
_RANKING_ALIASES = {
    "mean_average_precision": "map",
    "normalized_discounted_cumulative_gain": "ndcg",
    "normalised_discounted_cumulative_gain": "ndcg",
    "mean_reciprocal_rank": "mrr",
    "hit_ratio": "hit_rate",
    "hitrate": "hit_rate",
    "f1_score": "f1",
    "f1score": "f1",
    "precision_score": "precision",
    "recall_score": "recall",
    "catalogue_coverage": "coverage",
    "catalog_coverage": "coverage",
    "item_coverage": "coverage",
}
_AT_K_ALIASES = {**_RANKING_ALIASES, "p": "precision", "r": "recall", "hr": "hit_rate", "hits": "hit_rate"}
_ALIASES = {
    **_RANKING_ALIASES,
    "auc": "roc_auc",
    "rocauc": "roc_auc",
    "auroc": "roc_auc",
    "auc_roc": "roc_auc",
    "roc_auc_score": "roc_auc",
    "prauc": "pr_auc",
    "auprc": "pr_auc",
    "auc_pr": "pr_auc",
    "average_precision": "pr_auc",
    "average_precision_score": "pr_auc",
    "r_squared": "r2",
    "rsquared": "r2",
    "r2_score": "r2",
    "coefficient_of_determination": "r2",
    "f_1": "f1",
    "f_beta": "fbeta",
    "f1_measure": "f1",
    "f_measure": "f1",
    "logloss": "log_loss",
    "cross_entropy": "log_loss",
    "crossentropy": "log_loss",
    "cross_entropy_loss": "log_loss",
    "accuracy_score": "accuracy",
    "balanced_accuracy_score": "balanced_accuracy",
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
    "mean_absolute_error": "mae",
    "mean_absolute_percentage_error": "mape",
    "false_positive_rate": "fpr",
    "brier_score": "brier",
    "rps": "throughput_rps",
    "qps": "throughput_rps",
    "req_s": "throughput_rps",
    "req_sec": "throughput_rps",
    "req_per_sec": "throughput_rps",
    "requests_per_second": "throughput_rps",
    "queries_per_second": "throughput_rps",
}
_SECONDS = {"s", "sec", "secs", "second", "seconds"}

# Whole names whose words alone do not tell the direction.
_DIRECTION_OF_NAME = {
    "explained_variance": "higher",
    "true_positive_rate": "higher",
    "true_negative_rate": "higher",
    "fpr": "lower",
    "false_negative_rate": "lower",
    "false_discovery_rate": "lower",
}
# Words that set the direction; the last such word of a name decides (`precision_std` -> lower).
_DIRECTION_OF_WORD = {
    **dict.fromkeys(
        "accuracy precision recall f1 auc ndcg map mrr hit hits coverage r2 throughput rps qps "
        "specificity sensitivity tpr tnr mcc kappa gini".split(),
        "higher",
    ),
    **dict.fromkeys(
        "rmse mse mae mape smape mase wape loss error errors brier latency fpr fnr ece perplexity "
        "std stdev ms seconds secs sec time duration size bytes memory cost".split(),
        "lower",
    ),
}
# Words that say whether a name is a rate logged as a fraction; the last such word decides.
_PERCENT_OF_WORD = {
    **dict.fromkeys(
        "accuracy precision recall f1 auc mape smape wape coverage rate specificity sensitivity "
        "fpr fnr tpr tnr".split(),
        True,
    ),
    **dict.fromkeys(
        "rmse mse mae mase loss brier latency ms throughput rps qps r2 ndcg map mrr count n size".split(),
        False,
    ),
}


@functools.lru_cache(maxsize=4096)  # reports ask for the same few names thousands of times
def canonical(name: str) -> str:
    """'Precision@10', 'precision_at_10', 'Precision-At-10' -> 'precision@10'; 'AUC' -> 'roc_auc'; 'R²' -> 'r2'.

    A registered metric's alias gives its name.
    """
    return custom_metrics.alias_target(builtin_canonical(name))


def builtin_names() -> set[str]:
    """The canonical names the built-in tables here know by name (not those known only by their words)."""
    return {*_ALIASES, *_ALIASES.values(), *_DIRECTION_OF_NAME, *_EXACT_NAMES}


def is_builtin(name: str) -> bool:
    """Whether a canonical name is one of the built-in names above, or a latency or throughput name
    canonical() spells by its own rule (`latency_p95_ms`, `throughput_rps`)."""
    words = _CUT_OFF.sub("", name).split("_")
    return name in builtin_names() or "latency" in words or "throughput" in words


@functools.lru_cache(maxsize=4096)
def builtin_canonical(name: str) -> str:
    """canonical() by the built-in rules alone."""
    text = name.strip(_WRAPPING).lower().replace("²", "2").replace("^", "")
    text = _SEPARATORS.sub("_", text).strip("_")
    text = _AT_K.sub(r"@\1", text)
    if "@" in text:
        base, at, rest = text.partition("@")
        return _AT_K_ALIASES.get(base, base) + at + rest
    if text in _ALIASES:
        return _ALIASES[text]
    words = text.split("_")
    if "latency" in words:
        return _latency_name(words)
    if "throughput" in words:
        return "throughput_rows_per_s" if "rows" in words else "throughput_rps"
    return text


# Words that only say which latency is meant; any other word qualifies it (explain_latency_ms is the
# latency of explaining, not of serving, and keeps its own name).
_LATENCY_WORDS = {"latency", "inference", "prediction", "predict", "serving", "request", "median", "mean", "avg",
                  "average", "max", "maximum", "ms", "milliseconds", "millis", "msec"}


def _latency_name(words: list[str]) -> str:
    """Latency means p95 in milliseconds unless the name says otherwise."""
    qualifiers = [w for w in words if w not in _LATENCY_WORDS and w not in _SECONDS and not _PERCENTILE.fullmatch(w)]
    statistic = "p95"
    for word in words:
        if _PERCENTILE.fullmatch(word):
            statistic = word
        elif word == "median":
            statistic = "p50"
        elif word in ("mean", "avg", "average"):
            statistic = "mean"
        elif word in ("max", "maximum"):
            statistic = "max"
    unit = "s" if _SECONDS.intersection(words) else "ms"
    return "_".join([*qualifiers, f"latency_{statistic}_{unit}"])


def same_metric(a: str, b: str) -> bool:
    return canonical(a) == canonical(b)


def direction(name: str, declared: dict[str, str] | None = None) -> str | None:
    """'higher', 'lower', or None when unknown. `declared` maps metric names to 'higher'/'lower'."""
    name = canonical(name)
    base = _CUT_OFF.sub("", name)
    for key, value in (declared or {}).items():
        if canonical(key) in (name, base) and value in ("higher", "lower"):
            return value
    custom = custom_metrics.registered(name) or custom_metrics.registered(base)
    if custom is not None:
        return custom.direction
    if base in _DIRECTION_OF_NAME:
        return _DIRECTION_OF_NAME[base]
    return last_word_says(base, _DIRECTION_OF_WORD, f_beta="higher")


def is_percent_like(name: str) -> bool:
    """Rates logged as fractions that reports print as percentages (accuracy, precision, mape ...)."""
    custom = custom_metrics.registered(canonical(name))
    if custom is not None:
        return custom.proportion
    return bool(last_word_says(_CUT_OFF.sub("", canonical(name)), _PERCENT_OF_WORD, f_beta=True))


def last_word_says(base: str, table: dict, f_beta):
    """The table's entry for the last word of `base` that it knows (F-beta words count as `f_beta`)."""
    for word in reversed(base.split("_")):
        if word in table:
            return table[word]
        if _F_BETA.fullmatch(word):
            return f_beta
    return None


# Built-in metrics that are counted or measured exactly (no sampling error): sizes and parameter counts.
_EXACT_NAMES = {"model_size_bytes", "n_parameters", "n_trainable_parameters", "parameter_count", "num_parameters"}
_SIZE_UNITS = {"bytes", "b", "kb", "mb", "gb", "kib", "mib", "gib"}
_PARAMETER_WORDS = {"parameters", "params"}
_COUNT_WORDS = {"n", "num", "number", "count", "trainable"}


def is_exact(metric: str) -> bool:
    """Whether a built-in metric has no sampling error: model sizes (`model_size_bytes`, `*_size_mb` ...)
    and parameter counts (`n_parameters`). Other metrics are exact only when logged with exact=True."""
    base = _CUT_OFF.sub("", canonical(metric))
    if base in _EXACT_NAMES:
        return True
    words = base.split("_")
    if "size" in words and words[-1] in _SIZE_UNITS:
        return True
    return bool(_PARAMETER_WORDS.intersection(words) and _COUNT_WORDS.intersection(words))
