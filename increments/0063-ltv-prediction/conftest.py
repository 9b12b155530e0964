"""Fixtures of increment 0063: the CDNOW transaction log every task reads, loaded once per session.

pytest imports this file as a standalone module, so it imports no other module of the increment:
it holds the data loading only; features.py, models.py and pipeline.py build the time windows,
features, models and tasks.

The data is Fader & Hardie's CDNOW master file (23,570 customers, 69,659 purchases, January 1997
to June 1998) as shipped inside the `lifetimes` wheel (pip install 'pytest-specweave[ltv]'). It
is not copied into the repository: on first use it is read from the installed package, checked
against its recorded sha256, and re-encoded as data/transactions.csv.gz (comma-separated, ISO
dates; git-ignored), which the tasks and the data/schema.yaml check then read. See data/README.md.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import os
from pathlib import Path

import pandas as pd
import pytest

INCREMENT_DIR = Path(__file__).resolve().parent
DATA_DIR = INCREMENT_DIR / "data"
TRANSACTIONS = DATA_DIR / "transactions.csv.gz"

SOURCE_NAME = "CDNOW_master.txt"
SOURCE_SHA256 = "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef"  # lifetimes 0.11.3
SOURCE_HEADER = ["customer_id", "date", "number_of_cds", "dollar_value"]
# sha256 of data/transactions.csv.gz once decompressed (independent of the zlib version).
DERIVED_SHA256 = "90410125c6082c44c671c02baef86d1ce74d4dc77fabf766e9587aa8073c5ce7"
N_ROWS, N_CUSTOMERS = 69_659, 23_570
INSTALL_HINT = "pip install 'pytest-specweave[ltv]' (or pip install lifetimes)"


class DataError(RuntimeError):
    """The data is missing or is not what this increment documents (data/README.md)."""


def source_path() -> Path:
    """CDNOW_master.txt inside the installed lifetimes package.

    Located without importing lifetimes.datasets, whose __init__ needs pkg_resources (gone from
    current setuptools)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the CDNOW data ships inside the lifetimes package, which is not installed: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / SOURCE_NAME
    if not path.is_file():
        raise DataError(f"{path} does not exist: this lifetimes installation has no CDNOW master file; "
                        f"reinstall it: {INSTALL_HINT}")
    return path


def read_source(path: Path) -> pd.DataFrame:
    """Parse CDNOW_master.txt (whitespace-separated: customer_id, date YYYYMMDD, number_of_cds,
    dollar_value; one header line), checking its sha256 and its shape."""
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SOURCE_SHA256:
        raise DataError(f"{path} has sha256 {digest[:16]}…, expected {SOURCE_SHA256[:16]}… (the file lifetimes "
                        "0.11.3 ships, documented in data/README.md): it is not the CDNOW master file this "
                        "increment was built on")
    text = raw.decode("ascii").replace("\r\n", "\n")
    header = text.split("\n", 1)[0].split()
    if header != SOURCE_HEADER:
        raise DataError(f"{path}: expected the header {' '.join(SOURCE_HEADER)}, got {' '.join(header)!r}")
    df = pd.read_csv(io.StringIO(text), sep=r"\s+", dtype=str)
    try:
        out = pd.DataFrame({
            "customer_id": df["customer_id"].astype("int64"),
            "date": pd.to_datetime(df["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
            "number_of_cds": df["number_of_cds"].astype("int64"),
            "dollar_value": df["dollar_value"].astype("float64"),
        })
    except (ValueError, KeyError) as err:
        raise DataError(f"{path}: expected whitespace-separated columns customer_id (integer), date (YYYYMMDD), "
                        f"number_of_cds (integer), dollar_value (number): {err}") from None
    if len(out) != N_ROWS or out["customer_id"].nunique() != N_CUSTOMERS:
        raise DataError(f"{path}: expected {N_ROWS:,} rows of {N_CUSTOMERS:,} customers, got {len(out):,} rows "
                        f"of {out['customer_id'].nunique():,}")
    return out


def _csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, float_format="%.2f", lineterminator="\n").encode("ascii")


def ensure_transactions() -> Path:
    """Write data/transactions.csv.gz from the lifetimes copy of CDNOW_master.txt unless it exists.

    Written atomically (a temporary file, then a rename), with no time stamp in the gzip header,
    so concurrent writers produce the same bytes and readers never see a partial file."""
    if TRANSACTIONS.exists():
        return TRANSACTIONS
    data = _csv_bytes(read_source(source_path()))
    if hashlib.sha256(data).hexdigest() != DERIVED_SHA256:
        raise DataError(f"re-encoding {SOURCE_NAME} gave sha256 {hashlib.sha256(data).hexdigest()[:16]}…, expected "
                        f"{DERIVED_SHA256[:16]}… (data/README.md): the CSV writer (pandas) changed its output")
    tmp = TRANSACTIONS.with_name(f".{TRANSACTIONS.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(data)
    os.replace(tmp, TRANSACTIONS)
    return TRANSACTIONS


def load_transactions(path: Path = TRANSACTIONS) -> pd.DataFrame:
    """The transactions as customer_id (int64), date (datetime64), number_of_cds (int64),
    dollar_value (float64), in file order (by customer, then date)."""
    if path == TRANSACTIONS:
        ensure_transactions()
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as err:
        raise DataError(f"{path} cannot be read as gzip ({err}): delete it, the next run derives it again") from None
    if path == TRANSACTIONS and hashlib.sha256(data).hexdigest() != DERIVED_SHA256:
        raise DataError(f"{path} is not the file derived from {SOURCE_NAME} (sha256 {hashlib.sha256(data).hexdigest()[:16]}…"
                        f", expected {DERIVED_SHA256[:16]}…): delete it, the next run derives it again")
    try:
        df = pd.read_csv(io.BytesIO(data), dtype={"customer_id": "int64", "date": str, "number_of_cds": "int64",
                                                  "dollar_value": "float64"})
        df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d")
    except (ValueError, KeyError) as err:
        raise DataError(f"{path}: expected columns customer_id, date (YYYY-MM-DD), number_of_cds, dollar_value: "
                        f"{err}") from None
    return df


@pytest.fixture(scope="session")
def increment_dir() -> Path:
    """The increment folder (where spec.md, data/ and experiments/ live)."""
    return INCREMENT_DIR


@pytest.fixture(scope="session")
def transactions() -> pd.DataFrame:
    """Every CDNOW purchase: customer_id, date, number_of_cds, dollar_value (69,659 rows)."""
    return load_transactions()
