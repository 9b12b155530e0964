"""Fixtures of increment 0042: the data every task reads, loaded once per session.

pytest imports this file as a standalone module, so it imports no other module of the increment:
it holds the data loading and the split, and pipeline.py builds everything else from them.
data/interactions.csv.gz is not shipped (about 8 MB): the first session that needs it generates
it with data/generate.py (seed 42, deterministic), loaded by file location.
"""

from __future__ import annotations

import importlib.util
import io
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

INCREMENT_DIR = Path(__file__).resolve().parent
DATA_DIR = INCREMENT_DIR / "data"
INTERACTIONS = DATA_DIR / "interactions.csv.gz"
GENERATOR = DATA_DIR / "generate.py"

# Time-based split per user: the last 20% of a user's interactions are the test split, the 20%
# before them the validation split, the rest is training. A user needs MIN_INTERACTIONS to be
# split at all; users with fewer stay whole in training (history only, never evaluated).
TEST_SHARE = 0.2
VALIDATION_SHARE = 0.2
MIN_INTERACTIONS = 5


def _generator():
    """data/generate.py as a module (it is data tooling, not a package of the increment)."""
    spec = importlib.util.spec_from_file_location("increment_0042_generate", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_interactions() -> Path:
    """Generate data/interactions.csv.gz (seed 42) unless it exists; returns its path.

    Written atomically, so pytest-xdist workers that race here each write the same bytes and
    readers never see a partial file. The shipped data/items.csv must be the catalogue the
    generator makes: a mismatch (the generator changed, items.csv was not regenerated) stops
    the run instead of pairing interactions with the wrong catalogue.
    """
    if INTERACTIONS.exists():
        return INTERACTIONS
    generator = _generator()
    _, catalogue, _ = generator.write_files(DATA_DIR, generator.SEED,
                                            files=(INTERACTIONS.name,))
    shipped = read_data_file(DATA_DIR / "items.csv", "items", keep_default_na=False)
    expected = pd.read_csv(io.StringIO(catalogue.to_csv(index=False)), keep_default_na=False)
    if not shipped.equals(expected):
        INTERACTIONS.unlink(missing_ok=True)
        raise RuntimeError(
            f"{DATA_DIR / 'items.csv'} is not the catalogue {GENERATOR.name} generates: "
            f"regenerate the data (python data/generate.py, from the increment folder)"
        )
    return INTERACTIONS


COLUMNS = {"interactions": ("user_id", "item_id", "timestamp"),
           "items": ("item_id", "topic", "topics", "release_date")}


class DataFileError(RuntimeError):
    """A data file that is missing or cannot be read as the increment expects."""


def read_data_file(path: Path, kind: str, **read_csv) -> pd.DataFrame:
    """`path` as a DataFrame with the columns of `kind` (COLUMNS), or a DataFileError naming the
    file and what was expected: no parser traceback to dig through."""
    expected = ", ".join(COLUMNS[kind])
    hint = ("delete it and run again: conftest.py regenerates it (data/generate.py, seed 42)"
            if path == INTERACTIONS else "restore it from the repository (or python "
            "data/generate.py, from the increment folder)")
    if not path.is_file():
        raise DataFileError(f"{path} does not exist: expected a CSV with columns {expected}; "
                            f"{hint}")
    try:
        df = pd.read_csv(path, **read_csv)
    except (OSError, EOFError, ValueError, zlib.error) as err:  # gzip, unicode, parser errors
        raise DataFileError(f"{path} cannot be read as a CSV with columns {expected} "
                            f"({type(err).__name__}: {err}); {hint}") from None
    missing = [c for c in COLUMNS[kind] if c not in df.columns]
    if missing or df.empty:
        what = f"no column {', '.join(missing)}" if missing else "no rows"
        found = ", ".join(map(str, df.columns)) or "none"
        raise DataFileError(f"{path} has {what}: expected columns {expected} (found: {found}); "
                            f"{hint}")
    for column in ("user_id", "item_id", "timestamp", "topic"):
        if column in COLUMNS[kind] and not pd.api.types.is_integer_dtype(df[column]):
            bad = df[pd.to_numeric(df[column], errors="coerce").isna()].index[:3]
            lines = ", ".join(str(i + 2) for i in bad)  # line 1 is the header
            raise DataFileError(f"{path}: column {column} must hold integers (first offending "
                                f"lines: {lines}); {hint}")
    return df


def load_interactions(path: Path = INTERACTIONS) -> pd.DataFrame:
    if path == INTERACTIONS:
        ensure_interactions()
    return read_data_file(path, "interactions").astype(
        {"user_id": "int64", "item_id": "int64", "timestamp": "int64"})


def split_by_time(
    interactions: pd.DataFrame,
    test_share: float = TEST_SHARE,
    validation_share: float = VALIDATION_SHARE,
    min_interactions: int = MIN_INTERACTIONS,
) -> dict[str, pd.DataFrame]:
    """Split each user's history by time into train / validation / test (see the shares above)."""
    df = interactions.sort_values(["user_id", "timestamp", "item_id"], kind="stable")
    df = df.reset_index(drop=True)
    position = df.groupby("user_id").cumcount().to_numpy()
    size = df.groupby("user_id")["item_id"].transform("size").to_numpy()
    n_test = np.maximum(1, np.rint(test_share * size)).astype(int)
    n_val = np.maximum(1, np.rint(validation_share * size)).astype(int)
    splittable = size >= min_interactions
    from_end = size - position  # 1 for a user's last interaction
    is_test = splittable & (from_end <= n_test)
    is_val = splittable & ~is_test & (from_end <= n_test + n_val)
    part = np.where(is_test, "test", np.where(is_val, "validation", "train"))
    return {
        name: df[part == name].reset_index(drop=True) for name in ("train", "validation", "test")
    }


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """BLAS and LAPACK (EASE's inverse, the SVD) on one thread for the session. On a machine
    that is busy (CI running several increments, or pytest-xdist workers) OpenBLAS threads
    waiting for a core slow a 3,706 x 3,706 inverse five-fold; on an idle one, a second thread
    saves about a second per inverse."""
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def increment_dir() -> Path:
    """The increment folder (where spec.md, data/ and experiments/ live)."""
    return INCREMENT_DIR


@pytest.fixture(scope="session")
def interactions() -> pd.DataFrame:
    """All interactions: user_id, item_id, timestamp (Unix seconds), one row per user-item pair
    (generated into data/ on first use)."""
    return load_interactions()


@pytest.fixture(scope="session")
def catalogue() -> pd.DataFrame:
    """The item catalogue: item_id, topic, release_date (empty when released before 2024)."""
    return read_data_file(DATA_DIR / "items.csv", "items", keep_default_na=False)


@pytest.fixture(scope="session")
def splits(interactions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """{"train", "validation", "test"}: per-user time-based split of the interactions."""
    return split_by_time(interactions)
