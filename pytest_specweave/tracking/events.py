"""Who is told when an experiment run finishes: listeners called with the Experiment once its final record is written.

The tracker knows nothing of what a listener does: the MLflow mirror is one, and the pytest layer
registers one that calls the `pytest_specweave_experiment_finished` hook. A listener that raises
is reported as a TrackingWarning and never changes the run's record.

Stdlib only: the pytest plugin registers its listener at configure.
"""

from __future__ import annotations

import warnings

LISTENERS: list = []


def on_finish(listener) -> None:
    """Call `listener(experiment)` after every experiment of this process finishes (once each)."""
    if listener not in LISTENERS:
        LISTENERS.append(listener)


def off_finish(listener) -> None:
    """Stop calling `listener` (nothing happens when it was not registered)."""
    if listener in LISTENERS:
        LISTENERS.remove(listener)


def finished(experiment) -> None:
    """Tell every listener that `experiment` finished (its final meta.json and metrics.json are written)."""
    for listener in list(LISTENERS):
        try:
            listener(experiment)
        except Exception as err:  # noqa: BLE001 - a listener never breaks tracking
            from .store import TrackingWarning

            warnings.warn(
                f"{experiment.folder}: {getattr(listener, '__qualname__', listener)} failed after finish:"
                f" {type(err).__name__}: {err}",
                TrackingWarning,
                stacklevel=3,
            )
