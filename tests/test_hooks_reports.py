"""The report-sections and criteria-files hooks, through a real conftest.py (docs/hooks.md's examples)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import demo_files, write_increment
from hooks_docs import write_example

INCREMENT = "0001-churn"
SUMMARY = Path("increments") / INCREMENT / "COMPLETION-SUMMARY.md"
JUDGED = "exp-002-t-002-train-model"


def churn(root: Path) -> Path:
    return write_increment(root, INCREMENT, demo_files())


def run(pytester, *args, subprocess=False):
    runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    return runner("increments", "-p", "no:cacheprovider", "-rA", *args)


def outcomes(result) -> dict[str, str]:
    """node id -> PASSED/FAILED/SKIPPED, from the -rA short summary."""
    found = {}
    for line in result.stdout.lines:
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "SKIPPED", "ERROR") and rest.startswith("increments/"):
            found[rest.split(" ")[0]] = word
    return found


# -- report sections -------------------------------------------------------------------------------


def test_a_section_goes_into_the_summary_its_chart_the_json_report_and_the_step_summary(pytester, monkeypatch):
    churn(pytester.path)
    write_example(pytester.path, "report-section")
    page = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(page))
    result = run(pytester, "--sw-json", "report.json")
    assert result.ret == 0, result.stdout.str()

    summary = (pytester.path / SUMMARY).read_text(encoding="utf-8")
    section = summary[summary.index("## Review\n"):summary.index("## Tasks")]
    assert f"Judged: `{JUDGED}`" in section
    assert "| experiment | accuracy |" in section and f"| {JUDGED} | 0.900 |" in section
    assert "![review-scores](charts/review-scores.png)" in section
    assert summary.index("## Charts") < summary.index("## Review\n")
    chart = pytester.path / "increments" / INCREMENT / "charts" / "review-scores.png"
    assert chart.read_bytes().startswith(b"\x89PNG")

    [entry] = json.loads((pytester.path / "report.json").read_text())["increments"]
    assert entry["sections"] == {"Review": {"judged": JUDGED,
                                            "scores": {"exp-001-baseline-random": 0.3, JUDGED: 0.9}}}
    step = page.read_text(encoding="utf-8")
    assert f"Review of {INCREMENT}: judged `{JUDGED}`" in step
    assert step.index("### ✅ 0001-churn") < step.index("Review of") < step.index("Full report:")


def test_a_raising_implementation_is_a_warning_and_a_line_in_its_place_and_the_reports_are_written(
        pytester, monkeypatch):
    churn(pytester.path)
    pytester.makeconftest("""
        from pytest_specweave import ReportSection


        def pytest_specweave_report_sections(increment):
            raise ValueError("the review sheet is missing")


        class Budget:
            def pytest_specweave_report_sections(self, judgement):
                return [ReportSection("Budget", markdown="Spent: 3 GPU hours", json=3),
                        ReportSection("Budget", json=4)]


        def pytest_configure(config):
            config.pluginmanager.register(Budget(), "budget-plugin")
    """)
    page = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(page))
    result = run(pytester, "--sw-json", "report.json")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*SpecweaveHookWarning: pytest_specweave_report_sections in *conftest.py raised "
                                 "ValueError: the review sheet is missing*"])
    line = ("> ⚠️ A report section could not be written: pytest_specweave_report_sections in conftest.py raised "
            "ValueError: the review sheet is missing")
    summary = (pytester.path / SUMMARY).read_text(encoding="utf-8")
    assert line in summary and "## Budget\n\nSpent: 3 GPU hours\n" in summary
    assert str(pytester.path) not in summary
    assert line in page.read_text(encoding="utf-8")
    [entry] = json.loads((pytester.path / "report.json").read_text())["increments"]
    assert entry["sections"] == {"Budget": 3, "Budget (2)": 4}


def test_an_answer_that_is_no_section_is_reported_like_an_error(pytester):
    churn(pytester.path)
    pytester.makeconftest("""
        from pytest_specweave import ReportSection


        def pytest_specweave_report_sections():
            return ReportSection("Odd", json={1, 2})  # a set is not JSON
    """)
    result = run(pytester, "--sw-json", "report.json")
    assert result.ret == 0
    summary = (pytester.path / SUMMARY).read_text(encoding="utf-8")
    assert "in conftest.py raised TypeError: Object of type set is not JSON serializable" in summary
    assert "## Odd" not in summary
    assert json.loads((pytester.path / "report.json").read_text())["increments"][0]["sections"] == {}


def test_a_hook_that_adds_nothing_leaves_the_summary_byte_identical(pytester):
    churn(pytester.path)
    run(pytester)
    before = (pytester.path / SUMMARY).read_bytes()
    pytester.makeconftest("def pytest_specweave_report_sections(increment):\n    return None\n")
    run(pytester)
    assert (pytester.path / SUMMARY).read_bytes() == before
    assert b"section" not in before


# -- criteria files --------------------------------------------------------------------------------


def test_criteria_in_a_declared_file_are_collected_at_their_line_and_judged(pytester):
    churn(pytester.path)
    write_example(pytester.path, "criteria-files")
    result = run(pytester, "--sw-json", "report.json")
    acceptance = f"increments/{INCREMENT}/acceptance.md"
    found = outcomes(result)
    assert found[f"{acceptance}::TC-101"] == "PASSED"
    assert found[f"{acceptance}::TC-102"] == "PASSED"
    result.stdout.fnmatch_lines([f"SKIPPED * {acceptance}:5: not a threshold, * judged by a person"])
    assert found[f"increments/{INCREMENT}/tests.md::TC-001"] == "PASSED"
    [entry] = json.loads((pytester.path / "report.json").read_text())["increments"]
    items = {item["id"]: item for item in entry["items"]}
    assert (items["TC-101"]["kind"], items["TC-101"]["file"], items["TC-101"]["line"]) == ("criterion", acceptance, 3)
    assert items["TC-102"]["line"] == 4 and items["TC-102"]["experiment"] == JUDGED
    summary = (pytester.path / SUMMARY).read_text(encoding="utf-8")
    assert "## Evaluation Criteria (tests.md, acceptance.md)" in summary
    assert f"| TC-101 | accuracy >= 0.85 | 90% | {JUDGED} | ✅ pass" in summary
    result.stdout.fnmatch_lines(["TC-101 *accuracy ≥ 0.85 *90% *PASS*"])


def test_a_missed_or_unreadable_threshold_in_a_criteria_file_fails_naming_its_line(pytester):
    folder = churn(pytester.path)
    pytester.makeconftest("def pytest_specweave_criteria_files(increment_path):\n    return 'acceptance.md'\n")
    (folder / "acceptance.md").write_text("# Acceptance\n\n- TC-201: accuracy >= 0.95\n- TC-202: accuracy >= lots\n",
                                          encoding="utf-8")
    result = run(pytester)
    assert result.ret == 1
    assert outcomes(result)[f"increments/{INCREMENT}/acceptance.md::TC-201"] == "FAILED"
    result.stdout.fnmatch_lines(["*acceptance.md:3: accuracy = 90% * is not >= 95%*",
                                 "*acceptance.md:4: cannot read the threshold 'accuracy >= lots'*"])
    assert "Traceback" not in result.stdout.str()


def test_an_id_given_twice_across_files_is_a_failing_item_at_its_line(pytester):
    folder = churn(pytester.path)
    pytester.makeconftest("def pytest_specweave_criteria_files(increment_path):\n    return ['acceptance.md']\n")
    (folder / "acceptance.md").write_text("- TC-001: accuracy >= 0.5\n", encoding="utf-8")
    result = run(pytester)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*acceptance.md:1*TC-001 is already a criterion of tests.md:2*"])


@pytest.mark.parametrize("name", ["tests.md", "../0002-other/acceptance.md"])
def test_naming_an_own_file_or_another_folder_is_refused_without_a_traceback(pytester, name):
    churn(pytester.path)
    pytester.makeconftest(f"def pytest_specweave_criteria_files(increment_path):\n    return [{name!r}]\n")
    result = run(pytester)
    assert result.ret != 0
    result.stdout.fnmatch_lines([f"usage error: pytest_specweave_criteria_files named *{name}* for {INCREMENT}: *"])
    assert "Traceback" not in result.stdout.str() and "criteria_files.py" not in result.stdout.str()
    assert "passed" not in result.stdout.lines[-1]


def test_without_a_declaration_another_markdown_file_is_not_collected(pytester):
    folder = churn(pytester.path)
    (folder / "acceptance.md").write_text("- TC-101: accuracy >= 0.85\n", encoding="utf-8")
    result = run(pytester)
    assert not any("acceptance.md" in nodeid for nodeid in outcomes(result))


# -- pytest-xdist ----------------------------------------------------------------------------------


def _project(root: Path) -> None:
    churn(root)
    write_example(root, "criteria-files")
    hooks = (root / "conftest.py").read_text(encoding="utf-8")
    write_example(root, "report-section")
    (root / "conftest.py").write_text(hooks + "\n\n" + (root / "conftest.py").read_text(encoding="utf-8"),
                                      encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


def test_with_xdist_the_items_verdicts_and_reports_are_the_same(pytester, monkeypatch):
    seen = {}
    for mode, extra in (("one", ()), ("xdist", ("-n", "2"))):
        root = pytester.path / mode
        _project(root)
        monkeypatch.chdir(root)
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(root / "step.md"))
        result = run(pytester, "--sw-json", "report.json", *extra, subprocess=True)
        assert result.ret == 0, result.stdout.str()
        report = json.loads((root / "report.json").read_text())
        for target in report["increments"][0]["targets"]:
            target.pop("first_judged")  # when this run first judged it: the one difference wanted
        seen[mode] = (outcomes(result), report, (root / SUMMARY).read_text(encoding="utf-8"),
                      (root / "step.md").read_text(encoding="utf-8"))
    assert "acceptance.md::TC-101" in " ".join(seen["xdist"][0])
    assert seen["xdist"][0] == seen["one"][0]
    assert seen["xdist"][1] == seen["one"][1]
    assert seen["xdist"][1]["increments"][0]["sections"]["Review"]["judged"] == JUDGED
    assert "TC-101" in {target["id"] for target in seen["xdist"][1]["increments"][0]["targets"]}
    assert seen["xdist"][2] == seen["one"][2]
    assert seen["xdist"][3] == seen["one"][3]


# -- the model -------------------------------------------------------------------------------------


def test_the_model_reads_criteria_files_after_tests_md_and_refuses_its_own_names(tmp_path):
    from pytest_specweave.model.increment import Increment

    folder = write_increment(tmp_path, INCREMENT, {"tests.md": "- TC-001: accuracy >= 0.8\n",
                                                   "acceptance.md": "# A\n\n- TC-101: recall >= 0.5\n"})
    assert [c.id for c in Increment.load(folder).criteria.criteria] == ["TC-001"]
    increment = Increment.load(folder, criteria_files=["acceptance.md", "missing.md"])
    assert [(c.id, Path(c.path).name, c.line) for c in increment.criteria.criteria] == [
        ("TC-001", "tests.md", 1), ("TC-101", "acceptance.md", 3)]
    assert list(increment.criteria_lists) == ["tests.md", "acceptance.md"]
    with pytest.raises(ValueError, match="tests.md"):
        Increment.load(folder, criteria_files=["tests.md"])


# -- the command -----------------------------------------------------------------------------------

VETO = '''

def pytest_specweave_promotion_veto(record):
    return "the release board meets on Thursdays"
'''


def test_the_command_rewrites_the_summary_with_the_projects_hooks_as_pytest_wrote_it(pytester, monkeypatch, capsys):
    from pytest_specweave.cli import main

    _project(pytester.path)
    with open(pytester.path / "conftest.py", "a", encoding="utf-8") as conftest:
        conftest.write(VETO)
    pipeline = pytester.path / "increments" / INCREMENT / "pipeline.py"
    pipeline.write_text(pipeline.read_text(encoding="utf-8").replace(
        'experiment.log_param("C", 1.0)',
        'experiment.log_param("C", 1.0)\n    experiment.save_artifact({"weights": [1, 2]}, "model.pkl")'), encoding="utf-8")
    assert run(pytester).ret == 0
    summary = pytester.path / SUMMARY
    written = summary.read_text(encoding="utf-8")
    assert "acceptance.md" in written and "## Review" in written and "**vetoed**" in written
    summary.unlink()
    monkeypatch.chdir(pytester.path)
    assert main(["summary"]) == 0
    again = summary.read_text(encoding="utf-8")
    assert not (pytester.path / "increments" / INCREMENT / "models").exists()  # the veto holds for the command too
    assert "vetoed by conftest.py: the release board meets on Thursdays" in capsys.readouterr().out
    hooked = [line for line in written.splitlines()  # what the hooks put there (a linked check's row needs a session)
              if line.startswith(("| TC-10", "## Review", "Review of", "- Promotion:", "## Evaluation Criteria", "| SM-"))]
    assert len(hooked) >= 6
    assert hooked == [line for line in again.splitlines() if line in hooked]


def test_a_project_conftest_the_command_cannot_import_is_one_line_naming_it(pytester, monkeypatch, capsys):
    from pytest_specweave.cli import main

    churn(pytester.path)
    (pytester.path / "conftest.py").write_text(
        "import no_such_module_here\n\n\ndef pytest_specweave_report_sections():\n    return []\n", encoding="utf-8")
    monkeypatch.chdir(pytester.path)
    assert main(["summary"]) == 2
    said = capsys.readouterr()
    assert said.err.strip() == ("pytest-specweave: conftest.py could not be imported to read its pytest_specweave "
                                "hooks: ModuleNotFoundError: No module named 'no_such_module_here'")
    assert "Traceback" not in said.out + said.err
    assert not (pytester.path / "increments" / INCREMENT / "COMPLETION-SUMMARY.md").exists()
