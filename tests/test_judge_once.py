"""Each increment is judged once at the end of a run (and once per CLI command): the modes and the reports
share one IncrementJudgement instead of each building its own JudgeContext."""

from __future__ import annotations

import json

import pytest

from modes_support import write_complete
from pytest_specweave.cli import main
from pytest_specweave.evaluation.judge import JudgeContext
from pytest_specweave.pytestlayer import session as session_module


@pytest.fixture
def contexts_built(monkeypatch):
    """The increments (folder names) JudgeContext.for_increment was built for, with when: "items" while the
    items ran (each worker or in-process session judges its own items, as it must), "finish" while the
    controller finished the session (the modes and the reports)."""
    built: list[tuple[str, str]] = []
    phase = ["items"]
    original = JudgeContext.for_increment.__func__

    def counting(cls, increment):
        built.append((phase[0], increment.path.name))
        return original(cls, increment)

    finish = session_module.finish_session

    def finishing(config, reports):
        phase[0] = "finish"
        try:
            return finish(config, reports)
        finally:
            phase[0] = "items"

    monkeypatch.setattr(JudgeContext, "for_increment", classmethod(counting))
    monkeypatch.setattr(session_module, "finish_session", finishing)
    return built


def test_the_controller_judges_each_increment_once_for_the_modes_and_the_reports(pytester, contexts_built):
    first = write_complete(pytester.path, "0001-churn")
    second = write_complete(pytester.path, "0002-churn")
    # In process (runpytest, no xdist), so that the counter sees the plugin's calls; the items judge themselves
    # while they run (through items.judge_context), so only the calls made while the session finished are counted.
    result = pytester.runpytest("increments", "-p", "no:cacheprovider", "--sw-done", "--sw-sync-docs",
                                "--sw-json", "out.json")
    result.assert_outcomes(passed=30)
    finished = sorted(name for when, name in contexts_built if when == "finish")
    assert finished == ["0001-churn", "0002-churn"]
    assert any(when == "items" for when, _ in contexts_built)  # the counter saw the items too: it is in place
    # and every mode and report that needs the judgement was written from it
    for folder in (first, second):
        assert "COMPLETE" in (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
        assert (folder / "experiments" / "comparison.md").is_file()
        assert (folder / "models" / "model-v1.metadata.json").is_file()
        assert json.loads((folder / "metadata.json").read_text(encoding="utf-8"))["status"] == "completed"
    assert len(list((pytester.path / "docs" / "architecture" / "adr").glob("*-algorithm.md"))) == 2
    report = json.loads((pytester.path / "out.json").read_text(encoding="utf-8"))
    assert [(i["name"], i["judged_experiment"], i["primary_metric"]) for i in report["increments"]] == [
        ("0001-churn", "exp-002-t-002-train-model", "accuracy"), ("0002-churn", "exp-002-t-002-train-model", "accuracy")]


def test_the_summary_and_compare_commands_judge_each_increment_once(pytester, contexts_built, capsys):
    write_complete(pytester.path, "0001-churn")
    pytester.runpytest("increments", "-p", "no:cacheprovider", "--sw-no-report").assert_outcomes(passed=9)
    contexts_built.clear()
    assert main(["summary", str(pytester.path / "increments")]) == 0
    assert contexts_built == [("items", "0001-churn")]  # "items": outside a pytest session
    contexts_built.clear()
    assert main(["compare", str(pytester.path / "increments")]) == 0
    assert contexts_built == [("items", "0001-churn")]
    assert "exp-002-t-002-train-model ✅ BEST" in capsys.readouterr().out
