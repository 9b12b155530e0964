"""Facts about the running process recorded in meta.json, each computed once per process.

Host, pid and process start time (so that a reused pid is told apart on Linux), git commit and
dirty flag, Python and key package versions. Stdlib only; nothing is imported from the packages
whose versions are read.
"""

from __future__ import annotations

import os
import sys
import weakref
from pathlib import Path

KEY_PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "torch", "xgboost", "lightgbm", "mlflow")
# Distributions that install a package's module under another name: xgboost-cpu is xgboost without CUDA.
ALTERNATIVE_DISTRIBUTIONS = {"xgboost": ("xgboost-cpu",)}

# Pathspecs left out of the dirty check: what the plugin itself writes into a repository.
GIT_OUTPUT_EXCLUDES = (
    ":(top,exclude,glob)**/experiments/**",
    ":(top,exclude,glob)**/models/**",
    ":(top,exclude,glob)**/COMPLETION-SUMMARY.md",
    ":(top,exclude,glob)**/mlflow.db",
    ":(top,exclude,glob)**/mlruns/**",
    ":(top,exclude,glob)**/mlartifacts/**",
)

_cache: dict = {}
_git_cache: dict[str, tuple[str | None, bool | None]] = {}

# Experiments open in this process, by folder path: an experiment whose recorded pid is ours is
# alive only while its object is here and unfinished.
OPEN_RUNS: "weakref.WeakValueDictionary[str, object]" = weakref.WeakValueDictionary()


def host() -> str:
    try:
        return _cache["host"]
    except KeyError:
        import socket

        _cache["host"] = value = socket.gethostname()
        return value


def python_version() -> str:
    return "%d.%d.%d" % sys.version_info[:3]


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (index 0 = state, index 19 = starttime), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ')'.
    return raw[raw.rfind(")") + 2 :].split()


def process_start(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), Linux only."""
    fields = _proc_stat(pid)
    if fields is None or len(fields) < 20:
        return None
    try:
        return int(fields[19])
    except ValueError:
        return None


def own_start() -> int | None:
    key = ("start", os.getpid())
    if key not in _cache:
        _cache[key] = process_start(os.getpid())
    return _cache[key]


def boot_id() -> str | None:
    if "boot" not in _cache:
        try:
            with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
                _cache["boot"] = f.read().strip() or None
        except OSError:
            _cache["boot"] = None
    return _cache["boot"]


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists (and is not a zombie) on this host."""
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - os.kill would terminate the process on Windows
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    fields = _proc_stat(pid)
    if fields and fields[0] in ("Z", "X"):
        return False
    return True


def _pid_alive_windows(pid: int) -> bool:  # pragma: no cover - not testable on Linux
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return code.value == 259  # STILL_ACTIVE
        return True
    finally:
        kernel32.CloseHandle(handle)


def owner_alive(meta: dict, path: str | None = None) -> bool | None:
    """Is the process that runs this experiment alive? True, False, or None when it cannot be known.

    None for another host (or a record without pid/host): such a run is left alone.
    """
    if meta.get("host") != host():
        return None
    pid = meta.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        return None
    recorded_boot = meta.get("boot_id")
    current_boot = boot_id()
    if recorded_boot and current_boot and recorded_boot != current_boot:
        return False
    if pid == os.getpid():
        recorded_start = meta.get("proc_start")
        if recorded_start is not None and own_start() is not None and recorded_start != own_start():
            return False  # an earlier process that had our pid
        if path is None:
            return True
        exp = OPEN_RUNS.get(path)
        return exp is not None and not getattr(exp, "finished", True)
    if not pid_alive(pid):
        return False
    recorded_start = meta.get("proc_start")
    if recorded_start is not None:
        current = process_start(pid)
        if current is not None and current != recorded_start:
            return False  # the pid was reused by another process
    return True


def process_identity() -> dict:
    return {"pid": os.getpid(), "host": host(), "proc_start": own_start(), "boot_id": boot_id()}


def git_info(directory: Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the repository holding `directory`; (None, None) without git or a repository.

    One `git status` per directory per process. Dirty means a tracked file differs from the commit
    (as `git describe --dirty`: untracked files do not count); the plugin's own outputs
    (experiments/, models/, COMPLETION-SUMMARY.md, mlflow files) never make a tree dirty.
    """
    key = str(directory)
    if key in _git_cache:
        return _git_cache[key]
    result: tuple[str | None, bool | None] = (None, None)
    try:
        import subprocess

        proc = subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no", "--", ":/", *GIT_OUTPUT_EXCLUDES],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=20,
            text=True,
            errors="replace",
        )
    except (OSError, ValueError, Exception):  # no git, timeout, odd environment: tolerated
        proc = None
    if proc is not None and proc.returncode == 0:
        commit = None
        dirty = False
        for line in proc.stdout.splitlines():
            if line.startswith("# branch.oid "):
                oid = line.split()[2]
                commit = None if oid == "(initial)" else oid
            elif line and not line.startswith("#"):
                dirty = True
        result = (commit, dirty)
    _git_cache[key] = result
    return result


def package_versions() -> dict[str, str]:
    """Versions of the key ML packages that are installed (read from metadata, never imported)."""
    if "packages" not in _cache:
        versions = {name: distribution_version(name) for name in KEY_PACKAGES}
        _cache["packages"] = {name: version for name, version in versions.items() if version is not None}
    return dict(_cache["packages"])


def distribution_version(name: str) -> str | None:
    """The installed version of a package, under its own distribution name or an alternative one."""
    from importlib import metadata

    for distribution in (name, *ALTERNATIVE_DISTRIBUTIONS.get(name, ())):
        try:
            return metadata.version(distribution)
        except Exception:  # noqa: BLE001 - not installed (or unreadable metadata): try the next
            continue
    return None
