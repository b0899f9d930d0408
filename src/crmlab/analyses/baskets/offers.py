"""One-to-one offers: for every customer, the few items worth offering next, and their check on the holdout.

The scheme, written once (the engine side is :mod:`crmlab.engine.offer_tables`, the rule scores
and reasons :mod:`crmlab.analyses.baskets.scoring`):

- **Candidates.** The consequents of association rules (single-item
  consequents) of which the customer holds at least one antecedent item,
  from their RFM segment's own rules when it has any, else from the rules of
  all baskets; plus the Y of sequences with lift above 1 whose X the customer
  bought in the last ``window_days`` days (the as-of day and the days before
  it, ``window_days`` in all).
- **Scoring.** Items the customer bought in the period are dropped. A
  candidate scores the sum, over the rules and sequences that offer it, of
  confidence (a sequence's share) x the share of the antecedent the customer
  holds. The rule that adds most gives the reason.
- **Filling.** The top ``k`` by score (ties by item) are kept; a gap is filled
  with the items bought by most customers that the customer has not bought,
  marked ``popular``.
- **The check.** Rules, sequences and segments are found on the lines up to
  ``calibration_end`` only, offers made as of that day to every customer
  with a purchase on or before it; a customer is a hit when they buy at
  least one of their offers after it. Two baselines get the same check: the
  ``k`` items bought by most customers (ties by item) that the customer did not
  buy, overall and within their RFM segment.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pandas as pd

from crmlab import engine
from crmlab.analyses.baskets import scoring
from crmlab.core.words import pct
from crmlab.engine import memtable, offer_tables, to_pandas
from crmlab.engine.offer_tables import ALL_BASKETS
from crmlab.models.itemsets.encoding import readable_names

# Columns of the offers export, in order.
OFFER_COLUMNS = ["customer_id", "rank", "item", "item_name", "score", "reason", "source"]


def with_values(rules: pd.DataFrame, encoded) -> pd.DataFrame:
    """``rules`` with ``antecedent_values`` and ``consequent_values``: the items as the lines hold them.

    Rules name their items for reading (a product with its category); offers
    are made and checked on the lines' own values, mapped back through the
    encoding the rules were mined from.
    """
    value_of = dict(zip(encoded.items, encoded.values))
    return rules.assign(antecedent_values=[tuple(value_of[i] for i in items) for items in rules["antecedent"]],
                        consequent_values=[tuple(value_of[i] for i in items) for items in rules["consequent"]])


@dataclass
class OfferRules:
    """Rules and sequences as the engine's offer queries take them, with what each reason needs.

    ``rules`` has one row per rule or sequence (``rule`` 0..n-1): rule_set
    (a segment, ``ALL_BASKETS``, or None for a sequence), antecedent (tuple),
    consequent (item), confidence and size.
    """

    rules: pd.DataFrame

    @classmethod
    def of(cls, rules_by_set: dict[str, pd.DataFrame], sequences: pd.DataFrame) -> "OfferRules":
        """From association rules per rule set (``ALL_BASKETS`` and segments) and the sequences table.

        Rules give their items as tuples in ``antecedent`` and ``consequent``,
        or as the lines hold them in ``antecedent_values`` and ``consequent_values``.
        """
        parts = []
        for rule_set, rules in rules_by_set.items():
            single = rules[rules["consequent"].map(len) == 1]
            # The lines' own item values where the rules carry them (:func:`with_values`).
            antecedent, consequent = (single.get(f"{side}_values", single[side])
                                      for side in ("antecedent", "consequent"))
            parts.append(pd.DataFrame({"rule_set": rule_set, "antecedent": antecedent.to_numpy(),
                                       "consequent": consequent.map(lambda c: c[0]).to_numpy(),
                                       "confidence": single["confidence"].to_numpy(dtype=float)}))
        forward = sequences[sequences["lift"] > 1] if len(sequences) else sequences
        parts.append(pd.DataFrame({"rule_set": None, "antecedent": [(x,) for x in forward.get("x_item", [])],
                                   "consequent": list(forward.get("y_item", [])),
                                   "confidence": forward.get("share", pd.Series(dtype=float)).to_numpy(dtype=float)}))
        table = pd.concat(parts, ignore_index=True)
        table["size"] = table["antecedent"].map(len).astype("int64")
        table.index.name = "rule"
        return cls(table.reset_index())

    def long_tables(self, level_dtype) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(basket rules, sequences), a row per antecedent item, items typed like the lines."""
        rules = self.rules
        long = rules.explode("antecedent").rename(columns={"antecedent": "item"})
        long["bit"] = long.groupby("rule").cumcount().rpow(2).astype("int64")
        long = long.astype({"item": level_dtype, "consequent": level_dtype})
        columns = ["rule", "item", "bit", "consequent", "confidence", "size"]
        basket = long[long["rule_set"].notna()]
        return basket[["rule_set", *columns]].astype({"rule_set": str}), long[long["rule_set"].isna()][columns]


