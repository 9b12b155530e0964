"""Beyond one machine: shards of increments across CI jobs, gathered; xdist workers in other folders."""

from __future__ import annotations

import re

import pytest

from conftest import demo_files, write_increment

NAMES = ("0001-demo", "0002-second", "0003-third")


def _project(root, names=NAMES) -> None:
    for name in names:
        write_increment(root, name, demo_files())
    (root / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")


def _ran(result) -> set[str]:
    """The increments and plain tests a -v run ran."""
    found = set()
    for line in result.outlines:
        match = re.search(r"(PASSED|SKIPPED|FAILED) (increments/\d{4}-[^/]+|test_plain\.py)", line) or \
            re.search(r"()(increments/\d{4}-[^/]+|test_plain\.py)\S* (PASSED|SKIPPED|FAILED)", line)
        if match:
            found.add(match.group(2).removeprefix("increments/"))
    return found


def test_shards_are_whole_increments_dealt_out_by_sorted_path_and_plain_tests_run_in_shard_1(pytester):
    _project(pytester.path)
    first = pytester.runpytest("increments", "test_plain.py", "--sw-shard=1/2", "-v", "-p", "no:cacheprovider",
                               "--sw-no-report")
    first.assert_outcomes(passed=21, skipped=2, deselected=11)
    assert _ran(first) == {"0001-demo", "0003-third", "test_plain.py"}
    second = pytester.runpytest("increments", "test_plain.py", "--sw-shard", "2/2", "-v", "-p", "no:cacheprovider",
                                "--sw-no-report")
    second.assert_outcomes(passed=10, skipped=1, deselected=23)
    assert _ran(second) == {"0002-second"}


def test_a_shard_with_no_increment_left_runs_nothing_of_them(pytester):
    _project(pytester.path, NAMES[:1])
    result = pytester.runpytest("increments", "--sw-shard=2/2", "-p", "no:cacheprovider", "--sw-no-report")
    result.assert_outcomes(deselected=11)


@pytest.mark.parametrize("value", ["3/2", "0/2", "1/0", "2", "a/b", "1/2/3", ""])
def test_a_malformed_shard_is_a_usage_error(pytester, value):
    _project(pytester.path, NAMES[:1])
    result = pytester.runpytest("increments", f"--sw-shard={value}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--sw-shard={value}: *i/N*"])
    assert "Traceback" not in result.stderr.str()


def test_shards_under_xdist_run_the_same_increments(pytester):
    pytest.importorskip("xdist")
    _project(pytester.path)
    result = pytester.runpytest_subprocess("increments", "test_plain.py", "--sw-shard=1/2", "-n", "2", "-v",
                                           "-p", "no:cacheprovider", "--sw-no-report")
    result.assert_outcomes(passed=21, skipped=2)
    assert _ran(result) == {"0001-demo", "0003-third", "test_plain.py"}
