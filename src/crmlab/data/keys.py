"""Dense integer keys for text order ids: the prepared table groups and joins on integers.

Order ids as exports write them (``#1001``, ``31198570044-17``) are text, and
every basket query groups 147M lines by them at complete_journey x100. DuckDB
groups, sorts and joins integers faster than text longer than the 12 bytes it
keeps inline: the baskets analysis of complete_journey x10 with text ids took
about 18% longer than on the same table with keys. So :func:`crmlab.data.prepare`
writes a text ``order_id`` as a key, and the text, as written, into
``order_ids.parquet`` (:data:`~crmlab.core.writing.ORDER_IDS`): ``key`` and
``order_id``. :func:`crmlab.data.load_transactions` puts the text back.

The keys are 0, 1, ... in the order of the text (byte order, which is also
Python's order of the characters), so anything ordered by order id comes out
in the same order as before. No report shows an order id; customer ids, which
the exports and pseudonyms show, stay as written.

Examples
--------
>>> keys, lookup = order_keys(pd.Series(["b-2", "a-1", "b-2"], dtype="string"))
>>> keys.tolist(), lookup["order_id"].tolist()
([1, 0, 1], ['a-1', 'b-2'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmlab.data.validation import COMPACT_ID


def plain_numbers(con, table: str, column: str) -> bool:
    """True when ``column`` holds an id and every id is a plain whole number (``COMPACT_ID``): stored as integers.

    Two searches that stop at the first line found (with text ids, the first
    line), not a test of every line.
    """
    def found(where: str) -> bool:
        return bool(con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {where} LIMIT 1)").fetchone()[0])

    return not found(f"NOT regexp_full_match({column}, '{COMPACT_ID}')") and found(f"{column} IS NOT NULL")


def order_keys(ids: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
    """Keys for text order ids (int64, in the text's order) and the lookup: ``key``, ``order_id`` as written."""
    written = np.sort(ids.dropna().unique().astype(object))
    keys = pd.Series(pd.Categorical(ids, categories=written).codes, index=ids.index).astype("int64")
    if ids.isna().any():
        keys = keys.where(ids.notna()).astype("Int64")
    return keys, pd.DataFrame({"key": np.arange(len(written), dtype="int64"),
                               "order_id": pd.array(written, dtype="string")})


def key_orders_in_duckdb(con, lines: str) -> str:
    """Number the distinct text order ids of the view ``lines`` into the table ``order_keys``.

    Returns the join that gives each line its key as ``order_key``; the lookup
    is ``SELECT key, order_id FROM order_keys``. Only the distinct ids are
    sorted, not the lines (15.6M ids against 147M lines at x100).
    """
    con.execute(f"""CREATE TEMP TABLE order_keys AS
        SELECT CAST(row_number() OVER (ORDER BY order_id) - 1 AS BIGINT) AS key, order_id
        FROM (SELECT DISTINCT order_id FROM {lines} WHERE order_id IS NOT NULL)""")
    return (f" LEFT JOIN (SELECT key AS order_key, order_id AS _written_order_id FROM order_keys) "
            f"ON {lines}.order_id = _written_order_id")


def with_written_orders(table: pd.DataFrame, lookup: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its order keys replaced by the order ids as written (the lookup of :func:`order_keys`)."""
    written = lookup.sort_values("key")["order_id"].to_numpy()
    keys = table["order_id"]
    text = pd.Series(pd.array([None] * len(keys), dtype="string"), index=table.index)
    present = keys.notna().to_numpy()
    text[present] = written[keys[present].to_numpy(dtype="int64")]
    return table.assign(order_id=text)
