"""An increment that satisfies every --sw-validate rule, for the tests of the modes (tests/test_modes_*.py)."""

from __future__ import annotations

from pathlib import Path

from conftest import write_increment

SPEC = """
---
primary_metric: accuracy
---
# Churn classifier

## Success Metrics
- Accuracy: accuracy > 0.8
- Latency: <100ms inference
"""

TASKS = """
# Tasks

- [ ] T-001: Train baseline — `pipeline.py::train_baseline`
- [ ] T-002: Train model — `pipeline.py::train_model`

### T-003: Measure latency
**Status**: [ ] pending
**Depends on**: T-002
**Run**: `pipeline.py::measure`

- [x] T-004: Write the model card
"""

TESTS = """
## Evaluation Criteria
- TC-001: accuracy >= 0.85
- TC-002: accuracy ≥ 2x random baseline
- TC-003: explainability artifacts present
"""

PIPELINE = """
from pytest_specweave import track_experiment

ACCURACY = {accuracy}


class ThresholdModel:
    def __init__(self, cut):
        self.cut = cut

    def predict(self, values):
        return [value > self.cut for value in values]


def train_baseline():
    with track_experiment("baseline-random", baseline=True) as exp:
        exp.log_metric("accuracy", 0.3, exact=True)  # a random guess's expected accuracy: no sampling error


def train_model(experiment):
    experiment.log_param("algorithm", "threshold")
    experiment.log_model(ThresholdModel(0.5))
    experiment.save_artifact({{"tenure_months": 0.7, "plan": 0.3}}, "feature_importance.pkl")
    experiment.log_metric("accuracy", ACCURACY, ci=(ACCURACY - 0.02, min(1.0, ACCURACY + 0.02)))


def measure(experiment):
    experiment.log_metric("latency_p95_ms", 12.5, ci=(11.0, 14.0))
"""

SCHEMA = """
# pandera's DataFrameSchema YAML, with `files:` naming the data it checks
files: [customers.csv]
columns:
  customer_id:
    dtype: int64
    checks:
      in_range: {min_value: 1, max_value: 1000}
  tenure_months:
    dtype: int64
    checks:
      in_range: {min_value: 0, max_value: 120}
  plan:
    dtype: str
    checks:
      isin: [basic, pro]
unique: [customer_id]
strict: true
"""

CUSTOMERS = "customer_id,tenure_months,plan\n1,12,basic\n2,30,pro\n3,0,basic\n4,118,pro\n"
SAMPLE = "customer_id,tenure_months,plan\n1,12,basic\n2,30,pro\n"
METADATA = '{\n  "id": "0001-churn",\n  "status": "active",\n  "type": "feature",\n  "created": "2026-01-05T10:00:00Z",\n  "priority": "P1"\n}'


def complete_files(accuracy: float = 0.9) -> dict[str, str]:
    return {
        "spec.md": SPEC,
        "tasks.md": TASKS,
        "tests.md": TESTS,
        "pipeline.py": PIPELINE.format(accuracy=accuracy),
        "data/schema.yaml": SCHEMA,
        "data/customers.csv": CUSTOMERS,
        "data/sample.csv": SAMPLE,
        "metadata.json": METADATA,
    }


def write_complete(root: Path, name: str = "0001-churn", changes: dict[str, str] | None = None,
                   drop: tuple[str, ...] = ()) -> Path:
    """increments/<name>, whose every --sw-validate rule holds once its tasks ran.

    `changes` replaces files (relative paths), `drop` leaves files out."""
    files = complete_files()
    files.update(changes or {})
    for name_ in drop:
        files.pop(name_, None)
    return write_increment(root, name, files)
