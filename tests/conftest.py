from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import textwrap
from pathlib import Path

import numpy  # noqa: F401  (see below)
import numpy.fft  # noqa: F401  (numpy 2 loads it lazily: scipy.stats does, inside a pytester run)
import pytest


def _load_matplotlib() -> None:
    """Draw one small chart, so that every module a chart loads as it draws is loaded here (see below)."""
    try:
        import io

        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # the plots extra is optional
        return
    fig = Figure(figsize=(2, 2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], "o--", label="a")
    ax.step([0, 1], [1, 0], where="post")
    ax.scatter([0.5], [0.5], marker="x")
    ax.bar([0], [1])
    ax.barh([0], [1])
    ax.axhline(0.5, linestyle=":")
    ax.fill_between([0, 1], [0, 0], [1, 1], alpha=0.2)
    ax.imshow([[0, 1], [1, 0]])
    ax.annotate("a", (0, 0))
    ax.legend(loc="best")
    ax.set_title("t")
    fig.savefig(io.BytesIO(), format="png", metadata={"Software": None})


_load_matplotlib()

# pytester's in-process runs put sys.modules back as it was before them, so a module first imported
# inside one is imported again by the next test; numpy's C core refuses a second load ("cannot load
# module more than once per process"), and matplotlib's C extensions too, so both are imported once
# here, before any of them.
pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def git_head(tmp_path_factory) -> Path:
    """The project as git holds it at HEAD (`git archive HEAD`, extracted once): what a fresh clone gets.
    The example and scaffold runs run it, package included (head_env), never the working tree: a file
    git ignores or that is not committed yet is not in it."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout of the project: these tests run what git holds at HEAD")
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    target = tmp_path_factory.mktemp("head")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return target


def head_env(head: Path) -> dict[str, str]:
    """The environment of a subprocess that imports pytest_specweave from `head` (git_head)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(head), *filter(None, [env.get("PYTHONPATH")])])
    return env


def write_increment(root: Path, name: str, files: dict[str, str], *, where: str = "increments") -> Path:
    """Write an increment folder under root/where; file contents are dedented."""
    folder = root / where / name
    folder.mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return folder


DEMO_SPEC = """
---
primary_metric: accuracy
---
# Demo classifier

## ML Problem Definition
- Problem type: classification
- Success metrics: accuracy > 0.8

## Model Requirements
- Accuracy: Better than random baseline by 2x
- Latency: <100ms inference
"""

DEMO_TASKS = """
# Tasks

- [ ] T-001: Train baseline — `pipeline.py::train_baseline`
- [ ] T-002: Train model — `pipeline.py::train_model`

### T-003: Measure latency
**Status**: [x] completed
**Depends on**: T-002
**Run**: `pipeline.py::measure`

- [x] T-004: Write the model card
- [ ] T-005: A/B test plan
"""

DEMO_TESTS = """
## Evaluation Criteria
- TC-001: accuracy >= 0.85
- TC-002: accuracy ≥ 2x random baseline
- TC-003: the splits do not overlap — `checks.py::check_splits`
"""

DEMO_PIPELINE = """
from pytest_specweave import track_experiment

ACCURACY = {accuracy}


def train_baseline():
    with track_experiment("baseline-random", baseline=True) as exp:
        exp.log_metric("accuracy", 0.3)


def train_model(experiment, numbers):
    experiment.log_param("C", 1.0)
    assert sum(numbers) == 6
    return {{"accuracy": ACCURACY}}


def measure(experiment):
    experiment.log_metric("latency_p95_ms", 12.5)
"""

DEMO_CHECKS = """
def check_splits(numbers):
    assert len(set(numbers)) == len(numbers)
"""

DEMO_CONFTEST = """
import pytest


@pytest.fixture(scope="session")
def numbers():
    return [1, 2, 3]
"""


def demo_files(accuracy: float = 0.9, *, intervals: bool = False) -> dict[str, str]:
    """The demo increment; `intervals`: every judged value carries an interval (or is exact), as a strict gate needs."""
    pipeline = DEMO_PIPELINE.format(accuracy=accuracy)
    if intervals:
        pipeline = (pipeline
                    .replace('exp.log_metric("accuracy", 0.3)', 'exp.log_metric("accuracy", 0.3, exact=True)')
                    .replace('return {"accuracy": ACCURACY}',
                             'experiment.log_metric("accuracy", ACCURACY, ci=(ACCURACY - 0.02, ACCURACY + 0.02))')
                    .replace('experiment.log_metric("latency_p95_ms", 12.5)',
                             'experiment.log_metric("latency_p95_ms", 12.5, ci=(11.0, 14.0))'))
    return {
        "spec.md": DEMO_SPEC,
        "tasks.md": DEMO_TASKS,
        "tests.md": DEMO_TESTS,
        "pipeline.py": pipeline,
        "checks.py": DEMO_CHECKS,
        "conftest.py": DEMO_CONFTEST,
    }


@pytest.fixture
def demo(pytester: pytest.Pytester) -> Path:
    """A small tracked increment, increments/0001-demo, whose model meets its spec."""
    return write_increment(pytester.path, "0001-demo", demo_files())


SCORED_SPEC = """
---
primary_metric: accuracy
---
# Scored classifier

## ML Problem Definition
- Success metrics: accuracy > 0.6
"""

SCORED_TASKS = """
# Tasks

- [ ] T-001: Train baseline — `pipeline.py::train_baseline`
- [ ] T-002: Train model — `pipeline.py::train_model`
"""

SCORED_TESTS = """
## Evaluation Criteria
- TC-001: accuracy >= {target}
"""

SCORED_PIPELINE = """
import numpy as np

from pytest_specweave import compute_metrics, track_experiment

Y_TEST = np.tile([1, 0, 1, 1, 0, 0, 1, 0], 200)  # enough rows that accuracy's exact interval is narrow
SCORES = np.tile([0.9, 0.4, 0.35, 0.8, 0.1, 0.6, 0.7, 0.2], 200)


def train_baseline():
    with track_experiment("baseline-majority", baseline=True) as exp:
        compute_metrics("classification", Y_TEST, np.zeros(len(Y_TEST), dtype=int), experiment=exp)


def train_model(experiment):
    compute_metrics("classification", Y_TEST, y_score=SCORES, experiment=experiment)
"""


def scored_files(target: str = "0.7") -> dict[str, str]:
    """An increment whose two tasks score the same test data through compute_metrics (accuracy 0.5 and 0.75)."""
    return {"spec.md": SCORED_SPEC, "tasks.md": SCORED_TASKS, "tests.md": SCORED_TESTS.format(target=target),
            "pipeline.py": SCORED_PIPELINE}
