"""The pipeline of increment 0072: one function per task of tasks.md, in that order.

Tasks take pytest fixtures: `experiment` (pytest-specweave) and `series`, `splits`, `source_file`,
`increment_dir` (conftest.py). Everything statistical goes through pytest_specweave; the models are
forecasters.py's and the wording of the reports writeups.py's. Protocol (spec.md): models are
compared and tuned by rolling origin on the history (12 yearly origins); the chosen one, refitted
on the history, forecasts the test year (2015-06..2016-05) once. The judged metrics are per-year
values over the ten years the selection never saw, kept with the year as the unit of evidence:
intervals resample years, and the ratio to seasonal naive pairs the same years.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from pytest_specweave import (
    ExperimentStore, compute_metrics, cross_validate, drift_forecast_baseline, explain_model, forecast_chart,
    interval_coverage, load_model, log_reference_profile, log_search, measure_latency, measure_model_size,
    measure_throughput, measure_training_time, naive_forecast_baseline, residual_diagnostics, rolling_origin,
    seasonal_naive_baseline, stationarity_tests, track_experiment, validate_dataframe,
)

from . import writeups
from .forecasters import (
    DEFAULTS, FEATURES, FIRST_ROW, GRIDS, HORIZON, SEASON, SEED, SalesForecastModel, feature_row, lag_feature_table,
    make_forecaster, month_number, rolling_forecasts, yoy_growth,
)

N_FOLDS = 12  # rolling origins in the history: forecasts of 2003-06 .. 2015-05, one year each
MIN_INNER = 3  # years a nested selection needs before its first out-of-sample year
OUTER_FOLDS = tuple(range(MIN_INNER, N_FOLDS))  # the 9 nested years: 2006-06 .. 2015-05
METRICS = ("mape", "smape", "mae", "rmse", "mase")
LEVELS = (0.8, 0.95)
SELECTION_FILE = "model-selection.json"
DATA_FILE = "statsmodels/datasets/elec_equip/elec_equip.csv"
BASELINES = {"seasonal-naive": seasonal_naive_baseline, "naive": naive_forecast_baseline,
             "drift": drift_forecast_baseline}


# -- the rolling origin and the judged years -------------------------------------------------------


def xy(part: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(month numbers (n, 1), values) of a monthly series: what the forecasters are fitted on."""
    return month_number(part.index), part.to_numpy(dtype=float)


def span(first, last) -> str:
    return f"{first:%Y-%m}..{last:%Y-%m}"


def folds(history: pd.Series) -> list[dict]:
    """The rolling-origin folds of the history (pytest_specweave.rolling_origin), with their months."""
    pairs = rolling_origin(len(history), horizon=HORIZON, n_origins=N_FOLDS)
    return [{"fold": k, "train_idx": train, "val_idx": val, "n_train": len(train),
             "train": (history.index[train[0]], history.index[train[-1]]),
             "forecast": (history.index[val[0]], history.index[val[-1]])} for k, (train, val) in enumerate(pairs)]


def fold_pairs(history: pd.Series) -> list[tuple]:
    return [(f["train_idx"], f["val_idx"]) for f in folds(history)]


def judged_years(history: pd.Series, test: pd.Series) -> list[str]:
    """The years the success metrics judge: the nested out-of-sample years and the test year."""
    fs = folds(history)
    return [span(*fs[k]["forecast"]) for k in OUTER_FOLDS] + [span(test.index[0], test.index[-1])]


