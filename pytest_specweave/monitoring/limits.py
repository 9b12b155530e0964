"""The drift limits an increment sets: its spec's `Drift:` line (model.thresholds, kind "drift")."""

from __future__ import annotations

from pathlib import Path

from .drift import PSI_LIMIT, DriftLimits


def limits_of(threshold, fallback: DriftLimits | None = None) -> DriftLimits:
    """The limits a drift threshold writes, the rest from `fallback` (or the defaults)."""
    fallback = fallback or DriftLimits()
    return DriftLimits(psi=threshold.value if threshold.value is not None else fallback.psi,
                       p_value=threshold.p_value if threshold.p_value is not None else fallback.p_value)


def spec_limits(increment_dir) -> DriftLimits | None:
    """The limits of the increment's spec.md `Drift:` success metric; None when it sets none."""
    from ..model.increment import Increment

    spec = Increment.load(Path(increment_dir)).spec
    for metric in spec.metrics if spec is not None else []:
        threshold = getattr(metric, "threshold", None)
        if threshold is not None and threshold.kind == "drift" and threshold.data is None:
            return limits_of(threshold)
    return None


__all__ = ["PSI_LIMIT", "DriftLimits", "limits_of", "spec_limits"]
