"""The store against hostile input, files and crashes: it stays readable and never writes outside its tree."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pytest_specweave import track_experiment, track_model
from pytest_specweave.errors import StoreError
from pytest_specweave.tracking.store import ExperimentStore, TrackingWarning


@pytest.fixture
def inc(tmp_path) -> Path:
    path = tmp_path / "increments" / "0042-demo"
    path.mkdir(parents=True)
    (path / "spec.md").write_text("# Demo\n")
    return path


# -- two tasks, one automatic name ------------------------------------------------------------------


def test_a_different_task_never_replaces_another_tasks_experiment(inc):
    with track_model("sequential", increment=inc, task="T-001") as first:
        first.log_metric("accuracy", 0.8)
    with track_model("sequential", increment=inc, task="T-002") as second:
        second.log_metric("accuracy", 0.7)
    assert second.folder != first.folder and second.run == 1
    recs = {r.folder: r for r in ExperimentStore(inc).records()}
    assert recs[first.folder].task == "T-001" and recs[first.folder].metrics["accuracy"].value == 0.8
    assert recs[second.folder].task == "T-002" and recs[second.folder].metrics["accuracy"].value == 0.7
    assert not recs[first.folder].history
    # a rerun of the same task replaces its own experiment (the earlier run goes to history)
    with track_model("sequential", increment=inc, task="T-001") as again:
        again.log_metric("accuracy", 0.85)
    assert again.folder == first.folder and again.run == 2
    with track_model("sequential", increment=inc, task="T-002") as again2:
        pass
    assert again2.folder == second.folder and again2.run == 2
    assert len(ExperimentStore(inc).records()) == 2


def test_automatic_model_names_say_the_framework(inc):
    torch = pytest.importorskip("torch")
    from pytest_specweave.integrations.torch import track_pytorch_model

    model = torch.nn.Sequential(torch.nn.Linear(2, 1))
    with track_pytorch_model(model, increment=inc) as tracked:
        pass
    assert tracked.experiment.name == "torch-Sequential"
    assert tracked.experiment.folder.endswith("-torch-sequential")


pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation")


def test_a_keras_and_a_torch_sequential_model_are_two_experiments(inc, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    from pytest_specweave.integrations.keras import KerasCallback
    from pytest_specweave.integrations.torch import track_pytorch_model

    with track_pytorch_model(torch.nn.Sequential(torch.nn.Linear(2, 1)), increment=inc):
        pass
    import numpy as np

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    model.fit(np.zeros((4, 2)), np.zeros(4), epochs=1, verbose=0, callbacks=[KerasCallback(increment=inc)])
    names = sorted(r.name for r in ExperimentStore(inc).records())
    assert names == ["keras-" + model.name, "torch-Sequential"]
