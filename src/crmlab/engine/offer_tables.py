"""Per-customer offers from rules and popularity, and their check on later purchases, run in the engine.

The lines are reduced once to distinct (customer, item) pairs; everything
after works on those pairs and on small tables of rules and item ranks handed
in as memtables. Only the offers (a few rows per customer) or their counts
come back. Scores are rounded to ``SCORE_DIGITS`` decimals before ranking, so
that engines that add in a different order still rank alike; ties go to the
item that sorts first.
"""

from __future__ import annotations

import ibis

from crmlab.engine import to_pandas
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


def rule_scores(held, recent, customers, basket_rules, sequences):
    """Each customer's rule score for every item a rule offers them, held items included.

    Parameters
    ----------
    held : table (customer_id, item)
        What each customer bought in the period; these items are never offered.
    recent : table (customer_id, item)
        What each customer bought in the last ``window_days``: the sequences' X.
    customers : table (customer_id, rule_set)
        The rule set each customer's association rules come from.
    basket_rules : table (rule_set, rule, item, bit, consequent, confidence, size)
        Association rules, a row per antecedent item; ``bit`` is 2**(the
        item's place in the antecedent), ``size`` the antecedent's size.
    sequences : table (rule, item, bit, consequent, confidence, size)
        Sequences in the same form: X as the one antecedent item, the share as confidence.

    A rule matches a customer who holds at least one item of its antecedent
    (a sequence: who bought its X recently); it adds ``confidence * held /
    size`` to the score of its consequent. Returns customer_id, item and
    score; :func:`top_rule_offers` keeps the best ``k`` unheld ones.
    """
    # confidence * held / size is the sum of confidence / size over the held antecedent items, so the rules
    # collapse to one weight per (rule set, held item, offered item) before they meet the customers.
    basket_pairs = basket_rules.group_by(["rule_set", "item", "consequent"]).agg(
        part=(basket_rules.confidence / basket_rules.size).sum())
    sequence_pairs = sequences.group_by(["item", "consequent"]).agg(part=sequences.confidence.sum())
    by_basket = held.join(customers, "customer_id").join(basket_pairs, ["rule_set", "item"])
    by_sequence = recent.join(sequence_pairs, "item")
    parts = (by_basket.select("customer_id", "consequent", "part")
             .union(by_sequence.select("customer_id", "consequent", "part"), distinct=False))
    scores = parts.group_by(["customer_id", "consequent"]).agg(score=parts.part.sum().round(SCORE_DIGITS))
    return scores.rename(item="consequent")


def top_rule_offers(scores, held, k: int):
    """Each customer's ``k`` best-scored items of :func:`rule_scores` that they do not hold.

    Returns customer_id, item, score and position (0 = best; ties by item);
    :func:`rule_reasons` finds why. ``scores`` should be computed once
    beforehand: DuckDB running the sum, this anti-join and the window as one
    query ran out of memory where each half alone did not (x10 text ids under
    300 MB, x100 under 2.9 GB). At x100 each half alone did too: on DuckDB
    the baskets report runs the scores, this and the reasons on each
    :func:`customer_part` of the customers alone.
    """
    scores = scores.anti_join(held, ["customer_id", "item"])
    ranked = scores.mutate(position=ibis.row_number().over(group_by=scores.customer_id,
                                                           order_by=[ibis.desc(scores.score), scores.item]))
    return ranked.filter(ranked.position < k)


def customer_part(table, part: int, parts: int):
    """The rows of ``table`` whose customer falls in ``part`` (0 to ``parts - 1``), by a hash of the id.

    Every row of one customer lands in the same part, so a query per
    customer gives the same rows run part by part.
    """
    hashed = table.customer_id.hash()
    # Spark's hash is a signed int: the modulo of a negative hash is negative.
    return table.filter(((hashed % parts) + parts) % parts == part)


def rule_reasons(top, held, recent, customers, basket_rules, sequences):
    """For each offer of :func:`top_rule_offers`, the rule (or sequence) that adds most to its score.

    Returns customer_id, item, the rule, and the customer's ``held`` items of
    its antecedent (count and ``mask``, the sum of their bits); the rule with
    the smaller number wins a tie.
    """
    offers = top.select("customer_id", "item").join(customers, "customer_id")
    columns = ["customer_id", "item", "rule", "bit"]

    def matched(rules, bought, keys):
        # Each offer meets the customer's items first (a few hundred each), then the rules with both.
        with_items = offers.join(bought.rename(held_item="item"), "customer_id")
        return with_items.join(rules.rename(held_item="item", item="consequent"), keys).select(*columns)

    both = (matched(basket_rules, held, ["rule_set", "item", "held_item"])
            .union(matched(sequences, recent, ["item", "held_item"]), distinct=False))
    keys = ["customer_id", "item"]
    per_rule = both.group_by([*keys, "rule"]).agg(held=both.count(), mask=both.bit.sum())
    # Each rule's confidence and size once (a rule has a row per antecedent item).
    sizes = (basket_rules.select("rule", "confidence", "size").union(sequences.select("rule", "confidence", "size"))
             .distinct())
    per_rule = per_rule.join(sizes, "rule")
    per_rule = per_rule.mutate(weight=(per_rule.confidence * per_rule.held / per_rule.size).round(SCORE_DIGITS))
    # The largest weight, then the smallest rule among equals: two grouped passes, which run much faster than
    # a window sorted within each offer (millions of rows at x10).
    top_weight = per_rule.group_by(keys).agg(weight=per_rule.weight.max())
    best = per_rule.join(top_weight, [*keys, "weight"])
    first = best.group_by(keys).agg(rule=best.rule.min())
    return best.join(first, [*keys, "rule"]).select("customer_id", "item", "rule", "held", "mask")


def without_reasons(top):
    """:func:`top_rule_offers`' offers in the form :func:`offers_with_fill` takes, the reason's columns empty."""
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
