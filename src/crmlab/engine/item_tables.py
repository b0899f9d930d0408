"""Per-item and per-basket queries for basket analysis, run in the engine.

A basket is an ``order_id``; an item is the value of one level column
(category, product_id or department) on a line, lines without one left out.
The engine counts items and prunes the rare ones; only the pruned pairs
(basket, frequent item) come back, as integer codes, for the miner.
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd

from crmlab.engine import batches, memtable, to_pandas
from crmlab.engine.customer_tables import day_number


def _basket_items(t, level: str, by: str | None = None):
    """Distinct (basket, item) pairs; with ``by``, (group, basket, item), each group's baskets apart."""
    items = t.filter(t[level].notnull())
    columns = {"order_id": items.order_id, "item": items[level]}
    return items.select(**({by: items[by]} if by else {}), **columns).distinct()


# How many lines (the table's first, as stored) multi_item_baskets reads before it counts them all.
EARLY_LINES = 100_000


def multi_item_baskets(t, level: str, *, enough: int | None = None, early_lines: int = EARLY_LINES) -> int:
    """Baskets holding at least two distinct items at ``level``.

    With ``enough``: the exact count when it is below ``enough``, else a count
    of at least ``enough``, taken from the first ``early_lines`` lines when
    they hold that many. Among part of the lines a basket holds no more
    distinct items than among all of them, so a part never counts more such
    baskets than the whole (any part: on Spark, whichever lines come first).
    A check that only asks "enough?" (the baskets report's) then reads a
    hundred thousand lines: at complete_journey x100 each count over all
    147M lines took about 100 s (``benchmarks/basket_check.py``).
    """
    if enough is not None:
        early = _multi_item_baskets(t.limit(early_lines), level)
        if early >= enough:
            return early
    return _multi_item_baskets(t, level)


def _multi_item_baskets(t, level: str) -> int:
    pairs = _basket_items(t, level)
    sizes = pairs.group_by("order_id").agg(n=pairs.count())
    multi = sizes.filter(sizes.n >= 2)
    return int(to_pandas(multi.aggregate(baskets=multi.count()))["baskets"].iloc[0])


def item_counts(t, level: str) -> tuple[pd.Series, int]:
    """Baskets holding each item, and the number of baskets with any item.

    The counts are sorted from the rarest item to the most common, ties by
    item ascending, so that every engine hands the miner the same columns.
    """
    counts, totals = _counts(t, level, None)
    counts = counts.sort_values(["baskets", "item"], kind="stable")
    return counts.set_index("item")["baskets"].astype("int64"), int(totals["baskets"].iloc[0])


def group_item_counts(t, level: str, by: str) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`item_counts` of every group of ``by`` at once (two queries, whatever the number of groups).

    Returns the counts (columns ``by``, ``item``, ``baskets``; within a group
    from the rarest item to the most common, ties by item ascending) and the
    baskets with any item per group.
    """
    counts, totals = _counts(t, level, by)
    n_baskets = totals.set_index(by)["baskets"].astype("int64")
    counts = counts.sort_values([by, "baskets", "item"], kind="stable", ignore_index=True)
    counts["baskets"] = counts["baskets"].astype("int64")
    return counts, n_baskets


def _counts(t, level: str, by: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baskets per item (and group of ``by``), and baskets with any item (per group), unsorted."""
    # Counted on distinct (group, basket, item) rows, not by a distinct count of orders per item: DuckDB
    # holds such a grouped distinct count in memory. At complete_journey x100 it ran out of the 2.35 GiB a
    # report gets beside another (5.4 GB of RSS with more room) per segment and item, and out of 2000MiB
    # for the whole window; the distinct rows spill. The baskets with any item come apart: derived from
    # the same distinct rows in one query, they took about twice as long at x100 (79 s a call, against
    # 38-46 s for these two queries, per segment).
    keys = [by] if by else []
    pairs = _basket_items(t, level, by)
    counts = to_pandas(pairs.group_by([*keys, "item"]).agg(baskets=pairs.count()))
    lines = t.filter(t[level].notnull())
    baskets = lines.order_id.nunique()
    totals = lines.group_by(keys).agg(baskets=baskets) if keys else lines.aggregate(baskets=baskets)
    return counts, to_pandas(totals)


def _positions(items) -> "ibis.Table":
    """A small table item -> its column position, joined in the engine so that only integers come back."""
    return memtable(pd.DataFrame({"item": pd.Index(items).tolist(),
                                  "position": np.arange(len(items), dtype=_smallest_int(len(items)))}))


