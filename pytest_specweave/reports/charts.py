"""The charts of COMPLETION-SUMMARY.md: PNG files in `<increment>/charts/`, read from the store.

| file                          | drawn when                                                         | read from           |
|-------------------------------|--------------------------------------------------------------------|---------------------|
| metric-by-experiment.png      | an experiment logged the primary metric (or a `val_`-style variant) | metrics.json        |
| learning-curve-<metric>.png   | the judged experiment or a leading candidate logged it at >= 2 steps | logs/metrics.jsonl |
| confusion-matrix.png          | classification, and the judged experiment saved its predictions    | predictions.npz     |
| pr-curve.png                  | classification, predictions with scores                            | predictions.npz     |
| residuals.png                 | regression, predictions                                            | predictions.npz     |
| forecast-vs-actual.png        | forecasting, predictions                                           | predictions.npz     |
| feature-importance.png        | the judged experiment, or one whose param `explains` names it, has feature_importance.csv | that file |

Predictions are saved by `Experiment.log_predictions` (compute_metrics and bootstrap_ci do it when
given `experiment=`). Charts are written only when matplotlib is importable (the `plots` extra);
matplotlib and numpy are imported inside `write_charts`. Figures are drawn on the Agg canvas
(`FigureCanvasAgg`, no pyplot: a user's interactive backend is never switched) under matplotlib's
default style, and saved without the Software tag or any timestamp: the same store gives the same
bytes, so a single-process run and a `-n 2` run write identical files. Each file is replaced
atomically, and only when its bytes change; charts of an earlier run that no longer apply are
removed. The folder is rebuilt by the report: do not keep other files in it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..model import metric_display, metric_names
from ..tracking._files import atomic_write, slugify, untag_float
from ..tracking.store import JOURNAL

CHARTS_DIR = Path("charts")
PLOTS_HINT = "pip install pytest-specweave[plots]"
OWN_FILES = re.compile(r"^(metric-by-experiment|learning-curve-.+|search-.+|confusion-matrix|pr-curve|residuals|"
                       r"forecast-vs-actual|feature-importance)\.png$")

MAX_BARS = 20  # experiments in the metric-by-experiment chart
MAX_SERIES = 3  # the primary metric and up to two variants (val_precision@10 ...)
MAX_CURVE_RECORDS = 8  # experiments whose step history is drawn
MAX_JOURNALS = 40  # journals read to find them
MAX_CURVE_CHARTS = 6
MAX_LINES = 10  # lines in one learning-curve chart
MAX_CLASSES = 20  # confusion matrix
MAX_PR_CLASSES = 10
MAX_POINTS = 5000  # residual scatter
MAX_FORECAST_POINTS = 2000
MAX_FEATURES = 20
SPLIT_PREFIXES = ("train_", "training_", "val_", "valid_", "validation_", "test_", "eval_", "holdout_")

SERIES_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c")
OPS = {">=": "≥", "<=": "≤", "!=": "≠", "==": "="}
TARGET_COLOURS = ("#d62728", "#9467bd", "#8c564b", "#e377c2")
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "pytest-specweave",
}


@dataclass
class Chart:
    file: str  # relative to the increment folder, POSIX: "charts/pr-curve.png"
    title: str
    caption: str  # one line for the summary: what is drawn, from where


@dataclass
class ChartSet:
    available: bool  # matplotlib importable
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why an expected chart is not there


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------------------------
# Names, units, values


def metric_unit(metric: str) -> str | None:
    """The unit a metric is shown in: '%' for rates logged as fractions, 'ms', 's', 'bytes', ... or None."""
    name = metric_names.canonical(metric)
    words = re.split(r"[_@]", name)
    if metric_display.is_rate(name):
        return "%"
    if words[-1] == "ms":
        return "ms"
    if words[-1] in ("s", "sec", "secs", "seconds"):
        return "rows/s" if "rows" in words and "per" in words else "s"
    if "bytes" in words:
        return "bytes"
    if "rps" in words or "qps" in words:
        return "requests/s"
    if {"rmse", "mae"} & set(words):
        return "target units"
    if "mse" in words:
        return "target units²"
    return None


def axis_label(metric: str) -> str:
    unit = metric_unit(metric)
    return f"{metric} ({unit or 'unitless'})"


def _shown(metric: str, value: float) -> float:
    return value * 100 if metric_unit(metric) == "%" else value


def _label_value(metric: str, value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    unit = metric_unit(metric)
    if unit in ("%", "ms", "s"):
        return metric_display.value_text(metric, value, unit)
    return f"{value:.4g}"


def _short(text: str, width: int = 42) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


# ----------------------------------------------------------------------------------------------
# Drawing


class _Canvas:
    """matplotlib, imported once per write_charts call, and the helpers every chart uses."""

    def __init__(self):
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.matplotlib = matplotlib
        self._figure = Figure
        self._canvas = FigureCanvasAgg

    def figure(self, width: float, height: float):
        fig = self._figure(figsize=(width, height), layout="constrained")
        self._canvas(fig)
        return fig

    def png(self, fig) -> bytes:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", metadata={"Software": None})
        return buffer.getvalue()


def write_charts(data) -> ChartSet:
    """Draw the charts that the store supports, for a SummaryData (summary.py); the ChartSet lists them.

    Without matplotlib nothing is written and `available` is False. A chart that fails to draw
    becomes a note naming it and the error; the others are still written.
    """
    if not matplotlib_available():
        return ChartSet(False)
    import matplotlib

    result = ChartSet(True)
    folder = data.increment.path / CHARTS_DIR
    written: set[str] = set()
    canvas = _Canvas()
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(STYLE)
        for what in CHARTS:
            draw = globals()[f"_{what.replace(' ', '_')}"]
            try:
                for name, title, caption, fig in draw(data, canvas, result.notes):
                    _save(folder / name, canvas.png(fig))
                    written.add(name)
                    result.charts.append(Chart((CHARTS_DIR / name).as_posix(), title, caption))
            except Exception as err:  # noqa: BLE001 - one broken chart never costs the summary
                result.notes.append(f"a chart could not be drawn ({what}): {type(err).__name__}: {err}")
    _remove_stale(folder, written)
    return result


CHARTS = ("metric by experiment", "learning curves", "search", "prediction charts", "feature importance")


def _save(path: Path, png: bytes) -> None:
    try:
        if path.read_bytes() == png:
            return
    except OSError:
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, png)


def _remove_stale(folder: Path, written: set[str]) -> None:
    try:
        names = [p.name for p in folder.iterdir()]
    except OSError:
        return
    for name in names:
        if OWN_FILES.match(name) and name not in written:
            try:
                (folder / name).unlink()
            except OSError:
                pass


# ----------------------------------------------------------------------------------------------
# The primary metric by experiment


def _variants(context, primary: str) -> list[str]:
    counts: dict[str, int] = {}
    for record in context.succeeded:
        for key in record.metrics:
            name = metric_names.canonical(key)
            if name != primary and name.endswith(primary) and name[: -len(primary)].endswith(("_", "-")):
                counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda m: (-counts[m], m))[: MAX_SERIES - 1]


def _metric_by_experiment(data, canvas, notes):
    context = data.context
    primary = context.primary_metric
    if not primary:
        notes.append("no metric-by-experiment chart: spec.md names no primary metric (frontmatter `primary_metric:`)")
        return
    series = [primary] + _variants(context, primary)
    rows = [r for r in context.succeeded if any(r.metric(m) is not None for m in series)]
    if not rows:
        notes.append(f"no metric-by-experiment chart: no succeeded experiment logged {primary}")
        return
    judged = data.judged
    total = len(rows)
    if total > MAX_BARS:
        rows = _leading(context, rows, series, judged)
    sign = -1 if context.direction(primary) == "lower" else 1
    n = len(rows)
    k = len([m for m in series if any(r.metric(m) is not None for r in rows)])
    series = [m for m in series if any(r.metric(m) is not None for r in rows)]
    height = 0.8 / k
    fig = canvas.figure(9.0, 2.2 + n * (0.32 + 0.12 * k) + 0.2 * k)
    ax = fig.add_subplot()
    values_seen = [0.0]
    for j, metric in enumerate(series):
        for i, record in enumerate(rows):
            value = record.metric(metric)
            if value is None:
                continue
            y = i - 0.4 + height * (j + 0.5)
            if not _finite(value.value):
                ax.text(0, y, f" {metric} = {value.value} (not finite)", va="center", fontsize=7, color="#d62728")
                continue
            shown = _shown(metric, value.value)
            values_seen.append(shown)
            colour = SERIES_COLOURS[j]
            best = judged is not None and record.folder == judged.folder
            xerr = None
            end = shown
            if value.ci is not None and all(_finite(c) for c in value.ci):
                low, end = (_shown(metric, c) for c in value.ci)
                xerr = [[max(shown - low, 0)], [max(end - shown, 0)]]
                values_seen += [low, end]
            ax.barh(y, shown, height=height * 0.92, xerr=xerr, error_kw={"elinewidth": 1, "capsize": 2},
                    **_bar_style(colour, record.baseline, best))
            ax.text(end, y, " " + _label_value(metric, value.value), va="center", fontsize=7.5)
    targets = _targets(data, primary)
    for t, (target, label) in enumerate(targets):
        shown = _shown(primary, target)
        values_seen.append(shown)
        ax.axvline(shown, color=TARGET_COLOURS[t % len(TARGET_COLOURS)], linestyle="--", linewidth=1.2, label=label)
    labels = []
    for record in rows:
        name = _short(record.folder)
        labels.append(f"★ {name} (best)" if judged is not None and record.folder == judged.folder else name)
    ax.set_yticks(range(n), labels)
    for tick, record in zip(ax.get_yticklabels(), rows):
        if judged is not None and record.folder == judged.folder:
            tick.set_fontweight("bold")
    ax.set_ylim(n - 0.5, -0.5)
    low, high = min(values_seen), max(values_seen)
    span = (high - low) or 1.0
    right = high + 0.22 * span
    if metric_unit(primary) == "%" and 0 <= low and high <= 100:
        right = min(right, 112.0)
        ax.set_xticks([t for t in range(0, 101, 10) if t <= max(math.ceil(high / 10) * 10, 10)])
    ax.set_xlim(min(0.0, low - 0.02 * span), right)
    ax.set_xlabel(axis_label(primary) if k == 1 else f"{primary} and its variants ({metric_unit(primary) or 'unitless'})")
    ax.grid(axis="y", visible=False)
    from matplotlib.patches import Patch

    handles = [Patch(label=f"{m}: candidates", **_bar_style(SERIES_COLOURS[j], False, False))
               for j, m in enumerate(series)]
    handles += [Patch(label=f"{m}: baselines (pale, hatched)", **_bar_style(SERIES_COLOURS[j], True, False))
                for j, m in enumerate(series)]
    handles += [Patch(label="★ best candidate (judged; outlined)", **_bar_style("#ffffff", False, True))] if judged else []
    handles += ax.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, framealpha=0.9)
    direction = "lower" if sign < 0 else "higher"
    shown_rows = f"{n} of {total} experiments" if total > n else f"{n} experiments"
    title = f"{primary} by experiment"
    ax.set_title(f"{title}\n{direction} is better · {shown_rows}", fontsize=10.5)
    caption = ("Final values from each experiment's metrics.json; whiskers are logged intervals; pale hatched bars "
               "are baselines; ★ marks the best candidate (the judged experiment)"
               + ("; dashed lines are the spec's targets" if targets else "")
               + (f"; each colour is one metric ({', '.join(series)}), so compare bars of one colour" if k > 1 else "")
               + (f"; the {n} shown are the best, the baselines and the leading candidates" if total > n else "")
               + ".")
    yield "metric-by-experiment.png", title, caption, fig


def _bar_style(colour: str, baseline: bool, best: bool) -> dict:
    """Candidates solid, baselines pale and hatched in the same hue, the best outlined in black."""
    if baseline:
        return {"facecolor": _pale(colour), "hatch": "///", "edgecolor": colour, "linewidth": 0.8}
    return {"facecolor": colour, "edgecolor": "#111111" if best else colour, "linewidth": 2.0 if best else 0.6}


def _pale(colour: str) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{int(c + (255 - c) * 0.72):02x}" for c in (r, g, b))


def _leading(context, rows, series, judged):
    """At most MAX_BARS rows: the judged experiment, up to 5 baselines, then the best candidates, in number order."""
    primary = series[0]
    sign = -1 if context.direction(primary) == "lower" else 1

    def key(record):
        for metric in series:
            value = record.metric(metric)
            if value is not None and _finite(value.value):
                return (series.index(metric), -sign * value.value, record.number)
        return (len(series), 0.0, record.number)

    chosen = [judged] if judged is not None and judged in rows else []
    chosen += sorted((r for r in rows if r.baseline), key=key)[:5]
    for record in sorted((r for r in rows if not r.baseline), key=key):
        if len(chosen) >= MAX_BARS:
            break
        if record not in chosen:
            chosen.append(record)
    return sorted(chosen[:MAX_BARS], key=lambda r: r.number)


def _targets(data, metric: str) -> list[tuple[float, str]]:
    """(target value, legend label) of the verdicts on `metric` that have a numeric target, deduplicated."""
    found: dict[tuple, list[str]] = {}
    texts: dict[tuple, str] = {}
    for row in data.rows():
        verdict = row.verdict
        if verdict is None or verdict.target is None or not _finite(verdict.target) or verdict.metric != metric:
            continue
        goal = verdict.target
        if verdict.reference:  # the target is a factor of the reference's value: drawn in the metric's units
            if not verdict.ratio or not verdict.value or not verdict.ratio[0]:
                continue
            goal = verdict.target * verdict.value / verdict.ratio[0]
        key = (verdict.op, round(goal, 12))
        found.setdefault(key, []).append(row.id)
        text = f"{OPS.get(verdict.op, verdict.op)} {_label_value(metric, goal)}"
        if verdict.reference:
            text += f" ({verdict.threshold.split(metric, 1)[-1].strip() if verdict.threshold else 'reference'})"
        texts[key] = text
    return [(key[1], f"target {texts[key]}: {', '.join(ids)}") for key, ids in found.items()]


# ----------------------------------------------------------------------------------------------
# Learning curves


def read_histories(record) -> dict[str, list[tuple[int, float]]]:
    """{metric: [(step, value)]} of the metrics a record logged at >= 2 steps, from its journal.

    Lines logged with a step count; a metric logged with no step at all counts when it has at least
    3 lines (a loop without steps; its step is the line's position). The last value of a step wins.
    """
    try:
        with open(record.path / JOURNAL, "rb") as f:
            data = f.read()
    except OSError:
        return {}
    stepped: dict[str, dict[int, float]] = {}
    plain: dict[str, list[float]] = {}
    for line in data.splitlines():
        try:
            entry = json.loads(line)
            key, value, step = entry["key"], untag_float(entry["value"]), entry.get("step")
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            continue
        if isinstance(step, int) and not isinstance(step, bool):
            stepped.setdefault(key, {})[step] = value
        else:
            plain.setdefault(key, []).append(value)
    out = {key: sorted(steps.items()) for key, steps in stepped.items() if len(steps) >= 2}
    for key, values in plain.items():
        if key not in stepped and len(values) >= 3:
            out[key] = list(enumerate(values))
    return out


def _curve_records(data) -> list:
    """The judged experiment, then the candidates by the primary metric, then the other candidates (latest first)."""
    context = data.context
    judged = data.judged
    primary = context.primary_metric
    sign = -1 if primary and context.direction(primary) == "lower" else 1
    ranked, rest = [], []
    for record in context.candidates:
        if judged is not None and record.folder == judged.folder:
            continue
        value = record.metric(primary) if primary else None
        if value is not None and _finite(value.value):
            ranked.append((-sign * value.value, record.number, record))
        else:
            rest.append(record)
    ranked.sort(key=lambda t: (t[0], t[1]))
    order = ([judged] if judged is not None else []) + [r for *_, r in ranked] + sorted(rest, key=lambda r: -r.number)
    return order[:MAX_JOURNALS]


def _group(metric: str) -> str:
    name = metric_names.canonical(metric)
    for prefix in SPLIT_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):]
    return name


def _learning_curves(data, canvas, notes):
    histories = []
    for record in _curve_records(data):
        found = read_histories(record)
        if found:
            histories.append((record, found))
        if len(histories) >= MAX_CURVE_RECORDS:
            break
    if not histories:
        return
    groups: dict[str, list[tuple]] = {}
    for record, found in histories:
        for metric, points in found.items():
            groups.setdefault(_group(metric), []).append((record, metric, points))
    context = data.context
    primary = context.primary_metric
    named = {primary} | {row.verdict.metric for row in data.rows() if row.verdict is not None and row.verdict.metric}

    def rank(group):
        return (group != primary, group not in named, -len(groups[group]), group)

    chosen = sorted(groups, key=rank)
    if len(chosen) > MAX_CURVE_CHARTS:
        notes.append(f"learning curves drawn for {MAX_CURVE_CHARTS} of {len(chosen)} metrics with a step history "
                     f"(not drawn: {', '.join(chosen[MAX_CURVE_CHARTS:])})")
    colours = {}
    styles = {"val_": "--", "valid_": "--", "validation_": "--", "test_": ":", "eval_": "-.", "holdout_": ":"}
    judged = data.judged
    for group in chosen[:MAX_CURVE_CHARTS]:
        lines = groups[group][:MAX_LINES]
        metrics = list(dict.fromkeys(metric_names.canonical(m) for _, m, _ in lines))
        records = list(dict.fromkeys(r.folder for r, _, _ in lines))
        fig = canvas.figure(7.5, 4.2)
        ax = fig.add_subplot()
        for record, metric, points in lines:
            colour = colours.setdefault(record.folder, f"C{len(colours) % 10}")
            name = metric_names.canonical(metric)
            style = next((s for p, s in styles.items() if name.startswith(p)), "-")
            steps = [s for s, _ in points]
            values = [_shown(metric, v) if _finite(v) else float("nan") for _, v in points]
            label = (f"{_short(record.folder, 36)} · {metric}" if len(records) > 1 else metric)
            best = judged is not None and record.folder == judged.folder
            ax.plot(steps, values, style, color=colour, linewidth=2.0 if best else 1.4,
                    marker="o" if len(points) <= 30 else None, markersize=3, label=label)
            final = record.metric(metric)
            if len(records) == 1 and final is not None and _finite(final.value) and final.value != points[-1][1]:
                ax.axhline(_shown(metric, final.value), color=colour, linestyle=":", linewidth=1,
                           label=f"{metric} final value in metrics.json: {_label_value(metric, final.value)}")
        ax.set_xlabel("step (as logged)")
        ax.set_ylabel(axis_label(metrics[0]) if len(metrics) == 1 else
                      f"{group} ({metric_unit(metrics[0]) or 'unitless'})")
        where = records[0] if len(records) == 1 else f"{len(records)} experiments"
        direction = context.direction(metrics[0])
        title = f"{', '.join(metrics)} by step — {_short(where, 48)}"
        ax.set_title(_short(title, 95))
        ax.legend(loc="best", framealpha=0.9)
        caption = (f"Per-step history of {', '.join(metrics)} from logs/metrics.jsonl of {', '.join(records)}"
                   + (f" ({direction} is better)" if direction else "")
                   + "; a step is what the experiment counted (an epoch, an iteration, a tuning configuration).")
        yield f"learning-curve-{slugify(group)}.png", title, caption, fig


# ----------------------------------------------------------------------------------------------
# Hyperparameter searches (tracking.search): score against trial


def searches(context) -> list[tuple[object, dict]]:
    """(record, search-trials.json) of each succeeded experiment of a JudgeContext that logged a search, latest first."""
    from ..tracking.search import SEARCH_FILE

    found = []
    for record in sorted(context.succeeded, key=lambda r: -r.number):
        if SEARCH_FILE in record.artifacts:
            try:
                found.append((record, record.load_dict(SEARCH_FILE)))
            except Exception:  # noqa: BLE001 - a changed file is left out of the charts, not fatal
                continue
    return found


def _search(data, canvas, notes):
    for record, search in searches(data.context)[:2]:
        trials = [t for t in search.get("trials", []) if isinstance(t, dict)]
        done = [(t["number"], t["value"]) for t in trials if t.get("state") == "complete" and _finite(t.get("value"))]
        if not done:
            continue
        metric = str(search.get("metric") or "score")
        lower = search.get("direction") == "minimize"
        fig = canvas.figure(7.5, 4.0)
        ax = fig.add_subplot()
        xs, ys = zip(*sorted(done))
        ax.plot(xs, [_shown(metric, y) for y in ys], "o", color="C0", markersize=3.5, alpha=0.7, label="trial")
        best, running = [], None
        for y in ys:
            running = y if running is None else (min(running, y) if lower else max(running, y))
            best.append(_shown(metric, running))
        ax.step(xs, best, where="post", color="C3", linewidth=1.6, label="best so far")
        others = [t["number"] for t in trials if t.get("state") in ("pruned", "fail")]
        if others:
            ax.plot(others, [min(ax.get_ylim())] * len(others), "x", color="0.5", label="pruned or failed")
        ax.set_xlabel("trial")
        ax.set_ylabel(axis_label(metric))
        title = f"{metric} by trial — {_short(record.folder, 48)}"
        ax.set_title(_short(title, 95))
        ax.legend(loc="best", framealpha=0.9)
        counts = ", ".join(f"{n} {state}" for state, n in sorted((search.get("counts") or {}).items()))
        caption = (f"Every trial of the {search.get('library')} search in {record.folder} ({counts}), scored on "
                   f"validation data; {'lower' if lower else 'higher'} is better.")
        yield f"search-{slugify(record.name)}.png", title, caption, fig


# ----------------------------------------------------------------------------------------------
# Plots from the judged model's predictions


def prediction_files(record) -> list[str]:
    """The predictions artifacts of a record, the plain `predictions.npz` first, then test, then the others."""
    found = [a for a in record.artifacts if a.endswith(".npz") and "predictions" in Path(a).name.lower()]
    return sorted(found, key=lambda a: (Path(a).name != "predictions.npz", "test" not in a.lower(),
                                        "val" in a.lower() or "train" in a.lower(), a))


def explaining_records(data) -> list:
    """The judged experiment and the succeeded experiments whose param `explains` names it."""
    judged = data.judged
    return data.context.explaining(judged) if judged is not None else []


def find_predictions(data):
    """(record, artifact) of the judged model's predictions, or (None, None)."""
    for record in explaining_records(data):
        files = prediction_files(record)
        if files:
            return record, files[0]
    return None, None


def _prediction_charts(data, canvas, notes):
    problem = data.problem_type
    if problem not in ("classification", "regression", "forecasting"):
        return
    wanted = {"classification": "confusion matrix and PR curve", "regression": "residuals chart",
              "forecasting": "forecast-vs-actual chart"}[problem]
    if data.judged is None:
        notes.append(f"no {wanted}: there is no judged experiment yet")
        return
    record, artifact = find_predictions(data)
    if record is None:
        notes.append(f"no {wanted}: {data.judged.folder} saved no predictions (compute_metrics(..., experiment=exp) "
                     "saves them, or exp.log_predictions(y_true, y_pred, y_score=...))")
        return
    import numpy as np

    with np.load(record.path / artifact, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    total = int(arrays.get("n_total", len(arrays["y_true"])))
    source = f"{record.folder}/{artifact}"
    if problem == "classification":
        yield from _classification_charts(np, arrays, source, total, record, canvas, notes)
    elif problem == "regression":
        yield from _residuals(np, arrays, source, total, record, canvas, notes)
    else:
        yield from _forecast(np, arrays, source, total, record, canvas, notes)


def _rows_note(n: int, total: int) -> str:
    return f"{n:,} rows" if n == total else f"{n:,} of {total:,} rows, sampled"


def _positive_label(classes):
    values = list(classes.tolist())
    for candidate in (1, True, "1", "yes", "true", "positive"):
        if candidate in values:
            return candidate
    return values[-1]


def _labels_from(np, arrays, classes):
    if "y_pred" in arrays:
        return arrays["y_pred"]
    scores = arrays.get("y_score")
    if scores is None:
        return None
    if scores.ndim == 2 and scores.shape[1] > 2:
        return classes[scores.argmax(axis=1)] if len(classes) == scores.shape[1] else None
    scores = scores[:, -1] if scores.ndim == 2 else scores
    positive = _positive_label(classes)
    others = [c for c in classes.tolist() if c != positive]
    negative = others[0] if others else positive
    return np.where(scores >= 0.5, positive, negative).astype(arrays["y_true"].dtype)


def _classification_charts(np, arrays, source, total, record, canvas, notes):
    y_true = arrays["y_true"]
    classes = np.unique(y_true)
    labels = _labels_from(np, arrays, classes)
    n = len(y_true)
    if labels is None:
        notes.append(f"no confusion matrix: {source} holds neither labels nor usable scores")
    else:
        classes = np.unique(np.concatenate([y_true, labels.astype(y_true.dtype)]))
        if len(classes) > MAX_CLASSES:
            notes.append(f"no confusion matrix: {len(classes)} classes (at most {MAX_CLASSES} are drawn)")
        else:
            yield _confusion_matrix(np, y_true, labels.astype(y_true.dtype), classes, source, n, total, record, canvas)
    scores = arrays.get("y_score")
    if scores is None:
        notes.append(f"no PR curve: {source} holds no scores (pass y_score= to compute_metrics or log_predictions)")
        return
    truth_classes = np.unique(y_true)
    if len(truth_classes) < 2:
        notes.append(f"no PR curve: y_true in {source} holds one class")
        return
    yield _pr_curve(np, y_true, scores, truth_classes, source, n, total, record, canvas, notes)


def _confusion_matrix(np, y_true, y_pred, classes, source, n, total, record, canvas):
    index = {c: i for i, c in enumerate(classes.tolist())}
    k = len(classes)
    rows = np.array([index[c] for c in y_true.tolist()])
    cols = np.array([index[c] for c in y_pred.tolist()])
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (rows, cols), 1)
    size = 2.2 + 0.55 * k
    fig = canvas.figure(max(4.8, size + 1.4), max(4.0, size))
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues", vmin=0)
    ax.grid(False)
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    high = matrix.max() or 1
    fontsize = 9 if k <= 6 else 7 if k <= 12 else 5.5
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{matrix[i, j]:,}\n{share[i, j] * 100:.1f}%", ha="center", va="center", fontsize=fontsize,
                    color="white" if matrix[i, j] > high * 0.55 else "#202020")
    names = [_short(str(c), 14) for c in classes.tolist()]
    ax.set_xticks(range(k), names, rotation=45 if k > 6 else 0, ha="right" if k > 6 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("actual class")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    title = f"Confusion matrix — {_short(record.folder, 40)}"
    ax.set_title(f"{title}\n{_rows_note(n, total)}; accuracy {accuracy * 100:.1f}%", fontsize=10)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label("rows (count)")
    caption = (f"Counts of actual (rows) against predicted (columns) classes, with the share of each actual class, "
               f"from {source} ({_rows_note(n, total)}).")
    return "confusion-matrix.png", title, caption, fig


def _pr_points(np, positive, scores):
    """(recall, precision, average precision) of scores for a boolean truth, at every distinct threshold."""
    order = np.argsort(-scores, kind="mergesort")
    scores, positive = scores[order], positive[order]
    distinct = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]
    tp = np.cumsum(positive)[distinct]
    fp = (distinct + 1) - tp
    total = positive.sum()
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / total if total else np.zeros_like(tp, dtype=float)
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return np.r_[0.0, recall], np.r_[1.0, precision], ap


