"""experiments/comparison.md: one row per experiment, one column per metric."""

from __future__ import annotations

import math
from pathlib import Path

from ..evaluation.judge import format_value
from ..model import metric_names
from ..tracking._files import atomic_write, plain_text

COMPARISON_FILE = "comparison.md"


def comparison_table(judgement) -> str:
    """The table of an IncrementJudgement (evaluation/judgement.py): its records, the judged one marked best."""
    records = judgement.records
    if not records:
        return "No experiment on record yet.\n"
    columns = sorted({metric_names.canonical(k) for r in records for k in r.metrics},
                     key=lambda m: (m != judgement.primary_metric, m))
    best = judgement.judged
    lines = ["| experiment | kind | status | " + " | ".join(columns) + " |",
             "|---|---|---|" + "---|" * len(columns)]
    for record in records:
        kind = "baseline" if record.baseline else "candidate"
        name = record.folder + (" ✅ BEST" if best is not None and best.folder == record.folder else "")
        cells = []
        for column in columns:
            value = record.metric(column)
            if value is None:
                cells.append("")
            else:
                cell = format_value(column, value.value)
                cells.append(cell if math.isfinite(value.value) else f"{cell} ⚠")
        lines.append(f"| {name} | {kind} | {record.status} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def compare_experiments(increment=None) -> str:
    """The comparison table (markdown) of an increment's experiments; `increment` as in track_experiment."""
    from ..evaluation.judgement import judge_increment
    from ..model.increment import Increment
    from ..tracking.api import current_increment

    folder = Path(increment.path) if hasattr(increment, "path") else current_increment(increment)
    return comparison_table(judge_increment(Increment.load(folder)))


def write_comparison(increment, judgement) -> Path:
    """experiments/comparison.md of an increment, from its IncrementJudgement."""
    path = increment.path / "experiments" / COMPARISON_FILE
    title = f"# Experiments of {increment.name}\n\n"
    primary = f"Primary metric: {judgement.primary_metric}.\n\n" if judgement.primary_metric else ""
    atomic_write(path, plain_text(title + primary + comparison_table(judgement)).encode("utf-8"))
    return path
