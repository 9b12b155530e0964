"""Promoted models: log_model, promote_best_model (versions, same content), load_model (hash check, versions)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_specweave.errors import StoreError
from pytest_specweave.evaluation.promotion import promote_best_model
from pytest_specweave.tracking.api import ENV_INCREMENT, ENV_TASK, track_experiment
from pytest_specweave.tracking.models import (
    guess_framework,
    load_model,
    model_of,
    model_versions,
    parse_version,
)
from pytest_specweave.tracking.store import ExperimentStore

from conftest import write_increment

SPEC = """
---
primary_metric: accuracy
---
# Demo
## ML Problem Definition
- Success metrics: accuracy > 0.5
"""


@pytest.fixture(autouse=True)
def forget_increment_packages():
    """load_model registers `pytest_specweave_increments` in this process; later in-process pytest runs
    (pytester) must not find it imported (pytest could no longer rewrite its asserts)."""
    before = {name for name in sys.modules if name.split(".")[0] == "pytest_specweave_increments"}
    yield
    for name in [n for n in sys.modules if n.split(".")[0] == "pytest_specweave_increments" and n not in before]:
        del sys.modules[name]


class Threshold:
    """A picklable stand-in for a model (defined in the tests package, importable anywhere)."""

    def __init__(self, cut: float):
        self.cut = cut

    def predict(self, rows):
        return [int(x > self.cut) for x in rows]


@pytest.fixture
def inc(tmp_path, monkeypatch) -> Path:
    folder = write_increment(tmp_path, "0007-models", {"spec.md": SPEC, "tasks.md": "- [ ] T-001: Train\n"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_INCREMENT, raising=False)
    monkeypatch.delenv(ENV_TASK, raising=False)
    return folder


def train(name, accuracy, model, *, baseline=False, how="log_model", **kwargs):
    with track_experiment(name, increment="0007", baseline=baseline) as exp:
        exp.log_metric("accuracy", accuracy)
        exp.log_param("cut", getattr(model, "cut", None))
        if how == "log_model":
            exp.log_model(model, **kwargs)
        elif how == "save_artifact":
            exp.save_artifact(model, "model.pkl")
    return exp


def test_the_judged_model_is_promoted_with_its_metadata(inc):
    train("baseline-majority", 0.5, Threshold(9.0), baseline=True)
    train("cut-low", 0.7, Threshold(0.2))
    best = train("cut-mid", 0.8, Threshold(0.5), algorithm="threshold rule", framework="rules")
    meta = promote_best_model(inc)
    assert meta["version"] == 1 and meta["file"] == "model-v1.pkl"
    assert meta["source_experiment"] == best.folder and meta["source_run"] == 1
    assert meta["metrics"] == {"accuracy": 0.8} and meta["primary_metric"] == "accuracy"
    assert meta["algorithm"] == "threshold rule" and meta["framework"] == "rules"
    assert meta["class"] == f"{Threshold.__module__}.Threshold" and meta["python"]
    on_disk = json.loads((inc / "models" / "model-v1.metadata.json").read_text())
    assert on_disk == meta and on_disk["sha256"] == best.meta["model"]["sha256"]
    assert (inc / "experiments" / best.folder / "model.pkl").exists(), "the source is copied, never moved"
    assert load_model("0007").cut == 0.5 and model_versions(inc) == [1]


def test_a_new_version_only_when_the_content_differs(inc):
    train("cut", 0.8, Threshold(0.5))
    assert promote_best_model(inc)["version"] == 1
    train("cut", 0.8, Threshold(0.5))  # re-run, same model bytes
    assert promote_best_model(inc) is None and model_versions(inc) == [1]
    train("cut", 0.81, Threshold(0.4))
    meta = promote_best_model(inc)
    assert meta["version"] == 2 and meta["previous_version"] == 1 and meta["metrics"]["accuracy"] == 0.81
    assert load_model(inc).cut == 0.4 and load_model(inc, version=1).cut == 0.5 and load_model(inc, "v2").cut == 0.4


def test_save_artifact_named_model_is_the_model_without_log_model(inc):
    exp = train("cut", 0.8, Threshold(0.5), how="save_artifact")
    (record,) = ExperimentStore(inc).records()
    model = model_of(record)
    assert model["file"] == "model.pkl" and model["class"].endswith(".Threshold") and model["algorithm"] == "Threshold"
    meta = promote_best_model(inc)
    assert meta["source_experiment"] == exp.folder and load_model("0007").cut == 0.5


def test_nothing_to_promote(inc):
    assert promote_best_model(inc) is None  # no experiment at all
    train("no-model", 0.9, Threshold(0.5), how=None)
    assert promote_best_model(inc) is None and model_versions(inc) == []
    with pytest.raises(StoreError, match=r"no promoted model in .*models.*no version has been"):
        load_model("0007")


def test_load_model_refuses_a_tampered_file(inc):
    train("cut", 0.8, Threshold(0.5))
    promote_best_model(inc)
    path = inc / "models" / "model-v1.pkl"
    path.write_bytes(pickle.dumps(Threshold(0.0)))
    with pytest.raises(StoreError, match=r"refusing to load .*model-v1\.pkl: its sha256 \w+ differs from \w+ recorded in .*model-v1\.metadata\.json"):
        load_model("0007")


def test_an_experiments_own_model_loads_by_name_checked_against_its_meta(inc):
    train("cut-low", 0.7, Threshold(0.2))
    exp = train("cut-mid", 0.8, Threshold(0.5))
    assert load_model("0007", experiment="cut-low").cut == 0.2
    assert load_model("0007", experiment=exp.folder).cut == 0.5
    (exp.path / "model.pkl").write_bytes(pickle.dumps(Threshold(0.0)))
    with pytest.raises(StoreError, match=r"refusing to read .*model\.pkl: its sha256 \w+ differs from \w+ recorded in .*meta\.json"):
        load_model("0007", experiment="cut-mid")
    with pytest.raises(StoreError, match=r"no experiment named 'cut-high' in .*experiments"):
        load_model("0007", experiment="cut-high")
    train("no-model", 0.9, Threshold(0.5), how=None)
    with pytest.raises(StoreError, match=r"exp-003-no-model saved no model"):
        load_model("0007", experiment="no-model")
    with pytest.raises(ValueError, match="not both"):
        load_model("0007", version=1, experiment="cut-low")


def test_an_artifact_is_read_only_as_it_was_recorded(inc):
    with track_experiment("tune", increment="0007") as exp:
        exp.save_report("model-selection.json", '{"l2": 800}')
    (record,) = ExperimentStore(inc).records()
    assert record.read_artifact("model-selection.json") == b'{"l2": 800}'
    with pytest.raises(StoreError, match=r"records no artifact 'model\.pkl' \(recorded: model-selection\.json\)"):
        record.read_artifact("model.pkl")
    (exp.path / "model-selection.json").write_text('{"l2": 1}')
    with pytest.raises(StoreError, match=r"refusing to read .*model-selection\.json: its sha256"):
        record.read_artifact("model-selection.json")


def test_load_model_on_a_missing_version_names_the_versions_that_exist(inc):
    train("cut", 0.8, Threshold(0.5))
    promote_best_model(inc)
    train("cut", 0.9, Threshold(0.6))
    promote_best_model(inc)
    with pytest.raises(StoreError, match=r"no model version v7 in .*models; versions: v1, v2"):
        load_model("0007", version=7)
    with pytest.raises(ValueError, match="'vN'"):
        load_model("0007", version="seven")


def test_promotion_refuses_a_source_changed_after_it_was_saved(inc):
    exp = train("cut", 0.8, Threshold(0.5))
    (exp.path / "model.pkl").write_bytes(pickle.dumps(Threshold(0.0)))
    with pytest.raises(StoreError, match=r"not promoting .*model\.pkl: its sha256 .* differs"):
        promote_best_model(inc)
    assert model_versions(inc) == []


def test_input_example_is_kept_beside_the_model(inc):
    exp = train("cut", 0.8, Threshold(0.5), input_example=[0.1, 0.9])
    assert exp.meta["model"]["input_example"] == "input_example.pkl"
    assert pickle.loads((exp.path / "input_example.pkl").read_bytes()) == [0.1, 0.9]
    assert promote_best_model(inc)["input_example"] == "input_example.pkl"


@pytest.mark.parametrize(
    "version, number",
    [(None, None), ("latest", None), (3, 3), ("3", 3), ("v3", 3), ("V3", 3), ("model-v3", 3)],
)
def test_version_spellings(version, number):
    assert parse_version(version) == number


def test_framework_guess():
    assert guess_framework("sklearn.ensemble._forest.RandomForestClassifier") == "sklearn"
    assert guess_framework("xgboost.sklearn.XGBClassifier") == "xgboost"
    assert guess_framework("pytest_specweave_increments.i0042_x.pipeline.Popularity") == "python"
    assert guess_framework(None) is None


def test_a_model_of_an_increments_own_class_loads_in_a_fresh_process(pytester):
    """Pickled inside pytest from the increment's linked module, loaded back by load_model elsewhere."""
    write_increment(pytester.path, "0009-own-class", {
        "spec.md": SPEC,
        "tasks.md": "- [ ] T-001: Train — `pipeline.py::train`\n",
        "pipeline.py": """
            class MajorityModel:
                def __init__(self, label):
                    self.label = label

                def predict(self, rows):
                    return [self.label for _ in rows]


            def train(experiment):
                experiment.log_metric("accuracy", 0.75)
                experiment.log_model(MajorityModel(1), input_example=[[0.0], [1.0]])
        """,
    })
    result = pytester.runpytest("increments/0009-own-class", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*specweave: promoted increments*0009-own-class*models*model-v1.pkl*"])
    code = textwrap.dedent("""
        import sys
        from pytest_specweave import load_model
        model = load_model("0009")
        print(type(model).__module__, type(model).__name__, model.predict([1, 2]))
        print("mlflow" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=pytester.path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == [
        "pytest_specweave_increments.i0009_own_class.pipeline MajorityModel [1, 1]",
        "False",
    ]
    # A second run trains the same bytes: no new version.
    again = pytester.runpytest("increments/0009-own-class", "-p", "no:cacheprovider")
    assert "promoted" not in again.stdout.str()
    assert model_versions(pytester.path / "increments" / "0009-own-class") == [1]


def test_the_summary_command_promotes_too(pytester, capsys):
    from pytest_specweave.cli import main

    inc = write_increment(pytester.path, "0010-cli", {"spec.md": SPEC, "tasks.md": "- [ ] T-001: Train\n"})
    with track_experiment("cut", increment=inc) as exp:
        exp.log_metric("accuracy", 0.8)
        exp.log_model(Threshold(0.5))
    assert main(["summary", str(inc)]) == 0
    assert "model-v1.pkl (promoted: the model of exp-001-cut)" in capsys.readouterr().out
    assert model_versions(inc) == [1]


def test_a_failed_promotion_is_reported_and_the_run_goes_on(pytester):
    write_increment(pytester.path, "0011-tampered", {
        "spec.md": SPEC,
        "tasks.md": "- [ ] T-001: Train — `pipeline.py::train`\n",
        "pipeline.py": """
            import pickle


            def train(experiment):
                experiment.log_metric("accuracy", 0.75)
                path = experiment.log_model({"weights": [1, 2]})
                path.write_bytes(pickle.dumps({"weights": [6, 6]}))  # changed after it was recorded
        """,
    })
    result = pytester.runpytest("increments/0011-tampered", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "specweave: could not promote the best model of 0011-tampered: not promoting" in out
    assert "COMPLETION-SUMMARY.md" in out and model_versions(pytester.path / "increments" / "0011-tampered") == []
