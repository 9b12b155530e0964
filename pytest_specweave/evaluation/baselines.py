"""Baselines in one call each: predictions, their metrics, and (track=True) a baseline experiment.

ranking         random_baseline, popularity_baseline
classification  majority_baseline, stratified_baseline, uniform_baseline
regression      mean_baseline, median_baseline
forecasting     naive_forecast_baseline, seasonal_naive_baseline, drift_forecast_baseline

Each returns a BaselineResult and, with track=True (the default), records an experiment tracked
with baseline=True (params, metrics, the hash of the evaluation targets, and `eval_data`'s hash as
its "eval" input when given) in the current increment, or `increment=`. Default names start
with "baseline-"; the random ones contain "random", which is what "Better than random baseline
by 3x" looks for (`uniform_baseline` is classification's random one).

A baseline keeps the per-unit evidence of its metrics, so that "better than the baseline by 3x"
is judged on the same rows or users pair by pair (the classification and regression baselines take
`units=` and `groups=` as compute_metrics does: give them what the candidate is given, so that a
metric resampled by customer is paired customer by customer) — except the forecasting baselines, whose rows
are a time series (no block length is known to resample them by). The random ranking baseline logs the exact
expectation of precision@k, recall@k, hit_rate@k and ndcg@k (what a uniform draw gives on
average, not one draw's luck); its other metrics come from the draw.
"""

from __future__ import annotations

from dataclasses import dataclass

from .metrics import compute_metrics, record_eval_targets


@dataclass
class BaselineResult:
    name: str
    predictions: object  # labels, values, or ranked lists (n_users, k)
    metrics: dict[str, float]
    scores: object = None  # classification: positive-class scores or class probabilities
    experiment: str | None = None  # the folder of the tracked experiment


def _record(name, params, metrics, y_true, *, track, increment, eval_data, evidence=(), exact=()) -> str | None:
    """The baseline experiment: params, metrics (those in `exact` with no sampling error), per-unit evidence."""
    if not track:
        return None
    from ..tracking.api import track_experiment
    from .evidence import save

    with track_experiment(name, baseline=True, increment=increment) as exp:
        exp.log_params(params)
        for key, value in metrics.items():
            exp.log_metric(key, value, exact=key in exact)
        record_eval_targets(exp, y_true)
        for found in evidence:
            save(exp, found)
        if eval_data is not None:
            exp.log_input(eval_data, role="eval")
    return exp.folder


def _evidence_of(metrics, y_true, predictions, **options) -> list:
    """The per-unit evidence of each metric the baseline logged (so that a ratio to it is judged pair by pair)."""
    from .evidence import from_predictions

    found = []
    for name in metrics:
        try:
            evidence = from_predictions(name, y_true, predictions, **options)
        except (ValueError, TypeError):
            evidence = None
        if evidence is not None:
            found.append(evidence)
    return found


# -- classification ----------------------------------------------------------------------------------


def _dummy_classifier(strategy, y_train, y_test, seed, pos_label):
    import numpy as np
    from sklearn.dummy import DummyClassifier

    y_train = np.asarray(y_train)
    n_test = len(y_test)
    model = DummyClassifier(strategy=strategy, random_state=seed).fit(np.zeros((len(y_train), 1)), y_train)
    X = np.zeros((n_test, 1))
    labels = model.predict(X)
    proba = model.predict_proba(X)
    classes = list(model.classes_)
    if len(classes) == 2 and pos_label in classes:
        scores = proba[:, classes.index(pos_label)]
    else:
        scores = proba
    metrics = compute_metrics("classification", y_test, labels, y_score=scores, pos_label=pos_label)
    return labels, scores, metrics


def _classification_baseline(strategy, label, y_train, y_test, *, name, track, increment, eval_data, seed,
                             pos_label, units=None, groups=None):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # sklearn: ill-defined precision of a constant guess
        labels, scores, metrics = _dummy_classifier(strategy, y_train, y_test, seed, pos_label)
    params = {"baseline": label, "strategy": strategy, "seed": seed}
    evidence = _evidence_of(metrics, y_test, labels, y_score=scores, pos_label=pos_label, units=units,
                            groups=groups) if track else ()
    folder = _record(name, params, metrics, y_test, track=track, increment=increment, eval_data=eval_data,
                     evidence=evidence)
    return BaselineResult(name, labels, metrics, scores, folder)


