"""The store against hostile input, files and crashes: it stays readable and never writes outside its tree."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pytest_specweave import track_experiment, track_model
from pytest_specweave.errors import StoreError
from pytest_specweave.tracking.store import ExperimentStore, TrackingWarning


@pytest.fixture
def inc(tmp_path) -> Path:
    path = tmp_path / "increments" / "0042-demo"
    path.mkdir(parents=True)
    (path / "spec.md").write_text("# Demo\n")
    return path


# -- two tasks, one automatic name ------------------------------------------------------------------


def test_a_different_task_never_replaces_another_tasks_experiment(inc):
    with track_model("sequential", increment=inc, task="T-001") as first:
        first.log_metric("accuracy", 0.8)
    with track_model("sequential", increment=inc, task="T-002") as second:
        second.log_metric("accuracy", 0.7)
    assert second.folder != first.folder and second.run == 1
    recs = {r.folder: r for r in ExperimentStore(inc).records()}
    assert recs[first.folder].task == "T-001" and recs[first.folder].metrics["accuracy"].value == 0.8
    assert recs[second.folder].task == "T-002" and recs[second.folder].metrics["accuracy"].value == 0.7
    assert not recs[first.folder].history
    # a rerun of the same task replaces its own experiment (the earlier run goes to history)
    with track_model("sequential", increment=inc, task="T-001") as again:
        again.log_metric("accuracy", 0.85)
    assert again.folder == first.folder and again.run == 2
    with track_model("sequential", increment=inc, task="T-002") as again2:
        pass
    assert again2.folder == second.folder and again2.run == 2
    assert len(ExperimentStore(inc).records()) == 2


def test_automatic_model_names_say_the_framework(inc):
    torch = pytest.importorskip("torch")
    from pytest_specweave.integrations.torch import track_pytorch_model

    model = torch.nn.Sequential(torch.nn.Linear(2, 1))
    with track_pytorch_model(model, increment=inc) as tracked:
        pass
    assert tracked.experiment.name == "torch-Sequential"
    assert tracked.experiment.folder.endswith("-torch-sequential")


pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation")


def test_a_keras_and_a_torch_sequential_model_are_two_experiments(inc, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    from pytest_specweave.integrations.keras import KerasCallback
    from pytest_specweave.integrations.torch import track_pytorch_model

    with track_pytorch_model(torch.nn.Sequential(torch.nn.Linear(2, 1)), increment=inc):
        pass
    import numpy as np

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    model.fit(np.zeros((4, 2)), np.zeros(4), epochs=1, verbose=0, callbacks=[KerasCallback(increment=inc)])
    names = sorted(r.name for r in ExperimentStore(inc).records())
    assert names == ["keras-" + model.name, "torch-Sequential"]


# -- text that is not valid Unicode, numbers JSON cannot hold, wrong types -----------------------------

BAD = "a\udc80b"  # what a file name mis-decoded with surrogateescape gives


def test_names_that_are_not_valid_unicode_are_refused_where_they_enter(inc):
    with pytest.raises(ValueError, match="experiment name"):
        track_experiment(BAD, increment=inc)
    with pytest.raises(ValueError, match="task"):
        track_experiment("x", increment=inc, task=BAD)
    with track_experiment("ok", increment=inc) as exp:
        with pytest.raises(ValueError, match=r"metric key 'a\\udc80b'"):
            exp.log_metric(BAD, 1.0)
        with pytest.raises(ValueError, match=r"metric key"):
            exp.log_metrics({BAD: 1.0})
        with pytest.raises(ValueError, match=r"metric key"):
            exp.log_cv(BAD, [0.5, 0.6])
        with pytest.raises(ValueError, match=r"param key 'a\\udc80b'"):
            exp.log_params({BAD: 1})
        with pytest.raises(ValueError, match=r"param 'p'"):
            exp.log_params({"p": BAD})
        with pytest.raises(ValueError, match=r"param 'p'"):
            exp.log_params({"p": {"inner": [1, BAD]}})
        with pytest.raises(ValueError, match="note"):
            exp.log_note(BAD)
        with pytest.raises(ValueError, match="report"):
            exp.save_report("r.md", BAD)
        with pytest.raises(ValueError, match="role"):
            exp.log_input(b"data", role=BAD)
        exp.log_metric("fine", 1.0)
        exp.log_params({"q": 2})
    rec = ExperimentStore(inc).find("ok")
    assert rec.status == "succeeded" and rec.metrics["fine"].value == 1.0 and rec.params == {"q": 2}


def test_huge_ints_and_a_list_for_log_metrics_are_clear_errors(inc):
    with track_experiment("ok", increment=inc) as exp:
        with pytest.raises(ValueError, match=r"param 'n'.*digits"):
            exp.log_params({"n": 10**5000})
        with pytest.raises(TypeError, match=r"log_metrics takes a mapping \{name: value\}"):
            exp.log_metrics([("acc", 0.5)])
        with pytest.raises(TypeError, match=r"log_params takes a mapping"):
            exp.log_params(["lr", 0.1])
        exp.log_params({"big": 10**300})
    assert ExperimentStore(inc).find("ok").params == {"big": 10**300}


def test_a_failure_whose_message_is_not_valid_unicode_is_still_recorded(inc):
    with pytest.raises(FileNotFoundError):
        with track_experiment("boom", increment=inc):
            raise FileNotFoundError(f"no such file {BAD}")
    rec = ExperimentStore(inc).find("boom")
    assert rec.status == "failed" and "no such file a" in rec.meta["error"]


def test_baseline_is_true_only_when_meta_json_says_true(inc):
    store = ExperimentStore(inc)
    for name in ("yes", "no", "text"):
        store.open_run(name).finish()
    root = inc / "experiments"
    for folder, value in (("exp-001-yes", True), ("exp-002-no", False), ("exp-003-text", "no")):
        meta = json.loads((root / folder / "meta.json").read_text())
        meta["baseline"] = value
        (root / folder / "meta.json").write_text(json.dumps(meta))
    with pytest.warns(TrackingWarning, match="baseline"):
        recs = {r.name: r for r in store.records()}
    assert recs["yes"].baseline is True and recs["no"].baseline is False and recs["text"].baseline is False
    assert any("exp-003-text/meta.json" in p and "baseline" in p for p in recs["text"].problems)


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _left_running(inc: Path, name: str) -> Path:
    """A run left 'running' by a process that is gone, as a SIGKILL leaves it."""
    from pytest_specweave.tracking import _runinfo

    exp = ExperimentStore(inc).open_run(name)
    exp.log_metric("accuracy", 0.5)
    meta = json.loads((exp.path / "meta.json").read_text())
    meta["pid"] = _dead_pid()
    meta["proc_start"] = None
    (exp.path / "meta.json").write_text(json.dumps(meta))
    _runinfo.OPEN_RUNS.pop(str(exp.path), None)
    return exp.path


def _deep(n: int = 100_000) -> str:
    return "[" * n + "]" * n


def test_what_a_writer_or_a_hand_left_never_breaks_a_reader(inc):
    """A journal line with a lone surrogate (as an older version wrote it), JSON nested too deeply
    in each file, a file whose name is not valid UTF-8: every record is read, problems are named."""
    store = ExperimentStore(inc)
    journal = _left_running(inc, "surrogate") / "logs" / "metrics.jsonl"
    with open(journal, "a") as f:
        f.write(json.dumps({"key": BAD, "value": 0.25, "step": None, "time": 1.0}) + "\n")
    deep = {}
    for what in ("meta.json", "params.json", "metrics.json"):
        with store.open_run(f"deep-{what.split('.')[0]}") as exp:
            exp.log_metric("accuracy", 0.5)
            exp.log_params({"p": 1})
        (exp.path / what).write_text(_deep())
        deep[what] = exp.folder
    journal2 = _left_running(inc, "deep-journal") / "logs" / "metrics.jsonl"
    with open(journal2, "a") as f:
        f.write(_deep() + "\n" + '{"key": "x", "value": ' + _deep(500) + "}\n")
    with store.open_run("escaped") as exp:
        exp.log_metric("accuracy", 0.5)
    meta = (exp.path / "meta.json").read_text().replace('"escaped"', '"esc\\udc80aped"', 1)
    (exp.path / "meta.json").write_text(meta)
    (exp.path / "params.json").write_text('{"k\\ud800": "v\\udfff"}')
    os.close(os.open(os.fsencode(exp.path) + b"/weird-\xff.bin", os.O_CREAT | os.O_WRONLY))

    with pytest.warns(TrackingWarning):
        recs = {r.name: r for r in store.records()}
    rec = recs["surrogate"]
    assert rec.status == "crashed" and rec.metrics["accuracy"].value == 0.5
    (key,) = [k for k in rec.metrics if k != "accuracy"]
    key.encode("utf-8")  # valid text, showing what was logged
    assert rec.metrics[key].value == 0.25
    for what, folder in deep.items():
        (r,) = [r for r in recs.values() if r.folder == folder]
        assert any(what in p and "too deeply nested" in p for p in r.problems), r.problems
    assert recs["deep-journal"].status == "crashed" and recs["deep-journal"].metrics["accuracy"].value == 0.5
    esc = [r for r in recs.values() if r.folder == exp.folder][0]
    for text in [esc.name, *esc.params, *esc.params.values(), *esc.artifacts, *esc.problems]:
        text.encode("utf-8")
    # every reader's output can be written as UTF-8
    for r in recs.values():
        json.dumps(r.meta, ensure_ascii=False).encode("utf-8")
        "".join(r.problems).encode("utf-8")


def test_summary_and_compare_report_hostile_files_without_a_traceback(tmp_path, monkeypatch, capsys):
    from conftest import demo_files, write_increment
    from pytest_specweave.cli import main

    folder = write_increment(tmp_path, "0001-demo", demo_files())
    store = ExperimentStore(folder)
    with store.open_run("baseline-random", baseline=True, task="T-001") as exp:
        exp.log_metric("accuracy", 0.3)
    journal = _left_running(folder, "t-002-train-model") / "logs" / "metrics.jsonl"
    with open(journal, "a") as f:
        f.write(json.dumps({"key": BAD, "value": 0.9, "step": None, "time": 1.0}) + "\n")
    with store.open_run("deep") as exp:
        exp.log_metric("accuracy", 0.5)
    (exp.path / "meta.json").write_text(_deep())
    (exp.path / "params.json").write_text('{"k\\ud800": "v"}')
    monkeypatch.chdir(tmp_path)
    with pytest.warns(TrackingWarning):
        assert main(["summary", "increments/0001"]) in (0, 1)
        assert main(["compare", "increments/0001"]) == 0
    out = capsys.readouterr().out
    assert "exp-001-baseline-random" in out
    (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")


def test_pytest_runs_an_increment_whose_store_holds_hostile_files(pytester):
    from conftest import demo_files, write_increment

    folder = write_increment(pytester.path, "0001-demo", demo_files())
    journal = _left_running(folder, "t-002-train-model") / "logs" / "metrics.jsonl"
    with open(journal, "a") as f:
        f.write(json.dumps({"key": BAD, "value": 0.9, "step": None, "time": 1.0}) + "\n" + _deep() + "\n")
    with ExperimentStore(folder).open_run("deep") as exp:
        exp.log_metric("accuracy", 0.5)
    (exp.path / "meta.json").write_text(_deep())
    (exp.path / "params.json").write_text('{"k\\ud800": "v"}')
    result = pytester.runpytest_subprocess("increments", "-p", "no:cacheprovider")
    text = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in text and "RecursionError" not in text and "UnicodeEncodeError" not in text
    result.assert_outcomes(passed=10, skipped=1)
    (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")


# -- crashes inside the archive step, leftovers ---------------------------------------------------------


class Killed(BaseException):
    """Stands for a SIGKILL: nothing after it runs, no handler sees it."""


def _assert_consistent(inc: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", TrackingWarning)
        recs = ExperimentStore(inc).records()
    for rec in recs:
        assert not rec.problems, rec.problems
        assert rec.status != "succeeded" or rec.metrics, f"{rec.folder}: succeeded with no metrics"
        runs = [h["run"] for h in rec.history]
        assert runs == list(range(1, rec.run)), (rec.folder, runs, rec.run)
        assert all(h.get("status") in ("succeeded", "crashed", "failed") for h in rec.history)
        history = rec.path / "history"
        if history.is_dir():
            assert sorted(os.listdir(history)) == sorted(f"run-{k}" for k in runs)


@pytest.mark.parametrize("seed", range(3))
def test_a_kill_at_any_point_of_the_archive_step_leaves_a_readable_store(inc, monkeypatch, seed):
    import random

    rng = random.Random(seed)
    real_replace, real_rename = os.replace, os.rename
    store = ExperimentStore(inc)
    with store.open_run("model") as exp:
        exp.log_metric("accuracy", 0.5)
        exp.save_artifact([1], "model.pkl")
        exp.log_note("first")
    for n in range(1, 12):
        calls = iter(range(1, 10_000))
        kill_at = n if seed == 0 else rng.randint(1, 10)

        def dying(real):
            def call(*args, **kwargs):
                if next(calls) == kill_at:
                    raise Killed
                return real(*args, **kwargs)

            return call

        monkeypatch.setattr(os, "replace", dying(real_replace))
        monkeypatch.setattr(os, "rename", dying(real_rename))
        try:
            exp = store.open_run("model")
        except Killed:
            exp = None
        finally:
            monkeypatch.setattr(os, "replace", real_replace)
            monkeypatch.setattr(os, "rename", real_rename)
        if exp is not None:  # the kill point was past the opening: finish this run normally
            exp.log_metric("accuracy", 0.6)
            exp.finish()
        _assert_consistent(inc)
        with store.open_run("model") as again:
            again.log_metric("accuracy", 0.7)
        _assert_consistent(inc)
    (rec,) = store.records()
    assert rec.metrics["accuracy"].value == 0.7


KILLED_WRITER = """
    import sys
    from pytest_specweave.tracking.store import ExperimentStore
    store = ExperimentStore(sys.argv[1])
    print("ready", flush=True)
    i = 0
    while True:
        with store.open_run("victim") as exp:
            exp.log_params({"i": i})
            exp.log_metric("loss", 1.0 / (i + 1))
            exp.save_artifact({"i": i}, "model.pkl")
            exp.save_report("report.md", "# r")
            exp.log_note("n")
        i += 1
