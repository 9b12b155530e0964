"""The install a user makes: what the README's quick start installs is enough for a new increment's own
next steps, the build requirement builds the project, the README reads on a package index page, and
the test extras stay on CPU builds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from install_support import ROOT, Missing, closure, project, readme_first_install_extras, sandbox_venv

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
    assert re.search(r"validate-data-schema +PASS +data/sample.csv match data/schema.yaml", output), output[-3000:]


# ---------------------------------------------------------------------------------------------
# The README on a package index page


def markdown_links(text: str) -> list[str]:
    """Inline, reference-style and HTML links of a markdown text, code blocks and spans left out."""
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL))
    return (re.findall(r"\]\(([^)\s]+)\)", prose) + re.findall(r"^\s*\[[^\]]+\]:\s*(\S+)", prose, re.MULTILINE)
            + re.findall(r"(?:href|src)=\"([^\"]+)\"", prose))


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors of a markdown file's headings."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*#*$", prose, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_readme_link_is_absolute_and_names_what_the_repository_holds():
    """PyPI shows README.md as the project's page, where a relative link leads nowhere: every link
    is absolute, and each into the repository ([project.urls] Repository) names a file, folder or
    heading that exists."""
    repository = project()["project"]["urls"]["Repository"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = markdown_links(readme)
    assert links
    assert [link for link in links if not link.startswith("https://")] == []
    checked = 0
    for link in links:
        if not link.startswith(repository):
            continue
        rest, _, anchor = link[len(repository):].partition("#")
        match = re.fullmatch(r"/(blob|tree)/main/(.+)", rest)
        assert rest in ("", "/issues") or match, link
        target = ROOT / match.group(2) if match else ROOT / "README.md"
        if match:
            assert (target.is_file() if match.group(1) == "blob" else target.is_dir()), link
        if anchor:
            assert anchor in heading_anchors(target.read_text(encoding="utf-8")), link
        checked += 1
    assert checked >= 10


# ---------------------------------------------------------------------------------------------
# The build requirement


def lowest_release(requirement: Requirement) -> str:
    """The lowest release on the package index that satisfies the requirement (what an old build
    environment may hold)."""
    run = subprocess.run([sys.executable, "-m", "pip", "index", "versions", requirement.name],
                         capture_output=True, text=True, check=False)
    listed = re.search(r"^Available versions: (.+)$", run.stdout, re.MULTILINE)
    if run.returncode != 0 or not listed:
        pytest.skip(f"the package index cannot be read: {run.stderr.strip()[-300:]}")
    versions = sorted(Version(v) for v in listed.group(1).split(", "))
    return str(next(v for v in versions if requirement.specifier.contains(v)))


@pytest.mark.slow
def test_the_project_builds_with_the_lowest_setuptools_its_build_requirement_allows(tmp_path):
    """pip's isolated build, its setuptools pinned to the lowest release [build-system] accepts: the
    wheel builds and carries the license expression, the entry points and every scaffold template."""
    requires = [Requirement(r) for r in project()["build-system"]["requires"]]
    setuptools = next(r for r in requires if r.name == "setuptools")
    source = tmp_path / "source"
    shutil.copytree(ROOT / "pytest_specweave", source / "pytest_specweave",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    pinned = lowest_release(setuptools)
    (tmp_path / "constraints.txt").write_text(f"setuptools=={pinned}\n", encoding="utf-8")
    # pip up to 26.1 passes PIP_CONSTRAINT on to the build environment; newer pip reads only --build-constraint
    constraints = str(tmp_path / "constraints.txt")
    env = {**CLEAN_ENV, "PIP_CONSTRAINT": constraints, "PIP_BUILD_CONSTRAINT": constraints}
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w",
                            str(tmp_path / "dist"), str(source)], env=env, capture_output=True, text=True, check=False)
    assert build.returncode == 0, f"setuptools=={pinned}:\n{(build.stdout + build.stderr)[-3000:]}"

    (wheel,) = (tmp_path / "dist").glob("pytest_specweave-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        meta = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        generator = archive.read(f"{info}/WHEEL").decode()
    assert f"Generator: setuptools ({pinned})" in generator.splitlines()  # the pin reached the build
    assert "License-Expression: MIT" in meta.splitlines()
    assert f"Project-URL: Repository, {project()['project']['urls']['Repository']}" in meta.splitlines()
    assert "pytest_specweave = pytest_specweave.plugin" in entry_points
    assert "pytest-specweave = pytest_specweave.cli:main" in entry_points
    templates = {p.relative_to(ROOT).as_posix() for p in (ROOT / "pytest_specweave" / "scaffold" / "templates").rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    assert templates and templates <= names


# ---------------------------------------------------------------------------------------------
# XGBoost without CUDA

# (platform_system, platform_machine, a wheel tag of that platform, the distribution [xgboost] must pick)
PLATFORMS = [
    ("Linux", "x86_64", "manylinux_2_28_x86_64", "xgboost-cpu"),
    ("Linux", "aarch64", "manylinux_2_28_aarch64", "xgboost-cpu"),
    ("Windows", "AMD64", "win_amd64", "xgboost-cpu"),
    ("Darwin", "arm64", "macosx_12_0_arm64", "xgboost"),
    ("Darwin", "x86_64", "macosx_10_15_x86_64", "xgboost"),
    ("Linux", "ppc64le", None, "xgboost"),
]
SYS_PLATFORM = {"Linux": "linux", "Windows": "win32", "Darwin": "darwin"}


def xgboost_requirements(system: str, machine: str) -> list[Requirement]:
    """The requirements of the [xgboost] extra that apply on a platform."""
    environment = {"platform_system": system, "platform_machine": machine, "sys_platform": SYS_PLATFORM[system],
                   "extra": "xgboost"}
    requirements = [Requirement(r) for r in project()["project"]["optional-dependencies"]["xgboost"]]
    return [r for r in requirements if r.marker is None or r.marker.evaluate(environment)]


@pytest.mark.parametrize("system, machine, tag, distribution", PLATFORMS)
def test_the_xgboost_extra_picks_exactly_one_build_per_platform(system, machine, tag, distribution):
    """The CPU-only build where it has wheels, xgboost elsewhere; never both (they install the same
    `xgboost` module) and never neither."""
    assert [r.name for r in xgboost_requirements(system, machine)] == [distribution]


def test_the_test_and_all_extras_take_xgboost_through_the_xgboost_extra():
    optional = project()["project"]["optional-dependencies"]
    for extra in ("test", "all"):
        own = [Requirement(r) for r in optional[extra] if Requirement(r).name == project()["project"]["name"]]
        assert any("xgboost" in r.extras for r in own), extra
        assert not [r for r in optional[extra] if Requirement(r).name.startswith("xgboost")], extra


def test_with_xgboost_cpu_installed_runs_still_record_the_xgboost_version(monkeypatch):
    """xgboost-cpu installs the `xgboost` module under another distribution name: a run's packages
    (and a model card's framework_version) still name xgboost's version."""
    from importlib import metadata

    from pytest_specweave.tracking import _runinfo

    real_version = metadata.version

    def version(name):
        if name == "xgboost":
            raise metadata.PackageNotFoundError(name)
        return "3.2.0" if name == "xgboost-cpu" else real_version(name)

    monkeypatch.setattr(metadata, "version", version)
    monkeypatch.setattr(_runinfo, "_cache", {})
    assert _runinfo.distribution_version("xgboost") == "3.2.0"
    assert _runinfo.package_versions()["xgboost"] == "3.2.0"
    assert _runinfo.distribution_version("no-such-distribution-anywhere") is None


@pytest.mark.slow
@pytest.mark.parametrize("system, machine, tag, distribution", [p for p in PLATFORMS if p[2]])
def test_what_the_xgboost_extra_picks_is_a_wheel_without_nvidia_libraries(tmp_path, system, machine, tag,
                                                                         distribution):
    """pip download of the picked requirement for that platform finds a wheel, whose own requirements
    on that platform name no nvidia-* package (xgboost's Linux wheel pulls nvidia-nccl, about 470 MB)."""
    (requirement,) = xgboost_requirements(system, machine)
    requirement.marker = None
    run = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                          "--platform", tag, "--python-version", "3.10", "-d", str(tmp_path), str(requirement)],
                         env=CLEAN_ENV, capture_output=True, text=True, check=False)
    if run.returncode != 0 and "No matching distribution" not in run.stderr:
        pytest.skip(f"the package index cannot be read: {run.stderr.strip()[-300:]}")
    assert run.returncode == 0, run.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        meta = next(archive.read(n).decode() for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    environment = {"platform_system": system, "platform_machine": machine, "sys_platform": SYS_PLATFORM[system]}
    requires = [Requirement(line.split(":", 1)[1].strip()) for line in meta.splitlines()
                if line.startswith("Requires-Dist:")]
    pulled = [r.name for r in requires if r.marker is None or r.marker.evaluate({**environment, "extra": ""})]
    assert [name for name in pulled if name.startswith("nvidia")] == []
    assert {"numpy", "scipy"} <= set(pulled)  # the metadata was read: xgboost's own requirements
