"""Cost of mirroring one experiment to MLflow vs doing the same by hand with MLflow's client (the anchor).

The mirror, per experiment: read the run's journal, make names safe, create the MLflow run, one
`log_batch`, end it, record the run id in meta.json. The anchor, per experiment: the same run
created by hand from data already in memory (`MlflowClient.create_run` with the same tags, one
`log_batch` with the same params and metric values, `set_terminated`). Both write to one SQLite
database (created before timing); they alternate, and the figures are medians. Budget: the mirror
costs at most 1.5x the anchor.

Usage: python benchmarks/mlflow_mirror.py [--experiments 30] [--params 20] [--metrics 10] [--steps 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BUDGET_RATIO = 1.5


def make_increment(root: Path) -> Path:
    folder = root / "increments" / "0001-bench"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("# Bench\n")
    return folder


def tracked(increment: Path, index: int, args):
    """A finished experiment (tracked with mirroring off): params, and metrics with steps."""
    from pytest_specweave import track_experiment

    with track_experiment(f"candidate-{index}", increment=increment, task="T-004") as exp:
        exp.log_params({f"param_{p}": p * 0.5 for p in range(args.params)})
        for step in range(args.steps):
            exp.log_metrics({f"metric_{m}@10": 1.0 / (step + m + 1) for m in range(args.metrics)}, step=step)
    return exp


def by_hand(client, experiment_id: str, payload: dict) -> None:
    """What a user would write with MLflow's client, given the same data in memory."""
    from mlflow.entities import Metric, Param

    run = client.create_run(experiment_id, start_time=payload["start_time"], tags=payload["tags"],
                            run_name=payload["run_name"])
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(k, v, t, s) for k, v, s, t in payload["metrics"]],
        params=[Param(k, v) for k, v in payload["params"]],
    )
    client.set_terminated(run.info.run_id, status="FINISHED", end_time=payload["end_time"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=30)
    parser.add_argument("--params", type=int, default=20)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    if args.params > 100 or args.params + args.metrics * args.steps > 1000:
        parser.error("keep one experiment within one MLflow batch (<= 100 params, <= 1000 entries in all)")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        import mlflow  # noqa: F401 - imported before timing, by both sides
    except ImportError:
        print("mlflow is not installed: nothing to measure")
        return 0
    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    from mlflow.tracking import MlflowClient

    from pytest_specweave.tracking import mlflow_mirror
    from pytest_specweave.tracking.mlflow_mirror import configure_mlflow, mirror_finished_experiment, run_payload

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        increment = make_increment(root)
        experiments = [tracked(increment, i, args) for i in range(args.experiments + 1)]
        uri = configure_mlflow(increment)  # the default: sqlite:///<increment>/mlflow.db
        client = MlflowClient(tracking_uri=uri)
        mirror_finished_experiment(experiments[0])  # warm-up: database, MLflow experiment, client
        anchor_experiment = client.create_experiment("anchor", artifact_location=(root / "anchor").as_uri())
        payloads = [run_payload(increment, e.path, e.meta, e.params) for e in experiments[1:]]
        by_hand(client, anchor_experiment, payloads[0])  # warm-up
        ours, anchor = [], []
        for exp, payload in zip(experiments[1:], payloads):
            started = time.perf_counter()
            mirror_finished_experiment(exp)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            by_hand(client, anchor_experiment, payload)
            anchor.append(time.perf_counter() - started)
        mirrored = sum(1 for e in experiments if "mlflow" in e.meta)
        mlflow_mirror.restore_state(None)
    if mirrored != len(experiments):
        print(f"only {mirrored} of {len(experiments)} experiments were mirrored")
        return 1
    ours_ms, anchor_ms = statistics.median(ours) * 1000, statistics.median(anchor) * 1000
    ratio = ours_ms / anchor_ms
    values = args.metrics * args.steps
    print(f"mirroring one experiment to MLflow on SQLite ({args.params} params, {values} metric values),"
          f" median of {args.experiments}")
    print(f"  the mirror (journal read, safe names, run, one log_batch, end, meta.json): {ours_ms:7.2f} ms")
    print(f"  by hand with MlflowClient (create_run, one log_batch, set_terminated):     {anchor_ms:7.2f} ms  (anchor)")
    print(f"  ratio mirror / anchor: {ratio:.2f}x  (budget <= {BUDGET_RATIO}x)")
    print(f"mlflow mirror: {'within budget' if ratio <= BUDGET_RATIO else 'OVER BUDGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
