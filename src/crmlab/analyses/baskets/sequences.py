"""Purchase sequences: "bought X, then Y within N days", for pairs of the most-bought items."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmlab import engine
from crmlab.analyses.baskets.runs import run_elements
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


# Bits in one word of an item set: a purchase day's items, or the X items of the window before it.
WORD_BITS = 64

# Most bytes of one chunk's unpacked (customer, Y, X) flags, the count's largest array.
SEQUENCE_CHUNK_BYTES = 32_000_000


def _sequence_pairs(customer: np.ndarray, day: np.ndarray, item: np.ndarray, k: int, last_start: int,
                    window_days: int, chunk: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers with X then Y within the window (k x k), customers with an observed X, customers with Y.

    ``customer``, ``day``, ``item``: distinct purchases sorted by customer,
    day and item. Only a customer's purchase days matter (a day without a
    purchase adds no Y). Each purchase day's items are a set of bits (``k``
    bits in 64-bit words); the X items of the window before a day are the OR
    of the sets of the customer's purchase days in [day - N, day - 1] that
    are observed (at most ``last_start``); and a customer's X items before Y
    are the OR of those windows over the days Y was bought. Counting the set
    bits over customers gives the pairs. A retail customer buys a few items
    on a few dozen days, so these ORs touch far fewer words than a
    (days x k)^T (days x k) product per customer would multiply: 4x faster
    at complete_journey x10 than that product, with equal counts.
    Customers are taken ``chunk`` at a time (fewer when ``k`` is large), so
    memory stays bounded.
    """
    then = np.zeros((k, k), dtype=np.int64)
    customers_x = np.zeros(k, dtype=np.int64)
    customers_y = np.zeros(k, dtype=np.int64)
    if len(customer) == 0:
        return then, customers_x, customers_y
    words = -(-k // WORD_BITS)
    n = int(customer[-1]) + 1
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(customer, minlength=n), out=starts[1:])
    per_chunk = max(1, min(chunk, SEQUENCE_CHUNK_BYTES // (k * words * WORD_BITS)))
    # (customer, Y) keys below 2**16 sort by radix, in linear time.
    key_type = np.uint16 if per_chunk * k <= 2**16 else np.int64
    # Apart from any day - N: customers' days never meet in one sorted key.
    customer_stride = int(day.max()) + window_days + 1
    for first in range(0, n, per_chunk):
        last = min(n, first + per_chunk)
        lines = slice(starts[first], starts[last])
        c, d, y = customer[lines] - first, day[lines].astype(np.int64), item[lines].astype(np.int64)
        if len(c) == 0:
            continue
        new_day = np.ones(len(c), dtype=bool)
        new_day[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
        purchase_day = np.cumsum(new_day) - 1
        n_days = int(purchase_day[-1]) + 1
        day_of, customer_of = d[new_day], c[new_day]
        # Each purchase day's items as bits, one row per word. Purchases come sorted by day and item,
        # so the (day, word) runs are contiguous.
        run_key = purchase_day * words + (y >> 6)
        runs = np.flatnonzero(np.r_[True, run_key[1:] != run_key[:-1]])
        day_bits = np.zeros((words, n_days), dtype=np.uint64)
        day_bits[(y >> 6)[runs], purchase_day[runs]] = np.bitwise_or.reduceat(
            np.left_shift(np.uint64(1), (y & 63).astype(np.uint64)), runs)
        x_bits = day_bits * (day_of <= last_start)
        # The X items of each day's window: the OR of the customer's earlier purchase days within N days.
        sorted_days = customer_of * customer_stride + day_of
        span = np.arange(n_days) - np.searchsorted(sorted_days, sorted_days - window_days)
        recent = np.zeros_like(day_bits)
        after = np.flatnonzero(span > 0)
        if len(after):
            lengths = span[after]
            earlier = run_elements(after - lengths, lengths)
            run_starts = np.cumsum(lengths) - lengths
            for word in range(words):
                recent[word, after] = np.bitwise_or.reduceat(x_bits[word, earlier], run_starts)
        # Each (customer, Y): the OR of the windows before the days Y was bought.
        useful = np.flatnonzero((recent != 0).any(axis=0)[purchase_day])
        pair_key = (c[useful] * k + y[useful]).astype(key_type)
        order = np.argsort(pair_key, kind="stable")
        pair_key = pair_key[order]
        groups = np.flatnonzero(np.r_[True, pair_key[1:] != pair_key[:-1]])
        days_of_pairs = purchase_day[useful[order]]
        x_before_y = np.zeros(((last - first) * k, words), dtype=np.uint64)
        for word in range(words):
            x_before_y[pair_key[groups], word] = np.bitwise_or.reduceat(recent[word, days_of_pairs], groups)
        flags = np.unpackbits(x_before_y.view(np.uint8).reshape(last - first, k, words * 8), axis=-1,
                              bitorder="little")
        # Summed 255 customers at a time in 8 bits, which cannot overflow there and adds fastest.
        for block in range(0, last - first, 255):
            then += flags[block:block + 255].sum(axis=0, dtype=np.uint8)[:, :k].T
        customer_runs = np.flatnonzero(np.r_[True, customer_of[1:] != customer_of[:-1]])
        for bits, out in ((x_bits, customers_x), (day_bits, customers_y)):
            ever = np.ascontiguousarray(np.bitwise_or.reduceat(bits, customer_runs, axis=1).T)
            out += np.unpackbits(ever.view(np.uint8), axis=-1, bitorder="little").sum(axis=0, dtype=np.int64)[:k]
    return then, customers_x, customers_y
