"""Cost of one `log_metric` call: the local store vs `mlflow.log_metric` on SQLite (its anchor), and 100,000 steps.

Budgets (docs: design "Budgets"): at most 20 µs per call, at least 100x faster than
mlflow.log_metric on a SQLite store, 100,000 steps of one metric in under 2 s. Everything is
measured in this run, in a temporary folder; figures are medians of --repeats rounds.

Usage: python benchmarks/log_metric.py [--calls 20000] [--mlflow-calls 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BUDGET_US = 20.0
BUDGET_RATIO = 100.0
BUDGET_STEPS_S = 2.0
STEPS = 100_000


def make_increment(root: Path) -> Path:
    folder = root / "increments" / "0001-bench"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("# Bench\n")
    return folder


def ours_per_call(increment: Path, calls: int, repeats: int) -> float:
    """Median µs per log_metric(key, value, step=i) on one open experiment."""
    from pytest_specweave import track_experiment

    rounds = []
    with track_experiment("per-call", increment=increment) as exp:
        log = exp.log_metric
        for i in range(1000):  # warm-up: first-call costs (key JSON, descriptor)
            log("loss", 0.5, step=i)
        for r in range(repeats):
            base = (r + 1) * calls
            started = time.perf_counter()
            for i in range(base, base + calls):
                log("loss", 1.0 / (i + 1), step=i)
            rounds.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(rounds)


def ours_steps(increment: Path, repeats: int) -> float:
    """Median seconds for 100,000 steps of one metric: open, log every step, finish."""
    from pytest_specweave import track_experiment

    rounds = []
    for r in range(repeats):
        started = time.perf_counter()
        with track_experiment(f"steps-{r}", increment=increment) as exp:
            log = exp.log_metric
            for step in range(STEPS):
                log("loss", 1.0 / (step + 1), step=step)
        rounds.append(time.perf_counter() - started)
    return statistics.median(rounds)


def mlflow_per_call(root: Path, calls: int, repeats: int) -> float | None:
    """Median µs per mlflow.log_metric on a SQLite store (database created before timing)."""
    try:
        import mlflow
    except ImportError:
        return None
    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(f"sqlite:///{(root / 'anchor.db').as_posix()}")
    mlflow.set_experiment("bench-anchor")
    rounds = []
    with mlflow.start_run():
        for i in range(20):  # warm-up
            mlflow.log_metric("loss", 0.5, step=i)
        for r in range(repeats):
            base = (r + 1) * calls
            started = time.perf_counter()
            for i in range(base, base + calls):
                mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
            rounds.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000, help="log_metric calls per round, ours")
    parser.add_argument("--mlflow-calls", type=int, default=200, help="mlflow.log_metric calls per round")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        increment = make_increment(root)
        ours = ours_per_call(increment, args.calls, args.repeats)
        steps = ours_steps(increment, args.repeats)
        anchor = mlflow_per_call(root, args.mlflow_calls, args.repeats)
    ok = ours <= BUDGET_US and steps < BUDGET_STEPS_S
    print(f"log_metric, medians of {args.repeats} rounds")
    print(f"  ours (JSON lines journal):          {ours:10.2f} µs per call   (budget {BUDGET_US:.0f} µs)")
    if anchor is None:
        print("  mlflow.log_metric on SQLite:        (mlflow not installed: no anchor, no ratio)")
    else:
        ratio = anchor / ours
        ok = ok and ratio >= BUDGET_RATIO
        print(f"  mlflow.log_metric on SQLite (anchor): {anchor:8.1f} µs per call")
        print(f"  ratio anchor / ours:               {ratio:10.0f}x            (budget >= {BUDGET_RATIO:.0f}x)")
    print(f"  {STEPS:,} steps of one metric (open, log, finish): {steps:.3f} s (budget < {BUDGET_STEPS_S:.0f} s)")
    print(f"log_metric: {'within budget' if ok else 'OVER BUDGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