def _pr_curve(np, y_true, scores, classes, source, n, total, record, canvas, notes):
    fig = canvas.figure(6.4, 4.8)
    ax = fig.add_subplot()
    curves = []
    if scores.ndim == 2 and scores.shape[1] > 2:
        if scores.shape[1] != len(classes):
            raise ValueError(f"{source}: y_score has {scores.shape[1]} columns but y_true holds {len(classes)} classes")
        for j, cls in enumerate(classes.tolist()[:MAX_PR_CLASSES]):
            curves.append((f"class {cls}", y_true == cls, scores[:, j].astype(float)))
        if len(classes) > MAX_PR_CLASSES:
            notes.append(f"PR curve: {MAX_PR_CLASSES} of {len(classes)} classes drawn (one against the rest)")
    else:
        positive = _positive_label(classes)
        s = scores[:, -1] if scores.ndim == 2 else scores
        curves.append((f"positive class {positive}", y_true == positive, s.astype(float)))
    for j, (label, truth, s) in enumerate(curves):
        finite = np.isfinite(s)
        recall, precision, ap = _pr_points(np, truth[finite], s[finite])
        ax.plot(recall * 100, precision * 100, drawstyle="steps-post", color=f"C{j}", linewidth=1.6,
                label=f"{label}: average precision {ap * 100:.1f}%")
        if len(curves) == 1:
            prevalence = truth.mean() * 100
            ax.axhline(prevalence, color="#7f7f7f", linestyle="--", linewidth=1,
                       label=f"no skill (share of positives, {prevalence:.1f}%)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 102)
    ax.set_xlabel("recall (%)")
    ax.set_ylabel("precision (%)")
    title = f"Precision–recall curve — {_short(record.folder, 40)}"
    ax.set_title(f"{title}\n{_rows_note(n, total)}", fontsize=10)
    ax.legend(loc="lower left", framealpha=0.9)
    caption = f"Precision against recall at every score threshold, from the scores in {source}."
    return "pr-curve.png", title, caption, fig


def _sample(np, n: int, limit: int):
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, limit, replace=False))


