"""Builders the tests share: paths, small tables, configs and files written as other systems write them.

Imported by test modules (``from helpers import ...``); pytest fixtures live in ``conftest.py``.
"""

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "complete_journey_sample"
# Real basket data with known answers, next to the checkout; tests that need it skip where it is absent.
REFERENCE = ROOT.parent / "shared" / "reference"
needs_reference = pytest.mark.skipif(not (REFERENCE / "groceries" / "baskets.csv").exists(),
                                     reason="../shared/reference is not next to this checkout")


def good_rows() -> list[dict]:
    return [
        {"CustomerID": 1, "InvoiceNo": "A1", "InvoiceDate": "2021-01-05", "StockCode": "X",
         "Quantity": 2, "Price": 3.5},
        {"CustomerID": 1, "InvoiceNo": "A1", "InvoiceDate": "2021-01-05", "StockCode": "Y",
         "Quantity": 1, "Price": 10.0},
        {"CustomerID": 2, "InvoiceNo": "A2", "InvoiceDate": "2021-02-11", "StockCode": "X",
         "Quantity": 4, "Price": 3.5},
        {"CustomerID": 3, "InvoiceNo": "A3", "InvoiceDate": "2021-03-01", "StockCode": "Z",
         "Quantity": 1, "Price": 99.0},
        {"CustomerID": 2, "InvoiceNo": "A4", "InvoiceDate": "2021-03-20", "StockCode": "Y",
         "Quantity": 1, "Price": 10.0},
    ]


MAPPING = {"customer_id": "CustomerID", "order_id": "InvoiceNo", "order_date": "InvoiceDate",
           "product_id": "StockCode", "quantity": "Quantity", "unit_price": "Price"}


ONLINE_RETAIL_COLUMNS = {"customer_id": "CustomerID", "order_id": "InvoiceNo", "order_date": "InvoiceDate",
                         "product_id": "StockCode", "quantity": "Quantity", "unit_price": "UnitPrice"}


def online_retail_export(transactions: pd.DataFrame) -> pd.DataFrame:
    """The fixture's lines as an Online-Retail-style export: its eight columns, no category, US dates."""
    lines = transactions[transactions["quantity"] > 0]
    return pd.DataFrame({
        "InvoiceNo": lines["order_id"].astype(str),
        "StockCode": lines["product_id"].astype(str),
        "Description": lines["category"].astype(str).str.upper(),
        "Quantity": lines["quantity"].astype(int),
        "InvoiceDate": lines["order_date"].dt.strftime("%m/%d/%Y %H:%M"),
        "UnitPrice": (lines["revenue"] / lines["quantity"]).round(4),
        "CustomerID": lines["customer_id"].astype(str),
        "Country": "United Kingdom",
    })


def own_data_config(path: Path, data_dir: Path, **dataset) -> dict:
    """A config as a newcomer writes it for an Online-Retail-style file: columns mapped, every report on."""
    return {"dataset": {"name": "shop", "source": "file", "path": str(path), "columns": ONLINE_RETAIL_COLUMNS,
                        "date_format": "%m/%d/%Y %H:%M", **dataset},
            "data_dir": str(data_dir),
            "notebooks": {"profile": {}, "clv": {}, "deciles": {}, "segments": {}, "baskets": {}}}


def write_parquet_folder(lines: pd.DataFrame, folder, parts: int = 3, partition: str | None = None):
    """A Parquet folder as Spark writes one: part files in name order, a _SUCCESS marker, .crc checksums.

    With ``partition``, the parts go into Hive partition folders (``month=2017-01/``) by that column.
    """
    groups = (lines.groupby(partition, sort=True) if partition
              else [(None, lines.iloc[rows]) for rows in np.array_split(np.arange(len(lines)), parts)])
    for n, (key, chunk) in enumerate(groups):
        where = folder / f"{partition}={key}" if partition else folder
        where.mkdir(parents=True, exist_ok=True)
        chunk.drop(columns=[partition] if partition else []).to_parquet(where / f"part-{n:05d}.snappy.parquet",
                                                                        index=False)
        (where / f".part-{n:05d}.snappy.parquet.crc").write_bytes(b"not data")
    (folder / "_SUCCESS").write_text("")
    return folder


def lines_from(baskets_items: list[list[str]]) -> pd.DataFrame:
    """Lines of one basket per list, one line per item, at the category level."""
    rows = [(b, item) for b, items in enumerate(baskets_items) for item in items]
    return pd.DataFrame(rows, columns=["order_id", "category"])


def brute_force_itemsets(baskets_items, min_count):
    """Every itemset in at least ``min_count`` baskets, counted by enumerating each basket's subsets."""
    counts = {}
    for items in baskets_items:
        items = sorted(set(items))
        for size in range(1, len(items) + 1):
            for combo in itertools.combinations(items, size):
                counts[combo] = counts.get(combo, 0) + 1
    return {frozenset(k): v for k, v in counts.items() if v >= min_count}


# The pseudonym key of the shared bundle run (conftest.bundle_run): a test scans what is shared for it.
PSEUDONYM_KEY = "a-test-key-that-must-never-leak-3f9c"


def distinctive(ids: pd.Series) -> pd.Series:
    """Customer ids as ``K00123Q``: a scan for them cannot be fooled by a count or an amount equal to a short id."""
    return ids.map(lambda i: f"K{int(i):05d}Q")


def folder_digest(folder) -> dict:
    """Every file under ``folder`` with its SHA-256 and modification time: 'byte-identical' made checkable."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


class FreshVenv:
    """A new venv with requirements.lock installed, made in the background (``uv``, bytecode compiled).

    Installing and compiling the locked packages takes about half a minute; started with the first unit test
    (``conftest.py``), it runs beside the quick single-threaded tests, on the core they leave idle, and at a
    lower priority than they.
    """

    def __init__(self):
        import os
        import subprocess
        import sys
        import tempfile

        from uv import find_uv_bin

        self.folder = Path(tempfile.mkdtemp(prefix="crmlab-fresh-venv-"))
        self.venv = self.folder / "venv"
        # Only what a new shell would have: no trace of the test's own venv.
        self.env = {key: value for key, value in os.environ.items()
                    if key not in ("VIRTUAL_ENV", "PYTHONPATH", "JUPYTER_PATH", "JUPYTER_DATA_DIR")}
        uv = find_uv_bin()
        script = (f"set -e; '{uv}' venv --quiet --python '{sys.executable}' '{self.venv}'; "
                  f"'{uv}' pip install --quiet --compile-bytecode --python '{self.venv}/bin/python' "
                  f"-r '{ROOT / 'requirements.lock'}'")
        self._log = (self.folder / "install.log").open("w")
        self._process = subprocess.Popen(["nice", "-n", "10", "bash", "-c", script], env=self.env, stdout=self._log,
                                         stderr=subprocess.STDOUT)

    def wait(self) -> Path:
        """The venv, once installed; fails the test with uv's output if the install failed."""
        returncode = self._process.wait()
        self._log.close()
        assert returncode == 0, (self.folder / "install.log").read_text()[-3000:]
        return self.venv

    def remove(self) -> None:
        import shutil

        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
