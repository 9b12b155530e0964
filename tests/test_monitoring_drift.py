"""The monitoring hand-off: a reference profile shipped with the promoted model, and drift gated against it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pytest_specweave.monitoring.drift import DriftLimits, check_drift, psi
from pytest_specweave.monitoring.profile import reference_profile

N = 4000


def frame(seed, *, shift=0.0, scale=1.0, colours=(0.5, 0.3, 0.2), missing=0.0):
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3 + shift, 0.5 * scale, N)
    amount[rng.random(N) < missing] = np.nan
    return pd.DataFrame({"amount": amount, "age": rng.integers(18, 80, N),
                         "colour": rng.choice(["red", "green", "blue"], N, p=list(colours))})


def test_psi_is_zero_for_equal_shares_and_matches_the_formula():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    expected = (0.7 - 0.5) * np.log(0.7 / 0.5) + (0.3 - 0.5) * np.log(0.3 / 0.5)
    assert psi([0.5, 0.5], [0.7, 0.3]) == pytest.approx(expected)
    assert np.isfinite(psi([0.5, 0.5, 0.0], [0.5, 0.4, 0.1]))  # an empty reference bin is floored, not infinite


def test_data_from_the_same_distribution_does_not_drift():
    profile = reference_profile(frame(1), scores=np.linspace(0, 1, N))
    report = check_drift(profile, frame(2))
    assert report.ok, report.message()
    assert {f.feature for f in report.features} == {"amount", "age", "colour"}
    assert all(f.psi < 0.05 for f in report.features)
    assert {f.test for f in report.features} == {"KS", "chi-square"}
    assert all(f.p_value > 0.001 for f in report.features)


def test_a_shifted_numeric_feature_and_a_changed_mix_of_categories_are_named_with_their_statistic():
    profile = reference_profile(frame(1))
    report = check_drift(profile, frame(2, shift=0.5, colours=(0.2, 0.3, 0.5)))
    drifted = {f.feature: f for f in report.drifted}
    assert set(drifted) == {"amount", "colour"}
    assert drifted["amount"].psi > 0.2 and drifted["amount"].p_value < 1e-6
    assert drifted["colour"].test == "chi-square" and drifted["colour"].psi > 0.2
    assert "amount: PSI" in report.message() and "colour: PSI" in report.message()


def test_missing_values_and_unseen_categories_count_as_drift():
    profile = reference_profile(frame(1))
    now = frame(2, missing=0.4)
    now.loc[: N // 2, "colour"] = "purple"
    report = check_drift(profile, now)
    assert {f.feature for f in report.drifted} == {"amount", "colour"}
    amount = next(f for f in report.features if f.feature == "amount")
    assert amount.missing_reference == 0.0 and amount.missing_current == pytest.approx(0.4, abs=0.03)


def test_the_p_value_limit_gates_when_set_and_an_absent_feature_fails():
    profile = reference_profile(frame(1))
    slight = frame(2, shift=0.08)
    assert check_drift(profile, slight).ok  # PSI of a slight shift stays under 0.2
    assert not check_drift(profile, slight, limits=DriftLimits(psi=0.2, p_value=0.01)).ok  # KS sees it
    report = check_drift(profile, frame(2).drop(columns="age"))
    assert not report.ok and report.absent == ["age"] and "lacks" in report.message()


def test_scores_are_compared_when_the_new_data_logs_them():
    profile = reference_profile(frame(1), scores=np.random.default_rng(0).beta(2, 5, N))
    now = frame(2).assign(score=np.random.default_rng(1).beta(5, 2, N))
    report = check_drift(profile, now)
    assert [f.feature for f in report.drifted] == ["score"]


# ---------------------------------------------------------------------------------------------
# The hand-off end to end: promoted with the model, gated by a criterion and by the command


TASKS = """# Tasks

- [x] T-001: Train and evaluate — `pipeline.py::train`
"""
SPEC = """# Spec

## Success Metrics

- accuracy > 0.5
- Drift: PSI < 0.2 per feature
"""
CRITERIA = """# Tests

