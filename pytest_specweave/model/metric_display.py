"""How a metric's value is shown: one rule for the terminal, the summary, the CI step summary and messages.

- **Rates**, shares of something that people read as percentages — accuracy, precision, recall,
  specificity and sensitivity, TPR/FPR/TNR/FNR, MAPE/sMAPE/WAPE, coverage, any `*_rate` — show as
  `%`: 0.958 is `95.8%`.
- **Scores** — ROC AUC, PR AUC (average precision), NDCG, MAP, MRR, R², F1 and F-beta, MCC, kappa,
  losses — never do: 0.9805 is `0.9805`. F1 is a score: the harmonic mean of two rates is no
  share of anything.
- A **registered** metric (custom_metrics.py) shows as `%` when it is a proportion, else by the
  rule for any other metric below.
- A **ratio** to a reference shows as `×`: `1.961×`.
- Any other metric shows in the unit its threshold is written in (`uplift ≥ 5%` shows `%`; `ms`,
  `$` as written), else as a plain number. Numbers keep 4 significant digits.

Machine outputs (the JSON report, JUnit properties, the store) keep raw numbers.
"""

from __future__ import annotations

import math

from ..evaluation import custom_metrics
from . import metric_names

RATE, SCORE = "rate", "score"
_KIND_OF_WORD = {
    **dict.fromkeys("accuracy precision recall specificity sensitivity tpr fpr tnr fnr mape smape wape coverage "
                    "rate".split(), RATE),
    **dict.fromkeys("auc ndcg map mrr r2 f1 fbeta mcc kappa gini loss brier ece perplexity".split(), SCORE),
}
CURRENCIES = ("$", "€", "£")


def kind(metric: str | None) -> str | None:
    """RATE, SCORE, or None for a metric that is neither (latency, rmse, a name the rule does not know)."""
    if not metric:
        return None
    custom = custom_metrics.registered(metric_names.canonical(metric))
    if custom is not None:
        return RATE if custom.proportion else None
    return metric_names.last_word_says(metric_names.canonical(metric).replace("@", "_"), _KIND_OF_WORD, f_beta=SCORE)


def is_rate(metric: str | None) -> bool:
    """Whether a metric shows as a percentage wherever it appears (a rate, above)."""
    return kind(metric) == RATE


def unit_of(metric: str | None, written: str | None = None) -> str | None:
    """The unit a metric's values are shown in: `%` for a rate, none for a score (whatever the
    threshold says), else the unit the threshold is written in (`%`, `ms`, `$` ...)."""
    found = kind(metric)
    if found == RATE:
        return "%"
    if found == SCORE or written == "x":
        return None
    return written


def number(value: float) -> str:
    """Four significant digits; from 10,000 up, whole numbers with thousands separators (`10,272`, not
    `1.027e+04`)."""
    if 1e4 <= abs(value) < 1e15:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def value_text(metric: str | None, value, written: str | None = None) -> str:
    """`95.8%`, `0.9805`, `12.5 ms`, `$1,200.00`: one value of a metric (`?` when there is none)."""
    if value is None:
        return "?"
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return str(value)
    unit = unit_of(metric, written)
    if unit == "%":
        return f"{value * 100:.4g}%"
    if unit in CURRENCIES:
        return f"{unit}{value:,.2f}"
    if unit:
        return f"{number(value)} {unit}"
    return number(value)


def interval_text(metric: str | None, low, high, written: str | None = None) -> str:
    """`[94%, 97%]`: an interval in its metric's display unit."""
    return f"[{value_text(metric, low, written)}, {value_text(metric, high, written)}]"


def ratio_text(ratio: float, low: float | None = None, high: float | None = None) -> str:
    """`1.961× [1.94×, 1.98×]`: a ratio to a reference, with its interval when it has one."""
    shown = f"{number(ratio)}×"
    if low is not None and high is not None:
        shown += f" [{number(low)}×, {number(high)}×]"
    return shown


def measured_text(metric: str | None, value, interval=None, written: str | None = None, ratio=None) -> str:
    """What a verdict measured, as every table shows it: `95.8% [94%, 97%]`; a ratio to a reference
    as the value, then the ratio: `0.9805 (1.961× [1.94×, 1.98×])`."""
    if value is None:
        return ""
    shown = value_text(metric, value, written)
    if interval is not None:
        shown += " " + interval_text(metric, interval[0], interval[1], written)
    if ratio is not None:
        shown += f" ({ratio_text(*ratio)})"
    return shown
