"""tasks.md: the tasks of an increment, in the ML checklist form and SpecWeave's heading form.

Checklist form (one line per task; indented lines under it may hold fields):

    - [ ] T-003: Train baseline model — `pipeline.py::train_baselines`

Heading form (fields on the lines below, down to the next task or heading of the same or a higher
level):

    ### T-004: Train candidate models
    **Status**: [ ] pending
    **Depends on**: T-002, T-003
    **Run**: `pipeline.py::train_candidates`

What is a task: a heading (## to ######) or a list item whose text starts with a task id (`T-001`,
`T001`, `T-009b`, `T-024-A`, `T-001-DISCIPLINE`). A list item without a checkbox (`- T-001: Title`,
with a colon, so that prose such as `- T-002 depends on T-001` is none) only adds to a task that a
heading or checkbox defines: alone it is a mention (a summary, another increment's task), as for
SpecWeave, whose parsers read task headings and checkbox items only; it is reported in `skipped`. Table rows,
lines in code fences and HTML comments, and ids elsewhere in a line never define tasks; nor do items
under a `## Follow-ups` / `## Future work` / `## Out of scope` heading, nor a heading naming a task
above plus a note word (`### T-004-NOTES`, `### T-004 Notes`). Ids may be lower case (named in upper
case), bracketed (`- [x] [T-015] Title`), dotted (`T-1.2`), or a range named as written (`T-006..T-010`).

The link: a `path.py::callable` code span on the task's own line, wherever it stands; a bare
`path.py` or `path.ipynb` span only when it ends that line after a separator (``Title — `01-eda.ipynb` ``);
or a `Run:` field. Code spans on other lines, and spans naming other files, are never links.

Status: a checkbox or a `Status:` field says it outright; failing that, a marker on the task's own
line (`✅`, `[COMPLETED]`, an upper-case `DONE`) or the checkboxes under an empty `Status:` field;
failing that, done when every checkbox in the task's body is ticked; failing that, the Status cell
of the task's row in a summary table (a table with an `ID`/`Task` column and a `Status` column);
failing that, the task is pending with `status_explicit` False. Words map as in `status_from_words`:
`Blocked` is pending; `Skipped` and `Deferred` are canceled (the work will not be done in this
increment, so it is neither run nor owed).

An id seen twice becomes one Task whose `occurrences` lists every line; see `_merge`.

A line shaped like a task that is none (`- T0: trusted`, `### T-004-NOTES`, a checkbox item outside
every task, a lower-case `status:` line) is a `Skipped` record in `TaskList.skipped`, with its reason;
the shapes are those of `TASK_ID_LIKE` and docs/increment-format.md, "What is not read is said".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError
from . import source
from .skipped import Skipped, line_skipped

STATUSES = ("done", "pending", "in_progress", "canceled")

# `T-001`, `T001`, `T-1.2`, `T-009b`, `T-024-A`, `T-001-DISCIPLINE`, `t-001`. Without a hyphen the
# number has three digits or more, so that `T0: trusted` or `T2` (a tier, a shirt size) is no id.
TASK_ID = re.compile(r"[Tt](?:-\d+(?:\.\d+)*|\d{3,})[A-Za-z]?(?:-[A-Za-z0-9]+)*(?![A-Za-z0-9_])")
# What starts a line that looks like a task (see `task_shaped`): a T, an optional dash, a digit.
TASK_ID_LIKE = re.compile(r"[Tt]-?\d[\w.]*(?:-[\w.]+)*")
# How a line that is a heading, list item, table row or checkbox starts (after its indent).
_SHAPED = frozenset("#-*+|[0123456789")
# What joins the two ends of a range heading, `T-006..T-010` (`T-014-T-019` is read as one id).
_RANGE_JOIN = re.compile(r"\.{2,3}|…|–|—")

# How sure a status is: a checkbox or Status field beats a marker in the title beats nothing.
_WRITTEN, _MARKED, _DEFAULT = 2, 1, 0

_CHECKBOX_STATUS = {" ": "pending", "x": "done", "X": "done", "~": "in_progress", "/": "in_progress", "-": "canceled"}

_STATUS_WORDS = [
    # Negations first: "not started" must not read as "started", "incomplete" not as "complete".
    (r"not[ \t]+(?:yet[ \t]+)?(?:started|done|complete|completed|implemented|begun)|incomplete|unfinished", "pending"),
    (r"in[ \t_-]?progress|wip|started|ongoing|underway|partial|partially[ \t]+done|in[ \t]+review", "in_progress"),
    (r"cancell?ed|skipped|deferred|dropped|won'?t[ \t]+(?:do|fix)|wontfix|obsolete|superseded|abandoned", "canceled"),
    (r"done|complete|completed|finished|implemented|resolved|closed|merged|shipped", "done"),
    (r"pending|todo|to[ \t]+do|planned|planning|blocked|ready|open|backlog|on[ \t]+hold|paused|waiting", "pending"),
]
_STATUS_EMOJI = [("✅✔☑", "done"), ("🔄⏳🚧", "in_progress"), ("⏭", "canceled"), ("⬜⏸", "pending")]
_STATUS_WORD_PATTERN = re.compile(
    "|".join(f"(?P<s{i}>\\b(?:{words})\\b)" for i, (words, _) in enumerate(_STATUS_WORDS)), re.IGNORECASE
)
_EMOJI_CHARS = "".join(chars for chars, _ in _STATUS_EMOJI)
_LEADING_EMOJI = re.compile(f"^(?:[{_EMOJI_CHARS}❌]\ufe0f?[ \t]*)+")
_UPPER_MARKER = re.compile(
    r"\b(?:DONE|COMPLETED?|FINISHED|IN[ _-]PROGRESS|WIP|CANCELL?ED|SKIPPED|DEFERRED|DROPPED|OBSOLETE"
    r"|PENDING|TODO|NOT[ _]STARTED|BLOCKED|PLANNED)\b"
)
_TRAILING_UPPER = re.compile(
    r"(?<![\w-])(?:DONE|COMPLETED?|PENDING|DEFERRED|SKIPPED|CANCELL?ED|BLOCKED|WIP|IN[ _-]PROGRESS)$"
)  # searched with an end position, where `$` matches
_BRACKETED = re.compile(r"[\[(]([^\[\]()]*)[\])]")

_LINK = re.compile(r"^(?P<file>[^\s:`*?\"<>|]+\.(?:py|ipynb))(?:::(?P<callable>[A-Za-z_][\w.]*))?$")
# Links written so that they would never run: a file that is not Python (`data.csv::f`), a link
# outside backticks, a span left open. Tokens start after a space or bracket, so each is tried once.
_OTHER_FILE_LINK = re.compile(r"^(?P<file>[^\s:`*?\"<>|]+\.[A-Za-z0-9]+)::[A-Za-z_][\w.]*$")
_BARE_LINK = re.compile(r"(?<![^\s(\[])(?P<link>[^\s`:*?\"<>|()\[\]]+\.(?:py|ipynb)::[A-Za-z_][\w.]*)")
_OPEN_LINK = re.compile(r"[^\s`:*?\"<>|]+\.(?:py|ipynb)(?![\w.])|[^\s`:*?\"<>|]+\.[A-Za-z0-9]+::")
UNCLOSED_SPAN = "unclosed code span: expected `path.py::function`"
_DASH_SEPARATOR = re.compile(r"^(?:—|–|-{1,2})[ \t]+")
_LINK_SEPARATOR = re.compile(r"(?:—|–|-{1,2}|->|→|:|\|)[ \t]*$")
_AC_ID = re.compile(r"\bAC-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_US_ID = re.compile(r"\bUS-?[A-Za-z]?\d+[A-Za-z]?\b")

# Sections whose tasks belong to another increment: `## Follow-ups`, `## Future work`, `## Out of scope`.
_ASIDE = re.compile(
    r"[\W\d_]*+(?:follow[ -]?ups?|future(?:[ \t]+(?:work|increments?|tasks))?|out[ \t]+of[ \t]+scope"
    r"|(?:next|later|another)[ \t]+increments?|not[ \t]+in[ \t]+(?:this[ \t]+increment|scope))(?![\w-])",
    re.IGNORECASE,
)
# `### T-004-NOTES`, `### T-004 Notes`: a section of task T-004, not a task.
_NOTE_WORD = re.compile(r"notes?|comments?|details|remarks|logs?|learnings|summary|review|discussion", re.IGNORECASE)
# A summary table's columns: `| ID | Task | Status |`.
_ID_HEADERS = {"id", "task id", "task", "#"}
_STATUS_HEADERS = {"status", "state"}
_FIELD_SEPARATOR = re.compile(r"[ \t][|·•][ \t]")  # `**Owner**: sam · **Status**: [x] completed`
_FIELDS = {
    "status": "status",
    "user story": "user_story",
    "user stories": "user_story",
    "story": "user_story",
    "us": "user_story",
    "satisfies acs": "satisfies",
    "satisfies ac": "satisfies",
    "satisfies": "satisfies",
    "acceptance criteria": "satisfies",
    "ac": "satisfies",
    "acs": "satisfies",
    "depends on": "depends_on",
    "dependencies": "depends_on",
    "dependency": "depends_on",
    "depends": "depends_on",
    "blocked by": "depends_on",
    "run": "run",
}


@dataclass
class Link:
    """Code a task or criterion runs: `pipeline.py::train`, `pipeline.py` or `notebooks/01-eda.ipynb`."""

    target: str  # as written
    file: str
    callable: str | None
    line: int

    @property
    def is_notebook(self) -> bool:
        return self.file.endswith(".ipynb")


@dataclass
class Task:
    id: str  # as written: "T-001"
    title: str
    status: str  # one of STATUSES
    path: Path
    line: int  # the first occurrence
    link: Link | None = None
    depends_on: list[str] = field(default_factory=list)
    satisfies: list[str] = field(default_factory=list)  # AC ids
    user_story: str | None = None
    occurrences: list[int] = field(default_factory=list)  # every line where this id starts a task
    status_explicit: bool = False  # False: nothing said, `status` is the default "pending"
    form: str = "checklist"  # "checklist" | "heading" | "list" (a list item without a checkbox)
    status_lines: list[int] = field(default_factory=list)  # each occurrence's `Status:` line (or `- [x] Completed` line)
    link_hint: str | None = None  # a task with no link whose text names code outside backticks: how to link it


@dataclass
class TaskList:
    path: Path
    tasks: list[Task]  # file order of first occurrence; duplicates merged
    problems: list[SourceError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # lines shaped like tasks that are none, with why

    def get(self, task_id: str) -> Task | None:
        return next((task for task in self.tasks if task.id == task_id), None)

    @property
    def duplicates(self) -> list[Task]:
        return [task for task in self.tasks if len(task.occurrences) > 1]


def parse_tasks(path: str | Path) -> TaskList:
    """Parse tasks.md. Raises SourceError only when the file cannot be read as UTF-8 text."""
    path = Path(path)
    lines = source.read_markdown(path)
    return parse_task_lines(lines, path)


def parse_task_lines(lines: list[str], path: Path) -> TaskList:
    parser = _TaskParser(path)
    start = source.frontmatter_end(lines)
    code = source.fenced_lines(lines, start)
    for lineno, text in source.outside_fences(lines, start, code):
        parser.feed(lineno, text)
    parser.close()
    hidden = hidden_items(lines, start, path, TASK_ID, "task", code)
    defined = {o.id for o in parser.occurrences if o.form != "list"}
    mentions = [o for o in parser.occurrences if o.form == "list" and o.id not in defined]
    skipped = [
        line_skipped(path, o.line, lines[o.line - 1],
                     f"`- {o.id}: …` is a list item without a checkbox and no heading or checkbox defines {o.id}: "
                     f"read as a mention, not a task (write `- [ ] {o.id}: …` to make it one)")
        for o in mentions
    ]
    tasks = _merge([o for o in parser.occurrences if o not in mentions], path)
    for task in tasks:
        if not task.status_explicit and task.id in parser.table_statuses:
            task.status, task.status_explicit = parser.table_statuses[task.id], True
    skipped += parser.skipped + hidden_skipped(lines, start, path, TASK_ID_LIKE, "task", code)
    return TaskList(path, tasks, parser.problems + hidden, sorted(skipped, key=lambda record: record.line))


def hidden_skipped(lines: list[str], start: int, path: Path, id_like: re.Pattern, noun: str,
                   code: list | None = None) -> list[Skipped]:
    """A record for each heading or list item starting with an id that a code fence or HTML comment
    hides; lines after a fence or comment never closed are left to `hidden_items`' problem.
    `code`: `source.fenced_lines(lines, start)` when the caller has it."""
    code = source.fenced_lines(lines, start) if code is None else code
    found = source.unclosed(lines, start, code)
    end = found[0] if found is not None else len(lines) + 1
    records = []
    for lineno, text, kind in source.hidden_lines(lines, start, code):
        if lineno < end and _starts_with_id(text, id_like):
            article = "an" if kind == "HTML comment" else "a"
            records.append(line_skipped(path, lineno, text, f"inside {article} {kind}: not read as a {noun}"))
    return records


def _starts_with_id(text: str, id_like: re.Pattern) -> bool:
    """A heading or list item (after its checkbox) whose first token is id-like."""
    found = source.heading(text)
    if found is not None:
        return id_like_start(found[1], id_like) is not None
    item = source.list_item(text)
    if item is None:
        return False
    box = source.checkbox(item[1])
    return id_like_start(box[1] if box is not None else item[1], id_like) is not None


def id_like_start(content: str, id_like: re.Pattern) -> str | None:
    """The id-like token the text starts with (after emoji, `**` and `[`), else None."""
    marks = _LEADING_EMOJI.match(content)
    text = content[marks.end() if marks else 0 :]
    text = text[2:] if text[:2] in ("**", "__") else text
    text = text[1:] if text[:1] == "[" else text
    match = id_like.match(text)
    if match is None or (match.end() < len(text) and (text[match.end()].isalnum() or text[match.end()] == "_")):
        return None
    return match.group(0)


def _colon_after_id(content: str) -> bool:
    token = id_like_start(content, TASK_ID_LIKE)
    if token is None:
        return False
    return content[content.find(token) + len(token) :].lstrip("*_] \t").startswith(":")


def why_not_an_item(content: str, form: str, level: int, id_pattern: re.Pattern, id_like: re.Pattern,
                    noun: str) -> str | None:
    """Why a heading or list item whose text starts with an id-like token is no item; None when it
    does not start with one. `form`: "heading", "checkbox" or "list"."""
    token = id_like_start(content, id_like)
    if token is None:
        return None
    if form == "heading" and level == 1 and match_item_start(content, id_pattern, need_colon=False):
        return f"a level-1 heading is the file's title, not a {noun} (write `## {content}`)"
    if id_pattern.fullmatch(token) is None:
        return f"`{token}` is not a {noun} id ({_ID_RULES[noun]})"
    if form == "list" and match_item_start(content, id_pattern, need_colon=False):
        return f"an item needs a colon after its id or a checkbox to be a {noun} (`- {token}: Title`): read as prose"
    return f"not a {noun} line: expected `{token}: Title` (`### {token}: Title`, `- [ ] {token}: Title`)"


_ID_RULES = {
    "task": "T-1, T-001 or T001: without a dash, three digits or more",
    "criterion": "TC-1, TC-001, TC001 or TC-US1-01",
}


def hidden_items(lines: list[str], start: int, path: Path, id_pattern: re.Pattern, noun: str,
                 code: list | None = None) -> list[SourceError]:
    """A problem at the line opening a code fence or HTML comment that is never closed, when lines
    shaped like items (`### T-007: …`, `- [ ] T-008 …`, `- T-009: …`) follow it: markdown (CommonMark)
    runs such a fence or comment to the end of the file, so they are not read."""
    found = source.unclosed(lines, start, code)
    if found is None:
        return []
    opened, kind = found
    count = sum(1 for text in lines[opened:] if _item_shaped(text, id_pattern))
    if not count:
        return []
    what = f"the {noun} line after it is" if count == 1 else f"the {count} {noun} lines after it are"
    return [SourceError(f"{kind} opened here is never closed: {what} not read", path, opened)]


def _item_shaped(text: str, id_pattern: re.Pattern) -> bool:
    found = source.heading(text)
    if found is not None:
        return found[0] >= 2 and match_item_start(found[1], id_pattern, need_colon=False) is not None
    item = source.list_item(text)
    if item is None:
        return False
    box = source.checkbox(item[1])
    if box is not None:
        return match_item_start(box[1], id_pattern, need_colon=False) is not None
    return match_item_start(item[1], id_pattern, need_colon=True) is not None


# --- status ---------------------------------------------------------------------------------------


def status_from_words(text: str) -> str | None:
    """The status that free text names first (`[x] Completed (2025-11-17)` -> done), or None.

    A leading checkbox decides; then the first status word or emoji: `pending`, `Not Started`,
    `Blocked` -> pending; `In Progress`, `WIP` -> in_progress; `Completed`, `DONE`, `✅` -> done;
    `Canceled`, `Cancelled`, `Skipped`, `Deferred` -> canceled.
    """
    text = source.strip_emphasis(text)
    box = source.checkbox(text)
    if box is not None:
        return _CHECKBOX_STATUS[box[0]]
    found: list[tuple[int, str]] = []
    word = _STATUS_WORD_PATTERN.search(text)
    if word:
        index = int(word.lastgroup[1:])
        found.append((word.start(), _STATUS_WORDS[index][1]))
    for chars, status in _STATUS_EMOJI:
        positions = [text.find(char) for char in chars if char in text]
        if positions:
            found.append((min(positions), status))
    return min(found)[1] if found else None


def status_marker(title: str) -> str | None:
    """The status a task's own line marks outside a checkbox: `✅`, `[COMPLETED]`, `(deferred)`, `DONE`.

    Stricter than `status_from_words`, since titles are prose: "CHANGELOG (done at release time)" is no
    marker. Only emoji, a bracket holding nothing but a status, or an upper-case status word count.
    """
    found: list[tuple[int, str]] = []
    for chars, status in _STATUS_EMOJI:
        positions = [title.find(char) for char in chars if char in title]
        if positions:
            found.append((min(positions), status))
    for bracket in _BRACKETED.finditer(title):
        inner = bracket.group(1).strip()
        status = status_from_words(inner)
        if status and _STATUS_WORD_PATTERN.fullmatch(inner):
            found.append((bracket.start(), status))
    upper = _UPPER_MARKER.search(title)
    if upper:
        found.append((upper.start(), status_from_words(upper.group(0)) or "pending"))
    return min(found)[1] if found else None


def is_status_phrase(text: str) -> bool:
    """True when the text says a status and nothing else: `Completed`, `✅ DONE (2025-11-17)`."""
    text = source.strip_emphasis(text)
    text = _LEADING_EMOJI.sub("", text)
    text = re.sub(r"\([^()]*\)|\d{4}-\d{2}-\d{2}", "", text).strip(" \t-:;,.")
    return bool(text) and _STATUS_WORD_PATTERN.fullmatch(text) is not None


def strip_status_markers(text: str) -> str:
    """The text without the status markers that end it: `Train ✅ [COMPLETED]` -> `Train`."""
    end = len(text)
    first = len(text) - len(text.lstrip())  # where the text starts: a marker there is all it says
    while True:
        while end and text[end - 1].isspace():
            end -= 1
        if not end:
            return ""
        last = text[end - 1]
        if last == "\ufe0f" and end > 1 and text[end - 2] in _EMOJI_CHARS:
            end -= 2
        elif last in _EMOJI_CHARS:
            end -= 1
        elif last in ")]":
            opening = text.rfind("(" if last == ")" else "[", 0, end)
            inner = text[opening + 1 : end - 1]
            if opening < 0 or any(bracket in inner for bracket in "[]()") or not is_status_phrase(inner):
                return text[:end]
            end = opening
        else:
            upper = _TRAILING_UPPER.search(text, max(0, end - 16), end)
            if upper is None or upper.start() <= first:
                return text[:end]
            end = upper.start()


def _clean_title(title: str) -> str:
    title = strip_status_markers(title)
    title = _LEADING_EMOJI.sub("", title)
    title = title.strip()
    if title.startswith(("**", "__")) and title.endswith(("**", "__")) and len(title) > 4:
        title = title[2:-2].strip()
    return title


# --- links ----------------------------------------------------------------------------------------


def parse_link(target: str, line: int) -> Link | None:
    """A Link when the text is exactly a `.py`/`.ipynb` path, optionally with `::callable`."""
    target = target.strip()
    match = _LINK.match(target)
    if not match:
        return None
    return Link(target, match.group("file"), match.group("callable"), line)


def not_a_link(content: str) -> str | None:
    """Why a code span that names `file.ext::callable` is no link: the file is not Python or a notebook."""
    other = _OTHER_FILE_LINK.match(content.strip())
    if other is None or parse_link(content, 0) is not None:
        return None
    return (f"{other.group('file')} is not Python or a notebook: a link names a .py file (path.py::function) "
            "or a notebook (.ipynb)")


_CODE_NAMED = re.compile(r"(?<![\w`/.\\-])(?P<file>[\w./\\-]*\w\.(?:py|ipynb))(?::{1,2}(?P<callable>[A-Za-z_][\w.]*))?(?![\w`])")


def link_hint(text: str) -> str | None:
    """How to link the code that text names outside backticks (`pipeline.py::train`, `pipeline.py:train`,
    `pipeline.py`), as a sentence; None when it names none. A task's text is read, never run: the
    hint goes with its "not implemented" skip."""
    if ".py" not in text and ".ipynb" not in text:  # most lines: nothing to search
        return None
    named = _CODE_NAMED.search(_without_code_spans(text))
    if named is None:
        return None
    target = named.group("file") + (f"::{named.group('callable')}" if named.group("callable") else "")
    return f"write it as `{target}` (in backticks) to link it"


def _without_code_spans(text: str) -> str:
    """`text` with each inline code span blanked out (source.code_spans: linear in the text)."""
    if "`" not in text:
        return text
    pieces, kept_from = [], 0
    for start, end, _ in source.code_spans(text):
        pieces += [text[kept_from:start], " " * (end - start)]
        kept_from = end
    return "".join(pieces) + text[kept_from:]


def broken_link(text: str, spans: list[tuple[int, int, str]]) -> tuple[int, str] | None:
    """(where it starts, what is wrong) for a link written so that it would never run, else None:
    a span naming another kind of file, a span left open, or `path.py::callable` outside backticks."""
    found: list[tuple[int, str]] = []
    for start, _, content in spans:
        why = not_a_link(content)
        if why:
            found.append((start, why))
            break
    covered = iter(spans)
    span = next(covered, None)
    for run in re.finditer(r"`++", text):
        while span is not None and span[1] <= run.start():
            span = next(covered, None)
        if span is not None and span[0] <= run.start() < span[1]:
            continue  # a run that opens or closes a span
        if _OPEN_LINK.match(text, run.end()):
            found.append((run.start(), UNCLOSED_SPAN))
        break  # text after the first unclosed run is literal: looked at once
    outside = list(text)
    for start, end, _ in spans:
        outside[start:end] = " " * (end - start)
    bare = _BARE_LINK.search("".join(outside))
    if bare:
        found.append((bare.start(), f"{bare.group('link')} looks like a link: put it in backticks"))
    return min(found) if found else None


def link_on_line(text: str, lineno: int) -> tuple[Link | None, str, list[str]]:
    """(link, text without it, problems) for a task's or criterion's own line.

    A `path.py::callable` span is a link wherever it stands; a bare `path.py` or `path.ipynb` span
    only when it ends the line after a separator (``Title — `notebooks/01-eda.ipynb` ``) or is all
    the line says, so that prose naming a file (``Update `src/cli.py` for the new flag``) is not run.
    A link that would never run (see `broken_link`) is a problem, and is cut from the text with what
    follows it, so that the rest is not read as a threshold or a title of its own.
    """
    spans = source.code_spans(text)
    links: list[tuple[int, int, Link]] = []
    for start, end, content in spans:
        link = parse_link(content, lineno)
        if link is None:
            continue
        if link.callable is None:
            after = strip_status_markers(text[end:]).strip()
            before = text[:start].rstrip()
            if after or not (before == "" or _LINK_SEPARATOR.search(before)):
                continue
        links.append((start, end, link))
    if not links:
        broken = broken_link(text, spans)
        if broken is None:
            return None, text, []
        remaining = _LINK_SEPARATOR.sub("", text[: broken[0]].rstrip()).strip()
        return None, remaining, [broken[1]]
    problems = []
    if len({link.target for _, _, link in links}) > 1:
        targets = ", ".join(f"`{link.target}`" for _, _, link in links)
        problems.append(f"one line links several pieces of code ({targets}); the first one is used")
    start, end, link = links[0]
    remaining = text[:start].rstrip()
    remaining = _LINK_SEPARATOR.sub("", remaining) if not text[end:].strip() else remaining
    remaining = (remaining.rstrip() + " " + text[end:].strip()).strip()
    return link, remaining, problems


def link_in_field(value: str, lineno: int) -> tuple[Link | None, str | None]:
    """(link, problem) of a `Run:` field: its first code span that is a link, or the value itself."""
    spans = source.code_spans(value)
    candidates = [content for _, _, content in spans] if spans else [value]
    for candidate in candidates:
        link = parse_link(candidate, lineno)
        if link is not None:
            return link, None
    broken = broken_link(value, spans)
    return None, broken[1] if broken else None


# --- parsing --------------------------------------------------------------------------------------


@dataclass
class _Occurrence:
    id: str
    title: str
    line: int
    form: str
    level: int  # heading level, or list indent for list items
    status: str | None = None
    status_rank: int = _DEFAULT
    link: Link | None = None
    depends_on: list[str] = field(default_factory=list)
    satisfies: list[str] = field(default_factory=list)
    user_story: str | None = None
    seen: set[str] = field(default_factory=set)  # fields already read (the first one counts)
    substeps: list[str] | None = None  # checkboxes under an empty `Status:` field
    status_line: int | None = None  # the line of the `Status:` field read, or of a `- [x] Completed` line
    boxes: int = 0  # checkboxes in the task's body (sub-steps, acceptance criteria)
    boxes_done: int = 0
    link_hint: str | None = None


def match_item_start(content: str, id_pattern: re.Pattern, need_colon: bool) -> tuple[str, str, str] | None:
    """(id, rest, leading marks) when the text starts with an id, optionally bold, then `:` or a space."""
    marks = _LEADING_EMOJI.match(content)
    lead = marks.group(0) if marks else ""
    text = content[len(lead) :]
    bold = text[:2] if text[:2] in ("**", "__") else ""
    text = text[len(bold) :]
    bracket = text.startswith("[")  # `- [x] [T-015] Write the migration`
    match = id_pattern.match(text, 1 if bracket else 0)
    if not match:
        return None
    end = match.end()
    join = _RANGE_JOIN.match(text, end)
    if join:  # a range, `T-006..T-010`: one item named as written
        upper = id_pattern.match(text, join.end())
        if upper:
            end = upper.end()
    task_id = normalise_id(text[match.start() : end])
    if bracket:
        if text[end : end + 1] != "]" or text[end + 1 : end + 2] == "(":
            return None  # `[T-015](link)` is a link, not an id
        end += 1
    rest = text[end:]
    colon = False
    if bold:
        if rest.startswith(":" + bold):
            colon, rest = True, rest[3:]
        elif rest.startswith(bold):
            rest = rest[2:]
        else:
            return None
    stripped = rest.lstrip()
    if stripped.startswith(":"):
        colon, rest = True, stripped[1:]
    if need_colon and not colon:
        return None
    if not colon and rest and not rest[0].isspace():
        return None
    if not colon:
        rest = _DASH_SEPARATOR.sub("", rest.strip())  # `T-001 — Title`
    return task_id, rest.strip(), lead


def normalise_id(written: str) -> str:
    """The id with its letter prefix in upper case: `t-001` -> `T-001`, `tc-002` -> `TC-002`.

    The rest stays as written, so that `T-009b` and `T-001-DISCIPLINE` keep their names."""
    letters = len(written) - len(written.lstrip("TtCc"))
    return written[:letters].upper() + written[letters:]


class _TaskParser:
    def __init__(self, path: Path):
        self.path = path
        self.occurrences: list[_Occurrence] = []
        self.problems: list[SourceError] = []
        self.current: _Occurrence | None = None
        self.ids: set[str] = set()
        self.line_text = ""  # the line being read, as written
        self.aside: int | None = None  # the level of a `## Follow-ups` heading we are under
        self.aside_heading: tuple[int, str] = (0, "")  # its line and text
        self.skipped: list[Skipped] = []
        self.table_statuses: dict[str, str] = {}  # id -> status, from summary tables
        self.header: list[str] | None = None  # the cells of the table row just read
        self.columns: tuple[int, int] | None = None  # (id, status) columns of the table being read

    def feed(self, lineno: int, text: str) -> None:
        self.line_text = text
        first = text.lstrip()[:1]
        if first not in _SHAPED and ":" not in text:
            self.read_prose(text)  # most lines: no heading, list item, table row, checkbox or field
            return
        if text.lstrip().startswith("|"):
            self.read_table_row(text)  # and on: a row may hold fields of the current task, as before
        else:
            self.header = self.columns = None
        found_heading = source.heading(text)
        if found_heading is not None:
            level, content = found_heading
            if self.current and (self.current.form != "heading" or level <= self.current.level):
                self.close()
            if self.aside is not None and level <= self.aside:
                self.aside = None
            started = match_item_start(content, TASK_ID, need_colon=False) if level >= 2 else None
            if started:
                aside = self.set_aside(started)
                if aside is None:
                    self.start(lineno, started, "heading", level)
                else:
                    self.skip(lineno, text, aside)
            elif _ASIDE.match(content):
                self.close()
                self.aside, self.aside_heading = level, (lineno, content)
            else:
                self.skip(lineno, text, why_not_an_item(content, "heading", level, TASK_ID, TASK_ID_LIKE, "task"))
            return
        item = source.list_item(text)
        box = started = None
        if item is not None:
            indent, content = item
            box = source.checkbox(content)
            if box is not None:
                started = match_item_start(box[1], TASK_ID, need_colon=False)
            else:
                started = match_item_start(content, TASK_ID, need_colon=True)
            if started and self.aside is not None:
                self.skip(lineno, text, self.aside_reason())
                return
            if started and not _later(started[1]):
                occurrence = self.start(lineno, started, "checklist" if box else "list", indent)
                if box is not None:
                    occurrence.status, occurrence.status_rank = _CHECKBOX_STATUS[box[0]], _WRITTEN
                return
            if started:
                self.skip(lineno, text, "named for another increment: not a task of this one")
        closes = self.current is not None and self.current.form != "heading" and text.strip() \
            and source.indent_of(text) <= self.current.level  # not indented under the checklist item
        if item is not None and not started and (self.current is None or closes):
            self.skip_item(lineno, text, item[1], box)
        if self.current is None:
            return
        if closes:
            self.close()
            return
        if item is not None and not started:
            # in a task's body, only an item written as a task (`- T0: trusted`, `- [ ] T2 …`) is said to be none
            content = box[1] if box is not None else item[1]
            if box is not None or _colon_after_id(content):
                self.skip(lineno, text, why_not_an_item(content, "checkbox" if box else "list", 0, TASK_ID,
                                                        TASK_ID_LIKE, "task"))
        self.read_block_line(lineno, text, item)

    def read_prose(self, text: str) -> None:
        """A blank line or a line of prose: `feed` short of the shapes such a line cannot have."""
        self.header = self.columns = None
        task = self.current
        if task is None or not text.strip():
            return
        if task.form != "heading" and source.indent_of(text) <= task.level:
            self.close()
        elif task.substeps is not None:
            self.finish_substeps(task)

    def skip(self, lineno: int, text: str, reason: str | None) -> None:
        if reason is not None:
            self.skipped.append(line_skipped(self.path, lineno, text, reason))

    def skip_item(self, lineno: int, text: str, content: str, box: tuple[str, str] | None) -> None:
        """A list item outside every task's body: said when it starts with an id-like token or has a checkbox."""
        if self.aside is not None and (box is not None or id_like_start(content, TASK_ID_LIKE)):
            self.skip(lineno, text, self.aside_reason())
        elif box is not None:
            self.skip(lineno, text, why_not_an_item(box[1], "checkbox", 0, TASK_ID, TASK_ID_LIKE, "task")
                      or "a checkbox item with no task id, outside every task: not a task")
        else:
            self.skip(lineno, text, why_not_an_item(content, "list", 0, TASK_ID, TASK_ID_LIKE, "task"))

    def set_aside(self, started: tuple[str, str, str]) -> str | None:
        """Why a heading that starts with a task id is no task: under a follow-ups heading, a note, or later work."""
        if self.aside is not None:
            return self.aside_reason()
        if self.is_note(started):
            return f"a note on task {started[0].rpartition('-')[0] if started[0] not in self.ids else started[0]}, " \
                   "not a task"
        if _later(started[1]):
            return "named for another increment: not a task of this one"
        return None

    def aside_reason(self) -> str:
        line, heading = self.aside_heading
        return f"under `{heading}` (line {line}): work for another increment, not a task of this one"

    def read_table_row(self, text: str) -> None:
        """A summary table with an id column and a status column gives the status of tasks that write none."""
        cells = [source.strip_emphasis(cell).strip() for cell in text.strip().strip("|").split("|")]
        if self.header is not None and self.columns is None and all(set(cell) <= set(":- \t") for cell in cells):
            names = [cell.lower() for cell in self.header]
            id_column = next((i for i, name in enumerate(names) if name in _ID_HEADERS), None)
            status_column = next((i for i, name in enumerate(names) if name in _STATUS_HEADERS), None)
            if id_column is not None and status_column is not None:
                self.columns = (id_column, status_column)
            self.header = None
            return
        self.header = cells if self.columns is None else None
        if self.columns is None or max(self.columns) >= len(cells):
            return
        id_cell, status_cell = cells[self.columns[0]], cells[self.columns[1]]
        found = TASK_ID.fullmatch(id_cell.strip("[]"))
        status = status_from_words(status_cell) if found else None
        if status is not None:
            self.table_statuses.setdefault(normalise_id(found.group(0)), status)

    def is_note(self, started: tuple[str, str, str]) -> bool:
        """A heading that names a task seen above plus a note word (`T-004-NOTES`, `T-004 Notes`)."""
        task_id, rest, _ = started
        base, _, suffix = task_id.rpartition("-")
        if base in self.ids and _NOTE_WORD.fullmatch(suffix):
            return True
        return task_id in self.ids and _NOTE_WORD.fullmatch(source.strip_emphasis(rest).strip(" \t.:")) is not None

    def start(self, lineno: int, started: tuple[str, str, str], form: str, level: int) -> _Occurrence:
        self.close()
        task_id, rest, lead = started
        self.ids.add(task_id)
        link, title, problems = link_on_line(rest, lineno)
        self.problems.extend(SourceError(message, self.path, lineno) for message in problems)
        occurrence = _Occurrence(task_id, _clean_title(title), lineno, form, level, link=link,
                                 link_hint=None if problems else link_hint(rest))
        marker = status_marker(lead + " " + title)
        if marker:
            occurrence.status, occurrence.status_rank = marker, _MARKED
        self.occurrences.append(occurrence)
        self.current = occurrence
        return occurrence

    def read_block_line(self, lineno: int, text: str, item: tuple[int, str] | None) -> None:
        task = self.current
        content = item[1] if item is not None else text.strip()
        if not content:
            return
        task.link_hint = task.link_hint or link_hint(content)
        box = source.checkbox(content)
        if task.substeps is not None:
            if box is not None:
                task.substeps.append(box[0])
                return
            self.finish_substeps(task)
        if box is not None and task.status_rank < _WRITTEN and task.form == "heading":
            # `- [x] Completed` under the heading, in place of a Status field
            if is_status_phrase(box[1]):
                task.status, task.status_rank = _CHECKBOX_STATUS[box[0]], _WRITTEN
                task.status_line = task.status_line or lineno
                return
        if box is not None:
            task.boxes += 1
            task.boxes_done += box[0] in "xX"
        if ":" not in content:  # most lines: no field
            return
        for part in _FIELD_SEPARATOR.split(content):  # `**Effort**: 4h | **AC**: AC-US9-01`
            pair = source.key_value(part)
            if pair is not None:
                self.read_field(task, *pair, lineno)

    def read_field(self, task: _Occurrence, key: str, value: str, lineno: int) -> None:
        name = _FIELDS.get(" ".join(key.lower().split()))
        if name == "status" and not key[:1].isupper():  # `- status: 'unpaid' | 'paid'` is a schema
            self.skip(lineno, self.line_text, f"a lower-case `{key}:` line is data, not the status of {task.id}")
            return
        if name is None or name in task.seen:
            return
        if name == "status":
            # `Status:` or `**Status**:` with a status in it
            if self.read_status(task, value):
                task.seen.add(name)
                task.status_line = task.status_line or lineno
            else:
                self.skip(lineno, self.line_text, f"names no status (done, pending, in progress, canceled…): "
                                                     f"not the status of {task.id}")
            return
        task.seen.add(name)
        if name == "user_story":
            story = _US_ID.search(value)
            task.user_story = story.group(0) if story else (source.strip_emphasis(value) or None)
        elif name == "satisfies":
            task.satisfies = _unique(match.group(0) for match in _AC_ID.finditer(value))
        elif name == "depends_on":
            task.depends_on = _unique(
                normalise_id(match.group(0)) for match in TASK_ID.finditer(value) if _word_start(value, match.start())
            )
        elif name == "run":
            self.read_run(task, value, lineno)

    def read_status(self, task: _Occurrence, value: str) -> bool:
        """Read a Status field's value; False when it names no status (it is then no Status field)."""
        if not source.strip_emphasis(value):
            if task.status_rank < _WRITTEN:
                task.substeps = []  # `**Status**:` alone: its checkboxes follow on the next lines
            return True
        said = status_from_words(value)
        if said is not None and task.status_rank < _WRITTEN:
            task.status, task.status_rank = said, _WRITTEN
        return said is not None

    def finish_substeps(self, task: _Occurrence) -> None:
        steps, task.substeps = task.substeps, None
        if not steps or task.status_rank >= _WRITTEN:
            return
        done = sum(1 for mark in steps if mark in "xX")
        if done == len(steps):
            task.status = "done"
        elif done or any(mark in "~/" for mark in steps):
            task.status = "in_progress"
        else:
            task.status = "pending"
        task.status_rank = _MARKED  # a guess from the steps: a checkbox elsewhere says more

    def read_run(self, task: _Occurrence, value: str, lineno: int) -> None:
        if task.link is not None:
            return
        task.link, problem = link_in_field(value, lineno)
        if problem:
            self.problems.append(SourceError(problem, self.path, lineno))

    def close(self) -> None:
        task = self.current
        if task is not None and task.substeps is not None:
            self.finish_substeps(task)
        if task is not None and task.status_rank == _DEFAULT and task.boxes and task.boxes == task.boxes_done:
            task.status, task.status_rank = "done", _MARKED  # no status written, every sub-step ticked
        self.current = None


