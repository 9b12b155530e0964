"""Collecting an increment reads its linked code's source and imports nothing: --co, -m "not sw_task"
and an IDE re-discovering tests never pay for (or run) a pipeline's imports; the task imports it when it runs."""

from __future__ import annotations

import pytest

from conftest import demo_files, write_increment

IMPORTED = "imported.txt"


def _files() -> dict[str, str]:
    """The demo increment; importing pipeline.py or checks.py leaves a marker file (and a module-scoped fixture)."""
    files = demo_files()
    for module in ("pipeline.py", "checks.py"):
        files[module] = (f"import pathlib\n\npathlib.Path(__file__).parent.joinpath({IMPORTED!r}).open('a')"
                         f".write({module!r} + '\\n')\n" + files[module])
    files["conftest.py"] += ('\n\n@pytest.fixture(scope="module")\ndef offset():\n    return 1\n')
    files["pipeline.py"] += "\n\ndef shifted(experiment, offset, numbers):\n    assert offset + numbers[0] == 2\n"
    files["tasks.md"] += "- [ ] T-006: Shifted — `pipeline.py::shifted`\n"
    return files


@pytest.mark.parametrize("args", [("--co", "-q"), ("-m", "not sw_task"), ("--co", "-q", "-m", "sw_task")])
def test_collecting_imports_no_linked_module(pytester, args):
    folder = write_increment(pytester.path, "0001-demo", _files())
    result = pytester.runpytest_subprocess("increments", "-p", "no:cacheprovider", *args)
    imported = (folder / IMPORTED).read_text().split() if (folder / IMPORTED).exists() else []
    if "--co" in args:
        assert result.ret == 0 and imported == [], result.stdout.str()
        result.stdout.fnmatch_lines(["*tasks.md::T-002*", "*tasks.md::T-006*"])
    else:  # the criteria run: the check they link is imported, the pipeline is not
        assert imported == ["checks.py"], result.stdout.str()


def test_a_pipeline_raising_at_import_is_collected_and_fails_its_tasks_when_they_run(pytester):
    files = _files()
    files["pipeline.py"] = 'raise RuntimeError("imported!")\n\n' + files["pipeline.py"]
    write_increment(pytester.path, "0001-demo", files)
    collected = pytester.runpytest_subprocess("increments", "-p", "no:cacheprovider", "--co", "-q")
    assert collected.ret == 0, collected.stdout.str()
    collected.stdout.fnmatch_lines(["*tasks.md::T-001", "*tasks.md::T-006"])
    ran = pytester.runpytest_subprocess("increments", "-p", "no:cacheprovider", "-rA")
    ran.stdout.fnmatch_lines(["*RuntimeError: imported!*"])
    assert "FAILED increments/0001-demo/tasks.md::T-001" in ran.stdout.str()


def test_running_imports_the_linked_code_and_injects_its_fixtures(pytester):
    folder = write_increment(pytester.path, "0001-demo", _files())
    result = pytester.runpytest_subprocess("increments", "-p", "no:cacheprovider", "-rA", "--setup-show")
    result.stdout.fnmatch_lines(["PASSED increments/0001-demo/tasks.md::T-002*",
                                 "PASSED increments/0001-demo/tasks.md::T-006*",
                                 "PASSED increments/0001-demo/tests.md::TC-003*"])
    assert "SETUP    M offset" in result.stdout.str() and "SETUP    S numbers" in result.stdout.str()
    assert sorted((folder / IMPORTED).read_text().split()) == ["checks.py", "pipeline.py"]


@pytest.mark.parametrize("source, message", [
    ("def train():\n    pass\n", "*tasks.md:13: pipeline2.py has no callable 'missing'; it defines: train*"),
    ("missing = 3\n", "*tasks.md:13: pipeline2.py::missing is an int, not a function*"),
    ("def broken(:\n", "*tasks.md:13: *syntax error in pipeline2.py*"),
])
def test_a_bad_link_is_told_without_importing_the_module(pytester, source, message):
    files = demo_files()
    files["pipeline2.py"] = f"open('imported.txt', 'w').close()\n\n{source}"
    files["tasks.md"] += "- [ ] T-006: Bad — `pipeline2.py::missing`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = pytester.runpytest("increments", "-p", "no:cacheprovider", "-rA")
    result.stdout.fnmatch_lines([message])
    assert not (pytester.path / "imported.txt").exists()
