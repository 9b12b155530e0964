"""Scorings of evaluation data made outside the tracker (a pilot, a notebook, a run from before the
ledger existed), recorded in the evaluation ledger so that the summary counts them."""

from __future__ import annotations

from ..tracking.ledger import Evaluation, append_outside_scoring


def record_outside_scoring(increment_dir, *, label: str, note: str, y_true=None, sha256: str | None = None,
                           when: str | None = None, baseline: bool = False) -> Evaluation:
    """Record in experiments/evaluations.jsonl a scoring of evaluation data that no tracked run logged.

    The data is named by `y_true` (the evaluation targets, hashed exactly as `compute_metrics(...,
    experiment=exp)` hashes them) or by its `sha256` (as the ledger or a run's meta.json shows it).
    `label` names the scoring ("pilot A"); `note` says what was scored and what came out; `when` is
    its time (ISO-8601, a date is enough) when known. Recording the same label for the same data
    again adds nothing (the call can sit in a script run more than once); the line is returned.
    """
    if (y_true is None) == (sha256 is None):
        raise ValueError("give the scored evaluation data as exactly one of y_true= (its targets) and sha256=")
    if sha256 is None:
        sha256 = eval_targets_hash(y_true)
    return append_outside_scoring(increment_dir, sha256, label=label, note=note, when=when, baseline=baseline)


def eval_targets_hash(y_true) -> str:
    """The sha256 that `compute_metrics(..., experiment=exp)` records for these evaluation targets."""
    from ..tracking.experiment import _hash_data_object
    from .metrics import record_eval_targets

    class _Digest:  # stands in for an experiment: record_eval_targets hashes through log_input
        def log_input(self, data, *, role):
            if isinstance(data, (bytes, bytearray)):
                import hashlib

                return hashlib.sha256(bytes(data)).hexdigest()
            return _hash_data_object(data)[0]

    return record_eval_targets(_Digest(), y_true)
