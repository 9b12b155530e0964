"""Collecting SpecWeave-shaped increments against collecting as many items from plain .py test files.

Budget (design.md): reading N real increments collects no slower than the same number of plain .py
test files holding the same number of items. Builds N increments shaped like SpecWeave's
(_specweave_shaped.py: long spec.md and tasks.md, metadata.json, some linked pipeline code), counts
the items they collect, writes N test modules holding that many test functions in all, then times
`pytest --collect-only -q` on each, alternately (medians of wall time and of the pytest process's CPU
time, which a machine busy with other work disturbs less).
Usage: python benchmarks/collection.py [--increments 300] [--runs 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
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
        ours, anchor = Timings(), Timings()
        for _ in range(args.runs):  # alternately, so that a busy machine slows both alike
            ours.add(lambda: collect(increments))
            anchor.add(lambda: collect(plain))
    print(f"collect-only, medians of {args.runs} runs (wall time; CPU time of the pytest process)")
    print(f"  {args.increments} SpecWeave-shaped increments ({markdown} markdown lines), {items} items: {ours}")
    print(f"  {args.increments} .py files, {plain_items} items (anchor): {anchor}")
    wall, cpu = ours.wall / anchor.wall, ours.cpu / anchor.cpu
    print(f"  ratio {wall:.3f} wall, {cpu:.3f} CPU (budget: 1.0)")
    print("collection: " + ("within budget" if cpu <= 1.0 else "OVER BUDGET") + " (judged on CPU time)")
    return 0


class Timings:
    """Wall and child-process CPU times of repeated calls; their medians."""

    def __init__(self):
        self.walls: list[float] = []
        self.cpus: list[float] = []

    def add(self, fn) -> None:
        before = _children_cpu()
        self.walls.append(median_time(fn, 1))
        self.cpus.append(_children_cpu() - before)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)

    def __str__(self) -> str:
        return f"{self.wall * 1000:8.1f} ms wall, {self.cpu * 1000:8.1f} ms CPU"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    sys.exit(main())
