"""The store across processes: concurrent writers, SIGKILL, live and dead owners, pid reuse, the lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pytest_specweave.tracking import _files, _runinfo
from pytest_specweave.tracking.store import ExperimentStore

WORKERS = 4
PER_WORKER = 55  # 220 runs in all
STEPS = 20


def strict_json(path: Path):
    def refuse(token):
        raise ValueError(f"non-standard JSON constant {token} in {path}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def run_python(code: str, *args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], **kwargs)


@pytest.fixture
def inc(tmp_path) -> Path:
    path = tmp_path / "0042-demo"
    path.mkdir()
    (path / "spec.md").write_text("# Demo\n")
    return path


WRITER = """
    import os, sys, time
    from pytest_specweave.tracking.store import ExperimentStore
    inc, wid, n, steps, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    store = ExperimentStore(inc)
    while not os.path.exists(go):
        time.sleep(0.001)
    for i in range(n):
        name = f"shared-{i % 4}" if i % 3 == 0 else f"w{wid}-e{i}"
        with store.open_run(name) as exp:
            exp.log_params({"worker": wid, "i": i})
            for s in range(steps):
                exp.log_metric("loss", s / 10, step=s)
            exp.log_metric("final", wid * 1000 + i)
"""


def test_concurrent_processes_share_one_store(inc, tmp_path):
    go = tmp_path / "go"
    procs = [run_python(WRITER, inc, w, PER_WORKER, STEPS, go) for w in range(WORKERS)]
    time.sleep(0.3)
    go.touch()
    for p in procs:
        assert p.wait(timeout=120) == 0

    root = inc / "experiments"
    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("exp-"))
    numbers = [int(p.name.split("-")[1]) for p in folders]
    assert len(numbers) == len(set(numbers)), "a number was given twice"
    assert int((root / ".counter").read_text()) == max(numbers)
    assert not [p for p in root.rglob("*") if p.name.endswith((".tmp", ".tmpdir")) or p.name.startswith(".tmp-")]

    runs = {}
    for folder in folders:
        run_dirs = [folder] + sorted((folder / "history").glob("run-*"))
        seen_runs = set()
        for run_dir in run_dirs:
            meta = strict_json(run_dir / "meta.json")
            params = strict_json(run_dir / "params.json")
            metrics = strict_json(run_dir / "metrics.json")["metrics"]
            lines = [json.loads(line) for line in (run_dir / "logs" / "metrics.jsonl").read_text().splitlines()]
            assert meta["status"] == "succeeded" and meta["folder"] == folder.name
            assert meta["run"] not in seen_runs
            seen_runs.add(meta["run"])
            key = (params["worker"], params["i"])
            assert key not in runs, f"run {key} recorded twice"
            runs[key] = run_dir
            assert metrics["final"] == params["worker"] * 1000 + params["i"]
            assert metrics["loss"] == {"value": (STEPS - 1) / 10, "step": STEPS - 1}
            assert [e["step"] for e in lines if e["key"] == "loss"] == list(range(STEPS))
            assert len(lines) == STEPS + 1
    assert set(runs) == {(w, i) for w in range(WORKERS) for i in range(PER_WORKER)}, "a run was lost"

    recs = ExperimentStore(inc).records()
    assert [r.folder for r in recs] == [f.name for f in folders]
    assert all(r.status == "succeeded" and not r.problems for r in recs)
    assert sum(1 + len(r.history) for r in recs) == WORKERS * PER_WORKER


VICTIM = """
    import sys, time
    from pytest_specweave.tracking.store import ExperimentStore
    inc, n = sys.argv[1], int(sys.argv[2])
    exp = ExperimentStore(inc).open_run("victim", task="T-004")
    exp.log_params({"lr": 0.1})
    for i in range(n):
        exp.log_metric("loss", 1.0 / (i + 1), step=i)
    exp.log_metric("rmse", 1.2, ci=(1.0, 1.4))
    exp.log_cv("acc", [0.8, 0.9])
    exp.save_artifact({"weights": [1, 2]}, "model.pkl")
    exp.log_note("about to be killed")
    print("ready", flush=True)
    time.sleep(120)
