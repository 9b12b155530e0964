"""data/schema.yaml: the increment's data checked with pandera, not a home-made validator.

The file holds one or more pandera DataFrameSchemas in pandera's own YAML format (what
`DataFrameSchema.to_yaml()` writes, read back with `DataFrameSchema.from_yaml`), each with one key
added next to pandera's: `files`, the data files it applies to (paths relative to data/, globs
allowed). Several schemas are several YAML documents separated by `---`:

    files: [interactions.csv.gz, sample.csv]
    columns:
      user_id:
        dtype: int64
        checks:
          in_range: {min_value: 1, max_value: 6040}
    unique: [user_id, item_id]
    ---
    files: [items.csv]
    columns: ...

data/sample.csv (and sample.parquet) is always checked: by the schema whose `files` name it, else by
the first schema. A violation names the file, the column, the check and up to 5 offending rows
(the file's line for CSV, header on line 1; the row number otherwise), from pandera's lazy
validation (`SchemaErrors.failure_cases`). pandas and pandera are imported inside `check_data`.
"""

from __future__ import annotations

import fnmatch
import glob
import importlib.util
import math
from pathlib import Path

from .validation import RuleResult

SCHEMA = "schema.yaml"
SAMPLES = ("sample.csv", "sample.parquet")
ROWS_SHOWN = 5
VIOLATIONS_SHOWN = 6
INSTALL_HINT = "pip install 'pytest-specweave[schema]'"
_CSV = (".csv", ".tsv", ".txt")
_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")


class _Problem(Exception):
    """One line saying why the data cannot be checked."""


def check_data(increment_dir) -> RuleResult:
    data = Path(increment_dir) / "data"
    schema_file = data / SCHEMA
    if not schema_file.is_file():
        return RuleResult([f"no data/{SCHEMA}: describe the data's columns, dtypes and ranges in pandera's YAML "
                           "format, with `files:` naming the data files (docs/increment-format.md)"])
    try:
        documents = _documents(schema_file)
    except _Problem as problem:
        return RuleResult([str(problem)])
    try:
        DataFrameSchema = _schema_class()
    except _Problem as problem:
        return RuleResult([str(problem)])
    problems: list[str] = []
    checked: list[str] = []
    plan = _plan(data, documents, problems)
    for (number, document), files in plan:
        try:
            schema = _schema(DataFrameSchema, document, number, len(documents))
        except _Problem as problem:
            problems.append(str(problem))
            continue
        for file in files:
            try:
                violations = _validate(schema, file)
            except _Problem as problem:
                problems.append(str(problem))
                continue
            shown = f"data/{file.relative_to(data).as_posix()}"
            if violations:
                problems.append(_describe(shown, violations))
            else:
                checked.append(shown)
    if problems:
        return RuleResult(problems)
    if not checked:
        return RuleResult([f"data/{SCHEMA} checks no file: name the data files in `files:` "
                           f"(and keep a data/sample.csv)"])
    return RuleResult(summary=f"{', '.join(checked)} match data/{SCHEMA}")


def validate_dataframe(frame, increment_dir, *, as_file: str = "sample.csv") -> str | None:
    """Check a DataFrame in memory against the schema of data/schema.yaml that applies to `as_file`.

    For data that is not a file under data/ (a dataset read from a package, a query's result): the
    schema whose `files` name `as_file` (else the first) checks it as pandera would check that
    file. Returns None when it matches, else one message naming the columns, checks and rows
    (row numbers of the frame) that fail, or why it cannot be checked.
    """
    schema_file = Path(increment_dir) / "data" / SCHEMA
    if not schema_file.is_file():
        return f"no data/{SCHEMA} in {increment_dir}"
    try:
        documents = _documents(schema_file)
        number, document = next(((i, d) for i, d in enumerate(documents, 1)
                                 if any(fnmatch.fnmatch(as_file, f) for f in d.get("files") or [])),
                                (1, documents[0]))
        schema = _schema(_schema_class(), document, number, len(documents))
    except _Problem as problem:
        return str(problem)
    from pandera.errors import SchemaError, SchemaErrors

    try:
        schema.validate(frame, lazy=True)
        return None
    except SchemaErrors as errors:
        violations = _violations(errors.failure_cases, is_csv=False)
    except SchemaError as error:
        violations = [(str(getattr(error, "column_name", None) or "(table)"), _one_line(error), [], 1)]
    return _describe(f"the data checked as data/{as_file}", violations)


