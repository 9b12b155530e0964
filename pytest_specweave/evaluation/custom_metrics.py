"""A team's own metrics, registered by name, so that thresholds, intervals, pairing and reports treat them as built-in ones.

A `Metric` says how to compute the metric from predictions as per-unit values (the metric is
their mean; or, given two columns, sum of the first over sum of the second), whether higher or
lower is better, whether it is a proportion (shown as a percentage; a mean of 0/1 values gets the
exact binomial interval), the unit it resamples and the problem types `compute_metrics` computes
it for. `register_metric` adds one to this process's registry; the `pytest_specweave_metrics`
hook fills it at configure. Plain Python: numpy is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

PROBLEM_TYPES = ("classification", "regression", "forecasting", "ranking")
DIRECTIONS = ("higher", "lower")


class MetricNameClash(ValueError):
    """A registered metric's name or alias is already a built-in metric's, or another registration's."""


@dataclass(frozen=True)
class Metric:
    """A metric by name. `compute(y_true, y_pred)` returns one value per unit (n,), the metric being their
    mean, or (n, 2) numerator and denominator per unit, the metric being sum / sum.

    `scores=True` passes the scores (y_score) instead of the labels. `unit`: "rows" when the rows are
    independent; another name ("customer") when rows of one such unit are not, and are resampled
    together: the `groups=` given to compute_metrics then name each row's unit.
    """

    name: str
    compute: Callable
    direction: str = "higher"
    proportion: bool = False
    unit: str = "rows"
    problems: tuple = PROBLEM_TYPES
    aliases: tuple = ()
    scores: bool = False
    canonical_name: str = field(default="", init=False, compare=False)

    def __post_init__(self):
        from ..model.metric_names import builtin_canonical

        if not isinstance(self.name, str) or not builtin_canonical(self.name):
            raise ValueError(f"a Metric needs a name, not {self.name!r}")
        if not callable(self.compute):
            raise ValueError(f"Metric {self.name!r}: compute must be a function of (y_true, y_pred)")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"Metric {self.name!r}: direction must be 'higher' or 'lower', not {self.direction!r}")
        problems = (self.problems,) if isinstance(self.problems, str) else tuple(self.problems)
        from .metrics import problem_type

        object.__setattr__(self, "problems", tuple(dict.fromkeys(problem_type(p) for p in problems)))
        aliases = (self.aliases,) if isinstance(self.aliases, str) else tuple(self.aliases)
        object.__setattr__(self, "aliases", aliases)
        object.__setattr__(self, "unit", str(self.unit or "rows"))
        object.__setattr__(self, "canonical_name", builtin_canonical(self.name))

    def given(self, y_pred, y_score):
        """What `compute` takes of a call's predictions: the scores when `scores`, else the labels (None if absent)."""
        return y_score if self.scores else y_pred

    @property
    def grouped(self) -> bool:
        return self.unit != "rows"

    def columns(self, y_true, y_pred):
        """The per-unit values as an (n, 1) or (n, 2) float array, and the combine rule of evidence.py."""
        import numpy as np

        values = np.asarray(self.compute(y_true, y_pred), dtype=float)
        if values.ndim == 1:
            return values[:, None], "mean"
        if values.ndim == 2 and values.shape[1] == 2:
            return values, "ratio"
        raise ValueError(f"metric {self.name!r}: compute returned shape {values.shape}; expected one value per"
                         " unit (n,), or numerator and denominator per unit (n, 2)")

    def value(self, y_true, y_pred) -> float:
        from .evidence import _combiner

        columns, combine = self.columns(y_true, y_pred)
        if not len(columns):
            raise ValueError(f"metric {self.name!r}: compute returned no values")
        return float(_combiner(combine)(columns.mean(axis=0)[None, :])[0])


# -- the registry --------------------------------------------------------------------------------------

_METRICS: dict[str, tuple[Metric, str]] = {}  # canonical name -> (metric, where it was registered)
_ALIASES: dict[str, str] = {}  # canonical alias -> canonical name


def register_metric(metric: Metric, source: str = "register_metric()") -> Metric:
    """Add `metric` to this process's registry; `source` names where it comes from (a conftest.py, a plugin).

    A name or alias that is a built-in metric's, or another registration's, raises MetricNameClash
    naming both. Registering the same Metric again from the same source is a no-op.
    """
    if not isinstance(metric, Metric):
        raise TypeError(f"{source}: expected a pytest_specweave.Metric, got {type(metric).__name__}")
    from ..model.metric_names import builtin_canonical

    name = metric.canonical_name
    found = _METRICS.get(name)
    if found is not None and found == (metric, source):
        return metric
    names = [name, *(builtin_canonical(alias) for alias in metric.aliases)]
    for spelling, written in zip(names, [metric.name, *metric.aliases]):
        builtin = builtin_source(spelling)
        if builtin:
            raise MetricNameClash(f"metric {written!r} from {source} clashes with the built-in metric"
                                  f" {builtin} (pytest-specweave)")
        owner = _METRICS.get(spelling) or _METRICS.get(_ALIASES.get(spelling, ""))
        if owner is not None:
            raise MetricNameClash(f"metric {written!r} from {source} clashes with the metric"
                                  f" {owner[0].name!r} registered by {owner[1]}")
    _METRICS[name] = (metric, source)
    for alias in names[1:]:
        if alias != name:
            _ALIASES[alias] = name
    _forget_names()
    return metric


def unregister_metric(name: str) -> None:
    from ..model.metric_names import builtin_canonical

    key = builtin_canonical(name)
    _METRICS.pop(key, None)
    for alias in [alias for alias, target in _ALIASES.items() if target == key]:
        del _ALIASES[alias]
    _forget_names()


def registered(name: str) -> Metric | None:
    """The registered metric of this canonical name (or alias), or None."""
    if not _METRICS:
        return None
    found = _METRICS.get(_ALIASES.get(name, name))
    return found[0] if found is not None else None


def registered_for(problem: str) -> list[Metric]:
    """The registered metrics computed for a problem type, in registration order."""
    return [metric for metric, _ in _METRICS.values() if problem in metric.problems]


def alias_target(name: str) -> str:
    """The canonical name an alias stands for (the name itself when it is none)."""
    return _ALIASES.get(name, name) if _ALIASES else name


def builtin_source(name: str) -> str | None:
    """How the built-in tables know `name` (a canonical spelling), e.g. "'roc_auc'"; None when they do not."""
    from ..model import metric_names
    from . import metrics

    base = name.partition("@")[0]
    canonical = metric_names.builtin_canonical(name)
    if canonical != name:
        return f"{canonical!r} (as {name!r})"
    known = {*metrics.METRIC_FUNCTIONS, *metrics.RANKING}
    if name in known or base in known or metric_names.is_builtin(name) or metric_names.is_builtin(base):
        return repr(name)
    return None


def _forget_names() -> None:
    from ..model.metric_names import canonical

    canonical.cache_clear()
