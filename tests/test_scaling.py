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


def test_a_shard_with_no_increment_left_runs_nothing_and_passes(pytester):
    _project(pytester.path, NAMES[:1])
    result = pytester.runpytest("increments", "--sw-shard=2/2", "-p", "no:cacheprovider", "--sw-no-report")
    result.assert_outcomes(deselected=11)
    assert result.ret == pytest.ExitCode.OK
    assert not list(pytester.path.glob("increments/*/experiments"))
    nothing = pytester.runpytest("increments", "-k", "nothing-matches", "-p", "no:cacheprovider")
    assert nothing.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # without --sw-shard, pytest's own exit code stays


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
    empty = pytester.runpytest_subprocess("increments/0001-demo", "--sw-shard=2/2", "-n", "2", "-p", "no:cacheprovider")
    assert empty.ret == pytest.ExitCode.OK


def _copies(pytester, *names):
    """The project in pytester.path copied to each name (a CI job's checkout each)."""
    import shutil

    (pytester.path / "tox.ini").write_text("[pytest]\n")
    base = pytester.path / "base"
    base.mkdir()
    for entry in ("increments", "test_plain.py", "tox.ini"):
        shutil.move(str(pytester.path / entry), str(base / entry))
    for name in names:
        shutil.copytree(base, pytester.path / name)
    return [pytester.path / name for name in names]


def _run_in(pytester, monkeypatch, folder, *args):
    monkeypatch.chdir(folder)
    try:
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    finally:
        monkeypatch.chdir(pytester.path)


_MOMENTS = [
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "<date>"),
    (re.compile(r"Run time: [\d.]+ s"), "Run time: <t> s"),
]


def _normalised(text: str) -> str:
    for pattern, word in _MOMENTS:
        text = pattern.sub(word, text)
    return text


def _outputs(root) -> dict[str, str]:
    """Every report an increment's run writes, by path: the summaries and the comparison tables."""
    found = {}
    for pattern in ("increments/*/COMPLETION-SUMMARY.md", "increments/*/experiments/comparison.md"):
        for path in sorted(root.glob(pattern)):
            found[path.relative_to(root).as_posix()] = _normalised(path.read_text(encoding="utf-8"))
    return found


def test_two_shards_run_in_separate_copies_and_gathered_report_as_one_machine_running_everything(pytester, monkeypatch):
    import json
    import subprocess
    import sys

    _project(pytester.path)
    single, shard1, shard2, final = _copies(pytester, "single", "shard-1", "shard-2", "final")
    alone = _run_in(pytester, monkeypatch, single, "increments", "test_plain.py", "--sw-json", "report.json")
    alone.assert_outcomes(passed=31, skipped=3)
    for i, folder, more in ((1, shard1, ("-n", "2")), (2, shard2, ())):  # a shard job may use xdist or not
        _run_in(pytester, monkeypatch, folder, "increments", "test_plain.py", f"--sw-shard={i}/2",
                "--sw-json", "report.json", *more).assert_outcomes(passed=21 if i == 1 else 10, skipped=2 if i == 1 else 1)
    assert not (final / "increments" / "0001-demo" / "COMPLETION-SUMMARY.md").exists()

    gathered = subprocess.run([sys.executable, "-m", "pytest_specweave", "gather", "../shard-1", "../shard-2",
                               "--report", "report.json", "--json", "report.json"],
                              cwd=final, capture_output=True, text=True)
    assert gathered.returncode == 0, gathered.stderr
    assert re.search(r"increments/0002-second: \d+ files from \.\./shard-2", gathered.stdout), gathered.stdout
    assert _outputs(final) == _outputs(single)
    assert len(_outputs(final)) == 6
    assert json.loads(_normalised((final / "report.json").read_text())) == \
        json.loads(_normalised((single / "report.json").read_text()))

    # `pytest-specweave summary` rebuilds from the gathered stores what it rebuilds from the single run's
    for folder in (final, single):
        summary = subprocess.run([sys.executable, "-m", "pytest_specweave", "summary"], cwd=folder,
                                 capture_output=True, text=True)
        assert summary.returncode == 0, summary.stderr
    assert _outputs(final) == _outputs(single)


def _report(*increments, skipped=()):
    return {"schema": "pytest-specweave/report/1",
            "increments": [{"name": name, "path": f"increments/{name}", "status": status} for name, status in increments],
            "skipped": list(skipped)}


def _shard(root, name, files: dict, report=None):
    import json

    for relative, text in files.items():
        path = root / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if report is not None:
        (root / name / "report.json").write_text(json.dumps(report))
    return root / name


def _checkout(root):
    for name in ("0001-a", "0002-b"):
        write_increment(root / "final", name, {"spec.md": "# spec\n", "experiments/old.json": "{}\n"})
    return root / "final"


def test_gather_copies_new_and_changed_files_of_the_increments_a_shard_ran_and_nothing_else(tmp_path):
    from pytest_specweave.shards import gather

    final = _checkout(tmp_path)
    untouched = {"increments/0001-a/spec.md": "# spec\n", "increments/0001-a/experiments/old.json": "{}\n"}
    one = _shard(tmp_path, "one", {**untouched, "increments/0002-b/experiments/old.json": "{\"n\": 2}\n",
                                   "increments/0002-b/experiments/exp-001/metrics.json": "{}\n"})
    # an artifact of the increments folder itself (upload-artifact drops the common folder of its paths)
    two = _shard(tmp_path, "two", {"0001-a/COMPLETION-SUMMARY.md": "# done\n"})
    result = gather([one, two], sorted((final / "increments").iterdir()))
    b, a = final / "increments" / "0002-b", final / "increments" / "0001-a"
    assert (b / "experiments" / "old.json").read_text() == "{\"n\": 2}\n"
    assert (b / "experiments" / "exp-001" / "metrics.json").is_file()
    assert (a / "COMPLETION-SUMMARY.md").read_text() == "# done\n"
    assert result.sources == {a: two, b: one}
    assert [p.as_posix() for p in result.copied[b]] == ["experiments/exp-001/metrics.json", "experiments/old.json"]
    assert result.not_run == []


