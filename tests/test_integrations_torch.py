"""PyTorch: a tiny MLP trained through track_pytorch_model; per-epoch curves in the store and the summary's charts."""

from __future__ import annotations

import importlib
import os
import sys

import pytest

from conftest import write_increment


def _framework(name: str):
    """The framework, imported; skipped where it is not installed, except in CI (the test extra installs it)."""
    return importlib.import_module(name) if os.environ.get("CI") else pytest.importorskip(name)


torch = _framework("torch")
np = _framework("numpy")
_framework("sklearn")

from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from pytest_specweave.integrations._extras import MissingExtra  # noqa: E402
from pytest_specweave.integrations.boosting import UnknownMetric  # noqa: E402
from pytest_specweave.integrations.torch import track_pytorch_model  # noqa: E402
from pytest_specweave.tracking.store import ExperimentStore  # noqa: E402

SPEC = """
---
primary_metric: val_accuracy
problem_type: classification
---
# Tiny MLP

## ML Problem Definition
- Success metrics: val_accuracy > 0.7
"""


class MLP(nn.Module):
    def __init__(self, n_features: int = 8):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_features, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x):
        return self.net(x)


def loaders(seed: int = 0):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=240, n_features=8, n_informative=5, random_state=seed)
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    generator = torch.Generator().manual_seed(seed)
    train = DataLoader(TensorDataset(X[:180], y[:180]), batch_size=32, shuffle=True, generator=generator)
    val = DataLoader(TensorDataset(X[180:], y[180:]), batch_size=64)
    return train, val


@pytest.fixture
def increment(tmp_path):
    return write_increment(tmp_path, "0031-mlp", {"spec.md": SPEC, "tasks.md": "- [ ] T-001: Train\n"})


def train_mlp(increment, epochs=3, **kwargs):
    torch.manual_seed(0)
    train, val = loaders()
    model = MLP()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    with track_pytorch_model(model, optimizer=optimizer, loss_fn=nn.CrossEntropyLoss(),
                             metrics=["accuracy", "roc_auc"], increment=increment, **kwargs) as tracked:
        losses = [tracked.train_epoch(train) for _ in range(epochs)]
        tracked.evaluate(val)
    return tracked, losses


def test_per_epoch_losses_and_metrics_land_in_the_store(increment):
    # evaluate after every epoch, at the same step as that epoch's train_loss
    torch.manual_seed(0)
    train, val = loaders()
    model = MLP()
    with track_pytorch_model(model, "mlp", optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                             loss_fn=nn.CrossEntropyLoss(), metrics=["accuracy"], increment=increment) as tracked:
        for _ in range(3):
            tracked.train_epoch(train)
            tracked.evaluate(val)
    record = ExperimentStore(increment).find("mlp")
    assert record.status == "succeeded" and record.kind == "model"
    train_loss = record.series("train_loss")
    val_loss = record.series("val_loss")
    assert [s for s, _, _ in train_loss] == [0, 1, 2] and [s for s, _, _ in val_loss] == [0, 1, 2]
    assert len(record.series("val_accuracy")) == 3
    assert train_loss[-1][1] < train_loss[0][1]  # it learned
    assert record.metric("val_accuracy").value > 0.7
    assert record.params["optimizer"] == "SGD" and record.params["lr"] == 0.1 and record.params["momentum"] == 0.9
    assert record.params["model_class"] == "MLP" and record.params["epochs"] == 3
    assert record.params["n_parameters"] == sum(p.numel() for p in model.parameters()) == 8 * 16 + 16 + 16 * 2 + 2
    assert record.params["loss_fn"] == "CrossEntropyLoss" and "foreach" not in record.params
    assert record.metric("training_time_s").value > 0


def test_the_model_is_saved_as_a_state_dict_and_as_the_runs_model(increment):
    tracked, losses = train_mlp(increment)
    record = ExperimentStore(increment).find("torch-MLP")
    assert {"model.pt", "model.pkl", "input_example.pkl"} <= set(record.artifacts)
    model = record.meta["model"]
    assert model["framework"] == "torch" and model["algorithm"] == "MLP" and model["file"] == "model.pkl"
    state = torch.load(record.path / "model.pt")
    fresh = MLP()
    fresh.load_state_dict(state)
    for a, b in zip(fresh.parameters(), tracked.model.parameters(), strict=True):
        assert torch.equal(a, b)
    import pickle

    example = pickle.loads((record.path / "input_example.pkl").read_bytes())
    assert isinstance(example, np.ndarray) and example.shape == (5, 8)
    assert len(losses) == 3 and all(isinstance(x, float) for x in losses)


