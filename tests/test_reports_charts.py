"""The summary's charts (PNG, linked relative to it) and the predictions artifact they are drawn from."""

from __future__ import annotations

import re
import sys
import warnings

import pytest

from conftest import write_increment
from pytest_specweave import track_experiment
from pytest_specweave.evaluation.judge import JudgeContext
from pytest_specweave.model.increment import Increment
from pytest_specweave.reports import charts as charts_module
from pytest_specweave.reports.charts import read_histories
from pytest_specweave.reports.summary import write_summary

np = pytest.importorskip("numpy")
pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"

SPEC = """
---
primary_metric: roc_auc
problem_type: classification
---
# Churn

## ML Problem Definition
- Success metrics: ROC AUC >= 0.8
"""


def classification_store(root, name="0001-churn"):
    folder = write_increment(root, name, {"spec.md": SPEC, "tests.md": "## Evaluation Criteria\n- TC-001: roc_auc > 0.85\n"})
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    score = np.clip(0.45 * y + 0.55 * rng.random(400), 0, 1)
    with track_experiment("baseline-random", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.5)
    with track_experiment("gbm", increment=folder) as exp:
        for step in range(6):
            exp.log_metrics({"loss": 0.7 * 0.8 ** step, "val_loss": 0.75 * 0.82 ** step}, step=step)
        exp.log_metric("roc_auc", 0.93, ci=(0.9, 0.95))
        exp.log_predictions(y, (score >= 0.5).astype(int), y_score=score)
        exp.save_report("feature_importance.csv", "rank,feature,importance_mean,importance_std,shap_mean_abs\n"
                        + "".join(f"{r},feature_{r},{0.3 / r:.4f},{0.01:.4f},\n" for r in range(1, 26)))
    with track_experiment("logreg", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.88)
    return folder


def summary(folder, **kwargs) -> str:
    increment = Increment.load(folder)
    return write_summary(increment, None, JudgeContext.for_increment(increment), **kwargs).read_text(encoding="utf-8")


def linked_images(text: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)


def test_charts_are_written_as_png_and_linked_relative_to_the_summary(tmp_path):
    folder = classification_store(tmp_path)
    text = summary(folder)
    links = linked_images(text)
    assert links == ["charts/metric-by-experiment.png", "charts/learning-curve-loss.png",
                     "charts/confusion-matrix.png", "charts/pr-curve.png",
                     "charts/feature-importance.png"]
    for link in links:
        assert not link.startswith("/") and ".." not in link
        data = (folder / link).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000
        assert b"Software" not in data and b"tIME" not in data  # no tool tag, no timestamp
    assert "### roc_auc by experiment" in text
    assert "### Confusion matrix — exp-002-gbm" in text
    assert "_Counts of actual (rows) against predicted (columns) classes" in text
    assert sorted(p.name for p in (folder / "charts").iterdir()) == sorted(l.rsplit("/", 1)[1] for l in links)
    # The store still reads as before: the charts folder is no experiment.
    assert [r.folder for r in JudgeContext.for_increment(Increment.load(folder)).records] == [
        "exp-001-baseline-random", "exp-002-gbm", "exp-003-logreg"]


def test_the_same_store_gives_byte_identical_pngs(tmp_path):
    first = classification_store(tmp_path / "a")
    second = classification_store(tmp_path / "b")
    summary(first)
    summary(second)
    names = sorted(p.name for p in (first / "charts").glob("*.png"))
    assert len(names) == 5
    for name in names:
        assert (first / "charts" / name).read_bytes() == \
            (second / "charts" / name).read_bytes(), name
    before = {n: (first / "charts" / n).stat().st_mtime_ns for n in names}
    summary(first)  # unchanged bytes are not rewritten
    assert before == {n: (first / "charts" / n).stat().st_mtime_ns for n in names}


