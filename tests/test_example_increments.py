"""The bundled example increments, run end to end on a copy (the committed showcase is never rewritten)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.examples


def run_copy(tmp_path: Path, name: str, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    source = ROOT / "increments" / name
    target = tmp_path / "increments" / name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(
        "experiments", "models", "COMPLETION-SUMMARY.md", "mlflow.db", "mlartifacts", "__pycache__"))
    data = source / "data" / "interactions.csv.gz"
    if data.exists():  # generated on first use; reuse it when a local run already made it
        shutil.copy2(data, target / "data" / data.name)
    result = subprocess.run([sys.executable, "-m", "pytest", f"increments/{name}", "-p", "no:cacheprovider",
                             "-rA", "--junitxml=report.xml", *args], cwd=tmp_path, capture_output=True, text=True)
    return result, target


def test_the_recommendation_increment_trains_and_meets_its_spec(tmp_path):
    result, folder = run_copy(tmp_path, "0042-recommendation-model")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "failed" not in result.stdout.splitlines()[-1], output
    import xml.etree.ElementTree as ET

    verdicts = {}
    for case in ET.parse(tmp_path / "report.xml").iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if "verdict" in props:
            verdicts[case.get("name")] = (props["verdict"], props.get("metric"), props.get("value"))
    # Precision@10 > 0.25, latency, throughput, 3x random: passed on the held-out test split.
    for item in ("SM-1", "SM-3", "SM-4", "SM-5", "TC-001", "TC-003", "TC-004", "TC-005", "TC-007"):
        assert verdicts[item][0] == "passed", (item, verdicts[item])
    assert float(verdicts["SM-1"][2]) > 0.25
    # The judged experiment is the tuned model, and it is the promoted one.
    assert verdicts["SM-1"][1] == "precision@10"
    summary = (folder / "COMPLETION-SUMMARY.md").read_text()
    assert "✅ BEST" in summary and "exp-" in summary
    metadata = json.loads((folder / "models" / "model-v1.metadata.json").read_text())
    assert metadata["metrics"]["precision@10"] > 0.25
