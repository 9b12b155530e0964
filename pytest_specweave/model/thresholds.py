"""The threshold language: one small grammar shared by spec.md and tests.md.

Forms, tried in this order:
  explainability artifacts present [for the best model]
  artifact <glob> present [in <experiment>]
  [metric] better than <reference> by <N>x | <N>%        (also "beat", "outperform", "<N>x better than")
  [metric [of <experiment>]] [comparator] <number>[unit] [<reference> | words]   (also "99% precision")
A reference is "<name> baseline", "baseline", "increment NNNN" or "promoted model".
Plain Python, no pytest import.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from ..errors import ThresholdError
from .metric_names import canonical, direction, is_percent_like

COMPARATORS = (">", ">=", "<", "<=", "==")

_SHOWN_OP = {">": ">", ">=": "≥", "<": "<", "<=": "≤", "==": "="}
_CURRENCIES = "$€£"


@dataclass(frozen=True)
class Reference:
    """What a ratio threshold compares against."""

    kind: str  # "baseline" | "increment" | "promoted"
    baseline: str | None = None  # kind == "baseline": "random", "best", or another name fragment
    increment: str | None = None  # kind == "increment": the id as written, e.g. "0041"

    def describe(self) -> str:
        if self.kind == "baseline":
            return f"{self.baseline} baseline"
        if self.kind == "increment":
            return f"increment {self.increment}"
        return "promoted model"


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold.

    kind:
      "compare"         metric <op> value
      "ratio"           metric compared to factor x a reference's value of the same metric
      "artifact"        an artifact matching `artifact` (a glob) exists in the judged experiment
      "explainability"  the judged experiment has explanation artifacts
      "drift"           with `data`: that file has not drifted from the promoted model's reference profile
                        ("no drift on data/current.parquet"); without: the spec's drift limits ("Drift: PSI <
                        0.2 per feature"), met when the promoted model ships a reference profile.
                        `value` is the PSI limit and `p_value` the test level, when written.
    """

    text: str
    kind: str
    metric: str | None = None  # canonical name (metric_names.canonical); None means the primary metric
    op: str | None = None  # one of COMPARATORS; None for a ratio written as "better than ... by"
    value: float | None = None  # compare: the target in logged units (10% -> 0.10, 0.1s -> 100 for *_ms)
    unit: str | None = None  # as written, for display: "%", "ms", "$", "req/sec", "x"
    factor: float | None = None  # ratio with op: metric op factor * reference ("0.98x increment 0041")
    better_by: tuple[str, float] | None = None  # ratio "better than": ("times", 3.0) or ("percent", 0.20)
    reference: Reference | None = None
    experiment: str | None = None  # "precision@10 of exp-003-xgboost > 0.25" -> "exp-003-xgboost"
    artifact: str | None = None  # kind == "artifact": the glob
    data: str | None = None  # kind == "drift": the new data file, as written
    p_value: float | None = None  # kind == "drift": a feature drifted when its test's p-value is below it

    def describe(self) -> str:
        """Human text: 'precision@10 > 0.25', 'mape < 10%', 'roc_auc ≥ 3× random baseline'."""
        where = f" in {self.experiment}" if self.experiment else ""
        if self.kind == "artifact":
            return f"artifact {self.artifact} present{where}"
        if self.kind == "explainability":
            return f"explainability artifacts present{where}"
        if self.kind == "drift":
            limits = ", ".join(([f"PSI < {_number(self.value)}"] if self.value is not None else [])
                               + ([f"p-value > {_number(self.p_value)}"] if self.p_value is not None else []))
            if self.data:
                return f"no drift on {self.data}" + (f" ({limits})" if limits else "")
            return f"drift limits: {limits or 'the defaults'} per feature"
        subject = self.metric or "primary metric"
        if self.experiment:
            subject += f" of {self.experiment}"
        if self.kind == "ratio" and self.better_by:
            how, amount = self.better_by
            shown = f"{_number(amount)}×" if how == "times" else f"{_number(amount * 100)}%"
            return f"{subject} better than {self.reference.describe()} by {shown}"
        if self.kind == "ratio":
            return f"{subject} {_SHOWN_OP[self.op]} {_number(self.factor)}× {self.reference.describe()}"
        return f"{subject} {_SHOWN_OP[self.op]} {_with_unit(self.value, self.unit)}"

    def bound(self, reference_value: float, higher_is_better: bool) -> tuple[str, float]:
        """A ratio threshold as (op, target) once the reference's value of the metric is known."""
        if self.kind != "ratio":
            raise ValueError(f"bound() applies to ratio thresholds, not {self.kind!r}")
        if self.better_by is None:
            return self.op, self.factor * reference_value
        how, amount = self.better_by
        if how == "times":
            return (">=", reference_value * amount) if higher_is_better else ("<=", reference_value / amount)
        return (">=", reference_value * (1 + amount)) if higher_is_better else ("<=", reference_value * (1 - amount))


