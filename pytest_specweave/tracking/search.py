"""A hyperparameter search, trial by trial, in the tuning experiment: Optuna studies and scikit-learn's searches.

`log_search(experiment, search)` takes a finished `optuna.Study` or a fitted `GridSearchCV`,
`RandomizedSearchCV`, `HalvingGridSearchCV` or `HalvingRandomSearchCV` and records, compactly:

- every trial in the artifact `search-trials.json` — its number, state (complete, pruned, fail,
  running; scikit-learn's candidates are complete, or fail when a fold failed), value, params,
  duration, and for scikit-learn the mean and standard deviation over the folds and the rank —
  all of them, not the top five MLflow's autolog keeps;
- the value of each completed trial as a step of the search's metric (`val_<metric>` by
  default), so the summary charts score against trial;
- the best trial's params as the experiment's params, its value as the metric's final value;
- Optuna's parameter importances (fANOVA) when two or more trials completed;
- in meta.json, `"search"`: the library, the metric, the direction, and the counts by state.
  Every trial is a look at the validation data: the summary says how many there were.

`optuna_callback(experiment)` logs each trial as a step while the study runs (a crashed search
keeps what it did); call `log_search` at the end for the full record.
"""

from __future__ import annotations

import math

SEARCH_FILE = "search-trials.json"
SEARCH_META = "search"