def one_thread():
    """One BLAS/OpenMP thread while small models are fitted: threads spinning on shared cores slow SARIMA."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


_CV: dict = {}


def rolling_cv(estimator, history: pd.Series) -> dict[str, list[float]]:
    """Per-fold metrics of `estimator` over the rolling origin (pytest_specweave.cross_validate), kept
    for the session by configuration: T-005's grid holds T-004's defaults, not fitted twice."""
    key = (type(estimator).__name__, json.dumps(estimator.get_params(), sort_keys=True, default=str), len(history))
    if key not in _CV:
        X, y = xy(history)
        with one_thread():
            _CV[key] = cross_validate(estimator, X, y, problem="forecasting", cv=fold_pairs(history), metrics=METRICS,
                                      season_length=SEASON).folds
    return {metric: list(_CV[key][metric]) for metric in METRICS}


def baseline_folds(method: str, history: pd.Series) -> dict[str, list[float]]:
    """Per-fold metrics of a library baseline over the rolling origin."""
    y = history.to_numpy(dtype=float)
    runs = [BASELINES[method](y[f["train_idx"]], y[f["val_idx"]], season_length=SEASON, track=False).metrics
            for f in folds(history)]
    return {metric: [run[metric] for run in runs] for metric in METRICS}


def log_val(exp, per_fold: dict[str, list[float]], history: pd.Series) -> None:
    """`val_` metrics over the folds; n_test / n_train of the folds for log_cv's corrected interval."""
    ratio = HORIZON / float(np.mean([f["n_train"] for f in folds(history)]))
    for metric in METRICS:
        exp.log_cv(f"val_{metric}", per_fold[metric], test_train_ratio=ratio)


def log_test_year(exp, splits: dict, forecast) -> dict[str, float]:
    """The test year alone, `test_` metrics, with the test targets' hash and the predictions."""
    history, test = splits["history"], splits["test"]
    found = compute_metrics("forecasting", test.to_numpy(), np.asarray(forecast), y_train=history.to_numpy(),
                            season_length=SEASON, experiment=exp, prefix="test_", index=test.index)
    return {metric: found[f"test_{metric}"] for metric in METRICS}


def log_judged_years(exp, per_year: dict[str, list[float]], years: list[str]) -> None:
    """Each judged metric: the mean of its per-year values, with those values as evidence (unit: years)."""
    for metric in METRICS:
        exp.log_metric(metric, float(np.mean(per_year[metric])))
        exp.log_evidence(metric, per_year[metric], units=years, unit="forecast years")


# -- the hand-off between tasks ---------------------------------------------------------------------


def read_selection(increment_dir: Path) -> dict:
    """The model selection T-005 saved (its latest succeeded run), sha256-checked."""
    return ExperimentStore(increment_dir).latest(task="T-005", artifact=SELECTION_FILE).load_dict(SELECTION_FILE)


def evaluated_record(increment_dir: Path):
    """The store's record of the experiment T-006 evaluated (named in the selection)."""
    return ExperimentStore(increment_dir).latest(task="T-006", name=read_selection(increment_dir)["experiment"])


# -- the tasks ---------------------------------------------------------------------------------------


def explore(experiment, series: pd.Series, splits: dict, source_file: Path, increment_dir: Path) -> None:
    """T-001: quality of the whole series; decomposition, stationarity and the target check on the
    history only (the test year is held out even from the exploration)."""
    from statsmodels.tsa.seasonal import STL
    from statsmodels.tsa.stattools import acf

    history = splits["history"]
    frame = pd.DataFrame({"month": series.index.strftime("%Y-%m-%d"), "turnover_index": series.to_numpy()})
    problem = validate_dataframe(frame, increment_dir, as_file="sample.csv")
    assert problem is None, f"{source_file}: {problem}"
    experiment.log_input(source_file, role="data")
    experiment.log_params({"dataset": DATA_FILE, "months": len(series), "history": span(*history.index[[0, -1]]),
                           "test": span(*splits["test"].index[[0, -1]]), "explored": "history only"})
    log_y = np.log(history)
    stl = STL(log_y, period=SEASON, robust=True).fit()
    strength = {part: max(0.0, 1 - np.var(stl.resid) / np.var(getattr(stl, part) + stl.resid))
                for part in ("trend", "seasonal")}
    diff12 = log_y.to_numpy()[SEASON:] - log_y.to_numpy()[:-SEASON]
    tests = {"log y": stationarity_tests(log_y, regression="ct"), "Δ log y": stationarity_tests(np.diff(log_y)),
             "Δ12 log y": stationarity_tests(diff12), "Δ Δ12 log y": stationarity_tests(np.diff(diff12))}
    snaive = np.array(baseline_folds("seasonal-naive", history)["mape"])  # the target check, before any model
    experiment.log_metrics({
        "n_months": len(series), "history_months": len(history), "test_months": len(splits["test"]),
        "missing_values": int(series.isna().sum()), "duplicate_months": int(series.index.duplicated().sum()),
        "trend_strength": strength["trend"], "seasonal_strength": strength["seasonal"],
        "adf_p_log": tests["log y"]["adf_p"], "kpss_p_log": tests["log y"]["kpss_p"],
        "adf_p_seasonal_diff": tests["Δ12 log y"]["adf_p"], "kpss_p_seasonal_diff": tests["Δ12 log y"]["kpss_p"],
        "snaive_cv_mape_mean": float(snaive.mean()), "snaive_cv_mape_median": float(np.median(snaive)),
        "snaive_cv_years_under_10pct": int((snaive < 0.10).sum())})
    experiment.log_artifact(writeups.save_figure(stl.plot(), Path(experiment.path) / "stl-decomposition.png"))
    years = [span(*f["forecast"]) for f in folds(history)]
    experiment.save_report("eda-summary.md", writeups.eda_summary(
        series, splits, DATA_FILE, stl, strength, tests, acf(diff12, nlags=24), dict(zip(years, snaive))))