def test_without_matplotlib_the_summary_says_how_to_get_charts_once(tmp_path, monkeypatch):
    folder = classification_store(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    text = summary(folder)
    assert text.count("pip install pytest-specweave[plots]") == 1
    assert "Charts need matplotlib: `pip install pytest-specweave[plots]`." in text
    assert not (folder / "charts").exists()
    assert "## Best Model" in text and "## Deployment Readiness" in text and "✅ BEST" in text
    assert linked_images(text) == []


def test_regression_draws_residuals_and_forecasting_draws_the_forecast(tmp_path):
    reg = write_increment(tmp_path, "0002-price", {"spec.md": "---\nprimary_metric: rmse\n---\n# P\n\n"
                                                   "## Success Metrics\n- RMSE < 10\n"})
    rng = np.random.default_rng(0)
    y = rng.normal(100, 20, 300)
    with track_experiment("ridge", increment=reg) as exp:
        exp.log_metric("rmse", 5.0)
        exp.log_predictions(y, y + rng.normal(0, 5, 300))
    text = summary(reg)
    assert "**Problem type**: regression (inferred from the regression metrics logged)" in text
    assert linked_images(text) == ["charts/metric-by-experiment.png", "charts/residuals.png"]

    pd = pytest.importorskip("pandas")
    fc = write_increment(tmp_path, "0003-demand", {"spec.md": "---\nprimary_metric: mape\n---\n# D\n\n"
                                                   "## Success Metrics\n- MAPE < 10%\n"})
    actual = pd.Series(50 + rng.normal(0, 2, 90), index=pd.date_range("2025-01-01", periods=90, freq="D"))
    with track_experiment("seasonal", increment=fc) as exp:
        exp.log_metric("mape", 0.04)
        exp.log_predictions(actual, actual.to_numpy() + 1.0)  # the Series' dates become the index
    text = summary(fc)
    assert "**Problem type**: forecasting (inferred from mape and the time index of the predictions)" in text
    assert "charts/forecast-vs-actual.png" in linked_images(text)


def test_a_missing_predictions_artifact_is_noted_not_drawn(tmp_path):
    folder = write_increment(tmp_path, "0001-x", {"spec.md": SPEC})
    with track_experiment("gbm", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.9)
    text = summary(folder)
    assert linked_images(text) == ["charts/metric-by-experiment.png"]
    assert ("- no confusion matrix and PR curve: exp-001-gbm saved no predictions (compute_metrics(..., "
            "experiment=exp) saves them") in text


def test_charts_that_no_longer_apply_are_removed(tmp_path):
    folder = write_increment(tmp_path, "0001-x", {"spec.md": SPEC})
    with track_experiment("gbm", increment=folder) as exp:
        exp.log_metric("roc_auc", 0.9)
    charts = folder / "charts"
    charts.mkdir(parents=True)
    (charts / "pr-curve.png").write_bytes(PNG)
    (charts / "README.txt").write_text("not ours")
    summary(folder)
    assert sorted(p.name for p in charts.iterdir()) == ["README.txt", "metric-by-experiment.png"]


def test_a_chart_that_fails_becomes_a_note_and_the_others_are_written(tmp_path, monkeypatch):
    folder = classification_store(tmp_path)

    def broken(data, canvas, notes):
        raise RuntimeError("boom")
        yield  # pragma: no cover

    monkeypatch.setattr(charts_module, "_feature_importance", broken)
    text = summary(folder)
    assert "- a chart could not be drawn (feature importance): RuntimeError: boom" in text
    assert len(linked_images(text)) == 4


def test_many_experiments_show_the_best_the_baselines_and_the_leading_candidates(tmp_path, monkeypatch):
    monkeypatch.setattr(charts_module, "MAX_BARS", 5)
    folder = write_increment(tmp_path, "0001-x", {"spec.md": SPEC})
    for i in range(10):
        with track_experiment(f"m{i}", increment=folder, baseline=i < 2) as exp:
            exp.log_metric("roc_auc", 0.5 + i / 30)
    text = summary(folder)
    assert "### roc_auc by experiment" in text
    assert "the 5 shown are the best, the baselines and the leading candidates" in text


def test_learning_curves_use_logged_steps_only(tmp_path):
    folder = write_increment(tmp_path, "0001-x", {"spec.md": SPEC})
    with track_experiment("tuning", increment=folder) as exp:
        for step in range(4):
            exp.log_metric("val_auc", 0.8 + step / 100, step=step)
        exp.log_metric("val_auc", 0.83)  # the final value, no step: not a fifth point
        for value in (0.9, 0.8, 0.7):
            exp.log_metric("loss", value)  # a loop without steps
        exp.log_metric("once", 1.0)
    record = JudgeContext.for_increment(Increment.load(folder)).records[0]
    histories = read_histories(record)
    assert [s for s, _ in histories["val_auc"]] == [0, 1, 2, 3]
    assert [v for _, v in histories["val_auc"]] == pytest.approx([0.8, 0.81, 0.82, 0.83])
    assert histories["loss"] == [(0, 0.9), (1, 0.8), (2, 0.7)]
    assert "once" not in histories


# -- the predictions artifact ---------------------------------------------------------------------


def test_log_predictions_saves_a_compressed_npz_recorded_in_meta(tmp_path):
    folder = write_increment(tmp_path, "0001-x", {"spec.md": SPEC})
    with track_experiment("m", increment=folder) as exp:
        path = exp.log_predictions(["a", "b", "a"], ["a", "a", "a"], y_score=[[0.9, 0.1], [0.6, 0.4], [0.8, 0.2]])
    assert path.name == "predictions.npz"
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["n_total", "y_pred", "y_score", "y_true"]
        assert npz["y_true"].tolist() == ["a", "b", "a"] and npz["y_score"].shape == (3, 2)
        assert int(npz["n_total"]) == 3
    entry = exp.meta["artifacts"]["predictions.npz"]
    assert entry["kind"] == "predictions" and entry["rows"] == 3 and entry["rows_total"] == 3


def test_log_predictions_keeps_a_deterministic_sample_of_large_sets(tmp_path, monkeypatch):
    from pytest_specweave.tracking import experiment as experiment_module

    monkeypatch.setattr(experiment_module, "MAX_PREDICTION_ROWS", 100)
    folder = write_increment(tmp_path, "0001-x", {"spec.md": SPEC})
    y = np.arange(1000)
    kept = []
    for name in ("a", "b"):
        with track_experiment(name, increment=folder) as exp:
            path = exp.log_predictions(y, y * 2)
        with np.load(path) as npz:
            kept.append(npz["y_true"])
            assert len(npz["y_true"]) == 100 and int(npz["n_total"]) == 1000
            assert (npz["y_pred"] == npz["y_true"] * 2).all()
            assert (np.diff(npz["y_true"]) > 0).all()  # row order kept
    assert (kept[0] == kept[1]).all()


def test_log_predictions_refuses_mismatched_or_ragged_input(tmp_path):
    folder = write_increment(tmp_path, "0001-x", {"spec.md": SPEC})
    with track_experiment("m", increment=folder) as exp:
        with pytest.raises(ValueError, match="y_true has 3 rows but y_pred has 2"):
            exp.log_predictions([1, 2, 3], [1, 2])
        with pytest.raises(ValueError, match="y_true must hold numbers, labels or dates, one per row"):
            exp.log_predictions([{1, 2}, {3}], None)


def test_compute_metrics_and_bootstrap_save_the_rows_they_judged(tmp_path):
    pytest.importorskip("sklearn")
    from pytest_specweave.evaluation.metrics import compute_metrics
    from pytest_specweave.evaluation.validation import bootstrap_ci

    folder = write_increment(tmp_path, "0001-x", {"spec.md": SPEC})
    y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    score = np.array([0.2, 0.9, 0.6, 0.4, 0.7, 0.1, 0.3, 0.8])
    with track_experiment("m", increment=folder) as exp:
        bootstrap_ci("accuracy", y, (score >= 0.5).astype(int), experiment=exp, n_resamples=50)
        bootstrap_ci("roc_auc", y, score, experiment=exp, n_resamples=50)  # merged with the labels above
        compute_metrics("classification", y, y_score=score, threshold=0.35, experiment=exp, prefix="val_")
        compute_metrics("ranking", [[1], [2]], [[1, 3], [2, 4]], k=2, experiment=exp, prefix="rank_")
        compute_metrics("regression", [1.0, 2.0], [1.5, 2.5], experiment=exp, prefix="none_", log_predictions=False)
    with np.load(folder / "experiments" / "exp-001-m" / "predictions.npz") as npz:
        assert (npz["y_pred"] == (score >= 0.5)).all() and (npz["y_score"] == score).all()
    with np.load(folder / "experiments" / "exp-001-m" / "val_predictions.npz") as npz:
        assert (npz["y_pred"] == (score >= 0.35)).all()  # the labels judged, at the threshold used
    artifacts = sorted(a for a in exp.meta["artifacts"] if a.endswith(".npz"))
    assert artifacts == ["predictions.npz", "val_predictions.npz"]


def test_predictions_that_cannot_be_saved_warn_and_the_metrics_still_log(tmp_path):
    from pytest_specweave.evaluation.metrics import MetricWarning, save_predictions

    folder = write_increment(tmp_path, "0001-x", {"spec.md": SPEC})
    with track_experiment("m", increment=folder) as exp:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            save_predictions(exp, [{1}, {2, 3}], None)
    assert any(issubclass(w.category, MetricWarning) and "predictions not saved" in str(w.message) for w in caught)
