"""What an install of the project with some extras holds, and a virtual environment holding only that.

`closure(extras)` follows pyproject.toml's dependencies and the named extras through the installed
distributions' own requirements (their environment markers evaluated), the way pip resolves them;
`sandbox_venv` makes a fresh virtual environment (no system site-packages) and links into it only the
files of those distributions, plus the project as an editable install would: a path entry and a
dist-info with its entry points. What is not in the closure is not importable there.
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import venv
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def project() -> dict:
    import tomllib  # Python 3.11+: callers skip on 3.10

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def readme_first_install_extras() -> list[str]:
    """The extras of the README's first `pip install -e ".[...]"` command (its quick start)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"pip install[^\n]*?-e \"\.\[([a-z0-9_,-]+)\]\"", text)
    assert match, "README.md has no `pip install -e \".[...]\"` command"
    return match.group(1).split(",")


class Missing(Exception):
    """A distribution the closure needs is not installed here."""


def closure(extras: list[str]) -> set[str]:
    """Canonical names of the distributions `pip install .[extras]` installs (the project excluded)."""
    config = project()["project"]
    name = canonicalize_name(config["name"])
    optional = config.get("optional-dependencies", {})
    pending = [(Requirement(r), "") for r in config["dependencies"]]
    seen_extras: set[str] = set()

    def add_extras(names):
        for extra in names:
            if extra not in seen_extras:
                seen_extras.add(extra)
                pending.extend((Requirement(r), extra) for r in optional[extra])

    add_extras(extras)
    found: set[tuple[str, str]] = set()
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        dist_name = canonicalize_name(requirement.name)
        if dist_name == name:  # the project's own extras, e.g. examples = [project[ml,plots]]
            add_extras(requirement.extras)
            continue
        for wanted in [""] + sorted(requirement.extras):
            if (dist_name, wanted) in found:
                continue
            found.add((dist_name, wanted))
            try:
                requires = metadata.distribution(requirement.name).requires or []
            except metadata.PackageNotFoundError:
                raise Missing(requirement.name) from None
            pending.extend((Requirement(r), wanted) for r in requires)
    return {dist for dist, _ in found}


def sandbox_venv(where: Path, distributions: set[str]) -> Path:
    """A fresh venv at `where` holding the given installed distributions and the project; its python."""
    venv.EnvBuilder(with_pip=False, symlinks=sys.platform != "win32").create(where)
    python = where / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    here = Path(sysconfig.get_path("purelib"))
    for name in distributions:
        dist = metadata.distribution(name)
        for file in dist.files or []:
            relative = Path(file)
            if relative.parts[0] == "..":
                continue  # scripts, outside site-packages
            source = Path(dist.locate_file(file))
            if source.is_file() and here in source.parents:  # bytecode included: links keep it valid
                target = site / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    target.symlink_to(source)
    _install_project(site)
    return python


def _install_project(site: Path) -> None:
    """What `pip install -e .` leaves: the source on the path and a dist-info with the entry points."""
    config = project()["project"]
    (site / "_project.pth").write_text(f"{ROOT}\n", encoding="utf-8")
    info = site / f"{config['name'].replace('-', '_')}-{config['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {config['name']}\nVersion: {config['version']}\n",
                                   encoding="utf-8")
    groups = dict(config.get("entry-points", {}))
    if "scripts" in config:
        groups["console_scripts"] = config["scripts"]
    (info / "entry_points.txt").write_text(
        "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()) + "\n"
                for group, points in groups.items()), encoding="utf-8")
