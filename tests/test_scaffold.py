"""`pytest-specweave new`: slugs, numbers, refusals that create nothing, the templates, and each
scaffold run end to end as scaffolded."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pytest_specweave.cli import main
from pytest_specweave.model.increment import INCREMENT_DIR, Increment
from pytest_specweave.scaffold import (
    PROBLEM_TYPES,
    ScaffoldError,
    create_increment,
    naming,
    next_number,
    rendering,
    slugify,
)
from pytest_specweave.scaffold import create as create_module

from conftest import head_env

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "pytest_specweave" / "scaffold" / "templates"
NOW = datetime(2026, 11, 26, 14, 0, tzinfo=timezone.utc)
FILES = [".gitignore", "checks.py", "conftest.py", "data/README.md", "data/sample.csv", "data/schema.yaml",
         "metadata.json", "pipeline.py", "plan.md", "spec.md", "tasks.md", "tests.md"]
PENDING = ["T-001", "T-002", "T-005", "T-006", "T-007", "T-008", "T-009"]
VALIDATE_RULES = ["validate-experiments", "validate-best-model", "validate-metrics-documented",
                  "validate-explainability", "validate-data-schema", "validate-model-card"]


def tree(root: Path) -> list[str]:
    """Every path under root (files and folders), relative: what a refusal must leave unchanged."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


# ---------------------------------------------------------------------------------------------
# Slugs


@pytest.mark.parametrize("title, slug", [
    ("Fraud detection", "fraud-detection"),
    ("  Fraud   Detection!!  ", "fraud-detection"),
    ("Prévision des ventes (Q3)", "prevision-des-ventes-q3"),
    ("Straße & Œuvre", "strasse-oeuvre"),
    ("CO₂ emissions / 2026", "co2-emissions-2026"),
    ("a--b__c..d", "a-b-c-d"),
    ("recommendation_model v2.1", "recommendation-model-v2-1"),
    ("!!!", ""),
    ("..", ""),
    ("/", ""),
    ("预测", ""),
])
def test_slug_is_lowercase_ascii_with_single_dashes(title, slug):
    assert slugify(title) == slug


def test_a_long_title_is_cut_on_a_word_boundary():
    title = "Predict which customers will churn in the next ninety days from usage logs"
    slug = slugify(title)
    assert slug == "predict-which-customers-will-churn-in"
    assert len(slug) <= naming.SLUG_LENGTH
    assert slugify("x" * 60) == "x" * naming.SLUG_LENGTH  # one word longer than the limit: cut at it


@given(st.text(max_size=120))
def test_any_title_gives_an_empty_slug_or_a_valid_folder_name(title):
    slug = slugify(title)
    assert slug == "" or re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug)
    assert len(slug) <= naming.SLUG_LENGTH
    if slug:
        assert INCREMENT_DIR.match(f"0001-{slug}")


# ---------------------------------------------------------------------------------------------
# Numbers and the increments folder


def test_the_next_number_follows_the_highest_in_use_archived_ones_included(tmp_path):
    folder = tmp_path / "increments"
    assert next_number(folder) == 1  # no folder yet
    folder.mkdir()
    assert next_number(folder) == 1  # empty
    for name in ("0001-first", "0042-recommendation-model", "notes", "_archive/0050-old", "_abandoned/0007-x"):
        (folder / name).mkdir(parents=True)
    (folder / "0099-a-file.md").write_text("not a folder")
    assert next_number(folder) == 51
    assert sorted(naming.increment_numbers(folder)) == [1, 7, 42, 50]


def test_the_default_folder_is_increments_else_an_existing_specweave_one(tmp_path):
    assert create_module.choose_folder(None, tmp_path) == tmp_path / "increments"
    (tmp_path / ".specweave" / "increments").mkdir(parents=True)
    assert create_module.choose_folder(None, tmp_path) == tmp_path / ".specweave" / "increments"
    (tmp_path / "increments").mkdir()
    assert create_module.choose_folder(None, tmp_path) == tmp_path / "increments"
    assert create_module.choose_folder("services/api/increments", tmp_path) == tmp_path / "services/api/increments"


def test_new_numbers_a_specweave_project_after_its_highest_increment(tmp_path):
    (tmp_path / ".specweave" / "increments" / "0017-sync").mkdir(parents=True)
    (tmp_path / ".specweave" / "increments" / "_archive" / "0021-old").mkdir(parents=True)
    created = create_increment("Churn model", "classification", cwd=tmp_path, now=NOW)
    assert created.path == tmp_path / ".specweave" / "increments" / "0022-churn-model"


