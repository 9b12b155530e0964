"""`--sw-sync-docs`: the architecture docs say which model each increment chose, and why.

Written for each increment that tracks experiments and has a chosen model (the judged experiment:
the best succeeded candidate by the primary metric):

- `docs/architecture/ml-models.md`: one section per increment, between
  `<!-- pytest-specweave:<increment> -->` and `<!-- /pytest-specweave:<increment> -->`, replaced in
  place; the rest of the file is left byte for byte. The algorithm, experiment, metrics and promoted
  model version.
- `docs/architecture/adr/NNNN-<increment slug>-algorithm.md`: an architecture decision record (context,
  decision, the comparison of candidates and baselines from the store, consequences), numbered after
  the folder's highest ADR, and rewritten in place (keeping its number) at the next sync.
- `docs/runbooks/<model>.md`: the hyperparameters, how to retrain, the promoted version, latency and
  throughput, the monitoring thresholds (modes.runbooks), in a marked section like ml-models.md's.

`docs/` is the one of the project holding the increment (project.project_root: the nearest folder
with `.git`, `pyproject.toml`, ... from the folder holding `increments/` up to the rootdir, else that
folder), never a parent folder pytest happened to run from; in SpecWeave's layout
(`.specweave/increments/…`) it is `.specweave/docs/internal/architecture/`. Files are replaced atomically.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

from ..errors import SpecweaveError
from ..evaluation.judge import PASSED, format_value
from ..project import project_root
from ._files import replace_file

MODELS_DOC = "ml-models.md"
ADR_FOLDER = "adr"
MAX_COLUMNS = 8
_ADR_NUMBER = re.compile(r"^(\d{4})-")


def architecture_dir(increment_dir: Path, rootdir: Path) -> Path:
    increments = increment_dir.parent
    if increments.name == "increments" and increments.parent.name == ".specweave":
        return increments.parent / "docs" / "internal" / "architecture"
    return project_root(increment_dir, rootdir) / "docs" / "architecture"


def sync_docs(increment, rootdir, today: str | None = None, *, judgement=None) -> tuple[list[Path], str | None]:
    """([files written], why nothing was written or None) for one increment (markdown model).

    judgement: the increment judged (evaluation.judgement.IncrementJudgement); judged here when None.
    """
    from ..evaluation.judgement import judge_increment
    from ..evaluation.promotion import promote_judged_model
    from ..tracking.models import PromotionError, model_versions, read_metadata

    if not increment.tracks_experiments:
        return [], None  # a non-ML increment: no model to document
    if judgement is None:
        judgement = judge_increment(increment)
    chosen = judgement.judged
    if chosen is None:
        return [], (f"no model chosen yet: no succeeded candidate logged the primary metric "
                    f"{judgement.primary_metric or '(none named)'}")
    try:
        promote_judged_model(judgement)
    except PromotionError:
        pass
    except (SpecweaveError, OSError):
        pass  # the docs then name no promoted version; the report says why the promotion failed
    promoted = None
    versions = model_versions(increment.path)
    if versions:
        try:
            metadata = read_metadata(increment.path, versions[-1])
            if metadata.get("source_experiment") == chosen.folder:
                promoted = metadata
        except SpecweaveError:
            promoted = None
    today = today or datetime.now(timezone.utc).strftime("%Y-%m-%d")
    docs = architecture_dir(increment.path, Path(rootdir))
    adr_dir = docs / ADR_FOLDER
    adr_dir.mkdir(parents=True, exist_ok=True)
    adr = _adr_path(adr_dir, increment.name)
    number = int(adr.name[:4])
    facts = _Facts(increment, judgement, chosen, promoted, docs)
    replace_file(adr, _encoded(adr, render_adr(facts, number, today)))
    models_doc = docs / MODELS_DOC
    section = render_section(facts, number, adr, today)
    replace_file(models_doc, _with_section(models_doc, increment.name, section))
    from .runbooks import write_runbook

    runbook = write_runbook(facts, _command_path(increment), today)
    return [models_doc, adr, runbook], None


def _encoded(path: Path, text: str) -> bytes:
    """Text with the line ends of the file it replaces (LF for a new file)."""
    if path.exists() and b"\r\n" in path.read_bytes():
        text = text.replace("\n", "\r\n")
    return text.encode("utf-8")


def _adr_path(adr_dir: Path, name: str) -> Path:
    """The increment's ADR: the one already written for it (its `Increment` line names it; files named
    `NNNN-<increment folder>-algorithm.md` by earlier versions count), else `NNNN-<slug>-algorithm.md`
    numbered after the folder's highest ADR (the increment's own number left out: `0004-churn-algorithm.md`)."""
    written = f"- **Increment**: `{name}`"
    for path in sorted(adr_dir.glob("[0-9][0-9][0-9][0-9]-*-algorithm.md")):
        if path.name[5:] == f"{name}-algorithm.md" or _names_increment(path, written):
            return path
    numbers = [int(m.group(1)) for p in adr_dir.iterdir() if (m := _ADR_NUMBER.match(p.name))]
    slug = _INCREMENT_NUMBER.sub("", name) or name
    return adr_dir / f"{max(numbers, default=0) + 1:04d}-{slug}-algorithm.md"


_INCREMENT_NUMBER = re.compile(r"^\d{3,4}E?-")


def _names_increment(path: Path, line: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return any(text.rstrip("\r\n") == line for _, text in zip(range(12), handle))
    except OSError:
        return False


# --- what the docs say ----------------------------------------------------------------------------


class _Facts:
    def __init__(self, increment, judgement, chosen, promoted, docs: Path):
        self.increment, self.chosen, self.promoted, self.docs = increment, chosen, promoted, docs
        self.context = context = judgement.context
        self.metric = context.primary_metric
        self.direction = context.direction(self.metric) or "higher"
        self.algorithm = algorithm_of(chosen)
        self.model_class = _model_class(chosen, promoted)
        self.verdicts = []
        for metric in increment.spec.metrics if increment.spec is not None else []:
            if metric.threshold is not None:
                try:
                    self.verdicts.append((metric, judgement.verdict(metric)))
                except Exception:  # noqa: BLE001 - a metric that cannot be judged is shown as such
                    self.verdicts.append((metric, None))

    def link(self, target: Path, base: Path) -> str:
        return Path(os.path.relpath(target, base)).as_posix()

    @property
    def promoted_file(self) -> str | None:
        return f"models/{self.promoted['file']}" if self.promoted else None

    def value(self, record, metric: str) -> str:
        measured = record.metric(metric)
        return format_value(metric, measured.value) if measured is not None else "—"


def algorithm_of(record) -> str:
    from ..tracking.models import algorithm_of as trained

    return trained(record) or record.name


def _model_class(record, promoted) -> str | None:
    from ..tracking.models import model_of

    model = model_of(record) or {}
    cls = model.get("class") or (promoted or {}).get("class")
    return cls.rsplit(".", 1)[-1] if isinstance(cls, str) else None


def _compared(facts: _Facts) -> tuple[list, list[str]]:
    """(records, metric columns) of the comparison table.

    Columns: the metrics logged by two or more succeeded experiments, and the chosen one's primary and
    spec metrics; the primary and spec metrics first, then their variants (`val_precision@10`), then
    the rest by name, at most MAX_COLUMNS. Rows: the succeeded experiments that logged any of them,
    the chosen first, then by the primary metric.
    """
    from ..model.metric_names import same_metric

    records = facts.context.succeeded
    wanted = [m for m in [facts.metric, *(v.metric for _, v in facts.verdicts if v is not None)] if m]
    counts: dict[str, int] = {}
    for record in records:
        for key in record.metrics:
            counts[key] = counts.get(key, 0) + 1

    def rank(key: str):
        same = [i for i, m in enumerate(wanted) if same_metric(key, m)]
        if same:
            return (0, same[0], key)
        related = [i for i, m in enumerate(wanted) if m.lower() in key.lower()]
        return (1, related[0], key) if related else (2, 0, key)

    columns = sorted((k for k, n in counts.items() if n >= 2 or (k in facts.chosen.metrics and rank(k)[0] == 0)),
                     key=rank)[:MAX_COLUMNS]
    rows = [r for r in records if any(c in r.metrics for c in columns)]
    sign = -1 if facts.direction == "lower" else 1

    def order(record):
        measured = record.metric(facts.metric) if facts.metric else None
        return (record is not facts.chosen, measured is None, -sign * (measured.value if measured else 0), record.number)

    return sorted(rows, key=order), columns


def _table(facts: _Facts) -> list[str]:
    rows, columns = _compared(facts)
    if not rows:
        return ["No experiment logged a metric that another logged too: nothing to compare."]
    lines = ["| experiment | role | algorithm | " + " | ".join(columns) + " |",
             "|---|---|---|" + "---|" * len(columns)]
    for record in rows:
        role = "**chosen**" if record is facts.chosen else "baseline" if record.baseline else "candidate"
        values = [format_value(c, record.metrics[c].value) if c in record.metrics else "—" for c in columns]
        lines.append(f"| `{record.folder}` | {role} | {algorithm_of(record)} | " + " | ".join(values) + " |")
    return lines


def render_adr(facts: _Facts, number: int, today: str) -> str:
    increment, chosen, metric = facts.increment, facts.chosen, facts.metric
    lines = [f"# ADR-{number:04d}: {facts.algorithm} for {increment.title}", "",
             "- **Status**: Accepted",
             f"- **Date**: {today}",
             f"- **Increment**: `{increment.name}`",
             f"- **Written by**: `pytest {_command_path(increment)} --sw-sync-docs` (pytest-specweave), from the experiment "
             "store; rewritten in place at the next sync", "",
             "## Context", "",
             f"{increment.title} must meet the success metrics of its spec.md. Experiments are ranked by "
             f"**{metric}** ({facts.direction} is better); {len(facts.context.candidates)} candidate and "
             f"{len(facts.context.baselines)} baseline experiments succeeded.", ""]
    for spec_metric, verdict in facts.verdicts:
        if verdict is None:
            lines.append(f"- {spec_metric.id}: {spec_metric.text} — could not be judged")
        else:
            word = "passes" if verdict.outcome == PASSED else verdict.outcome
            lines.append(f"- {spec_metric.id}: {spec_metric.text} — {verdict.message} ({word})")
    measured = chosen.metric(metric)
    shown = f"{metric} = {format_value(metric, measured.value)}" if measured is not None else metric
    model = f" ({facts.model_class})" if facts.model_class and facts.model_class != facts.algorithm else ""
    promoted = (f"; promoted as `{facts.promoted_file}` (sha256 `{str(facts.promoted.get('sha256', ''))[:12]}…`)"
                if facts.promoted else "; not promoted: it saved no model file")
    task = f" (task {chosen.task})" if chosen.task else ""
    lines += ["", "## Decision", "",
              f"Use **{facts.algorithm}**{model}: the model of experiment `{chosen.folder}`{task}, the best succeeded "
              f"candidate by {shown}{promoted}.", "",
              "## Comparison", "",
              *_table(facts), "",
              "Values as logged in each experiment's metrics.json; — : not logged by that experiment.", "",
              "## Consequences", ""]
    best_baseline = facts.context.best(facts.context.baselines, metric)
    if best_baseline is not None and measured is not None:
        base = best_baseline.metric(metric).value
        ratio = f" ({measured.value / base:.3g}×)" if base and facts.direction != "lower" else ""
        lines.append(f"- Against the best baseline, `{best_baseline.folder}` ({metric} = "
                     f"{format_value(metric, base)}): {format_value(metric, measured.value)}{ratio}.")
    others = [r for r in facts.context.candidates if r is not chosen and r.metric(metric) is not None]
    runner_up = facts.context.best(others, metric)
    if runner_up is not None:
        lines.append(f"- Runner-up candidate: `{runner_up.folder}` ({algorithm_of(runner_up)}, {metric} = "
                     f"{facts.value(runner_up, metric)}).")
    failing = [m.id for m, v in facts.verdicts if v is None or v.outcome != PASSED]
    if facts.verdicts:
        lines.append(f"- Success metrics: {len(facts.verdicts) - len(failing)} of {len(facts.verdicts)} pass"
                     + (f"; not passing: {', '.join(failing)}." if failing else "."))
    if facts.promoted:
        lines.append(f"- Serving loads it with `load_model(\"{increment.id}\")`, which checks its sha256; "
                     f"`{facts.promoted_file.replace('.pkl', '.metadata.json')}` records its source experiment, "
                     "metrics and package versions.")
    lines.append(f"- When another candidate overtakes it on {metric}, the next `--sw-sync-docs` run rewrites this "
                 f"record and the `{increment.name}` section of {MODELS_DOC}.")
    return "\n".join(lines) + "\n"


def _command_path(increment) -> str:
    parent = increment.path.parent
    prefix = ".specweave/increments" if parent.parent.name == ".specweave" else parent.name
    return f"{prefix}/{increment.name}"


def render_section(facts: _Facts, number: int, adr: Path, today: str) -> str:
    increment, chosen = facts.increment, facts.chosen
    rows = [("algorithm", facts.algorithm + (f" (`{facts.model_class}`)" if facts.model_class and facts.model_class != facts.algorithm else "")),
            ("experiment", f"`{chosen.folder}`" + (f" (task {chosen.task})" if chosen.task else "")),
            ("promoted version", f"`{facts.promoted_file}` (v{facts.promoted.get('version')}, sha256 "
                                 f"`{str(facts.promoted.get('sha256', ''))[:12]}…`)" if facts.promoted else "none")]
    shown = []
    for name in [facts.metric, *[v.metric for _, v in facts.verdicts if v is not None and v.metric]]:
        if name and name not in shown and chosen.metric(name) is not None:
            shown.append(name)
    for name in shown:
        label = f"{name} (primary)" if name == facts.metric else name
        rows.append((label, facts.value(chosen, name)))
    rows += [("decision record", f"[ADR-{number:04d}]({facts.link(adr, facts.docs)})"),
             ("increment", f"[`{increment.name}`]({facts.link(increment.path, facts.docs)})"),
             ("updated", today)]
    lines = [_open(increment.name), f"## {increment.name}: {increment.title}", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in rows]
    lines.append(_close(increment.name))
    return "\n".join(lines)


def _open(name: str) -> str:
    return f"<!-- pytest-specweave:{name} -->"


def _close(name: str) -> str:
    return f"<!-- /pytest-specweave:{name} -->"


HEADER = ("# ML models\n\nThe model each increment chose. The sections between `pytest-specweave` markers are written by "
          "`pytest --sw-sync-docs`; the rest of this file is yours.\n")


def _with_section(path: Path, name: str, section: str) -> bytes:
    """The file with the increment's section replaced in place (or appended); other bytes unchanged."""
    if not path.exists():
        return (HEADER + "\n" + section + "\n").encode("utf-8")
    data = path.read_bytes()
    text = data.decode("utf-8")
    newline = "\r\n" if "\r\n" in text else "\n"
    section = section.replace("\n", newline)
    start, end = text.find(_open(name)), text.find(_close(name))
    if start >= 0 and end > start:
        end += len(_close(name))
        return (text[:start] + section + text[end:]).encode("utf-8")
    separator = "" if not text or text.endswith(newline * 2) else newline if text.endswith(newline) else newline * 2
    return (text + separator + section + newline).encode("utf-8")


def finish_sync_docs(config, rows, judged=None) -> list[str]:
    """After an `--sw-sync-docs` run, on the controller: the docs of each increment the run touched.

    judged: callable(folder) -> the increment's IncrementJudgement, when the session judges each once.
    """
    from ..model.increment import Increment

    lines = []
    for folder in sorted({row.increment for row in rows}):
        try:
            increment = Increment.load(folder)
            judgement = judged(folder) if judged is not None and increment.tracks_experiments else None
            written, why_not = sync_docs(increment, config.rootpath, judgement=judgement)
        except Exception as error:  # noqa: BLE001 - reported; the other increments go on
            lines.append(f"{folder.name}: docs could not be synced: {type(error).__name__}: {error}")
            continue
        if why_not:
            lines.append(f"{folder.name}: docs not synced: {why_not}")
        for path in written:
            lines.append(f"wrote {_shown(path, config.invocation_params.dir)}")
    return lines


def _shown(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)
