"""Reading markdown files: decoding, line ends, YAML frontmatter, and what markdown hides.

Everything the parsers see goes through here, so that code fences and HTML comments are skipped the
same way in spec.md, tasks.md and tests.md. Line numbers are 1-based.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import SourceError

_BOM = b"\xef\xbb\xbf"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FENCE_OPEN = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_FRONTMATTER_OPEN = re.compile(r"^---[ \t]*$")
_FRONTMATTER_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")


def read_markdown(path: str | Path, warnings: list[SourceError] | None = None) -> list[str]:
    """The file's lines without their ends: UTF-8 (a BOM is dropped), LF, CRLF or CR line ends.

    UTF-16 with a byte-order mark is decoded too. Bytes that are not UTF-8 are read as U+FFFD, as
    SpecWeave reads them, and each line holding some is added to `warnings`. UTF-16 without a BOM
    (its ASCII reads as valid UTF-8 with a NUL after every letter) raises SourceError.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read the file ({exc.strerror or exc})", path) from None
    return decode_markdown(data, path, warnings)


def undecodable(path: str | Path) -> list[SourceError]:
    """One warning per line of the file holding bytes that are not UTF-8; [] when it cannot be read."""
    warnings: list[SourceError] = []
    try:
        read_markdown(path, warnings)
    except SourceError:
        return []
    return warnings


def decode_markdown(data: bytes, path: str | Path | None = None,
                    warnings: list[SourceError] | None = None) -> list[str]:
    """`read_markdown` for bytes already in hand."""
    if data.startswith(_BOM):
        text = _decode_utf8(data[len(_BOM) :], path, warnings)
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise SourceError("not valid UTF-16 text despite its byte-order mark; save the file as UTF-8", path,
                              1) from None
    elif _looks_like_utf16(data):
        raise SourceError("looks like UTF-16 text: save it as UTF-8", path, 1)
    else:
        text = _decode_utf8(data, path, warnings)
    lines = _LINE_BREAK.split(text)
    if lines[-1] == "":
        lines.pop()  # the file ends with a line break, or is empty
    return lines