def test_an_explicit_id_is_zero_padded(tmp_path):
    created = create_increment("Fraud", "classification", number="43", cwd=tmp_path, now=NOW)
    assert created.path.name == "0043-fraud"
    assert create_increment("Next", "regression", cwd=tmp_path, now=NOW).path.name == "0044-next"


# ---------------------------------------------------------------------------------------------
# Refusals: a clear message, and nothing created


@pytest.mark.parametrize("title, problem_type, number, directory, message", [
    ("", "classification", None, None, "the title is empty"),
    ("   \t ", "classification", None, None, "the title is empty"),
    ("!!!", "classification", None, None, "has no ASCII letter or digit"),
    ("..", "regression", None, None, "has no ASCII letter or digit"),
    ("/", "regression", None, None, "has no ASCII letter or digit"),
    ("预测", "forecasting", None, None, "has no ASCII letter or digit"),
    ("two\nlines", "classification", None, None, "one-line title"),
    ("Fraud", "clustering", None, None,
     "unknown --type 'clustering': expected one of classification, regression, forecasting, recommendation"),
    ("Fraud", "", None, None, "unknown --type ''"),
    ("Fraud", "classification", "abc", None, "--id 'abc' is not an increment number"),
    ("Fraud", "classification", "0", None, "is not an increment number"),
    ("Fraud", "classification", "10000", None, "is not an increment number"),
    ("Fraud", "classification", None, "other", "a folder named increments"),
])
def test_a_bad_request_is_refused_and_creates_nothing(tmp_path, title, problem_type, number, directory, message):
    (tmp_path / "increments" / "0001-existing").mkdir(parents=True)
    before = tree(tmp_path)
    with pytest.raises(ScaffoldError, match=re.escape(message)):
        create_increment(title, problem_type, number=number, directory=directory, cwd=tmp_path, now=NOW)
    assert tree(tmp_path) == before


def test_an_existing_target_or_a_number_in_use_is_refused(tmp_path):
    create_increment("Fraud detection", "classification", cwd=tmp_path, now=NOW)
    before = tree(tmp_path)
    with pytest.raises(ScaffoldError, match=r"increments/0001-fraud-detection already exists"):
        create_increment("Fraud detection", "regression", number=1, cwd=tmp_path, now=NOW)
    with pytest.raises(ScaffoldError, match=r"increment number 0001 is in use \(increments/0001-fraud-detection\)"):
        create_increment("Something else", "regression", number="0001", cwd=tmp_path, now=NOW)
    (tmp_path / "increments" / "_archive" / "0002-archived").mkdir(parents=True)
    with pytest.raises(ScaffoldError, match="0002 is in use"):
        create_increment("Another", "regression", number=2, cwd=tmp_path, now=NOW)
    assert tree(tmp_path) == sorted(before + ["increments/_archive", "increments/_archive/0002-archived"])


def test_an_increments_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "increments").write_text("not a folder")
    with pytest.raises(ScaffoldError, match="increments is not a folder"):
        create_increment("Fraud", "classification", cwd=tmp_path, now=NOW)
    assert tree(tmp_path) == ["increments"]


@pytest.mark.parametrize("existing", [False, True])
def test_a_failure_mid_render_leaves_nothing_behind(tmp_path, monkeypatch, existing):
    """The files go to a temporary folder beside the target, renamed at the end: a write that
    fails halfway removes it, and the increments folder too when this call made it."""
    if existing:
        (tmp_path / "increments" / "0001-existing").mkdir(parents=True)
    before = tree(tmp_path)
    written = []
    real_write = create_module._write_file

    def failing_write(path, data):
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        real_write(path, data)
        written.append(path)

    monkeypatch.setattr(create_module, "_write_file", failing_write)
    with pytest.raises(ScaffoldError, match="No space left on device; nothing was created"):
        create_increment("Fraud detection", "classification", cwd=tmp_path, now=NOW)
    assert len(written) == 3 and all(".tmp-new-" in str(path) for path in written)
    assert tree(tmp_path) == before