def _residuals(np, arrays, source, total, record, canvas, notes):
    if "y_pred" not in arrays:
        notes.append(f"no residuals chart: {source} holds no predicted values (y_pred)")
        return
    y_true = arrays["y_true"].astype(float).ravel()
    y_pred = arrays["y_pred"].astype(float).ravel()
    keep = np.isfinite(y_true) & np.isfinite(y_pred)
    y_true, y_pred = y_true[keep], y_pred[keep]
    residual = y_true - y_pred
    n = len(residual)
    if n == 0:
        notes.append(f"no residuals chart: {source} holds no finite rows")
        return
    shown = _sample(np, n, MAX_POINTS)
    fig = canvas.figure(7.5, 4.6)
    ax = fig.add_subplot()
    ax.scatter(y_pred[shown], residual[shown], s=7, alpha=0.35, color="C0", linewidths=0,
               label=f"rows ({len(shown):,} drawn)" if len(shown) < n else "rows")
    ax.axhline(0, color="#202020", linewidth=1)
    if n // 30 >= 4:
        edges = np.unique(np.quantile(y_pred, np.linspace(0, 1, min(20, n // 30) + 1)))
        if len(edges) > 2:
            bins = np.clip(np.searchsorted(edges, y_pred, side="right") - 1, 0, len(edges) - 2)
            counts = np.bincount(bins, minlength=len(edges) - 1)
            means = np.bincount(bins, weights=residual, minlength=len(edges) - 1) / np.maximum(counts, 1)
            centres = (edges[:-1] + edges[1:]) / 2
            ax.plot(centres[counts > 0], means[counts > 0], color="C1", linewidth=2, marker="o", markersize=3,
                    label="mean residual per bin of predictions")
    rmse = float(np.sqrt(np.mean(residual ** 2)))
    ax.set_xlabel("predicted value (target units)")
    ax.set_ylabel("residual = actual − predicted (target units)")
    title = f"Residuals against predictions — {_short(record.folder, 40)}"
    ax.set_title(f"{title}\n{_rows_note(n, total)}; RMSE {rmse:.4g}, mean residual {residual.mean():.3g}", fontsize=10)
    ax.legend(loc="best", framealpha=0.9)
    caption = (f"Each row's error against its prediction, from {source}: a trend or a funnel shape shows bias or "
               "unequal variance.")
    yield "residuals.png", title, caption, fig


def _forecast(np, arrays, source, total, record, canvas, notes):
    if "y_pred" not in arrays:
        notes.append(f"no forecast-vs-actual chart: {source} holds no forecast (y_pred)")
        return
    y_true = arrays["y_true"].astype(float).ravel()
    y_pred = arrays["y_pred"].astype(float).ravel()
    index = arrays.get("index")
    if index is not None and index.dtype.kind in "Mmiuf":
        order = np.argsort(index, kind="mergesort")
        x, y_true, y_pred = index[order], y_true[order], y_pred[order]
        xlabel = "time" if index.dtype.kind == "M" else "index"
    else:
        x = np.arange(len(y_true))
        xlabel = "row (order of the evaluation rows)"
    n = len(y_true)
    cut = ""
    if n > MAX_FORECAST_POINTS:
        x, y_true, y_pred = x[-MAX_FORECAST_POINTS:], y_true[-MAX_FORECAST_POINTS:], y_pred[-MAX_FORECAST_POINTS:]
        cut = f"the last {MAX_FORECAST_POINTS:,} of "
    fig = canvas.figure(8.5, 4.4)
    ax = fig.add_subplot()
    marker = "o" if len(x) <= 60 else None
    ax.plot(x, y_true, color="#202020", linewidth=1.5, marker=marker, markersize=3, label="actual")
    ax.plot(x, y_pred, color="C0", linewidth=1.5, linestyle="--", marker=marker, markersize=3, label="forecast")
    error = np.abs(y_true - y_pred)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("value (target units)")
    if index is not None and index.dtype.kind == "M":
        fig.autofmt_xdate()
    title = f"Forecast against actuals — {_short(record.folder, 40)}"
    ax.set_title(f"{title}\n{cut}{_rows_note(n, total)}; MAE {np.nanmean(error):.4g}", fontsize=10)
    ax.legend(loc="best", framealpha=0.9)
    caption = f"Actual values (solid) and the forecast (dashed) over {xlabel.split(' (')[0]}, from {source}."
    yield "forecast-vs-actual.png", title, caption, fig


# ----------------------------------------------------------------------------------------------
# Feature importance


def find_importance(data):
    """(record, artifact) of the judged model's feature importances (feature_importance.csv), or (None, None)."""
    for record in explaining_records(data):
        found = sorted(a for a in record.artifacts if a.lower().endswith(".csv") and "importance" in Path(a).name.lower())
        if found:
            return record, min(found, key=lambda a: (Path(a).name != "feature_importance.csv", a))
    return None, None


IMPORTANCE_COLUMNS = (("importance_mean", "importance_std", "permutation importance: mean drop in the score when "
                       "the feature is shuffled (score units)"),
                      ("importance", "importance_std", "importance (as logged)"),
                      ("shap_mean_abs", None, "mean |SHAP value| (units of the model output)"))


def read_importance(path: Path):
    """(features [(name, value, std)], axis label) from a feature-importance CSV, most important first."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return [], ""
    columns = list(rows[0])
    name_column = "feature" if "feature" in columns else next(
        (c for c in columns if not _numeric_column(rows, c)), columns[0])
    for value_column, std_column, label in IMPORTANCE_COLUMNS:
        if value_column in columns and any(_number(r.get(value_column)) is not None for r in rows):
            break
    else:
        numeric = [c for c in columns if c not in (name_column, "rank") and _numeric_column(rows, c)]
        if not numeric:
            return [], ""
        value_column, std_column, label = numeric[0], None, f"{numeric[0]} (as logged)"
    features = []
    for row in rows:
        value = _number(row.get(value_column))
        if value is None:
            continue
        std = _number(row.get(std_column)) if std_column and std_column in columns else None
        features.append((str(row.get(name_column, "")), value, std))
    features.sort(key=lambda f: -f[1])
    return features, label


def _number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _numeric_column(rows, column) -> bool:
    return all(_number(r.get(column)) is not None for r in rows if r.get(column) not in (None, ""))


def _feature_importance(data, canvas, notes):
    record, artifact = find_importance(data)
    if record is None:
        return
    features, label = read_importance(record.path / artifact)
    source = f"{record.folder}/{artifact}"
    if not features:
        notes.append(f"no feature-importance chart: {source} holds no numeric importances")
        return
    total = len(features)
    shown = features[:MAX_FEATURES]
    fig = canvas.figure(7.5, 1.4 + 0.3 * len(shown))
    ax = fig.add_subplot()
    values = [v for _, v, _ in shown]
    errors = [s if s is not None else 0.0 for _, _, s in shown]
    ax.barh(range(len(shown)), values, xerr=errors if any(errors) else None, color="C2", height=0.7,
            error_kw={"elinewidth": 1, "capsize": 2})
    ax.set_yticks(range(len(shown)), [_short(name, 36) for name, _, _ in shown])
    ax.set_ylim(len(shown) - 0.5, -0.5)
    ax.axvline(0, color="#202020", linewidth=0.8)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(label)
    judged = data.judged
    whose = judged.folder if judged is not None else record.folder
    count = f"top {len(shown)} of {total} features" if total > len(shown) else f"{total} features"
    title = f"Feature importance — {_short(whose, 40)} ({count})"
    ax.set_title(title)
    caption = (f"From {source}" + (f", which explains {whose}" if record.folder != whose else "")
               + ("; whiskers are the spread over repeats" if any(errors) else "") + ".")
    yield "feature-importance.png", title, caption, fig
