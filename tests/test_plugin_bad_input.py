"""Bad input gives a message naming file, line and what was expected; nothing else stops."""

from __future__ import annotations

from conftest import demo_files, write_increment


def run(pytester, *args):
    return pytester.runpytest("increments", "-p", "no:cacheprovider", "-rA", *args)


def test_an_unreadable_threshold_is_a_failing_item_quoting_file_line_and_text(pytester):
    files = demo_files()
    files["tests.md"] = "## Evaluation Criteria\n- TC-001: accuracy >= 0.85\n- TC-002: precision > abc\n"
    write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["tests.md:3: *precision > abc*"])
    result.stdout.fnmatch_lines(["PASSED increments/0001-demo/tests.md::TC-001*"])
    assert "error" not in result.parseoutcomes()


def test_a_missing_linked_file_fails_its_task_naming_the_file_while_others_run(pytester):
    files = demo_files()
    files["tasks.md"] += "- [ ] T-006: Train more — `missing.py::train`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["tasks.md:13: linked file missing.py does not exist*"])
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["passed"] == 10


def test_a_missing_callable_fails_naming_what_the_module_defines(pytester):
    files = demo_files()
    files["tasks.md"] += "- [ ] T-006: Train more — `pipeline.py::train_more`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["tasks.md:13: pipeline.py has no callable 'train_more'; it defines: *train_model*"])


def test_a_syntax_error_in_linked_code_fails_the_tasks_naming_file_and_line(pytester):
    files = demo_files()
    files["broken.py"] = "def train(:\n    pass\n"
    files["tasks.md"] += "- [ ] T-006: Broken — `broken.py::train`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["tasks.md:13: broken.py:1: syntax error in broken.py*"])
    assert result.parseoutcomes()["passed"] == 10


def test_an_import_error_in_linked_code_shows_the_users_error(pytester):
    files = demo_files()
    files["needs.py"] = "import not_a_module_anywhere\n\ndef train():\n    pass\n"
    files["tasks.md"] += "- [ ] T-006: Needs — `needs.py::train`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["*ModuleNotFoundError: No module named 'not_a_module_anywhere'*"])
    assert result.parseoutcomes()["passed"] == 10


def test_the_same_task_id_twice_is_a_failing_item_naming_both_lines(pytester):
    files = demo_files()
    files["tasks.md"] += "- [ ] T-002: Train model again — `pipeline.py::train_model`\n"
    write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["tasks.md:4: task id T-002 is defined more than once: tasks.md:4 and tasks.md:13"])
    assert result.parseoutcomes()["failed"] >= 1
    result.stdout.fnmatch_lines(["PASSED increments/0001-demo/tasks.md::T-001*"])


def test_in_an_increment_that_tracks_nothing_duplicate_ids_merge(pytester):
    write_increment(pytester.path, "0003-docs", {
        "tasks.md": "### T-001: Write docs\nSome text.\n\n## Progress\n- [x] T-001: Write docs\n",
    })
    result = run(pytester)
    result.assert_outcomes(passed=1)


def test_empty_or_missing_tasks_and_tests_collect_nothing_without_error(pytester):
    write_increment(pytester.path, "0004-empty", {"spec.md": "# Empty\n", "tasks.md": "", "tests.md": "\n\n"})
    result = pytester.runpytest("increments", "-p", "no:cacheprovider")
    assert result.ret == 5  # no tests collected, no error
    result.stdout.fnmatch_lines(["collected 0 items", "*no tests ran in*"])
    assert "errors" not in result.outlines[-1] and "ERROR" not in result.stdout.str()


def test_a_markdown_file_in_utf16_without_a_bom_is_a_failing_item_and_the_rest_runs(pytester):
    folder = write_increment(pytester.path, "0001-demo", demo_files())
    (folder / "tests.md").write_bytes("- TC-001: accuracy > 0.8\n".encode("utf-16-le"))
    result = run(pytester)
    result.stdout.fnmatch_lines(["*tests.md:1: looks like UTF-16 text: save it as UTF-8*"])
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["passed"] == 7


