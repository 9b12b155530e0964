"""Increment folders: recognising, loading (cached), tracking intent, and resolving command-line names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_specweave.errors import IncrementNotFound, SourceError
from pytest_specweave.model.increment import (
    INCREMENT_DIR,
    Increment,
    increment_of,
    is_increment_dir,
    resolve_increment,
)


def make(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_md", ".md").replace("_json", ".json")).write_text(text, encoding="utf-8")
    return folder


SPEC = "---\nprimary_metric: precision@10\n---\n# Recommendation model\n## Success Metrics\n- precision@10 > 0.25\n"
TASKS = "- [ ] T-001: Explore — `notebooks/01-eda.ipynb`\n- [x] T-002: Plan\n"
TESTS = "- TC-001: precision@10 > 0.25\n"


@pytest.mark.parametrize(
    "name, ok",
    [("0042-recommendation-model", True), ("0001-a", True), ("0042-v0.8.0-stabilization", True), ("42-x", False),
     ("0042", False), ("0042-", False), ("00420-x", False), ("_archive", False), ("0042_x", False),
     ("0657E-external-item", True), ("0002E-sync-from-github", True), ("0002e-x", False), ("0002EE-x", False),
     ("0002G-sync-from-github", True), ("0411J-jira-item", True), ("0438A-ado-item", True),
     ("0002g-x", False), ("J-12-jira-import", False), ("INC-001-x", False), ("0042-données", True),
     ("0042-my model", True), ("0042-_draft", True), ("0042- x", False), ("0042-\tx", False)],
)
def test_folder_names(name, ok):
    """One rule, SpecWeave's (four digits, an optional capital letter, a dash, then a name), for the
    pytest entry point, the markdown model and the record of what was skipped."""
    from pytest_specweave import plugin
    from pytest_specweave.layout import increment_id
    from pytest_specweave.model import skipped

    assert bool(INCREMENT_DIR.match(name)) is ok
    assert (increment_id(name) is not None) is ok
    assert bool(plugin.INCREMENT_FOLDER.match(name)) is ok
    assert skipped.INCREMENT_NAME is INCREMENT_DIR


def test_is_increment_dir_needs_the_name_and_a_markdown_file(tmp_path):
    assert is_increment_dir(make(tmp_path / "0042-rec", tasks_md=TASKS))
    assert not is_increment_dir(make(tmp_path / "0043-empty"))
    assert not is_increment_dir(make(tmp_path / "notes", tasks_md=TASKS))
    assert not is_increment_dir(tmp_path / "0044-missing")


def test_increment_of_walks_up(tmp_path):
    folder = make(tmp_path / "increments" / "0042-rec", spec_md=SPEC)
    (folder / "experiments" / "exp-001").mkdir(parents=True)
    assert increment_of(folder / "spec.md") == folder
    assert increment_of(folder / "experiments" / "exp-001" / "metrics.json") == folder
    assert increment_of(folder) == folder
    assert increment_of(tmp_path / "increments") is None


def test_load_reads_everything(tmp_path):
    folder = make(tmp_path / "0042-rec", spec_md=SPEC, tasks_md=TASKS, tests_md=TESTS, metadata_json='{"status": "active"}')
    increment = Increment.load(folder)
    assert (increment.path, increment.id, increment.name) == (folder, "0042", "0042-rec")
    assert increment.metadata == {"status": "active"} and increment.problems == []
    assert increment.spec.primary_metric == "precision@10"
    assert increment.title == "Recommendation model"
    assert [task.id for task in increment.tasks.tasks] == ["T-001", "T-002"]
    assert [criterion.id for criterion in increment.criteria.criteria] == ["TC-001"]
    assert increment.tracks_experiments  # T-001 links a notebook


def test_missing_files_are_none(tmp_path):
    increment = Increment.load(make(tmp_path / "0001-bare", tasks_md="# nothing\n"))
    assert (increment.spec, increment.criteria, increment.metadata) == (None, None, {})
    assert increment.tasks.tasks == []
    assert increment.title == "0001-bare"
    assert not increment.tracks_experiments


@pytest.mark.parametrize(
    "text, line",
    [('{"status": "active",\n  "type": }', 2), ("[1, 2]", 1), ("{", 1)],
)
def test_a_broken_metadata_json_is_a_problem_not_an_exception(tmp_path, text, line):
    increment = Increment.load(make(tmp_path / "0042-rec", tasks_md=TASKS, metadata_json=text))
    assert increment.metadata == {}
    [problem] = increment.problems
    assert isinstance(problem, SourceError) and problem.path.name == "metadata.json" and problem.line == line


def test_metadata_json_with_a_byte_order_mark(tmp_path):
    folder = make(tmp_path / "0042-rec", tasks_md=TASKS)
    (folder / "metadata.json").write_bytes(b'\xef\xbb\xbf{"status": "completed"}')
    assert Increment.load(folder).metadata == {"status": "completed"}


def test_an_unreadable_markdown_file_becomes_a_problem_of_its_list(tmp_path):
    folder = make(tmp_path / "0042-rec", spec_md="# ok\n")
    (folder / "tasks.md").write_bytes("- [ ] T-001: caf\n".encode("utf-16-le"))
    (folder / "tests.md").write_bytes("- TC-001: ok\n".encode("utf-16-be"))
    (folder / "spec.md").write_bytes(b"\xff\xfe\x00\xd8")  # UTF-16 BOM, then half a surrogate pair
    increment = Increment.load(folder)
    assert increment.tasks.tasks == [] and "UTF-16" in increment.tasks.problems[0].message
    assert increment.criteria.criteria == [] and "UTF-16" in increment.criteria.problems[0].message
    assert increment.spec.metrics == [] and increment.spec.problems[0].line == 1
    assert not increment.tracks_experiments


def test_all_problems_gathers_every_file(tmp_path):
    folder = make(
        tmp_path / "0042-rec",
        spec_md="---\ndirections: [x]\n---\n",
        tasks_md="- [ ] T-001: Train `a.py::f` and `b.py::g`\n",
        metadata_json="{",
    )
    increment = Increment.load(folder)
    assert [p.path.name for p in increment.all_problems] == ["metadata.json", "spec.md", "tasks.md"]


def test_load_is_cached_until_a_file_changes(tmp_path):
    folder = make(tmp_path / "0042-rec", tasks_md=TASKS)
    first = Increment.load(folder)
    assert Increment.load(str(folder)) is first
    assert Increment.load(folder / ".." / "0042-rec") is first
    (folder / "tasks.md").write_text(TASKS + "- [ ] T-003: More\n", encoding="utf-8")
    os.utime(folder / "tasks.md", ns=(1, 1))  # a different mtime even on coarse clocks
    second = Increment.load(folder)
    assert second is not first and len(second.tasks.tasks) == 3
    (folder / "tests.md").write_text(TESTS, encoding="utf-8")
    assert Increment.load(folder) is not second


def test_load_refuses_a_folder_that_is_not_an_increment(tmp_path):
    with pytest.raises(IncrementNotFound):
        Increment.load(make(tmp_path / "notes", tasks_md=TASKS))
    with pytest.raises(IncrementNotFound):
        Increment.load(tmp_path / "0042-absent")


def test_tracks_experiments(tmp_path):
    plain = make(tmp_path / "0001-docs", tasks_md="### T-001: Write docs\n**Status**: [x] completed\n", tests_md="- TC-001: prose\n")
    assert not Increment.load(plain).tracks_experiments
    with_folder = make(tmp_path / "0002-ml", tasks_md="- [ ] T-001: a\n")
    (with_folder / "experiments").mkdir()
    assert Increment.load(with_folder).tracks_experiments
    criterion_link = make(tmp_path / "0003-ml", tests_md="- TC-001: no leakage — `checks.py::check`\n")
    assert Increment.load(criterion_link).tracks_experiments
    run_field = make(tmp_path / "0004-ml", tasks_md="### T-001: Train\n**Run**: `pipeline.py::train`\n")
    assert Increment.load(run_field).tracks_experiments


# --- resolve_increment ----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path):
    make(tmp_path / "increments" / "0041-baseline-model", tasks_md=TASKS)
    make(tmp_path / "increments" / "0042-recommendation-model", tasks_md=TASKS)
    make(tmp_path / "increments" / "0043-ranking", tasks_md=TASKS)
    make(tmp_path / ".specweave" / "increments" / "0007-smart-discipline", tasks_md=TASKS)
    return tmp_path


@pytest.mark.parametrize(
    "arg",
    [
        "0042",
        "0042-rec",
        "0042-recommendation-model",
        "increments/0042",
        "increments/0042/",
        "increments/0042-rec",
        "increments/0042-recommendation-model",
        "./increments/0042",
    ],
)
def test_resolve_this_projects_layout(project, arg):
    assert resolve_increment(arg, project) == project / "increments" / "0042-recommendation-model"


@pytest.mark.parametrize("arg", ["0007", ".specweave/increments/0007", ".specweave/increments/0007-smart-discipline"])
def test_resolve_specweaves_layout(project, arg):
    assert resolve_increment(arg, project) == project / ".specweave" / "increments" / "0007-smart-discipline"


def test_resolve_absolute_paths(project):
    full = project / "increments" / "0042-recommendation-model"
    assert resolve_increment(str(full), "/") == full
    assert resolve_increment(project / "increments" / "0043", "/") == project / "increments" / "0043-ranking"
    assert resolve_increment(Path("0041"), project) == project / "increments" / "0041-baseline-model"


def test_resolve_from_inside_the_increments_folder(project):
    assert resolve_increment("0043", project / "increments") == project / "increments" / "0043-ranking"


def test_a_prefix_with_a_folder_looks_only_there(project):
    with pytest.raises(IncrementNotFound):
        resolve_increment("increments/0007", project)


def test_nothing_matches_names_the_increments_that_exist(project):
    with pytest.raises(IncrementNotFound) as raised:
        resolve_increment("0099", project)
    message = str(raised.value)
    assert "'0099'" in message
    for name in ("0041-baseline-model", "0042-recommendation-model", "0043-ranking", "0007-smart-discipline"):
        assert name in message


def test_several_matches_are_named(project):
    with pytest.raises(IncrementNotFound) as raised:
        resolve_increment("004", project)
    message = str(raised.value)
    assert "several" in message and "0041-baseline-model" in message and "0043-ranking" in message
    assert "0007" not in message


def test_the_same_id_in_both_layouts_is_ambiguous(project):
    make(project / ".specweave" / "increments" / "0042-other", tasks_md=TASKS)
    with pytest.raises(IncrementNotFound, match="several") as raised:
        resolve_increment("0042", project)
    assert "0042-other" in str(raised.value) and "0042-recommendation-model" in str(raised.value)
    assert resolve_increment("increments/0042", project).name == "0042-recommendation-model"


def test_no_increments_at_all(tmp_path):
    with pytest.raises(IncrementNotFound, match="no increment folders"):
        resolve_increment("0001", tmp_path)


def test_a_long_listing_is_shortened(tmp_path):
    for number in range(1, 31):
        make(tmp_path / "increments" / f"{number:04d}-x", tasks_md=TASKS)
    with pytest.raises(IncrementNotFound, match="and 10 more"):
        resolve_increment("0099", tmp_path)


@pytest.mark.parametrize("arg", ["", ".", "increments"])
def test_arguments_that_name_no_increment(project, arg):
    with pytest.raises(IncrementNotFound):
        resolve_increment(arg, project)


def test_an_external_increment_keeps_its_e_in_the_id_and_answers_to_its_number(tmp_path):
    folder = make(tmp_path / "increments" / "0657E-external-item", tasks_md=TASKS)
    increment = Increment.load(folder)
    assert (increment.id, increment.name) == ("0657E", "0657E-external-item")
    assert is_increment_dir(folder) and len(increment.tasks.tasks) == 2
    for arg in ("0657", "0657E", "increments/0657", "increments/0657E-ext"):
        assert resolve_increment(arg, tmp_path) == folder
