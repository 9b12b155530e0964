"""Notebooks: a task that links `notebooks/NN-name.ipynb` executes it, top to bottom, with nbclient.

    run_notebook("notebooks/01-eda.ipynb", increment_dir=inc, task="T-001")

- The path is relative to the increment folder (then to the working directory). A path that does
  not exist, is not an `.ipynb` file, or does not hold a valid notebook raises NotebookError
  naming the file.
- Parameters, papermill's convention: a code cell is injected after the cell tagged `parameters`
  (at the top when there is none), tagged `injected-parameters`, setting `increment = "<absolute
  path of the increment folder>"` and each of `parameters=` (values Python can write as literals);
  a cell tagged `injected-parameters` already in the notebook (from papermill) is replaced.
- The kernel is this Python (`python3`, the interpreter running pytest, unless `kernel_name=` says
  otherwise), started in the notebook's own folder (as Jupyter runs it: `../data/x.csv` works)
  with PYTEST_SPECWEAVE_INCREMENT and PYTEST_SPECWEAVE_TASK set, so that `track_experiment(...)`
  inside lands in the increment, recorded as the task's, like any task's experiment.
- `timeout` is per cell, in seconds (nbclient's); a cell running longer fails the run.
- A failing cell raises NotebookCellError (a SpecweaveError: the task fails with one readable
  block) holding the cell's number, its source, the last lines it printed, and the error: name,
  value and the traceback lines, without colour codes.
- The executed copy, with every output up to the end or the failure, is written to
  `<increment>/experiments/notebook-runs/<name>.executed.ipynb` (replaced at each run; the user's
  notebook is never written).

nbformat and nbclient are imported when a notebook runs (the `notebooks` extra), never when this
module is.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from ..errors import SpecweaveError
from ._extras import MissingExtra, install_hint, require

RUNS_DIR = Path("experiments") / "notebook-runs"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
DEFAULT_KERNEL = "python3"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
MAX_SOURCE_LINES = 40
MAX_TRACEBACK_LINES = 60
MAX_PRINTED_LINES = 20


class NotebookError(SpecweaveError):
    """A linked notebook cannot be run: missing, not a notebook, or its kernel could not start."""


class NotebookCellError(NotebookError):
    """A cell of a notebook failed; the message holds the cell, its source and the error."""

    def __init__(self, message: str, *, notebook: Path, cell: int, source: str, ename: str, evalue: str,
                 traceback: list[str], executed: Path | None):
        super().__init__(message)
        self.notebook = notebook
        self.cell = cell  # 1-based, counting every cell of the user's notebook
        self.source = source
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback
        self.executed = executed


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _shown(path: Path, increment_dir: Path) -> str:
    """The path as the user knows it: relative to the increment, else to the working directory."""
    for base in (increment_dir, Path.cwd()):
        try:
            return Path(os.path.abspath(path)).relative_to(Path(os.path.abspath(base))).as_posix()
        except ValueError:
            continue
    return str(path)


def resolve_notebook(path, increment_dir) -> Path:
    """The notebook file: `path` as given when absolute, else in the increment, else from the cwd."""
    path = Path(path)
    increment_dir = Path(increment_dir)
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [increment_dir / path, Path.cwd() / path]
    found = next((c for c in candidates if c.exists()), None)
    shown = _shown(path, increment_dir) if path.is_absolute() else path.as_posix()
    if found is None:
        looked = " or ".join(str(c.parent) for c in candidates)
        raise NotebookError(f"{shown}: no such notebook (looked in {looked})")
    if found.is_dir():
        raise NotebookError(f"{shown}: is a folder, not a notebook (.ipynb file)")
    if found.suffix.lower() != ".ipynb":
        raise NotebookError(f"{shown}: not a notebook: a task runs a Jupyter notebook (.ipynb) or Python code (.py)")
    return found


def read_notebook(path: Path, shown: str):
    """The notebook as nbformat v4, validated; NotebookError naming the file when it is not one."""
    nbformat = require("nbformat", "notebooks", feature="running a notebook")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NotebookError(f"{shown}: not a notebook: the file is not UTF-8 text (a notebook is JSON)") from None
    except OSError as err:
        raise NotebookError(f"{shown}: cannot be read: {err.strerror or err}") from None
    try:
        data = json.loads(text)
    except ValueError as err:
        raise NotebookError(f"{shown}: not a notebook: invalid JSON ({err})") from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise NotebookError(f"{shown}: not a notebook: the JSON has no \"cells\" (nbformat 4 expected)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - nbformat's errors are many kinds; all mean "not a notebook"
        lines = str(err).strip().splitlines()
        reason = getattr(err, "message", None) or (lines[0] if lines else type(err).__name__)
        raise NotebookError(f"{shown}: not a valid notebook (nbformat): {reason}") from None
    return nb


def _literal(key: str, value) -> str:
    text = repr(value)
    try:
        import ast

        if ast.literal_eval(text) != value:
            raise ValueError
    except (ValueError, SyntaxError, TypeError):
        raise TypeError(
            f"run_notebook: parameter {key!r} must be a value Python writes as a literal"
            f" (str, number, bool, None, list, dict), got {type(value).__name__}"
        ) from None
    return text


def _inject(nb, nbformat, increment_dir: Path, parameters: dict) -> int:
    """Insert (or replace) the injected-parameters cell; returns its index."""
    values = {"increment": str(increment_dir)}
    for key, value in (parameters or {}).items():
        if not str(key).isidentifier():
            raise ValueError(f"run_notebook: parameter name {key!r} is not a Python identifier")
        values[str(key)] = value
    source = "# Parameters injected by pytest-specweave\n" + "\n".join(
        f"{key} = {_literal(key, value)}" for key, value in values.items()
    )
    cell = nbformat.v4.new_code_cell(source=source)
    cell.metadata["tags"] = [INJECTED_TAG]
    cells = nb.cells
    for index, old in enumerate(cells):
        if INJECTED_TAG in old.get("metadata", {}).get("tags", []):
            cells[index] = cell
            return index
    at = next((i + 1 for i, c in enumerate(cells) if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])), 0)
    cells.insert(at, cell)
    return at


def _write_executed(nb, nbformat, dest: Path) -> Path | None:
    from ..tracking._files import atomic_write

    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dest, nbformat.writes(nb).encode("utf-8"))
    except Exception:  # noqa: BLE001 - the executed copy is a convenience; the run's verdict is what matters
        return None
    return dest


def _excerpt(lines: list[str], limit: int) -> list[str]:
    if len(lines) <= limit:
        return lines
    head = limit // 2
    return lines[:head] + [f"... ({len(lines) - limit} lines not shown) ..."] + lines[-(limit - head):]


def run_notebook(path, *, increment_dir, task=None, timeout=600, parameters=None, kernel_name=DEFAULT_KERNEL):
    """Execute a notebook top to bottom for an increment (see the module docstring); returns the executed notebook.

    Raises NotebookError (missing, not a notebook, the kernel does not start) or NotebookCellError
    (a cell failed or timed out).
    """
    increment_dir = Path(increment_dir).resolve()
    file = resolve_notebook(path, increment_dir)
    shown = _shown(file, increment_dir)
    nbformat = require("nbformat", "notebooks", feature="running a notebook")
    nb = read_notebook(file, shown)
    nbclient = require("nbclient", "notebooks", feature="running a notebook")
    if kernel_name == DEFAULT_KERNEL:
        import importlib.util

        if importlib.util.find_spec("ipykernel") is None:
            raise MissingExtra(
                f"running a notebook needs ipykernel, which is not installed: {install_hint('notebooks')}",
                module="ipykernel", extra="notebooks",
            )
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    injected = _inject(nb, nbformat, increment_dir, parameters or {})
    from ..tracking.api import ENV_INCREMENT, ENV_TASK

    env = dict(os.environ)
    env[ENV_INCREMENT] = str(increment_dir)
    if task is not None:
        env[ENV_TASK] = str(task)
    else:
        env.pop(ENV_TASK, None)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's frozen-modules notice on stderr
    env.setdefault("MPLBACKEND", "Agg")
    current = {"index": None}

    def on_cell_start(cell, cell_index, **_):
        current["index"] = cell_index

    client = nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name=kernel_name or "", allow_errors=False,
        resources={"metadata": {"path": str(file.parent)}}, on_cell_start=on_cell_start,
    )
    dest = increment_dir / RUNS_DIR / f"{file.stem}.executed.ipynb"
    sockets = tempfile.TemporaryDirectory(prefix="pytest-specweave-kernel-") if os.name == "posix" else None
    if sockets is not None:
        # IPC sockets in a private folder rather than TCP on localhost (the kernel warns about plain TCP)
        client.km = client.kernel_manager_class(kernel_name=client.kernel_name, config=client.config,
                                                transport="ipc", ip=os.path.join(sockets.name, "kernel"))
    try:
        client.execute(env=env)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
        executed = _write_executed(nb, nbformat, dest)
        raise _cell_error(err, nb, current["index"], injected, file, shown, timeout, executed, increment_dir) from None
    except Exception as err:  # noqa: BLE001 - the kernel did not start: no such kernel, a broken ipykernel ...
        executed = _write_executed(nb, nbformat, dest)
        detail = strip_ansi(str(err)).strip().splitlines()
        raise NotebookError(
            f"{shown}: could not run (kernel {kernel_name!r}): {type(err).__name__}: "
            + (detail[-1] if detail else "")
        ) from None
    finally:
        if sockets is not None:
            sockets.cleanup()
    _write_executed(nb, nbformat, dest)
    return nb


def _cell_error(err, nb, index, injected, file, shown, timeout, executed, increment_dir) -> NotebookCellError:
    cell = nb.cells[index] if index is not None and index < len(nb.cells) else None
    if index is None:
        number = 0
    elif index == injected:
        number = 0
    else:
        number = index + 1 - (1 if index > injected else 0)
    total = len(nb.cells) - 1
    source = cell.source if cell is not None else ""
    ename = getattr(err, "ename", None) or type(err).__name__
    evalue = getattr(err, "evalue", None)
    tb: list[str] = []
    printed: list[str] = []
    if cell is not None:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                printed += strip_ansi(output.get("text", "")).rstrip("\n").splitlines()
            if output.get("output_type") == "error":
                ename, evalue = output.get("ename", ename), output.get("evalue", evalue)
                tb = [strip_ansi(line).rstrip() for block in output.get("traceback", []) for line in block.splitlines()]
                while tb and set(tb[0]) <= {"-", " "}:  # IPython's rule above the traceback
                    tb.pop(0)
    if type(err).__name__ == "CellTimeoutError":
        ename, evalue = "CellTimeoutError", f"the cell did not finish within {timeout} s"
    elif type(err).__name__ == "DeadKernelError":
        ename, evalue = "DeadKernelError", "the kernel died while the cell ran (out of memory, or a crash)"
    if evalue is None:
        evalue = strip_ansi(str(err)).strip().splitlines()[-1] if str(err).strip() else ""
    which = "the injected parameters cell" if index == injected else (
        f"cell {number} of {total}" if number else "a cell")
    lines = [f"{shown}: {which} failed: {ename}: {evalue}", "", f"--- source of {which} ---"]
    lines += _excerpt(source.splitlines() or ["(empty)"], MAX_SOURCE_LINES)
    if printed:
        lines += ["", "--- printed (last lines) ---"] + printed[-MAX_PRINTED_LINES:]
    if tb:
        lines += ["", "--- traceback ---"] + _excerpt(tb, MAX_TRACEBACK_LINES)
    if executed is not None:
        lines += ["", f"executed notebook, with the outputs up to the failure: {_shown(executed, increment_dir)}"]
    return NotebookCellError(
        "\n".join(lines), notebook=file, cell=number, source=source, ename=str(ename), evalue=str(evalue),
        traceback=tb, executed=executed,
    )


def notebook_task(path, *, timeout=600, parameters=None):
    """A no-argument callable that runs the notebook for the running task (the pytest layer's link).

    When called, the increment and task are the running item's (`active_increment`), else those of
    PYTEST_SPECWEAVE_INCREMENT/TASK, else the enclosing increment of the working directory. Nothing
    is checked or imported until it is called: a missing notebook fails its task, not collection.
    """
    def run_linked_notebook():
        from ..tracking.api import _current

        increment_dir, task = _current(None)
        run_notebook(path, increment_dir=increment_dir, task=task, timeout=timeout, parameters=parameters)

    run_linked_notebook.notebook = str(path)
    return run_linked_notebook


__all__ = ["NotebookCellError", "NotebookError", "notebook_task", "run_notebook"]
