"""Baskets x frequent items, built straight from integer codes, as the miners want them."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from crmlab import engine
from crmlab.core.availability import NotAvailable
from crmlab.engine import customer_tables, item_tables

LEVELS = ("product_id", "category", "department")


# level="auto" takes the coarsest of these the data has (department only when asked for).
AUTO_LEVELS = ("category", "product_id")


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

    Only baskets with at least two distinct frequent items are held, columns
    ordered from the rarest to the most common item: basket b's lines are
    the columns ``columns[starts[b]:starts[b + 1]]``, where an item bought
    on several lines of the basket repeats (the bit-set miner does not
    mind, and dropping the repeats costs more than the query).
    ``baskets`` is the same as a sparse bool matrix without repeats;
    ``item_counts`` are exact basket counts of every frequent item over all
    ``n_baskets`` baskets.
    """

    starts: np.ndarray
    columns: np.ndarray
    items: np.ndarray
    item_counts: np.ndarray
    n_baskets: int
    n_items: int
    min_count: int
    level: str
    # The frequent items as the data writes them (``items`` are the names for reports).
    values: np.ndarray | None = None

    @cached_property
    def baskets(self) -> sparse.csr_array:
        """Baskets x frequent items as a sparse bool matrix, each row's columns sorted and distinct."""
        # Copies: dropping the repeats rewrites the matrix's arrays in place.
        matrix = sparse.csr_array((np.ones(len(self.columns), dtype=bool), self.columns.copy(), self.starts.copy()),
                                  shape=(len(self.starts) - 1, len(self.items)))
        matrix.sum_duplicates()
        return matrix

    @property
    def n_multi(self) -> int:
        """The baskets held: those with two or more distinct frequent items."""
        return len(self.starts) - 1

    @property
    def matrix(self) -> np.ndarray:
        """``baskets`` as a dense bool array, for the miners that take a whole frame."""
        return self.baskets.toarray()


def check_level(t, level: str) -> None:
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
    crmlab.core.availability.NotAvailable
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


def multi_item_baskets(transactions, level: str, *, enough: int | None = None) -> int:
    """Baskets holding at least two distinct items at ``level`` (counted in the engine).

    With ``enough``, exact only below it (:func:`crmlab.engine.item_tables.multi_item_baskets`).
    """
    return item_tables.multi_item_baskets(engine.lines(transactions), level, enough=enough)


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
    check_level(t, level)
    counts, n_baskets = item_tables.item_counts(t, level)
    if n_baskets == 0:
        raise ValueError(f"no basket has an item at level '{level}'")
    min_count = min_basket_count(min_support, n_baskets)
    if not (isinstance(min_support, (int, np.integer)) or min_support >= 1):
        min_count = max(min_count, min_support_baskets)
    frequent = counts[counts >= min_count]
    # With fewer than two frequent items no pair can be frequent: no baskets to fetch.
    if len(frequent) >= 2 and matrix:
        starts, columns = item_tables.frequent_item_baskets(t, level, frequent.index.tolist())
    else:
        starts, columns = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int16)
    return _encoded(starts, columns, frequent, counts, n_baskets, min_count, level,
                    readable_names(t, level, frequent.index))


def _encoded(starts: np.ndarray, columns: np.ndarray, frequent: pd.Series, counts: pd.Series, n_baskets: int,
             min_count: int, level: str, names: np.ndarray) -> Encoded:
    return Encoded(starts, columns, names, frequent.to_numpy(), n_baskets, len(counts), min_count, level,
                   frequent.index.to_numpy())


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
    check_level(t, level)
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
    empty = (np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int16))
    return {group: _encoded(*pairs.get(group, empty), items, by_group[group], int(n_baskets[group]),
                            min_counts[group], level, names.loc[items.index].to_numpy())
            for group, items in frequent.items()}
