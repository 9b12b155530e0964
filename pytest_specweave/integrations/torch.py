"""PyTorch: `track_pytorch_model` trains a module epoch by epoch and tracks it as one experiment.

    with track_pytorch_model(model, optimizer=opt, loss_fn=nn.CrossEntropyLoss(),
                             metrics=["accuracy"]) as tracked:
        for epoch in range(5):
            tracked.train_epoch(train_loader)          # logs train_loss at step=epoch
            tracked.evaluate(val_loader)               # logs val_loss, val_accuracy at the same step

What lands in the experiment (a model run, `track_model`, named "torch-<the module's class>" unless
`name=` is given, so that a Keras model of the same name is another experiment):

- per epoch: `train_loss` (the mean of the batch losses, weighted by batch size) at step = the
  0-based epoch index, as Keras counts; `evaluate(loader, prefix="val")` logs `<prefix>_loss` and
  `<prefix>_<metric>` for each metric at the step of the last epoch trained (None before any);
- params: `model_class`, `n_parameters`, `optimizer`, its scalar defaults (`lr`, `momentum`, ...),
  `loss_fn`, and at the end `epochs`; the metric `training_time_s` (time spent in train_epoch);
- at a clean exit: the state_dict saved with torch.save as `model.pt` (an artifact), and the module
  itself pickled as the run's model (`log_model`, framework "torch", with a few input rows of the
  first batch as the input example) when it pickles; a module that does not pickle (a class
  defined inside a function, say) is noted in notes.md and only `model.pt` is kept.

Metrics: standard names (accuracy, precision, recall, f1, roc_auc, pr_auc, rmse, mae, r2, mape)
or a mapping {name: fn(y_true, y_pred)}. For classification outputs (2-D logits, or a loss of
the cross-entropy family), y_pred is the predicted label and roc_auc/pr_auc get the class
probabilities; for anything else y_pred is the output itself. `tracked.predict(loader)` returns
(y_true, outputs) as numpy arrays for anything else.

A batch is a pair (inputs, targets), or a tuple whose last item is the targets and whose other
items are the model's positional inputs. Training runs on the device of the module's parameters
(the CPU here). torch is imported when `track_pytorch_model` is called, never when this module is.
"""

from __future__ import annotations

import math
import numbers
import os
import pickle
import time
from collections.abc import Mapping

from ._extras import require