def test_gather_refuses_two_shards_that_ran_one_increment_and_a_name_the_checkout_lacks(tmp_path):
    from pytest_specweave.errors import SpecweaveError
    from pytest_specweave.shards import gather

    final = _checkout(tmp_path)
    one = _shard(tmp_path, "one", {"increments/0001-a/experiments/new.json": "1\n"})
    two = _shard(tmp_path, "two", {"increments/0001-a/experiments/new.json": "2\n"})
    with pytest.raises(SpecweaveError, match="0001-a was run by more than one shard"):
        gather([one, two], sorted((final / "increments").iterdir()))
    assert not (final / "increments" / "0001-a" / "experiments" / "new.json").exists()
    three = _shard(tmp_path, "three", {"increments/0009-z/spec.md": "# z\n"})
    with pytest.raises(SpecweaveError, match="0009-z: the checkout has no increment of that name"):
        gather([three], sorted((final / "increments").iterdir()))


def test_gather_merges_the_reports_sorted_and_gates_on_a_failed_increment(tmp_path):
    import json
    import subprocess
    import sys

    final = _checkout(tmp_path)
    said = {"kind": "folder", "file": "increments/0003 notes", "line": None, "reason": "has no spec.md", "text": ""}
    _shard(tmp_path, "one", {"increments/0002-b/experiments/x.json": "1\n"}, _report(("0002-b", "failed"), skipped=[said]))
    _shard(tmp_path, "two", {"increments/0001-a/experiments/x.json": "1\n"}, _report(("0001-a", "passed"), skipped=[said]))
    _shard(tmp_path, "crashed", {"increments/0001-a/experiments/x.json": "1\n"})
    for shard, message in (("../crashed", "crashed/report.json: no JSON report"), ("../nowhere", "nowhere: no such folder")):
        missing = subprocess.run([sys.executable, "-m", "pytest_specweave", "gather", "../one", shard, "--report",
                                  "report.json"], cwd=final, capture_output=True, text=True)
        assert missing.returncode == 2
        assert missing.stderr.startswith("pytest-specweave: ") and message in missing.stderr, missing.stderr
        assert "Traceback" not in missing.stderr
    assert not list(final.glob("increments/*/experiments/x.json"))

    run = subprocess.run([sys.executable, "-m", "pytest_specweave", "gather", "../one", "../two", "--report",
                          "report.json", "--json", "out/all.json"], cwd=final, capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert "failed: 0002-b" in run.stdout
    merged = json.loads((final / "out" / "all.json").read_text())
    assert merged == _report(("0001-a", "passed"), ("0002-b", "failed"), skipped=[said])


@pytest.mark.parametrize("code", ["checkout", "rsync"])
def test_xdist_workers_in_other_folders_send_their_stores_back_and_the_reports_match_a_local_run(pytester,
                                                                                                 monkeypatch, code):
    import json

    pytest.importorskip("xdist")
    _project(pytester.path)
    here, remote, single = _copies(pytester, "here", "remote", "single")
    alone = _run_in(pytester, monkeypatch, single, "--sw-json", "report.json")
    alone.assert_outcomes(passed=31, skipped=3)
    # the workers collect and run in their own copy (as on another host): the controller's copy never trains
    if code == "checkout":  # a copy of the project where the workers start; no path named
        args = ()
    else:  # xdist copies the project there; a path is named as xdist needs it, absolute, in the --rsyncdir
        import shutil

        shutil.rmtree(remote)
        remote.mkdir()
        args = (f"--rsyncdir={here}", str(here / "increments"), str(here / "test_plain.py"), "-W",
                "ignore::DeprecationWarning")
    result = _run_in(pytester, monkeypatch, here, "--dist=load", "--tx", f"2*popen//chdir={remote}", "--sw-json",
                     "report.json", *args)
    result.assert_outcomes(passed=31, skipped=3)
    if code == "rsync":
        remote = remote / "here"
    assert sorted(p.parents[2].name for p in remote.glob("increments/*/experiments/exp-002-*/meta.json")) == list(NAMES)
    assert not list(remote.glob("increments/*/COMPLETION-SUMMARY.md"))
    assert _outputs(here) == _outputs(single)
    assert len(_outputs(here)) == 6
    stores = sorted(p.relative_to(here).as_posix() for p in here.glob("increments/*/experiments/**/*") if p.is_file())
    assert stores == sorted(p.relative_to(single).as_posix() for p in single.glob("increments/*/experiments/**/*")
                            if p.is_file())
    assert not list(here.glob("increments/*/__pycache__"))
    assert json.loads(_normalised((here / "report.json").read_text())) == \
        json.loads(_normalised((single / "report.json").read_text()))


def test_a_relative_path_for_workers_in_another_folder_is_a_usage_error_not_an_internal_one(pytester):
    pytest.importorskip("xdist")
    _project(pytester.path, NAMES[:1])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--dist=load", "--tx",
                                           f"popen//chdir={pytester.path / 'elsewhere'}", "increments")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*increments: xdist workers in another folder*--rsyncdir=$PWD $PWD/increments*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