def majority_baseline(y_train, y_test, *, name="baseline-majority", track=True, increment=None, eval_data=None,
                      pos_label=1, units=None, groups=None) -> BaselineResult:
    """Always the most frequent training class; scores are the training class frequencies (roc_auc 0.5)."""
    return _classification_baseline("prior", "majority", y_train, y_test, name=name, track=track, increment=increment,
                                    eval_data=eval_data, seed=0, pos_label=pos_label, units=units, groups=groups)


def stratified_baseline(y_train, y_test, *, name="baseline-stratified", track=True, increment=None, eval_data=None,
                        seed=0, pos_label=1, units=None, groups=None) -> BaselineResult:
    """Random labels drawn with the training class frequencies."""
    return _classification_baseline("stratified", "stratified", y_train, y_test, name=name, track=track,
                                    increment=increment, eval_data=eval_data, seed=seed, pos_label=pos_label, units=units,
                                    groups=groups)


def uniform_baseline(y_train, y_test, *, name="baseline-random", track=True, increment=None, eval_data=None,
                     seed=0, pos_label=1, units=None, groups=None) -> BaselineResult:
    """Random labels, every class equally likely: classification's random baseline."""
    return _classification_baseline("uniform", "uniform", y_train, y_test, name=name, track=track,
                                    increment=increment, eval_data=eval_data, seed=seed, pos_label=pos_label, units=units,
                                    groups=groups)


# -- regression --------------------------------------------------------------------------------------


def _regression_baseline(strategy, y_train, y_test, *, name, track, increment, eval_data, units=None,
                         groups=None) -> BaselineResult:
    import numpy as np
    from sklearn.dummy import DummyRegressor

    y_train = np.asarray(y_train, dtype=float)
    model = DummyRegressor(strategy=strategy).fit(np.zeros((len(y_train), 1)), y_train)
    predictions = model.predict(np.zeros((len(y_test), 1)))
    metrics = compute_metrics("regression", y_test, predictions)
    params = {"baseline": strategy, "strategy": strategy, "constant": float(np.ravel(model.constant_)[0])}
    evidence = _evidence_of(metrics, y_test, predictions, units=units, groups=groups) if track else ()
    folder = _record(name, params, metrics, y_test, track=track, increment=increment, eval_data=eval_data,
                     evidence=evidence)
    return BaselineResult(name, predictions, metrics, None, folder)


def mean_baseline(y_train, y_test, *, name="baseline-mean", track=True, increment=None, eval_data=None, units=None,
                  groups=None) -> BaselineResult:
    """Always the training mean."""
    return _regression_baseline("mean", y_train, y_test, name=name, track=track, increment=increment, eval_data=eval_data,
                                units=units, groups=groups)


def median_baseline(y_train, y_test, *, name="baseline-median", track=True, increment=None,
                    eval_data=None, units=None, groups=None) -> BaselineResult:
    """Always the training median."""
    return _regression_baseline("median", y_train, y_test, name=name, track=track, increment=increment,
                                eval_data=eval_data, units=units, groups=groups)


# -- forecasting -------------------------------------------------------------------------------------


def _series(y_train, y_test):
    import numpy as np

    train = np.asarray(y_train, dtype=float).ravel()
    test = np.asarray(y_test, dtype=float).ravel()
    if len(train) == 0:
        raise ValueError("y_train is empty: a naive forecast repeats its last values")
    return train, test


def naive_forecast_baseline(y_train, y_test, *, season_length: int = 1, name="baseline-naive", track=True,
                            increment=None, eval_data=None) -> BaselineResult:
    """Every future value is the last observed one. `season_length` scales mase only."""
    import numpy as np

    train, test = _series(y_train, y_test)
    predictions = np.full(len(test), train[-1])
    metrics = compute_metrics("forecasting", test, predictions, y_train=train, season_length=season_length)
    params = {"baseline": "naive", "horizon": len(test), "season_length": season_length}
    folder = _record(name, params, metrics, test, track=track, increment=increment, eval_data=eval_data)
    return BaselineResult(name, predictions, metrics, None, folder)


