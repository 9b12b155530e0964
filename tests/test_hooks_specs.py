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


def test_each_implementation_is_called_on_its_own_and_one_that_raises_is_a_warning_naming_it(pytester):
    pytester.makeconftest(
        "def pytest_specweave_promotion_notes(record):\n"
        "    return 'from conftest: ' + record\n"
    )
    pytester.makepyfile(test_a=(
        "import pytest\n"
        "from pytest_specweave.errors import SpecweaveHookWarning\n"
        "from pytest_specweave.pytestlayer import hook_calls\n"
        "\n"
        "class Broken:\n"
        "    def pytest_specweave_promotion_notes(self, judgement):\n"
        "        raise RuntimeError('rule file missing')\n"
        "\n"
        "def test_calls(pytestconfig):\n"
        "    assert hook_calls.implemented(pytestconfig, 'pytest_specweave_promotion_notes')\n"
        "    assert not hook_calls.implemented(pytestconfig, 'pytest_specweave_report_sections')\n"
        "    pytestconfig.pluginmanager.register(Broken(), 'broken')\n"
        "    with pytest.warns(SpecweaveHookWarning, match='pytest_specweave_promotion_notes in broken raised "
        "RuntimeError: rule file missing'):\n"
        "        answers = hook_calls.call_each(pytestconfig, 'pytest_specweave_promotion_notes',\n"
        "                                       increment_path=None, record='r1', judgement=None)\n"
        "    assert answers == ['from conftest: r1']\n"
        "    with pytest.warns(SpecweaveHookWarning):\n"
        "        first = hook_calls.call_first(pytestconfig, 'pytest_specweave_promotion_notes',\n"
        "                                      increment_path=None, record='r2', judgement=None)\n"
        "    assert first[0] == 'from conftest: r2' and first[1].endswith('conftest.py')\n"
    ))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
