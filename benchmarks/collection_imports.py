"""Collecting an increment whose pipeline imports heavy libraries against one whose pipeline does not.

Budget: the same cost (ratio < 1.2): collection reads the linked code's source and imports nothing,
so --collect-only and an IDE re-discovering tests never pay for `import sklearn, pandas`.
Builds two copies of a 6-item increment (6 linked tasks), differing only in the pipeline's first line,
and times `pytest --collect-only -q` on each, alternately.
Usage: python benchmarks/collection_imports.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASKS = "# Tasks\n\n" + "".join(f"- [ ] T-00{i}: Step {i} — `pipeline.py::step_{i}`\n" for i in range(1, 7))
STEPS = "".join(f"def step_{i}(experiment):\n    experiment.log_metric('accuracy', 0.9)\n\n\n" for i in range(1, 7))
HEAVY = "import pandas\nimport sklearn\nimport sklearn.linear_model\n\n\n"


def build(root: Path, heavy: bool) -> Path:
    folder = root / "increments" / "0001-model"
    folder.mkdir(parents=True)
    (folder / "tasks.md").write_text(TASKS)
    (folder / "pipeline.py").write_text((HEAVY if heavy else "") + STEPS)
    (folder / "experiments").mkdir()
    (root / "pytest.ini").write_text("[pytest]\n")
    return root / "increments"


def collect(path: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(path)],
                            capture_output=True, text=True, cwd=path.parent)
    elapsed = time.perf_counter() - started
    items = sum("::" in line for line in result.stdout.splitlines())
    if result.returncode != 0 or items != 6:
        raise SystemExit(result.stdout + result.stderr)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        heavy, light = build(Path(tmp) / "heavy", True), build(Path(tmp) / "light", False)
        collect(heavy), collect(light)
        on, off = [], []
        for _ in range(args.runs):
            on.append(collect(heavy))
            off.append(collect(light))
    on, off = statistics.median(on), statistics.median(off)
    print(f"collect-only of a 6-item increment, medians of {args.runs} runs")
    print(f"  pipeline imports sklearn, pandas: {on * 1000:8.1f} ms")
    print(f"  pipeline imports nothing:         {off * 1000:8.1f} ms")
    print(f"  ratio {on / off:.3f} (budget: < 1.2)")
    print("collection: " + ("within budget" if on < off * 1.2 else "OVER BUDGET"))
    return 0 if on < off * 1.2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