def seasonal_naive_baseline(y_train, y_test, season_length: int, *, name="baseline-seasonal-naive", track=True,
                            increment=None, eval_data=None) -> BaselineResult:
    """Every future value is the value one season earlier: ŷ[t] = y[t - m], from the last observed season."""
    import numpy as np

    train, test = _series(y_train, y_test)
    m = int(season_length)
    if m < 1:
        raise ValueError(f"season_length must be at least 1, got {season_length}")
    if len(train) < m:
        raise ValueError(f"a seasonal naive forecast needs a full season of history: {len(train)} < season_length {m}")
    last_season = train[-m:]
    predictions = last_season[np.arange(len(test)) % m]
    metrics = compute_metrics("forecasting", test, predictions, y_train=train, season_length=m)
    params = {"baseline": "seasonal_naive", "horizon": len(test), "season_length": m}
    folder = _record(name, params, metrics, test, track=track, increment=increment, eval_data=eval_data)
    return BaselineResult(name, predictions, metrics, None, folder)


def drift_forecast_baseline(y_train, y_test, *, season_length: int = 1, name="baseline-drift", track=True,
                            increment=None, eval_data=None) -> BaselineResult:
    """The last value plus the average change per step over the training data (a random walk with
    drift): ŷ[T+h] = y[T] + h · (y[T] − y[1]) / (T − 1). `season_length` scales mase only."""
    import numpy as np

    train, test = _series(y_train, y_test)
    if len(train) < 2:
        raise ValueError(f"a drift forecast needs at least 2 training values, got {len(train)}")
    slope = (train[-1] - train[0]) / (len(train) - 1)
    predictions = train[-1] + slope * np.arange(1, len(test) + 1)
    metrics = compute_metrics("forecasting", test, predictions, y_train=train, season_length=season_length)
    params = {"baseline": "drift", "horizon": len(test), "season_length": season_length}
    folder = _record(name, params, metrics, test, track=track, increment=increment, eval_data=eval_data)
    return BaselineResult(name, predictions, metrics, None, folder)


# -- ranking -----------------------------------------------------------------------------------------


def _exclusions(exclude, n_users):
    if exclude is None:
        return None
    exclude = list(exclude)
    if len(exclude) != n_users:
        raise ValueError(f"exclude must hold one collection per user ({n_users}), got {len(exclude)}")
    return [set(e) for e in exclude]


def random_baseline(relevant, items, *, k: int = 10, exclude=None, seed=0, name="baseline-random", track=True,
                    increment=None, eval_data=None) -> BaselineResult:
    """k distinct items drawn uniformly from the catalogue for each user (never one of the user's `exclude`d items).

    relevant: each user's held-out items (see ranking.py). items: the catalogue's item ids, or
    its size n (items 0..n-1). Coverage@k is reported against that catalogue.
    """
    import random

    import numpy as np

    catalogue = list(range(items)) if isinstance(items, (int, np.integer)) else list(items)
    n_users = len(relevant)
    seen = _exclusions(exclude, n_users)
    if len(catalogue) < k:
        raise ValueError(f"the catalogue has {len(catalogue)} items, fewer than k = {k}")
    rng = random.Random(seed)
    rows = []
    for user in range(n_users):
        if seen is None or not seen[user]:
            rows.append(rng.sample(catalogue, k))
            continue
        draw = [item for item in rng.sample(catalogue, min(len(catalogue), k + len(seen[user]))) if item not in seen[user]]
        if len(draw) < k:
            raise ValueError(f"user {user} has fewer than k = {k} catalogue items left after exclude")
        rows.append(draw[:k])
    predictions = np.asarray(rows)
    metrics = compute_metrics("ranking", relevant, predictions, k=k, catalogue=len(catalogue))
    expected = random_expectation(relevant, catalogue, k, seen)
    metrics.update({key: float(values.mean()) for key, (values, _) in expected.items()})
    params = {"baseline": "random", "k": k, "seed": seed, "catalogue_size": len(catalogue),
              "expected_value_of": sorted(expected)}
    evidence = []
    if track:
        from .evidence import Evidence

        evidence = [Evidence(key, values[:, None], "mean", users, unit="users") for key, (values, users) in expected.items()]
        evidence += [e for e in _evidence_of(metrics, relevant, predictions) if e.metric not in expected]
    folder = _record(name, params, metrics, relevant, track=track, increment=increment, eval_data=eval_data,
                     evidence=evidence)
    return BaselineResult(name, predictions, metrics, None, folder)


