"""Frequent itemsets with exact basket counts, mined by mlxtend (or by Spark's FPGrowth on a Spark table)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from crmlab import engine
from crmlab.core.machine import available_cores
from crmlab.engine import item_tables
from crmlab.models.itemsets.encoding import Encoded
from crmlab.models.parallel import fork_map

# What mines on the Spark engine, whatever ``miner`` says: the baskets stay in the cluster.
SPARK_MINER = "pyspark.ml.fpm.FPGrowth on collect_set baskets of the frequent items"


MINERS = {
    "eclat": "bit-set Eclat (NumPy): each item's baskets as packed bits, counts by AND and popcount",
    "hmine-projected": "mlxtend hmine_driver per item on its projected baskets (dense bool)",
    "hmine": "mlxtend hmine on the pruned dense bool frame",
    "fpgrowth": "mlxtend fpgrowth on the pruned dense bool frame",
    "apriori": "mlxtend apriori (low_memory) on the pruned dense bool frame",
}


def mine(encoded: Encoded, max_len: int | None = None, miner: str = "eclat",
         workers: int | None = None) -> pd.DataFrame:
    """Frequent itemsets with exact basket counts, mined by mlxtend.

    Returns one row per itemset: ``items`` (tuple of names, rarest first),
    ``size``, ``count`` (baskets) and ``support`` (count / baskets).

    Miners (see :data:`MINERS`): the default, ``"eclat"``, holds each
    frequent item's baskets as packed bits and walks the itemsets depth
    first, an itemset's count being the popcount of its items' AND;
    ``"hmine-projected"`` calls mlxtend's ``hmine_driver`` once per item on
    the baskets holding it and the columns after it; the others hand the
    pruned matrix to mlxtend's ``hmine``, ``fpgrowth`` or ``apriori``.
    ``workers`` processes share the first items of the walk (default: the
    machine's cores, up to 4; 1 on small inputs, where starting processes
    costs more than it saves). All find the same itemsets and counts.

    Examples
    --------
    >>> from crmlab.models.itemsets import encoding
    >>> lines = pd.DataFrame({"order_id": [1, 1, 2, 2, 3], "category": ["a", "b", "a", "b", "a"]})
    >>> mine(encoding.encode(lines, "category", 2))[["items", "count"]]
        items  count
    0    (a,)      3
    1    (b,)      2
    2  (b, a)      2
    """
    if miner not in MINERS:
        raise ValueError(f"miner must be one of {', '.join(MINERS)}, got {miner!r}")
    multi: list[tuple[tuple[int, ...], int]] = []
    if max_len != 1 and encoded.n_multi and len(encoded.items) > 1:
        if miner == "eclat":
            multi = _mine_bitsets(encoded, max_len, workers)
        elif miner == "hmine-projected":
            multi = _mine_projected(encoded.baskets, encoded.min_count, encoded.n_baskets, max_len, workers)
        else:
            multi = _mine_frame(encoded.matrix, encoded, max_len, miner)
    singles = [((i,), int(c)) for i, c in enumerate(encoded.item_counts)]
    return itemset_table(singles + multi, encoded)


def itemset_table(rows: list[tuple[tuple[int, ...], int]], encoded: Encoded) -> pd.DataFrame:
    """Itemsets as (column positions, basket count) rows -> the itemsets table, in one fixed order."""
    rows = [(codes, count) for codes, count in rows if count >= encoded.min_count]
    # A fixed order whatever the miner or the number of processes.
    rows.sort(key=lambda row: (len(row[0]), -row[1], row[0]))
    frame = pd.DataFrame(rows, columns=["codes", "count"])
    frame["items"] = [tuple(encoded.items[list(c)]) for c in frame["codes"]]
    frame["size"] = frame["codes"].map(len)
    frame["support"] = frame["count"] / encoded.n_baskets
    return frame


def mine_in_engine(transactions, encoded: Encoded, max_len: int | None = None,
                   min_confidence: float = 0.3) -> pd.DataFrame:
    """:func:`mine` for a Spark table: Spark's FPGrowth mines the baskets where they are.

    The same itemsets table with the same exact counts as the local miners
    (the Spark test compares every figure).
    """
    found = item_tables.spark_itemsets(engine.lines(transactions), encoded.level, encoded.values,
                                       encoded.min_count, min_confidence, max_len)
    return itemset_table(found, encoded)


# Below this many cells (baskets x frequent items) one process is faster.
PARALLEL_CELLS = 2_000_000
# Below this many 64-bit words of baskets' bits one process is faster (complete_journey's categories: 261,495).
PARALLEL_WORDS = 2_000_000
# More processes than this gain little: the shares' costs are uneven.
MAX_WORKERS = 4


def _mine_items(shared: dict[str, Any], items: list[int]) -> list[tuple[tuple[int, ...], int]]:
    """Itemsets of two or more items whose rarest item is one of ``items``: (column indices, basket count)."""
    from mlxtend.frequent_patterns.hmine import hmine_driver

    X, by_item, min_count, n_baskets, max_len = (shared[k] for k in ("X", "by_item", "min_count", "n_baskets",
                                                                     "max_len"))
    out = []
    for i in items:
        # The baskets holding item i, and only the items after it: all that i's branch can use.
        projected = X[by_item.indices[by_item.indptr[i]:by_item.indptr[i + 1]]][:, i:]
        # Local pruning: an item bought with i in fewer than min_count baskets can
        # extend no itemset of i's branch, at any depth, so it leaves the matrix now.
        columns = np.flatnonzero(np.bincount(projected.indices, minlength=projected.shape[1]) >= min_count)
        if len(columns) < 2:
            continue
        projected = projected[:, columns]
        # Baskets with nothing besides i can hold no pair of this branch; only what is left becomes dense.
        projected = projected[np.flatnonzero(np.diff(projected.indptr) >= 2)].toarray()
        found = hmine_driver([0], projected, min_count, n_baskets, max_len, 0, columns + i, {})
        # Plain ints travel back from a worker process much faster than numpy scalars.
        out.extend((tuple(sorted(int(c) for c in s)), round(v * n_baskets)) for s, v in found.items())
    return out


def _mine_projected(X: sparse.csr_array, min_count: int, n_baskets: int, max_len: int | None,
                    workers: int | None) -> list[tuple[tuple[int, ...], int]]:
    if workers is None:
        workers = min(MAX_WORKERS, available_cores()) if X.shape[0] * X.shape[1] >= PARALLEL_CELLS else 1
    # Items as rows (CSC): the baskets of one item are one contiguous run of row numbers.
    shared = {"X": X, "by_item": X.tocsc(), "min_count": min_count, "n_baskets": n_baskets, "max_len": max_len}
    items = list(range(X.shape[1] - 1))
    # Interleaved shares: branch costs grow and shrink smoothly along the item order.
    shares = [items[w::workers] for w in range(workers)] if workers > 1 else [items]
    return [row for part in fork_map(_mine_items, shares, shared, workers=workers) for row in part]


# Bits ANDed at once at most (in 64-bit words): 64 MB of candidates, whatever the number of baskets.
BLOCK_WORDS = 8_000_000


def bitsets(starts: np.ndarray, columns: np.ndarray, n_columns: int) -> np.ndarray:
    """Each column's rows as packed bits: (columns, words) uint64, bit r of column c set when row r holds c.

    Row r holds ``columns[starts[r]:starts[r + 1]]`` (repeats allowed).
    Rows are packed a block at a time, so the bytes unpacked at once stay
    near :data:`BLOCK_WORDS` whatever the number of rows.

    Examples
    --------
    >>> bitsets(np.array([0, 1, 3, 4]), np.array([0, 0, 1, 1]), 2).tolist()
    [[3], [6]]
    """
    n = len(starts) - 1
    words = -(-n // 64)
    out = np.zeros((n_columns, words), dtype=np.uint64)
    block = max(64, BLOCK_WORDS // max(1, n_columns) // 64 * 64)
    for first in range(0, n, block):
        last = min(n, first + block)
        width = -(-(last - first) // 64) * 64
        lines = slice(starts[first], starts[last])
        rows = np.repeat(np.arange(last - first, dtype=np.int64), np.diff(starts[first:last + 1]))
        bits = np.zeros(n_columns * width, dtype=bool)
        bits[columns[lines].astype(np.int64) * width + rows] = True
        packed = np.packbits(bits.reshape(n_columns, width), axis=1, bitorder="little").view(np.uint64)
        out[:, first // 64:first // 64 + packed.shape[1]] = packed
    return out


def _extensions(bits: np.ndarray, first: int, min_count: int, keep_bits: bool):
    """The items after ``first`` frequent together with it: their positions, counts and (when asked) bits."""
    rest = bits[first + 1:]
    block = max(1, BLOCK_WORDS // max(1, bits.shape[1]))
    if len(rest) <= block:
        joint = rest & bits[first]
        counts = np.bitwise_count(joint).sum(axis=1, dtype=np.int64)
        kept = np.flatnonzero(counts >= min_count)
        return kept, counts[kept], (joint[kept] if keep_bits else None)
    # Many baskets: count block by block, then AND again only the rows that are kept.
    counts = np.concatenate([np.bitwise_count(rest[start:start + block] & bits[first]).sum(axis=1, dtype=np.int64)
                             for start in range(0, len(rest), block)])
    kept = np.flatnonzero(counts >= min_count)
    return kept, counts[kept], (rest[kept] & bits[first] if keep_bits else None)


def _walk(prefix: tuple[int, ...], bits: np.ndarray, items: np.ndarray, firsts, min_count: int,
          max_len: int | None, out: list) -> None:
    """Depth-first Eclat below ``prefix``: ``bits`` are its candidate items' baskets, already ANDed with it."""
    size = len(prefix) + 2
    for first in firsts:
        deeper = max_len is None or size < max_len
        kept, counts, joint = _extensions(bits, first, min_count, deeper)
        if not len(kept):
            continue
        head = (*prefix, int(items[first]))
        extended = items[first + 1:][kept]
        out.extend(((*head, item), count) for item, count in zip(extended.tolist(), counts.tolist()))
        if deeper and len(kept) > 1:
            _walk(head, joint, extended, range(len(kept) - 1), min_count, max_len, out)


