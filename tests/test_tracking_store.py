"""The experiment store: layout, schemas, numbering, reuse and history, bad input, write failures."""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from pytest_specweave.errors import StoreError
from pytest_specweave.tracking import _files, _runinfo
from pytest_specweave.tracking.store import (
    METRICS_SCHEMA,
    ExperimentStore,
    MetricValue,
    TrackingWarning,
    replay_journal,
)


@pytest.fixture
def inc(tmp_path) -> Path:
    path = tmp_path / "increments" / "0042-demo"
    path.mkdir(parents=True)
    (path / "spec.md").write_text("# Demo\n")
    return path


@pytest.fixture
def store(inc) -> ExperimentStore:
    return ExperimentStore(inc)


def strict_json(path: Path):
    """Parse as strict JSON: NaN/Infinity literals are refused."""

    def refuse(token):
        raise ValueError(f"non-standard JSON constant {token} in {path}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def journal_lines(path: Path) -> list[dict]:
    return [json.loads(line, parse_constant=lambda t: 1 / 0) for line in (path / "logs" / "metrics.jsonl").read_text().splitlines()]


# -- layout and schemas ---------------------------------------------------------------------------


def test_layout_and_schemas(store, inc):
    with store.open_run("exp-001-EDA", task="T-001") as exp:
        exp.log_params({"lr": 0.1, "depth": 6, "name": "x"})
        exp.log_metric("precision@10", 0.26)
        exp.log_metric("loss", 0.5, step=0)
        exp.log_metric("loss", 0.3, step=1)
        exp.log_metric("rmse", 1.2, ci=(1.1, 1.3))
        exp.log_cv("acc", [0.79, 0.81, 0.80])
        exp.log_note("first note")
        exp.set_seed(7)
    assert exp.folder == "exp-001-eda" and exp.name == "EDA" and exp.number == 1
    folder = inc / "experiments" / "exp-001-eda"
    assert {p.name for p in folder.iterdir()} == {"params.json", "metrics.json", "meta.json", "notes.md", "logs"}

    assert strict_json(folder / "params.json") == {"lr": 0.1, "depth": 6, "name": "x"}
    metrics = strict_json(folder / "metrics.json")
    assert metrics["schema"] == METRICS_SCHEMA
    assert metrics["metrics"]["precision@10"] == 0.26
    assert metrics["metrics"]["loss"] == {"value": 0.3, "step": 1}
    assert metrics["metrics"]["rmse"] == {"value": 1.2, "ci": [1.1, 1.3], "level": 0.95}
    acc = metrics["metrics"]["acc"]
    assert acc["value"] == pytest.approx(0.80) and acc["folds"] == [0.79, 0.81, 0.80]
    assert acc["std"] == pytest.approx(0.01)

    meta = strict_json(folder / "meta.json")
    assert meta["status"] == "succeeded" and meta["name"] == "EDA" and meta["folder"] == "exp-001-eda"
    assert meta["number"] == 1 and meta["run"] == 1 and meta["task"] == "T-001" and meta["kind"] == "experiment"
    assert meta["baseline"] is False and meta["seed"] == 7
    assert meta["pid"] == os.getpid() and meta["host"] == _runinfo.host()
    assert meta["duration_s"] >= 0 and meta["started"].endswith("+00:00") and meta["ended"].endswith("+00:00")
    assert meta["python"].count(".") == 2 and "git_commit" in meta and "git_dirty" in meta
    assert isinstance(meta["packages"], dict)
    if Path("/proc/self/stat").exists():
        assert isinstance(meta["proc_start"], int)

    lines = journal_lines(folder)
    assert [(e["key"], e["step"]) for e in lines] == [
        ("precision@10", None), ("loss", 0), ("loss", 1), ("rmse", None), ("acc", None)
    ]
    assert all(isinstance(e["time"], float) for e in lines)
    assert (folder / "notes.md").read_text() == "first note\n"

    (rec,) = store.records()
    assert rec.status == "succeeded" and rec.task == "T-001" and rec.params["depth"] == 6
    assert rec.metrics["loss"] == MetricValue(0.3, step=1)
    assert rec.metrics["rmse"].ci == (1.1, 1.3) and rec.metrics["rmse"].level == 0.95
    assert rec.metrics["acc"].folds == (0.79, 0.81, 0.80)
    assert rec.metric("precision@10").value == 0.26
    assert rec.metric("Precision_at_10").value == 0.26 and rec.metric("recall@10") is None
    assert [(s, v) for s, v, _ in rec.series("loss")] == [(0, 0.5), (1, 0.3)]
    assert rec.artifacts == [] and rec.history == [] and rec.problems == []


def test_baseline_flag_and_kind(store):
    a = store.open_run("Baseline-Random")
    b = store.open_run("popularity", baseline=True)
    c = store.open_run("xgboost", kind="model")
    for exp in (a, b, c):
        exp.finish()
    recs = {r.name: r for r in store.records()}
    assert recs["Baseline-Random"].baseline and recs["popularity"].baseline
    assert not recs["xgboost"].baseline and recs["xgboost"].kind == "model"


def test_hand_written_flat_metrics_json_is_read(store, inc):
    store.open_run("manual").finish()
    folder = inc / "experiments" / "exp-001-manual"
    (folder / "metrics.json").write_text('{"precision@10": 0.3, "rmse": {"value": 2, "ci": [1, 3]}}')
    (rec,) = store.records()
    assert rec.metrics["precision@10"].value == 0.3 and rec.metrics["rmse"].level == 0.95


# -- numbering, reuse, history ----------------------------------------------------------------------


def test_numbers_in_creation_order_never_reused(store, inc):
    for name in ("a", "b", "c"):
        store.open_run(name).finish()
    shutil.rmtree(inc / "experiments" / "exp-003-c")
    store.open_run("d").finish()
    assert [r.folder for r in store.records()] == ["exp-001-a", "exp-002-b", "exp-004-d"]
    # a corrupt counter falls back to the highest folder: still no reuse of a live number
    (inc / "experiments" / ".counter").write_text("garbage")
    store.open_run("e").finish()
    assert store.records()[-1].folder == "exp-005-e"


def test_same_name_reuses_folder_and_keeps_history(store, inc):
    with store.open_run("xgboost") as exp:
        exp.log_param("depth", 3)
        exp.log_metric("rmse", 2.0)
        exp.log_note("run one")
        exp.save_artifact({"v": 1}, "model.pkl")
    with store.open_run("XGBoost") as exp2:  # same name up to case
        exp2.log_param("depth", 6)
        exp2.log_metric("rmse", 1.5)
    with store.open_run("xgboost") as exp3:
        exp3.log_metric("rmse", 1.0)
    assert exp.folder == exp2.folder == exp3.folder == "exp-001-xgboost"
    assert (exp.run, exp2.run, exp3.run) == (1, 2, 3)
    folder = inc / "experiments" / "exp-001-xgboost"
    run1 = folder / "history" / "run-1"
    assert strict_json(run1 / "params.json") == {"depth": 3}
    assert strict_json(run1 / "metrics.json")["metrics"]["rmse"] == 2.0
    assert strict_json(run1 / "meta.json")["run"] == 1
    assert (run1 / "notes.md").read_text() == "run one\n"
    assert len(journal_lines(run1)) == 1
    assert (run1 / "model.pkl").is_file() and not (folder / "model.pkl").exists()  # no stale artifact
    assert strict_json(folder / "history" / "run-2" / "params.json") == {"depth": 6}
    assert not (folder / "params.json").exists()  # run 3 logged no params: nothing inherited

    (rec,) = store.records()
    assert rec.run == 3 and rec.metrics["rmse"].value == 1.0 and rec.params == {} and rec.artifacts == []
    assert [h["run"] for h in rec.history] == [1, 2]
    assert store.open_run("other").number == 2
    # a finished, superseded run object cannot write into the folder's newer run
    with pytest.raises(StoreError, match="run-1"):
        exp.set_status("failed")


def test_names_with_the_same_slug_get_their_own_folders(store):
    store.open_run("c++ model").finish()
    store.open_run("c# model").finish()
    assert [r.folder for r in store.records()] == ["exp-001-c-model", "exp-002-c-model"]


def test_live_run_of_the_same_name_gets_a_new_folder(store):
    first = store.open_run("shared")
    second = store.open_run("shared")  # `first` is still open in this process
    assert (first.folder, second.folder) == ("exp-001-shared", "exp-002-shared")
    first.finish()
    second.finish()
    assert store.find("shared").folder == "exp-002-shared"


def test_abandoned_run_in_this_process_is_crashed_and_archived(store):
    import gc

    exp = store.open_run("nb")
    exp.log_metric("acc", 0.7)
    del exp
    gc.collect()
    again = store.open_run("nb")  # the earlier object is gone: nobody can finish it
    assert again.folder == "exp-001-nb" and again.run == 2
    again.finish()
    (rec,) = store.records()
    assert rec.history[0]["status"] == "crashed"
    hist = rec.path / "history" / "run-1"
    assert strict_json(hist / "metrics.json")["metrics"]["acc"] == 0.7


# -- bad values ----------------------------------------------------------------------------------


def test_nan_and_infinities_are_valid_json_and_read_back(store, inc):
    with store.open_run("odd") as exp:
        exp.log_metric("nan", float("nan"))
        exp.log_metric("inf", float("inf"))
        exp.log_metric("ninf", float("-inf"), step=2)
        with pytest.raises(ValueError, match="finite"):  # an interval must be a real one
            exp.log_metric("wide", 0.5, ci=(float("-inf"), float("inf")))
        exp.log_cv("cv", [0.5, float("nan")])
    folder = inc / "experiments" / "exp-001-odd"
    doc = strict_json(folder / "metrics.json")["metrics"]
    assert doc["nan"] == "NaN" and doc["inf"] == "Infinity" and doc["ninf"] == {"value": "-Infinity", "step": 2}
    assert "wide" not in doc
    assert len(journal_lines(folder)) == 4  # strict JSON, line by line
    m = store.records()[0].metrics
    assert math.isnan(m["nan"].value) and m["inf"].value == math.inf and m["ninf"].value == -math.inf
    assert math.isnan(m["cv"].value) and math.isnan(m["cv"].folds[1])


def test_numeric_types_accepted_and_non_numbers_rejected(store):
    np = pytest.importorskip("numpy")
    exp = store.open_run("types")
    exp.log_metric("np32", np.float32(0.5))
    exp.log_metric("np64", np.int64(3), step=np.int64(4))
    exp.log_metric("dec", Decimal("0.25"))
    exp.log_metric("int", 2)
    exp.log_metric("big", 10**400)
    with pytest.raises(TypeError, match=r"'acc'.*str"):
        exp.log_metric("acc", "0.9")
    with pytest.raises(TypeError, match=r"'acc'.*NoneType"):
        exp.log_metric("acc", None)
    with pytest.raises(TypeError, match=r"'acc'.*list"):
        exp.log_metric("acc", [0.9])
    with pytest.raises(TypeError, match=r"'acc'.*complex"):
        exp.log_metric("acc", 1j)
    with pytest.raises(TypeError, match="key must be a string"):
        exp.log_metric(3, 0.5)
    with pytest.raises(TypeError, match="'b'"):
        exp.log_metrics({"a": 1.0, "b": "x"})
    assert "a" not in exp.metrics  # nothing of a bad batch was logged
    exp.finish()
    m = store.records()[0].metrics
    assert m["np32"].value == 0.5 and m["np64"] == MetricValue(3.0, step=4) and m["dec"].value == 0.25
    assert m["big"].value == math.inf


def test_params_json_cannot_hold_are_stored_by_repr_with_a_warning(store, inc):
    np = pytest.importorskip("numpy")
    exp = store.open_run("params")

    class Model:
        def __repr__(self):
            return "Model(depth=3)"

    with pytest.warns(TrackingWarning, match=r"'estimator'.*repr"):
        exp.log_param("estimator", Model())
    exp.log_params({"n": np.int64(5), "alpha": float("nan"), "grid": (1, 2), "nested": {"a": [1.5, None]}, 3: "k"})
    exp.finish()
    params = strict_json(inc / "experiments" / "exp-001-params" / "params.json")
    assert params == {
        "estimator": "Model(depth=3)",
        "n": 5,
        "alpha": "NaN",
        "grid": [1, 2],
        "nested": {"a": [1.5, None]},
        "3": "k",
    }


# -- unsafe names -----------------------------------------------------------------------------------


def _all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def test_unsafe_names_stay_inside_the_increment(store, inc, tmp_path):
    before_outside = _all_files(tmp_path) - _all_files(inc)
    names = ["../../etc/passwd", "a/b\\c", "..", "..\\..\\x", "模型 v2", "r\u00e9sum\u00e9", "\u202eevil\u200b",
             "CON", "x" * 300, "\x00nul", "  spaced  out  "]
    folders = []
    for name in names:
        exp = store.open_run(name)
        exp.save_artifact({"n": name}, "../../../outside.pkl")
        exp.save_report("..\\..\\report.md", "# r")
        exp.finish()
        folders.append(exp.folder)
    assert len(set(folders)) == len(folders)
    for folder in folders:
        assert "/" not in folder and "\\" not in folder and ".." not in folder and len(folder) < 80
        assert (inc / "experiments" / folder).is_dir()
    assert folders[4].startswith("exp-005-模型-v2") and folders[5] == "exp-006-résumé"
    assert _all_files(tmp_path) - _all_files(inc) == before_outside
    rec = store.records()[0]
    assert rec.name == "../../etc/passwd" and rec.artifacts == ["outside.pkl", "report.md"]


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("../../model.pkl", "model.pkl"),
        ("/etc/passwd", "etc/passwd"),
        ("C:\\Users\\x\\m.pkl", "C/Users/x/m.pkl"),
        ("plots/roc.png", "plots/roc.png"),
        ("a/./../b.txt", "a/b.txt"),
        (".hidden", "hidden"),
        ("we ird\u202e.pkl", "we-ird-.pkl"),
    ],
)
def test_safe_artifact_paths(filename, expected):
    assert _files.safe_relpath(filename) == expected