def compare(op: str, measured: float, target: float) -> bool:
    """`measured op target`; '==' allows for float rounding. NaN never passes."""
    if op == "==":
        return math.isclose(measured, target, rel_tol=1e-9, abs_tol=1e-12)
    return {">": measured > target, ">=": measured >= target, "<": measured < target, "<=": measured <= target}[op]


def _number(value: float) -> str:
    return f"{value:.10g}"


def _with_unit(value: float, unit: str | None) -> str:
    if unit is None:
        return _number(value)
    if unit == "%":
        return f"{_number(value * 100)}%"
    if unit in _CURRENCIES:
        return f"{unit}{_number(value)}"
    if unit == "x":
        return f"{_number(value)}×"
    return f"{_number(value)} {unit}"


# --- units -------------------------------------------------------------------------------------

_UNITS = {  # as written (lower case) -> (family, size in the family's base unit)
    **dict.fromkeys(("ms", "msec", "millisecond", "milliseconds"), ("time", Decimal("0.001"))),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), ("time", Decimal(1))),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), ("time", Decimal(60))),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), ("time", Decimal(3600))),
    **dict.fromkeys(
        ("rps", "qps", "req/s", "req/sec", "requests/s", "requests/sec", "requests per second",
         "queries per second"),
        ("rate", Decimal(1)),
    ),
    **dict.fromkeys(("rpm", "req/min", "requests/min", "requests per minute"), ("rate", Decimal(1) / 60)),
    **dict.fromkeys(("%", "percent"), ("percent", Decimal("0.01"))),
    "x": ("times", Decimal(1)),
}
_UNIT = "|".join(re.escape(u) + ("" if u == "%" else r"(?!\w)") for u in sorted(_UNITS, key=len, reverse=True))
_NUMBER = r"[-+]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:e[-+]?\d{1,3})?"
# A number (with currency, k suffix, unit, "+") at the start of a text; `rest` is what follows.
_VALUE = re.compile(
    rf"\s*(?P<pre>[{_CURRENCIES}])?\s*(?P<num>{_NUMBER})(?P<k>k(?![a-z]))?\s*(?P<post>[{_CURRENCIES}])?"
    rf"\s*(?P<unit>{_UNIT})?(?P<plus>\+)?(?P<rest>.*)",
    re.I | re.S | re.A,
)
# Where a number starts that is not part of a name (`precision@10`, `top-3`, `p95`, `exp-003`).
_NUMBER_START = re.compile(rf"(?<![\w@.^/-])(?:[{_CURRENCIES}]\s*)?{_NUMBER}", re.I | re.A)
_NUMBER_WITH_UNIT = re.compile(
    rf"(?<![\w@.^/-])(?:[{_CURRENCIES}]\s*{_NUMBER}|{_NUMBER}k?\s*(?:[{_CURRENCIES}]|{_UNIT}))", re.I | re.A
)

# --- comparators -------------------------------------------------------------------------------

_WORD_OPS = {
    **dict.fromkeys(("at least", "no less than", "not less than", "no fewer than"), ">="),
    **dict.fromkeys(("at most", "no more than", "not more than", "up to"), "<="),
    **dict.fromkeys(("less than", "fewer than", "lower than", "below", "under"), "<"),
    **dict.fromkeys(("greater than", "more than", "higher than", "above", "over", "exceeds", "exceed"), ">"),
}
_SYMBOL_OPS = {">=": ">=", "<=": "<=", "==": "==", "=": "==", ">": ">", "<": "<"}
_SYMBOLS = ">=|<=|==|=|>|<"
_WORDS = "|".join(w.replace(" ", r"\s+") for w in sorted(_WORD_OPS, key=len, reverse=True))
_BEFORE_NUMBER = rf"(?=\s*[{_CURRENCIES}]?\s*[-+]?\.?\d)"
# Symbols count anywhere when parsing (so "x > abc" is reported); words only before a number.
_COMPARATOR = re.compile(rf"(?P<sym>{_SYMBOLS})|\b(?P<word>{_WORDS})\b{_BEFORE_NUMBER}", re.I | re.A)
_COMPARATOR_BEFORE_NUMBER = re.compile(rf"(?:{_SYMBOLS}|\b(?:{_WORDS})\b){_BEFORE_NUMBER}", re.I | re.A)
# `precision > abc`: a name, a comparator symbol and a value that is not a number still reads as a
# threshold, so that a typo fails loudly instead of passing as prose.
_NAME_SYMBOL_VALUE = re.compile(r"[\w@%]\s*(?:>=|<=|>|<)\s*[\w.$-]", re.A)
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_SYMBOL_BEFORE_NUMBER = re.compile(rf"(?:{_SYMBOLS}){_BEFORE_NUMBER}", re.A)
_OR_MORE = re.compile(r"\s*or\s+(?P<dir>more|higher|greater|above|less|lower|fewer|below)\b", re.I | re.A)