def _decode_utf8(data: bytes, path, warnings: list[SourceError] | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if warnings is not None:
        by_line: dict[int, list[str]] = {}
        line, position = 1, 0
        while position < len(data):
            try:
                data[position:].decode("utf-8")
                break
            except UnicodeDecodeError as exc:
                start, end = position + exc.start, position + max(exc.end, exc.start + 1)
                line += len(_LINE_BREAK.findall(data[position:start].decode("utf-8")))
                by_line.setdefault(line, []).extend(f"0x{byte:02x}" for byte in data[start:end])
                position = end
        for number, shown in by_line.items():
            warnings.append(SourceError(f"bytes that are not UTF-8 ({' '.join(shown[:8])}) read as U+FFFD; "
                                        "save the file as UTF-8", path, number))
    return data.decode("utf-8", errors="replace")


def _looks_like_utf16(data: bytes) -> bool:
    """NUL bytes in alternating positions: UTF-16 text without its byte-order mark."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return max(even, odd) >= 0.3 * pairs and min(even, odd) <= 0.1 * max(even, odd)


def frontmatter_end(lines: Sequence[str]) -> int:
    """Index (0-based) of the first line after a leading `---` ... `---` block; 0 when there is none.

    A leading `---` with no closing line is a thematic break, not frontmatter.
    """
    if not lines or not _FRONTMATTER_OPEN.match(lines[0]):
        return 0
    for index in range(1, len(lines)):
        if _FRONTMATTER_CLOSE.match(lines[index]):
            return index + 1
    return 0


def split_frontmatter(lines: Sequence[str], path: str | Path | None = None) -> tuple[dict, int]:
    """(frontmatter mapping, index of the first body line). Bad YAML raises SourceError with its line."""
    end = frontmatter_end(lines)
    if end == 0:
        return {}, 0
    import yaml

    try:
        data = _load_yaml("\n".join(lines[1 : end - 1]), path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1  # the YAML starts on the file's line 2
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SourceError(f"frontmatter is not valid YAML: {problem}", path, line) from None
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise SourceError(f"frontmatter is not valid YAML: {exc}", path, 1) from None
    if data is None:
        return {}, end
    if not isinstance(data, dict):
        raise SourceError(
            f"frontmatter must be a mapping of keys to values, not a {type(data).__name__}", path, 2
        )
    return data, end


def _load_yaml(text: str, path: str | Path | None):
    """`yaml.safe_load`, except that a value its constructors choke on is a SourceError naming its line.

    PyYAML's constructors raise AttributeError, IndexError, KeyError or ValueError on some tagged
    scalars (`!!timestamp x`, an empty `!!int`, `!!float` or `!!bool`, `!!int x`) instead of a
    YAMLError.
    """
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            return loader.construct_document(node)
        except yaml.YAMLError:
            raise
        except RecursionError:
            raise
        except Exception as exc:  # noqa: BLE001 - a constructor's own bug, on the user's text
            culprit = _failing_scalar(node)
            if culprit is None:
                raise SourceError(f"frontmatter is not valid YAML: {type(exc).__name__}: {exc}", path, 1) from None
            shown = f"{culprit.tag.replace('tag:yaml.org,2002:', '!!')} {culprit.value}".strip()
            kind = culprit.tag.rpartition(":")[2]
            raise SourceError(
                f"frontmatter is not valid YAML: `{shown}` is not a valid {kind}", path, culprit.start_mark.line + 2
            ) from None
    finally:
        loader.dispose()


def _failing_scalar(root):
    """The first scalar node under `root` that a fresh safe constructor cannot build, else None."""
    import yaml

    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                yaml.SafeLoader("").construct_object(node)
            except Exception:  # noqa: BLE001 - any failure marks the culprit
                return node
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in reversed(node.value) for item in reversed(pair))
    return None


def fenced_lines(lines: Sequence[str], start: int = 0) -> list:
    """Which lines from index `start` are code (see `outside_fences`), plus the index of a fence left open
    (or None) at the end: computed once, it may be passed as `code` to `outside_fences`, `unclosed` and
    `hidden_lines`."""
    return _fenced(lines, start)


def outside_fences(lines: Sequence[str], start: int = 0, code: list | None = None) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) of the lines from index `start` that markdown shows as text.

    Skipped: lines inside ``` or ~~~ fences (and the fence lines), and HTML comments, which may span
    lines; text outside a comment on the line where it opens or closes is kept. An unclosed comment
    runs to the end of the file, as markdown renders it.

    One departure from CommonMark: inside a fence, a fence line with an info string (```` ```ts ````)
    opens a nested fence that the next bare fence line closes, as long as reading the whole file
    that way closes every fence; otherwise fences are read as CommonMark reads them. SpecWeave's own
    files nest examples with same-length fences; read strictly, whole tasks would vanish into code.
    """
    code = _fenced(lines, start) if code is None else code
    if not _has_comment(lines, start):
        yield from ((index + 1, lines[index]) for index in range(start, len(lines)) if not code[index - start])
        return
    in_comment = False
    for index in range(start, len(lines)):
        if code[index - start]:
            continue
        visible, in_comment = _strip_comments(lines[index], in_comment)
        if visible is not None:
            yield index + 1, visible


def hidden_lines(lines: Sequence[str], start: int = 0, code: list | None = None) -> Iterator[tuple[int, str, str]]:
    """(1-based line number, text, "code fence" or "HTML comment") of each line from index `start`
    that `outside_fences` does not yield; a comment line's text is without its `<!--` and `-->`."""
    code = _fenced(lines, start) if code is None else code
    comments = _has_comment(lines, start)
    in_comment = False
    for index in range(start, len(lines)):
        if code[index - start]:
            yield index + 1, lines[index], "code fence"
            continue
        if not comments:
            continue
        visible, in_comment = _strip_comments(lines[index], in_comment)
        if visible is None:
            yield index + 1, lines[index].replace("<!--", "").replace("-->", ""), "HTML comment"


def _has_comment(lines: Sequence[str], start: int) -> bool:
    """Whether an HTML comment opens anywhere from index `start` (most files: none, and then every
    line outside fences is shown as it is)."""
    return "<!--" in "\n".join(lines[start:] if start else lines)


def _fenced(lines: Sequence[str], start: int) -> list[bool]:
    code = _code_lines(lines, start, nested=True)
    if code[-1] is not None:
        code = _code_lines(lines, start, nested=False)
    return code


def unclosed(lines: Sequence[str], start: int = 0, code: list | None = None) -> tuple[int, str] | None:
    """(1-based line, "code fence" or "HTML comment") of a fence or comment that is never closed, so
    that it hides the rest of the file, as markdown renders it; None when everything closes."""
    code = _fenced(lines, start) if code is None else code
    if code[-1] is not None:
        return code[-1] + 1, "code fence"
    if not _has_comment(lines, start):
        return None
    in_comment, opened = False, 0
    for index in range(start, len(lines)):
        if code[index - start]:
            continue
        was = in_comment
        in_comment = _strip_comments(lines[index], in_comment)[1]
        if in_comment and (not was or "-->" in lines[index]):
            opened = index  # opened here (a comment closed on this line may open again)
    return (opened + 1, "HTML comment") if in_comment else None


def _code_lines(lines: Sequence[str], start: int, nested: bool) -> list[bool | int | None]:
    """For each line from `start`: is it a fence line or inside a fence? One more entry at the end: the
    index of the line opening the fence still open there, or None. HTML comments are followed so that
    a fence inside one is no fence."""
    code: list = []
    fences: list[str] = []
    opened_at = start
    in_comment = False
    for index in range(start, len(lines)):
        text = lines[index]
        if fences:
            code.append(True)
            stripped = text.strip()
            fence = fences[-1]
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                fences.pop()
            elif nested:
                inner = _FENCE_OPEN.match(text)
                if inner and inner.group(1)[0] == fence[0] and inner.group(2).strip() and "`" not in inner.group(2):
                    fences.append(inner.group(1))
            continue
        if not in_comment:
            opened = _FENCE_OPEN.match(text)
            if opened and not (opened.group(1)[0] == "`" and "`" in opened.group(2)):
                fences.append(opened.group(1))
                code.append(True)
                opened_at = index
                continue
        code.append(False)
        in_comment = _strip_comments(text, in_comment)[1]
    code.append(opened_at if fences else None)
    return code


def _strip_comments(text: str, in_comment: bool) -> tuple[str | None, bool]:
    """The text with HTML comments removed (None when all of it is comment), and whether one is still open."""
    if not in_comment and "<!--" not in text:
        return text, False
    kept: list[str] = []
    position = 0
    saw_comment = in_comment
    while position < len(text):
        if in_comment:
            close = text.find("-->", position)
            if close < 0:
                position = len(text)
                break
            position = close + 3
            in_comment = False
            continue
        opening = _find_outside_code(text, "<!--", position)
        if opening < 0:
            kept.append(text[position:])
            break
        kept.append(text[position:opening])
        position = opening + 4
        in_comment = True
        saw_comment = True
    visible = "".join(kept)
    if saw_comment and not visible.strip():
        return None, in_comment
    return visible, in_comment


def _find_outside_code(text: str, needle: str, start: int) -> int:
    """Index of `needle` in `text` from `start`, not counting occurrences inside inline code spans."""
    position = start
    while position < len(text):
        found = text.find(needle, position)
        tick = text.find("`", position)
        if found < 0:
            return -1
        if tick < 0 or found < tick:
            return found
        run = len(text[tick:]) - len(text[tick:].lstrip("`"))
        closing = text.find("`" * run, tick + run)
        if closing < 0:
            return found  # an unmatched backtick is literal
        position = closing + run
    return -1


# --- line shapes shared by the parsers ------------------------------------------------------------
#
# Every shape is read in time linear in the line: patterns that could try a run of spaces or
# backticks once per position in it (`(.*?)[ \t]*$`, `(`+)(.+?)\1`) are replaced by possessive
# quantifiers and string methods.

_HEADING = re.compile(r" {0,3}+(#{1,6}+)(?:[ \t]|$)")
_LIST_ITEM = re.compile(r"([ \t]*+)(?:[-*+]|\d{1,9}+[.)])(?:[ \t]|$)")
_CHECKBOX = re.compile(r"^\[([ xX~/-])\](?:[ \t]+|$)")
# `Key` or `**Key**` up to its colon; what follows the colon is read by `key_value`. The key does
# not end in a space or tab, so that a run of them after it is crossed once, not once per length.
_KEY = re.compile(
    r"(?P<open>\*\*|__)?(?P<key>[^\W\d_][^:<>=≤≥*`|]{0,59}?)(?<![ \t])[ \t]*+"
    r"(?:(?P<close>\*\*|__)[ \t]*+:|:)"
)
_SPACE = " \t"


def heading(text: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading line (`## Title`), else None. Setext headings are not read."""
    match = _HEADING.match(text)
    if not match:
        return None
    content = text[match.end() :].strip(_SPACE)
    if content.endswith("#"):  # a closing sequence: `## Title ##`; `## ##` is an empty heading
        before = content.rstrip("#")
        if not before or before[-1] in _SPACE:
            content = before.rstrip(_SPACE)
    return len(match.group(1)), content.strip()


def list_item(text: str) -> tuple[int, str] | None:
    """(indent width, content) of a bullet or numbered list item, else None."""
    match = _LIST_ITEM.match(text)
    if not match:
        return None
    return len(match.group(1).expandtabs(4)), text[match.end() :].strip(_SPACE)


def checkbox(text: str) -> tuple[str, str] | None:
    """(mark, rest) when the text starts with a task-list checkbox (`[ ]`, `[x]`, `[~]`, `[-]`, `[/]`)."""
    if text[:1] != "[":
        return None
    match = _CHECKBOX.match(text)
    if not match:
        return None
    return match.group(1), text[match.end() :]


def key_value(text: str) -> tuple[str, str] | None:
    """(key, value) of a `Key: value` line (`**Key**: value` and `**Key:** value` too), else None.

    The key starts with a letter and holds no comparator; the colon is followed by a space or the end
    of the line (so `http://…` and `12:30` are not keys).
    """
    if ":" not in text:
        return None  # most lines: no key to look for
    text = text.strip()
    match = _KEY.match(text)
    if not match:
        return None
    after = text[match.end() :]
    value = after.lstrip(_SPACE)
    spaced = len(value) < len(after)
    close_after = None
    if value[:2] in ("**", "__") and (len(value) == 2 or value[2] in _SPACE):
        close_after, value = value[:2], value[2:]  # `**Key:** value`
    elif value and not spaced:
        return None  # `http://…`, `12:30`
    opened, closed = match.group("open"), match.group("close") or close_after
    if (opened or None) != (closed or None):
        return None
    return match.group("key").strip(), value.strip()


def code_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of each inline code span in the text, as CommonMark reads them.

    A span opens with a run of backticks and closes with the next run of the same length; a run
    that nothing closes is literal text. Linear in the text: each run is looked at once.
    """
    runs = [(m.start(), m.end() - m.start()) for m in _BACKTICKS.finditer(text)]
    following: list[int | None] = [None] * len(runs)  # the index of the next run of the same length
    last: dict[int, int] = {}
    for index in range(len(runs) - 1, -1, -1):
        following[index] = last.get(runs[index][1])
        last[runs[index][1]] = index
    spans = []
    index = 0
    while index < len(runs):
        start, size = runs[index]
        closing = following[index]
        if closing is None:
            index += 1
            continue
        end = runs[closing][0]
        spans.append((start, end + size, text[start + size : end].strip()))
        index = closing + 1
    return spans


_BACKTICKS = re.compile(r"`++")


def indent_of(text: str) -> int:
    return len(text.expandtabs(4)) - len(text.expandtabs(4).lstrip())


def strip_emphasis(text: str) -> str:
    """The text without `**`/`__` bold markers wrapping it or its parts."""
    return re.sub(r"\*\*|__", "", text).strip()
