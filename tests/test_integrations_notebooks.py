"""Notebooks: executed with nbclient, the increment injected as a parameter, what they track landing in it."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys

import pytest

from conftest import write_increment


def _framework(name: str):
    """The library, imported; skipped where it is not installed, except in CI (the test extra installs it)."""
    return importlib.import_module(name) if os.environ.get("CI") else pytest.importorskip(name)


nbformat = _framework("nbformat")
_framework("nbclient")
_framework("ipykernel")

from pytest_specweave.integrations._extras import MissingExtra  # noqa: E402
from pytest_specweave.integrations.notebooks import (  # noqa: E402
    NotebookCellError,
    NotebookError,
    notebook_task,
    run_notebook,
)
from pytest_specweave.tracking.api import ENV_INCREMENT, ENV_TASK, active_increment  # noqa: E402
from pytest_specweave.tracking.store import ExperimentStore  # noqa: E402

SPEC = """
---
primary_metric: rows
---
# EDA

## ML Problem Definition
- Success metrics: rows >= 100
"""

TRACKING_CELL = """\
import os
from pytest_specweave import track_experiment

with track_experiment("eda") as exp:
    exp.log_param("increment_seen", increment)
    exp.log_param("alpha", alpha)
    exp.log_param("cwd", os.getcwd())
    for step in range(3):
        exp.log_metric("missing_share", 0.3 / (step + 1), step=step)
    exp.log_metric("rows", 200)
