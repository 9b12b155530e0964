"""The plugin's hook specifications: registered for every run, and checked by pytest as its own are."""

from __future__ import annotations

import pytest

HOOKS = ("pytest_specweave_metrics", "pytest_specweave_criteria_files", "pytest_specweave_verdict",
         "pytest_specweave_promotion_veto", "pytest_specweave_promotion_notes", "pytest_specweave_report_sections",
         "pytest_specweave_experiment_finished")


def test_every_hook_is_registered_with_pytest(pytestconfig):
    for name in HOOKS:
        caller = getattr(pytestconfig.hook, name)
        assert caller.spec is not None, name
    assert pytestconfig.hook.pytest_specweave_promotion_veto.spec.opts["firstresult"]
    assert not pytestconfig.hook.pytest_specweave_verdict.spec.opts["firstresult"]


def test_a_misspelt_hook_in_a_conftest_is_refused_by_name(pytester):
    pytester.makeconftest("def pytest_specweave_verdicts(verdict):\n    pass\n")
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    assert "unknown hook 'pytest_specweave_verdicts'" in result.stdout.str() + result.stderr.str()


def test_an_argument_the_hook_does_not_have_is_refused(pytester):
    pytester.makeconftest("def pytest_specweave_verdict(verdict, outcome):\n    pass\n")
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*pytest_specweave_verdict*outcome*"])


def test_the_hook_specifications_import_nothing_but_pytest():
    import ast
    from pathlib import Path

    import pytest_specweave.hookspecs as hookspecs

    tree = ast.parse(Path(hookspecs.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert imported <= {"pytest", "__future__"}