def features(experiment, splits: dict) -> dict[str, float]:
    """T-002: the ML model's lag and calendar features, their no-look-ahead check, and the
    rolling-origin folds (cv-folds.md)."""
    history, test = splits["history"], splits["test"]
    X, y = xy(history)
    table = lag_feature_table(y, int(X[0, 0]))
    assert list(table.columns[:-1]) == list(FEATURES)
    assert not table.isna().any().any(), "a feature or target is undefined in the training table"
    # No look-ahead: the row of month t computed from the data up to t equals the row computed
    # from the whole history (a feature that read a later month would differ).
    for t in range(FIRST_ROW, len(y), 7):
        alone = lag_feature_table(y[: t + 1], int(X[0, 0])).iloc[-1]
        assert np.allclose(alone.to_numpy(), table.iloc[t - FIRST_ROW].to_numpy()), f"look-ahead at row {t}"
    z = yoy_growth(y)
    z[-1] = np.nan  # a feature row never reads the month it predicts
    assert np.all(np.isfinite(feature_row(z, len(z) - 1, 1))), "a feature reads the month it predicts"
    fs = folds(history)
    experiment.log_params({"features": ", ".join(FEATURES), "target": "year-over-year log growth",
                           "folds": f"{N_FOLDS} expanding-window origins, {HORIZON} months each",
                           "nested_years": f"folds {OUTER_FOLDS[0]}..{OUTER_FOLDS[-1]} + the test year"})
    experiment.save_report("cv-folds.md", writeups.cv_folds(fs, OUTER_FOLDS, history, test, FEATURES))
    return {"n_folds": len(fs), "min_train_months": fs[0]["n_train"], "judged_years": len(OUTER_FOLDS) + 1,
            "feature_rows": len(table), "n_features": len(FEATURES), "test_months": len(test)}


def train_baselines(experiment, splits: dict, source_file: Path) -> None:
    """T-003: the library's seasonal naive, naive and drift forecasts: rolling origin (val_), the
    judged years, the test year."""
    history, test = splits["history"], splits["test"]
    for name, baseline in BASELINES.items():
        with track_experiment(f"baseline-{name}", baseline=True) as exp:
            exp.log_input(source_file, role="data")
            exp.log_params({"method": name, "forecast": f"pytest_specweave.{baseline.__name__}"})
            cv = baseline_folds(name, history)
            log_val(exp, cv, history)
            forecast = baseline(history.to_numpy(), test.to_numpy(), season_length=SEASON, track=False).predictions
            year = log_test_year(exp, splits, forecast)
            log_judged_years(exp, {m: [cv[m][k] for k in OUTER_FOLDS] + [year[m]] for m in METRICS},
                             judged_years(history, test))
    experiment.log_param("baselines", ", ".join(f"baseline-{name}" for name in BASELINES))


def train_candidates(experiment, splits: dict) -> None:
    """T-004: the three families at their default configuration, rolling origin on the history."""
    history = splits["history"]
    results = {}
    for family, params in DEFAULTS.items():
        estimator = make_forecaster(family, params)
        with track_experiment(family) as exp:
            exp.log_params({"family": family, "model": estimator.label(), **params,
                            "evaluated_on": f"rolling origin, {N_FOLDS} folds of {HORIZON} months (history only)"})
            cv = rolling_cv(estimator, history)
            log_val(exp, cv, history)
            results[family] = float(np.mean(cv["mape"]))
    best = min(results, key=results.get)
    experiment.log_params({"best_family_at_defaults": best, "selected_by": "mean val_mape over the folds"})
    experiment.log_note("Mean rolling-origin MAPE at the default configurations: "
                        + ", ".join(f"{f} {v:.2%}" for f, v in results.items())
                        + f". Best: {best}. The final choice is T-005's, over every family's grid.")


