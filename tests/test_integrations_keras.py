"""Keras 3 (torch backend): a small Dense model fitted with KerasCallback; per-epoch logs in the store."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: the backend these tests run on

import pytest  # noqa: E402

from conftest import write_increment  # noqa: E402


def _framework(name: str):
    """The framework, imported; skipped where it is not installed, except in CI (the test extra installs it)."""
    return importlib.import_module(name) if os.environ.get("CI") else pytest.importorskip(name)


keras = _framework("keras")
np = _framework("numpy")

from pytest_specweave.integrations._extras import MissingExtra  # noqa: E402
from pytest_specweave.integrations.boosting import UnknownMetric  # noqa: E402
from pytest_specweave.integrations.keras import KerasCallback  # noqa: E402
from pytest_specweave.tracking.store import ExperimentStore  # noqa: E402

# Keras 3.15's torch backend calls np.array(tensor, copy=False), which numpy 2 warns about: not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

SPEC = """
---
primary_metric: val_accuracy
problem_type: classification
---
# Dense

## ML Problem Definition
- Success metrics: val_accuracy > 0.6
"""


def data(n=160, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 4)).astype("float32")
    y = (X[:, 0] + X[:, 1] > 1.0).astype("float32")
    return X, y


def dense_model(name="dense"):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")], name=name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.fixture
def increment(tmp_path):
    return write_increment(tmp_path, "0032-dense", {"spec.md": SPEC, "tasks.md": "- [ ] T-001: Train\n"})


def test_every_epoch_log_lands_in_the_store_with_the_fit_params(increment):
    model = dense_model()
    X, y = data()
    callback = KerasCallback(increment=increment)
    assert isinstance(callback, keras.callbacks.Callback)
    history = model.fit(X, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0, callbacks=[callback])
    record = ExperimentStore(increment).find("keras-dense")
    assert record.status == "succeeded" and record.kind == "model"
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        series = record.series(key)
        assert [step for step, _, _ in series] == [0, 1, 2]
        assert [value for _, value, _ in series] == pytest.approx(history.history[key])
    params = record.params
    assert params["optimizer"] == "Adam" and params["learning_rate"] == 0.05 and params["beta_1"] == 0.9
    assert params["epochs"] == 3 and params["steps_per_epoch"] == 4 and params["epochs_run"] == 3
    assert params["loss"] == "binary_crossentropy" and params["n_parameters"] == 4 * 8 + 8 + 8 + 1
    assert params["keras_backend"] == "torch" and params["model_class"] == "Sequential"
    assert record.metric("training_time_s").value > 0
    entry = record.meta["model"]
    assert entry["framework"] == "keras" and entry["file"] == "model.pkl"
    import pickle

    loaded = pickle.loads((record.path / "model.pkl").read_bytes())
    assert np.allclose(loaded.predict(X[:5], verbose=0), model.predict(X[:5], verbose=0))


def test_metrics_restricts_what_is_logged_and_a_second_fit_is_a_new_run(increment):
    model = dense_model("picky")
    X, y = data()
    callback = KerasCallback("picky", metrics=["val_accuracy"], increment=increment)
    model.fit(X, y, epochs=2, batch_size=32, validation_split=0.25, verbose=0, callbacks=[callback])
    record = ExperimentStore(increment).find("picky")
    assert set(record.metrics) == {"val_accuracy", "training_time_s"}
    model.fit(X, y, epochs=2, batch_size=32, validation_split=0.25, verbose=0, callbacks=[callback])
    again = ExperimentStore(increment).find("picky")
    assert again.run == 2 and again.folder == record.folder and len(again.series("val_accuracy")) == 2


def test_a_metric_keras_does_not_report_says_which_it_does(increment):
    model = dense_model("asks-too-much")
    X, y = data()
    with pytest.raises(UnknownMetric) as info:
        model.fit(X, y, epochs=2, verbose=0,
                  callbacks=[KerasCallback(metrics=["val_accuracy", "auc"], increment=increment)])
    message = str(info.value)
    assert "Keras does not report 'val_accuracy', 'auc'" in message
    assert "it reports accuracy, loss at the end of each epoch" in message
    assert "val_ metrics need validation data" in message
    record = ExperimentStore(increment).find("keras-asks-too-much")
    assert record.status == "failed" and "does not report" in record.notes


def test_an_empty_metrics_list_is_refused():
    with pytest.raises(ValueError, match="metrics= is empty"):
        KerasCallback(metrics=[])


def test_without_keras_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras", None)
    with pytest.raises(MissingExtra, match=r"KerasCallback needs keras, which is not installed: "
                                           r"pip install pytest-specweave\[keras\]"):
        KerasCallback()


def test_the_torch_backend_is_chosen_when_nothing_names_one_and_tensorflow_is_absent(tmp_path):
    code = ("import os; from pytest_specweave.integrations.keras import _default_backend; _default_backend();"
            " print(os.environ.get('KERAS_BACKEND'))")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    expected = "None" if importlib.util.find_spec("tensorflow") else "torch"
    assert run.stdout.strip() == expected
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert run.stdout.strip() == "None"  # the user's keras.json decides


PIPELINE = '''
import numpy as np
import keras

from pytest_specweave.integrations.keras import KerasCallback


def train():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.random((160, 4)).astype("float32")
    y = (X[:, 0] + X[:, 1] > 1.0).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")], name="dense")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0, callbacks=[KerasCallback()])
'''


def test_a_task_fits_the_model_and_its_learning_curves_reach_the_summary(pytester):
    folder = write_increment(pytester.path, "0032-dense", {
        "spec.md": SPEC, "tasks.md": "- [ ] T-001: Fit — `pipeline.py::train`\n", "pipeline.py": PIPELINE})
    result = pytester.runpytest("increments/0032", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    record = ExperimentStore(folder).find("keras-dense")
    assert record.task == "T-001" and len(record.series("loss")) == 3 and len(record.series("val_loss")) == 3
    pytest.importorskip("matplotlib")
    from pytest_specweave.reports.charts import CHARTS_DIR

    summary = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    for name in ("learning-curve-loss.png", "learning-curve-accuracy.png"):
        chart = (CHARTS_DIR / name).as_posix()  # the summary links it relative to itself
        assert f"]({chart})" in summary and (folder / chart).read_bytes().startswith(b"\x89PNG")