- TC-001: no drift on data/stable.csv
- TC-002: no drift on data/shifted.csv
"""
PIPELINE = '''
import numpy as np
import pandas as pd
from pytest_specweave import compute_metrics, log_reference_profile, track_experiment


def train(increment_dir):
    data = pd.read_csv(increment_dir / "data" / "reference.csv")
    y = (data["amount"] > data["amount"].median()).astype(int).to_numpy()
    pred = y.copy()
    pred[::10] = 1 - pred[::10]
    with track_experiment("model") as exp:
        compute_metrics("classification", y, pred, experiment=exp)
        exp.log_model({"kind": "threshold"})
        log_reference_profile(exp, data, scores=pred.astype(float))
'''
CONFTEST = '''
from pathlib import Path
import pytest


@pytest.fixture
def increment_dir():
    return Path(__file__).parent
'''


@pytest.fixture
def project(tmp_path):
    inc = tmp_path / "increments" / "0001-drifting"
    (inc / "data").mkdir(parents=True)
    for name, text in {"tasks.md": TASKS, "spec.md": SPEC, "tests.md": CRITERIA, "pipeline.py": PIPELINE,
                       "conftest.py": CONFTEST}.items():
        (inc / name).write_text(text, encoding="utf-8")
    frame(1).to_csv(inc / "data" / "reference.csv", index=False)
    frame(2).to_csv(inc / "data" / "stable.csv", index=False)
    frame(3, shift=0.6).to_csv(inc / "data" / "shifted.csv", index=False)
    return tmp_path


def test_the_profile_ships_with_the_promoted_model_and_criteria_gate_new_data(project):
    run = subprocess.run([sys.executable, "-m", "pytest", "increments/0001", "-p", "no:cacheprovider", "-rA"],
                         cwd=project, capture_output=True, text=True)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out  # TC-002's data drifted
    assert "PASSED increments/0001-drifting/tests.md::TC-001" in out
    assert "FAILED increments/0001-drifting/tests.md::TC-002" in out and "amount: PSI" in out
    assert "PASSED increments/0001-drifting/spec.md::SM-2" in out
    models = project / "increments" / "0001-drifting" / "models"
    metadata = json.loads((models / "model-v1.metadata.json").read_text(encoding="utf-8"))
    assert metadata["monitoring_profile"] == "model-v1.profile.json"
    shipped = json.loads((models / "model-v1.profile.json").read_text(encoding="utf-8"))
    assert set(shipped["features"]) == {"amount", "age", "colour"} and "score" in shipped
    summary = (project / "increments" / "0001-drifting" / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert ("- Monitoring: reference profile [models/model-v1.profile.json](models/model-v1.profile.json): 3 features "
            "and the model's scores over 4,000 rows; new data gated at PSI < 0.2 per feature") in summary

    drift = subprocess.run([sys.executable, "-m", "pytest_specweave", "drift", "0001", "increments/0001-drifting/data/shifted.csv"],
                           cwd=project, capture_output=True, text=True)
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "DRIFT: 1 of 3 feature(s) drifted (PSI < 0.2): amount: PSI" in drift.stdout
    stable = subprocess.run([sys.executable, "-m", "pytest_specweave", "drift", "0001",
                             "increments/0001-drifting/data/stable.csv", "--json"], cwd=project, capture_output=True,
                            text=True)
    assert stable.returncode == 0, stable.stdout + stable.stderr
    assert json.loads(stable.stdout)["ok"] is True
    broken = subprocess.run([sys.executable, "-m", "pytest_specweave", "drift", "0001", "nothing.csv"], cwd=project,
                            capture_output=True, text=True)
    assert broken.returncode == 2 and "nothing.csv: no such file" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_parquet_and_jsonl_files_are_read_and_a_broken_file_is_named(tmp_path):
    from pytest_specweave.monitoring.drift import read_table

    data = frame(5)
    data.to_parquet(tmp_path / "current.parquet")  # the [monitoring] extra's pyarrow
    data.to_json(tmp_path / "current.jsonl", orient="records", lines=True)
    assert check_drift(reference_profile(frame(1)), read_table(tmp_path / "current.parquet")).ok
    assert len(read_table(tmp_path / "current.jsonl")) == N
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValueError, match=r"broken.parquet: cannot be read as a table"):
        read_table(tmp_path / "broken.parquet")


def test_a_profile_logged_by_a_rerun_of_the_same_model_ships_with_its_version(project):
    inc = project / "increments" / "0001-drifting"
    pipeline = inc / "pipeline.py"
    without = pipeline.read_text(encoding="utf-8").replace(
        "        log_reference_profile(exp, data, scores=pred.astype(float))\n", "")
    pipeline.write_text(without, encoding="utf-8")
    (inc / "tests.md").unlink()
    subprocess.run([sys.executable, "-m", "pytest", "increments/0001", "-p", "no:cacheprovider"], cwd=project,
                   capture_output=True, text=True)
    metadata = json.loads((inc / "models" / "model-v1.metadata.json").read_text(encoding="utf-8"))
    assert "monitoring_profile" not in metadata
    pipeline.write_text(PIPELINE, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "pytest", "increments/0001", "-p", "no:cacheprovider"], cwd=project,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(p.name for p in (inc / "models").glob("model-v*.metadata.json")) == ["model-v1.metadata.json"]
    metadata = json.loads((inc / "models" / "model-v1.metadata.json").read_text(encoding="utf-8"))
    assert metadata["monitoring_profile"] == "model-v1.profile.json"
    summary = (inc / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "- Version: [models/model-v1.pkl](models/model-v1.pkl) (v1, promoted from this experiment" in summary
    assert "- Monitoring: reference profile [models/model-v1.profile.json]" in summary
