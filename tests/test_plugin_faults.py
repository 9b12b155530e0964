"""Faults in linked code and in the run: each is one failing item naming file and line; the rest runs.

Nothing the plugin runs or writes leaves the project; nothing passes without having run.
"""

from __future__ import annotations

import json
import os

import pytest

from conftest import demo_files, write_increment


def run(pytester, *args):
    return pytester.runpytest("increments", "-p", "no:cacheprovider", "-rA", *args)


def _experiment_meta(folder, task: str) -> dict:
    """meta.json of the experiment the task's `experiment` fixture opened."""
    for meta in (folder / "experiments").glob("*/meta.json"):
        data = json.loads(meta.read_text(encoding="utf-8"))
        if data.get("task") == task:
            return data
    raise AssertionError(f"no experiment of {task}")


# --- links outside the project ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["absolute", "climbing", "symlink"])
def test_a_link_outside_the_project_is_a_failing_item_and_its_code_never_runs(pytester, tmp_path_factory, kind):
    outside = tmp_path_factory.mktemp("elsewhere") / "evil.py"
    marker = outside.parent / "ran.txt"
    outside.write_text(f"def f():\n    open({str(marker)!r}, 'w').close()\n\nopen({str(marker)!r}, 'w').close()\n")
    files = demo_files()
    if kind == "absolute":
        target = str(outside)
    elif kind == "climbing":
        target = os.path.relpath(outside, pytester.path / "increments" / "0001-demo")
    else:
        target = "linked.py"
    files["tasks.md"] += f"- [ ] T-006: Elsewhere — `{target}::f`\n"
    folder = write_increment(pytester.path, "0001-demo", files)
    if kind == "symlink":
        (folder / "linked.py").symlink_to(outside)
    result = run(pytester)
    result.stdout.fnmatch_lines([f"*tasks.md:13: link {target} resolves outside the project*"])
    assert not marker.exists()
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["passed"] == 10


def test_a_link_to_a_file_of_the_project_outside_the_increment_still_runs(pytester):
    files = demo_files()
    files["tasks.md"] += "- [ ] T-006: Shared — `shared/steps.py::step`\n"
    write_increment(pytester.path, "0001-demo", files)
    (pytester.path / "shared").mkdir()
    (pytester.path / "shared" / "steps.py").write_text("def step():\n    pass\n")
    result = run(pytester)
    result.stdout.fnmatch_lines(["PASSED increments/0001-demo/tasks.md::T-006*"])


# --- sys.exit, SystemExit, KeyboardInterrupt -------------------------------------------------------------


def test_a_module_calling_sys_exit_at_import_is_one_failing_item_and_the_rest_runs(pytester):
    files = demo_files()
    files["quits.py"] = "import sys\n\nsys.exit(1)\n\ndef train():\n    pass\n"
    files["tasks.md"] += "- [ ] T-006: Quits — `quits.py::train`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["*tasks.md:13: quits.py called sys.exit(1) while being imported*"])
    assert result.ret == 1
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["passed"] == 10


def test_system_exit_inside_a_task_fails_that_task_only(pytester):
    files = demo_files()
    files["pipeline.py"] += "\n\ndef quits(experiment):\n    raise SystemExit(2)\n"
    files["tasks.md"] += "- [ ] T-006: Quits — `pipeline.py::quits`\n"
    folder = write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["FAILED increments/0001-demo/tasks.md::T-006*"])
    assert result.ret == 1
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["passed"] == 10
    assert _experiment_meta(folder, "T-006")["status"] == "failed"


def test_keyboard_interrupt_at_import_still_interrupts_the_session(pytester):
    files = demo_files()
    files["stops.py"] = "raise KeyboardInterrupt\n\ndef train():\n    pass\n"
    files["tasks.md"] += "- [ ] T-006: Stops — `stops.py::train`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = pytester.runpytest_subprocess("increments", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert "INTERNALERROR" not in result.stdout.str()


# --- async tasks ------------------------------------------------------------------------------------


def test_an_async_task_is_run_and_its_side_effect_happens(pytester):
    files = demo_files()
    files["pipeline.py"] += (
        "\n\nimport asyncio\n\n\nasync def fetch(experiment):\n    await asyncio.sleep(0)\n"
        "    experiment.log_metric('rows', 42)\n    open('fetched.txt', 'w').close()\n")
    files["tasks.md"] += "- [ ] T-006: Fetch — `pipeline.py::fetch`\n"
    folder = write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["PASSED increments/0001-demo/tasks.md::T-006*"])
    assert (pytester.path / "fetched.txt").exists()
    assert "never awaited" not in result.stdout.str()
    meta = _experiment_meta(folder, "T-006")
    assert meta["status"] == "succeeded"
    assert "rows" in (folder / "experiments" / meta["folder"] / "metrics.json").read_text(encoding="utf-8")