def _schema_class():
    try:
        from pandera.pandas import DataFrameSchema
    except ImportError as error:
        try:
            from pandera import (
                DataFrameSchema,  # pandera before 0.24 had no pandera.pandas
            )
        except ImportError:
            if not _installed("pandera"):
                raise _Problem(f"data/{SCHEMA} cannot be checked: pandera is not installed ({INSTALL_HINT})") from None
            raise _Problem(f"data/{SCHEMA} cannot be checked: pandera is installed but cannot be imported "
                           f"({type(error).__name__}: {_one_line(error)}; {INSTALL_HINT})") from None
    return DataFrameSchema


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _documents(schema_file: Path) -> list[dict]:
    import yaml

    try:
        text = schema_file.read_bytes().decode("utf-8-sig")
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except UnicodeDecodeError:
        raise _Problem(f"data/{SCHEMA} is not UTF-8 text") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise _Problem(f"data/{SCHEMA}{where} is not valid YAML: {problem}") from None
    if not documents:
        raise _Problem(f"data/{SCHEMA} is empty: give pandera's schema of the data, with `files:`")
    for number, document in enumerate(documents, 1):
        label = _label(number, len(documents))
        if not isinstance(document, dict):
            raise _Problem(f"data/{SCHEMA}{label} must be a mapping (pandera's DataFrameSchema YAML)")
        if not document.get("columns") and not document.get("checks"):
            keys = ", ".join(str(k) for k in list(document)[:5])
            raise _Problem(f"data/{SCHEMA}{label} has no `columns`: it is not in pandera's format "
                           f"(top-level keys: {keys}; see docs/increment-format.md)")
        files = document.get("files")
        if files is not None and (isinstance(files, str) or not isinstance(files, list)
                                  or not all(isinstance(f, str) and f for f in files)):
            raise _Problem(f"data/{SCHEMA}{label}: `files` must be a list of file names under data/")
        if document.get("schema_type", "dataframe") != "dataframe":
            raise _Problem(f"data/{SCHEMA}{label}: schema_type must be dataframe")
    return documents


def _label(number: int, total: int) -> str:
    return f" (schema {number})" if total > 1 else ""


def _plan(data: Path, documents: list[dict], problems: list[str]):
    """[(numbered document, [files it checks])]: the files each names, and the sample."""
    plan = []
    claimed: set[Path] = set()
    for number, document in enumerate(documents, 1):
        files: list[Path] = []
        for name in document.get("files") or []:
            matches = sorted(Path(p) for p in glob.glob(str(data / name))) if glob.has_magic(name) else [data / name]
            found = [m for m in matches if m.is_file()]
            if not found:
                problems.append(f"data/{name}, named in data/{SCHEMA}{_label(number, len(documents))}, does not exist")
            files.extend(f for f in found if f not in files)
        claimed.update(files)
        plan.append(((number, document), files))
    for sample in SAMPLES:
        path = data / sample
        if path.is_file() and path not in claimed:
            plan[0][1].insert(0, path)
    return plan


def _schema(DataFrameSchema, document: dict, number: int, total: int):
    import yaml

    serialized = {key: value for key, value in document.items() if key != "files"}
    try:
        return DataFrameSchema.from_yaml(yaml.safe_dump(serialized, sort_keys=False))
    except Exception as error:  # noqa: BLE001 - pandera's complaint, passed on in one line
        raise _Problem(f"data/{SCHEMA}{_label(number, total)} is not a schema pandera can read: "
                       f"{type(error).__name__}: {_one_line(error)}") from None