def test_artifact_names_that_are_store_files_or_escape_are_refused(store, tmp_path):
    exp = store.open_run("arts")
    for bad in ("meta.json", "logs/x.txt", "../history/run-1/meta.json", "", "../.."):
        with pytest.raises(ValueError):
            exp.save_artifact(1, bad)
    outside = tmp_path / "outside"
    outside.mkdir()
    (exp.path / "link").symlink_to(outside)
    with pytest.raises(StoreError, match="outside"):
        exp.save_artifact(1, "link/evil.pkl")
    assert list(outside.iterdir()) == []
    exp.finish()


# -- write failures -----------------------------------------------------------------------------------


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_at_finish_is_a_store_error_naming_the_path(store, inc, monkeypatch):
    with store.open_run("earlier") as exp:
        exp.log_metric("acc", 0.9)
    earlier = inc / "experiments" / "exp-001-earlier"
    before = {p.name: p.read_bytes() for p in earlier.iterdir() if p.is_file()}

    exp = store.open_run("victim")
    exp.log_param("lr", 0.1)
    exp.log_metric("acc", 0.5)
    monkeypatch.setattr(os, "replace", _enospc)
    with pytest.raises(StoreError, match=r"exp-002-victim/metrics\.json.*No space left"):
        exp.finish()
    with pytest.raises(StoreError, match=r"params\.json"):
        exp.log_param("lr", 0.2)
    monkeypatch.undo()

    victim = inc / "experiments" / "exp-002-victim"
    assert strict_json(victim / "params.json") == {"lr": 0.1}  # the earlier value, intact
    assert strict_json(victim / "meta.json")["status"] == "running"
    assert not [p for p in victim.iterdir() if p.name.endswith(".tmp")]  # no temp file left behind
    assert {p.name: p.read_bytes() for p in earlier.iterdir() if p.is_file()} == before
    exp.finish()  # the disk has room again: finishing works
    assert strict_json(victim / "metrics.json")["metrics"] == {"acc": 0.5}