def test_bytes_that_are_not_utf8_keep_every_task_and_are_warned_of(pytester):
    tasks = "- [ ] T-001: Explore \U0001F600\n- [ ] T-002: Train\n- [ ] T-003: Report\n".encode("utf-8")
    folder = write_increment(pytester.path, "0001-demo", {})
    (folder / "tasks.md").write_bytes(tasks.replace("\U0001F600".encode("utf-8"), b"\xf0\x9f\x98"))
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    assert [line for line in result.outlines if "::" in line] == [
        f"increments/0001-demo/tasks.md::T-00{n}" for n in (1, 2, 3)]
    result.stdout.fnmatch_lines(["*tasks.md:1: *SpecweaveEncodingWarning*tasks.md:1: bytes that are not UTF-8 "
                                 "(0xf0 0x9f 0x98) read as U+FFFD*"])


def test_a_broken_increment_does_not_hide_another(pytester):
    write_increment(pytester.path, "0001-demo", demo_files())
    broken = demo_files()
    broken["spec.md"] = "---\nprimary_metric: [unclosed\n---\n# Broken\n- Success metrics: accuracy > 0.8\n"
    write_increment(pytester.path, "0002-broken", broken)
    result = run(pytester)
    result.stdout.fnmatch_lines(["spec.md:*"])
    assert result.parseoutcomes()["passed"] >= 10


def test_a_session_fixture_failing_before_anything_is_tracked_still_gets_a_summary(pytester):
    folder = write_increment(pytester.path, "0001-demo", {
        "spec.md": "## ML Problem Definition\n- Success metrics: accuracy > 0.5\n",
        "plan.md": "# Plan\n",
        "tasks.md": "- [ ] T-001: Train — `pipeline.py::train`\n",
        "conftest.py": """
            import pytest

            @pytest.fixture(scope="session")
            def data():
                raise FileNotFoundError("data/train.csv is missing: run data/download.py")
            """,
        "pipeline.py": "def train(experiment, data):\n    experiment.log_metric('accuracy', 0.9)\n",
    })
    result = pytester.runpytest("increments/0001")
    result.assert_outcomes(errors=1, failed=1)
    output = result.stdout.str()
    assert "could not write the reports" not in output
    assert "data/train.csv is missing" in output
    summary = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "comparison.md" not in summary
    assert not (folder / "experiments").exists()


def test_a_link_left_open_or_outside_backticks_is_a_failing_item_not_a_pass(pytester):
    files = demo_files()
    files["tests.md"] += ("- TC-010: leakage < 0.01 — `checks.py::check_no_leakage\n"
                          "- TC-011: no leakage — checks.py::check_no_leakage\n")
    write_increment(pytester.path, "0001-demo", files)
    result = run(pytester)
    result.stdout.fnmatch_lines(["*tests.md:*: unclosed code span: expected `path.py::function`*"])
    result.stdout.fnmatch_lines(["*tests.md:*: checks.py::check_no_leakage looks like a link: put it in backticks*"])
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 2 and "error" not in outcomes


def test_a_task_or_criterion_naming_code_in_plain_text_is_skipped_with_how_to_link_it(pytester):
    files = demo_files()
    files["tasks.md"] += ("\n### T-006: Explore\n**Status**: pending\nRun pipeline.py::explore first.\n\n"
                          "- [ ] T-007: Train the model (pipeline.py:train_model)\n")
    files["tests.md"] += "- TC-012: reviewed by hand in checks.py:review\n"
    write_increment(pytester.path, "0001-demo", files)
    result = pytester.runpytest("increments/0001", "-p", "no:cacheprovider", "-rs", "--sw-no-report")
    result.stdout.fnmatch_lines([
        "*tasks.md:*: not implemented: pending, no code linked; write it as `pipeline.py::explore` (in backticks) to link it",
        "*tasks.md:*: not implemented: pending, no code linked; write it as `pipeline.py::train_model` (in backticks) to link it",
    ])
    result.stdout.fnmatch_lines(["*tests.md:*: judged by a person; write it as `checks.py::review` (in backticks) to link it"])
