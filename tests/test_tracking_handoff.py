"""What one task hands the next: a JSON artifact (log_dict / load_dict) and the latest experiment of a task."""

from __future__ import annotations

import json

import pytest

from pytest_specweave import ExperimentStore, track_experiment
from pytest_specweave.errors import StoreError


def _increment(tmp_path):
    folder = tmp_path / "increments" / "0001-x"
    folder.mkdir(parents=True)
    return folder


def test_log_dict_round_trips_through_the_store_with_its_hash_checked(tmp_path):
    inc = _increment(tmp_path)
    with track_experiment("tuned", increment=inc) as exp:
        path = exp.log_dict({"l2": 800, "k": [1, 2]}, "model-selection.json")
    assert json.loads(path.read_text(encoding="utf-8")) == {"k": [1, 2], "l2": 800}
    record = ExperimentStore(inc).find("tuned")
    assert record.load_dict("model-selection.json") == {"k": [1, 2], "l2": 800}
    path.write_text('{"l2": 1}', encoding="utf-8")
    with pytest.raises(StoreError, match="sha256"):
        ExperimentStore(inc).find("tuned").load_dict("model-selection.json")


def test_log_dict_refuses_what_json_cannot_hold(tmp_path):
    inc = _increment(tmp_path)
    with track_experiment("x", increment=inc) as exp:
        with pytest.raises(TypeError, match="not plain JSON"):
            exp.log_dict({"a": object()}, "s.json")
        with pytest.raises(TypeError, match="not plain JSON"):
            exp.log_dict({"a": float("nan")}, "s.json")


def test_latest_finds_the_last_succeeded_run_of_a_task_holding_the_artifact(tmp_path):
    inc = _increment(tmp_path)
    store = ExperimentStore(inc)
    with track_experiment("untasked", increment=inc) as exp:
        exp.log_dict({"n": 0}, "model-selection.json")
    # The pytest layer names a run's task; here the store's open_run does.
    a = store.open_run("t5-a", task="T-005")
    a.log_dict({"n": 1}, "model-selection.json")
    a.finish("succeeded")
    b = store.open_run("t5-b", task="T-005")
    b.log_dict({"n": 2}, "model-selection.json")
    b.finish("succeeded")
    c = store.open_run("t5-c", task="T-005")
    c.log_dict({"n": 3}, "model-selection.json")
    c.finish("failed")
    d = store.open_run("t5-d", task="T-005")
    d.log_param("x", 1)
    d.finish("succeeded")
    found = store.latest(task="T-005", artifact="model-selection.json")
    assert found.folder == b.folder and found.load_dict("model-selection.json") == {"n": 2}
    assert store.latest(task="t-005").folder == d.folder
    assert store.latest(name="t5-a").folder == a.folder
    with pytest.raises(StoreError, match=r"no succeeded T-006 experiment with model-selection.json in .*: run T-006 first"):
        store.latest(task="T-006", artifact="model-selection.json")
