"""Purchase sequences: "bought X, then Y within N days", for pairs of the most-bought items."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmlab import engine
from crmlab.engine import item_tables
from crmlab.models.itemsets.encoding import check_level, readable_names


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
      follow than it is for customers in general;
    - ``x_item``, ``y_item``: X and Y as the lines hold them (``x``, ``y`` are for reading).

    Pairs with fewer than ``min_customers`` X customers, or fewer than
    ``min_pair_customers`` who went on to Y, are left out. Staples that
    nearly everyone buys "at all" have a high baseline, so their lift stays
    below 1; the informative pairs are the less common items.
    The engine reduces the lines to distinct (customer, day, item) purchases
    of the top items; the pairs are counted by :func:`_sequence_pairs`, at
    most ``chunk`` customers at a time so memory stays bounded.
    """
    t = engine.lines(transactions)
    check_level(t, level)
    frame, top, n_customers, first_day, last_day = item_tables.customer_day_items(t, level, max_items)
    customer, day, item_code = (frame[c].to_numpy() for c in ("customer", "day", "item"))
    del frame
    then, customers_x, customers_y = _sequence_pairs(customer, day, item_code, len(top),
                                                     last_day - first_day - window_days, window_days, chunk)
    k = len(top)
    names = readable_names(t, level, top.index)
    xs, ys = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    out = pd.DataFrame({"x": names[xs.ravel()], "y": names[ys.ravel()],
                        "x_item": top.index[xs.ravel()], "y_item": top.index[ys.ravel()],
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