def _mine_first_items(shared: dict[str, Any], firsts: list[int]) -> list[tuple[tuple[int, ...], int]]:
    out: list = []
    bits = shared["bits"]
    _walk((), bits, np.arange(len(bits)), firsts, shared["min_count"], shared["max_len"], out)
    return out


def _mine_bitsets(encoded: Encoded, max_len: int | None,
                  workers: int | None) -> list[tuple[tuple[int, ...], int]]:
    bits = bitsets(encoded.starts, encoded.columns, len(encoded.items))
    if workers is None:
        workers = min(MAX_WORKERS, available_cores()) if bits.size >= PARALLEL_WORDS else 1
    firsts = list(range(len(bits) - 1))
    # Interleaved shares: the walk below an item grows and shrinks smoothly along the item order.
    shares = [firsts[w::workers] for w in range(workers)] if workers > 1 else [firsts]
    shared = {"bits": bits, "min_count": encoded.min_count, "max_len": max_len}
    return [row for part in fork_map(_mine_first_items, shares, shared, workers=workers) for row in part]


def _mine_group(shared: dict[str, Any], group) -> pd.DataFrame:
    return mine(shared["encoded"][group], shared["max_len"], shared["miner"], workers=1)


def mine_groups(encoded: dict[Any, Encoded], max_len: int | None = None, miner: str = "eclat",
                workers: int | None = None) -> dict[Any, pd.DataFrame]:
    """:func:`mine` of several groups' baskets (from :func:`encode_groups`), the groups shared among processes.

    Each group is mined in one process (``workers``: default the machine's
    cores, up to 4 and the number of groups), largest group first.
    """
    groups = sorted(encoded, key=lambda g: -len(encoded[g].columns))
    if workers is None:
        cells = sum(e.n_multi * len(e.items) for e in encoded.values())
        workers = min(MAX_WORKERS, available_cores(), len(groups)) if cells >= PARALLEL_CELLS else 1
    shared = {"encoded": encoded, "max_len": max_len, "miner": miner}
    found = dict(zip(groups, fork_map(_mine_group, groups, shared, workers=workers)))
    return {group: found[group] for group in encoded}


def _mine_frame(X: np.ndarray, encoded: Encoded, max_len: int | None,
                miner: str) -> list[tuple[tuple[int, ...], int]]:
    from mlxtend.frequent_patterns import apriori, fpgrowth, hmine

    frame = pd.DataFrame(X, columns=range(X.shape[1]))
    # mlxtend takes a fraction of the rows it is given; half a basket below the
    # count keeps float rounding from dropping itemsets exactly on it.
    threshold = (encoded.min_count - 0.5) / len(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if miner == "hmine":
            result = hmine(frame, threshold, max_len=max_len)
        elif miner == "fpgrowth":
            result = fpgrowth(frame, threshold, max_len=max_len)
        else:
            result = apriori(frame, threshold, max_len=max_len, low_memory=True)
    # Supports come back relative to the mining rows: back to basket counts.
    return [(tuple(sorted(int(c) for c in itemset)), round(support * len(X)))
            for itemset, support in zip(result["itemsets"], result["support"]) if len(itemset) > 1]