# --- references, ratios, artifacts -------------------------------------------------------------

_REFERENCE = re.compile(
    r"""(?:(?:the|a|an)\s+)?(?:
          increment\s+\#?(?P<increment>\d[\w.-]*)
        | (?:latest\s+)?(?P<promoted>promoted)(?:\s+model)?
        | (?P<named>[a-z][\w-]*)\s+baseline
        | baseline(?:[-_](?P<suffix>[a-z][\w-]*))?
        | (?P<random>random)(?:\s+(?:guess|guessing|chance))?
    )(?:'s)?(?:\s+(?:model|experiment|run)s?)?(?![\w-])""",
    re.I | re.X | re.A,
)
_BETTER = re.compile(r"\b(?:better\s+than|beats?|outperforms?)\s+", re.I | re.A)
_AMOUNT = rf"(?P<num>{_NUMBER})\s*(?P<how>x|%|percent|times)(?!\w)\+?"
_BY_AMOUNT = re.compile(rf"\s+by\s+(?:at\s+least\s+)?{_AMOUNT}", re.I | re.A)
_AMOUNT_BETTER = re.compile(rf"(?<![\w@.^/-]){_AMOUNT}\s*$", re.I | re.A)
_PRESENT = r"\s+(?:are\s+|is\s+)?(?:present|exists?)\b(?P<rest>.*)"
_NO_DRIFT = re.compile(r"^\s*no\s+(?:data\s+)?drift\s+(?:on|in|of)\s+(?:`(?P<quoted>[^`]+)`|(?P<file>[^\s`()]+))",
                       re.I | re.A)
_DRIFT_LINE = re.compile(r"^\s*(?:data\s+)?drift\s*:", re.I | re.A)
_PSI_LIMIT = re.compile(r"\bpsi\s*(<=|<)\s*([0-9]*\.?[0-9]+)", re.I | re.A)
_P_LEVEL = re.compile(r"\bp[- ]?value\s*(>=|>)\s*([0-9]*\.?[0-9]+)", re.I | re.A)
_EXPLAINABILITY = re.compile(rf"\bexplainability\s+artifacts?{_PRESENT}", re.I | re.S | re.A)
_ARTIFACT = re.compile(rf"\s*artifacts?\s+(?:`(?P<quoted>[^`]+)`|(?P<glob>\S+)){_PRESENT}", re.I | re.S | re.A)
_IN_EXPERIMENT = re.compile(r"\s*(?:in|of|for)\s+(?:experiment\s+)?(?P<name>[^\s`'\"]++)[\s.]*+$", re.I | re.A)
_NOT_EXPERIMENTS = {"the", "a", "an", "all", "each", "every", "best", "model", "candidate", "candidates", "winner"}
_OF_EXPERIMENT = re.compile(r"(?P<metric>.+?)\s+of\s+(?P<name>\S+)", re.I | re.S | re.A)
# Words around a metric name that are not part of it: "the precision@10 should be > 0.3".
_FILLER = re.compile(
    r"(?:\s+(?:is|are|be|should|must|shall|will|stays?|remains?))+\s*$|^\s*(?:the|a|an)\s+", re.I | re.A
)
# Words after the number that may name a metric ("99% precision"), up to the first of _NOT_NAMES.
_NAME_WORD = re.compile(r"[\w@.²^-]+")
_NOT_NAMES = set("of on in for per about with across over from to when while and or the a an vs by".split())
# Words that may start a remark after a complete comparison: "accuracy > 0.8 on the held-out set".
_CONNECTIVES = _NOT_NAMES | set("at within after before during if as using than including excluding except".split())