def _number(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _plain(value):
    """A param value JSON can hold: numbers, strings, booleans, None; anything else as its repr."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return _plain(item())
        except (TypeError, ValueError):
            pass
    return repr(value)


def _is_optuna_study(search) -> bool:
    return hasattr(search, "trials") and hasattr(search, "best_trial") and hasattr(search, "directions")


def _optuna_trials(study) -> tuple[list[dict], str]:
    trials = []
    for trial in study.trials:
        duration = trial.duration.total_seconds() if trial.duration is not None else None
        trials.append({"number": int(trial.number), "state": trial.state.name.lower(),
                       "value": _number(trial.value) if trial.values is not None and len(trial.values) == 1 else None,
                       "params": {k: _plain(v) for k, v in trial.params.items()},
                       "duration_s": _number(duration)})
    if len(study.directions) != 1:
        raise ValueError("log_search: a multi-objective study has no single best trial; log each objective's "
                         "Pareto front with your own metrics")
    direction = "minimize" if study.direction.name.lower() == "minimize" else "maximize"
    return trials, direction


def _optuna_importance(study) -> dict | None:
    completed = [t for t in study.trials if t.state.name == "COMPLETE"]
    if len(completed) < 2 or not completed[0].params:
        return None
    try:
        from optuna.importance import get_param_importances

        return {k: float(v) for k, v in get_param_importances(study).items()}
    except Exception:  # noqa: BLE001 - importances are a bonus; a study they cannot handle is still logged
        return None


def _sklearn_trials(search) -> tuple[list[dict], str, str]:
    import numpy as np

    results = search.cv_results_
    scorer = "score"
    if isinstance(search.scoring, str):
        scorer = search.scoring
    refit = search.refit if isinstance(search.refit, str) else None
    key = f"mean_test_{refit}" if refit else "mean_test_score"
    if key not in results:
        raise ValueError(f"log_search: cv_results_ has no {key!r}; set refit= to the metric that chose the model")
    suffix = key[len("mean_test_"):]
    scorer = refit or scorer
    means, stds = results[key], results.get(f"std_test_{suffix}")
    ranks = results.get(f"rank_test_{suffix}")
    fits = results.get("mean_fit_time")
    iterations = results.get("iter")  # successive halving: the round a candidate was scored in
    trials = []
    for i, params in enumerate(results["params"]):
        value = _number(means[i])
        trial = {"number": i, "state": "complete" if value is not None else "fail", "value": value,
                 "std": _number(stds[i]) if stds is not None else None,
                 "rank": int(ranks[i]) if ranks is not None else None,
                 "params": {k: _plain(v) for k, v in params.items()},
                 "duration_s": _number(fits[i]) if fits is not None else None}
        if iterations is not None:
            trial["iteration"] = int(np.asarray(iterations)[i])
        trials.append(trial)
    return trials, "maximize", scorer  # scikit-learn scorers are greater-is-better (errors are negated)


def _listed_trials(search, direction: str) -> tuple[list[dict], str]:
    """Trials of a search run by your own loop: mappings with `params` and `value` (and optionally `state`,
    `duration_s`, `std`), in the order they ran."""
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"log_search: direction must be 'maximize' or 'minimize', got {direction!r}")
    trials = []
    for number, trial in enumerate(search):
        if not isinstance(trial, dict) or not isinstance(trial.get("params"), dict):
            raise TypeError(f"log_search: trial {number} is not a mapping with 'params' (a dict) and 'value'")
        value = _number(trial.get("value"))
        state = str(trial.get("state") or ("complete" if value is not None else "fail")).lower()
        trials.append({"number": number, "state": state, "value": value if state == "complete" else None,
                       "std": _number(trial.get("std")),
                       "params": {k: _plain(v) for k, v in trial["params"].items()},
                       "duration_s": _number(trial.get("duration_s"))})
    return trials, direction


def log_search(experiment, search, *, metric: str | None = None, direction: str = "maximize",
               best: int | None = None) -> dict:
    """Record a finished Optuna study, a fitted scikit-learn search, or the trials of your own loop (a list
    of {"params": {...}, "value": ..., "state": "complete" | "pruned" | "fail"}) in `experiment` (see the module).

    metric: the name the search's values are logged under; default `val_<scorer>` for scikit-learn
    (`val_roc_auc`; `val_score` for the estimator's own score) and `val_score` otherwise.
    direction: for your own trials, whether the best value is the highest ("maximize") or lowest.
    best: for your own trials, the number of the one your loop chose, when its rule is not "the best
    value" (a staged search keeps the best of its last stage).
    Returns what was written to `search-trials.json`.
    """
    importance = None
    if best is not None and not isinstance(search, (list, tuple)):
        raise TypeError("log_search: best= applies to the trials of your own loop; a study or search knows its best")
    if _is_optuna_study(search):
        library = "optuna"
        trials, direction = _optuna_trials(search)
        name = metric or "val_score"
        importance = _optuna_importance(search)
        completed = [t for t in trials if t["state"] == "complete" and t["value"] is not None]
        best = search.best_trial.number if completed else None
    elif hasattr(search, "cv_results_"):
        library = "scikit-learn"
        trials, direction, scorer = _sklearn_trials(search)
        name = metric or f"val_{scorer}"
        best = int(search.best_index_) if hasattr(search, "best_index_") else None
        if len({t.get("iteration") for t in trials}) > 1:  # halving: the best is of the last round
            last = max(t["iteration"] for t in trials)
            completed = [t for t in trials if t.get("iteration") == last and t["value"] is not None]
        else:
            completed = [t for t in trials if t["value"] is not None]
    elif isinstance(search, (list, tuple)):
        library = "own loop"
        trials, direction = _listed_trials(search, direction)
        name = metric or "val_score"
        completed = [t for t in trials if t["state"] == "complete" and t["value"] is not None]
        sign = -1 if direction == "minimize" else 1
        if best is None:
            best = max(completed, key=lambda t: (sign * t["value"], -t["number"]))["number"] if completed else None
        elif not any(t["number"] == best for t in completed):
            raise ValueError(f"log_search: best={best} is not a completed trial (0 to {len(trials) - 1})")
    else:
        raise TypeError(f"log_search: expected an optuna Study, a fitted scikit-learn *SearchCV or a list of trials "
                        f"({{'params': {{...}}, 'value': 0.81}}), got {type(search).__name__} (fit the search first)")
    from .store import JOURNAL, read_series

    logged = {step for step, _, _ in read_series(experiment.path / JOURNAL, name)}  # by optuna_callback
    for trial in trials:
        if trial["state"] == "complete" and trial["value"] is not None and trial["number"] not in logged:
            experiment.log_metric(name, trial["value"], step=trial["number"])
    best_trial = next((t for t in trials if t["number"] == best), None)
    if best_trial is not None:
        experiment.log_params(best_trial["params"])
        # the final value is the last one logged: the best trial's, again at its own step
        experiment.log_metric(name, best_trial["value"], step=best_trial["number"])
    counts = {}
    for trial in trials:
        counts[trial["state"]] = counts.get(trial["state"], 0) + 1
    record = {"library": library, "metric": name, "direction": direction, "trials": trials,
              "best": best, "importance": importance, "counts": counts}
    experiment.log_dict(record, SEARCH_FILE)
    experiment._update_meta(**{SEARCH_META: {"library": library, "metric": name, "direction": direction,
                                              "trials": len(trials), "counts": counts,
                                              "data": "validation"}})
    return record


def optuna_callback(experiment, *, metric: str = "val_score"):
    """A callback for `study.optimize(..., callbacks=[...])`: each finished trial's value becomes a step
    of `metric` as it happens; `log_search(experiment, study)` afterwards writes the full record."""

    def callback(study, trial) -> None:
        if trial.state.name == "COMPLETE" and trial.values is not None and len(trial.values) == 1:
            value = _number(trial.value)
            if value is not None:
                experiment.log_metric(metric, value, step=int(trial.number))

    return callback