def _read(file: Path):
    import pandas as pd

    name = file.name.lower()
    for suffix in _COMPRESSED:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    try:
        if name.endswith(_CSV):
            return pd.read_csv(file, sep="\t" if name.endswith(".tsv") else ","), True
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(file), False
        if name.endswith((".jsonl", ".ndjson")):
            return pd.read_json(file, lines=True), False
        if name.endswith(".json"):
            return pd.read_json(file), False
        if name.endswith(".feather"):
            return pd.read_feather(file), False
    except Exception as error:  # noqa: BLE001 - a file that cannot be read is a problem of the data
        raise _Problem(f"data/{file.name} cannot be read: {type(error).__name__}: {_one_line(error)}") from None
    raise _Problem(f"data/{file.name}: unknown data format (csv, tsv, parquet, json lines, feather; "
                   "optionally compressed)")


def _validate(schema, file: Path) -> list[tuple[str, str, list[str], int]]:
    """[(column, check, offending rows shown, number of failures)] of one file; [] when it matches."""
    from pandera.errors import SchemaError, SchemaErrors

    frame, is_csv = _read(file)
    try:
        schema.validate(frame, lazy=True)
        return []
    except SchemaErrors as errors:
        cases = errors.failure_cases
    except SchemaError as error:  # raised despite lazy=True by some checks
        return [(str(getattr(error, "column_name", None) or "(table)"), _one_line(error), [], 1)]
    except Exception as error:  # noqa: BLE001 - a check pandera could not run on this data
        raise _Problem(f"data/{file.name} could not be validated: {type(error).__name__}: {_one_line(error)}") from None
    return _violations(cases, is_csv)


def _violations(cases, is_csv: bool) -> list[tuple[str, str, list[str], int]]:
    groups: dict[tuple[str, str], list] = {}
    unique: dict[object, dict] = {}  # index -> column -> value, for `unique: [a, b]` (one failure per column)
    unique_columns: list[str] = []
    for row in cases.to_dict("records"):
        column, check = row.get("column"), str(row.get("check"))
        if check in ("column_in_dataframe", "column_in_schema"):
            column = row.get("failure_case")
        column = "(table)" if _missing(column) else str(column)  # a table-wide check
        if check == "multiple_fields_uniqueness":
            if column not in unique_columns:
                unique_columns.append(column)
            unique.setdefault(row.get("index"), {})[column] = row.get("failure_case")
            continue
        groups.setdefault((column, check), []).append(row)
    if unique:
        rows = [{"index": index, "shown": "(" + ", ".join(_value(v) for v in values.values()) + ")"}
                for index, values in unique.items()]
        groups = {("(" + ", ".join(unique_columns) + ")", "unique (duplicated rows)"): rows, **groups}
    found = []
    for (column, check), rows in groups.items():
        shown = []
        for row in rows[:ROWS_SHOWN]:
            index = row.get("index")
            value = row["shown"] if "shown" in row else _value(row.get("failure_case"))
            if _missing(index):
                shown.append(f"found {row.get('failure_case')}")  # a column-wide check: the dtype found
            elif is_csv and isinstance(index, (int, float)):
                shown.append(f"line {int(index) + 2}: {value}")
            else:
                shown.append(f"row {index}: {value}")
        found.append((column, check, shown, len(rows)))
    return found


def _describe(file: str, violations) -> str:
    parts = []
    for column, check, shown, count in violations[:VIOLATIONS_SHOWN]:
        if check == "column_in_dataframe":
            parts.append(f"column {column} is missing (check column_in_dataframe)")
        elif check == "column_in_schema":
            parts.append(f"column {column} is not in the schema (check column_in_schema, strict)")
        else:
            rows = ", ".join(shown)
            more = f" ({count} rows fail)" if count > len(shown) else ""
            parts.append(f"column {column}, check {check}: {rows}{more}")
    if len(violations) > VIOLATIONS_SHOWN:
        parts.append(f"and {len(violations) - VIOLATIONS_SHOWN} more violations")
    return f"{file} does not match data/{SCHEMA}: " + "; ".join(parts)


def _missing(value) -> bool:
    """None, or the NaN pandas puts in failure_cases where a check has no column or row."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _value(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