"""


def _start_victim(inc, n=2000) -> subprocess.Popen:
    proc = run_python(VICTIM, inc, n, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_sigkill_loses_nothing_logged(inc):
    n = 2000
    proc = _start_victim(inc, n)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    store = ExperimentStore(inc)
    (rec,) = store.records()  # records() marks it crashed
    assert rec.status == "crashed" and rec.task == "T-004"
    assert rec.params == {"lr": 0.1}
    assert rec.metrics["loss"].value == 1.0 / n and rec.metrics["loss"].step == n - 1
    assert rec.metrics["rmse"].ci == (1.0, 1.4)
    assert rec.metrics["acc"].folds == (0.8, 0.9)
    assert len(rec.series("loss")) == n
    assert rec.meta["artifacts"]["model.pkl"]["sha256"] and rec.artifacts == ["model.pkl"]
    assert "about to be killed" in rec.notes and "Crashed" in rec.notes
    assert rec.ended is not None and rec.duration_s is not None
    metrics = strict_json(rec.path / "metrics.json")["metrics"]
    assert metrics["loss"] == {"value": 1.0 / n, "step": n - 1}
    assert store.mark_crashed() == []  # once only

    # the next run of the same name archives the crashed one
    store.open_run("victim", task="T-004").finish()  # the same task: its earlier run is replaced
    (rec,) = store.records()
    assert rec.run == 2 and rec.history[0]["status"] == "crashed"


def test_a_running_process_is_left_alone(inc):
    proc = _start_victim(inc, 10)
    try:
        store = ExperimentStore(inc)
        assert store.mark_crashed() == []
        (rec,) = store.records()
        assert rec.status == "running"
        assert rec.metrics["loss"].value == 0.1  # read live from the journal
        # a new run of the same name does not touch the live one
        other = store.open_run("victim")
        assert other.folder == "exp-002-victim"
        other.finish()
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert store.mark_crashed() == ["exp-001-victim"]


def _fake_running(inc: Path, name: str, **meta_changes) -> Path:
    store = ExperimentStore(inc)
    exp = store.open_run(name)
    exp.log_metric("acc", 0.5)
    path = exp.path
    meta = json.loads((path / "meta.json").read_text())
    meta.update(meta_changes)
    (path / "meta.json").write_text(json.dumps(meta))
    _runinfo.OPEN_RUNS.pop(str(path), None)
    return path


def test_pid_reuse_other_hosts_and_live_processes(inc):
    parent = os.getppid()
    start = _runinfo.process_start(parent)
    reused = _fake_running(inc, "reused", pid=parent, proc_start=(start or 0) + 12345)
    alive = _fake_running(inc, "alive", pid=parent, proc_start=start)
    elsewhere = _fake_running(inc, "elsewhere", host="another-host", pid=1)
    other_boot = _fake_running(inc, "rebooted", boot_id="00000000-0000", pid=parent, proc_start=start)
    no_pid = _fake_running(inc, "nopid", pid=None)
    marked = ExperimentStore(inc).mark_crashed()
    expected = {other_boot.name}
    if start is not None:  # Linux: the process start time tells a reused pid apart
        expected.add(reused.name)
    if _runinfo.boot_id() is None:
        expected.discard(other_boot.name)
    assert set(marked) == expected
    statuses = {r.folder: r.status for r in ExperimentStore(inc).records()}
    assert statuses[alive.name] == statuses[elsewhere.name] == statuses[no_pid.name] == "running"


def test_zombie_process_counts_as_gone(inc):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while _runinfo.pid_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)  # exits, not yet reaped: a zombie
    assert not _runinfo.pid_alive(proc.pid)
    proc.wait()


@pytest.mark.parametrize("kind", ["flock", "o_excl fallback"])
def test_lock_gives_unique_numbers_across_threads(inc, monkeypatch, kind):
    if kind == "flock" and _files.fcntl is None:
        pytest.skip("no fcntl on this platform")
    if kind != "flock":
        monkeypatch.setattr(_files, "fcntl", None)
    store = ExperimentStore(inc)
    # (fallback) a stale lock file left by a dead process is broken
    (inc / "experiments").mkdir()
    (inc / "experiments" / ".lock.excl").write_text(f"999999999 {_runinfo.host()} 0")
    numbers, errors = [], []

    def worker(k):
        try:
            for i in range(15):
                exp = store.open_run(f"t{k}-{i}")
                numbers.append(exp.number)
                exp.finish()
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers) == list(range(1, 61))
    assert (inc / "experiments" / ".lock.excl").exists() == (kind == "flock")


def test_two_xdist_workers_write_one_store_without_losing_anything(pytester):
    pytest.importorskip("xdist")
    folder = pytester.path / "increments" / "0001-shared"
    folder.mkdir(parents=True)
    (folder / "spec.md").write_text("# Shared\n")
    pytester.makepyfile(test_many=f"""
        import pytest
        from pytest_specweave import track_experiment

        @pytest.mark.parametrize("n", range(220))
        def test_track(n):
            with track_experiment(f"run-{{n}}", increment={str(folder)!r}) as exp:
                exp.log_param("n", n)
                for step in range(5):
                    exp.log_metric("loss", 1.0 / (step + 1), step=step)
                exp.log_metric("score", n)
    """)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "test_many.py")
    result.assert_outcomes(passed=220)
    folders = [p for p in (folder / "experiments").iterdir() if p.is_dir()]
    assert len(folders) == 220
    numbers = [int(p.name.split("-")[1]) for p in folders]
    assert sorted(numbers) == list(range(1, 221))
    for path in folders:
        meta = json.loads((path / "meta.json").read_text())
        metrics = json.loads((path / "metrics.json").read_text())["metrics"]
        params = json.loads((path / "params.json").read_text())
        assert meta["status"] == "succeeded"
        assert metrics["score"] == params["n"]
        assert len((path / "logs" / "metrics.jsonl").read_text().splitlines()) == 6