def rule_sets(segments: pd.Series, segment_rules: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each customer's rule set: their segment when it has rules of its own, else ``ALL_BASKETS``."""
    own = segments.astype(str).where(segments.astype(str).isin(list(segment_rules)), ALL_BASKETS)
    return pd.DataFrame({"customer_id": segments.index.to_numpy(), "rule_set": own.to_numpy()})


@dataclass
class OfferQueries:
    """The offer queries of one as-of day: every customer's offers, and the popularity baselines.

    Each is an engine table computed once (:func:`crmlab.engine.materialized`)
    and dropped when the ``stack`` given to :meth:`as_of` closes.
    """

    held: object  # engine tables (ibis), each computed once
    customers: object
    offers: object
    popular: object

    @classmethod
    def as_of(cls, t, level: str, through_day: int, rules: OfferRules, customer_rule_sets: pd.DataFrame,
              k: int, window_days: int, stack: contextlib.ExitStack, *, with_reasons: bool = True) -> "OfferQueries":
        """The queries as of ``through_day``; ``with_reasons=False`` leaves the reasons out (the check needs none)."""
        def once(expr):
            return engine.materialized(expr, stack)

        held = once(offer_tables.customer_items(t, level, through_day=through_day))
        recent = once(offer_tables.customer_items(t, level, from_day=through_day - window_days + 1,
                                                  through_day=through_day))
        customers = memtable(customer_rule_sets)
        by_rule = _rule_offers(held, recent, customer_rule_sets, rules, _level_dtype(t, level), k, stack,
                               with_reasons)
        popular = once(offer_tables.popular_offers(held, customers, k))
        return cls(held, customers, once(offer_tables.offers_with_fill(by_rule, popular, k)), popular)

    def segment_popular(self, segments: pd.DataFrame, k: int):
        """The baseline within each RFM segment: its own most popular items, for its customers."""
        return offer_tables.popular_offers(self.held, self.customers, k, groups=memtable(segments))


def _top_rule_offers(held, recent, customer_rule_sets: pd.DataFrame, basket_rules: pd.DataFrame,
                     sequences: pd.DataFrame, k: int, with_reasons: bool) -> pd.DataFrame:
    """Each customer's ``k`` best rule offers (customer_id, item, score, position), scored by :mod:`.scoring`.

    With ``with_reasons``, each also carries its reason (rule, held, mask:
    :func:`.scoring.best_rules`). Only which customer holds which rule item
    leaves the engine, as a sparse matrix. The engine's join of every held
    item with every rule it starts took 11.3 s at x10 with text ids where
    this takes 2.1 s. The reasons were such a join too until 2026-12-05 (every
    offer with its customer's items and their rules): 5.2 s at x10, where
    :func:`.scoring.best_rules` takes about 1.2 s.
    """
    items = pd.Index(pd.unique(pd.concat([basket_rules["item"], basket_rules["consequent"], sequences["item"],
                                          sequences["consequent"]], ignore_index=True))).sort_values()
    reason_columns = ["rule", "held", "mask"] if with_reasons else []
    if items.empty:
        return pd.DataFrame({"customer_id": pd.Series(dtype=customer_rule_sets["customer_id"].dtype),
                             "item": pd.Series(dtype=basket_rules["item"].dtype), "score": pd.Series(dtype=float),
                             "position": pd.Series(dtype="int64"),
                             **{name: pd.Series(dtype="int64") for name in reason_columns}})
    ids, held_matrix = offer_tables.customer_item_matrix(held, items)
    _, recent_matrix = offer_tables.customer_item_matrix(recent, items, ids)
    row_sets = customer_rule_sets.set_index("customer_id")["rule_set"].reindex(ids).to_numpy()
    set_weights = {name: scoring.weights(rules, items, rules["confidence"] / rules["size"])
                   for name, rules in basket_rules.groupby("rule_set")}
    top = scoring.top_offers(held_matrix, recent_matrix, row_sets, set_weights,
                             scoring.weights(sequences, items, sequences["confidence"]), k)
    rows, columns = top["row"].to_numpy(), top["column"].to_numpy()
    out = pd.DataFrame({"customer_id": ids[rows], "item": items[columns], "score": top["score"].to_numpy(),
                        "position": top["position"].to_numpy(dtype="int64")})
    if not with_reasons:
        return out

    def as_columns(table: pd.DataFrame) -> pd.DataFrame:
        return table.assign(item=items.get_indexer(table["item"]), consequent=items.get_indexer(table["consequent"]))

    rule, n_held, mask = scoring.best_rules(held_matrix, recent_matrix, row_sets, rows, columns,
                                            as_columns(basket_rules), as_columns(sequences))
    # Every offer with a positive score has a rule that gave it; the engine's join kept only those.
    return out.assign(rule=rule, held=n_held, mask=mask)[rule >= 0]


def _rule_offers(held, recent, customer_rule_sets: pd.DataFrame, rules: OfferRules, level_dtype, k: int,
                 stack: contextlib.ExitStack, with_reasons: bool):
    """Each customer's ``k`` best rule offers, with their reasons unless ``with_reasons`` is False."""
    basket_rules, sequences = rules.long_tables(level_dtype)
    top = engine.materialized(memtable(_top_rule_offers(held, recent, customer_rule_sets, basket_rules, sequences,
                                                        k, with_reasons)), stack, like=held)
    return top if with_reasons else offer_tables.without_reasons(top)


def _level_dtype(t, level: str):
    return t.schema()[level].to_pandas()


def holdout_check(t, level: str, calibration_day: int, rules: OfferRules, segments: pd.Series,
                  segment_rules: dict[str, pd.DataFrame], k: int, window_days: int) -> dict[str, float | int]:
    """The offers of ``calibration_day`` and both baselines, checked on what customers bought after it.

    ``rules`` and ``segments`` must come from the lines up to ``calibration_day`` only.
    """
    t = engine.lines(t)
    groups = pd.DataFrame({"customer_id": segments.index.to_numpy(), "group": segments.astype(str).to_numpy()})
    with contextlib.ExitStack() as stack:
        # Which rule gave an offer does not change whether it was bought: the reasons are left out here.
        queries = OfferQueries.as_of(t, level, calibration_day, rules, rule_sets(segments, segment_rules), k,
                                     window_days, stack, with_reasons=False)
        later = engine.materialized(offer_tables.customer_items(t, level, from_day=calibration_day + 1), stack)
        evaluated = offer_tables.customers_through(t, calibration_day)
        offers = offer_tables.take_up(queries.offers, later, evaluated)
        popular = offer_tables.take_up(queries.popular, later, evaluated)
        segment = offer_tables.take_up(queries.segment_popular(groups, k), later, evaluated)
    n = offers["customers"]

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    return {
        "offers_customers_evaluated": n,
        "offers_hit_rate": share(offers["hits"], n),
        "offers_precision": share(offers["bought"], offers["offers"]),
        "offers_rule_coverage": share(offers["rule_customers"], n),
        "offers_hit_rate_popular": share(popular["hits"], n),
        "offers_precision_popular": share(popular["bought"], popular["offers"]),
        "offers_hit_rate_segment_popular": share(segment["hits"], n),
        "offers_precision_segment_popular": share(segment["bought"], segment["offers"]),
    }


def todays_offers(t, level: str, through_day: int, rules: OfferRules, segments: pd.Series,
                  segment_rules: dict[str, pd.DataFrame], k: int, window_days: int) -> pd.DataFrame:
    """Every customer's offers as of ``through_day``: :data:`OFFER_COLUMNS`, ranks from 1, each with its reason."""
    t = engine.lines(t)
    with contextlib.ExitStack() as stack:
        queries = OfferQueries.as_of(t, level, through_day, rules, rule_sets(segments, segment_rules), k,
                                     window_days, stack)
        frame = to_pandas(queries.offers)
    customers = len(segments)
    frame = frame.sort_values(["customer_id", "position"], kind="stable", ignore_index=True)
    items = pd.Index(pd.unique(pd.concat([frame["item"], rules.rules["consequent"],
                                          rules.rules["antecedent"].explode()], ignore_index=True).dropna()))
    names = pd.Series(readable_names(t, level, items), index=items)
    out = pd.DataFrame({"customer_id": frame["customer_id"].to_numpy(),
                        "rank": frame["position"].to_numpy() + 1,
                        "item": frame["item"].to_numpy(),
                        "item_name": names.reindex(frame["item"]).to_numpy(),
                        "score": frame["score"].to_numpy(dtype=float),
                        "reason": reasons(frame, rules, names, customers, window_days),
                        "source": frame["source"].to_numpy()})
    return out[OFFER_COLUMNS]


def reasons(offers: pd.DataFrame, rules: OfferRules, names: pd.Series, customers: int,
            window_days: int) -> list[str]:
    """Each offer's reason in words, from its best rule (and the part of it held) or its popularity."""
    table = rules.rules.set_index("rule")
    cache: dict[tuple, str] = {}
    out = []
    for source, rule, mask, item, buyers in zip(offers["source"], offers["rule"], offers["mask"], offers["item"],
                                                offers["customers"]):
        if source == "popular":
            key = ("popular", item)
            if key not in cache:
                cache[key] = (f"one of the most popular items: {pct(buyers / customers if customers else 0)} "
                              f"of customers bought {names[item]}")
        else:
            key = ("rule", int(rule), int(mask))
            if key not in cache:
                cache[key] = reason_text(table.loc[int(rule)], int(mask), names, window_days)
        out.append(cache[key])
    return out


def reason_text(rule: pd.Series, mask: int, names: pd.Series, window_days: int) -> str:
    """One rule's reason: what the customer bought of its antecedent, and how often it leads to the offer.

    Examples
    --------
    >>> names = pd.Series({"BEEF": "BEEF", "PASTA": "PASTA", "SAUCE": "SAUCE"})
    >>> rule = pd.Series({"rule_set": "", "antecedent": ("PASTA", "BEEF"), "consequent": "SAUCE",
    ...                   "confidence": 0.55})
    >>> reason_text(rule, 3, names, 30)
    'bought PASTA and BEEF; 55% of such baskets also hold SAUCE'
    >>> reason_text(rule, 2, names, 30)
    'bought BEEF; 55% of baskets with PASTA and BEEF also hold SAUCE'
    """
    antecedent = [names[i] for i in rule["antecedent"]]
    held = [name for place, name in enumerate(antecedent) if mask >> place & 1]
    consequent, share = names[rule["consequent"]], pct(rule["confidence"])
    if rule["rule_set"] is None or (isinstance(rule["rule_set"], float) and pd.isna(rule["rule_set"])):
        return (f"bought {antecedent[0]} in the last {window_days} days; {share} of its buyers buy {consequent} "
                f"within {window_days} days")
    among = f" among {rule['rule_set']} customers" if rule["rule_set"] != ALL_BASKETS else ""
    if len(held) == len(antecedent):
        return f"bought {_and(held)}; {share} of such baskets{among} also hold {consequent}"
    return f"bought {_and(held)}; {share} of baskets{among} with {_and(antecedent)} also hold {consequent}"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
