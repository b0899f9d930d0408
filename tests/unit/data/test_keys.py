"""Text order ids become integer keys at prepare, in the text's order; pandas users get the text back."""

import pandas as pd
import pytest
from helpers import MAPPING, good_rows

from crmlab import data, engine
from crmlab.core.schema import parse_config
from crmlab.engine import customer_tables

# Text order: "A-10" < "A-2" < "B-10" < "C-1" (character by character, not by number).
ORDER_IDS = ["B-10", "B-10", "A-2", "C-1", "A-10"]


def prepared(tmp_path, order_ids, how: str):
    frame = pd.DataFrame(good_rows()).assign(InvoiceNo=order_ids)
    if how == "csv, read whole by pandas":
        path = tmp_path / "sales.csv"
        frame.to_csv(path, index=False)
        dataset = {"date_format": "%Y-%m-%d"}
    else:
        path = tmp_path / "sales.parquet"
        frame.assign(InvoiceDate=pd.to_datetime(frame["InvoiceDate"])).to_parquet(path, index=False)
        dataset = {}
    config = parse_config({"dataset": {"name": "shop", "source": "file", "path": str(path), "columns": MAPPING,
                                       **dataset}, "data_dir": str(tmp_path / "data")})
    streamed = data.streamable(config.dataset, path) is not None
    assert streamed == (how == "typed Parquet, checked by DuckDB")
    return config, data.prepare(config)


@pytest.mark.parametrize("how", ["csv, read whole by pandas", "typed Parquet, checked by DuckDB"])
def test_text_order_ids_are_keys_in_text_order_and_load_as_written(tmp_path, how):
    config, manifest = prepared(tmp_path, ORDER_IDS, how)
    stored = pd.read_parquet(config.processed_dir / data.TRANSACTIONS)
    lookup = pd.read_parquet(config.processed_dir / data.ORDER_IDS)
    assert pd.api.types.is_integer_dtype(stored["order_id"])
    # The first key is the first id in text order, the last the last: "A-10" before "A-2".
    assert lookup["key"].tolist() == [0, 1, 2, 3]
    assert lookup["order_id"].tolist() == ["A-10", "A-2", "B-10", "C-1"]
    written = dict(zip(lookup["key"], lookup["order_id"]))
    table = data.load_transactions(config.processed_dir)
    assert table["order_id"].tolist() == [written[k] for k in stored["order_id"]]
    source = pd.DataFrame(good_rows()).assign(InvoiceNo=ORDER_IDS)
    assert (sorted(zip(table["customer_id"], table["order_id"], table["product_id"]))
            == sorted(zip(source["CustomerID"], source["InvoiceNo"], source["StockCode"])))
    assert manifest["orders"] == 4
    # The engine counts the same orders on the keys.
    summary = customer_tables.customer_activity(engine.lines(config.processed_dir))
    assert summary["orders"].to_dict() == table.groupby("customer_id")["order_id"].nunique().to_dict()


@pytest.mark.parametrize("how", ["csv, read whole by pandas", "typed Parquet, checked by DuckDB"])
def test_whole_number_order_ids_after_text_ones_leave_no_lookup(tmp_path, how):
    config, _ = prepared(tmp_path, ORDER_IDS, how)
    assert (config.processed_dir / data.ORDER_IDS).exists()
    config, _ = prepared(tmp_path, [7, 7, 8, 9, 10], how)
    # A lookup left from the text ids would turn these order ids into others.
    assert not (config.processed_dir / data.ORDER_IDS).exists()
    assert data.load_transactions(config.processed_dir)["order_id"].tolist() == [7, 7, 8, 9, 10]