def random_expectation(relevant, catalogue, k: int, exclude=None) -> dict:
    """The exact expected precision@k, recall@k, hit_rate@k and ndcg@k of k items drawn uniformly per user.

    For user u with N eligible items (the catalogue less `exclude`), R of them relevant: precision@k
    = R / N, recall@k = k R / (N |relevant|), hit_rate@k = 1 - C(N - R, k) / C(N, k), ndcg@k = (mean
    gain of an eligible item) x the sum of the first k discounts / the ideal DCG. Returns
    {metric: (per-user values, user positions)} over the users with a relevant item, as the
    ranking metrics average them.
    """
    import math
    from collections.abc import Mapping

    import numpy as np

    items = set(catalogue)
    discounts = [1.0 / math.log2(i + 2) for i in range(k)]
    rows = {f"precision@{k}": [], f"recall@{k}": [], f"hit_rate@{k}": [], f"ndcg@{k}": []}
    users = []
    for user, rel in enumerate(relevant):
        gains = ({item: float(g) for item, g in rel.items() if float(g) > 0} if isinstance(rel, Mapping)
                 else {item: 1.0 for item in rel})
        if not gains:
            continue
        excluded = exclude[user] if exclude is not None else set()
        eligible = len(items) - len(items & excluded) if excluded else len(items)
        hits = [g for item, g in gains.items() if item in items and item not in excluded]
        found = len(hits)
        miss = 1.0
        for i in range(k):
            miss *= max(eligible - found - i, 0) / (eligible - i)
        ideal = sum(d * g for d, g in zip(discounts, sorted(gains.values(), reverse=True)))
        users.append(user)
        rows[f"precision@{k}"].append(found / eligible)
        rows[f"recall@{k}"].append(k * found / eligible / len(gains))
        rows[f"hit_rate@{k}"].append(1.0 - miss)
        rows[f"ndcg@{k}"].append(sum(hits) / eligible * sum(discounts) / ideal)
    positions = np.asarray(users)
    return {key: (np.asarray(values, dtype=float), positions) for key, values in rows.items()}


def popularity_baseline(train_items, relevant, *, k: int = 10, exclude=None, catalogue=None,
                        name="baseline-popularity", track=True, increment=None, eval_data=None) -> BaselineResult:
    """The k items with the most training interactions, for every user (minus the user's `exclude`d items).

    train_items: the item of each training interaction (a sequence or Series), or a mapping
    {item: count}. Ties go to the item seen first. catalogue: its size or item ids, for coverage@k.
    """
    from collections import Counter
    from collections.abc import Mapping

    import numpy as np

    if isinstance(train_items, Mapping):
        counts = Counter(dict(train_items))
    else:
        values = train_items.tolist() if hasattr(train_items, "tolist") else list(train_items)
        counts = Counter(values)
    ranked = [item for item, _ in counts.most_common()]
    if len(ranked) < k:
        raise ValueError(f"the training interactions name {len(ranked)} items, fewer than k = {k}")
    n_users = len(relevant)
    seen = _exclusions(exclude, n_users)
    if seen is None:
        predictions = np.tile(np.asarray(ranked[:k]), (n_users, 1))
    else:
        rows = []
        for user in range(n_users):
            row = [item for item in ranked[: k + len(seen[user])] if item not in seen[user]][:k]
            if len(row) < k:
                raise ValueError(f"user {user} has fewer than k = {k} popular items left after exclude")
            rows.append(row)
        predictions = np.asarray(rows)
    if catalogue is not None and not isinstance(catalogue, (int, np.integer)):
        catalogue = list(catalogue)
    metrics = compute_metrics("ranking", relevant, predictions, k=k, catalogue=catalogue)
    params = {"baseline": "popularity", "k": k, "top_items": [_plain(i) for i in ranked[:k]]}
    evidence = _evidence_of(metrics, relevant, predictions) if track else ()
    folder = _record(name, params, metrics, relevant, track=track, increment=increment, eval_data=eval_data,
                     evidence=evidence)
    return BaselineResult(name, predictions, metrics, None, folder)


def _plain(item):
    return item.item() if hasattr(item, "item") else item