"""


def notebook(*cells, parameters: str | None = 'increment = "0033"\nalpha = 0.1') -> "nbformat.NotebookNode":
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(nbformat.v4.new_markdown_cell("# Data exploration"))
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in cells)
    return nb


@pytest.fixture(autouse=True)
def no_inherited_target(monkeypatch):
    monkeypatch.delenv(ENV_INCREMENT, raising=False)
    monkeypatch.delenv(ENV_TASK, raising=False)


@pytest.fixture
def increment(tmp_path):
    folder = write_increment(tmp_path, "0033-eda", {"spec.md": SPEC, "tasks.md": "- [ ] T-001: EDA\n"})
    (folder / "notebooks").mkdir()
    return folder


def write(folder, name, nb) -> bytes:
    path = folder / "notebooks" / name
    nbformat.write(nb, path)
    return path.read_bytes()


def test_the_notebook_runs_with_the_increment_injected_and_tracks_into_it(increment):
    before = write(increment, "01-eda.ipynb", notebook(TRACKING_CELL))
    run_notebook("notebooks/01-eda.ipynb", increment_dir=increment, task="T-001", parameters={"alpha": 0.5})
    record = ExperimentStore(increment).find("eda")
    assert record.status == "succeeded" and record.task == "T-001"
    assert record.params["increment_seen"] == str(increment.resolve())
    assert record.params["alpha"] == 0.5  # the injected cell comes after the parameters cell
    assert record.params["cwd"] == str((increment / "notebooks").resolve())  # as Jupyter runs it
    assert len(record.series("missing_share")) == 3 and record.metric("rows").value == 200
    assert (increment / "notebooks" / "01-eda.ipynb").read_bytes() == before  # never written
    executed = nbformat.read(increment / "experiments" / "notebook-runs" / "01-eda.executed.ipynb", as_version=4)
    tags = [cell.metadata.get("tags", []) for cell in executed.cells]
    assert tags[1] == ["parameters"] and tags[2] == ["injected-parameters"]
    assert "increment = " in executed.cells[2].source and "alpha = 0.5" in executed.cells[2].source
    assert all(cell.get("execution_count") for cell in executed.cells if cell.cell_type == "code")


def test_without_a_parameters_cell_the_increment_is_set_at_the_top(increment):
    write(increment, "02-plain.ipynb", notebook("print(increment)", parameters=None))
    nb = run_notebook(increment / "notebooks" / "02-plain.ipynb", increment_dir=increment)
    assert nb.cells[0].metadata["tags"] == ["injected-parameters"]
    assert nb.cells[2].outputs[0]["text"].strip() == str(increment.resolve())


def test_a_failing_cell_fails_with_its_source_and_the_error(increment):
    failing = 'with track_experiment("broken") as exp:\n    exp.log_metric("rows", 10)\n    ratio = 1 / 0'
    write(increment, "03-bad.ipynb", notebook("from pytest_specweave import track_experiment", failing,
                                              "print('never runs')"))
    with pytest.raises(NotebookCellError) as info:
        run_notebook("notebooks/03-bad.ipynb", increment_dir=increment, task="T-002")
    error = info.value
    message = str(error)
    assert message.startswith("notebooks/03-bad.ipynb: cell 4 of 5 failed: ZeroDivisionError: division by zero")
    assert "--- source of cell 4 of 5 ---\n" + failing in message
    assert "----> 3     ratio = 1 / 0" in message  # the traceback's lines
    assert "\x1b[" not in message  # no colour codes
    assert "experiments/notebook-runs/03-bad.executed.ipynb" in message
    assert (error.cell, error.ename, error.evalue) == (4, "ZeroDivisionError", "division by zero")
    assert isinstance(error, NotebookError)
    record = ExperimentStore(increment).find("broken")
    assert record.status == "failed" and record.task == "T-002"
    executed = nbformat.read(increment / "experiments" / "notebook-runs" / "03-bad.executed.ipynb", as_version=4)
    assert executed.cells[-1].get("outputs") == []  # the cells after the failure did not run


def test_a_cell_that_runs_too_long_fails_with_the_timeout(increment):
    write(increment, "04-slow.ipynb", notebook("import time\ntime.sleep(30)", parameters=None))
    with pytest.raises(NotebookCellError, match=r"cell 2 of 2 failed: CellTimeoutError: the cell did not finish "
                                                r"within 1 s[\s\S]*time.sleep\(30\)"):
        run_notebook("notebooks/04-slow.ipynb", increment_dir=increment, timeout=1)


def test_a_missing_path_or_a_file_that_is_not_a_notebook_is_named(increment):
    with pytest.raises(NotebookError, match=r"^notebooks/01-missing.ipynb: no such notebook \(looked in "):
        run_notebook("notebooks/01-missing.ipynb", increment_dir=increment)
    with pytest.raises(NotebookError, match=r"^spec.md: not a notebook: a task runs a Jupyter notebook \(.ipynb\)"):
        run_notebook("spec.md", increment_dir=increment)
    (increment / "notebooks" / "broken.ipynb").write_text("{ this is not json", encoding="utf-8")
    with pytest.raises(NotebookError, match=r"^notebooks/broken.ipynb: not a notebook: invalid JSON"):
        run_notebook("notebooks/broken.ipynb", increment_dir=increment)
    (increment / "notebooks" / "list.ipynb").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(NotebookError, match=r"^notebooks/list.ipynb: not a notebook: the JSON has no \"cells\""):
        run_notebook("notebooks/list.ipynb", increment_dir=increment)
    bad = {"cells": [{"cell_type": "code", "source": "1"}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}
    (increment / "notebooks" / "invalid.ipynb").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(NotebookError, match=r"^notebooks/invalid.ipynb: not a valid notebook \(nbformat\): "):
        run_notebook("notebooks/invalid.ipynb", increment_dir=increment)
    (increment / "notebooks" / "folder.ipynb").mkdir()
    with pytest.raises(NotebookError, match=r"folder.ipynb: is a folder"):
        run_notebook("notebooks/folder.ipynb", increment_dir=increment)
    assert not (increment / "experiments").exists()  # nothing ran


def test_parameters_must_be_literals(increment):
    write(increment, "05-params.ipynb", notebook("pass"))
    with pytest.raises(TypeError, match="parameter 'when' must be a value Python writes as a literal"):
        run_notebook("notebooks/05-params.ipynb", increment_dir=increment, parameters={"when": object()})
    with pytest.raises(ValueError, match="'not valid' is not a Python identifier"):
        run_notebook("notebooks/05-params.ipynb", increment_dir=increment, parameters={"not valid": 1})


def test_notebook_task_runs_for_the_active_task(increment):
    write(increment, "01-eda.ipynb", notebook(TRACKING_CELL))
    task = notebook_task("notebooks/01-eda.ipynb")
    assert inspect.signature(task).parameters == {}  # no fixtures asked for
    with active_increment(increment, task="T-007"):
        task()
    assert ExperimentStore(increment).find("eda").task == "T-007"
    missing = notebook_task("notebooks/nope.ipynb")  # nothing is checked until it runs
    with active_increment(increment, task="T-008"), pytest.raises(NotebookError, match="no such notebook"):
        missing()


@pytest.mark.parametrize("module", ["nbformat", "nbclient", "ipykernel"])
def test_without_the_notebook_libraries_the_error_names_the_extra(increment, monkeypatch, module):
    write(increment, "01-eda.ipynb", notebook("pass"))
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtra, match=rf"needs {module}, which is not installed: "
                                           r"pip install pytest-specweave\[notebooks\]"):
        run_notebook("notebooks/01-eda.ipynb", increment_dir=increment)


def _items_link_notebooks() -> bool:
    from pytest_specweave.pytestlayer import items

    return "notebook_task" in inspect.getsource(items._linked_callable)


@pytest.mark.skipif(not _items_link_notebooks(), reason="pytestlayer/items.py does not run linked notebooks yet")
def test_tasks_that_link_notebooks_run_them_and_fail_readably(pytester):
    folder = write_increment(pytester.path, "0033-eda", {"spec.md": SPEC, "tasks.md": """
        - [ ] T-001: Data exploration — `notebooks/01-eda.ipynb`
        - [ ] T-002: Broken analysis — `notebooks/02-bad.ipynb`
        - [ ] T-003: Lost notebook — `notebooks/03-lost.ipynb`
        - [ ] T-004: Not a notebook — `notebooks/04-text.ipynb`
        """})
    (folder / "notebooks").mkdir()
    write(folder, "01-eda.ipynb", notebook(TRACKING_CELL))
    write(folder, "02-bad.ipynb", notebook("raise ValueError('the sample is empty')"))
    (folder / "notebooks" / "04-text.ipynb").write_text("just some notes", encoding="utf-8")
    result = pytester.runpytest("increments/0033", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=3)
    record = ExperimentStore(folder).find("eda")
    assert record.task == "T-001" and record.metric("rows").value == 200
    out = result.stdout.str()
    assert "tasks.md:2: notebooks/02-bad.ipynb: cell 3 of 3 failed: ValueError: the sample is empty" in out
    assert "raise ValueError('the sample is empty')" in out
    assert "tasks.md:3: notebooks/03-lost.ipynb: no such notebook" in out
    assert "tasks.md:4: notebooks/04-text.ipynb: not a notebook: invalid JSON" in out
    assert "nbclient" not in out  # one readable block, no traceback through the runner
