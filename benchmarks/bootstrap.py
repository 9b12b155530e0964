"""Bootstrap intervals over 100,000 predictions (budget: 2 s for metrics that average over rows).

For each metric, times `bootstrap_ci` (median of --repeats runs) as the library computes it now:
an exact Clopper–Pearson interval for a proportion of independent rows (accuracy here: no
resampling at all), else a BCa bootstrap from per-row evidence (rows reduced to at most 2,000
pseudo-units, resample weights as one matrix) for rmse, mae, precision@10 and ndcg@10, and
per-resample rank counts over the rows for roc_auc. --resamples is passed as `n_resamples`, a
minimum: the library may draw more (it starts at 2,000, and doubles near a decision); the
resamples it reports are printed. The anchor, measured in the same run, is a naive loop that
recomputes the metric on each resample's rows (scikit-learn's function, or the ranking metric
rebuilt from the resampled users), timed on fewer resamples and scaled to the resamples the
library drew (to --resamples for an exact interval, which draws none). Prints seconds, the
speed-up over the anchor, and the verdict against the budget.

Usage: python benchmarks/bootstrap.py [--rows 100000] [--resamples 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUDGET_S = 2.0
ROW_AVERAGED = ("accuracy", "rmse", "mae", "precision@10")  # the budget's metrics; roc_auc, ndcg@10 are reported


def make_data(n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)  # 100,000 distinct scores: the worst case for rank counts
    target = rng.normal(100, 20, n)
    value = target + rng.normal(0, 10, n)
    n_items = 2000
    relevant = [set(rng.choice(n_items, 5, replace=False).tolist()) for _ in range(n)]
    pool = np.argsort(rng.random((512, n_items)), axis=1)[:, :10]  # distinct items per list
    recommended = pool[rng.integers(0, len(pool), n)]
    return {"y": y, "score": score, "labels": (score >= 0.5).astype(int), "target": target, "value": value,
            "relevant": relevant, "recommended": recommended}


def cases(d):
    """metric -> (bootstrap_ci arguments, naive recompute of one resample from its row indices, naive resamples)."""
    from sklearn import metrics as skm

    from pytest_specweave.evaluation.ranking import RankedLists

    def ranking(name):
        def recompute(rows):
            return RankedLists([d["relevant"][i] for i in rows], d["recommended"][rows]).metric(name, 10)

        return recompute

    return {
        "accuracy": ((d["y"], d["labels"]), lambda r: skm.accuracy_score(d["y"][r], d["labels"][r]), 20),
        "rmse": ((d["target"], d["value"]), lambda r: math.sqrt(skm.mean_squared_error(d["target"][r], d["value"][r])), 20),
        "mae": ((d["target"], d["value"]), lambda r: skm.mean_absolute_error(d["target"][r], d["value"][r]), 20),
        "precision@10": ((d["relevant"], d["recommended"]), ranking("precision"), 3),
        "roc_auc": ((d["y"], d["score"]), lambda r: skm.roc_auc_score(d["y"][r], d["score"][r]), 10),
        "ndcg@10": ((d["relevant"], d["recommended"]), ranking("ndcg"), 3),
    }


def naive_seconds(recompute, n: int, resamples: int, scaled_to: int) -> float:
    import numpy as np

    rng = np.random.default_rng(1)
    start = time.perf_counter()
    for _ in range(resamples):
        recompute(rng.integers(0, n, n))
    return (time.perf_counter() - start) * scaled_to / resamples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=2000, help="n_resamples: a minimum")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from pytest_specweave.evaluation.validation import bootstrap_ci

    data = make_data(args.rows)
    print(f"bootstrap_ci: n_resamples={args.resamples} (a minimum) over {args.rows:,} rows"
          f" (median of {args.repeats} runs)")
    print(f"{'metric':<14}{'bootstrap_ci':>14}{'resamples':>11}{'naive (scaled)':>16}{'speed-up':>10}  method / verdict")
    failed = False
    for name, (arrays, recompute, naive_resamples) in cases(data).items():
        runs, result = [], None
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = bootstrap_ci(name, *arrays, n_resamples=args.resamples, seed=0)
            runs.append(time.perf_counter() - start)
        fast = statistics.median(runs)
        drawn = result.n_resamples  # 0 for an exact interval
        naive = naive_seconds(recompute, args.rows, naive_resamples, drawn or args.resamples)
        if name in ROW_AVERAGED:
            ok = fast < BUDGET_S
            failed |= not ok
            verdict = f"{'PASS' if ok else 'FAIL'} (budget {BUDGET_S:.0f} s)"
        else:
            verdict = "reported (no budget)"
        if drawn and drawn < args.resamples:
            verdict += f"; fewer resamples than the {args.resamples} asked for"
        print(f"{name:<14}{fast:>12.2f} s{drawn or '-':>11}{naive:>14.1f} s{naive / fast:>9.0f}x  {result.method};"
              f" {verdict}  [{result.low:.4g}, {result.high:.4g}]")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