def test_a_module_that_does_not_pickle_keeps_its_state_dict_and_says_so(increment):
    class Local(nn.Module):  # defined in a function: pickle cannot find it
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(8, 1)

        def forward(self, x):
            return self.linear(x).squeeze(-1)

    train, val = loaders()
    model = Local()
    with track_pytorch_model(model, "local", optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
                             loss_fn=nn.BCEWithLogitsLoss(), metrics={"accuracy": "accuracy",
                                                                     "positives": lambda y, p: float(p.sum())},
                             increment=increment) as tracked:
        for _ in range(2):
            tracked.train_epoch([(x, y.float()) for x, y in train])
            results = tracked.evaluate([(x, y.float()) for x, y in val], prefix="test")
    assert set(results) == {"test_loss", "test_accuracy", "test_positives"}
    record = ExperimentStore(increment).find("local")
    assert record.status == "succeeded"
    assert "model.pt" in record.artifacts and "model" not in record.meta
    assert "does not pickle" in record.notes and "model.pt" in record.notes


def test_an_exception_in_the_block_fails_the_run_and_keeps_the_epochs(increment):
    train, _ = loaders()
    model = MLP()
    with pytest.raises(RuntimeError, match="diverged"):
        with track_pytorch_model(model, "boom", optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                                 loss_fn=nn.CrossEntropyLoss(), increment=increment) as tracked:
            tracked.train_epoch(train)
            raise RuntimeError("diverged")
    record = ExperimentStore(increment).find("boom")
    assert record.status == "failed" and record.params["epochs"] == 1
    assert len(record.series("train_loss")) == 1 and "model.pt" not in record.artifacts


def test_an_unknown_metric_name_says_which_it_computes(increment):
    with pytest.raises(UnknownMetric, match=r"'auc_pr'.*computes accuracy, precision, recall, f1, roc_auc"):
        track_pytorch_model(MLP(), metrics=["accuracy", "auc_pr"], increment=increment)
    assert not (increment / "experiments").exists()  # nothing was started


def test_bad_arguments_are_clear(increment):
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        track_pytorch_model(object(), increment=increment)
    model = MLP()
    with track_pytorch_model(model, "no-optimizer", increment=increment) as tracked:
        with pytest.raises(ValueError, match="train_epoch needs optimizer= and loss_fn="):
            tracked.train_epoch(loaders()[0])
        with pytest.raises(TypeError, match=r"batch 0 is a Tensor: .*\(inputs, targets\)"):
            tracked.evaluate([torch.zeros(4, 8)])


def test_without_torch_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtra, match=r"track_pytorch_model needs torch, which is not installed: "
                                           r"pip install pytest-specweave\[torch\]"):
        track_pytorch_model(object())


def test_importing_the_integration_does_not_import_torch():
    import subprocess

    code = ("import sys; import pytest_specweave.integrations.torch, pytest_specweave.integrations.keras,"
            " pytest_specweave.integrations.notebooks, pytest_specweave.integrations.wandb;"
            " print(sorted(m for m in ('torch', 'keras', 'nbclient', 'nbformat', 'wandb', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


PIPELINE = '''
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import make_classification

from pytest_specweave.integrations.torch import track_pytorch_model


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x):
        return self.net(x)


def train():
    torch.manual_seed(0)
    X, y = make_classification(n_samples=240, n_features=8, n_informative=5, random_state=0)
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    train = DataLoader(TensorDataset(X[:180], y[:180]), batch_size=32, shuffle=True)
    val = DataLoader(TensorDataset(X[180:], y[180:]), batch_size=64)
    model = MLP()
    with track_pytorch_model(model, "mlp", optimizer=torch.optim.Adam(model.parameters(), lr=0.01),
                             loss_fn=nn.CrossEntropyLoss(), metrics=["accuracy"]) as tracked:
        for _ in range(3):
            tracked.train_epoch(train)
            tracked.evaluate(val)
'''


def test_a_task_trains_the_mlp_and_its_learning_curves_reach_the_summary(pytester):
    folder = write_increment(pytester.path, "0031-mlp", {
        "spec.md": SPEC, "tasks.md": "- [ ] T-001: Train the MLP — `pipeline.py::train`\n", "pipeline.py": PIPELINE})
    result = pytester.runpytest("increments/0031", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    record = ExperimentStore(folder).find("mlp")
    assert record.task == "T-001" and len(record.series("train_loss")) == 3 and len(record.series("val_loss")) == 3
    assert record.meta["model"]["framework"] == "torch"
    pytest.importorskip("matplotlib")
    from pytest_specweave.reports.charts import CHARTS_DIR

    chart = (CHARTS_DIR / "learning-curve-loss.png").as_posix()  # the summary links it relative to itself
    summary = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert f"]({chart})" in summary and "train_loss, val_loss by step" in summary
    assert (folder / chart).read_bytes().startswith(b"\x89PNG")
