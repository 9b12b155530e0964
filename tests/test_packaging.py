"""The install a user makes: what the README's quick start installs is enough for a new increment's own
next steps, the build requirement builds the project, the README reads on a package index page, and
the test extras stay on CPU builds."""

from __future__ import annotations

import os
import subprocess

import pytest

from install_support import Missing, closure, readme_first_install_extras, sandbox_venv

pytest.importorskip("tomllib")

NEW_FIRST = "classification"  # one type in the default run; all four under -m examples
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


@pytest.fixture(scope="module")
def readme_venv(tmp_path_factory):
    """A venv holding only what the README's first command installs (from this environment's versions)."""
    extras = readme_first_install_extras()
    try:
        distributions = closure(extras)
    except Missing as missing:
        pytest.skip(f"{missing} (needed by .[{','.join(extras)}]) is not installed here")
    return sandbox_venv(tmp_path_factory.mktemp("readme-venv") / "venv", distributions)


def test_the_readme_venv_holds_only_what_its_first_command_installs(readme_venv):
    """The sandbox is real: test-only libraries are absent, the project and its entry points present."""
    code = ("import importlib.util as u, importlib.metadata as m; "
            "print([n for n in ('hypothesis', 'xdist', 'mlflow', 'torch', 'shap') if u.find_spec(n)]); "
            "print('pytest_specweave' in {e.name for e in m.entry_points(group='pytest11')})")
    run = subprocess.run([str(readme_venv), "-I", "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.splitlines() == ["[]", "True"]


@pytest.mark.parametrize("problem_type", [
    NEW_FIRST,
    *(pytest.param(t, marks=pytest.mark.examples) for t in ("regression", "forecasting", "recommendation")),
])
def test_a_new_increment_passes_its_next_steps_with_what_the_readme_installs(readme_venv, tmp_path, problem_type):
    """`pytest-specweave new`'s "Next:" commands, run as printed, pass with only the README's first
    install: the data/schema.yaml check (pandera) included."""
    new = subprocess.run([str(readme_venv), "-m", "pytest_specweave", "new", "Churn", "--type", problem_type],
                         cwd=tmp_path, env=CLEAN_ENV, capture_output=True, text=True, check=False)
    assert new.returncode == 0, new.stderr
    steps = [line.strip() for line in new.stdout.split("\nNext:\n")[1].splitlines() if line.startswith("  pytest ")]
    assert steps == ["pytest increments/0001-churn", "pytest increments/0001-churn --sw-validate"]
    for step in steps:
        run = subprocess.run([str(readme_venv), "-m", *step.split(), "-p", "no:cacheprovider"],
                             cwd=tmp_path, env=CLEAN_ENV, capture_output=True, text=True, check=False)
        output = run.stdout + run.stderr
        assert run.returncode == 0, f"{step}:\n{output[-3000:]}"
    assert "validate-data-schema         PASS  data/sample.csv match data/schema.yaml" in output
