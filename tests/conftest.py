from pathlib import Path

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
