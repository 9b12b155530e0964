"""`--sw-sync-docs` writes the model's runbook: `docs/runbooks/<model>.md` ("documents hyperparameters in runbooks").

`<model>` is the increment's name without its number (`fraud-detection.md` for
`0051-fraud-detection`), so the increments that work on one model share its runbook; each writes
its own section between `<!-- pytest-specweave:<increment> -->` markers, rewritten in place at
every sync. What a person wrote outside the markers is kept byte for byte.

The section says, from the store: the chosen hyperparameters (the judged experiment's params, and
the best trial of a search on record), how to retrain (the exact commands), the promoted version
and its sha256, latency and throughput as measured, the data versions, and the monitoring
thresholds and profile.
"""

from __future__ import annotations

import re
from pathlib import Path

RUNBOOKS = "runbooks"
_NUMBER = re.compile(r"^\d{4}[A-Z]?-")
_SPEED = re.compile(r"(latency|throughput|rps|qps)", re.IGNORECASE)

HEADER = ("# Runbook: {model}\n\nHow to retrain, ship and watch the {model} model. The sections between "
          "`pytest-specweave` markers are written by `pytest --sw-sync-docs` from the experiment store; "
          "the rest of this file is yours (on-call notes, contacts, dashboards).\n")


def runbook_path(docs: Path, increment_name: str) -> Path:
    """docs/runbooks/<model>.md, beside docs/architecture/ (`docs` is the architecture folder)."""
    return docs.parent / RUNBOOKS / f"{_NUMBER.sub('', increment_name) or increment_name}.md"


def _params(record) -> list[tuple[str, object]]:
    return sorted((str(k), v) for k, v in (record.params or {}).items())


def _speed(context) -> list[tuple[str, str, str]]:
    """(metric, value, experiment) of the latest latency and throughput measurements on record."""
    from ..reports.summary import _with_unit

    found = {}
    for record in sorted(context.succeeded, key=lambda r: (r.started or "", r.number)):
        for key, value in record.metrics.items():
            if _SPEED.search(key) and not key.lower().startswith(("val_", "train_")):
                found[key] = (key, _with_unit(key, value), record.folder)
    return sorted(found.values())


def render_runbook_section(facts, command_path: str, today: str) -> str:
    from .sync_docs import _close, _open

    increment, chosen, context = facts.increment, facts.chosen, facts.context
    lines = [_open(increment.name), f"## {increment.name}: {increment.title}", "",
             f"_Synced {today} from `{command_path}/experiments/`._", ""]
    lines += ["### Chosen model", ""]
    lines.append(f"- Algorithm: {facts.algorithm}, trained by experiment `{chosen.folder}`"
                 + (f" (task {chosen.task})" if chosen.task else ""))
    if facts.promoted:
        lines.append(f"- Promoted: `{command_path}/models/{facts.promoted['file']}` (v{facts.promoted.get('version')}, "
                     f"sha256 `{facts.promoted.get('sha256')}`)")
        card = f"model-v{facts.promoted.get('version')}.card.md"
        if (increment.path / "models" / card).is_file():
            lines.append(f"- Model card: `{command_path}/models/{card}`")
    else:
        lines.append("- Promoted: no version yet (a pytest run promotes the judged model)")
    lines += ["", "### Hyperparameters", ""]
    params = _params(chosen)
    if params:
        lines += ["| parameter | value |", "|---|---|"] + [f"| `{k}` | `{v}` |" for k, v in params]
    else:
        lines.append(f"The experiment `{chosen.folder}` logged no parameters (`exp.log_params`).")
    from ..reports.charts import searches

    for record, found in searches(context)[:1]:
        trials = found.get("trials") or []
        lines += ["", f"Chosen by a {found.get('library')} search of {len(trials)} trials in `{record.folder}` "
                      f"(best {found.get('metric')} on validation; all trials in its search-trials.json)."]
    lines += ["", "### Retrain", "", "```bash",
              f"pytest {command_path}                       # every task, then the judged model is promoted"]
    if chosen.task:
        lines.append(f"pytest {command_path}/tasks.md::{chosen.task}   # the task that trains this model (its inputs"
                     " from the earlier tasks' experiments)")
    lines += [f"pytest {command_path} --sw-done               # the release gate: every target, validated", "```", ""]
    speed = _speed(context)
    lines += ["### Serving", ""]
    if speed:
        lines += ["| measurement | value | experiment |", "|---|---|---|"] + [f"| {k} | {v} | `{e}` |" for k, v, e in speed]
    else:
        lines.append("No latency or throughput on record (`measure_latency`, `measure_throughput`).")
    inputs = [e for e in chosen.meta.get("inputs") or [] if isinstance(e, dict)]
    if inputs:
        lines += ["", "### Data", "", "| role | file | sha256 | DVC |", "|---|---|---|---|"]
        for e in inputs:
            dvc = e.get("dvc") if isinstance(e.get("dvc"), dict) else None
            lines.append(f"| {e.get('role', '')} | {e.get('path') or e.get('kind', '')} | `{str(e.get('sha256', ''))[:12]}…` | "
                         + (f"md5 `{str(dvc.get('md5'))[:12]}…` ({dvc.get('file')})" if dvc else "") + " |")
    lines += ["", "### Monitoring", ""]
    from ..monitoring.limits import spec_limits

    limits = spec_limits(increment.path)
    profile = (facts.promoted or {}).get("monitoring_profile")
    if profile:
        lines.append(f"- Reference profile: `{command_path}/models/{profile}`")
        lines.append(f"- Drift gate: {limits.describe() if limits else 'PSI < 0.2 (the default)'} per feature — "
                     f"`pytest-specweave drift {command_path} <new data file>` exits 1 on drift")
    else:
        lines.append("- No reference profile ships with the promoted model (`log_reference_profile` in the task that "
                     "evaluates it; docs/monitoring.md)"
                     + (f"; the spec's drift limits are {limits.describe()}" if limits else ""))
    lines.append(_close(increment.name))
    return "\n".join(lines)


def write_runbook(facts, command_path: str, today: str) -> Path:
    from ._files import replace_file
    from .sync_docs import _encoded, _with_section

    path = runbook_path(facts.docs, facts.increment.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    section = render_runbook_section(facts, command_path, today)
    if path.exists():
        data = _with_section(path, facts.increment.name, section)
    else:
        model = path.stem
        data = _encoded(path, HEADER.format(model=model) + "\n" + section + "\n")
    replace_file(path, data)
    return path