def test_full_disk_while_logging_loses_only_the_failed_line(store, inc, monkeypatch):
    exp = store.open_run("journal")
    exp.log_metric("loss", 1.0, step=0)
    real_write = os.write

    def half_then_enospc(fd, data):
        if fd == exp._fd:
            monkeypatch.setattr(os, "write", _enospc)
            return real_write(fd, bytes(data[: len(data) // 2]))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", half_then_enospc)
    with pytest.raises(StoreError, match=r"logs/metrics\.jsonl.*No space left"):
        exp.log_metric("loss", 2.0, step=1)
    monkeypatch.undo()
    exp.log_metric("loss", 3.0, step=2)
    exp.finish()
    metrics, _, bad = replay_journal(exp.path / "logs" / "metrics.jsonl")
    assert bad == 1 and metrics["loss"] == MetricValue(3.0, step=2)
    assert store.records()[0].metrics["loss"].value == 3.0


def test_permission_error_creating_a_folder_is_a_store_error(store, inc, monkeypatch):
    store.open_run("ok").finish()

    def denied(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "rename", denied)
    with pytest.raises(StoreError, match=r"exp-002-nope.*Permission denied"):
        store.open_run("nope")
    monkeypatch.undo()
    assert [p.name for p in (inc / "experiments").iterdir() if not p.name.startswith(".")] == ["exp-001-ok"]
    assert store.open_run("later").number == 3  # the number given to the failed run is not reused


def test_logging_after_finish_is_refused(store):
    exp = store.open_run("done")
    exp.finish()
    with pytest.raises(StoreError, match="finished"):
        exp.log_metric("acc", 1.0)


# -- tolerant reading ----------------------------------------------------------------------------------


def test_corrupt_files_are_reported_not_fatal(store, inc):
    for name in ("good", "badmeta", "badmetrics", "nometa"):
        with store.open_run(name) as exp:
            exp.log_metric("acc", 0.5)
    root = inc / "experiments"
    (root / "exp-002-badmeta" / "meta.json").write_text('{"status": "succ')
    (root / "exp-003-badmetrics" / "metrics.json").write_text("{not json")
    (root / "exp-004-nometa" / "meta.json").unlink()
    (root / "exp-005-empty").mkdir()
    (root / "comparison.md").write_text("# table")
    (root / "stray-folder").mkdir()
    with pytest.warns(TrackingWarning) as caught:
        recs = {r.folder: r for r in store.records()}
    assert set(recs) == {"exp-001-good", "exp-002-badmeta", "exp-003-badmetrics", "exp-004-nometa", "exp-005-empty"}
    assert recs["exp-001-good"].status == "succeeded"
    assert recs["exp-002-badmeta"].status == "unreadable"
    assert "exp-002-badmeta/meta.json" in recs["exp-002-badmeta"].problems[0]
    assert recs["exp-002-badmeta"].metrics["acc"].value == 0.5  # what can be read is still there
    # a corrupt metrics.json with its journal intact is rebuilt
    assert recs["exp-003-badmetrics"].status == "succeeded"
    assert recs["exp-003-badmetrics"].metrics["acc"].value == 0.5
    assert "rebuilt" in recs["exp-003-badmetrics"].problems[0]
    assert recs["exp-004-nometa"].status == "unreadable" and recs["exp-005-empty"].status == "unreadable"
    assert any("exp-002-badmeta/meta.json" in str(w.message) for w in caught)
    # an unreadable folder is never reused (it is evidence): the same name gets a new folder
    assert store.open_run("badmeta").folder == "exp-006-badmeta"


def test_empty_or_missing_store(tmp_path):
    assert ExperimentStore(tmp_path / "nothing").records() == []
    assert ExperimentStore(tmp_path / "nothing").mark_crashed() == []