def _later(title: str) -> bool:
    """`T-045 (next increment): …`: a task named for another increment."""
    return title.startswith("(") and _ASIDE.match(title[1:]) is not None


def _word_start(text: str, index: int) -> bool:
    return index == 0 or not (text[index - 1].isalnum() or text[index - 1] in "_-")


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def _merge(occurrences: list[_Occurrence], path: Path) -> list[Task]:
    """One Task per id.

    The defining occurrence gives title, line and link: the first heading or checklist line, or the
    first plain list item when there is no other (`- T-001: Title` lines are often a summary that
    repeats tasks defined below). The status comes from the first occurrence that is most sure of it
    (a checkbox or Status field over a title marker over nothing); fields the defining occurrence
    lacks are filled from the others. Tasks are returned in the order of their defining lines.
    """
    by_id: dict[str, list[_Occurrence]] = {}
    for occurrence in occurrences:
        by_id.setdefault(occurrence.id, []).append(occurrence)
    tasks = []
    for task_id, group in by_id.items():
        defining = next((o for o in group if o.form != "list"), group[0])
        ordered = [defining] + [o for o in group if o is not defining]
        best = max(group, key=lambda o: o.status_rank)  # max keeps the first of equals
        tasks.append(
            Task(
                id=task_id,
                title=defining.title,
                status=best.status or "pending",
                path=path,
                line=defining.line,
                link=defining.link,
                depends_on=next((o.depends_on for o in ordered if o.depends_on), []),
                satisfies=next((o.satisfies for o in ordered if o.satisfies), []),
                user_story=next((o.user_story for o in ordered if o.user_story), None),
                occurrences=[o.line for o in group],
                status_explicit=best.status_rank > _DEFAULT,
                form=defining.form,
                status_lines=[o.status_line for o in group if o.status_line is not None],
                link_hint=next((o.link_hint for o in ordered if o.link_hint), None),
            )
        )
    tasks.sort(key=lambda task: task.line)
    return tasks