def _sorted_codes(expr, key: str | tuple[str, ...], columns: dict[str, type], batch_rows: int = 2_000_000):
    """Run ``expr`` (ordered by ``key`` first) and read it batch by batch.

    Returns dense int32 codes 0..n-1 of ``key`` (a new code wherever the value,
    or one of the values of a tuple of key columns, changes) and the other
    ``columns`` as NumPy arrays of the given dtypes.
    Only one Arrow batch is held at a time besides the compact arrays: at 150M
    lines a whole Arrow result with 64-bit ids would take more memory than the
    arrays it becomes.
    """
    keys = (key,) if isinstance(key, str) else key
    codes, parts = [], {name: [] for name in columns}
    last, n_codes = None, 0
    for batch in batches(expr, batch_rows):
        if batch.num_rows == 0:
            continue
        new = np.zeros(batch.num_rows, dtype=bool)
        for name in keys:
            values = batch.column(name).to_numpy(zero_copy_only=False)
            new[0] |= last is None or values[0] != last[name]
            new[1:] |= values[1:] != values[:-1]
        codes.append((n_codes - 1 + np.cumsum(new)).astype(np.int32))
        n_codes = int(codes[-1][-1]) + 1
        last = {name: batch.column(name)[-1].as_py() for name in keys}
        for name, dtype in columns.items():
            parts[name].append(batch.column(name).to_numpy().astype(dtype))
    # One column at a time, each column's batches let go once joined: the batches and the joined arrays
    # of every column at once would take twice the result's memory (1.6 GB at complete_journey x100).
    out = [_joined(codes, np.int32)]
    for name, dtype in columns.items():
        out.append(_joined(parts.pop(name), dtype))
    return tuple(out)


def _joined(batches: list[np.ndarray], dtype) -> np.ndarray:
    """The arrays of ``batches`` as one (emptying the list, so that each batch can go once copied)."""
    if not batches:
        return np.zeros(0, dtype=dtype)
    joined = np.concatenate(batches)
    batches.clear()
    return joined


def _smallest_int(largest: int) -> type:
    return np.int16 if largest < 2**15 else np.int32


def _basket_lists(t, level: str, positions, by: list[str]):
    """Each basket's positions, for the baskets with two or more distinct ones, sorted by ``by`` and basket.

    The lines meet ``positions`` (``item`` -> ``position``, and the ``by``
    columns when given) before anything else: the join drops rare and
    missing items. A position bought on several lines of a basket comes
    once per line (:func:`_csr_parts` drops the repeats): gathering distinct
    positions, or a distinct (basket, item) table first, took twice as long.
    """
    lines = t.filter(t[level].notnull())
    lines = lines.join(positions, [*by, lines[level] == positions.item])
    baskets = lines.group_by([*by, "order_id"]).agg(positions=lines.position.collect(),
                                                   low=lines.position.min(), high=lines.position.max())
    return baskets.filter(baskets.low < baskets.high).order_by([*by, "order_id"])


def _csr_parts(column, n_positions: int) -> tuple[np.ndarray, np.ndarray]:
    """An Arrow list column of positions below ``n_positions`` as CSR parts: row starts (int64) and the
    values as they come, in 16 bits when they fit, else 32."""
    dtype = _smallest_int(n_positions)
    lists = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if len(lists) == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=dtype)
    offsets = lists.offsets.to_numpy().astype(np.int64)
    # A sliced list array's values start at its first offset. The values are held by the fitted analysis
    # for the rest of its fit: 16 bits spare about 250 MB of them at complete_journey x100.
    return offsets - offsets[0], lists.values.to_numpy()[offsets[0]:offsets[-1]].astype(dtype, copy=False)


def frequent_item_baskets(t, level: str, items) -> tuple[np.ndarray, np.ndarray]:
    """The baskets holding two or more of ``items``, as CSR parts.

    Returns ``starts`` (int64, one more than the baskets) and ``columns``
    (int16, or int32 beyond 32,767 items): basket b's lines hold the items at positions
    ``columns[starts[b]:starts[b + 1]]`` of ``items``, in no fixed order,
    an item once per line.
    Baskets are numbered in order of ``order_id``. Only these integers leave
    the engine.
    """
    kept = _basket_lists(t, level, _positions(items), []).select("positions")
    return _csr_parts(kept.to_pyarrow().column("positions"), len(items))


