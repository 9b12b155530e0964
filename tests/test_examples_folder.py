"""examples/: the CI workflow's gate command and the notebook, run for real."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from conftest import demo_files, write_increment

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "examples" / "ci" / "specweave.yml"
NOTEBOOK = ROOT / "examples" / "notebooks" / "model-selection-outside-pytest.ipynb"


def workflow_steps() -> list[dict]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    return job["steps"]


def gate_command() -> list[str]:
    """The workflow's pytest step, as argv (`python` is this interpreter)."""
    (run,) = [step["run"] for step in workflow_steps() if "pytest increments/" in step.get("run", "")]
    argv = shlex.split(run)
    assert argv[:3] == ["python", "-m", "pytest"]
    return [sys.executable, *argv[1:]]


def test_the_workflow_gates_on_every_increment_and_keeps_its_reports():
    argv = gate_command()
    assert "increments/" in argv
    assert any(arg.startswith("--junitxml=") for arg in argv)
    assert "--sw-json" in argv
    uploaded = next(step for step in workflow_steps() if "upload-artifact" in step.get("uses", ""))
    assert uploaded["if"] == "always()"
    kept = uploaded["with"]["path"]
    for path in ("reports/", "COMPLETION-SUMMARY.md", "charts/", "experiments/"):
        assert path in kept
    installed = next(step["run"] for step in workflow_steps() if step.get("name") == "Install")
    assert "xdist" in installed  # the gate runs with -n 2
    assert "--sw-strict" in argv  # a gate: an inconclusive verdict or a value with no interval fails it


def test_the_gate_fails_an_inconclusive_verdict_and_a_value_without_an_interval(tmp_path):
    write_increment(tmp_path, "0001-demo", demo_files())  # point values: no interval anywhere
    result, _ = run_gate(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL (no interval)" in result.stdout


def run_gate(project: Path) -> tuple[subprocess.CompletedProcess, Path]:
    summary = project / "step-summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"}
    env.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run(gate_command(), cwd=project, env=env, capture_output=True, text=True, timeout=600)
    return result, summary


@pytest.mark.parametrize("accuracy, passes", [(0.9, True), (0.7, False)])
def test_the_gate_command_passes_a_model_that_meets_its_spec_and_fails_one_that_misses_it(tmp_path, accuracy,
                                                                                      passes):
    write_increment(tmp_path, "0001-demo", demo_files(accuracy=accuracy, intervals=True))
    write_increment(tmp_path, "0002-other", demo_files(intervals=True))
    result, summary = run_gate(tmp_path)
    output = result.stdout + result.stderr
    assert (result.returncode == 0) is passes, output

    cases = {case.get("name"): case for case in ET.parse(tmp_path / "reports" / "junit.xml").iter("testcase")}
    sm1 = {p.get("name"): p.get("value") for p in cases["SM-1"].iter("property")}
    assert sm1["metric"] == "accuracy"
    assert sm1["verdict"] in {"passed", "failed"}
    assert {"T-001", "T-002", "TC-001"} <= set(cases)

    report = json.loads((tmp_path / "reports" / "specweave.json").read_text(encoding="utf-8"))
    status = {increment["name"]: increment["status"] for increment in report["increments"]}
    assert status == {"0001-demo": "passed" if passes else "failed", "0002-other": "passed"}

    page = summary.read_text(encoding="utf-8")
    assert "0001-demo" in page and "0002-other" in page
    assert re.search(r"\|\s*SM-1\s*\|", page), page
    for name in ("0001-demo", "0002-other"):
        assert (tmp_path / "increments" / name / "COMPLETION-SUMMARY.md").exists()


nbformat = pytest.importorskip("nbformat") if not os.environ.get("CI") else __import__("nbformat")


