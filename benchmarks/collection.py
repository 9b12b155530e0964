"""Collecting increments against collecting the same number of items from plain .py test files.

Budget (design.md): collecting N increments costs no more than collecting as many items from .py
files. Builds N increments (10 linked tasks, 3 success metrics, 5 criteria each, one pipeline.py)
and N test modules of 18 test functions, then times `pytest --collect-only -q` on each, alternately.
Usage: python benchmarks/collection.py [--increments 50] [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """# Model {n}

## Success Metrics
- Success metrics: accuracy > 0.8, f1 >= 0.7
- Latency: <100ms inference
"""
TESTS = "## Evaluation Criteria\n" + "".join(f"- TC-00{i}: accuracy > 0.{i}\n" for i in range(1, 6))
TASKS = "# Tasks\n\n" + "".join(f"- [ ] T-0{i:02d}: Step {i} — `pipeline.py::step_{i}`\n" for i in range(1, 11))
PIPELINE = "".join(f"def step_{i}(experiment):\n    experiment.log_metric('accuracy', 0.9)\n\n\n" for i in range(1, 11))
PLAIN = "".join(f"def test_{i}():\n    assert {i} == {i}\n\n\n" for i in range(18))


def build(root: Path, count: int) -> tuple[Path, Path]:
    increments, plain = root / "a" / "increments", root / "b" / "tests"
    for n in range(count):
        folder = increments / f"{n + 1:04d}-model-{n}"
        folder.mkdir(parents=True)
        (folder / "spec.md").write_text(SPEC.format(n=n))
        (folder / "tasks.md").write_text(TASKS)
        (folder / "tests.md").write_text(TESTS)
        (folder / "pipeline.py").write_text(PIPELINE)
        (folder / "experiments").mkdir()
    plain.mkdir(parents=True)
    for n in range(count):
        (plain / f"test_module_{n:04d}.py").write_text(PLAIN)
    for top in (root / "a", root / "b"):
        (top / "pytest.ini").write_text("[pytest]\n")
    return increments, plain


def collect(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(path)],
                            capture_output=True, text=True, cwd=path.parent)
    elapsed = time.perf_counter() - started
    items = sum("::" in line for line in result.stdout.splitlines())
    if result.returncode != 0:
        raise SystemExit(result.stdout + result.stderr)
    return elapsed, items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--increments", type=int, default=50)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        increments, plain = build(Path(tmp), args.increments)
        collect(increments), collect(plain)
        ours, anchor = [], []
        for _ in range(args.runs):
            elapsed, ours_items = collect(increments)
            ours.append(elapsed)
            elapsed, plain_items = collect(plain)
            anchor.append(elapsed)
    on, off = statistics.median(ours), statistics.median(anchor)
    print(f"collect-only, medians of {args.runs} runs")
    print(f"  {args.increments} increments, {ours_items} items:    {on * 1000:8.1f} ms")
    print(f"  {args.increments} .py files, {plain_items} items (anchor): {off * 1000:8.1f} ms")
    print(f"  ratio {on / off:.3f} (budget: 1.0)")
    print("collection: " + ("within budget" if on <= off * 1.0 else "OVER BUDGET"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
