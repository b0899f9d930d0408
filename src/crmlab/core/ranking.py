"""One way to rank customers by value and cut the ranking by share.

The tie rule, stated once for the whole kit: customers are ranked by value,
largest first; equal values are ordered by customer id, ascending. So the same
data always gives the same ranking, whatever the row order.

The cut rule, stated once: a customer is in the top share ``s`` of ``n``
customers when fewer than ``s * n`` customers rank above them. The top 5% of
190 customers are therefore the first 10 (9.5 rounded up), and a group is never
empty while ``s > 0``. CLV tiers, ABC classes, deciles and purchase bands all
use :func:`value_rank` and :func:`share_position`, so "top 5%" is the same set of
customers in every report.

A leaf module: it imports nothing of crmlab.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Shares such as 0.05 * 200 = 10.000000000000002 must not let in one customer too many.
_EPS = 1e-9


def value_rank(values: pd.Series) -> pd.Series:
    """Rank 0 for the largest value; ties broken by the index (customer id) ascending.

    Examples
    --------
    >>> value_rank(pd.Series([5.0, 1.0, 5.0], index=[12, 10, 11])).tolist()
    [1, 2, 0]
    """
    order = np.lexsort((values.index.to_numpy(), -values.to_numpy(dtype=float)))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return pd.Series(rank, index=values.index, name="rank")


def share_position(values: pd.Series) -> pd.Series:
    """Each customer's position as the share of customers ranked above them (0 for the top one)."""
    return value_rank(values) / max(len(values), 1)


def in_top_share(values: pd.Series, share: float) -> pd.Series:
    """True for the customers in the top ``share`` by value (see the cut rule above).

    Examples
    --------
    >>> int(in_top_share(pd.Series(range(20), dtype=float), 0.05).sum())
    1
    >>> int(in_top_share(pd.Series(range(30), dtype=float), 0.05).sum())  # 1.5 -> 2
    2
    """
    return share_position(values) < share - _EPS


def cut_by_share(values: pd.Series, cuts, labels) -> pd.Series:
    """Label customers by the share of customers ranked above them.

    ``cuts`` are increasing shares; ``labels`` has one more entry than
    ``cuts`` (the rest). With cuts (0.05, 0.2) and labels A, B, C: A is the
    top 5%, B the next 15%, C the rest.

    Examples
    --------
    >>> cut_by_share(pd.Series([1.0, 9.0, 5.0, 3.0]), (0.25, 0.5), ["top", "next", "rest"]).tolist()
    ['rest', 'top', 'next', 'rest']
    """
    cuts = list(cuts)
    if len(labels) != len(cuts) + 1:
        raise ValueError("cut_by_share: give one label more than cuts")
    position = share_position(values).to_numpy()
    band = np.searchsorted(np.asarray(cuts, dtype=float) - _EPS, position, side="right")
    return pd.Series(np.asarray(labels, dtype=object)[band], index=values.index)


def equal_groups(values: pd.Series, n: int) -> pd.Series:
    """Groups 1..n of equal size (sizes differ by at most one), 1 the top: the decile cut.

    The same rule: a customer is in group ``g`` when fewer than ``g/n`` of the
    customers rank above them, and not fewer than ``(g-1)/n``.

    Examples
    --------
    >>> equal_groups(pd.Series([5.0, 1.0, 5.0, 3.0], index=[10, 11, 12, 13]), 2).tolist()
    [1, 2, 1, 2]
    """
    rank = value_rank(values).to_numpy()
    return pd.Series(rank * n // max(len(values), 1) + 1, index=values.index, name="group")


def share_ranked_above(values: pd.Series) -> pd.Series:
    """For each customer, the share of the total *value* held by the customers ranked above them."""
    ordered = values.iloc[np.argsort(value_rank(values).to_numpy())]
    return ((ordered.cumsum() - ordered) / ordered.sum()).reindex(values.index)


def top_count(n: int, share: float) -> int:
    """How many customers the top ``share`` of ``n`` holds: ``ceil(share * n)``, the cut rule above."""
    return int(np.ceil(share * n - _EPS)) if n else 0


def top_share(values: pd.Series, share_of_customers: float) -> float:
    """Share of the total brought by the top ``share_of_customers`` of customers.

    Examples
    --------
    >>> top_share(pd.Series([6.0, 3.0, 1.0]), 0.34)  # the top 2 (1.02 rounded up)
    0.9
    """
    top = top_count(len(values), share_of_customers)
    return float(values.iloc[np.argsort(value_rank(values).to_numpy())[:top]].sum() / values.sum())