def _nested(configs: list[dict]) -> list[dict]:
    """At each judged fold k, the configuration with the lowest mean MAPE over folds < k, and its
    metrics at fold k: the selection rule replayed with only the years before k."""
    mape = np.array([c["folds"]["mape"] for c in configs])
    out = []
    for k in OUTER_FOLDS:
        chosen = configs[int(np.argmin(mape[:, :k].mean(axis=1)))]
        out.append({"fold": k, "chosen": chosen["label"], "family": chosen["family"],
                    **{m: chosen["folds"][m][k] for m in METRICS}})
    return out


def tune(experiment, splits: dict) -> None:
    """T-005: every family's grid (ParameterGrid), each configuration cross-validated over the
    rolling origin; the lowest mean MAPE is chosen, and the nested replay of that rule recorded."""
    from sklearn.model_selection import ParameterGrid

    history = splits["history"]
    fs = folds(history)
    configs = []
    for family, grid in GRIDS.items():
        for params in ParameterGrid(grid):
            estimator = make_forecaster(family, params)
            cv = rolling_cv(estimator, history)
            configs.append({"family": family, "params": json.loads(json.dumps(params)), "label": estimator.label(),
                            "folds": cv, "val_mape": float(np.mean(cv["mape"]))})
    best = min(range(len(configs)), key=lambda i: (configs[i]["val_mape"], i))
    chosen = configs[best]
    log_search(experiment, [{"params": {"family": c["family"], **c["params"]}, "value": c["val_mape"]} for c in configs],
               metric="val_mape", direction="minimize")  # every configuration, one trial each
    log_val(experiment, chosen["folds"], history)  # the final value: the chosen configuration's folds
    nested = [{**n, "forecast": span(*fs[n["fold"]]["forecast"])} for n in _nested(configs)]
    experiment.log_params({"configurations": len(configs), "chosen": chosen["label"], "chosen_family": chosen["family"],
                           "selected_by": f"mean val_mape over {N_FOLDS} rolling-origin folds",
                           "grids": json.dumps(GRIDS, sort_keys=True, default=list)})
    experiment.log_metric("nested_mape_mean", float(np.mean([n["mape"] for n in nested])))
    experiment.log_note(writeups.tuning_table(configs, best))
    experiment.log_note(writeups.nested_table(nested))
    experiment.log_dict({
        "family": chosen["family"], "params": chosen["params"], "label": chosen["label"],
        "experiment": f"{chosen['family']}-tuned", "val": chosen["folds"], "nested": nested,
        "configs": [{k: c[k] for k in ("family", "label", "params", "val_mape")} for c in configs],
    }, SELECTION_FILE)


def log_coverage(exp, rows: list[dict], test: pd.Series, frame: pd.DataFrame) -> dict[str, float]:
    """Share of actual months inside the 80% and 95% intervals: the test year, and the CV years
    (those with the model's own intervals), resampled by forecast origin."""
    found = {}
    for level in LEVELS:
        tag = round(level * 100)
        found[f"test_pi{tag}_coverage"] = interval_coverage(test, frame[f"lo{tag}"], frame[f"hi{tag}"], experiment=exp,
                                                            name=f"test_pi{tag}_coverage")
        if rows and level in rows[0]:
            found[f"cv_pi{tag}_coverage"] = interval_coverage(
                np.concatenate([r["actual"] for r in rows]), np.concatenate([r[level][0] for r in rows]),
                np.concatenate([r[level][1] for r in rows]), origins=np.repeat([r["fold"] for r in rows], HORIZON),
                experiment=exp, name=f"cv_pi{tag}_coverage")
    return found


