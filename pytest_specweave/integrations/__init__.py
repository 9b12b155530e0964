"""Framework integrations: one line to track a training run, whatever the framework.

| module        | API                                                   | extra                         |
|---------------|-------------------------------------------------------|-------------------------------|
| `sklearn`     | track_sklearn_model, ModelExperiment, run_experiments | `pytest-specweave[ml]`        |
| `boosting`    | track_boosting_model (XGBoost, LightGBM)              | `[xgboost]`, `[lightgbm]`     |
| `torch`       | track_pytorch_model                                   | `[torch]`                     |
| `keras`       | KerasCallback                                         | `[keras]`                     |
| `notebooks`   | linked notebooks run as tasks (see the module)        | `[notebooks]`                 |
| `wandb`       | a Weights & Biases mirror (see the module)            | `[wandb]`                     |

Each is reachable as `from pytest_specweave import <name>` (the lazy table in
`pytest_specweave/__init__.py`). Nothing here imports a framework at import time: a module imports
its framework when its API is called, through `_extras.require`, which raises `MissingExtra`
(an ImportError) naming the extra to install when the framework is not installed.

What every integration records lands in the increment's store like any experiment: params, fit
time as the metric `training_time_s`, per-iteration or per-epoch values as steps (the summary's
learning-curve charts), and the trained model through `Experiment.log_model`.
"""
