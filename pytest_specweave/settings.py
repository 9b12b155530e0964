"""Run-wide settings that the plain-Python parts read, set by the pytest layer from its options."""

from __future__ import annotations

import os

CONFIDENCE_ENV = "PYTEST_SPECWEAVE_CONFIDENCE"
DEFAULT_CONFIDENCE = 0.95


def confidence_level() -> float:
    """The level of the intervals the plugin computes (`--sw-confidence`; 0.95 unless set).

    Intervals logged with `ci=` keep the level they were logged with.
    """
    raw = os.environ.get(CONFIDENCE_ENV)
    if not raw:
        return DEFAULT_CONFIDENCE
    try:
        level = float(raw)
    except ValueError:
        return DEFAULT_CONFIDENCE
    return level if 0.0 < level < 1.0 else DEFAULT_CONFIDENCE