STANDARD_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "rmse", "mae", "r2", "mape")
_CLASSIFICATION_METRICS = {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"}
_SCORE_METRICS = {"roc_auc", "pr_auc"}
_REGRESSION_LOSSES = {"MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "PoissonNLLLoss", "GaussianNLLLoss"}
INPUT_EXAMPLE_ROWS = 5
# Optimizer defaults that choose an implementation, not the optimisation: left out of the params.
_IMPLEMENTATION_FLAGS = {"foreach", "capturable", "differentiable", "fused"}


def track_pytorch_model(model, name=None, *, optimizer=None, loss_fn=None, metrics=None, increment=None,
                        baseline=False) -> "TrackedPyTorchModel":
    """Track the training of a torch.nn.Module as one experiment; use it as a context manager.

    `optimizer` and `loss_fn` are needed by `train_epoch` (`evaluate` needs `loss_fn` for its
    loss only). `metrics`: standard names and/or {name: fn(y_true, y_pred)}; an unknown name
    raises UnknownMetric (a ValueError) listing the names this integration computes.
    `increment`, `baseline` as for track_experiment.
    """
    torch = require("torch", "torch")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"track_pytorch_model: model must be a torch.nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"track_pytorch_model: optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"track_pytorch_model: loss_fn must be callable, got {type(loss_fn).__name__}")
    return TrackedPyTorchModel(model, name, optimizer=optimizer, loss_fn=loss_fn, metrics=_metric_table(metrics),
                               increment=increment, baseline=baseline)


def _metric_table(metrics) -> dict:
    """{name: standard name (str) or callable}; unknown standard names raise, listing the known ones."""
    if metrics is None:
        return {}
    if isinstance(metrics, str):
        metrics = [metrics]
    items = metrics.items() if isinstance(metrics, Mapping) else ((m, m) for m in metrics)
    table = {}
    for key, fn in items:
        if callable(fn):
            table[str(key)] = fn
            continue
        standard = str(fn).strip().lower()
        if standard not in STANDARD_METRICS:
            from .boosting import UnknownMetric

            raise UnknownMetric(
                f"track_pytorch_model: metric {fn!r} is not one this integration computes;"
                f" it computes {', '.join(STANDARD_METRICS)} — or pass {{name: fn(y_true, y_pred)}}"
            )
        table[str(key)] = standard
    return table


class TrackedPyTorchModel:
    """What `track_pytorch_model` returns: train_epoch, evaluate, predict, log_metric, and the experiment."""

    def __init__(self, model, name, *, optimizer, loss_fn, metrics, increment, baseline):
        import torch

        self._torch = torch
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.metrics = metrics
        self.name = str(name) if name is not None else f"torch-{type(model).__name__}"
        self.increment = increment
        self.baseline = baseline
        self.epoch = 0  # epochs trained so far
        self.training_time_s = 0.0  # wall time spent in train_epoch
        self.experiment = None
        self._example = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<TrackedPyTorchModel {self.name} epochs={self.epoch} {self.experiment!r}>"

    # -- lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> "TrackedPyTorchModel":
        self._start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        exp = self._start()
        self._closed = True
        if exc_type is None:
            try:
                self._log_final()
            except BaseException as error:
                exp.__exit__(type(error), error, error.__traceback__)
                raise
            exp.__exit__(None, None, None)
            return False
        try:
            exp.log_params({"epochs": self.epoch})
        except Exception:  # noqa: BLE001 - never hide the user's exception behind ours
            pass
        exp.__exit__(exc_type, exc, tb)
        return False

    def finish(self) -> None:
        """End the run (for use without `with`): logs the model and marks it succeeded."""
        self.__exit__(None, None, None)

    def _start(self):
        if self.experiment is None:
            from ..tracking.api import track_model

            self.experiment = track_model(self.name, baseline=self.baseline, increment=self.increment)
            self.experiment.log_params(self._start_params())
        elif self._closed:
            raise RuntimeError(f"track_pytorch_model({self.name!r}) is finished: train inside its `with` block")
        return self.experiment

    def _start_params(self) -> dict:
        params = {
            "framework": "torch",
            "model_class": type(self.model).__name__,
            "n_parameters": int(sum(p.numel() for p in self.model.parameters())),
            "n_trainable_parameters": int(sum(p.numel() for p in self.model.parameters() if p.requires_grad)),
        }
        if self.optimizer is not None:
            params["optimizer"] = type(self.optimizer).__name__
            for key, value in self.optimizer.defaults.items():
                if key in _IMPLEMENTATION_FLAGS or value is None:
                    continue
                if _scalar(value):
                    params[key] = value
                elif isinstance(value, (tuple, list)) and all(_scalar(v) for v in value):
                    params[key] = list(value)
        if self.loss_fn is not None:
            params["loss_fn"] = getattr(type(self.loss_fn), "__name__", str(self.loss_fn))
            if params["loss_fn"] == "function":
                params["loss_fn"] = getattr(self.loss_fn, "__name__", "function")
        return params

    def _log_final(self) -> None:
        exp = self.experiment
        exp.log_params({"epochs": self.epoch})
        if self.epoch:
            exp.log_metric("training_time_s", self.training_time_s)
        torch = self._torch
        tmp = exp.path / f".model.pt.{os.getpid()}.tmp"
        dest = exp.path / "model.pt"
        try:
            torch.save(self.model.state_dict(), tmp)
            os.replace(tmp, dest)
        finally:
            if tmp.exists():
                tmp.unlink()
        exp.log_artifact(dest)
        try:
            pickle.dumps(self.model, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # noqa: BLE001 - a module that does not pickle keeps its state_dict
            exp.log_note(
                f"The module {type(self.model).__qualname__} does not pickle ({type(error).__name__}: {error});"
                " only its state_dict was saved, as model.pt (load it into a new instance with"
                " `model.load_state_dict(torch.load(path))`)."
            )
            return
        exp.log_model(self.model, "model.pkl", algorithm=type(self.model).__name__, framework="torch",
                      input_example=self._example)

    # -- training and evaluation ---------------------------------------------------------------

    def log_metric(self, key, value, step=None, **kwargs) -> None:
        """Experiment.log_metric, passed through."""
        self._start().log_metric(key, value, step, **kwargs)

    def log_metrics(self, mapping, step=None) -> None:
        self._start().log_metrics(mapping, step)

    def log_param(self, key, value) -> None:
        self._start().log_param(key, value)

    def log_params(self, mapping) -> None:
        self._start().log_params(mapping)

    def train_epoch(self, loader) -> float:
        """One epoch: model.train(), and per batch forward, loss, backward, optimizer step.

        Logs `train_loss` (the mean over the epoch's rows) at step = this epoch's 0-based index
        and returns it.
        """
        exp = self._start()
        if self.optimizer is None or self.loss_fn is None:
            missing = " and ".join(n for n, v in (("optimizer=", self.optimizer), ("loss_fn=", self.loss_fn)) if v is None)
            raise ValueError(f"train_epoch needs {missing}: pass it to track_pytorch_model")
        model = self.model
        device = _device(model)
        started = time.perf_counter()
        model.train()
        total, rows = 0.0, 0
        for number, batch in enumerate(loader):
            inputs, target = _split_batch(batch, number)
            inputs = [_to(x, device) for x in inputs]
            target = _to(target, device)
            if self._example is None:
                self._example = _example_rows(inputs)
            self.optimizer.zero_grad()
            output = model(*inputs)
            loss = self.loss_fn(output, target)
            loss.backward()
            self.optimizer.step()
            n = _rows(target)
            total += float(loss.detach()) * n
            rows += n
        self.training_time_s += time.perf_counter() - started
        if rows == 0:
            raise ValueError("train_epoch: the loader yielded no batches")
        mean = total / rows
        step = self.epoch
        self.epoch += 1
        exp.log_metric("train_loss", mean, step=step)
        if not math.isfinite(mean):
            exp.log_note(f"train_loss is {mean} at epoch {step}: training diverged.")
        return mean

    def predict(self, loader):
        """(y_true, outputs) over the loader as numpy arrays, in eval mode and without gradients."""
        torch = self._torch
        model = self.model
        device = _device(model)
        was_training = model.training
        model.eval()
        targets, outputs = [], []
        try:
            with torch.no_grad():
                for number, batch in enumerate(loader):
                    inputs, target = _split_batch(batch, number)
                    output = model(*[_to(x, device) for x in inputs])
                    outputs.append(output.detach().cpu())
                    targets.append(_to(target, "cpu") if torch.is_tensor(target) else torch.as_tensor(target))
        finally:
            model.train(was_training)
        if not outputs:
            raise ValueError("the loader yielded no batches")
        return torch.cat(targets).numpy(), torch.cat(outputs).numpy()

    def evaluate(self, loader, prefix="val", *, step=None) -> dict[str, float]:
        """Loss and metrics on a loader, logged as `<prefix>_loss`, `<prefix>_<metric>`; returns them.

        The step is the last epoch trained (None before any), unless `step=` is given.
        """
        exp = self._start()
        torch = self._torch
        y_true, outputs = self.predict(loader)
        results: dict[str, float] = {}
        if self.loss_fn is not None:
            with torch.no_grad():
                loss = self.loss_fn(torch.as_tensor(outputs), torch.as_tensor(y_true))
            results["loss"] = float(loss)
        if self.metrics:
            results.update(self._metrics(y_true, outputs))
        if step is None and self.epoch > 0:
            step = self.epoch - 1
        logged = {f"{prefix}_{key}" if prefix else key: value for key, value in results.items()}
        exp.log_metrics(logged, step=step)
        return logged

    def _metrics(self, y_true, outputs) -> dict[str, float]:
        import numpy as np

        from ..evaluation.metrics import metric_value

        y_pred, scores = self._predictions(y_true, outputs)
        out = {}
        for key, metric in self.metrics.items():
            if callable(metric):
                value = metric(y_true, y_pred)
            elif metric in _SCORE_METRICS:
                if scores is None:
                    raise ValueError(
                        f"metric {key!r} needs class scores, but the model's outputs are not classification"
                        " outputs (2-D logits, or a loss of the cross-entropy family)"
                    )
                value = metric_value(metric, y_true, y_score=scores)
            elif metric in _CLASSIFICATION_METRICS:
                labels = y_pred if scores is not None else np.rint(np.asarray(y_pred, dtype=float))
                value = metric_value(metric, np.asarray(y_true).astype(int), labels.astype(int))
            else:
                value = metric_value(metric, y_true, np.asarray(y_pred, dtype=float).reshape(np.shape(y_true)))
            out[key] = float(value)
        return out

    def _predictions(self, y_true, outputs):
        """(y_pred, scores or None): labels and class scores for classification outputs, else the outputs.

        Classification outputs: 2-D with two or more columns under a cross-entropy/NLL loss (or when
        a classification metric is asked for); one column under a BCE loss, or when a
        classification metric is asked for with no regression loss (logits unless all in [0, 1]).
        """
        import numpy as np

        loss = type(self.loss_fn).__name__ if self.loss_fn is not None else None
        wants_labels = any(not callable(m) and m in _CLASSIFICATION_METRICS for m in self.metrics.values())
        if outputs.ndim == 2 and outputs.shape[1] >= 2:
            if loss in ("CrossEntropyLoss", "NLLLoss") or wants_labels:
                if loss == "NLLLoss":
                    probs = np.exp(outputs)
                else:
                    probs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
                    probs = probs / probs.sum(axis=1, keepdims=True)
                return probs.argmax(axis=1), (probs[:, 1] if probs.shape[1] == 2 else probs)
            return outputs, None
        flat = outputs.reshape(len(outputs)) if outputs.ndim == 2 else outputs
        if loss == "BCEWithLogitsLoss":
            probs = 1.0 / (1.0 + np.exp(-flat))
        elif loss == "BCELoss":
            probs = flat
        elif wants_labels and loss not in _REGRESSION_LOSSES:
            inside = bool(np.all((flat >= 0) & (flat <= 1)))
            probs = flat if inside else 1.0 / (1.0 + np.exp(-flat))
        else:
            return flat, None
        return (probs >= 0.5).astype(int), probs


def _scalar(value) -> bool:
    return value is None or isinstance(value, (bool, str, numbers.Real)) and not (
        isinstance(value, float) and not math.isfinite(value)
    )


def _device(model):
    for p in model.parameters():
        return p.device
    return "cpu"


def _to(x, device):
    return x.to(device) if hasattr(x, "to") and hasattr(x, "device") else x


def _rows(target) -> int:
    shape = getattr(target, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    try:
        return len(target)
    except TypeError:
        return 1


def _split_batch(batch, number: int):
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return list(batch[:-1]), batch[-1]
    raise TypeError(
        f"batch {number} is a {type(batch).__name__}: track_pytorch_model needs batches of"
        " (inputs, targets) — a tuple or list whose last item is the targets"
    )


def _example_rows(inputs):
    """A few rows of the first batch's input, as numpy (or None when it is not tensors)."""
    try:
        rows = [x[:INPUT_EXAMPLE_ROWS].detach().cpu().numpy() for x in inputs]
    except (AttributeError, TypeError):
        return None
    return rows[0] if len(rows) == 1 else tuple(rows)