def evaluate_best(experiment, splits: dict, source_file: Path, increment_dir: Path) -> None:
    """T-006: refit the chosen configuration on the whole history, forecast the test year once."""
    selection = read_selection(increment_dir)
    family, params, name = selection["family"], selection["params"], selection["experiment"]
    history, test = splits["history"], splits["test"]
    years = judged_years(history, test)
    with track_experiment(name) as exp:
        exp.set_seed(SEED)
        exp.log_input(source_file, role="data")
        estimator = make_forecaster(family, params)
        exp.log_params({"family": family, "model": estimator.label(), **params, "fitted_on": span(*history.index[[0, -1]]),
                        "evaluated_on": span(*test.index[[0, -1]]), "judged_years": ", ".join(years),
                        "selected_by": f"mean val_mape over {N_FOLDS} rolling-origin folds (T-005)"})
        statistical = family != "lightgbm"  # the ML model's intervals come from its CV errors
        X, y = xy(history)
        with one_thread():
            rows = rolling_forecasts(estimator, X, y, fold_pairs(history), LEVELS if statistical else ())
            fitted = measure_training_time(make_forecaster(family, params), X, y, experiment=exp).result
            if not statistical:
                fitted.set_interval_errors(np.array([np.log(r["actual"] / r["forecast"]) for r in rows]))
            model = SalesForecastModel(fitted, family, params, LEVELS)
            frame = model.forecast(HORIZON)
        assert (frame.index == test.index).all(), "the forecast months are not the test months"

        year = log_test_year(exp, splits, frame["forecast"])
        model_years = {m: [n[m] for n in selection["nested"]] + [year[m]] for m in METRICS}
        log_judged_years(exp, model_years, years)
        log_val(exp, selection["val"], history)  # in-selection (optimistic), for comparison
        coverage = log_coverage(exp, rows, test, frame)
        snaive = baseline_folds("seasonal-naive", history)["mape"]
        base_test = seasonal_naive_baseline(history.to_numpy(), test.to_numpy(), season_length=SEASON, track=False)
        base_years = [snaive[k] for k in OUTER_FOLDS] + [base_test.metrics["mape"]]
        exp.log_metric("years_better_than_seasonal_naive", int(np.sum(np.less(model_years["mape"], base_years))),
                       exact=True)

        residuals, model_df, scale = fitted.residuals()
        diagnostics = residual_diagnostics(residuals, lags=(12, 24), model_df=model_df, experiment=exp)
        exp.save_report("residual-analysis.md", writeups.residual_analysis(fitted.label(), diagnostics, scale))
        exp.save_report("test-forecast.csv", writeups.forecast_csv(frame, test, base_test.predictions))
        exp.log_artifact(forecast_chart(
            Path(exp.path) / "forecast-test-year.png", history, frame["forecast"], actual=test, since="2011-01-01",
            intervals={"95%": (frame["lo95"], frame["hi95"]), "80%": (frame["lo80"], frame["hi80"])},
            lines={"seasonal naive": pd.Series(base_test.predictions, index=test.index)}, ylabel="turnover index",
            title=f"Test year {years[-1]}: forecast from {history.index[-1]:%Y-%m} (MAPE {year['mape']:.1%})"))
        chosen_by = [n["chosen"] for n in selection["nested"]] + [f"{estimator.label()} (final)"]
        exp.log_note(writeups.test_year_note(years, chosen_by, model_years["mape"], base_years, year, coverage))
        exp.log_model(model, algorithm=estimator.label(), framework="lightgbm" if family == "lightgbm" else "statsmodels")
        # what monitoring compares new months with: the judged years' actual values and the model's forecasts
        judged = pd.concat([pd.Series(r["actual"]) for r in rows] + [test.reset_index(drop=True)], ignore_index=True)
        forecasts = np.concatenate([r["forecast"] for r in rows] + [frame["forecast"].to_numpy()])
        log_reference_profile(exp, pd.DataFrame({"turnover": judged.to_numpy(dtype=float)}), scores=forecasts)
    experiment.log_param("evaluated_experiment", name)


