"""Marking passing tasks done in tasks.md (`--sw-update-tasks`), changing nothing else.

For each task marked: the checkbox on the task's own checklist line (`- [ ] T-001: …` -> `- [x] T-001: …`)
and on its status line (`**Status**: [ ] pending`, or `- [ ] Pending` under a heading task), and the
status word of that status line (`pending`, `in_progress`, `Not Started`, `⏳` … -> `completed`, in the
word's case: `Completed`, `COMPLETED`). Only the lines the tasks.md parser attributes to that task are
edited (Task.occurrences and Task.status_lines); every other byte stays as it was: line ends (LF, CRLF,
CR), a byte-order mark, a last line without a line end. An edit is kept only when the file then reads
the task as done and every other task as before. The file is replaced atomically (a temporary file,
then a rename; its mode kept).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..model import source
from ..model.tasks import (
    _FIELD_SEPARATOR,
    _STATUS_EMOJI,
    _STATUS_WORD_PATTERN,
    _STATUS_WORDS,
    parse_task_lines,
    status_from_words,
)
from ._files import replace_file

_BOM = "\ufeff"
_LINE_ENDS = re.compile(r"(\r\n|\r|\n)")
_LIST_CHECKBOX = re.compile(r"^([ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+)\[([ ~/])\](?=[ \t]|$)")
_STATUS_KEY = re.compile(r"^(?:\*\*|__)?[ \t]*status[ \t]*(?:(?:\*\*|__)[ \t]*:|:[ \t]*(?:\*\*|__)?)", re.IGNORECASE)
_VALUE_CHECKBOX = re.compile(r"^([ \t]*(?:\*\*|__)?[ \t]*)\[([ ~/])\]")
_NOT_DONE = ("pending", "in_progress")
_NOT_DONE_EMOJI = "".join(chars for chars, status in _STATUS_EMOJI if status in _NOT_DONE)


@dataclass
class MarkResult:
    path: Path
    marked: list[str] = field(default_factory=list)  # ids now done
    already: list[str] = field(default_factory=list)  # ids that were done already
    problems: list[str] = field(default_factory=list)  # "T-003: why it could not be marked"

    @property
    def changed(self) -> bool:
        return bool(self.marked)


def mark_tasks_done(path, task_ids) -> MarkResult:
    """Mark these tasks of tasks.md done, in place; returns which were marked and which could not be."""
    path = Path(path)
    result = MarkResult(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:  # read with its bad bytes replaced (or UTF-16): rewriting it would change them
        result.problems.append(f"{path.name} is not UTF-8 text; save it as UTF-8 to have its tasks marked")
        return result
    bom = text.startswith(_BOM)
    parts = _LINE_ENDS.split(text[1:] if bom else text)
    lines, ends = parts[0::2], parts[1::2]  # lines[i] is the file's line i + 1
    current = parse_task_lines(_parsed_lines(lines), path)
    for task_id in dict.fromkeys(task_ids):
        task = current.get(task_id)
        if task is None:
            result.problems.append(f"{task_id}: not a task of {path.name}")
            continue
        if task.status == "done":
            result.already.append(task_id)
            continue
        if task.status == "canceled":
            result.problems.append(f"{task_id}: canceled; not marked done")
            continue
        edited = list(lines)
        for number in task.occurrences:
            edited[number - 1] = tick_checklist_line(edited[number - 1])
        for number in task.status_lines:
            edited[number - 1] = mark_status_line(edited[number - 1])
        after = parse_task_lines(_parsed_lines(edited), path)
        if not _only_this_task_changed(current, after, task_id):
            where = ", ".join(f"{path.name}:{n}" for n in sorted({*task.occurrences, *task.status_lines}))
            result.problems.append(f"{task_id}: no checkbox or status word to mark on its lines ({where})")
            continue
        lines, current = edited, after
        result.marked.append(task_id)
    if result.marked:
        joined = "".join(line + end for line, end in zip(lines, ends)) + lines[-1]  # re.split: one line more than ends
        replace_file(path, ((_BOM if bom else "") + joined).encode("utf-8"))
    return result


def _parsed_lines(lines: list[str]) -> list[str]:
    """The lines as source.read_markdown gives them (no empty line after a final line end)."""
    return lines[:-1] if lines and lines[-1] == "" else lines


def _only_this_task_changed(before, after, task_id: str) -> bool:
    old = {t.id: (t.status, t.line, t.title, t.link) for t in before.tasks}
    new = {t.id: (t.status, t.line, t.title, t.link) for t in after.tasks}
    if old.keys() != new.keys() or new[task_id][0] != "done":
        return False
    return all(old[i] == new[i] for i in old if i != task_id)


def tick_checklist_line(line: str) -> str:
    """`- [ ] T-001: …` -> `- [x] T-001: …` (also `[~]`, `[/]`); any other line unchanged."""
    return _LIST_CHECKBOX.sub(lambda m: m.group(1) + "[x]", line, count=1)


def mark_status_line(line: str) -> str:
    """`**Status**: [ ] pending` -> `**Status**: [x] completed`; `- [ ] Pending` -> `- [x] Completed`."""
    item = source.list_item(line)
    content_start = _content_start(line) if item is not None else len(line) - len(line.lstrip())
    content = line[content_start:]
    box = source.checkbox(content)
    if box is not None and status_from_words(box[1]) is not None and _STATUS_KEY.match(box[1]) is None:
        # `- [ ] Pending` under a heading task: the whole rest of the item is the status
        return line[:content_start] + _mark_value(content)
    offset = 0
    for part in _FIELD_SEPARATOR.split(content):  # `**Effort**: 4h | **Status**: pending`
        start = content.index(part, offset)
        offset = start + len(part)
        key = _STATUS_KEY.match(part.strip())
        if key is None or source.key_value(part) is None:
            continue
        lead = len(part) - len(part.lstrip())
        value_start = content_start + start + lead + key.end()
        value_end = content_start + start + len(part)
        return line[:value_start] + _mark_value(line[value_start:value_end]) + line[value_end:]
    return line


def _content_start(line: str) -> int:
    match = re.match(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)", line)
    return match.end() if match else 0


def _mark_value(value: str) -> str:
    """The status value marked done: its checkbox ticked, its first status word and emoji made done."""
    value = _VALUE_CHECKBOX.sub(lambda m: m.group(1) + "[x]", value, count=1)
    words = _STATUS_WORD_PATTERN.search(value)
    if words is not None and _STATUS_WORDS[int(words.lastgroup[1:])][1] in _NOT_DONE:
        value = value[: words.start()] + _completed_like(words.group(0)) + value[words.end():]
    if _NOT_DONE_EMOJI:
        value = re.sub(f"[{_NOT_DONE_EMOJI}]\ufe0f?", "✅", value)
    return value


def _completed_like(word: str) -> str:
    letters = [c for c in word if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        return "COMPLETED"
    if word[:1].isupper():
        return "Completed"
    return "completed"



def finish_update_tasks(config, rows) -> list[str]:
    """After an `--sw-update-tasks` run, on the controller: mark done the linked tasks that passed in it.

    `rows`: session.ItemRow of this run. Returns one line per tasks.md for the terminal.
    """
    from ..model.increment import Increment

    passed: dict[Path, list[str]] = {}
    for row in rows:
        if row.kind == "task" and row.result.outcome == "passed":
            passed.setdefault(row.increment, []).append(row.id)
    lines = []
    for folder, ids in sorted(passed.items()):
        try:
            increment = Increment.load(folder)
            task_list = increment.tasks
            if task_list is None:
                continue
            linked = [i for i in ids if (task := task_list.get(i)) is not None and task.link is not None]
            if not linked:
                continue
            result = mark_tasks_done(task_list.path, linked)
        except Exception as error:  # noqa: BLE001 - the file is left as it was; the others go on
            lines.append(f"{folder.name}/tasks.md could not be updated: {type(error).__name__}: {error}")
            continue
        if result.marked:
            lines.append(f"marked done in {folder.name}/tasks.md: {', '.join(result.marked)}")
        if result.problems:
            lines.append(f"could not mark in {folder.name}/tasks.md: {'; '.join(result.problems)}")
    return lines
