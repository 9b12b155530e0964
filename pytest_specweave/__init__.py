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
    "ReportSection": "pytest_specweave.reports.sections",
    "current_increment": "pytest_specweave.tracking.api",
    "ExperimentRecord": "pytest_specweave.tracking.store",
    "MetricValue": "pytest_specweave.tracking.store",
    "load_model": "pytest_specweave.tracking.models",
    "model_versions": "pytest_specweave.tracking.models",
    "promote_best_model": "pytest_specweave.evaluation.promotion",
    "record_outside_scoring": "pytest_specweave.evaluation.outside_scorings",
    "configure_mlflow": "pytest_specweave.tracking.mlflow_mirror",
    "log_search": "pytest_specweave.tracking.search",
    "optuna_callback": "pytest_specweave.tracking.search",
    # evaluation
    "compute_metrics": "pytest_specweave.evaluation.metrics",
    "Metric": "pytest_specweave.evaluation.custom_metrics",
    "register_metric": "pytest_specweave.evaluation.custom_metrics",
    "bootstrap_ci": "pytest_specweave.evaluation.validation",
    "paired_bootstrap": "pytest_specweave.evaluation.validation",
    "cross_validate": "pytest_specweave.evaluation.validation",
    "Interval": "pytest_specweave.evaluation.validation",
    "Verdict": "pytest_specweave.evaluation.judge",
    "evaluate_sparse_ranking": "pytest_specweave.evaluation.sparse_ranking",
    "SparseRanking": "pytest_specweave.evaluation.sparse_ranking",
    "top_k_unseen": "pytest_specweave.evaluation.sparse_ranking",
    "random_baseline": "pytest_specweave.evaluation.baselines",
    "popularity_baseline": "pytest_specweave.evaluation.baselines",
    "majority_baseline": "pytest_specweave.evaluation.baselines",
    "stratified_baseline": "pytest_specweave.evaluation.baselines",
    "uniform_baseline": "pytest_specweave.evaluation.baselines",
    "mean_baseline": "pytest_specweave.evaluation.baselines",
    "median_baseline": "pytest_specweave.evaluation.baselines",
    "naive_forecast_baseline": "pytest_specweave.evaluation.baselines",
    "seasonal_naive_baseline": "pytest_specweave.evaluation.baselines",
    "drift_forecast_baseline": "pytest_specweave.evaluation.baselines",
    "measure_latency": "pytest_specweave.evaluation.deployment",
    "measure_throughput": "pytest_specweave.evaluation.deployment",
    "measure_model_size": "pytest_specweave.evaluation.deployment",
    "measure_training_time": "pytest_specweave.evaluation.deployment",
    "measure_deployment": "pytest_specweave.evaluation.deployment",
    "explain_model": "pytest_specweave.evaluation.explain",
    "tune_decision_threshold": "pytest_specweave.evaluation.decision",
    "error_analysis": "pytest_specweave.evaluation.error_analysis",
    # monitoring hand-off
    "reference_profile": "pytest_specweave.monitoring.profile",
    "log_reference_profile": "pytest_specweave.monitoring.profile",
    "check_drift": "pytest_specweave.monitoring.drift",
    "rolling_origin": "pytest_specweave.evaluation.forecasting",
    "interval_coverage": "pytest_specweave.evaluation.forecasting",
    "residual_diagnostics": "pytest_specweave.evaluation.forecasting",
    "stationarity_tests": "pytest_specweave.evaluation.forecasting",
    "forecast_chart": "pytest_specweave.reports.forecast_chart",
    "validate_dataframe": "pytest_specweave.modes.data_schema",
    # framework integrations (each imports its framework when called)
    "track_sklearn_model": "pytest_specweave.integrations.sklearn",
    "ModelExperiment": "pytest_specweave.integrations.sklearn",
    "run_experiments": "pytest_specweave.integrations.sklearn",
    "ExperimentComparison": "pytest_specweave.integrations.sklearn",
    "track_boosting_model": "pytest_specweave.integrations.boosting",
    "UnknownMetric": "pytest_specweave.integrations.boosting",
    "MissingExtra": "pytest_specweave.integrations._extras",
    "track_pytorch_model": "pytest_specweave.integrations.torch",
    "KerasCallback": "pytest_specweave.integrations.keras",
    "run_notebook": "pytest_specweave.integrations.notebooks",
    "configure_wandb": "pytest_specweave.integrations.wandb",
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
