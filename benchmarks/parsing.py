"""Cost of parsing 5 MB of pathological tasks.md, tests.md and spec.md: every parser is linear.

Budget (issue "Parsers"): each file read in under 1 s. The anchor, measured in the same run, is
the time to read the same bytes and split them into lines (`read_bytes().decode().splitlines()`);
each parse is printed as a ratio against it too, so that a slow machine is told from a slow parser.
The files mix ordinary items with lines no person writes but a fuzzer or a generator might: runs
of thousands of backticks, spaces and tabs (inside headings, list items, `Key: value` fields and
`Success metrics:` lines), unclosed code spans, many `**`, runs of dashes, chains of status words,
`<` and dots. Before the patterns were made linear, one 10,000-backtick line took 7.9 s and an
8 KB tests.md line 4 s. Figures are medians of --repeats rounds.

Usage: python benchmarks/parsing.py [--megabytes 5] [--repeats 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _timing import median_time  # benchmarks/ is the script's folder, first on sys.path

BUDGET_S = 1.0


def pathological(width: int) -> list[str]:
    """Bodies of lines that once took time quadratic or cubic in their length."""
    return [
        "`" * width,
        "`x " * (width // 3),
        "``x` " * (width // 5),
        " " * width + "x",
        "\t" * width + "x",
        "x" + " " * width + "x",
        "**" * (width // 2),
        "**x" * (width // 3),
        "-" * width + "x",
        "<" * width,
        "." * width + " x",
        " DONE" * (width // 5),
        "a" + " " * width + ":" + " " * width + "v",
    ]


def build(kind: str, size: int, width: int) -> str:
    """A markdown file of about `size` bytes: a short real part, then rounds of pathological lines."""
    head = {
        "tasks.md": "# Tasks\n\n- [ ] T-001: Train baseline — `pipeline.py::train`\n### T-002: Tune\n**Status**: [x] done\n",
        "tests.md": "## Evaluation Criteria\n- TC-001: precision@10 > 0.25\n- TC-002: no leakage — `checks.py::check`\n",
        "spec.md": "---\nprimary_metric: roc_auc\n---\n# Bench\n## Success Metrics\n- AUC > 0.8\n- Latency: <100ms inference\n",
    }[kind]
    prefixes = {
        "tasks.md": ["- [ ] T-{n:03d}: ", "### T-{n:03d}: ", "**Status**: ", "**Run**: ", "", "- "],
        "tests.md": ["- TC-{n:03d}: ", "### TC-{n:03d}: ", "**Metric**: ", "**Run**: ", "", "- "],
        "spec.md": ["- ", "- Latency: ", "- Success metrics: AUC > 0.8, ", "### ", "**AC-US1-01**: ", ""],
    }[kind]
    parts = [head]
    total, n = len(head), 0
    while total < size:
        for body in pathological(width):
            n += 1
            prefix = prefixes[n % len(prefixes)].format(n=n % 1000)
            line = f"{prefix}{body}\n"
            parts.append(line)
            total += len(line)
    return "".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=5.0, help="size of each file (default 5)")
    parser.add_argument("--width", type=int, default=20_000, help="length of a pathological run (default 20,000)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the files here and leave them (default: a temporary folder)")
    args = parser.parse_args(argv)

    from pytest_specweave.model.criteria import parse_criteria
    from pytest_specweave.model.spec import parse_spec
    from pytest_specweave.model.tasks import parse_tasks

    parsers = {"tasks.md": parse_tasks, "tests.md": parse_criteria, "spec.md": parse_spec}
    size = int(args.megabytes * 1_000_000)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{args.megabytes:g} MB per file, runs of {args.width:,} characters, median of {args.repeats}")
        for name, parse in parsers.items():
            path = folder / name
            path.write_text(build(name, size, args.width), encoding="utf-8")
            anchor = median_time(lambda: path.read_bytes().decode("utf-8").splitlines(), args.repeats, warm_up=True)
            spent = median_time(lambda: parse(path), args.repeats, warm_up=True)
            within = spent < BUDGET_S
            ok = ok and within
            print(f"{name:9s} {path.stat().st_size / 1e6:5.2f} MB  anchor (read + split lines) {anchor * 1000:7.1f} ms  "
                  f"parse {spent * 1000:8.1f} ms  ({spent / anchor:6.1f}x the anchor; budget {BUDGET_S * 1000:.0f} ms)"
                  + ("" if within else "  OVER"))
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