"""


def test_sigkilled_writers_leave_no_temporary_files_nor_half_made_history(inc):
    import random
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    rng = random.Random(12)
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KILLED_WRITER), str(inc)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
        with ExperimentStore(inc).open_run("victim") as exp:  # the next open cleans what the kill left
            exp.log_metric("loss", 0.0)
        leftovers = [p for p in (inc / "experiments").rglob("*")
                     if p.name.endswith((".tmp", ".tmpdir")) or p.name.startswith(".tmp-")]
        assert leftovers == []
        _assert_consistent(inc)


# -- symbolic links ------------------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "precious.txt").write_text("keep me\n")
    return path


def _files_of(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_committed_history_link_is_refused_not_followed(inc, outside):
    store = ExperimentStore(inc)
    with store.open_run("model") as exp:
        exp.log_metric("accuracy", 0.5)
    before = _files_of(outside)
    (exp.path / "history").symlink_to(outside)
    with pytest.raises(StoreError, match=r"history.*symbolic link"):
        store.open_run("model")
    assert _files_of(outside) == before
    with pytest.warns(TrackingWarning, match="symbolic link"):
        (rec,) = store.records()
    assert rec.metrics["accuracy"].value == 0.5


def test_linked_notes_lock_and_folders_are_never_written_through(inc, outside):
    store = ExperimentStore(inc)
    path = _left_running(inc, "crafted")
    target = outside / "notes-target.md"
    (path / "notes.md").unlink(missing_ok=True)
    (path / "notes.md").symlink_to(target)
    lock_target = outside / "created-by-lock"
    (inc / "experiments" / ".lock").unlink(missing_ok=True)
    (inc / "experiments" / ".lock").symlink_to(lock_target)
    linked = outside / "exp"
    linked.mkdir()
    (linked / "meta.json").write_text(json.dumps({"name": "linked", "status": "running", "pid": _dead_pid(),
                                                  "host": __import__("socket").gethostname()}))
    (inc / "experiments" / "exp-009-linked").symlink_to(linked)
    before = _files_of(outside)
    with pytest.warns(TrackingWarning):
        recs = {r.folder: r for r in store.records()}  # would mark the crafted runs crashed
    assert _files_of(outside) == before and not lock_target.exists() and not target.exists()
    assert recs["exp-009-linked"].status == "unreadable"
    assert any("symbolic link" in p for p in recs["exp-009-linked"].problems)
    assert any("symbolic link" in p for p in recs[path.name].problems)
    with pytest.raises(StoreError, match=r"\.lock.*symbolic link"):
        store.open_run("new")
    (inc / "experiments" / ".lock").unlink()
    with pytest.warns(TrackingWarning, match="symbolic link"):
        store.records()  # now marked crashed, still without writing through notes.md
    assert _files_of(outside) == before and not target.exists()


def test_summary_never_writes_through_links(tmp_path, outside, monkeypatch):
    from conftest import demo_files, write_increment
    from pytest_specweave.cli import main

    folder = write_increment(tmp_path, "0001-demo", demo_files())
    path = _left_running(folder, "t-002-train-model")
    (path / "notes.md").symlink_to(outside / "notes.md")
    (folder / "experiments" / ".lock").unlink()
    (folder / "experiments" / ".lock").symlink_to(outside / "lock")
    monkeypatch.chdir(tmp_path)
    before = _files_of(outside)
    with pytest.warns(TrackingWarning):
        main(["summary", "increments/0001"])
        assert main(["compare", "increments/0001"]) == 0
    assert _files_of(outside) == before and sorted(os.listdir(outside)) == ["precious.txt"]


def test_promotion_never_copies_the_model_through_a_planted_link(inc, outside):
    from pytest_specweave.tracking.models import promote_model

    store = ExperimentStore(inc)
    with store.open_run("model") as exp:
        exp.log_metric("accuracy", 0.9)
        exp.log_model({"weights": [1, 2, 3]})
    (inc / "models").mkdir()
    planted = inc / "models" / f".model-v1.pkl.{os.getpid()}.tmp"  # where the copy is staged
    planted.symlink_to(outside / "precious.txt")
    before = _files_of(outside)
    (record,) = store.records()
    with pytest.raises(StoreError):
        promote_model(inc, record, primary_metric="accuracy")
    assert _files_of(outside) == before
