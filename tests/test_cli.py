"""The pytest-specweave command: list, summary, compare."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from conftest import demo_files, write_increment
from pytest_specweave.cli import main


def test_list_json_gives_every_task_criterion_and_metric_with_file_line_and_link(tmp_path, monkeypatch, capsys):
    write_increment(tmp_path, "0001-demo", demo_files())
    monkeypatch.chdir(tmp_path)
    assert main(["list", "increments/0001", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["T-001", "T-002", "T-003", "T-004", "T-005",
                                       "TC-001", "TC-002", "TC-003", "SM-1", "SM-2", "SM-3"]
    first = rows[0]
    assert first == {"increment": "0001-demo", "kind": "task", "id": "T-001", "title": "Train baseline",
                     "status": "pending", "file": "increments/0001-demo/tasks.md", "line": 3,
                     "link": "pipeline.py::train_baseline",
                     "node_id": "increments/0001-demo/tasks.md::T-001"}
    by_id = {r["id"]: r for r in rows}
    assert by_id["T-003"]["status"] == "done" and by_id["T-003"]["link"] == "pipeline.py::measure"
    assert by_id["T-004"]["status"] == "done" and by_id["T-004"]["link"] is None
    assert by_id["TC-003"]["kind"] == "criterion" and by_id["TC-003"]["status"] is None
    assert by_id["SM-1"] == {"increment": "0001-demo", "kind": "metric", "id": "SM-1",
                             "title": "accuracy > 0.8", "status": None,
                             "file": "increments/0001-demo/spec.md", "line": 8, "link": None,
                             "node_id": "increments/0001-demo/spec.md::SM-1"}


def test_list_reads_a_specweave_project_in_every_status_spelling(tmp_path, monkeypatch, capsys):
    write_increment(tmp_path, "0010-sync", {"tasks.md": """
        # Tasks

        ### T-001: Parse config ✅
        Some details.

        ### T-002: Write sync
        **Status**: [~] in_progress

        ### T-003: Drop legacy path
        **Status**: [-] canceled

        ### T-004: Docs
        **Status**: Not Started

        ### T-005: Release
        - [x] Completed

        ```markdown
        ### T-999: an example inside a fence
        ```
    """}, where=".specweave/increments")
    monkeypatch.chdir(tmp_path)
    assert main(["list", ".specweave/increments", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["status"]) for r in rows if r["kind"] == "task"] == [
        ("T-001", "done"), ("T-002", "in_progress"), ("T-003", "canceled"), ("T-004", "pending"), ("T-005", "done")]
    assert [(r["kind"], r["title"], r["reason"]) for r in rows if r["kind"] != "task"] == [
        ("skipped", "### T-999: an example inside a fence", "inside a code fence: not read as a task")]


def test_list_of_an_unknown_prefix_names_the_increments(tmp_path, monkeypatch, capsys):
    write_increment(tmp_path, "0001-demo", demo_files())
    monkeypatch.chdir(tmp_path)
    assert main(["list", "increments/0009"]) == 2
    err = capsys.readouterr().err
    assert "0009" in err and "0001-demo" in err


def test_summary_and_compare_work_from_the_store_without_training(pytester):
    folder = write_increment(pytester.path, "0001-demo", demo_files())
    pytester.runpytest("increments", "-p", "no:cacheprovider", "--sw-no-report").assert_outcomes(passed=10, skipped=1)
    assert not (folder / "COMPLETION-SUMMARY.md").exists()
    run = subprocess.run([sys.executable, "-m", "pytest_specweave", "summary", "increments/0001"],
                         cwd=pytester.path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "COMPLETION-SUMMARY.md" in run.stdout
    assert "ALL GATES PASSED" in (folder / "COMPLETION-SUMMARY.md").read_text()
    compare = subprocess.run([sys.executable, "-m", "pytest_specweave", "compare", "increments/0001"],
                             cwd=pytester.path, capture_output=True, text=True)
    assert compare.returncode == 0, compare.stderr
    assert "exp-002-t-002-train-model ✅ BEST" in compare.stdout
    assert "| exp-001-baseline-random | baseline | succeeded | 30% |" in compare.stdout


def test_list_keeps_the_tasks_of_a_file_with_bytes_that_are_not_utf8_and_warns(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "increments" / "0001-demo"
    folder.mkdir(parents=True)
    (folder / "tasks.md").write_bytes(b"- [ ] T-001: Explore \xf0\x9f\x98\n- [ ] T-002: Train\n")
    monkeypatch.chdir(tmp_path)
    assert main(["list", "increments/0001"]) == 0
    out, err = capsys.readouterr()
    assert "T-001" in out and "T-002" in out
    expected = "tasks.md:1: bytes that are not UTF-8 (0xf0 0x9f 0x98) read as U+FFFD"
    assert err.startswith("pytest-specweave: warning: ") and expected in err


def test_list_names_a_task_mention_it_did_not_read_as_a_task(tmp_path):
    tasks = "### T-001: Train\n**Status**: [x] completed\n\n## Next phase\nPreview:\n- T-009: Serve the model\n"
    write_increment(tmp_path, "0002G-imported-item", {"tasks.md": tasks})
    run = subprocess.run([sys.executable, "-m", "pytest_specweave", "list", "--json", "increments"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [(r["increment"], r["id"], r["status"]) for r in rows if r["kind"] == "task"] == [
        ("0002G-imported-item", "T-001", "done")]
    skipped = [(r["file"], r["line"], r["title"]) for r in rows if r["kind"] == "skipped"]
    assert skipped == [("increments/0002G-imported-item/tasks.md", 6, "- T-009: Serve the model")]
    assert [r["reason"] for r in rows if r["kind"] == "skipped"][0].startswith(
        "`- T-009: …` is a list item without a checkbox")


def test_list_names_the_folders_it_leaves_out(tmp_path):
    write_increment(tmp_path, "0001-live", {"tasks.md": "- [ ] T-001: Train\n"})
    write_increment(tmp_path, "0000-old", {"tasks.md": "- [x] T-001: Old\n"}, where="increments/_archive")
    write_increment(tmp_path, "INC-002-misnamed", {"tasks.md": "- [ ] T-001: Lost\n"})
    run = subprocess.run([sys.executable, "-m", "pytest_specweave", "list", "--json", "increments"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [r["increment"] for r in rows if r["kind"] == "task"] == ["0001-live"]
    assert [(r["file"], r["reason"]) for r in rows if r["kind"] == "skipped"] == [
        ("increments/INC-002-misnamed",
         "holds tasks.md but is not named NNNN-slug (it does not start with a four-digit number)"),
        ("increments/_archive", "1 archived increment (name one to run it)")]


def _command(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed `pytest-specweave` script, run in `cwd`."""
    script = shutil.which("pytest-specweave", path=str(Path(sys.executable).parent)) or shutil.which("pytest-specweave")
    assert script, "the pytest-specweave script is not installed"
    return subprocess.run([script, *args], cwd=cwd, capture_output=True, text=True)


