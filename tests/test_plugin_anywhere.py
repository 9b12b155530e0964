"""Running from anywhere: inside increments/, inside an increment, with --rootdir — the reports are never dropped."""

from __future__ import annotations

import json

import pytest

from conftest import demo_files, write_increment


@pytest.fixture
def project(pytester):
    write_increment(pytester.path, "0001-demo", demo_files(intervals=True))
    return pytester.path


def _reported(result, project, json_name="report.json"):
    """The run judged and reported: the verdict table, the summary, the JSON report."""
    result.stdout.fnmatch_lines(["*specweave: 0001-demo*", "*SM-1*accuracy > 0.8*PASS*"])
    assert (project / "increments" / "0001-demo" / "COMPLETION-SUMMARY.md").is_file()
    return json.loads((project / json_name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("where, args", [
    ("increments", ["0001-demo"]),
    ("increments", ["0001"]),
    ("increments/0001-demo", []),
    ("increments/0001-demo", ["tasks.md", "spec.md", "tests.md"]),
])
def test_a_run_from_below_the_project_root_keeps_every_report(pytester, project, monkeypatch, where, args):
    monkeypatch.chdir(project / where)
    result = pytester.runpytest(*args, "-p", "no:cacheprovider", "--sw-json", str(project / "report.json"))
    assert result.ret == 0, result.stdout.str()
    report = _reported(result, project)
    (increment,) = report["increments"]
    assert increment["name"] == "0001-demo" and increment["status"] == "passed"


def test_an_inconclusive_verdict_reads_as_such_from_inside_an_increment(pytester, project, monkeypatch):
    pipeline = project / "increments" / "0001-demo" / "pipeline.py"
    pipeline.write_text(pipeline.read_text().replace("ci=(ACCURACY - 0.02, ACCURACY + 0.02)", "ci=(0.7, 0.95)"))
    monkeypatch.chdir(project / "increments" / "0001-demo")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert "inconclusive" in result.stdout.lines[-1]


def test_done_and_update_tasks_work_from_inside_an_increment(pytester, project, monkeypatch):
    tasks = project / "increments" / "0001-demo" / "tasks.md"
    before = tasks.read_text()
    monkeypatch.chdir(project / "increments" / "0001-demo")
    result = pytester.runpytest("-p", "no:cacheprovider", "--sw-done", "--sw-update-tasks")
    # the demo has no data schema, so --sw-done's validation keeps it open: what matters is that it judged
    result.stdout.fnmatch_lines(["*specweave: 0001-demo: not complete, metadata.json unchanged: *validate-data-schema*"])
    assert tasks.read_text() != before and "[x]" in tasks.read_text()


def test_an_explicit_rootdir_and_an_ini_file_change_nothing(pytester, project, monkeypatch):
    (project / "pytest.ini").write_text("[pytest]\n")
    monkeypatch.chdir(project / "increments")
    result = pytester.runpytest("0001-demo", "-p", "no:cacheprovider", "--sw-json", str(project / "report.json"))
    _reported(result, project)
    monkeypatch.chdir(project)
    result = pytester.runpytest("increments/0001-demo", "-p", "no:cacheprovider", f"--rootdir={project / 'increments'}",
                                "--sw-json", str(project / "report.json"))
    _reported(result, project)
