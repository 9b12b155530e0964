"""xdist workers that do not share the controller's disk: their stores sent back over xdist's channel.

A worker started in another folder (`--tx popen//chdir=DIR`, `--tx ssh=host//chdir=DIR`, with the code
there by `--rsyncdir` or a checkout) writes the experiments of the increments it runs into its own
copy, where the controller, which writes the reports, cannot read them. The controller names its
rootdir and host in each worker's input; a worker whose rootdir or host differs notes the files of
the increments it collected before running, and at its end sends back, for each increment it ran,
the files it added or changed and the names of those it removed. The controller writes them into
its own copy before it writes the reports. On one machine in one folder nothing is noted or sent.

Not sent: the local MLflow mirror (`mlflow.db`, `mlruns/`, `mlartifacts/`) and `__pycache__/`.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from ..plugin import CONTROLLER_OF_WORKER as CONTROLLER_KEY  # workerinput: [rootdir, host]
from ..plugin import STORES_FROM_WORKER as STORES_KEY  # workeroutput: {increment path: {"files": …, "removed": …}}

NOT_SENT = frozenset({"mlflow.db", "mlruns", "mlartifacts", "__pycache__", ".pytest_cache"})
_BEFORE = pytest.StashKey[dict]()  # increment folder -> {relative path: (size, mtime_ns)}


def configure_node(config: pytest.Config, node) -> None:
    """On the controller, for each worker: where the reports are written."""
    node.workerinput[CONTROLLER_KEY] = [str(config.rootpath), socket.gethostname()]


def elsewhere(config: pytest.Config) -> bool:
    """On a worker: whether its rootdir or host is not the controller's."""
    controller = getattr(config, "workerinput", {}).get(CONTROLLER_KEY)
    return bool(controller) and (controller[0] != str(config.rootpath) or controller[1] != socket.gethostname())


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for directory, subdirs, names in os.walk(folder):
        subdirs[:] = [name for name in subdirs if name not in NOT_SENT]
        for name in names:
            if name in NOT_SENT:
                continue
            path = Path(directory, name)
            try:
                stat = path.stat()
            except OSError:
                continue
            found[path.relative_to(folder).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def note_before_run(config: pytest.Config, folders) -> None:
    """On a worker elsewhere, after collection: the files of each increment collected."""
    config.stash[_BEFORE] = {folder: _files(folder) for folder in folders}


def send_to_controller(config: pytest.Config, folders) -> None:
    """On a worker elsewhere, at its end: what changed in each increment it ran."""
    before = config.stash.get(_BEFORE, {})
    sent = {}
    for folder in sorted(set(folders)):
        then, now = before.get(folder, {}), _files(folder)
        changed = [name for name, stamp in now.items() if then.get(name) != stamp]
        files = {}
        for name in changed:
            try:
                files[name] = (folder / name).read_bytes()
            except OSError:  # removed since it was listed
                continue
        sent[Path(os.path.relpath(folder, config.rootpath)).as_posix()] = {
            "files": files, "removed": sorted(name for name in then if name not in now)}
    config.workeroutput[STORES_KEY] = sent


def receive_from_worker(config: pytest.Config, node) -> None:
    """On the controller: write what a worker elsewhere sent into the controller's copy of each increment."""
    from ..tracking._files import atomic_write

    for increment, change in node.workeroutput.get(STORES_KEY, {}).items():
        folder = config.rootpath / increment
        for name, data in sorted(change["files"].items()):
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data)
        for name in change["removed"]:
            try:
                (folder / name).unlink()
            except FileNotFoundError:
                pass


def check_worker_args(config: pytest.Config) -> None:
    """Before xdist starts workers in other folders: path arguments it can pass them, or a usage error.

    xdist hands such workers each path argument rewritten against a `--rsyncdir` folder, and fails
    with an internal error on any other (a relative path among them)."""
    specs = [str(spec) for spec in config.getoption("tx", None) or ()]
    if config.getoption("dist", "no") == "no" or not any("chdir=" in s or not s.split("//")[0].endswith("popen")
                                                          for s in specs):
        return
    roots = [Path(root).resolve() for root in list(config.getoption("rsyncdir", None) or ())
             + list(config.getini("rsyncdirs") or ())]
    for arg in config.invocation_params.args:
        path = Path(str(arg).split("::", 1)[0])
        if str(arg).startswith("-") or not path.exists():
            continue
        if not path.is_absolute() or not any(path == root or root in path.parents for root in roots):
            raise pytest.UsageError(
                f"{arg}: xdist workers in another folder or on another host (--tx …//chdir=…, ssh=…) are given "
                "path arguments only as absolute paths inside a --rsyncdir folder: run `pytest --rsyncdir=$PWD "
                f"$PWD/{arg} …`, or name no path and let the workers collect their own folder (docs/scaling.md)")