def looks_like_threshold(text: str) -> bool:
    """True when the text holds a comparator, a baseline ratio, or a number with a unit."""
    clean = _normalise(text)
    return bool(
        _EXPLAINABILITY.search(clean)
        or _NO_DRIFT.match(" ".join(text.split()))
        or _ARTIFACT.match(" ".join(text.split()))
        or _COMPARATOR_BEFORE_NUMBER.search(clean)
        or _NAME_SYMBOL_VALUE.search(_HTML_TAG.sub(" ", clean))
        or _NUMBER_WITH_UNIT.search(clean)
        or (_BETTER.search(clean) and _BY_AMOUNT.search(clean))
    )


def parse_threshold(text: str, key: str | None = None, directions: dict[str, str] | None = None) -> Threshold:
    """Parse one threshold. `key` is the key of a `Key: value` line, if any.

    Raises ThresholdError (without path/line; the caller places it) when the text cannot be read.
    """
    return _Reader(text, key, directions or {}).read()


_ARROW = re.compile(r"<-++>?|(?<!-)-++>")  # each run of dashes tried once, not once per dash


def _normalise(text: str) -> str:
    """One spelling for symbols; markdown emphasis and code marks dropped; arrows are not comparators.

    NFKC first, so that full-width digits and signs (`０.９`, `＞`) read as the ASCII ones they show.
    """
    text = unicodedata.normalize("NFKC", text)
    for old, new in (("≥", ">="), ("≤", "<="), ("≧", ">="), ("≦", "<="), ("⩾", ">="), ("⩽", "<="), ("=>", ">="),
                     ("=<", "<="), ("×", "x"), ("−", "-")):
        text = text.replace(old, new)
    text = _ARROW.sub(" → ", text).replace("`", "")
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    return " ".join(text.split())


