"""The templates of a problem type, rendered in memory.

Templates are package data: `templates/common/` holds the files every type shares and
`templates/<type>/` the type's own (a type's file replaces a common one of the same name).
A file whose name ends in `.tmpl` is a `string.Template` (`$increment`, `${title}`; `$$` is a
dollar sign) rendered with the increment's values, the suffix dropped; any other file is copied
byte for byte. `gitignore.tmpl` becomes `.gitignore` (dotfiles are easy to lose in packaging).
Every file is rendered before anything is written, so a broken template writes nothing.
"""

from __future__ import annotations

from importlib import resources
from string import Template

PROBLEM_TYPES = ("classification", "regression", "forecasting", "recommendation")
COMMON = "common"
SUFFIX = ".tmpl"
RENAMED = {"gitignore": ".gitignore"}


class TemplateProblem(Exception):
    """A template that cannot be rendered (an unknown or malformed placeholder): a bug of the package."""


def _templates_root():
    return resources.files(__package__).joinpath("templates")


def _walk(folder, prefix: str = ""):
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__" or entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, f"{prefix}{entry.name}/")
        else:
            yield f"{prefix}{entry.name}", entry


def template_files(problem_type: str) -> dict[str, object]:
    """{template path relative to its folder: resource} for the type, common files first."""
    root = _templates_root()
    found: dict[str, object] = {}
    for part in (COMMON, problem_type):
        folder = root.joinpath(part)
        if not folder.is_dir():
            raise TemplateProblem(f"the templates of {part!r} are missing from the installed package ({folder})")
        found.update(dict(_walk(folder)))
    return found


def output_path(template_path: str) -> str:
    """'data/README.md.tmpl' -> 'data/README.md'; 'gitignore.tmpl' -> '.gitignore'."""
    folder, _, name = template_path.rpartition("/")
    name = name.removesuffix(SUFFIX)
    name = RENAMED.get(name, name)
    return f"{folder}/{name}" if folder else name


def render(problem_type: str, values: dict[str, str]) -> dict[str, bytes]:
    """{output path: content} of every file of the new increment, in a stable order."""
    files: dict[str, bytes] = {}
    for template_path, resource in template_files(problem_type).items():
        data = resource.read_bytes()
        if template_path.endswith(SUFFIX):
            try:
                text = Template(data.decode("utf-8")).substitute(values)
            except (KeyError, ValueError) as error:
                raise TemplateProblem(f"template {problem_type}/{template_path}: {error!r}") from error
            data = text.encode("utf-8")
        files[output_path(template_path)] = data
    return dict(sorted(files.items()))
