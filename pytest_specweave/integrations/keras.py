"""Keras 3: `KerasCallback(...)` tracks a `model.fit` as one experiment.

    model.fit(X, y, validation_split=0.2, epochs=5, callbacks=[KerasCallback(metrics=["val_accuracy"])])

- on_train_begin: opens a model run (`track_model`, named "keras-<the model's name>" unless `name=`
  is given, so that a PyTorch model of the same name is another experiment;
  a second `fit` with the same callback is a new run of that name) and logs params: `model_class`,
  `model_name`, `n_parameters`, `loss`, `optimizer` and the scalar entries of its config
  (`learning_rate`, `beta_1`, ...), `epochs` and `steps_per_epoch` as fit reports them.
- on_epoch_end: every number in Keras's logs (`loss`, `accuracy`, `val_loss`, ...), under Keras's
  own names, at step = the 0-based epoch; with `metrics=[...]` only those — a name Keras does not
  report raises UnknownMetric (a ValueError) at the first epoch's end, listing the names it does
  (the run is then marked failed).
- on_train_end: the metric `training_time_s` (the fit's wall time), the model pickled as the run's model (`log_model`, framework "keras"; Keras 3
  models pickle through the .keras format) and the run finished (succeeded). A fit stopped by an
  exception never reaches on_train_end: its run is marked crashed when the process exits.

keras is imported when `KerasCallback(...)` is called, never when this module is. Which backend
Keras uses is Keras's choice (KERAS_BACKEND, ~/.keras/keras.json); when neither names one and
TensorFlow is not installed but torch is (the `keras` extra installs torch), it is set to "torch"
before keras is imported.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import time
from pathlib import Path

from ._extras import require

_CLASS = None


def KerasCallback(name=None, *, increment=None, metrics=None, baseline=False):  # noqa: N802 - a class to its users
    """A keras.callbacks.Callback that tracks the fit it is given to (see the module docstring)."""
    if isinstance(metrics, str):
        metrics = [metrics]
    if metrics is not None:
        metrics = [str(m) for m in metrics]
        if not metrics:
            raise ValueError("KerasCallback: metrics= is empty; leave it out to log every metric Keras reports")
    _default_backend()
    keras = require("keras", "keras")
    return _callback_class(keras)(name=name, increment=increment, metrics=metrics, baseline=baseline)


def _default_backend() -> None:
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    if (home / "keras.json").exists():
        return
    import importlib.util

    def installed(module: str) -> bool:
        try:
            return importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            return False

    if not installed("tensorflow") and installed("torch"):
        os.environ["KERAS_BACKEND"] = "torch"


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    try:
        if getattr(value, "ndim", 0) == 0 or getattr(value, "shape", ()) in ((), (1,)):
            return float(value)
    except (TypeError, ValueError):
        pass
    return None


def _callback_class(keras):
    global _CLASS
    if _CLASS is not None and _CLASS.__module__ == __name__ and _CLASS._keras is keras:
        return _CLASS

    class SpecweaveKerasCallback(keras.callbacks.Callback):
        """Tracks one fit per run; made by pytest_specweave.KerasCallback."""

        _keras = keras

        def __init__(self, name=None, *, increment=None, metrics=None, baseline=False):
            super().__init__()
            self.run_name = str(name) if name is not None else None
            self.increment = increment
            self.only = metrics
            self.baseline = baseline
            self.experiment = None
            self.epochs_run = 0

        def __repr__(self) -> str:
            return f"<KerasCallback {self.run_name or '(model name)'} {self.experiment!r}>"

        def on_train_begin(self, logs=None):
            from ..tracking.api import track_model

            model = self.model
            name = self.run_name or f"keras-{getattr(model, 'name', None) or type(model).__name__}"
            self.experiment = track_model(name, baseline=self.baseline, increment=self.increment)
            self.epochs_run = 0
            self._started = time.perf_counter()
            self.experiment.log_params(self._params())

        def _params(self) -> dict:
            model = self.model
            params = {"framework": "keras", "keras_backend": keras.backend.backend(),
                      "model_class": type(model).__name__, "model_name": getattr(model, "name", None)}
            try:
                params["n_parameters"] = int(model.count_params())
            except Exception:  # noqa: BLE001 - an unbuilt model has no count yet
                pass
            loss = getattr(model, "loss", None)
            if loss is not None:
                params["loss"] = loss if isinstance(loss, str) else getattr(loss, "name", type(loss).__name__)
            optimizer = getattr(model, "optimizer", None)
            if optimizer is not None:
                params["optimizer"] = type(optimizer).__name__
                try:
                    config = optimizer.get_config()
                except Exception:  # noqa: BLE001 - a custom optimizer without a config
                    config = {}
                for key, value in config.items():
                    if key == "name" or value is None:
                        continue
                    if isinstance(value, (str, bool, int)):
                        params[key] = value
                    elif _number(value) is not None and math.isfinite(_number(value)):
                        params[key] = float(f"{_number(value):.7g}")  # Keras keeps them as float32
            for key, as_key in (("epochs", "epochs"), ("steps", "steps_per_epoch"), ("batch_size", "batch_size")):
                value = (self.params or {}).get(key)
                if value is not None:
                    params[as_key] = value
            return params

        def on_epoch_end(self, epoch, logs=None):
            if self.experiment is None:
                return
            logs = dict(logs or {})
            reported = {key: _number(value) for key, value in logs.items()}
            reported = {key: value for key, value in reported.items() if value is not None}
            if self.only is not None:
                missing = [m for m in self.only if m not in reported]
                if missing:
                    message = (
                        f"KerasCallback: Keras does not report {', '.join(map(repr, missing))};"
                        f" it reports {', '.join(sorted(reported)) or 'no metrics'} at the end of each epoch"
                        " (val_ metrics need validation data; others must be compiled with the model,"
                        " `model.compile(metrics=[...])`)"
                    )
                    self._fail(message)
                    from .boosting import UnknownMetric

                    raise UnknownMetric(message)
                reported = {key: reported[key] for key in self.only}
            self.experiment.log_metrics(reported, step=int(epoch))
            self.epochs_run += 1

        def _fail(self, message: str) -> None:
            exp, self.experiment = self.experiment, None
            try:
                exp.log_note(f"**Failed**: {message}")
                exp.finish("failed")
            except Exception:  # noqa: BLE001 - the ValueError that follows is what the user must see
                pass

        def on_train_end(self, logs=None):
            exp, self.experiment = self.experiment, None
            if exp is None:
                return
            try:
                exp.log_params({"epochs_run": self.epochs_run})
                exp.log_metric("training_time_s", time.perf_counter() - self._started)
                try:
                    exp.log_model(self.model, "model.pkl", algorithm=type(self.model).__name__, framework="keras")
                except Exception as error:  # noqa: BLE001 - the metrics are worth keeping without the model
                    exp.log_note(
                        f"The model could not be saved ({type(error).__name__}: {error}); save it yourself"
                        " with `model.save(...)` and `experiment.log_artifact(path)`."
                    )
            except BaseException as error:
                exp.__exit__(type(error), error, error.__traceback__)
                raise
            exp.finish()

    SpecweaveKerasCallback.__module__ = __name__
    SpecweaveKerasCallback.__qualname__ = "SpecweaveKerasCallback"
    _CLASS = SpecweaveKerasCallback
    return _CLASS
