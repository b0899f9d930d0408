"""Basket rules and purchase sequences.

What sells together (frequent itemsets and association rules over baskets)
and what sells next (item Y bought within N days after item X).

The mining is mlxtend's; this module decides how mlxtend is fed, because that
decides speed and memory more than the algorithm does:

1. :func:`encode` builds the basket x item matrix straight from integer codes
   (no ``pd.crosstab``), drops items below the minimum support before any
   matrix exists, and keeps only baskets with two or more frequent items for
   mining (single-item supports come from exact counts). The matrix is
   sparse: at 150M lines it holds 11M baskets, and a dense copy (with the
   transposed one the miner reads) would take 3.3 GB.
2. :func:`mine` runs mlxtend's H-Mine one item at a time on that item's
   projected baskets, restricted to the items after it (items ordered from
   rarest to most common), instead of handing the whole matrix to
   ``hmine()``. Same itemsets, a fraction of the work; only one projection
   at a time is dense.
3. :func:`association_rules` derives rules from exact integer counts, so a
   rule that sits exactly on a threshold (16/20 = 0.8) is kept.

:func:`sequence_rules` answers "bought X, then Y within N days".
:class:`BasketAnalysis` runs it all with the notebook's parameters.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from . import engine
from .availability import NotAvailable
from .constraints import Interval, Options, validate
from .engine import customers as customer_tables
from .engine import items as item_tables
from .report import number, pct

LEVELS = ("product_id", "category", "department")
# level="auto" takes the coarsest of these the data has (department only when asked for).
AUTO_LEVELS = ("category", "product_id")
# Rules need baskets holding two items; with fewer than this many, rules are anecdotes.
MIN_MULTI_ITEM_BASKETS = 100
# A fractional minimum support never means fewer baskets than this: on a small file 1% is one or two
# baskets, every combination in them is "frequent", and mining them all can exhaust the memory.
MIN_SUPPORT_BASKETS = 10

# What mines on the Spark engine, whatever ``miner`` says: the baskets stay in the cluster.
SPARK_MINER = "pyspark.ml.fpm.FPGrowth on collect_set baskets of the frequent items"

MINERS = {
    "hmine-projected": "mlxtend hmine_driver per item on its projected baskets (dense bool)",
    "hmine": "mlxtend hmine on the pruned dense bool frame",
    "fpgrowth": "mlxtend fpgrowth on the pruned dense bool frame",
    "apriori": "mlxtend apriori (low_memory) on the pruned dense bool frame",
}


# --------------------------------------------------------------------------- encoding


def min_basket_count(min_support: float | int, n_baskets: int) -> int:
    """Minimum support as a basket count: a fraction in (0, 1) or an absolute count (int >= 1).

    Exact: 0.001 of 9,835 baskets is 9.835, so at least 10 baskets.

    Examples
    --------
    >>> min_basket_count(0.001, 9835), min_basket_count(0.01, 200), min_basket_count(25, 9835)
    (10, 2, 25)
    """
    if isinstance(min_support, bool) or min_support <= 0:
        raise ValueError(f"min_support must be a fraction in (0, 1) or a basket count >= 1, got {min_support!r}")
    if isinstance(min_support, (int, np.integer)) or min_support >= 1:
        if float(min_support) != int(min_support):
            raise ValueError(f"min_support >= 1 is a basket count and must be whole, got {min_support!r}")
        return int(min_support)
    fraction = Fraction(str(min_support)) * n_baskets
    return max(1, int(-(-fraction.numerator // fraction.denominator)))


@dataclass
class Encoded:
    """Baskets x frequent items, ready for mining.

    ``baskets`` (sparse, bool) holds only baskets with at least two frequent
    items, columns ordered from the rarest to the most common item;
    ``item_counts`` are exact basket counts of every frequent item over all
    ``n_baskets`` baskets.
    """

    baskets: sparse.csr_array
    items: np.ndarray
    item_counts: np.ndarray
    n_baskets: int
    n_items: int
    min_count: int
    level: str
    # The frequent items as the data writes them (``items`` are the names for reports).
    values: np.ndarray | None = None

    @property
    def matrix(self) -> np.ndarray:
        """``baskets`` as a dense bool array, for the miners that take a whole frame."""
        return self.baskets.toarray()


def _check_level(t, level: str) -> None:
    if level not in t.columns:
        available = ", ".join(c for c in LEVELS if c in t.columns) or "no item column"
        raise ValueError(f"item level '{level}' is not a column of this dataset (it has {available}); set "
                         "notebooks.baskets.level to one it has, or 'baskets: false' to skip the report")


def readable_names(transactions, level: str, values) -> np.ndarray:
    """Item names for reports: products get their category beside the id, when the data has one."""
    t = engine.lines(transactions)
    values = pd.Index(values)
    if level != "product_id" or "category" not in t.columns:
        return np.array([str(v) for v in values], dtype=object)  # numeric product ids read as text
    category = item_tables.item_categories(t, values.tolist())
    return np.array([f"{v} ({category.get(v) if pd.notna(category.get(v)) else 'no category'})" for v in values],
                    dtype=object)


def resolve_level(transactions, level: str) -> str:
    """The item level to mine: ``level`` itself, or for ``"auto"`` the coarsest the data has.

    Raises
    ------
    crmlab.availability.NotAvailable
        When the data has no item column at all, or not the one asked for.

    Examples
    --------
    >>> resolve_level(pd.DataFrame({"order_id": [1], "product_id": ["A"]}), "auto")
    'product_id'
    """
    present = customer_tables.columns_with_values(engine.lines(transactions), LEVELS)
    if level == "auto":
        for candidate in AUTO_LEVELS:
            if candidate in present:
                return candidate
        raise NotAvailable("this dataset has no product or category column, so there are no items to find "
                           "in baskets", "a product id or category column, mapped under dataset.columns")
    if level not in present:
        raise NotAvailable(f"this dataset has no '{level}' column (it has "
                           f"{', '.join(present) or 'no item column'})",
                           "notebooks.baskets.level set to 'auto' or to a level the data has")
    return level


def multi_item_baskets(transactions, level: str) -> int:
    """Baskets holding at least two distinct items at ``level`` (counted in the engine)."""
    return item_tables.multi_item_baskets(engine.lines(transactions), level)


def encode(transactions, level: str = "category", min_support: float | int = 0.01,
           min_support_baskets: int = 1, *, matrix: bool = True) -> Encoded:
    """Build the basket x item matrix, pruned to frequent items.

    A basket is an ``order_id`` with at least one item at ``level`` (lines
    without one, e.g. a missing category, are left out). The engine counts
    the baskets of every item and drops those bought in fewer baskets than
    the minimum support; only the pairs (basket, frequent item) of baskets
    with two or more frequent items come back (others cannot hold a pair,
    but they count in the support). Columns run from the rarest item to the
    most common, ties by item. With ``matrix=False`` only the counts are
    taken (for mining in the engine) and the matrix is empty.
    """
    t = engine.lines(transactions)
    _check_level(t, level)
    counts, n_baskets = item_tables.item_counts(t, level)
    if n_baskets == 0:
        raise ValueError(f"no basket has an item at level '{level}'")
    min_count = min_basket_count(min_support, n_baskets)
    if not (isinstance(min_support, (int, np.integer)) or min_support >= 1):
        min_count = max(min_count, min_support_baskets)
    frequent = counts[counts >= min_count]
    # With fewer than two frequent items no pair can be frequent: no baskets to fetch.
    if len(frequent) >= 2 and matrix:
        basket, column = item_tables.frequent_item_baskets(t, level, frequent.index.tolist())
    else:
        basket = column = np.zeros(0, dtype=np.int32)
    return _encoded(basket, column, frequent, counts, n_baskets, min_count, level,
                    readable_names(t, level, frequent.index))


def _encoded(basket: np.ndarray, column: np.ndarray, frequent: pd.Series, counts: pd.Series, n_baskets: int,
             min_count: int, level: str, names: np.ndarray) -> Encoded:
    return Encoded(_basket_matrix(basket, column, len(frequent)), names, frequent.to_numpy(), n_baskets,
                   len(counts), min_count, level, frequent.index.to_numpy())


def encode_groups(transactions, level: str, by: str, min_counts: dict[Any, int], *,
                  matrix: bool = True) -> dict[Any, Encoded]:
    """:func:`encode` within each group of column ``by`` (an RFM segment, say), in one pass over the lines.

    ``min_counts`` gives the groups to encode and each one's minimum support
    as a basket count; the baskets of a group are its lines' orders. The
    engine counts the items of every group in one query and fetches the
    pruned pairs of all groups in another, where encoding each group's lines
    apart would scan all lines twice per group. Each result equals
    ``encode(group's lines, level, min_count)``.
    """
    t = engine.lines(transactions)
    _check_level(t, level)
    counts, n_baskets = item_tables.group_item_counts(t, level, by)
    by_group = {group: part.set_index("item")["baskets"].rename_axis(None)
                for group, part in counts.groupby(by, sort=False)}
    frequent = {group: by_group[group][by_group[group] >= min_count] for group, min_count in min_counts.items()
                if group in by_group}
    wanted = {group: items.index.tolist() for group, items in frequent.items() if len(items) >= 2}
    pairs = item_tables.group_frequent_item_baskets(t, level, by, wanted) if wanted and matrix else {}
    # One look-up of the readable names for the items of all groups.
    values = pd.Index(pd.unique(np.concatenate([items.index.to_numpy() for items in frequent.values()]
                                                or [np.zeros(0)])))
    names = pd.Series(readable_names(t, level, values), index=values)
    empty = np.zeros(0, dtype=np.int32)
    return {group: _encoded(*pairs.get(group, (empty, empty)), items, by_group[group], int(n_baskets[group]),
                            min_counts[group], level, names.loc[items.index].to_numpy())
            for group, items in frequent.items()}


def _basket_matrix(basket: np.ndarray, column: np.ndarray, n_items: int) -> sparse.csr_array:
    """(basket, column) codes, sorted by basket and column within it, as a sparse bool matrix."""
    n = int(basket[-1]) + 1 if len(basket) else 0
    # Sorted codes are already CSR: a row's entries start where its basket code first appears.
    starts = np.searchsorted(basket, np.arange(n + 1))
    return sparse.csr_array((np.ones(len(column), dtype=bool), column, starts), shape=(n, n_items))


# --------------------------------------------------------------------------- mining


def mine(encoded: Encoded, max_len: int | None = None, miner: str = "hmine-projected",
         workers: int | None = None) -> pd.DataFrame:
    """Frequent itemsets with exact basket counts, mined by mlxtend.

    Returns one row per itemset: ``items`` (tuple of names, rarest first),
    ``size``, ``count`` (baskets) and ``support`` (count / baskets).

    Miners (see :data:`MINERS`): the default calls mlxtend's
    ``hmine_driver`` once per item on the baskets holding it and the columns
    after it, which is where H-Mine spends its time anyway; the others hand
    the pruned matrix to ``hmine``, ``fpgrowth`` or ``apriori``. ``workers``
    processes share the per-item calls (default: the machine's cores, up to
    4; 1 on small inputs, where starting processes costs more than it saves).
    """
    if miner not in MINERS:
        raise ValueError(f"miner must be one of {', '.join(MINERS)}, got {miner!r}")
    X, k = encoded.baskets, len(encoded.items)
    multi: list[tuple[tuple[int, ...], int]] = []
    if max_len != 1 and X.shape[0] and k > 1:
        if miner == "hmine-projected":
            multi = _mine_projected(X, encoded.min_count, encoded.n_baskets, max_len, workers)
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


# The baskets the worker processes mine, inherited through fork instead of pickled.
_SHARED: dict[str, Any] = {}

# Below this many cells (baskets x frequent items) one process is faster.
PARALLEL_CELLS = 2_000_000


def _mine_items(items: list[int]) -> list[tuple[tuple[int, ...], int]]:
    """Itemsets of two or more items whose rarest item is one of ``items``: (column indices, basket count)."""
    from mlxtend.frequent_patterns.hmine import hmine_driver

    X, by_item, min_count, n_baskets, max_len = (_SHARED[k] for k in ("X", "by_item", "min_count", "n_baskets",
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
        workers = min(4, os.cpu_count() or 1) if X.shape[0] * X.shape[1] >= PARALLEL_CELLS else 1
    # Items as rows (CSC): the baskets of one item are one contiguous run of row numbers.
    _SHARED.update(X=X, by_item=X.tocsc(), min_count=min_count, n_baskets=n_baskets, max_len=max_len)
    items = list(range(X.shape[1] - 1))
    try:
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            # Interleaved shares: branch costs grow and shrink smoothly along the item order.
            shares = [items[w::workers] for w in range(workers)]
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                return [row for part in pool.map(_mine_items, shares) for row in part]
        return _mine_items(items)
    finally:
        _SHARED.clear()


# The groups the worker processes of :func:`mine_groups` mine, inherited through fork.
_GROUPS: dict[Any, Any] = {}


def _mine_group(group) -> pd.DataFrame:
    return mine(_GROUPS["encoded"][group], _GROUPS["max_len"], _GROUPS["miner"], workers=1)


def mine_groups(encoded: dict[Any, Encoded], max_len: int | None = None, miner: str = "hmine-projected",
                workers: int | None = None) -> dict[Any, pd.DataFrame]:
    """:func:`mine` of several groups' baskets (from :func:`encode_groups`), the groups shared among processes.

    Each group is mined in one process (``workers``: default the machine's
    cores, up to 4 and the number of groups), largest group first.
    """
    groups = sorted(encoded, key=lambda g: -encoded[g].baskets.nnz)
    if workers is None:
        cells = sum(e.baskets.shape[0] * e.baskets.shape[1] for e in encoded.values())
        workers = min(4, os.cpu_count() or 1, len(groups)) if cells >= PARALLEL_CELLS else 1
    _GROUPS.update(encoded=encoded, max_len=max_len, miner=miner)
    try:
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                found = dict(zip(groups, pool.imap(_mine_group, groups, chunksize=1)))
        else:
            found = {group: _mine_group(group) for group in groups}
    finally:
        _GROUPS.clear()
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


# --------------------------------------------------------------------------- rules


def association_rules(itemsets: pd.DataFrame, n_baskets: int, min_confidence: float = 0.5,
                      consequents: str = "single", max_len: int | None = None, min_count: int | None = None,
                      min_lift: float | None = None, prune_redundant: bool = False) -> pd.DataFrame:
    """Rules antecedent -> consequent from frequent itemsets, every threshold applied on integer counts.

    Parameters
    ----------
    itemsets : DataFrame
        From :func:`mine` (``codes``, ``items``, ``count``).
    min_confidence : float
        Kept when count(A and C) / count(A) >= min_confidence, compared as
        exact fractions (mlxtend's float comparison loses rules sitting on it).
    consequents : {"single", "any"}
        One item on the right (the arules convention) or any non-empty subset.
    max_len : int, optional
        Most items in antecedent and consequent together.
    min_count : int, optional
        Fewest baskets holding the whole rule.
    min_lift : float, optional
    prune_redundant : bool
        Drop a rule when a rule with the same consequent and a smaller
        (non-empty) antecedent has at least the same confidence.

    Returns
    -------
    DataFrame
        antecedent, consequent (tuples of names), size, count, support,
        antecedent_count, consequent_count, confidence, lift, leverage,
        conviction (inf at confidence 1), zhang.
    """
    if consequents not in ("single", "any"):
        raise ValueError(f"consequents must be 'single' or 'any', got {consequents!r}")
    counts = {frozenset(c): n for c, n in zip(itemsets["codes"], itemsets["count"])}
    names = {c[0]: items[0] for c, items in zip(itemsets["codes"], itemsets["items"]) if len(c) == 1}
    confidence = Fraction(str(min_confidence))
    p, q = confidence.numerator, confidence.denominator
    rows = []
    for codes, n_s in zip(itemsets["codes"], itemsets["count"]):
        if len(codes) < 2 or (max_len and len(codes) > max_len) or (min_count and n_s < min_count):
            continue
        whole = frozenset(codes)
        if consequents == "single":
            splits = [frozenset([c]) for c in codes]
        else:
            splits = [frozenset(s) for r in range(1, len(codes)) for s in itertools.combinations(codes, r)]
        for consequent in splits:
            antecedent = whole - consequent
            n_a = counts[antecedent]
            if n_s * q >= p * n_a:
                rows.append((antecedent, consequent, n_s, n_a, counts[consequent]))
    if prune_redundant:
        rows = [row for row in rows if not _redundant(row, counts)]
    n = n_baskets
    frame = pd.DataFrame(rows, columns=["antecedent_codes", "consequent_codes", "count", "antecedent_count",
                                        "consequent_count"])
    s = frame["count"].to_numpy(dtype=float)
    a = frame["antecedent_count"].to_numpy(dtype=float)
    c = frame["consequent_count"].to_numpy(dtype=float)
    frame["antecedent"] = [tuple(names[i] for i in sorted(x)) for x in frame["antecedent_codes"]]
    frame["consequent"] = [tuple(names[i] for i in sorted(x)) for x in frame["consequent_codes"]]
    frame["size"] = frame["antecedent_codes"].map(len) + frame["consequent_codes"].map(len)
    frame["support"] = s / n
    frame["confidence"] = s / a
    frame["lift"] = s * n / (a * c)
    frame["leverage"] = s / n - (a / n) * (c / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["conviction"] = np.where(s == a, np.inf, (1 - c / n) / (1 - s / a))
        without = np.where(n > a, (c - s) / np.maximum(n - a, 1), 0.0)
        top = np.maximum(s / a, without)
        frame["zhang"] = np.where(top > 0, (s / a - without) / top, 0.0)
    if min_lift is not None:
        frame = frame[frame["lift"] >= min_lift]
    columns = ["antecedent", "consequent", "size", "count", "support", "antecedent_count", "consequent_count",
               "confidence", "lift", "leverage", "conviction", "zhang"]
    return frame.sort_values(["lift", "count"], ascending=False, kind="stable")[columns].reset_index(drop=True)


def _redundant(row, counts) -> bool:
    antecedent, consequent, n_s, n_a, _ = row
    for size in range(1, len(antecedent)):
        for general in itertools.combinations(sorted(antecedent), size):
            general = frozenset(general)
            # conf(general -> C) >= conf(A -> C), in integers.
            if counts[general | consequent] * n_a >= n_s * counts[general]:
                return True
    return False


def rule_text(antecedent: tuple, consequent: tuple) -> str:
    return "{" + ", ".join(map(str, antecedent)) + "} → {" + ", ".join(map(str, consequent)) + "}"


# --------------------------------------------------------------------------- sequences


def sequence_rules(transactions, level: str = "category", window_days: int = 30,
                   max_items: int = 200, min_customers: int = 30, min_pair_customers: int = 10,
                   chunk: int = 256) -> pd.DataFrame:
    """"Bought X, then Y within N days": for item pairs among the ``max_items`` most-bought items.

    For each pair (X, Y), X != Y:

    - ``customers_x``: customers who bought X on a day at least ``window_days``
      before the end of the data (so the whole window after it is observed);
    - ``customers_x_then_y``: of those, customers who bought Y on a later
      day, at most ``window_days`` after such an X purchase (a later day, so
      never the same basket);
    - ``share`` = customers_x_then_y / customers_x;
    - ``baseline``: share of all customers who bought Y at all;
    - ``lift`` = share / baseline: above 1, buying X makes Y more likely to
      follow than it is for customers in general.

    Pairs with fewer than ``min_customers`` X customers, or fewer than
    ``min_pair_customers`` who went on to Y, are left out. Staples that
    nearly everyone buys "at all" have a high baseline, so their lift stays
    below 1; the informative pairs are the less common items.
    The engine reduces the lines to distinct (customer, day, item) purchases
    of the top items; the pairs are counted by :func:`_sequence_pairs`, at
    most ``chunk`` customers at a time so memory stays bounded.
    """
    t = engine.lines(transactions)
    _check_level(t, level)
    frame, top, n_customers, first_day, last_day = item_tables.customer_day_items(t, level, max_items)
    customer, day, item_code = (frame[c].to_numpy() for c in ("customer", "day", "item"))
    del frame
    then, customers_x, customers_y = _sequence_pairs(customer, day, item_code, len(top),
                                                     last_day - first_day - window_days, window_days, chunk)
    k = len(top)
    names = readable_names(t, level, top.index)
    xs, ys = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    out = pd.DataFrame({"x": names[xs.ravel()], "y": names[ys.ravel()],
                        "customers_x": customers_x[xs.ravel()], "customers_x_then_y": then.ravel(),
                        "customers_y": customers_y[ys.ravel()]})
    out = out[(xs.ravel() != ys.ravel()) & (out["customers_x"] >= min_customers)
              & (out["customers_x_then_y"] >= min_pair_customers)].copy()
    out["share"] = out["customers_x_then_y"] / out["customers_x"]
    out["baseline"] = out["customers_y"] / n_customers
    out["lift"] = out["share"] / out["baseline"]
    out["window_days"] = window_days
    return out.sort_values(["lift", "customers_x_then_y"], ascending=False, kind="stable").reset_index(drop=True)


# Most cells (customers x purchase days x items) one chunk of the sequence count holds.
SEQUENCE_CHUNK_CELLS = 8_000_000


def _sequence_pairs(customer: np.ndarray, day: np.ndarray, item: np.ndarray, k: int, last_start: int,
                    window_days: int, chunk: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers with X then Y within the window (k x k), customers with an observed X, customers with Y.

    ``customer``, ``day``, ``item``: distinct purchases sorted by customer and
    day. Only a customer's purchase days matter (a day without a purchase adds
    no Y), so each customer is an array of its purchase days x items, not of
    calendar days: a retail customer buys on a few dozen of 365 days. The pairs
    of a chunk are one batched matrix product, (X in the window before a day)^T
    x (Y on that day). Customers are taken in order of their number of
    purchase days, so that the chunk's arrays are hardly padded.
    """
    then = np.zeros((k, k), dtype=np.int64)
    customers_x = np.zeros(k, dtype=np.int64)
    customers_y = np.zeros(k, dtype=np.int64)
    if len(customer) == 0:
        return then, customers_x, customers_y
    new_day = np.ones(len(customer), dtype=bool)
    new_day[1:] = (customer[1:] != customer[:-1]) | (day[1:] != day[:-1])
    n = int(customer[-1]) + 1
    starts = np.searchsorted(customer, np.arange(n + 1))
    days_of = np.bincount(customer[new_day], minlength=n)
    # The purchase day of each purchase within its customer (0, 1, ...); 32 bits, as these arrays
    # have one entry per purchase (100M at 150M lines).
    rank = np.cumsum(new_day, dtype=np.int32)
    del new_day
    rank -= np.repeat(rank[starts[:-1]], np.diff(starts).astype(np.int32))
    order = np.argsort(days_of, kind="stable")
    # Fills the days of a customer's unused slots: after every real day, so never an X day.
    pad = last_start + 2 * window_days + 2
    position = 0
    while position < n:
        # Customers come in order of width, so the widest of the next `chunk` bounds this chunk's width.
        bound = int(days_of[order[min(n, position + chunk) - 1]])
        members = order[position:position + max(1, min(chunk, SEQUENCE_CHUNK_CELLS // max(bound * k, k * k)))]
        position += len(members)
        widest = int(days_of[members[-1]])
        # The purchases of these customers: customer m's run starts[m]:starts[m + 1], one after another.
        lengths = starts[members + 1] - starts[members]
        lines = np.repeat(starts[members] - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
        member, slot = np.repeat(np.arange(len(members)), lengths), rank[lines]
        bought = np.zeros((len(members), widest, k), dtype=bool)
        bought[member, slot, item[lines]] = True
        days = np.full((len(members), widest), pad, dtype=np.int64)
        days[member, slot] = day[lines]
        x_days = bought & (days <= last_start)[:, :, None]
        cumulative = np.zeros((len(members), widest + 1, k), dtype=np.int32)
        np.cumsum(x_days, axis=1, out=cumulative[:, 1:])
        # The first purchase day at most window_days before each day, found in every row at once.
        offset = (np.arange(len(members)) * (pad + window_days + 1))[:, None]
        lower = (np.searchsorted((days + offset).ravel(), (days - window_days + offset).ravel())
                 .reshape(days.shape) - (np.arange(len(members)) * widest)[:, None])
        # X bought on a purchase day in [day - N, day - 1]: counted before this day, not before `lower`.
        recent_x = (cumulative[:, :widest] - np.take_along_axis(cumulative, lower[:, :, None], axis=1)) > 0
        pairs = np.matmul(recent_x.transpose(0, 2, 1).astype(np.float32), bought.astype(np.float32)) > 0
        then += pairs.sum(axis=0)
        customers_x += x_days.any(axis=1).sum(axis=0)
        customers_y += bought.any(axis=1).sum(axis=0)
    return then, customers_x, customers_y


# --------------------------------------------------------------------------- the analysis


class BasketAnalysis:
    """Itemsets, rules and sequences for one transaction table.

    Parameters
    ----------
    level : {"auto", "category", "product_id", "department"}
        ``auto``: category when the data has one, else product. The level
        used is ``level_``.
    min_support : float or int
        Fraction of baskets (never fewer than ``MIN_SUPPORT_BASKETS``), or an
        absolute basket count.
    min_confidence, consequents, max_len, min_count, prune_redundant
        See :func:`association_rules`.
    miner : str
        See :data:`MINERS`. On the Spark engine the baskets are mined by
        Spark's FPGrowth instead (:data:`SPARK_MINER`), with the same counts;
        ``miner_used_`` says which one ran.
    window_days, sequence_items, min_sequence_customers
        See :func:`sequence_rules`.
    top_n : int
        Rules and sequences shown in the report's tables.
    """

    _parameter_constraints = {
        "level": [Options({"auto", *LEVELS})],
        # A fraction of baskets in (0, 1), or a whole number of baskets.
        "min_support": [Interval(float, 0, 1, closed="neither"), Interval(int, 1, None)],
        "min_confidence": [Interval(float, 0, 1)],
        "consequents": [Options({"single", "any"})],
        "max_len": [Interval(int, 2, None), None],
        "min_count": [Interval(int, 1, None), None],
        "prune_redundant": [bool],
        "miner": [Options(set(MINERS))],
        "window_days": [Interval(int, 1, None)],
        "sequence_items": [Interval(int, 2, None)],
        "min_sequence_customers": [Interval(int, 1, None)],
        "top_n": [Interval(int, 1, None)],
    }

    def __init__(self, *, level: str = "auto", min_support: float | int = 0.01, min_confidence: float = 0.3,
                 consequents: str = "single", max_len: int | None = None, min_count: int | None = None,
                 prune_redundant: bool = True, miner: str = "hmine-projected", window_days: int = 30,
                 sequence_items: int = 200, min_sequence_customers: int = 30, top_n: int = 15):
        self.level = level
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.consequents = consequents
        self.max_len = max_len
        self.min_count = min_count
        self.prune_redundant = prune_redundant
        self.miner = miner
        self.window_days = window_days
        self.sequence_items = sequence_items
        self.min_sequence_customers = min_sequence_customers
        self.top_n = top_n

    def fit(self, transactions) -> "BasketAnalysis":
        """Mine itemsets, rules and sequences.

        Raises
        ------
        crmlab.availability.NotAvailable
            When the data has no item column, or fewer than
            ``MIN_MULTI_ITEM_BASKETS`` baskets with two items.
        """
        validate(self)
        transactions = engine.lines(transactions)
        self.level_ = resolve_level(transactions, self.level)
        multi = multi_item_baskets(transactions, self.level_)
        if multi < MIN_MULTI_ITEM_BASKETS:
            raise NotAvailable(f"only {multi:,} baskets hold two or more different items "
                               f"({self.level_.replace('_id', '')} level); rules from fewer than "
                               f"{MIN_MULTI_ITEM_BASKETS} are anecdotes",
                               f"at least {MIN_MULTI_ITEM_BASKETS} orders with two or more items, each line "
                               "carrying its order id")
        start = time.perf_counter()
        self.itemsets_, self.encoded_, self.miner_used_ = _mine(transactions, self.level_, self.min_support,
                                                                MIN_SUPPORT_BASKETS, self)
        self.mining_seconds_ = time.perf_counter() - start
        self.rules_ = association_rules(self.itemsets_, self.encoded_.n_baskets, self.min_confidence,
                                        self.consequents, self.max_len, self.min_count,
                                        prune_redundant=self.prune_redundant)
        self.sequences_ = sequence_rules(transactions, self.level_, self.window_days, self.sequence_items,
                                         self.min_sequence_customers)
        self.metrics_ = self._metrics()
        return self

    def _metrics(self) -> dict[str, Any]:
        rules = self.rules_
        top = rules.iloc[0] if len(rules) else None
        return {
            "baskets": int(self.encoded_.n_baskets),
            "items": int(self.encoded_.n_items),
            "frequent_items": int(len(self.encoded_.items)),
            "level": self.level_,
            "min_support": self.min_support,
            "min_count": int(self.encoded_.min_count),
            "min_confidence": self.min_confidence,
            "itemsets": int(len(self.itemsets_)),
            "rules": int(len(rules)),
            "top_rule": None if top is None else rule_text(top["antecedent"], top["consequent"]),
            "top_lift": None if top is None else float(top["lift"]),
            "sequences": int(len(self.sequences_)),
            "window_days": self.window_days,
            "miner": self.miner_used_,
            "mining_seconds": round(self.mining_seconds_, 3),
        }

    # The report's tables and sentences, from the fitted attributes.

    def headline(self) -> str:
        return headline(self.metrics_, self.rules_)

    def what_to_do(self) -> str:
        return what_to_do(self.rules_, self.sequences_)

    def item_caption(self) -> str:
        return item_caption(self.itemsets_)

    def rules_table(self) -> pd.DataFrame:
        """The report's top ``top_n`` rules by lift."""
        return rules_table(self.rules_, self.top_n)

    def sequence_caption(self) -> str:
        return sequence_caption(self.sequences_)

    def rules_by_segment(self, transactions, segments: pd.DataFrame) -> pd.DataFrame:
        """The top rules within each RFM segment's baskets (see :func:`rules_by_segment`)."""
        return rules_by_segment(transactions, segments, self)

    def export(self) -> pd.DataFrame:
        """The rules with their measures, antecedent and consequent as text, for merchandising tools."""
        return rules_export(self.rules_)


def _mine(transactions, level: str, min_support, min_support_baskets: int,
          analysis: "BasketAnalysis") -> tuple[pd.DataFrame, Encoded, str]:
    """Itemsets with the analysis's settings, and which miner found them: Spark's FPGrowth on a Spark
    table (the baskets stay in the cluster), else the local miner on the pruned matrix."""
    if item_tables.runs_on_spark(transactions):
        encoded = encode(transactions, level, min_support, min_support_baskets, matrix=False)
        return (mine_in_engine(transactions, encoded, analysis.max_len, analysis.min_confidence), encoded,
                f"spark-fpgrowth: {SPARK_MINER}")
    encoded = encode(transactions, level, min_support, min_support_baskets)
    return (mine(encoded, analysis.max_len, analysis.miner), encoded,
            f"{analysis.miner}: {MINERS[analysis.miner]}")


# --------------------------------------------------------------------------- by segment


def load_segments(exports_dir) -> pd.DataFrame | None:
    """The segments export in ``exports_dir`` (customer_id, rfm_segment), or None when segments did not run there."""
    path = Path(exports_dir) / "customer_segments.parquet"
    return pd.read_parquet(path, columns=["customer_id", "rfm_segment"]) if path.exists() else None


def rules_by_segment(transactions, segments: pd.DataFrame, analysis: "BasketAnalysis",
                     top: int = 3, min_baskets: int = 500, min_rule_baskets: int = 30) -> pd.DataFrame:
    """The top rules (by lift) within each RFM segment's baskets.

    Same thresholds as the whole analysis, except that a rule must hold in
    at least ``min_rule_baskets`` of the segment's baskets: in a small
    segment, 1% is a handful of baskets, which would flood the table with
    chance combinations (and take long to mine). Segments with fewer than
    ``min_baskets`` baskets are left out.
    """
    t = engine.lines(transactions)
    lines = t.join(engine.memtable(segments[["customer_id", "rfm_segment"]]), "customer_id")
    sizes = engine.to_pandas(lines.group_by("rfm_segment").agg(baskets=lines.order_id.nunique()))
    sizes = sizes.sort_values(["baskets", "rfm_segment"], ascending=[False, True], kind="stable")
    sizes = sizes[sizes["baskets"] >= min_baskets]
    min_counts = {segment: max(min_basket_count(analysis.min_support, int(baskets)), min_rule_baskets)
                  for segment, baskets in zip(sizes["rfm_segment"], sizes["baskets"])}
    on_spark = item_tables.runs_on_spark(lines)
    # Counted and encoded in one pass for all segments; on Spark, FPGrowth then mines each segment's baskets there.
    encoded_by_segment = encode_groups(lines, analysis.level_, "rfm_segment", min_counts, matrix=not on_spark)
    if on_spark:
        itemsets_by_segment = {segment: mine_in_engine(lines.filter(lines.rfm_segment == segment), encoded,
                                                       analysis.max_len, analysis.min_confidence)
                               for segment, encoded in encoded_by_segment.items()}
    else:
        itemsets_by_segment = mine_groups(encoded_by_segment, analysis.max_len, analysis.miner)
    rows = []
    for segment, encoded in encoded_by_segment.items():
        itemsets = itemsets_by_segment[segment]
        rules = association_rules(itemsets, encoded.n_baskets,
                                  analysis.min_confidence, analysis.consequents, analysis.max_len,
                                  analysis.min_count, prune_redundant=analysis.prune_redundant)
        for _, rule in rules.head(top).iterrows():
            rows.append({"segment": segment, "baskets": encoded.n_baskets,
                         "rule": rule_text(rule["antecedent"], rule["consequent"]),
                         "count": rule["count"], "support": rule["support"], "confidence": rule["confidence"],
                         "lift": rule["lift"]})
    return pd.DataFrame(rows, columns=["segment", "baskets", "rule", "count", "support", "confidence", "lift"])


# --------------------------------------------------------------------------- plain words


def rules_export(rules: pd.DataFrame) -> pd.DataFrame:
    """Rules with antecedent and consequent as text ("A + B"), for CSV and Parquet."""
    def text(items):
        return " + ".join(map(str, items))

    return rules.assign(antecedent=rules["antecedent"].map(text), consequent=rules["consequent"].map(text))


def rules_table(rules: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """The top rules as people read them: rule text, basket count, support %, confidence, lift."""
    head = rules.head(top)
    return pd.DataFrame({"rule": [rule_text(a, c) for a, c in zip(head["antecedent"], head["consequent"])],
                         "baskets": head["count"].to_numpy(), "support": head["support"].to_numpy(),
                         "confidence": head["confidence"].to_numpy(), "lift": head["lift"].to_numpy()},
                        index=_ranks(len(head)))


def sequences_table(sequences: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """The top sequences as the page shows them, ranked from 1 like :func:`rules_table`."""
    head = sequences.head(top)
    return head.set_axis(_ranks(len(head)))


def _ranks(n: int) -> pd.RangeIndex:
    """Row labels 1..n named ``rank``: a reader sees "rank 1", not pandas' row 0."""
    return pd.RangeIndex(1, n + 1, name="rank")


def headline(metrics: dict[str, Any], rules: pd.DataFrame) -> str:
    level = {"product_id": "products", "category": "categories", "department": "departments"}[metrics["level"]]
    text = (f"**{number(metrics['baskets'])} baskets over {number(metrics['items'])} {level}: "
            f"{number(metrics['itemsets'])} combinations are bought together in at least "
            f"{number(metrics['min_count'])} baskets, giving {number(metrics['rules'])} rules.**")
    if len(rules):
        top = rules.iloc[0]
        text += (f" The strongest: {rule_text(top['antecedent'], top['consequent'])}, "
                 f"{pct(top['confidence'])} of baskets with the first also hold the second, "
                 f"{top['lift']:.1f} times more often than in an average basket.")
    return text


def what_to_do(rules: pd.DataFrame, sequences: pd.DataFrame) -> str:
    """A short paragraph of actions drawn from the top rules and sequences."""
    parts = []
    if len(rules):
        top = rules.iloc[0]
        parts.append(f"**Placement:** put {', '.join(top['antecedent'])} near {', '.join(top['consequent'])}, "
                     f"or link them online; they are bought together {top['lift']:.1f} times more often than chance.")
        bundle = rules.sort_values(["count", "lift"], ascending=False).iloc[0]
        parts.append(f"**Bundles:** {rule_text(bundle['antecedent'], bundle['consequent'])} is the most common "
                     f"strong pair ({bundle['count']:,} baskets, confidence {pct(bundle['confidence'])}): a "
                     "natural bundle or multi-buy offer.")
    if len(sequences):
        seq = sequences.iloc[0]
        parts.append(f"**Cross-sell:** {pct(seq['share'])} of customers who buy {seq['x']} buy {seq['y']} within "
                     f"{seq['window_days']} days, against {pct(seq['baseline'])} of all customers: follow a "
                     f"{seq['x']} purchase with a {seq['y']} offer.")
    return " ".join(parts) if parts else "No rule or sequence passed the thresholds; lower the minimum support."


def item_caption(itemsets: pd.DataFrame) -> str:
    top = itemsets[itemsets["size"] == 1].iloc[0]
    return (f"The most common item, {top['items'][0]}, is in {pct(top['support'])} of baskets; rules about "
            "very common items have high confidence but low lift.")


def sequence_caption(sequences: pd.DataFrame) -> str:
    if sequences.empty:
        return "No sequence passed the thresholds."
    top = sequences.iloc[0]
    return (f"Dark bars: share of X buyers who bought Y within {top['window_days']} days; light bars: share of all "
            f"customers who bought Y at all. The top pair is {top['x']} → {top['y']} "
            f"({pct(top['share'])} against {pct(top['baseline'])}).")
