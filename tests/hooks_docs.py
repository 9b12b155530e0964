"""The runnable examples of docs/hooks.md, for the tests that run them.

A fenced block preceded by `<!-- example: NAME file: PATH -->` is file PATH of example NAME.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"
_BLOCK = re.compile(r"<!-- example: (?P<name>[\w-]+) file: (?P<path>\S+) -->\s*\n```[\w-]*\n(?P<body>.*?)\n```",
                    re.DOTALL)


def docs_example(name: str) -> dict[str, str]:
    """{relative path: text} of the example `name` in docs/hooks.md (an AssertionError when it has none)."""
    files = {m["path"]: m["body"] + "\n" for m in _BLOCK.finditer(DOCS.read_text(encoding="utf-8"))
             if m["name"] == name}
    assert files, f"docs/hooks.md has no example named {name!r}"
    return files


def write_example(root: Path, name: str) -> dict[str, str]:
    files = docs_example(name)
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return files
