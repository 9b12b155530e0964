"""pytest-specweave: ML increments as pytest suites.

The public API is imported lazily so that loading the pytest plugin costs next to nothing.
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = {
    "track_experiment": "pytest_specweave.tracking.api",
    "track_model": "pytest_specweave.tracking.api",
    "Experiment": "pytest_specweave.tracking.experiment",
    "ExperimentStore": "pytest_specweave.tracking.store",
    "compare_experiments": "pytest_specweave.reports.comparison",
    "current_increment": "pytest_specweave.tracking.api",
    "ExperimentRecord": "pytest_specweave.tracking.store",
    "MetricValue": "pytest_specweave.tracking.store",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_specweave' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__():
    return __all__
