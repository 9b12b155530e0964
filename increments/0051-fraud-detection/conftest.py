"""Fixtures of increment 0051: the data every task reads, loaded once per session.

pytest imports this file as a standalone module, so it imports no other module of the increment:
it holds the data loading and the time periods, and pipeline.py builds everything else from
them (the features need every card's whole past, so the split by time comes after them).
data/transactions.csv.gz is not shipped (about 60 MB): the first session that needs it generates
it with data/generate.py (seed 51, test-period events from seed 5151; deterministic), loaded by
file location.
"""

from __future__ import annotations

import importlib.util
import io
import zlib
from pathlib import Path

import pandas as pd
import pytest

INCREMENT_DIR = Path(__file__).resolve().parent
DATA_DIR = INCREMENT_DIR / "data"
TRANSACTIONS = DATA_DIR / "transactions.csv.gz"
GENERATOR = DATA_DIR / "generate.py"

COLUMNS = {
    "tx_id": "int64", "card_id": "int64", "timestamp": "int64", "amount_cents": "int64",
    "category": "int64", "merchant_id": "int64", "channel": "int64", "device_id": "int64",
    "city_id": "int64", "home_city_id": "int64", "is_fraud": "int64", "fraud_scenario": "int64",
}

# The split by time (UTC days, end exclusive): January only feeds the history features of later
# transactions (a card's first weeks in the data have no past), the model learns from February
# and March, is chosen and its decision threshold tuned on April and May, and is judged once on
# June to September (four months: spec.md, "Sizing the test period").
PERIODS = {
    "history": ("2024-01-01", "2024-02-01"),
    "train": ("2024-02-01", "2024-04-01"),
    "validation": ("2024-04-01", "2024-06-01"),
    "test": ("2024-06-01", "2024-10-01"),
}


def _generator():
    """data/generate.py as a module (it is data tooling, not a package of the increment)."""
    spec = importlib.util.spec_from_file_location("increment_0051_generate", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_transactions() -> Path:
    """Generate data/transactions.csv.gz (data/generate.py's default seeds) unless it exists; returns its path.

    Written atomically, so pytest-xdist workers that race here each write the same bytes and
    readers never see a partial file. The shipped cities.csv and categories.csv must be the ones
    the generator makes: a mismatch (the generator changed, the tables were not regenerated)
    stops the run instead of pairing transactions with the wrong tables.
    """
    if TRANSACTIONS.exists():
        return TRANSACTIONS
    generator = _generator()
    _, cities, categories = generator.write_files(DATA_DIR, generator.SEED, files=(TRANSACTIONS.name,))
    for name, table in (("cities.csv", cities), ("categories.csv", categories)):
        shipped = pd.read_csv(DATA_DIR / name, keep_default_na=False)
        expected = pd.read_csv(io.StringIO(table.to_csv(index=False)), keep_default_na=False)
        if not shipped.equals(expected):
            TRANSACTIONS.unlink(missing_ok=True)
            raise RuntimeError(f"{DATA_DIR / name} is not the table {GENERATOR.name} generates: regenerate the "
                               f"data (python data/generate.py, from the increment folder)")
    return TRANSACTIONS


def load_transactions(path: Path = TRANSACTIONS) -> pd.DataFrame:
    """The transactions, with the columns and dtypes of data/schema.yaml; a clear error naming the
    file when it is missing, unreadable or not what is expected."""
    path = Path(path)
    if path == TRANSACTIONS:
        ensure_transactions()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such data file (expected the transactions, csv.gz with the columns "
                                f"{', '.join(COLUMNS)})")
    try:
        df = pd.read_csv(path, dtype=COLUMNS)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, pd.errors.ParserError, ValueError) as err:
        hint = " (delete it: the next run regenerates it)" if path == TRANSACTIONS else ""
        raise RuntimeError(f"{path}: cannot be read as the transactions CSV{hint}: {type(err).__name__}: {err}") \
            from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing or df.empty:
        raise RuntimeError(f"{path}: expected the columns {', '.join(COLUMNS)} and at least one row; "
                           f"missing: {', '.join(missing) or 'none'}, rows: {len(df)}")
    return df


def period_bounds() -> dict[str, tuple[int, int]]:
    """PERIODS as Unix seconds [start, end)."""
    return {name: (int(pd.Timestamp(a, tz="UTC").timestamp()), int(pd.Timestamp(b, tz="UTC").timestamp()))
            for name, (a, b) in PERIODS.items()}


@pytest.fixture(scope="session")
def increment_dir() -> Path:
    """The increment folder (where spec.md, data/ and experiments/ live)."""
    return INCREMENT_DIR


@pytest.fixture(scope="session")
def transactions() -> pd.DataFrame:
    """All transactions (data/schema.yaml), in time order; generated into data/ on first use."""
    return load_transactions()


@pytest.fixture(scope="session")
def cities() -> pd.DataFrame:
    """city_id, city, country, lat, lon."""
    return pd.read_csv(DATA_DIR / "cities.csv", keep_default_na=False)


@pytest.fixture(scope="session")
def categories() -> pd.DataFrame:
    """category, name, channel (pos / online / both)."""
    return pd.read_csv(DATA_DIR / "categories.csv", keep_default_na=False)


@pytest.fixture(scope="session")
def periods() -> dict[str, tuple[int, int]]:
    """{"history", "train", "validation", "test"}: [start, end) in Unix seconds."""
    return period_bounds()
