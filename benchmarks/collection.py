"""Collecting SpecWeave-shaped increments against collecting as many items from plain .py test files.

Budget (design.md): reading N real increments collects no slower than the same number of plain .py
test files holding the same number of items. Builds N increments shaped like SpecWeave's
(_specweave_shaped.py: long spec.md and tasks.md, metadata.json, some linked pipeline code), counts
the items they collect, writes N test modules holding that many test functions in all, then times
`pytest --collect-only -q` on each (medians, same run).
Usage: python benchmarks/collection.py [--increments 300] [--runs 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from _specweave_shaped import write_increment
from _timing import median_time


def build_increments(root: Path, count: int) -> Path:
    increments = root / "a" / "increments"
    for n in range(1, count + 1):
        write_increment(increments, n)
    (root / "a" / "pytest.ini").write_text("[pytest]\n")
    return increments


def build_plain(root: Path, files: int, items: int) -> Path:
    """`files` test modules holding `items` test functions in all."""
    plain = root / "b" / "tests"
    plain.mkdir(parents=True)
    for n in range(files):
        share = items // files + (n < items % files)
        (plain / f"test_module_{n:04d}.py").write_text(
            "".join(f"def test_{i}():\n    assert {i} == {i}\n\n\n" for i in range(share)))
    (root / "b" / "pytest.ini").write_text("[pytest]\n")
    return plain


def collect(path: Path) -> int:
    """The number of items `pytest --collect-only -q` collects under `path`."""
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(path)],
                            capture_output=True, text=True, cwd=path.parent)
    if result.returncode != 0:
        raise SystemExit(result.stdout + result.stderr)
    return sum("::" in line for line in result.stdout.splitlines())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--increments", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        increments = build_increments(Path(tmp), args.increments)
        markdown = sum(len(f.read_text(encoding="utf-8").splitlines()) for f in increments.rglob("*.md"))
        items = collect(increments)
        plain = build_plain(Path(tmp), args.increments, items)
        plain_items = collect(plain)
        ours = median_time(lambda: collect(increments), args.runs, warm_up=True)
        anchor = median_time(lambda: collect(plain), args.runs, warm_up=True)
    print(f"collect-only, medians of {args.runs} runs")
    print(f"  {args.increments} SpecWeave-shaped increments ({markdown} markdown lines), {items} items: {ours * 1000:8.1f} ms")
    print(f"  {args.increments} .py files, {plain_items} items (anchor):      {anchor * 1000:8.1f} ms")
    print(f"  ratio {ours / anchor:.3f} (budget: 1.0)")
    print("collection: " + ("within budget" if ours <= anchor else "OVER BUDGET"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
