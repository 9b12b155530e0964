"""data/schema.yaml: pandera's YAML schema plus `files:`, checked by pandera; messages name file, column, check, rows."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_specweave.modes.data_schema import check_data

pytest.importorskip("pandera")

EXAMPLE = Path(__file__).resolve().parent.parent / "increments" / "0042-recommendation-model"

SCHEMA = """
files: [customers.csv]
columns:
  customer_id:
    dtype: int64
    checks:
      in_range: {min_value: 1, max_value: 1000}
  plan:
    dtype: str
    checks:
      isin: [basic, pro]
unique: [customer_id]
strict: true
"""


def _increment(tmp_path: Path, schema: str | None = SCHEMA, **files: str) -> Path:
    folder = tmp_path / "increments" / "0001-x"
    (folder / "data").mkdir(parents=True)
    if schema is not None:
        (folder / "data" / "schema.yaml").write_text(schema.lstrip("\n"), encoding="utf-8")
    for name, text in files.items():
        (folder / "data" / name.replace("__", ".")).write_text(text, encoding="utf-8")
    return folder


def test_matching_data_passes_and_the_sample_is_checked_by_the_first_schema(tmp_path):
    folder = _increment(tmp_path, customers__csv="customer_id,plan\n1,basic\n2,pro\n",
                        sample__csv="customer_id,plan\n1,basic\n")
    result = check_data(folder)
    assert result.passed, result.message
    assert result.message == "data/sample.csv, data/customers.csv match data/schema.yaml"


def test_a_violation_names_file_column_check_and_at_most_five_rows(tmp_path):
    rows = "customer_id,plan\n" + "".join(f"{n},gold\n" for n in range(1, 9)) + "0,basic\n"
    result = check_data(_increment(tmp_path, customers__csv=rows))
    assert not result.passed
    assert result.message == (
        "data/customers.csv does not match data/schema.yaml: "
        "column customer_id, check in_range(1, 1000): line 10: 0; "
        "column plan, check isin(['basic', 'pro']): line 2: 'gold', line 3: 'gold', line 4: 'gold', "
        "line 5: 'gold', line 6: 'gold' (8 rows fail)")
    assert "\n" not in result.message


def test_duplicates_missing_and_extra_columns_and_dtypes_are_named(tmp_path):
    result = check_data(_increment(tmp_path, customers__csv="customer_id,extra\n1,x\n1,y\n"))
    assert "column (customer_id), check unique (duplicated rows): line 2: (1), line 3: (1)" in result.message
    assert "column plan is missing (check column_in_dataframe)" in result.message
    assert "column extra is not in the schema (check column_in_schema, strict)" in result.message
    typed = check_data(_increment(tmp_path / "b", customers__csv="customer_id,plan\n1.5,basic\n"))
    assert "column customer_id, check dtype('int64'): found float64" in typed.message


def test_several_schemas_are_yaml_documents_and_files_may_be_globs(tmp_path):
    schema = SCHEMA.replace("files: [customers.csv]", "files: ['part-*.csv']") + "---\n" + (
        "files: [plans.csv]\ncolumns:\n  plan:\n    dtype: str\n")
    folder = _increment(tmp_path, schema, **{"part-1__csv": "customer_id,plan\n1,basic\n",
                                             "part-2__csv": "customer_id,plan\n2,vip\n", "plans__csv": "plan\nbasic\n"})
    result = check_data(folder)
    assert result.message.startswith("data/part-2.csv does not match data/schema.yaml: column plan, check isin")
    (folder / "data" / "part-2.csv").write_text("customer_id,plan\n2,pro\n")
    assert check_data(folder).message == "data/part-1.csv, data/part-2.csv, data/plans.csv match data/schema.yaml"


def test_what_cannot_be_checked_is_named(tmp_path):
    assert check_data(_increment(tmp_path / "a", None)).message.startswith("no data/schema.yaml: ")
    missing = check_data(_increment(tmp_path / "b"))
    assert missing.message == "data/customers.csv, named in data/schema.yaml, does not exist"
    broken = check_data(_increment(tmp_path / "c", "files: [a.csv]\ncolumns: {a: [\n"))
    assert broken.message.startswith("data/schema.yaml:3 is not valid YAML")
    unknown = check_data(_increment(tmp_path / "d", SCHEMA.replace("isin:", "is_one_of:"), customers__csv="customer_id,plan\n1,basic\n"))
    assert unknown.message.startswith("data/schema.yaml is not a schema pandera can read: AttributeError")


def test_the_home_made_format_is_refused_rather_than_passing_silently(tmp_path):
    old = "items.csv:\n  columns:\n    item_id:\n      dtype: int64\n      range: [1, 3706]\n"
    result = check_data(_increment(tmp_path, old, items__csv="item_id\n1\n"))
    assert result.message == ("data/schema.yaml has no `columns`: it is not in pandera's format "
                              "(top-level keys: items.csv; see docs/increment-format.md)")


def test_the_bundled_examples_schema_reads_and_matches_its_data(tmp_path):
    data = tmp_path / "increments" / "0042-recommendation-model" / "data"
    data.mkdir(parents=True)
    for name in ("schema.yaml", "items.csv", "sample.csv"):
        shutil.copy(EXAMPLE / "data" / name, data / name)
    # interactions.csv.gz is generated on first use, not shipped: its first rows are sample.csv
    (data / "interactions.csv.gz").write_bytes(gzip.compress((EXAMPLE / "data" / "sample.csv").read_bytes()))
    result = check_data(data.parent)
    assert result.passed, result.message
    assert result.message == ("data/interactions.csv.gz, data/sample.csv, data/items.csv match data/schema.yaml")
    (data / "items.csv").write_text((EXAMPLE / "data" / "items.csv").read_text().replace("\n1,", "\n1,", 1)
                                    .replace("\n3706,", "\n3707,", 1))
    assert "column item_id, check in_range(1, 3706): line 3707: 3707" in check_data(data.parent).message


BLOCKED_IMPORT = """
import sys
from importlib.abc import MetaPathFinder

class Blocker(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, Blocker())
from pytest_specweave.modes.data_schema import check_data
print(check_data({folder!r}).message)
"""


@pytest.mark.parametrize("blocked, message", [
    ("pandera", "data/schema.yaml cannot be checked: pandera is not installed "
                "(pip install 'pytest-specweave[schema]')"),
    ("pandas", "data/schema.yaml cannot be checked: pandera is installed but cannot be imported "
               "(ModuleNotFoundError: No module named 'pandas'; pip install 'pytest-specweave[schema]')"),
])
def test_without_pandera_or_what_it_needs_the_check_says_what_to_install(tmp_path, blocked, message):
    folder = _increment(tmp_path, sample__csv="customer_id,plan\n1,basic\n")
    code = BLOCKED_IMPORT.format(blocked=blocked, folder=str(folder))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == message
