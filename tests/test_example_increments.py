"""The bundled example increments, run end to end with --sw-done on a copy (the committed showcase is never rewritten)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.examples

EXAMPLES = ["0042-recommendation-model", "0051-fraud-detection", "0063-ltv-prediction", "0072-sales-forecasting"]
OUTPUTS = ("experiments", "models", "charts", "COMPLETION-SUMMARY.md", "mlflow.db", "mlruns", "__pycache__")


def run_copy(tmp_path: Path, name: str, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    """Copy the increment without its outputs (data generated on first use comes along when present) and run it."""
    source = ROOT / "increments" / name
    target = tmp_path / "increments" / name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*OUTPUTS))
    metadata = target / "metadata.json"
    data = json.loads(metadata.read_text(encoding="utf-8"))
    data["status"] = "active"  # the showcase may be completed already: --sw-done must complete the copy itself
    data.pop("completed", None)
    metadata.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pytest", f"increments/{name}", "-p", "no:cacheprovider",
                             "-rA", "--junitxml=report.xml", *args], cwd=tmp_path, capture_output=True, text=True)
    return result, target


def verdicts(report: Path) -> dict[str, dict[str, str]]:
    found = {}
    for case in ET.parse(report).iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if "verdict" in props:
            found[case.get("name")] = props
    return found


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_increment_trains_meets_its_spec_and_completes(tmp_path, name):
    assert (ROOT / "increments" / name / "spec.md").exists(), f"increments/{name} is missing"
    showcase = {path: path.read_bytes() for path in (ROOT / "increments" / name).rglob("*")
                if path.is_file() and "__pycache__" not in path.parts}
    result, folder = run_copy(tmp_path, name, "--sw-done")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]

    judged = verdicts(tmp_path / "report.xml")
    assert any(item.startswith("SM-") for item in judged) and any(item.startswith("TC-") for item in judged)
    for item, props in judged.items():
        assert props["verdict"] == "passed", (item, props)
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["status"] == "completed" and metadata["completed"]

    summary = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "**Status**: COMPLETE" in summary
    assert "✅ BEST" in summary and "## Success Metrics" in summary
    assert list((folder / "charts").glob("*.png")), "the summary has charts"
    promoted = json.loads((folder / "models" / "model-v1.metadata.json").read_text(encoding="utf-8"))
    assert promoted["source_experiment"] in {props.get("experiment") for props in judged.values()}, \
        "the promoted model is the judged experiment's"
    # Nothing was written into the committed showcase.
    assert {path: path.read_bytes() for path in showcase} == showcase

