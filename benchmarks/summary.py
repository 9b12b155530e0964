"""Cost of COMPLETION-SUMMARY.md for a store of 1,000 experiments x 20 metrics, without and with charts.

Budgets (issue "Reports"): under 0.5 s without charts, under 3 s with them. The anchor, measured
in the same run, is the time to just read the store (ExperimentStore.records()); the report
figures are printed as ratios against it too. The store is built in a temporary folder through
the real tracker: 5 baselines and 995 candidates of a binary classifier, each logging 20 final
metrics (one of them, `loss`, over 10 steps) and the hash of the same evaluation data (1,000 lines
in the evaluation ledger; the targets are recorded as a session does), the best one with a model,
a predictions artifact (20,000 rows) and feature_importance.csv, as the evaluation helpers write
them. Figures are medians of --repeats rounds; each round rebuilds the reports from the store on disk, as
`pytest-specweave summary` does.

Usage: python benchmarks/summary.py [--experiments 1000] [--repeats 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _timing import median_time  # benchmarks/ is the script's folder, first on sys.path

BUDGET_PLAIN_S = 0.5
BUDGET_CHARTS_S = 3.0

SPEC = """---
primary_metric: roc_auc
problem_type: classification
---
# Churn classifier (benchmark)

## ML Problem Definition
- Success metrics: ROC AUC >= 0.85, F1 > 0.6

## Model Requirements
- Latency: <50ms inference
- Throughput: 500 req/sec
- Accuracy: Better than random baseline by 1.5x
"""

TASKS = """# Tasks

- [x] T-001: Train baselines — `pipeline.py::baselines`
- [x] T-002: Train candidates — `pipeline.py::candidates`
- [x] T-003: Explain the best model — `pipeline.py::explain`
- [x] T-004: A/B test plan
"""

TESTS = """## Evaluation Criteria
- TC-001: roc_auc >= 0.85
- TC-002: latency < 50ms
- TC-003: explainability artifacts present
- TC-004: artifact model.pkl present
"""

METRICS = ("accuracy", "precision", "recall", "f1", "pr_auc", "log_loss", "brier", "latency_p50_ms",
           "latency_p95_ms", "latency_p99_ms", "throughput_rps", "training_time_s", "model_size_bytes",
           "val_roc_auc", "val_accuracy", "val_f1", "cv_std", "ece")  # + roc_auc + loss = 20


def build_store(root: Path, n_experiments: int) -> Path:
    """An increment with `n_experiments` experiments of 20 metrics each, written through the tracker."""
    import numpy as np

    from pytest_specweave import track_experiment

    folder = root / "increments" / "0001-bench"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text(SPEC, encoding="utf-8")
    (folder / "tasks.md").write_text(TASKS, encoding="utf-8")
    (folder / "tests.md").write_text(TESTS, encoding="utf-8")
    (folder / "ab-test-plan.md").write_text("# A/B test plan\n\n50/50 split, two weeks.\n", encoding="utf-8")
    rng = np.random.default_rng(0)
    n_baselines = 5
    best = n_experiments - 7
    eval_targets = rng.integers(0, 2, 2_000).astype(float)
    for i in range(n_experiments):
        baseline = i < n_baselines
        name = ("baseline-random" if i == 0 else f"baseline-{i}") if baseline else f"candidate-{i:04d}"
        quality = 0.5 if baseline else 0.70 + 0.2 * rng.random()
        if i == best:
            quality = 0.93
        with track_experiment(name, baseline=baseline, increment=folder, task="T-001" if baseline else "T-002") as exp:
            exp.log_params({"algorithm": "dummy" if baseline else ("xgboost", "lightgbm", "logreg")[i % 3],
                            "max_depth": int(rng.integers(2, 10)), "learning_rate": float(rng.random())})
            for step in range(10):
                exp.log_metric("loss", 1.0 / (1 + step * quality) + 0.01 * rng.random(), step=step)
            values = {"roc_auc": quality}
            for key in METRICS:
                values[key] = float(rng.random()) * (100 if key.endswith("_ms") or key.endswith("rps") else 1)
            exp.log_metrics(values)
            exp.log_input(eval_targets, role="eval_targets")  # as compute_metrics does: one ledger line each
            if i == best:
                _best_artifacts(exp, rng)
    return folder


def _best_artifacts(exp, rng) -> None:
    import numpy as np

    exp.save_artifact({"weights": list(range(1000))}, "model.pkl")
    y = rng.integers(0, 2, 20_000)
    score = np.clip(0.35 * y + 0.65 * rng.random(20_000), 0, 1)
    exp.log_predictions(y, (score >= 0.5).astype(int), y_score=score)
    rows = ["rank,feature,importance_mean,importance_std,shap_mean_abs"]
    rows += [f"{r},feature_{r},{0.2 / r:.6g},{0.01 / r:.6g}," for r in range(1, 31)]
    exp.save_report("feature_importance.csv", "\n".join(rows) + "\n")
    exp.save_report("explanations.md", "# Example explanations\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the store here and leave it (default: a temporary folder)")
    args = parser.parse_args(argv)

    import warnings

    from pytest_specweave.evaluation.judge import JudgeContext
    from pytest_specweave.model.increment import Increment
    from pytest_specweave.reports.summary import targets_of, write_summary
    from pytest_specweave.tracking.store import ExperimentStore
    from pytest_specweave.tracking.targets import record_targets

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        if args.keep:
            root.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        folder = build_store(root, args.experiments)
        record_targets(folder, targets_of(Increment.load(folder)))  # as a pytest session does after its run
        print(f"store: {args.experiments} experiments x 20 metrics built in {time.perf_counter() - started:.1f} s ({folder})")
        warnings.simplefilter("ignore")

        def read():
            ExperimentStore(folder).records()

        def summary(charts: bool):
            increment = Increment.load(folder)
            write_summary(increment, None, JudgeContext.for_increment(increment), charts=charts)

        started = time.perf_counter()
        summary(True)  # the first call imports matplotlib (and numpy): what one pytest run pays once
        first = time.perf_counter() - started
        anchor = median_time(read, args.repeats)
        plain = median_time(lambda: summary(False), args.repeats)
        charted = median_time(lambda: summary(True), args.repeats)
        charts = sorted(p.name for p in (folder / "charts").glob("*.png"))

    print(f"anchor: read the store (ExperimentStore.records())   {anchor * 1000:8.1f} ms")
    print(f"summary without charts                               {plain * 1000:8.1f} ms  "
          f"({plain / anchor:.2f}x the anchor; budget {BUDGET_PLAIN_S * 1000:.0f} ms)")
    print(f"summary with charts ({len(charts)} PNG)                         {charted * 1000:8.1f} ms  "
          f"({charted / anchor:.2f}x the anchor; budget {BUDGET_CHARTS_S * 1000:.0f} ms)")
    print(f"first summary with charts in this process                {first * 1000:8.1f} ms  "
          "(includes importing matplotlib; not part of the budget)")
    print("charts: " + ", ".join(charts))
    ok = plain < BUDGET_PLAIN_S and charted < BUDGET_CHARTS_S
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