def test_the_notebook_records_its_experiments_and_the_increment_passes_its_gate(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTEST_SPECWEAVE_INCREMENT", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    (parameters,) = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    increment = tmp_path / "increments" / "0007-notebook"
    write_increment(tmp_path, "0007-notebook", {})
    spec_cell = next(cell for cell in notebook.cells if "SPEC = " in cell.source)
    # The notebook writes its spec only into a scratch increment; hand it this one, spec included.
    spec = re.search(r'SPEC = textwrap\.dedent\("""\\\n(.*?)"""\)', spec_cell.source, re.S).group(1)
    (increment / "spec.md").write_text(__import__("textwrap").dedent(spec), encoding="utf-8")
    parameters.source = f"increment = {str(increment)!r}"

    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()

    outputs = "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                        for output in cell.get("outputs", []))
    assert f"recording into {increment}" in outputs
    assert "exit code 0" in outputs
    experiments = sorted(p.name for p in (increment / "experiments").iterdir() if p.name.startswith("exp-"))
    assert experiments[0] == "exp-001-baseline-majority"
    assert len(experiments) == 5 and experiments[-1].endswith("-final")
    final = json.loads((increment / "experiments" / experiments[-1] / "metrics.json").read_text(encoding="utf-8"))
    accuracy = final["metrics"]["accuracy"]
    assert 0.9 < accuracy["value"] <= 1 and accuracy["ci"][0] <= accuracy["value"] <= accuracy["ci"][1]
    assert (increment / "models" / "model-v1.metadata.json").exists()
    summary = (increment / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "✅ BEST" in summary and experiments[-1] in summary


SHARDS = ROOT / "examples" / "ci" / "specweave-shards.yml"


def _shards_workflow() -> tuple[dict, dict]:
    workflow = yaml.safe_load(SHARDS.read_text(encoding="utf-8"))
    return workflow["jobs"]["shard"], workflow["jobs"]["gather"]


def _run_step(job: dict, command: str) -> str:
    (run,) = [step["run"] for step in job["steps"] if command in step.get("run", "")]
    return run


def _uploaded(job: dict) -> dict:
    return next(step for step in job["steps"] if "upload-artifact" in step.get("uses", ""))


def test_the_shards_workflow_runs_each_shard_uploads_its_stores_and_gathers_them_in_a_final_gate():
    from pytest_specweave.cli import build_parser

    shard, gather = _shards_workflow()
    shards = shard["strategy"]["matrix"]["shard"]
    argv = shlex.split(_run_step(shard, "pytest increments/").replace("${{ matrix.shard }}", "I"))
    assert f"--sw-shard=I/{len(shards)}" in argv and shards == list(range(1, len(shards) + 1))
    assert shard["strategy"]["fail-fast"] is False  # a failing shard does not cancel the others' runs
    report = argv[argv.index("--sw-json") + 1]
    upload = _uploaded(shard)
    assert upload["if"] == "always()" and upload["with"]["name"] == "specweave-shard-${{ matrix.shard }}"
    for path in (report.split("/")[0] + "/", "increments/*/experiments/", "increments/*/models/",
                 "increments/*/COMPLETION-SUMMARY.md"):
        assert path in upload["with"]["path"].split()
    assert gather["needs"] == "shard" and gather["if"] == "always()"
    download = next(step for step in gather["steps"] if "download-artifact" in step.get("uses", ""))
    assert download["with"]["pattern"] == "specweave-shard-*"
    command = shlex.split(_run_step(gather, "pytest-specweave gather"))
    args = build_parser().parse_args(command[1:])  # the gather command's options are the CLI's
    assert args.shards == [download["with"]["path"] + "/*"] and args.report == report and args.json


def test_the_shards_workflow_commands_run_for_real_and_gather_every_increment(tmp_path):
    """The shard jobs' command in a checkout each, their uploads copied into shards/, then the gather command."""
    import glob
    import shutil

    shard, gather = _shards_workflow()
    project = tmp_path / "project"
    for name in ("0001-demo", "0002-other"):  # three shards, two increments: the third has nothing to run
        write_increment(project, name, demo_files(intervals=True))
    env = {**os.environ}
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("GITHUB_STEP_SUMMARY", None)
    for i in shard["strategy"]["matrix"]["shard"]:
        checkout = tmp_path / f"job-{i}"
        shutil.copytree(project, checkout)
        argv = shlex.split(_run_step(shard, "pytest increments/").replace("${{ matrix.shard }}", str(i)))
        run = subprocess.run([sys.executable, *argv[1:]], cwd=checkout, env=env, capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        artifact = tmp_path / "final" / "shards" / f"specweave-shard-{i}"
        for pattern in _uploaded(shard)["with"]["path"].split():
            for found in glob.glob(str(checkout / pattern)):
                target = artifact / Path(found).relative_to(checkout)
                if Path(found).is_dir():
                    shutil.copytree(found, target, dirs_exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(found, target)
    shutil.copytree(project, tmp_path / "final", dirs_exist_ok=True)
    command = shlex.split(_run_step(gather, "pytest-specweave gather"))
    expanded = [m for arg in command[1:] for m in (sorted(glob.glob(str(tmp_path / "final" / arg))) or [arg])]
    run = subprocess.run([sys.executable, "-m", "pytest_specweave", *expanded], cwd=tmp_path / "final", env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    merged = json.loads((tmp_path / "final" / "reports" / "specweave.json").read_text())
    assert [(entry["name"], entry["status"]) for entry in merged["increments"]] == [("0001-demo", "passed"),
                                                                                   ("0002-other", "passed")]
    for name in ("0001-demo", "0002-other"):
        assert (tmp_path / "final" / "increments" / name / "COMPLETION-SUMMARY.md").is_file()
        assert list((tmp_path / "final" / "increments" / name / "experiments").glob("exp-*/metrics.json"))