def explain(experiment, splits: dict, increment_dir: Path) -> dict[str, float]:
    """T-007: why the evaluated model forecasts what it does: the decomposition of its forecast and
    the lag importances of the ML model. Uses the history and the forecast, never the test values."""
    from statsmodels.tsa.seasonal import STL

    record = evaluated_record(increment_dir)
    model = load_model(increment_dir, experiment=record.folder)
    experiment.log_param("explains", record.folder)
    history = splits["history"]
    with one_thread():
        forecast = model.forecast(HORIZON)["forecast"]
    last_year = pd.Series(history.to_numpy()[-SEASON:], index=forecast.index)
    stl = STL(np.log(pd.concat([history, forecast])), period=SEASON, robust=True).fit()
    parts = pd.DataFrame({"month": forecast.index.strftime("%Y-%m"), "forecast": forecast.to_numpy(),
                          "same_month_last_year": last_year.to_numpy(),
                          "yoy_growth": np.round(forecast.to_numpy() / last_year.to_numpy() - 1, 6) + 0.0,
                          "stl_trend": np.exp(stl.trend.iloc[-HORIZON:].to_numpy()),
                          "stl_seasonal_factor": np.exp(stl.seasonal.iloc[-HORIZON:].to_numpy())})
    # The ML model's lags: permutation importance (pytest_specweave.explain_model) of the tuned
    # LightGBM configuration, refitted on the history, on its own training rows.
    ml = min((c for c in read_selection(increment_dir)["configs"] if c["family"] == "lightgbm"),
             key=lambda c: c["val_mape"])
    X, y = xy(history)
    with one_thread():
        booster = make_forecaster("lightgbm", ml["params"]).fit(X, y)
        rows = lag_feature_table(y, int(X[0, 0]))
        lags = explain_model(booster.model_, rows[list(FEATURES)], rows["growth"], shap=False, seed=SEED)
    if model.family == "lightgbm":
        experiment.save_report("feature_importance.csv", lags.importance_csv())
    trend = np.exp(stl.trend[stl.trend.index >= pd.Timestamp("2011-01-01")])
    chart = forecast_chart(Path(experiment.path) / "forecast-decomposition.png", history, forecast, since="2011-01-01",
                           lines={"STL trend (history + forecast)": trend, "same month last year": last_year},
                           title=f"Forecast decomposition: {model.forecaster.label()}", ylabel="turnover index")
    experiment.log_artifact(chart)
    experiment.save_report("explanations.md", writeups.explanation(model, record.folder, history, parts, booster, ml, lags))
    experiment.save_report("forecast-explanation.csv", parts.round(4).to_csv(index=False))
    return {"forecast_mean_growth": float(parts["yoy_growth"].mean()),
            "stl_seasonal_range": float(parts["stl_seasonal_factor"].max() - parts["stl_seasonal_factor"].min()),
            "ml_top_lag_importance": float(lags.importance[0]["importance_mean"])}


def deployment(experiment, splits: dict, increment_dir: Path) -> None:
    """T-008: the evaluated (promoted) model loaded from its file and asked for the 12-month
    forecast: latency, throughput, size, and a check of what it returns."""
    record = evaluated_record(increment_dir)
    model = load_model(increment_dir, experiment=record.folder)
    path = record.path / record.meta["model"]["file"]
    experiment.log_params({"model": f"{record.folder}/{path.name}", "request": "forecast(12) with 80% and 95% "
                           "intervals", "serving": "one process, one thread, one request at a time, model in memory"})
    history = splits["history"]
    with one_thread():  # a serving worker is one process on one core
        frame = model.forecast(HORIZON)
        assert frame.index[0] == history.index[-1] + pd.offsets.MonthBegin(1) and len(frame) == HORIZON, \
            f"the forecast months are {span(*frame.index[[0, -1]])}, not the 12 months after the history"
        values = frame[["lo95", "lo80", "forecast", "hi80", "hi95"]].to_numpy()
        assert np.all(np.isfinite(values)) and np.all(np.diff(values, axis=1) >= 0), "intervals not finite and nested"

        def serve(request):  # one request: the next 12 months, with their intervals
            return [model.forecast(HORIZON) for _ in request]

        requests = np.zeros((300, 1))  # a forecast takes no input row; each request is one call
        measure_latency(predict=serve, X=requests, n_requests=300, warmup=10, experiment=experiment)
        measure_throughput(predict=serve, X=requests, n_requests=300, batch_size=10, n_batches=10, experiment=experiment)
    measure_model_size(path, experiment=experiment)
    experiment.log_note(f"Loaded {record.folder}/{path.name} ({model!r}) and forecast "
                        f"{span(*frame.index[[0, -1]])}:\n\n" + writeups.markdown_table(frame))