def test_an_interrupt_mid_render_leaves_nothing_behind(tmp_path, monkeypatch):
    def interrupted(path, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(create_module, "_write_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        create_increment("Fraud detection", "forecasting", cwd=tmp_path, now=NOW)
    assert tree(tmp_path) == []


def test_a_template_that_cannot_be_rendered_writes_nothing(tmp_path, monkeypatch):
    broken = {"spec.md.tmpl": TEMPLATES / "classification" / "spec.md.tmpl",
              "oops.md.tmpl": _Text("cost: $unknown_placeholder")}
    monkeypatch.setattr(rendering, "template_files", lambda problem_type: broken)
    with pytest.raises(ScaffoldError, match="unknown_placeholder"):
        create_increment("Fraud detection", "classification", cwd=tmp_path, now=NOW)
    assert tree(tmp_path) == []


class _Text:
    def __init__(self, text: str):
        self.text = text

    def read_bytes(self) -> bytes:
        return self.text.encode()


# ---------------------------------------------------------------------------------------------
# What a scaffold holds


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_each_type_renders_a_complete_increment_the_plugin_reads_without_problems(tmp_path, problem_type):
    title = 'Demand: "next quarter" $HOME {x} — 50%'
    created = create_increment(title, problem_type, cwd=tmp_path, now=NOW)
    folder = created.path
    expected = FILES + (["data/generate.py"] if problem_type == "recommendation" else [])
    assert sorted(created.files) == sorted(expected)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(expected)
    assert not list(tmp_path.rglob(".tmp-new-*"))

    for name in expected:
        text = (folder / name).read_text(encoding="utf-8")
        assert "${" not in text and not re.search(r"\$(increment|title|location|created|number|slug)\b", text), name
    assert (folder / "data" / "sample.csv").stat().st_size < 100_000

    spec_text = (folder / "spec.md").read_text(encoding="utf-8")
    frontmatter = yaml.safe_load(spec_text.split("---")[1])
    assert frontmatter["title"] == title
    assert frontmatter["increment"] == folder.name
    assert frontmatter["type"] == "feature" and frontmatter["problem_type"] == problem_type
    assert frontmatter["status"] == "active" and str(frontmatter["created"]) == "2026-11-26"
    assert "**TODO: set real targets.**" in spec_text
    for section in ("## ML Problem Definition", "## Targets", "## Data", "## Evaluation protocol"):
        assert section in spec_text
    assert "**Select on validation**" in spec_text and "**Gate on test**" in spec_text
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert metadata == {"id": folder.name, "status": "active", "type": "feature", "problem_type": problem_type,
                        "created": "2026-11-26T14:00:00Z"}

    increment = Increment.load(folder)
    assert increment.all_problems == []
    assert increment.title == title
    assert increment.spec.primary_metric == frontmatter["primary_metric"]
    assert [m.id for m in increment.spec.metrics] == ["SM-1", "SM-2"]
    assert all(m.threshold is not None and m.threshold.kind == "ratio" for m in increment.spec.metrics)
    tasks = {t.id: t for t in increment.tasks.tasks}
    assert list(tasks) == [f"T-00{i}" for i in range(1, 10)]
    assert tasks["T-003"].link.target == "pipeline.py::train_baseline"
    assert tasks["T-004"].link.target == "pipeline.py::train_candidate"
    assert all(tasks[t].link is None and tasks[t].status == "pending" for t in PENDING)
    criteria = increment.criteria.criteria
    assert [c.id for c in criteria] == ["TC-001", "TC-002", "TC-003"]
    assert [c.threshold.describe() for c in criteria[:2]] == [m.threshold.describe() for m in increment.spec.metrics]
    assert criteria[2].link.target.startswith("checks.py::")


def test_a_title_that_names_a_metrics_section_does_not_turn_the_spec_into_thresholds(tmp_path):
    """spec.md reads everything under a heading that says Success Metrics as metrics: the title
    heading keeps the words apart with a no-break space, so only the two real metrics are read."""
    for number, title in enumerate(["Success metrics dashboard", "Model requirements: latency < 5ms"], 1):
        created = create_increment(title, "classification", number=number, cwd=tmp_path, now=NOW)
        increment = Increment.load(created.path)
        assert [m.text for m in increment.spec.metrics] == [
            "ROC-AUC better than majority baseline by 50%", "PR-AUC better than majority baseline by 50%"]
        assert increment.title.replace("\u00a0", " ") == title
        assert yaml.safe_load((created.path / "spec.md").read_text(encoding="utf-8").split("---")[1])["title"] == title


GIT_IGNORED = ["experiments/.lock", "experiments/.lock.excl", "models/.lock", "experiments/.tmp-exp-003-x-42",
               "experiments/exp-001-x/.metrics.json.42.1.tmp", "experiments/exp-001-x/model.pkl",
               "experiments/exp-001-x/input_example.pkl", "models/model-v1.pkl", "mlflow.db", "mlruns/0/meta.yaml",
               "mlartifacts/1/model.pkl", "data/interactions.parquet", "data/raw/big.csv", "__pycache__/pipeline.pyc",
               # every rerun's earlier record, arrays included: the current run is what verdicts judge
               "experiments/exp-001-x/history/run-1/meta.json", "experiments/exp-001-x/history/run-1/predictions.npz",
               "experiments/exp-001-x/history/run-2/evidence/roc-auc-f12be078.npz"]
GIT_KEPT = ["spec.md", "plan.md", "tasks.md", "tests.md", "pipeline.py", "conftest.py", "checks.py", "metadata.json",
            "COMPLETION-SUMMARY.md", "charts/metric-by-experiment.png", "experiments/.counter",
            "experiments/comparison.md", "experiments/exp-001-x/params.json", "experiments/exp-001-x/metrics.json",
            "experiments/exp-001-x/meta.json", "experiments/exp-001-x/notes.md", "models/model-v1.metadata.json",
            "experiments/exp-001-x/logs/metrics.jsonl", "experiments/exp-001-x/evidence/roc-auc-f12be078.npz",
            "experiments/exp-001-x/predictions.npz", "experiments/evaluations.jsonl", "experiments/targets.json",
            "data/sample.csv", "data/schema.yaml", "data/README.md", "data/generate.py"]


def test_the_scaffolded_gitignore_covers_what_the_design_says_not_to_commit(tmp_path):
    """design.md: ignore mlflow.db, MLflow's artifact folders, large artifacts (pickles) and the
    store's transient files; commit the markdown, the code, the JSON records and the summary."""
    folder = create_increment("Fraud detection", "recommendation", cwd=tmp_path, now=NOW).path
    patterns = (folder / ".gitignore").read_text(encoding="utf-8").split("\n")
    for pattern in ("*.pkl", "mlflow.db", "mlruns/", "mlartifacts/", ".lock*", ".tmp-*", ".*.tmp"):
        assert pattern in patterns
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the patterns are checked above, not git's reading of them")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    paths = [f"increments/{folder.name}/{p}" for p in GIT_IGNORED + GIT_KEPT]
    result = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=tmp_path, input="\n".join(paths),
                            capture_output=True, text=True, check=False)
    ignored = {line.split(f"{folder.name}/", 1)[1] for line in result.stdout.splitlines()}
    assert ignored == set(GIT_IGNORED)


def test_the_recommendation_sample_is_what_its_bundled_generator_makes(tmp_path):
    folder = create_increment("Recs", "recommendation", cwd=tmp_path, now=NOW).path
    again = tmp_path / "again.csv"
    subprocess.run([sys.executable, str(folder / "data" / "generate.py"), str(again)], check=True,
                   capture_output=True)
    assert again.read_bytes() == (folder / "data" / "sample.csv").read_bytes()


def test_every_template_file_is_package_data(tmp_path):
    """pyproject.toml's package-data globs must reach every template, or a wheel install lacks it."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["pytest_specweave.scaffold"]
    package = TEMPLATES.parent
    files = [p for p in TEMPLATES.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert files
    covered = {p for pattern in globs for p in package.glob(pattern) if p.is_file()}
    assert set(files) == covered
    assert not [p for p in files if p.suffix == ".py"], "templates must not be importable modules"


def test_the_plugin_and_the_cli_module_do_not_import_the_scaffold():
    code = ("import sys, pytest_specweave.plugin, pytest_specweave.cli; "
            "print(any(m.startswith('pytest_specweave.scaffold') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------
# The command line


def test_new_from_the_command_line_creates_the_next_increment_and_says_what_next(git_head, tmp_path, monkeypatch):
    run = subprocess.run([sys.executable, "-m", "pytest_specweave", "new", "Fraud detection", "--type",
                          "classification"], cwd=tmp_path, capture_output=True, text=True, check=False,
                         env=head_env(git_head))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Created increments/0001-fraud-detection (classification):\n")
    for name in FILES:
        assert f"\n  {name}\n" in run.stdout
    assert "\n  pytest increments/0001-fraud-detection\n" in run.stdout
    assert "\n  pytest increments/0001-fraud-detection --sw-validate\n" in run.stdout
    assert (tmp_path / "increments" / "0001-fraud-detection" / "spec.md").is_file()

    second = subprocess.run([sys.executable, "-m", "pytest_specweave", "new", "Sales", "--type", "forecasting",
                             "--dir", "increments", "--id", "7"], cwd=tmp_path, capture_output=True, text=True,
                            check=False, env=head_env(git_head))
    assert second.returncode == 0, second.stderr
    assert "Created increments/0007-sales (forecasting)" in second.stdout
    monkeypatch.chdir(tmp_path)
    assert main(["new", "Recs", "--type", "recommendation"]) == 0
    assert (tmp_path / "increments" / "0008-recs").is_dir()


@pytest.mark.parametrize("args, message", [
    (["new", "", "--type", "classification"], "pytest-specweave: the title is empty"),
    (["new", "!!!", "--type", "classification"], "pytest-specweave: the title '!!!' has no ASCII letter or digit"),
    (["new", "Fraud", "--type", "clustering"],
     ("pytest-specweave: unknown --type 'clustering': expected one of classification, regression, forecasting, "
      "recommendation")),
    (["new", "Existing", "--type", "regression"], "pytest-specweave: increments/0001-existing already exists"),
])
def test_new_refuses_with_exit_2_one_line_on_stderr_and_nothing_created(git_head, tmp_path, args, message):
    (tmp_path / "increments" / "0001-existing").mkdir(parents=True)
    (tmp_path / "increments" / "0001-existing" / "spec.md").write_text("# Existing\n")
    if args[1] == "Existing":
        args = [*args, "--id", "1"]
    before = tree(tmp_path)
    run = subprocess.run([sys.executable, "-m", "pytest_specweave", *args], cwd=tmp_path, capture_output=True,
                         text=True, check=False, env=head_env(git_head))
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.startswith(message) and run.stderr.count("\n") == 1, run.stderr
    assert tree(tmp_path) == before


# ---------------------------------------------------------------------------------------------
# Each scaffold, run as scaffolded


def run_pytest(project: Path, head: Path, *args: str) -> subprocess.CompletedProcess:
    """pytest in `project`, with the package git holds at HEAD (git_head)."""
    return subprocess.run([sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-rA"],
                          cwd=project, capture_output=True, text=True, check=False, env=head_env(head))


def junit(report: Path) -> dict[str, dict]:
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        skipped = case.find("skipped")
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[case.get("name")] = {
            "outcome": "skipped" if skipped is not None else "failed" if failed else "passed",
            "message": skipped.get("message") if skipped is not None else None,
            "props": {p.get("name"): p.get("value") for p in case.iter("property")},
        }
    return outcomes


@pytest.mark.examples
@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_each_scaffold_passes_as_scaffolded_and_shows_what_is_left(git_head, tmp_path, problem_type):
    created = subprocess.run([sys.executable, "-m", "pytest_specweave", "new", f"My {problem_type} model",
                              "--type", problem_type], cwd=tmp_path, capture_output=True, text=True, check=False,
                             env=head_env(git_head))
    assert created.returncode == 0, created.stderr
    folder = tmp_path / "increments" / f"0001-my-{problem_type}-model"
    location = f"increments/{folder.name}"

    run = run_pytest(tmp_path, git_head, location, "--junitxml=report.xml")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    items = junit(tmp_path / "report.xml")
    assert items["T-003"]["outcome"] == "passed" and items["T-004"]["outcome"] == "passed", output[-4000:]
    for task in PENDING:
        assert items[task]["outcome"] == "skipped", task
        assert items[task]["message"].startswith("not implemented"), items[task]
    for item in ("SM-1", "SM-2", "TC-001", "TC-002"):
        assert items[item]["outcome"] == "passed" and items[item]["props"]["verdict"] == "passed", items[item]
        assert "baseline" in items[item]["props"]["reference"]
    assert items["TC-003"]["outcome"] == "passed"
    assert re.search(r"\b7 passed, 7 skipped\b", output), output[-800:]
    summary = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "ALL GATES PASSED" in summary
    # The two experiments the pipeline tracks, and no empty task experiment beside them.
    records = {p.name: json.loads((p / "meta.json").read_text(encoding="utf-8"))
               for p in (folder / "experiments").iterdir() if p.is_dir()}
    assert sorted(meta["baseline"] for meta in records.values()) == [False, True], sorted(records)
    assert all(json.loads((folder / "experiments" / name / "metrics.json").read_text(encoding="utf-8"))["metrics"]
               for name in records), "every experiment on record has metrics"
    assert "## Experiments Run: 2\n" in summary and "with no metrics" not in summary

    validate = run_pytest(tmp_path, git_head, location, "--sw-validate", "-m", "sw_validate",
                          "--junitxml=validate.xml")
    assert validate.returncode == 0, (validate.stdout + validate.stderr)[-4000:]
    rules = junit(tmp_path / "validate.xml")
    assert {rule: rules[rule]["outcome"] for rule in VALIDATE_RULES} == dict.fromkeys(VALIDATE_RULES, "passed")