def group_frequent_item_baskets(t, level: str, by: str,
                                items: dict[Any, list]) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
    """:func:`frequent_item_baskets` of several groups of ``by`` in one query.

    ``items`` (not empty) gives each group its frequent items, in column
    order; the result gives each group its CSR parts, baskets numbered
    0..n-1 within the group in order of ``order_id``.
    """
    groups = list(items)
    widest = max(len(found) for found in items.values())
    positions = memtable(pd.DataFrame({
        "_group": np.repeat(np.arange(len(groups), dtype=np.int32), [len(items[g]) for g in groups]),
        "item": [item for g in groups for item in items[g]],
        "position": np.concatenate([np.arange(len(items[g]), dtype=_smallest_int(widest)) for g in groups])}))
    labels = memtable(pd.DataFrame({by: groups, "_group": np.arange(len(groups), dtype=np.int32)}))
    kept = _basket_lists(t.join(labels, by), level, positions, ["_group"])
    result = kept.select("_group", "positions").to_pyarrow()
    starts, columns = _csr_parts(result.column("positions"), widest)
    bounds = np.searchsorted(result.column("_group").to_numpy(), np.arange(len(groups) + 1))
    out = {}
    for code, name in enumerate(groups):
        first, last = bounds[code], bounds[code + 1]
        part = starts[first:last + 1]
        out[name] = (part - part[0], columns[part[0]:part[-1]])
    return out


def item_categories(t, products) -> pd.Series:
    """The category of each product (the smallest, when the data gives a product several)."""
    lines = t.filter(t.product_id.isin(list(products)) & t.category.notnull())
    table = to_pandas(lines.group_by("product_id").agg(category=lines.category.min()))
    return table.set_index("product_id")["category"]


def customer_day_items(t, level: str, max_items: int) -> tuple[pd.DataFrame, pd.Series, int, int, int]:
    """Distinct (customer, day, item) purchases of the ``max_items`` items bought by most customers.

    Returns the purchases (``customer`` code in order of customer id, ``day``
    from the first day of the data, ``item`` position in the top list),
    sorted by customer and day (day and item in 16 bits when they fit), the top items with their
    customer counts (ties by item ascending), the number of customers in the
    data, and the first and last day of the data.
    """
    day = day_number(t)
    window = to_pandas(t.aggregate(first=day.min(), last=day.max(), customers=t.customer_id.nunique())).iloc[0]
    first_day, last_day, n_customers = int(window["first"]), int(window["last"]), int(window["customers"])
    lines = t.filter(t[level].notnull())
    # Counted on the lines, not on distinct (customer, day, item) purchases first: the same counts in
    # less than half the time (0.66 s against 1.49 s at complete_journey x10).
    buyers = to_pandas(lines.group_by(item=lines[level]).agg(customers=lines.customer_id.nunique()))
    top = (buyers.sort_values(["customers", "item"], ascending=[False, True], kind="stable")
           .head(max_items).set_index("item")["customers"].astype("int64"))
    # The top items are joined before the purchases are made distinct, so fewer lines reach the distinct.
    positions = _positions(top.index)
    kept = lines.join(positions, lines[level] == positions.item)
    kept = (kept.select(customer_id=kept.customer_id, day=day_number(kept) - first_day, position=kept.position)
            .distinct().order_by(["customer_id", "day", "position"]))
    customer, day, item = _sorted_codes(kept, "customer_id", {"day": _smallest_int(last_day - first_day),
                                                              "position": _smallest_int(len(top))})
    frame = pd.DataFrame({"customer": customer, "day": day, "item": item}, copy=False)
    return frame, top, n_customers, first_day, last_day


def runs_on_spark(t) -> bool:
    """True when ``t`` is a table of the Spark engine."""
    return t._find_backend(use_default=True).name == "pyspark"


def spark_itemsets(t, level: str, items, min_count: int, min_confidence: float,
                   max_len: int | None = None) -> list[tuple[tuple[int, ...], int]]:
    """Frequent itemsets mined by Spark's FPGrowth: (positions in ``items``, basket count).

    The baskets are ``collect_set`` of their frequent items. FPGrowth's own
    defaults (``minSupport`` 0.3, ``minConfidence`` 0.8) find nothing in retail
    baskets, so ours are always passed: the support as a fraction of the
    baskets it is given, half a basket below ``min_count`` (FPGrowth rounds
    ``minSupport * baskets`` up, so the count threshold is exactly ``min_count``).
    """
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F

    backend = t._find_backend()
    pairs = _basket_items(t, level).join(_positions(items), "item").select("order_id", "position")
    backend._run_pre_execute_hooks(pairs)
    baskets = (backend._session.sql(backend.compile(pairs))
               .groupBy("order_id").agg(F.collect_set("position").alias("items")).select("items").cache())
    n = baskets.count()
    if n == 0:
        return []
    model = FPGrowth(itemsCol="items", minSupport=(min_count - 0.5) / n, minConfidence=min_confidence).fit(baskets)
    found = model.freqItemsets.toPandas()
    baskets.unpersist()
    return [(tuple(sorted(int(i) for i in itemset)), int(freq)) for itemset, freq in zip(found["items"], found["freq"])
            if max_len is None or len(itemset) <= max_len]
