"""Fixtures of increment 0072: the monthly sales series, loaded once per session, and its split.

pytest imports this file as a standalone module, so it imports no other module of the increment.
The data is not copied into the increment: it is the file statsmodels ships,
`statsmodels/datasets/elec_equip/elec_equip.csv` (Eurostat's turnover index of the euro-area
manufacture of electrical equipment, monthly, 1995-01 to 2016-05; data/README.md). It is read by
file location, without importing statsmodels, and checked before any task uses it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

INCREMENT_DIR = Path(__file__).resolve().parent
DATASET = Path("datasets") / "elec_equip" / "elec_equip.csv"  # inside the statsmodels package
DATE_COLUMN = "DATE"
VALUE_COLUMN = "STS.M.I7.W.TOVT.NS0016.4.000"  # Eurostat's series key
FIRST_MONTH = pd.Timestamp("1995-01-01")
LAST_MONTH = pd.Timestamp("2016-05-01")
N_MONTHS = 257
TEST_MONTHS = 12  # the held-out test split: the last twelve months (2015-06 to 2016-05)
INSTALL_HINT = "pip install 'pytest-specweave[forecasting]' (statsmodels ships the data file)"


class DataError(RuntimeError):
    """The data file is missing or not what the increment expects; the message names the file."""


def data_file() -> Path:
    """Where statsmodels keeps elec_equip.csv (found without importing statsmodels)."""
    spec = importlib.util.find_spec("statsmodels")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"increment 0072 reads statsmodels/{DATASET.as_posix()}, but statsmodels is not "
                        f"installed: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / DATASET
    if not path.is_file():
        raise DataError(f"{path} does not exist: this statsmodels installation does not ship the "
                        f"elec_equip dataset (statsmodels >= 0.14 does): {INSTALL_HINT}")
    return path


def load_series(path: Path | None = None) -> pd.Series:
    """The monthly turnover index as a Series named `turnover_index`, indexed by month start.

    Checks what data/README.md documents: the columns DATE (`Jan-1-1995`) and the Eurostat series
    key, one positive number per month, consecutive months from 1995-01 to 2016-05 (257 rows).
    """
    path = data_file() if path is None else Path(path)
    expected = (f"a CSV with columns {DATE_COLUMN} (e.g. Jan-1-1995) and {VALUE_COLUMN}, one row per month "
                f"from {FIRST_MONTH:%Y-%m} to {LAST_MONTH:%Y-%m} ({N_MONTHS} rows)")
    try:
        raw = pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; expected {expected}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is not readable as CSV ({err}); expected {expected}") from None
    missing = [c for c in (DATE_COLUMN, VALUE_COLUMN) if c not in raw.columns]
    if missing:
        raise DataError(f"{path} has no column {', '.join(missing)} (it has: {', '.join(map(str, raw.columns))}); "
                        f"expected {expected}")
    months = pd.to_datetime(raw[DATE_COLUMN], format="%b-%d-%Y", errors="coerce")
    values = pd.to_numeric(raw[VALUE_COLUMN], errors="coerce")
    bad = raw.index[months.isna() | values.isna() | ~(values > 0)]
    if len(bad):
        rows = "; ".join(f"line {i + 2}: {raw.loc[i, DATE_COLUMN]!r}, {raw.loc[i, VALUE_COLUMN]!r}" for i in bad[:3])
        raise DataError(f"{path}: {len(bad)} rows without a valid month or a positive value ({rows}); "
                        f"expected {expected}")
    if len(raw) != N_MONTHS or months.iloc[0] != FIRST_MONTH or months.iloc[-1] != LAST_MONTH:
        raise DataError(f"{path} holds {len(raw)} rows from {months.iloc[0]:%Y-%m} to {months.iloc[-1]:%Y-%m}; "
                        f"expected {expected}")
    expected_months = pd.date_range(FIRST_MONTH, LAST_MONTH, freq="MS")
    off = months.to_numpy() != expected_months.to_numpy()
    if off.any():
        i = int(off.argmax())
        raise DataError(f"{path}: line {i + 2} is {raw.loc[i, DATE_COLUMN]!r} where the month "
                        f"{expected_months[i]:%Y-%m} was expected (months must be consecutive); expected {expected}")
    series = pd.Series(values.to_numpy(dtype=float), index=pd.DatetimeIndex(months, freq="MS", name="month"),
                       name="turnover_index")
    return series


def split_series(series: pd.Series, test_months: int = TEST_MONTHS) -> dict[str, pd.Series]:
    """{"history": everything before the test year, "test": the last `test_months` months}."""
    return {"history": series.iloc[:-test_months], "test": series.iloc[-test_months:]}


@pytest.fixture(scope="session")
def increment_dir() -> Path:
    """The increment folder (where spec.md, data/ and experiments/ live)."""
    return INCREMENT_DIR


@pytest.fixture(scope="session")
def source_file() -> Path:
    """The data file as shipped by statsmodels (recorded with its sha256 by the tasks)."""
    return data_file()


@pytest.fixture(scope="session")
def series(source_file: Path) -> pd.Series:
    """The whole monthly series, 1995-01 to 2016-05 (257 months)."""
    return load_series(source_file)


@pytest.fixture(scope="session")
def splits(series: pd.Series) -> dict[str, pd.Series]:
    """{"history": 1995-01 to 2015-05 (model selection and fitting), "test": 2015-06 to 2016-05}."""
    return split_series(series)
