"""Weights & Biases: finished experiments mirrored as W&B runs, checked in the offline run files W&B writes."""

from __future__ import annotations

import importlib
import json
import os
import struct
import sys
import time
import warnings

import pytest

from conftest import write_increment


def _framework(name: str):
    """The library, imported; skipped where it is not installed, except in CI (the test extra installs it)."""
    return importlib.import_module(name) if os.environ.get("CI") else pytest.importorskip(name)


wandb = _framework("wandb")

from wandb.proto import wandb_internal_pb2  # noqa: E402

from pytest_specweave.integrations import wandb as wandb_mirror  # noqa: E402
from pytest_specweave.integrations._extras import MissingExtra  # noqa: E402
from pytest_specweave.integrations.wandb import configure_wandb  # noqa: E402
from pytest_specweave.tracking.api import ENV_INCREMENT, ENV_TASK, active_increment, track_experiment  # noqa: E402
from pytest_specweave.tracking.store import TrackingWarning  # noqa: E402


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """Offline W&B writing under tmp_path; the mirror's configuration put back after each test."""
    before = wandb_mirror.current_state()
    wandb_mirror.restore_state(None)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    for name in ("WANDB_PROJECT", "WANDB_ENTITY", "WANDB_API_KEY", ENV_INCREMENT, ENV_TASK):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "wb").mkdir()
    yield tmp_path / "wb"
    wandb_mirror.restore_state(before)


@pytest.fixture
def increment(tmp_path):
    return write_increment(tmp_path, "0034-mirrored", {"tasks.md": "- [ ] T-004: Train\n"})


def offline_records(run_file):
    """The protobuf records of a .wandb file (W&B's append-only log: 32 KiB blocks of chunked records)."""
    data = run_file.read_bytes()
    ident, _magic, _version = struct.unpack("<4sHB", data[:7])
    assert ident == b":W&B"
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if kind == 0:
            pos += left
            continue
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):  # a full record, or the last chunk of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def offline_run(wandb_dir, run_id, wait_s=20.0):
    """{run, config, history, summary, exit_code} of the offline run `run_id` under WANDB_DIR.

    wandb-core writes the file from another process: it is read again until it holds the run and
    its exit (`run.finish()` can return a moment before the file is complete on a busy machine).
    """
    deadline = time.monotonic() + wait_s
    while True:
        found = _read_offline_run(wandb_dir, run_id)
        if (found["run"] is not None and found["exit_code"] is not None) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _read_offline_run(wandb_dir, run_id):
    [run_file] = (wandb_dir / "wandb").glob(f"offline-run-*-{run_id}/run-{run_id}.wandb")
    out = {"history": [], "summary": {}, "config": {}, "run": None, "exit_code": None}
    for record in offline_records(run_file):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["run"] = record.run
            out["config"] = {_key(item): json.loads(item.value_json) for item in record.run.config.update}
        elif kind == "history":
            row = {_key(item): json.loads(item.value_json) for item in record.history.item}
            out["history"].append({k: v for k, v in row.items() if not k.startswith("_") or k == "_step"})
        elif kind == "summary":
            out["summary"].update({_key(item): json.loads(item.value_json) for item in record.summary.update})
        elif kind == "exit":
            out["exit_code"] = record.exit.exit_code
    return out


def test_a_finished_experiment_becomes_one_offline_run_with_its_history(increment, offline):
    assert configure_wandb(increment=increment) == "0034-mirrored"  # the project, by default
    with active_increment(increment, task="T-004"):
        with track_experiment("mlp") as exp:
            exp.log_params({"lr": 0.01, "layers": [16, 8]})
            for epoch in range(3):
                exp.log_metrics({"train_loss": 0.9 / (epoch + 1), "val_loss": 1.0 / (epoch + 1)}, step=epoch)
            exp.log_metric("accuracy", 0.91, ci=(0.88, 0.94))
    info = exp.meta["wandb"]
    assert info["mode"] == "offline" and info["project"] == "0034-mirrored" and "url" not in info
    run = offline_run(offline, info["run_id"])
    assert run["run"].display_name == "exp-001-mlp" and run["run"].run_group == "0034-mirrored"
    assert run["run"].job_type == "experiment"
    assert list(run["run"].tags) == ["increment:0034-mirrored", "task:T-004", "candidate", "status:succeeded"]
    assert run["config"]["lr"] == 0.01 and run["config"]["layers"] == [16, 8]
    assert run["history"] == [
        {"_step": 0, "train_loss": 0.9, "val_loss": 1.0},
        {"_step": 1, "train_loss": 0.45, "val_loss": 0.5},
        {"_step": 2, "train_loss": 0.3, "val_loss": pytest.approx(1 / 3)},
    ]
    summary = run["summary"]
    assert summary["accuracy"] == 0.91 and (summary["accuracy_ci_low"], summary["accuracy_ci_high"]) == (0.88, 0.94)
    assert summary["train_loss"] == 0.3 and run["exit_code"] == 0


