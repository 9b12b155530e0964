"""Which increments and items a command line selects."""

from __future__ import annotations

import pytest

from conftest import demo_files, write_increment


def collected(result) -> list[str]:
    return [line for line in result.outlines if "::" in line]


@pytest.fixture
def two(pytester):
    write_increment(pytester.path, "0042-recommendation-model", demo_files())
    write_increment(pytester.path, "0043-ranking", demo_files())
    write_increment(pytester.path, "0051-fraud-detection", demo_files())
    return pytester


@pytest.mark.parametrize("arg", [
    "increments/0042",
    "increments/0042-recommendation-model",
    "increments/0042-rec",
])
def test_an_increment_is_named_by_its_folder_or_an_id_prefix(two, arg):
    result = two.runpytest("--collect-only", "-q", arg)
    ids = collected(result)
    assert len(ids) == 11
    assert all(i.startswith("increments/0042-recommendation-model/") for i in ids)


@pytest.mark.parametrize("arg, expected", [
    ("increments/0042/tasks.md", 5),
    ("increments/0042-recommendation-model/tasks.md", 5),
    ("increments/0042/tasks.md::T-003", 1),
    ("increments/0042-recommendation-model/tasks.md::T-003", 1),
    ("increments/0042/spec.md::SM-2", 1),
])
def test_a_file_or_node_id_under_a_prefix_selects_just_that(two, arg, expected):
    ids = collected(two.runpytest("--collect-only", "-q", arg))
    assert len(ids) == expected


def test_the_increments_folder_and_plain_pytest_collect_every_increment(two):
    assert len(collected(two.runpytest("--collect-only", "-q", "increments"))) == 33
    assert len(collected(two.runpytest("--collect-only", "-q"))) == 33


def test_k_selects_by_task_id(two):
    ids = collected(two.runpytest("--collect-only", "-q", "increments/0051", "-k", "T-003"))
    assert ids == ["increments/0051-fraud-detection/tasks.md::T-003"]


def test_k_selects_on_the_words_of_a_title(two):
    def selected(expression):
        return collected(two.runpytest("--collect-only", "-q", "increments/0051", "-k", expression))

    prefix = "increments/0051-fraud-detection/"
    assert selected("baseline and sw_task") == [prefix + "tasks.md::T-001"]  # "Train baseline"
    assert selected("train and not baseline") == [prefix + "tasks.md::T-002"]  # "Train model"
    assert selected("Latency") == [prefix + "tasks.md::T-003", prefix + "spec.md::SM-3"]  # the title and the spec's text
    assert selected("overlap") == [prefix + "tests.md::TC-003"]  # "the splits do not overlap"


def test_a_prefix_matching_nothing_is_a_usage_error_naming_the_increments(two):
    result = two.runpytest("increments/0099")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stderr.str() + result.stdout.str()
    assert "0099" in text and "0042-recommendation-model" in text and "0051-fraud-detection" in text


def test_an_ambiguous_prefix_is_a_usage_error_naming_the_matches(two):
    result = two.runpytest("increments/004")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stderr.str() + result.stdout.str()
    assert "0042-recommendation-model" in text and "0043-ranking" in text
    assert "0051" not in text.split("0043-ranking", 1)[1][:200] or "0051-fraud" not in text


def test_a_mistyped_ordinary_path_is_left_to_pytest(two):
    result = two.runpytest("tests/test_nothing_here.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "file or directory not found" in result.stderr.str()


def test_specweave_folder_is_collected_only_when_named(pytester):
    write_increment(pytester.path, "0042-recommendation-model", demo_files(), where=".specweave/increments")
    assert collected(pytester.runpytest("--collect-only", "-q")) == []
    ids = collected(pytester.runpytest("--collect-only", "-q", ".specweave/increments/0042"))
    assert len(ids) == 11 and ids[0].startswith(".specweave/increments/0042-recommendation-model/tasks.md::")


def test_output_folders_inside_an_increment_are_never_searched(pytester):
    files = demo_files()
    files["data/test_data.py"] = "def test_never_collected():\n    raise AssertionError\n"
    files["experiments/test_old.py"] = "def test_never_collected():\n    raise AssertionError\n"
    write_increment(pytester.path, "0001-demo", files)
    ids = collected(pytester.runpytest("--collect-only", "-q", "increments"))
    assert not any("test_never_collected" in i for i in ids)


def test_a_folder_that_is_not_under_increments_is_not_an_increment(pytester):
    folder = pytester.path / "docs" / "0001-notes"
    folder.mkdir(parents=True)
    (folder / "tasks.md").write_text("- [ ] T-001: something\n")
    assert collected(pytester.runpytest("--collect-only", "-q")) == []


@pytest.mark.parametrize("letter", ["E", "G", "J", "A"])
def test_an_external_increment_folder_is_collected_and_named_by_its_number(pytester, letter):
    name = f"0657{letter}-external-item"
    write_increment(pytester.path, name, {"tasks.md": "- [ ] T-001: Import\n- [ ] T-002: Train\n"})
    expected = [f"increments/{name}/tasks.md::T-001", f"increments/{name}/tasks.md::T-002"]
    assert collected(pytester.runpytest("--collect-only", "-q")) == expected
    for arg in ("increments/0657", f"increments/0657{letter}", f"increments/{name}"):
        assert collected(pytester.runpytest("--collect-only", "-q", arg)) == expected


@pytest.fixture
def set_aside(pytester):
    tasks = {"tasks.md": "- [ ] T-001: Train\n"}
    write_increment(pytester.path, "0200-current", tasks)
    for name in ("0100-first", "0101-second", "0102-third"):
        write_increment(pytester.path, name, tasks, where="increments/_archive")
    write_increment(pytester.path, "0150-dropped", tasks, where="increments/_abandoned")
    return pytester


@pytest.mark.parametrize("args", [(), ("increments",)])
def test_archived_increments_are_skipped_with_a_line_saying_so(set_aside, args):
    result = set_aside.runpytest("--collect-only", "-q", *args)
    assert collected(result) == ["increments/0200-current/tasks.md::T-001"]
    result.stdout.fnmatch_lines([
        "specweave: skipped 1 abandoned increment under increments/_abandoned (name one to run it)",
        "specweave: skipped 3 archived increments under increments/_archive (name one to run it)",
    ])


@pytest.mark.parametrize("arg", ["increments/_archive/0101-second", "increments/_archive/0101"])
def test_an_archived_increment_named_on_the_command_line_is_collected(set_aside, arg):
    result = set_aside.runpytest("--collect-only", "-q", arg)
    assert collected(result) == ["increments/_archive/0101-second/tasks.md::T-001"]
    assert "skipped" not in result.stdout.str()
