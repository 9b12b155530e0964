"""`--sw-done`: is the increment complete, and if so, metadata.json says so.

Complete means, from the outcomes of this run (the controller's reports, so pytest-xdist changes
nothing): every validate rule passed, every task passed (a canceled task is not owed), every success
metric and criterion passed, nothing of the increment failed, and no promotion veto hook stopped its
model (pytestlayer/promotion_hooks.py). Every one of them must have run:
an item deselected with -k or -m leaves the increment incomplete. An increment that tracks nothing
(a non-ML SpecWeave increment) is complete when its tasks are done; its rules, metrics and criteria
are skipped as "nothing tracked".

Then metadata.json gets `"status": "completed"` and a `"completed"` time (UTC), written atomically,
every other key kept in its place; a missing metadata.json is created. Nothing else is written, and
an incomplete increment's metadata.json is left as it is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ._files import replace_file
from .validation import RULES

NOTHING_TRACKED = "nothing tracked"


@dataclass
class Outcome:
    """How an item fared in this run (what session.ItemRow carries)."""

    outcome: str  # passed | failed | skipped | inconclusive
    message: str = ""
    verdict: str | None = None  # a metric's or criterion's verdict (inconclusive fails under --sw-done), or "stale"


def completion_problems(increment, outcomes: dict[str, Outcome]) -> list[str]:
    """Why the increment is not complete, from item id -> outcome; [] when it is."""
    tracked = increment.tracks_experiments
    problems: list[str] = []

    def judged(item: str) -> None:
        result = outcomes.get(item)
        if result is None:
            problems.append(f"{item} did not run")
        elif result.outcome == "passed" or (
                result.outcome == "skipped" and not tracked and result.message.startswith(NOTHING_TRACKED)):
            return
        elif result.verdict == "stale":  # judged on an earlier run's experiment: a task failed in this one
            problems.append(f"{item} stale")
        elif result.outcome == "failed" and result.verdict == "inconclusive":
            problems.append(f"{item} inconclusive")
        elif result.outcome == "failed" and result.verdict == "passed":
            problems.append(f"{item} has no interval")
        elif result.outcome == "failed":
            problems.append(f"{item} failed")
        else:
            problems.append(f"{item} {result.outcome}" + (f" ({result.message})" if result.message else ""))

    for task in increment.tasks.tasks if increment.tasks is not None else []:
        result = outcomes.get(task.id)
        if task.status == "canceled" and (result is None or result.outcome == "skipped"):
            continue  # canceled work is not owed
        if task.link is None and task.status != "done":
            problems.append(f"{task.id} not done ({task.status.replace('_', ' ')}, no code linked)")
            continue
        judged(task.id)
    for metric in increment.spec.metrics if increment.spec is not None else []:
        judged(metric.id)
    for criterion in increment.criteria.criteria if increment.criteria is not None else []:
        judged(criterion.id)
    for rule in RULES:
        judged(rule)
    named = set(RULES) | {e.id for part, elements in ((increment.tasks, "tasks"), (increment.spec, "metrics"),
                                                        (increment.criteria, "criteria"))
                          if part is not None for e in getattr(part, elements)}
    problems += [f"{item} failed" for item, result in outcomes.items()  # e.g. problem-L7: unreadable markdown
                 if result.outcome == "failed" and item not in named]
    return list(dict.fromkeys(problems))


def mark_completed(increment_dir, now: datetime | None = None) -> bool:
    """metadata.json status "completed" (and the "completed" time); False when it already said so.

    The file is edited as text: the values of `status` and `completed` are replaced (or the keys added
    after the last one), and every other byte stays: key order, layout, line ends, a BOM. Raises
    ValueError when metadata.json exists but is not a JSON object (it is then left alone), OSError
    when it cannot be written.
    """
    path = Path(increment_dir) / "metadata.json"
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not path.exists():
        data = {"id": Path(increment_dir).name, "status": "completed", "completed": stamp}
        replace_file(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        return True
    raw = path.read_bytes()
    bom = "\ufeff" if raw.startswith(b"\xef\xbb\xbf") else ""
    text = raw.decode("utf-8")[len(bom):]
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("metadata.json does not hold a JSON object")
    if data.get("status") == "completed" and data.get("completed"):
        return False
    replace_file(path, (bom + _with_values(text, {"status": "completed", "completed": stamp})).encode("utf-8"))
    return True


def _members(text: str) -> tuple[list[tuple[str, int, int, int]], int]:
    """([(key, key start, value start, value end)] of the top-level object, index of its closing brace)."""
    decoder = json.JSONDecoder()
    space = re.compile(r"[ \t\r\n]*")
    index = space.match(text, text.index("{") + 1).end()
    members = []
    while text[index] != "}":
        key, after_key = decoder.raw_decode(text, index)
        value_start = space.match(text, space.match(text, after_key).end() + 1).end()  # past the colon
        _, value_end = decoder.raw_decode(text, value_start)
        members.append((key, index, value_start, value_end))
        index = space.match(text, value_end).end()
        if text[index] == ",":
            index = space.match(text, index + 1).end()
    return members, index


def _with_values(text: str, values: dict[str, str]) -> str:
    """The JSON text with these top-level string values set: replaced in place, else added at the end."""
    members, closing = _members(text)
    edits: list[tuple[int, int, str]] = []
    missing = dict(values)
    for key, _, start, end in members:
        if key in missing:
            edits.append((start, end, json.dumps(missing.pop(key), ensure_ascii=False)))
    if missing:
        added = [f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}" for k, v in missing.items()]
        if members:
            _, key_start, _, last_end = members[-1]
            line_start = text.rfind("\n", 0, key_start) + 1
            indent = text[line_start:key_start]
            if indent.strip() == "" and line_start > 0:
                newline = "\r\n" if text[line_start - 2: line_start] == "\r\n" else "\n"
                joiner = "," + newline + indent
            else:
                joiner = ", "
            edits.append((last_end, last_end, joiner + joiner.join(added)))
        else:
            edits.append((closing, closing, ", ".join(added)))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def finish_done(config, rows) -> list[str]:
    """After a `--sw-done` run, on the controller: complete each increment whose every gate passed.

    `rows`: session.ItemRow of this run. Returns one line per increment for the terminal.
    """
    from ..pytestlayer.criteria_files import load_increment
    from ..pytestlayer.promotion_hooks import done_problems

    by_increment: dict[Path, dict[str, Outcome]] = {}
    for row in rows:
        verdict = "stale" if row.properties.get("stale") else row.properties.get("verdict")
        by_increment.setdefault(row.increment, {})[row.id] = Outcome(row.result.outcome, row.result.message or "",
                                                                    verdict)
    lines = []
    for folder, outcomes in sorted(by_increment.items()):
        try:
            increment = load_increment(config, folder)
        except Exception as error:  # noqa: BLE001 - reported, the other increments go on
            lines.append(f"{folder.name}: not completed: {error}")
            continue
        problems = completion_problems(increment, outcomes) + done_problems(config, folder)
        if problems:
            shown = "; ".join(problems[:8]) + (f"; and {len(problems) - 8} more" if len(problems) > 8 else "")
            lines.append(f"{folder.name}: not complete, metadata.json unchanged: {shown}")
            continue
        try:
            changed = mark_completed(folder)
        except (OSError, ValueError) as error:
            lines.append(f"{folder.name}: complete, but metadata.json could not be updated: {error}")
            continue
        lines.append(f"{folder.name}: COMPLETE; metadata.json status completed" + ("" if changed else " (already)"))
    return lines
