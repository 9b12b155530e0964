"""The experiment-finished hook: the tracker's finish listener (tracking/events.py), passed on to pytest.

Each pytest process (the controller and every xdist worker) connects at configure and disconnects at
unconfigure; an experiment that finishes is told to the innermost session of its process (a nested
pytester run, not the run around it), with its record as the store reads it back.
"""

from __future__ import annotations

import sys

import pytest

from ..tracking import events

HOOK = "pytest_specweave_experiment_finished"
_SESSIONS: list[pytest.Config] = []


def connect(config: pytest.Config) -> None:
    _SESSIONS.append(config)
    events.on_finish(experiment_finished)
    wandb = sys.modules.get("pytest_specweave.integrations.wandb")
    if wandb is not None:  # mirroring configured before the session: its hook implementation joins it
        wandb.attach(config)


def disconnect(config: pytest.Config) -> None:
    if config in _SESSIONS:
        _SESSIONS.remove(config)
    if not _SESSIONS:
        events.off_finish(experiment_finished)


def active_config() -> pytest.Config | None:
    """The config of the innermost pytest session of this process, None outside pytest."""
    return _SESSIONS[-1] if _SESSIONS else None


def experiment_finished(experiment) -> None:
    from .hook_calls import call_each, implemented  # at the first finished experiment, not at start-up

    config = active_config()
    if config is None or not implemented(config, HOOK):
        return
    if getattr(experiment, "status", None) == "discarded":
        return
    record = experiment.store.read(experiment.folder)
    call_each(config, HOOK, experiment=experiment, record=record)
