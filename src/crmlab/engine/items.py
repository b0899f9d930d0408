"""Per-item and per-basket queries for basket analysis, run in the engine.

A basket is an ``order_id``; an item is the value of one level column
(category, product_id or department) on a line, lines without one left out.
The engine counts items and prunes the rare ones; only the pruned pairs
(basket, frequent item) come back, as integer codes, for the miner.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import to_pandas
from .customers import day_number


def _basket_items(t, level: str):
    items = t.filter(t[level].notnull())
    return items.select(order_id=items.order_id, item=items[level]).distinct()


def multi_item_baskets(t, level: str) -> int:
    """Baskets holding at least two distinct items at ``level``."""
    pairs = _basket_items(t, level)
    sizes = pairs.group_by("order_id").agg(n=pairs.count())
    multi = sizes.filter(sizes.n >= 2)
    return int(to_pandas(multi.aggregate(baskets=multi.count()))["baskets"].iloc[0])


def item_counts(t, level: str) -> tuple[pd.Series, int]:
    """Baskets holding each item, and the number of baskets with any item.

    The counts are sorted from the rarest item to the most common, ties by
    item ascending, so that every engine hands the miner the same columns.
    """
    pairs = _basket_items(t, level)
    counts = to_pandas(pairs.group_by("item").agg(baskets=pairs.count()))
    n_baskets = int(to_pandas(pairs.aggregate(n=pairs.order_id.nunique()))["n"].iloc[0])
    counts = counts.sort_values(["baskets", "item"], kind="stable")
    return counts.set_index("item")["baskets"].astype("int64"), n_baskets


def frequent_item_baskets(t, level: str, items) -> tuple[np.ndarray, np.ndarray]:
    """(basket, column) codes of the baskets holding two or more of ``items``.

    ``column`` is the position of the item in ``items``; ``basket`` numbers
    the baskets 0..n-1 in no particular order (the miner counts, it does not
    care which basket is which).
    """
    pairs = _basket_items(t, level)
    pairs = pairs.filter(pairs.item.isin(list(items)))
    sizes = pairs.group_by("order_id").agg(n=pairs.count())
    multi = sizes.filter(sizes.n >= 2).select("order_id")
    kept = to_pandas(pairs.join(multi, "order_id").select("order_id", "item"))
    basket, _ = pd.factorize(kept["order_id"])
    column = pd.Index(list(items)).get_indexer(kept["item"])
    return basket.astype(np.int64), column.astype(np.int64)


def item_categories(t, products) -> pd.Series:
    """The category of each product (the smallest, when the data gives a product several)."""
    lines = t.filter(t.product_id.isin(list(products)) & t.category.notnull())
    table = to_pandas(lines.group_by("product_id").agg(category=lines.category.min()))
    return table.set_index("product_id")["category"]


def customer_day_items(t, level: str, max_items: int) -> tuple[pd.DataFrame, pd.Series, int, int, int]:
    """Distinct (customer, day, item) purchases of the ``max_items`` items bought by most customers.

    Returns the purchases (``customer`` code, ``day`` from the first day of
    the data, ``item`` position in the top list), the top items with their
    customer counts (ties by item ascending), the number of customers in the
    data, and the first and last day of the data.
    """
    day = day_number(t)
    window = to_pandas(t.aggregate(first=day.min(), last=day.max(), customers=t.customer_id.nunique())).iloc[0]
    first_day, last_day, n_customers = int(window["first"]), int(window["last"]), int(window["customers"])
    lines = t.filter(t[level].notnull())
    events = lines.select(customer_id=lines.customer_id, day=day_number(lines) - first_day,
                          item=lines[level]).distinct()
    buyers = to_pandas(events.group_by("item").agg(customers=events.customer_id.nunique()))
    top = (buyers.sort_values(["customers", "item"], ascending=[False, True], kind="stable")
           .head(max_items).set_index("item")["customers"].astype("int64"))
    kept = to_pandas(events.filter(events.item.isin(list(top.index))))
    customer, _ = pd.factorize(kept["customer_id"])
    frame = pd.DataFrame({"customer": customer.astype(np.int64), "day": kept["day"].to_numpy(dtype=np.int64),
                          "item": pd.Index(top.index).get_indexer(kept["item"]).astype(np.int64)})
    return frame, top, n_customers, first_day, last_day
