"""Checks of increment 0072 that are criteria of tests.md (not tasks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pytest_specweave import ExperimentStore

from .forecasters import FEATURES, FIRST_ROW, HORIZON, lag_feature_table
from .pipeline import N_FOLDS, OUTER_FOLDS, SELECTION_FILE, evaluated_record, folds, read_selection, xy


def check_time_split(series: pd.Series, splits: dict, increment_dir: Path) -> None:
    """TC-005: time ordering everywhere, no random split, no look-ahead, the test year unseen.

    - the test split is the last 12 months and the history is everything before it;
    - each rolling-origin fold trains on every month before its forecast year and never reaches
      into the test year; the forecast years are consecutive and end where the history ends;
    - the ML features of a month are the same whether or not later months exist (no look-ahead);
    - the evaluated model was fitted on the history only, and the selection it used was saved
      before that experiment started (the test year could not inform it).
    """
    history, test = splits["history"], splits["test"]
    assert len(test) == HORIZON and test.index.equals(series.index[-HORIZON:]), "test is not the last 12 months"
    assert history.index.equals(series.index[:-HORIZON]), "history is not every month before the test year"
    assert history.index[-1] < test.index[0], "history and test overlap"

    fs = folds(history)
    assert len(fs) == N_FOLDS, f"{len(fs)} folds, expected {N_FOLDS}"
    for f in fs:
        train, val = f["train_idx"], f["val_idx"]
        assert train[0] == 0 and np.all(np.diff(train) == 1), f"fold {f['fold']}: training is not an expanding window"
        assert val[0] == train[-1] + 1 and len(val) == HORIZON and np.all(np.diff(val) == 1), \
            f"fold {f['fold']}: the forecast year does not follow its training months"
        assert f["forecast"][1] < test.index[0], f"fold {f['fold']} reaches into the test year"
    starts = [f["val_idx"][0] for f in fs]
    assert np.all(np.diff(starts) == HORIZON), "the forecast years are not consecutive"
    assert fs[-1]["val_idx"][-1] == len(history) - 1, "the last fold does not end where the history ends"

    X, y = xy(history)
    table = lag_feature_table(y, int(X[0, 0]))
    for t in (FIRST_ROW, len(y) // 2, len(y) - 1):
        alone = lag_feature_table(y[: t + 1], int(X[0, 0])).iloc[-1][list(FEATURES)]
        assert np.allclose(alone.to_numpy(), table.iloc[t - FIRST_ROW][list(FEATURES)].to_numpy()), \
            f"the features of {history.index[t]:%Y-%m} change when later months are added (look-ahead)"

    selection = read_selection(increment_dir)
    assert len(selection["nested"]) == len(OUTER_FOLDS), "the nested years are not the ones documented"
    evaluated = evaluated_record(increment_dir)
    selector = ExperimentStore(increment_dir).latest(task="T-005", artifact=SELECTION_FILE)
    assert selector.ended <= evaluated.started, \
        f"the selection ({selector.folder}) was saved after {evaluated.folder} started"
    fitted_on = evaluated.params.get("fitted_on", "")
    assert fitted_on == f"{history.index[0]:%Y-%m}..{history.index[-1]:%Y-%m}", \
        f"{evaluated.folder} was fitted on {fitted_on!r}, not on the history only"