class _Reader:
    """Reads one threshold text; each method tries one form of the grammar."""

    def __init__(self, text: str, key: str | None, directions: dict[str, str]):
        self.text = text.strip()
        self.clean = _normalise(text)
        self.key = key
        self.directions = directions

    def fail(self, why: str) -> ThresholdError:
        return ThresholdError(f"cannot read the threshold '{self.text}': {why}")

    def read(self) -> Threshold:
        if not self.clean:
            raise self.fail("expected a metric, a comparator and a number")
        return self.drift() or self.explainability() or self.artifact() or self.better_than() or self.comparison()

    def drift(self) -> Threshold | None:
        """'no drift on data/current.parquet [(PSI < 0.1)]', and a `Drift: PSI < 0.2 per feature` line."""
        found = _NO_DRIFT.match(" ".join(self.text.split()))
        keyed = (self.key or "").strip().strip("*").lower() in ("drift", "data drift")
        if found is None and not keyed and not _DRIFT_LINE.match(self.clean):
            return None
        psi, p = _PSI_LIMIT.search(self.clean), _P_LEVEL.search(self.clean)
        if found is None and psi is None and p is None:
            raise self.fail("expected drift limits such as 'PSI < 0.2 per feature' or 'p-value > 0.01'")
        return Threshold(self.text, "drift", metric="psi", op="<", value=float(psi.group(2)) if psi else None,
                         p_value=float(p.group(2)) if p else None,
                         data=(found["quoted"] or found["file"]) if found else None)

    def explainability(self) -> Threshold | None:
        found = _EXPLAINABILITY.search(self.clean)
        if found:
            return Threshold(self.text, "explainability", experiment=_experiment_after(found["rest"]))
        return None

    def artifact(self) -> Threshold | None:
        found = _ARTIFACT.match(" ".join(self.text.split()))
        if found:
            glob = found["quoted"] or found["glob"]
            return Threshold(self.text, "artifact", artifact=glob, experiment=_experiment_after(found["rest"]))
        return None

    def better_than(self) -> Threshold | None:
        """'[metric] better than <reference> by 3x' and '[metric] 20% better than <reference>'."""
        better = _BETTER.search(self.clean)
        if not better:
            return None
        before, after = self.clean[: better.start()], self.clean[better.end():]
        by = _BY_AMOUNT.search(after)
        amount_first = _AMOUNT_BETTER.search(before)
        if by:
            reference_text, amount = after[: by.start()], by
        elif amount_first:
            reference_text, amount, before = after, amount_first, before[: amount_first.start()]
        else:
            return None
        reference = _reference(reference_text, whole=bool(by))
        if reference is None:
            raise self.fail(f"expected a reference after '{better.group().strip()}': "
                            "random baseline, best baseline, increment NNNN or promoted model")
        how = "times" if amount["how"].lower() in ("x", "times") else "percent"
        size = self.finite(float(_decimal(amount["num"]) / (100 if how == "percent" else 1)), amount["num"])
        if size < 0 or (how == "times" and size == 0):
            raise self.fail("expected an amount above 0 after 'by'")
        metric, experiment = self.ratio_subject(before, reference)
        if how == "percent" and size >= 1 and metric and direction(metric, self.directions) == "lower":
            raise self.fail(f"{metric} is lower-is-better and cannot improve by 100% or more; "
                            "write a factor such as 'by 2x'")
        return Threshold(self.text, "ratio", metric=metric, better_by=(how, size), reference=reference,
                         experiment=experiment)

    def comparison(self) -> Threshold:
        """'[metric] [comparator] number[unit] [reference | words]', the number possibly first."""
        comparator = _COMPARATOR.search(self.clean)
        if comparator:
            op = _SYMBOL_OPS.get(comparator["sym"]) or _WORD_OPS[" ".join(comparator["word"].lower().split())]
            before, after = self.clean[: comparator.start()], self.clean[comparator.end():]
        else:
            number = _NUMBER_START.search(self.clean)
            if not number:
                raise self.fail("expected a comparator (>, >=, <, <=, at least, ...) and a number")
            op, before, after = None, self.clean[: number.start()], self.clean[number.start():]
        value = _VALUE.match(after)
        if not value:
            shown = comparator.group().strip() if comparator else "the metric"
            raise self.fail(f"expected a number after '{shown}'")
        rest = value["rest"]
        if re.match(r",\d", rest):
            raise self.fail(f"expected a number with a decimal point, not a comma, in '{value['num']}{rest[:4]}'")
        if _SYMBOL_BEFORE_NUMBER.search(rest):
            raise self.fail("expected one comparison; write each threshold as its own item")
        if op is None and value["plus"]:
            op = ">="
        or_more = _OR_MORE.match(rest)
        if op is None and or_more:
            op = ">=" if or_more["dir"].lower() in ("more", "higher", "greater", "above") else "<="
        unit = (value["unit"] or "").lower().replace("percent", "%") or value["pre"] or value["post"]
        ratio = self.ratio(op, before, value, unit, rest)
        if ratio:
            return ratio
        metric, experiment = self.subject(before)
        # The value names the metric before or after the number; otherwise the key does.
        named_before = metric is not None
        metric = metric or self.metric_in_words(rest) or self.key_metric() or self.metric_in_words(rest, known=False)
        if not metric:
            raise self.fail("expected the name of a metric")
        number, unit = _in_metric_units(_decimal(value["num"]) * (1000 if value["k"] else 1), unit, metric)
        self.finite(number, value["num"])
        bare = not (unit or value["k"] or value["plus"])
        if bare and number > 1 and is_percent_like(metric):
            fraction = _number(float(_decimal(value["num"]) / 100))
            raise self.fail(f"{metric} is a rate logged as a fraction (0 to 1), so {value['num']} is out of its "
                            f"range; write {value['num']}% or {fraction}")
        if bare and named_before and not or_more and direction(metric, self.directions):
            self.check_no_unread_words(rest)
        return Threshold(self.text, "compare", metric=metric, op=op or self.bare_op(metric), value=number,
                         unit=unit, experiment=experiment)

    def ratio(self, op, before, value, unit, rest) -> Threshold | None:
        """'<N>x <reference>' or '<N>% of <reference>' after the comparator, if that is what follows."""
        if unit == "%":
            of = re.match(r"\s*of\s+", rest, re.I)
            reference = _reference(rest[of.end():]) if of else None
        elif unit == "x" and rest.strip():
            reference = _reference(rest)
            if reference is None:
                raise self.fail(f"expected a reference after '{value['num']}x': "
                                "random baseline, best baseline, increment NNNN or promoted model")
        else:
            return None
        if reference is None:
            return None
        factor = _decimal(value["num"]) * (Decimal("0.01") if unit == "%" else 1)
        self.finite(float(factor), value["num"])
        if factor <= 0:
            raise self.fail("expected a factor above 0")
        metric, experiment = self.ratio_subject(before, reference)
        return Threshold(self.text, "ratio", metric=metric, op=op or self.bare_op(metric), factor=float(factor),
                         unit="x", reference=reference, experiment=experiment)

    def finite(self, number: float, written: str) -> float:
        if not math.isfinite(number):
            raise self.fail(f"{written} is not a finite number")
        return number

    def check_no_unread_words(self, rest: str) -> None:
        """Words after a complete comparison of a known metric (`accuracy > 0.8 banana`) are an error,
        unless they are a remark the grammar lets through: one in brackets or after an arrow or a
        separator, a phrase that starts with a connective (`on the test set`, `for cold-start users`),
        or a metric's name (`95%+ accuracy`)."""
        words = rest.strip()
        if not words or not words[0].isalpha():
            return
        first = words.split()[0].strip(",;:.").lower()
        if first in _CONNECTIVES or self.metric_in_words(rest) or _reference(rest):
            return
        raise self.fail(f"nothing reads the words after the number: '{words}'")

    def subject(self, words: str) -> tuple[str | None, str | None]:
        """The metric (and experiment) named before the comparator: 'precision@10 of exp-003'."""
        words = _FILLER.sub("", words.strip()).strip()
        of = _OF_EXPERIMENT.fullmatch(words)
        if of:
            return canonical(of["metric"]) or None, of["name"].strip(".,;:'\"")
        return canonical(words) or None, None

    def ratio_subject(self, words: str, reference: Reference) -> tuple[str | None, str | None]:
        """As subject(); a ratio naming no metric falls back on the key, except against a baseline,
        which judges the primary metric (design: 'Accuracy: Better than random baseline by 3x')."""
        metric, experiment = self.subject(words)
        if metric is None and reference.kind != "baseline":
            metric = self.key_metric()
        return metric, experiment

    def key_metric(self) -> str | None:
        return (canonical(self.key) or None) if self.key else None

    def metric_in_words(self, rest: str, known: bool = True) -> str | None:
        """A metric named after the number ('99% precision'); unless `known` is False, only a known metric."""
        names = []
        for word in rest.split()[:4]:
            word = word.strip(",;:.")
            if word.lower() in _NOT_NAMES or not _NAME_WORD.fullmatch(word):
                break
            names.append(word)
        for size in range(len(names), 0, -1):
            name = canonical(" ".join(names[:size]))
            if name and (not known or direction(name, self.directions)):
                return name
        return None

    def bare_op(self, metric: str | None) -> str:
        """A target without a comparator means 'at least' or 'at most' by the metric's direction."""
        better = direction(metric, self.directions) if metric else None
        if better is None:
            raise self.fail(f"expected a comparator: is {metric or 'the primary metric'} higher- or "
                            "lower-is-better? write '>=' or '<=' (or declare its direction)")
        return ">=" if better == "higher" else "<="


