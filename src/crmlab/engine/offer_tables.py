"""Per-customer offers from rules and popularity, and their check on later purchases, run in the engine.

The lines are reduced once to distinct (customer, item) pairs; everything
after works on those pairs and on small tables of rules and item ranks handed
in as memtables. Only the offers (a few rows per customer), their counts, or
(:func:`customer_item_matrix`) which customer holds which rule item come back:
the rule scores are a matrix product (:mod:`crmlab.analyses.baskets.scoring`),
rounded to ``SCORE_DIGITS`` decimals before ranking; ties go to the item that
sorts first.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from crmlab.engine import memtable, to_pandas
from crmlab.engine.customer_tables import day_number

SCORE_DIGITS = 9

# The rule set of customers whose segment has no rules of its own: the rules of all baskets.
ALL_BASKETS = ""


def customer_items(t, level: str, *, from_day: int | None = None, through_day: int | None = None):
    """Distinct (customer_id, item) pairs bought between ``from_day`` and ``through_day`` (both included)."""
    day = day_number(t)
    keep = t[level].notnull()
    if from_day is not None:
        keep &= day >= from_day
    if through_day is not None:
        keep &= day <= through_day
    lines = t.filter(keep)
    return lines.select(customer_id=lines.customer_id, item=lines[level]).distinct()


def lines_through(t, through_day: int):
    """The lines on or before ``through_day``."""
    return t.filter(day_number(t) <= through_day)


def customers_through(t, through_day: int):
    """The customers with a line on or before ``through_day`` (one row each)."""
    return t.filter(day_number(t) <= through_day).select("customer_id").distinct()


def customer_item_matrix(pairs, items: pd.Index, customer_ids: pd.Index | None = None):
    """(customer_id, item) pairs as a sparse 0/1 matrix, a row per customer and a column per item of ``items``.

    Pairs of other items are left out. The rows are ``customer_ids`` (then a
    pair of any other customer is left out too), else the customers with a
    pair, in order of id. Returns the rows' customer ids and a
    ``scipy.sparse.csr_matrix``; only the pairs' row and column numbers leave
    the engine.
    """
    import scipy.sparse as sp

    columns = memtable(pd.DataFrame({"item": items, "column": np.arange(len(items), dtype="int32")}))
    kept = pairs.join(columns, "item")
    if customer_ids is None:
        customer_ids = pd.Index(to_pandas(kept.select("customer_id").distinct().order_by("customer_id"))["customer_id"])
    rows = memtable(pd.DataFrame({"customer_id": customer_ids, "row": np.arange(len(customer_ids), dtype="int32")}))
    coded = to_pandas(kept.join(rows, "customer_id").select("row", "column"))
    matrix = sp.csr_matrix((np.ones(len(coded)), (coded["row"].to_numpy(), coded["column"].to_numpy())),
                           shape=(len(customer_ids), len(items)))
    return customer_ids, matrix


def item_popularity(held, groups=None):
    """Each item's buyers and its rank (0 = bought by most customers; ties by item ascending).

    With ``groups`` (customer_id, group), each group ranks its own customers' items.
    """
    pairs = held.mutate(group=ibis.literal(ALL_BASKETS)) if groups is None else held.join(groups, "customer_id")
    counts = pairs.group_by(["group", "item"]).agg(customers=pairs.count())
    order = [ibis.desc(counts.customers), counts.item]
    return counts.mutate(pop_rank=ibis.row_number().over(group_by=counts.group, order_by=order))


def popular_offers(held, customers, k: int, groups=None):
    """Each customer's ``k`` most popular items that they have not bought.

    ``customers`` (customer_id) are the customers to offer to. Popularity is
    :func:`item_popularity` over all of ``held``, or within each group of
    ``groups`` (customer_id, group) for its own customers. A customer holding
    ``n`` items needs at most the first ``n + k`` ranks, so each is joined to
    those ranks only and the join stays about as large as ``held``.
    Columns: customer_id, item, customers (the item's buyers in the group),
    position (0 = best).
    """
    popularity = item_popularity(held, groups)
    if groups is None:
        customers = customers.select("customer_id", group=ibis.literal(ALL_BASKETS))
    else:
        customers = customers.join(groups, "customer_id").select("customer_id", "group")
    held_counts = held.group_by("customer_id").agg(n_held=held.count())
    # A view: both sides of the next join come from `held`, and Ibis must tell them apart.
    customers = customers.left_join(held_counts, "customer_id").select(
        "customer_id", "group", n_held=ibis.coalesce(held_counts.n_held, 0)).view()
    reach = customers.join(popularity, [customers.group == popularity.group,
                                        popularity.pop_rank < customers.n_held + k])
    reach = reach.select("customer_id", "item", "customers", "pop_rank")
    unheld = reach.anti_join(held, ["customer_id", "item"])
    ranked = unheld.mutate(position=ibis.row_number().over(group_by=unheld.customer_id, order_by=unheld.pop_rank))
    return ranked.filter(ranked.position < k).select("customer_id", "item", "customers", "position")


def without_reasons(top):
    """Rule offers (customer_id, item, score, position) in the form :func:`offers_with_fill` takes, without reasons."""
    return top.select("customer_id", "item", "score", "position", rule=ibis.null("int64"), held=ibis.null("int64"),
                      mask=ibis.null("int64"))


def offers_with_fill(by_rule, popular, k: int):
    """Rule offers first, then popular items the customer neither holds nor was offered, up to ``k``.

    ``popular`` holds each customer's first ``k`` unheld popular items (:func:`popular_offers`),
    enough to fill the gap whatever the rules offered. Columns: customer_id,
    item, position, source ("rule" or "popular"), score, rule, held, mask, customers.
    """
    n_rule = by_rule.group_by("customer_id").agg(n_rule=by_rule.count())
    fill = popular.anti_join(by_rule, ["customer_id", "item"])
    fill = fill.mutate(fill_position=ibis.row_number().over(group_by=fill.customer_id, order_by=fill.position))
    fill = fill.left_join(n_rule, "customer_id")
    taken = ibis.coalesce(fill.n_rule, 0)
    fill = fill.filter(fill.fill_position + taken < k).select(
        "customer_id", "item", position=(fill.fill_position + taken).cast("int64"), source=ibis.literal("popular"),
        score=ibis.null("float64"), rule=ibis.null("int64"), held=ibis.null("int64"), mask=ibis.null("int64"),
        customers=fill.customers)
    # Positions as int64 on both sides: Spark's row_number is a 32-bit int, sums of it 64-bit.
    rules = by_rule.select("customer_id", "item", position=by_rule.position.cast("int64"), source=ibis.literal("rule"),
                           score=by_rule.score, rule=by_rule.rule.cast("int64"), held=by_rule.held.cast("int64"),
                           mask=by_rule.mask.cast("int64"), customers=ibis.null("int64"))
    return rules.union(fill.mutate(customers=fill.customers.cast("int64")), distinct=False)


def take_up(offers, later, evaluated) -> dict[str, int]:
    """How the ``evaluated`` customers took up their ``offers``: bought in ``later`` (customer_id, item).

    Returns customers (evaluated), hits (customers who bought at least one of
    their offers), offers (made), bought (offers bought) and, when ``offers``
    has a ``source``, rule_customers (customers with an offer from a rule).
    """
    bought = offers.semi_join(later, ["customer_id", "item"])
    parts = [evaluated.aggregate(customers=evaluated.count()),
             offers.aggregate(offers=offers.count()),
             bought.aggregate(bought=bought.count(), hits=bought.customer_id.nunique())]
    if "source" in offers.columns:
        by_rule = offers.filter(offers.source == "rule")
        parts.append(by_rule.aggregate(rule_customers=by_rule.customer_id.nunique()))
    row = parts[0]
    for part in parts[1:]:
        row = row.cross_join(part)
    return {name: int(value) for name, value in to_pandas(row).iloc[0].items()}