def test_version_prints_the_installed_version(tmp_path):
    run = _command("--version", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"pytest-specweave {version('pytest-specweave')}\n"


def test_list_without_a_path_finds_the_project_from_any_folder_below_it(tmp_path):
    write_increment(tmp_path, "0001-demo", demo_files())
    write_increment(tmp_path, "0002-next", {"tasks.md": "- [ ] T-001: Explore\n"})
    deep = tmp_path / "increments" / "0001-demo" / "data" / "raw"
    deep.mkdir(parents=True)
    for cwd, increments in [(tmp_path, {"0001-demo", "0002-next"}),
                            (tmp_path / "increments", {"0001-demo", "0002-next"}),
                            (deep, {"0001-demo"})]:  # inside an increment: that increment
        run = _command("list", "--json", cwd=cwd)
        assert run.returncode == 0, run.stderr
        assert {row["increment"] for row in json.loads(run.stdout)} == increments, cwd


def test_list_without_a_path_finds_a_specweave_layout_above(tmp_path):
    write_increment(tmp_path, "0007-sync", {"tasks.md": "- [ ] T-001: Parse\n"}, where=".specweave/increments")
    (tmp_path / "src").mkdir()
    run = _command("list", cwd=tmp_path / "src")
    assert run.returncode == 0, run.stderr
    assert "T-001" in run.stdout and "Parse" in run.stdout


def test_list_without_a_path_outside_any_project_says_what_it_looked_for(tmp_path):
    run = _command("list", cwd=tmp_path)
    assert run.returncode == 2
    assert "no increments/ or .specweave/increments/" in run.stderr and "Traceback" not in run.stderr


def _collected_node_ids(cwd: Path) -> list[str]:
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                         cwd=cwd, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return [line for line in run.stdout.splitlines() if "::" in line]


@pytest.mark.parametrize("config", [None, "pyproject.toml", "pytest.ini"])
def test_list_json_node_ids_are_those_pytest_collects_from_the_same_folder(tmp_path, config):
    write_increment(tmp_path, "0001-demo", demo_files())
    write_increment(tmp_path, "0002-next", {"tasks.md": "- [ ] T-001: Explore\n"})
    if config == "pyproject.toml":
        (tmp_path / config).write_text("[project]\nname = 'x'\n")
    elif config == "pytest.ini":
        (tmp_path / config).write_text("[pytest]\n")
    for cwd in (tmp_path, tmp_path / "increments"):
        run = _command("list", "--json", cwd=cwd)
        assert run.returncode == 0, run.stderr
        listed = [row["node_id"] for row in json.loads(run.stdout)]
        collected = _collected_node_ids(cwd)
        assert len(collected) == 12
        assert sorted(listed) == sorted(collected), (cwd, listed, collected)
    inside = _command("list", "--json", "0001-demo", cwd=tmp_path / "increments")
    first = json.loads(inside.stdout)[0]["node_id"]
    assert first == ("0001-demo/tasks.md::T-001" if config is None else "increments/0001-demo/tasks.md::T-001")
