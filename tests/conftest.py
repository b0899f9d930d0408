from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "complete_journey_sample"


@pytest.fixture
def sales_csv(tmp_path):
    """Write a small sales file in a user's own column names; returns a writer."""

    def write(rows: list[dict], name: str = "sales.csv") -> Path:
        path = tmp_path / name
        pd.DataFrame(rows).to_csv(path, index=False)
        return path

    return write


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


@pytest.fixture(scope="session")
def bundled():
    """Canonical tables of the bundled datasets, read and validated once per test session."""
    from crmlab import data
    from crmlab.core.config import parse_config

    cache = {}

    def table(source: str) -> pd.DataFrame:
        if source not in cache:
            # As in configs/: CDNOW's exact duplicates are genuine repeat purchases.
            policy = {"duplicates": "keep"} if source.startswith("cdnow") else {}
            config = parse_config({"dataset": {"source": source, **policy}})
            lines, labels, _ = data.read_lines(config.dataset, data.source_files(config.dataset))
            cache[source] = data.validate(lines, config.dataset, labels)[0]
        return cache[source]

    return table


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
