"""Start-up cost of the plugin on a pytest run that has no increments (budget: 15 ms).

Runs pytest over a folder of plain tests, alternately with the plugin and with
`-p no:pytest_specweave`, and prints the medians, their difference and ratio, and the import
time of the entry module. Usage: python benchmarks/startup.py [--runs 15] [--files 40]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_MS = 15.0


def make_plain_tests(folder: Path, files: int) -> None:
    for number in range(files):
        (folder / f"test_plain_{number:03d}.py").write_text(
            "".join(f"def test_{i}():\n    assert {i} + 1 == {i + 1}\n\n" for i in range(5)))


def time_pytest(folder: Path, extra: list[str]) -> float:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder), *extra]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=folder)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"pytest failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def import_time() -> float:
    code = ("import pytest, time; t = time.perf_counter(); import pytest_specweave.plugin; "
            "print(time.perf_counter() - t)")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(9)]
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--files", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_plain_tests(folder, args.files)
        (folder / "pytest.ini").write_text("[pytest]\n")
        with_plugin, without = [], []
        time_pytest(folder, [])  # warm the file cache
        for _ in range(args.runs):
            with_plugin.append(time_pytest(folder, []))
            without.append(time_pytest(folder, ["-p", "no:pytest_specweave"]))
    on, off = statistics.median(with_plugin), statistics.median(without)
    added_ms = (on - off) * 1000
    entry_ms = import_time() * 1000
    print(f"plain pytest, {args.files} files x 5 tests, {args.runs} runs each (medians)")
    print(f"  with the plugin:     {on * 1000:8.1f} ms")
    print(f"  -p no:pytest_specweave: {off * 1000:5.1f} ms  (anchor)")
    print(f"  added by the plugin: {added_ms:8.1f} ms  (ratio {on / off:.3f}; budget {BUDGET_MS:.0f} ms)")
    print(f"  entry module import: {entry_ms:8.2f} ms")
    verdict = "within budget" if added_ms <= BUDGET_MS else "OVER BUDGET"
    print(f"startup: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
