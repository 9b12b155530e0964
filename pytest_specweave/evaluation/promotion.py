"""Promotion chooses above the tracker: the judged experiment's model becomes the next models/model-vN.pkl.

The tracker (tracking/models.py `promote_model`) copies, verifies and versions the model it is given;
which experiment that is — the judged one, the best succeeded candidate by the primary metric
(validation score first) — is decided here, by the judge's view of the store.
"""

from __future__ import annotations

from pathlib import Path

from ..tracking.models import promote_model
from .judge import JudgeContext


def promote_judged_model(judgement, *, notes=None) -> dict | None:
    """Promote the judged experiment of an IncrementJudgement (evaluation/judgement.py); see promote_best_model.

    `notes`: called for the notes to keep with a new version (tracking.models.promote_model).
    """
    return promote_model(judgement.increment_dir, judgement.judged, primary_metric=judgement.primary_metric,
                         notes=notes)


def promote_best_model(increment_dir, *, context: JudgeContext | None = None) -> dict | None:
    """Copy the judged experiment's model to the next `models/model-vN.pkl`, with its metadata.

    The judged experiment is the best succeeded candidate by the primary metric (`context`: a
    JudgeContext, built from the increment when not given). Nothing is written when it has no
    model, or when its model's sha256 equals the latest version's (tracking.models.promote_model
    says how the file is copied and checked). Returns the new version's metadata, or None when no
    new version was written; a PromotionError when a callback (the MLflow mirror) failed after it.
    """
    increment_dir = Path(increment_dir)
    if context is None:
        from ..model.increment import Increment

        context = JudgeContext.for_increment(Increment.load(increment_dir))
    return promote_model(increment_dir, context.judged_experiment(), primary_metric=context.primary_metric)