def test_a_failed_run_exits_non_zero_and_the_project_can_be_named(increment, offline):
    configure_wandb("fraud", mode="offline")
    with pytest.raises(RuntimeError):
        with track_experiment("baseline-random", baseline=True, increment=increment) as exp:
            exp.log_metric("accuracy", 0.5)
            raise RuntimeError("data went missing")
    info = exp.meta["wandb"]
    assert info["project"] == "fraud"
    run = offline_run(offline, info["run_id"])
    assert run["exit_code"] == 1 and run["history"] == [] and run["summary"]["accuracy"] == 0.5
    assert "baseline" in run["run"].tags and "status:failed" in run["run"].tags
    assert "data went missing" in run["run"].notes


def test_when_wandb_refuses_a_run_tracking_goes_on_and_mirroring_stops(increment, offline, monkeypatch):
    configure_wandb(increment=increment)
    calls = []

    def refuse(**kwargs):
        calls.append(kwargs["name"])
        raise wandb.errors.UsageError("api_key not configured (no-tty)")

    monkeypatch.setattr(wandb, "init", refuse)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with track_experiment("first", increment=increment) as first:
            first.log_metric("accuracy", 0.8)
        with track_experiment("second", increment=increment) as second:
            second.log_metric("accuracy", 0.9)
    assert first.status == second.status == "succeeded"
    assert calls == ["exp-001-first"]  # not tried again in this process
    messages = [str(w.message) for w in caught if issubclass(w.category, TrackingWarning)]
    assert len(messages) == 1 and "exp-001-first: not mirrored to W&B: W&B did not start a run" in messages[0]
    assert "api_key not configured" in messages[0] and "WANDB_MODE=offline" in messages[0]
    assert "wandb" not in first.meta


def test_a_bad_mode_or_increment_is_refused_before_anything_changes(increment):
    with pytest.raises(ValueError, match="mode must be one of online, offline, disabled"):
        configure_wandb(mode="cloud")
    from pytest_specweave.errors import IncrementNotFound

    with pytest.raises(IncrementNotFound):
        configure_wandb(increment="9999")
    assert not wandb_mirror.mirroring()


def test_without_wandb_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(MissingExtra, match=r"configure_wandb needs wandb, which is not installed: "
                                           r"pip install pytest-specweave\[wandb\]"):
        configure_wandb(mode="offline")
    assert not wandb_mirror.mirroring()


def test_in_a_pytest_session_the_mirror_is_the_experiment_finished_hook(increment, offline, pytestconfig, monkeypatch):
    configure_wandb(increment=increment)
    plugin = pytestconfig.pluginmanager.get_plugin(wandb_mirror.WandbMirror.name)
    assert isinstance(plugin, wandb_mirror.WandbMirror)
    assert plugin in [impl.plugin for impl in pytestconfig.hook.pytest_specweave_experiment_finished.get_hookimpls()]
    with track_experiment("hooked", increment=increment) as hooked:
        hooked.log_metric("accuracy", 0.8)
    assert offline_run(offline, hooked.meta["wandb"]["run_id"])["summary"]["accuracy"] == 0.8
    pytestconfig.pluginmanager.unregister(plugin)  # without the hook implementation, nothing is mirrored
    try:
        with track_experiment("unhooked", increment=increment) as unhooked:
            unhooked.log_metric("accuracy", 0.7)
    finally:
        pytestconfig.pluginmanager.register(plugin, wandb_mirror.WandbMirror.name)
    assert "wandb" not in unhooked.meta


def test_a_conftest_that_turns_mirroring_on_mirrors_each_task_experiment_on_its_worker(pytester, offline):
    write_increment(pytester.path, "0035-mirrored", {
        "tasks.md": "- [ ] T-001: Train — `pipeline.py::train`\n- [ ] T-002: Tune — `pipeline.py::tune`\n",
        "pipeline.py": "def train(experiment):\n    experiment.log_metric('accuracy', 0.9)\n\n\n"
                       "def tune(experiment):\n    experiment.log_metric('accuracy', 0.8)\n"})
    pytester.makeconftest("""
        from pytest_specweave import configure_wandb


        def pytest_configure(config):
            configure_wandb(project="team-sheet", mode="offline")
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=2)
    experiments = pytester.path / "increments" / "0035-mirrored" / "experiments"
    runs = {}
    for meta_file in sorted(experiments.glob("exp-*/meta.json")):
        meta = json.loads(meta_file.read_text())
        runs[meta_file.parent.name] = offline_run(offline, meta["wandb"]["run_id"])
    assert sorted(folder.split("-", 2)[2] for folder in runs) == ["t-001-train", "t-002-tune"]  # numbered by worker order
    assert sorted(run["summary"]["accuracy"] for run in runs.values()) == [0.8, 0.9]
    assert {run["run"].project for run in runs.values()} == {"team-sheet"}


def test_outside_pytest_the_tracker_s_finish_listener_mirrors(increment, offline):
    import subprocess

    script = ("from pytest_specweave import configure_wandb, track_experiment\n"
              f"configure_wandb(mode='offline', increment={str(increment)!r})\n"
              f"with track_experiment('scripted', increment={str(increment)!r}) as exp:\n"
              "    exp.log_metric('accuracy', 0.6)\n"
              "print(exp.meta['wandb']['run_id'])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert offline_run(offline, done.stdout.split()[-1])["summary"]["accuracy"] == 0.6