def test_an_async_task_that_fails_fails(pytester):
    files = demo_files()
    files["pipeline.py"] += "\n\nasync def broken():\n    assert 1 == 2\n"
    files["tasks.md"] += "- [ ] T-006: Broken — `pipeline.py::broken`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["FAILED increments/0001-demo/tasks.md::T-006*"])


def test_an_async_task_inside_a_running_event_loop_fails_saying_so(pytester):
    files = demo_files()
    files["pipeline.py"] += "\n\nasync def fetch():\n    pass\n"
    files["tasks.md"] += "- [ ] T-006: Fetch — `pipeline.py::fetch`\n"
    write_increment(pytester.path, "0001-demo", files)
    pytester.makeconftest("""
        import asyncio
        import pytest

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_call(item):
            if item.name != "T-006":
                return (yield)
            async def inside():
                item.runtest()
            asyncio.run(inside())
            return (yield)
    """)
    result = run(pytester)
    result.stdout.fnmatch_lines(["*tasks.md:13: *event loop is already running*"])
    assert "never awaited" not in result.stdout.str()


# --- links to what is not a function --------------------------------------------------------------------


def test_links_to_names_that_are_not_functions_fail_at_their_lines_and_later_tasks_run(pytester):
    files = demo_files()
    files["pipeline.py"] = "from os import getcwd\nfrom fractions import Fraction\n\nLIMIT = 3\nminimum = min\n\n" + files["pipeline.py"]
    files["tasks.md"] = files["tasks.md"].replace(
        "- [ ] T-002:", "- [ ] T-020: Limit — `pipeline.py::LIMIT`\n- [ ] T-021: Cwd — `pipeline.py::getcwd`\n"
                        "- [ ] T-022: Ratio — `pipeline.py::Fraction`\n- [ ] T-023: Least — `pipeline.py::minimum`\n"
                        "- [ ] T-002:")
    write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["*tasks.md:4: pipeline.py::LIMIT is an int, not a function*"])
    result.stdout.fnmatch_lines(["PASSED increments/0001-demo/tasks.md::T-021*"])  # an imported function runs
    result.stdout.fnmatch_lines(["PASSED increments/0001-demo/tasks.md::T-022*"])  # so does a class
    result.stdout.fnmatch_lines(["PASSED increments/0001-demo/tasks.md::T-002*"])
    assert "cannot be read" not in result.stdout.str()
    outcomes = result.parseoutcomes()
    result.stdout.fnmatch_lines(["*tasks.md:7: pytest cannot read the signature of pipeline.py::minimum*"])
    assert outcomes["passed"] == 12 and outcomes["failed"] == 2


# --- the experiment of a failed task -----------------------------------------------------------------


def test_a_task_that_fails_after_running_records_its_experiment_as_failed(pytester):
    files = demo_files()
    files["pipeline.py"] += (
        "\n\ndef words(experiment):\n    return {'accuracy': 'high'}\n"
        "\n\ndef late(experiment):\n    experiment.log_metric('accuracy', 0.7)\n    assert False, 'checked after logging'\n")
    files["tasks.md"] += "- [ ] T-006: Words — `pipeline.py::words`\n- [ ] T-007: Late — `pipeline.py::late`\n"
    folder = write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    assert result.parseoutcomes()["failed"] == 2
    assert _experiment_meta(folder, "T-006")["status"] == "failed"
    assert _experiment_meta(folder, "T-007")["status"] == "failed"
    assert _experiment_meta(folder, "T-002")["status"] == "succeeded"


def test_a_task_that_removes_its_store_fails_saying_so_without_a_plugin_traceback(pytester):
    files = demo_files()
    files["pipeline.py"] += (
        "\n\nimport shutil\n\n\ndef wipe(experiment, increment):\n"
        "    experiment.log_metric('rows', 1)\n    shutil.rmtree(increment.path / 'experiments')\n")
    files["tasks.md"] += "- [ ] T-006: Wipe — `pipeline.py::wipe`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["*tasks.md:13: the experiment store was removed while the task ran*"])
    output = result.stdout.str()
    assert "error" not in result.parseoutcomes(), output
    assert "pytest_specweave" not in output.replace("pytest_specweave_increments", ""), output


# --- the JSON report ------------------------------------------------------------------------------------


def test_the_json_report_has_no_bare_nan_or_infinity(pytester):
    files = demo_files()
    files["pipeline.py"] = files["pipeline.py"].replace(
        'return {"accuracy": ACCURACY}', 'experiment.log_metric("accuracy", float("nan"))\n'
        '    experiment.log_metric("loss", float("inf"))')
    write_increment(pytester.path, "0001-demo", files)
    run(pytester, "--sw-json", "report.json")
    text = (pytester.path / "report.json").read_text(encoding="utf-8")
    report = json.loads(text, parse_constant=lambda token: pytest.fail(f"bare {token} in the JSON report"))
    entry = report["increments"][0]
    assert entry["experiments"], entry
    logged = [e for e in entry["experiments"] if e["task"] == "T-002"][0]
    assert logged["metrics"]["loss"] == "Infinity" and logged["metrics"]["accuracy"] == "NaN"
