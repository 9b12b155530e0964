"""A model card with every promoted model: `models/model-vN.card.md`, written from what the store holds.

Sections follow Model Cards for Model Reporting (Mitchell et al., 2019) — model details, intended
use, data, metrics, quantitative analyses, limitations — in the layout of Hugging Face's model
cards: YAML metadata on top (`library_name`, `tags`, `model-index` with the test results) so that
the card reads where people already read cards. Nothing in it is written by hand: the intended use
and the data are quoted from spec.md, everything else comes from experiments/ and models/.

It is rewritten with the summary while the promoted version is the judged experiment's; earlier
versions keep the card they were promoted with. Rendering is deterministic, so `--sw-validate`
checks a card is current by rendering it again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

CARD_SUFFIX = ".card.md"
HF_TASKS = {"classification": "tabular-classification", "regression": "tabular-regression",
            "forecasting": "time-series-forecasting"}
_SECTION = re.compile(r"^(#{1,3})\s+(.*?)\s*#*\s*$")
_MAX_QUOTED = 40  # lines quoted from a spec section


def card_path(increment_dir, version: int) -> Path:
    return Path(increment_dir) / "models" / f"model-v{version}{CARD_SUFFIX}"


def _spec_sections(spec_path: Path | None) -> tuple[str, dict[str, list[str]]]:
    """(the text between the title and the first `##`, {lowercased `##` heading: its lines})."""
    if spec_path is None:
        return "", {}
    try:
        text = spec_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "", {}
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), 0)
        lines = lines[end + 1:]
    intro, sections, current, fence = [], {}, None, False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        heading = None if fence else _SECTION.match(line)
        if heading and len(heading.group(1)) == 1:
            continue
        if heading and len(heading.group(1)) == 2:
            current = heading.group(2).strip().lower()
            sections[current] = []
            continue
        if current is None:
            intro.append(line)
        else:
            sections[current].append(line)
    return "\n".join(intro).strip(), {k: _trim(v) for k, v in sections.items()}


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if len(lines) > _MAX_QUOTED:
        lines = lines[:_MAX_QUOTED] + ["", f"_(… {len(lines) - _MAX_QUOTED} more lines in spec.md)_"]
    return lines


def _section(sections: dict, *names: str) -> list[str] | None:
    for name in names:
        for heading, lines in sections.items():
            if heading.startswith(name):
                return lines
    return None


def _yaml_string(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)  # a JSON string is a valid YAML scalar


def _metadata(data, meta: dict, rows) -> list[str]:
    problem = data.problem_type
    lines = ["---"]
    from ..tracking.models import FRAMEWORKS

    framework = meta.get("framework")
    if framework in FRAMEWORKS:
        lines.append(f"library_name: {_yaml_string(framework)}")
    tags = ["pytest-specweave", "specweave"] + ([problem] if problem else [])
    lines.append("tags:")
    lines += [f"- {_yaml_string(tag)}" for tag in tags]
    metrics, seen = [], set()
    for row in rows:
        verdict = row.verdict
        if verdict is None or verdict.value is None or verdict.metric is None or verdict.ratio is not None:
            continue
        if (verdict.metric, verdict.value) in seen:  # the same measurement judged by several items
            continue
        seen.add((verdict.metric, verdict.value))
        name = f"{verdict.metric} ({row.id}: {verdict.outcome})"
        if verdict.interval:
            name += f", {round((verdict.level or 0.95) * 100, 4):g}% interval [{verdict.interval[0]:.6g}, {verdict.interval[1]:.6g}]"
        metrics.append((verdict.metric, verdict.value, name))
    if metrics:
        lines += ["model-index:", f"- name: {_yaml_string(data.increment.name)}", "  results:",
                  f"  - task:", f"      type: {_yaml_string(HF_TASKS.get(problem or '', 'other'))}",
                  f"      name: {_yaml_string(problem or 'unknown')}",
                  "    dataset:", f"      name: {_yaml_string(data.increment.name + ' test split')}",
                  "      type: custom", "    metrics:"]
        for metric, value, name in metrics:
            lines += [f"    - type: {_yaml_string(metric)}", f"      value: {value:.6g}",
                      f"      name: {_yaml_string(name)}", "      verified: false"]
    lines.append("---")
    return lines


def render_model_card(data, version: int, meta: dict) -> str:
    """The card of promoted `version` (its metadata `meta`), from a SummaryData (reports.summary)."""
    from ..evaluation.judge import FAILED, INCONCLUSIVE
    from .summary import MARKS, _escape, _measured

    increment = data.increment
    best = data.judged
    rows = data.rows()
    spec = increment.spec
    intro, sections = _spec_sections(spec.path if spec is not None else None)
    title = (spec.title if spec is not None and spec.title else increment.name)
    lines = _metadata(data, meta, rows)
    lines += ["", f"# Model card: {title} — model v{version}", ""]
    lines += ["_Written by pytest-specweave from `experiments/` and `models/` (the intended use and data are "
              "quoted from spec.md); rebuilt with the summary. Do not edit: edit spec.md._", ""]

    lines += ["## Model details", ""]
    sha = str(meta.get("sha256") or "")
    lines += [f"- File: `{meta.get('file')}` (sha256 `{sha}`, {meta.get('bytes', 0):,} bytes)",
              f"- Algorithm: {meta.get('algorithm') or 'unknown'}" + (f" (`{meta.get('class')}`)" if meta.get("class") else ""),
              f"- Framework: {meta.get('framework') or 'unknown'}"
              + (f" {meta.get('framework_version')}" if meta.get("framework_version") else ""),
              f"- Trained by: experiment `{meta.get('source_experiment')}` (run {meta.get('source_run')}, task "
              f"{meta.get('task') or '—'}), promoted {str(meta.get('created') or '')[:19].replace('T', ' ')} UTC",
              f"- Chosen by: {data.context.selection()[1] or 'the best candidate by ' + str(meta.get('primary_metric'))}",
              f"- Increment: `{increment.name}` ([spec.md](../spec.md), [summary](../COMPLETION-SUMMARY.md))", ""]
    notes = [str(note) for note in meta.get("notes") or []]
    if notes:  # the promotion-notes hooks' texts, kept in the version's metadata
        lines += ["## Release notes", ""]
        for note in notes:
            lines += [note, ""]

    lines += ["## Intended use", ""]
    problem = _section(sections, "ml problem definition", "problem")
    if intro:
        lines += [intro, ""]
    if problem:
        lines += problem + [""]
    if not intro and not problem:
        lines += ["spec.md states no problem: write it under the title, or in `## ML Problem Definition`.", ""]

    lines += ["## Data", ""]
    quoted = _section(sections, "data requirements", "data")
    if quoted:
        lines += ["From spec.md:", ""] + quoted + [""]
    inputs = [e for e in (best.meta.get("inputs") or []) if isinstance(e, dict)] if best is not None else []
    if inputs:
        lines += ["Inputs the judged experiment read, as recorded:", "",
                  "| role | file | sha256 | version |", "|---|---|---|---|"]
        for entry in inputs:
            version_text = ""
            dvc = entry.get("dvc")
            if isinstance(dvc, dict):
                version_text = f"DVC md5 {str(dvc.get('md5', ''))[:12]}" + (f" (stage {dvc['stage']})" if dvc.get("stage") else "")
            lines.append(f"| {entry.get('role', '')} | {_escape(str(entry.get('path') or entry.get('name') or '(array)'))} | "
                         f"{str(entry.get('sha256', ''))[:12]}… | {version_text} |")
        lines.append("")
    if not quoted and not inputs:
        lines += ["Not on record: spec.md has no `## Data` or `## Data Requirements` section, and the judged "
                  "experiment recorded no input (`exp.log_input(path, role=...)`).", ""]

    lines += ["## Metrics", ""]
    judged_rows = [r for r in rows if r.verdict is not None]
    if judged_rows:
        lines += ["| id | requirement | measured | verdict |", "|---|---|---|---|"]
        for row in judged_rows:
            verdict = row.verdict
            measured = _measured(verdict, row.unit) if verdict.value is not None else ""
            lines.append(f"| {row.id} | {_escape(row.text)} | {measured} | {MARKS.get(verdict.outcome, verdict.outcome)} |")
        lines.append("")
    else:
        lines += ["No success metric or criterion was judged.", ""]

    lines += _baselines(data)
    lines += _analyses(data)
    lines += _environment(meta)

    lines += ["## Limitations", ""]
    limits = []
    for row in judged_rows:
        if row.verdict.outcome in (INCONCLUSIVE, FAILED):
            limits.append(f"- {row.id} ({_escape(row.text)}) is **{row.verdict.outcome}**: {_escape(row.verdict.message)}")
    selection = data.context.selection()
    if selection[2] > 1 and selection[1]:
        limits.append(f"- The model was {selection[1]}: its intervals were widened for the comparison (Šidák).")
    use = data.test_data
    if use is not None and use.count > 1:
        limits.append(f"- The test data was scored {use.count} times by {use.experiments} experiments "
                      "(experiments/evaluations.jsonl).")
    lines += (limits or ["- None on record: every judged target passed on its interval."]) + [""]

    lines += _monitoring(increment.path, meta)
    return "\n".join(lines).rstrip() + "\n"


def _baselines(data) -> list[str]:
    from ..evaluation.judge import format_value

    best, context = data.judged, data.context
    metric = context.primary_metric
    baselines = [b for b in context.baselines if metric and b.metric(metric) is not None]
    if best is None or not baselines or best.metric(metric) is None:
        return []
    ours = best.metric(metric).value
    lines = ["## Against the baselines", "", f"| baseline | {metric} | this model | ratio |", "|---|---|---|---|"]
    for baseline in baselines:
        theirs = baseline.metric(metric).value
        ratio = f"{ours / theirs:.3g}×" if theirs not in (0, 0.0) else "—"
        lines.append(f"| {baseline.name} | {format_value(metric, theirs)} | {format_value(metric, ours)} | {ratio} |")
    lines += ["", "Point values on the test data; the paired verdicts with intervals are under Metrics.", ""]
    return lines


def _analyses(data) -> list[str]:
    best = data.judged
    if best is None:
        return []
    lines = []
    for record in data.context.explaining(best):
        if "error_analysis.md" in record.artifacts:
            lines += ["## Error analysis", "", f"Slices and worst errors: [{record.folder}/error_analysis.md]"
                      f"(../experiments/{record.folder}/error_analysis.md).", ""]
            break
    for record in data.context.explaining(best):
        if "feature_importance.csv" in record.artifacts:
            top = _top_features(record)
            lines += ["## Explanations", ""]
            if top:
                lines += ["Most important features: " + ", ".join(f"`{f}`" for f in top) + ".", ""]
            lines += [f"Per-example reasons: [{record.folder}/explanations.md](../experiments/{record.folder}/explanations.md)"
                      if "explanations.md" in record.artifacts else f"Importances: {record.folder}/feature_importance.csv", ""]
            from ..evaluation.judge import _lime_disagreement

            note = _lime_disagreement(record).lstrip("; ")
            if note:
                lines += [note[0].upper() + note[1:] + ".", ""]
            break
    return lines


def _top_features(record, n: int = 5) -> list[str]:
    import csv
    import io

    try:
        text = record.read_artifact("feature_importance.csv").decode("utf-8")
    except Exception:  # noqa: BLE001 - a changed file is left out
        return []
    return [row.get("feature", "") for row in list(csv.DictReader(io.StringIO(text)))[:n]]


def _environment(meta: dict) -> list[str]:
    packages = meta.get("packages") if isinstance(meta.get("packages"), dict) else {}
    lines = ["## Training environment", "", f"- Python {meta.get('python') or 'unknown'}"]
    if packages:
        lines.append("- Packages: " + ", ".join(f"{k} {v}" for k, v in sorted(packages.items())))
    if meta.get("git_commit"):
        lines.append(f"- Code: git commit `{meta['git_commit']}`" + (" (with uncommitted changes)" if meta.get("git_dirty") else ""))
    return lines + [""]


def _monitoring(increment_dir: Path, meta: dict) -> list[str]:
    profile = meta.get("monitoring_profile")
    lines = ["## Monitoring", ""]
    if not profile:
        return lines + ["No reference profile ships with this version (`log_reference_profile` in the evaluating "
                        "task adds one; see docs/monitoring.md).", ""]
    from ..monitoring.limits import spec_limits

    limits = spec_limits(increment_dir)
    gate = limits.describe() if limits else "PSI < 0.2 (the default)"
    return lines + [f"Reference profile: [{profile}]({profile}); new data is gated at {gate} per feature: "
                    f"`pytest-specweave drift {Path(increment_dir).name[:4]} <file>`.", ""]


_SIGNATURE = re.compile(r"\n<!-- written by pytest-specweave; sha256 of the text above: ([0-9a-f]{64}) -->\n\Z")


def signed(text: str) -> str:
    """The card with a last line holding the sha256 of the text above it: a hand edit shows."""
    import hashlib

    return text + f"\n<!-- written by pytest-specweave; sha256 of the text above: {hashlib.sha256(text.encode('utf-8')).hexdigest()} -->\n"


def edited_by_hand(path: Path) -> bool:
    """True when the card's text no longer matches the signature it was written with."""
    import hashlib

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return True
    found = _SIGNATURE.search(text)
    if found is None:
        return True
    return hashlib.sha256(text[: found.start()].encode("utf-8")).hexdigest() != found.group(1)


def judged_version(data):
    """(version, metadata) of the latest promoted version holding the judged experiment's model (a rerun that
    trained the same bytes keeps the version it had), or None."""
    from ..tracking.models import model_of, model_versions, read_metadata
    from .summary import _promoted

    judged = data.judged
    if judged is None:
        return None
    ours = _promoted(data.increment.path, judged)[0]
    if ours is not None:
        return ours
    digest = (model_of(judged) or {}).get("sha256")
    for version in reversed(model_versions(data.increment.path)) if digest else []:
        try:
            meta = read_metadata(data.increment.path, version)
        except Exception:  # noqa: BLE001 - an unreadable version holds nothing
            continue
        if meta.get("sha256") == digest:
            return version, meta
    return None


def write_model_card(data) -> Path | None:
    """Write the card of the latest version promoted from the judged experiment; None when there is none."""
    from ..tracking._files import atomic_write

    ours = judged_version(data)
    if ours is None:
        return None
    version, meta = ours
    path = card_path(data.increment.path, version)
    text = signed(render_model_card(data, version, meta)).encode("utf-8")
    try:
        if path.read_bytes() == text:
            return path
    except OSError:
        pass
    atomic_write(path, text)
    return path