def _decimal(number: str) -> Decimal:
    return Decimal(number.replace(",", ""))


def _in_metric_units(number: Decimal, unit: str | None, metric: str) -> tuple[float, str | None]:
    """10% -> 0.10; a time or rate unit converts to the metric's own ('0.1s' on latency_p95_ms -> 100 ms)."""
    family, size = _UNITS.get(unit or "", (None, None))
    if family == "percent":
        return float(number * size), "%"
    suffix = metric.rpartition("_")[2]
    metric_family, metric_size = _UNITS.get(suffix, (None, None))
    if family in ("time", "rate") and family == metric_family and size != metric_size:
        return float(number * size / metric_size), suffix
    return float(number), unit or None


def _reference(text: str, whole: bool = False) -> Reference | None:
    """'random baseline', 'best baseline', 'baseline', 'increment 0041', 'promoted model' at the start of text."""
    found = _REFERENCE.match(text.strip())
    if not found or (whole and text.strip()[found.end():].strip(" .,;:")):
        return None
    if found["increment"]:
        return Reference("increment", increment=found["increment"].rstrip("."))
    if found["promoted"]:
        return Reference("promoted")
    name = found["named"] or found["suffix"] or found["random"] or "best"
    return Reference("baseline", baseline=name.lower())


def _experiment_after(rest: str) -> str | None:
    """'in exp-003' / 'for exp-003' after an artifact check names the experiment; 'for the best model' does not."""
    found = _IN_EXPERIMENT.match(rest)
    if found and found["name"].lower() not in _NOT_EXPERIMENTS:
        return found["name"]
    return None
