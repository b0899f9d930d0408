"""Rule offers scored as a matrix product: the items each customer holds times each rule set's weights.

A rule adds ``confidence * held / size`` to its consequent's score
(:mod:`crmlab.analyses.baskets.offers`), which is the sum of ``confidence /
size`` over the antecedent items the customer holds. So a rule set is one
items x items matrix of weights (held item -> offered item), and a customer's
scores are their row of held items times it; sequences add the items bought
in the window times the sequences' shares. Scores are rounded to
:data:`~crmlab.engine.offer_tables.SCORE_DIGITS` decimals and ranked with
ties by item. Until 71d6579 the engine summed these weights in a join of
every held item with every rule it starts; the offers of complete_journey x1
and x10 are the same as that join's, row for row. Each offer's reason, the
rule that adds most to it (:func:`best_rules`), is found from the same
matrices; until 2026-12-05 it was an engine join too, and the reasons are the
same as that join's at x1 and x10, row for row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmlab.analyses.baskets.runs import expand_runs, run_elements
from crmlab.engine.offer_tables import SCORE_DIGITS

# Customers scored at a time: their dense score rows (customers x items, 8 bytes each) stay small.
ROWS_PER_CHUNK = 20_000


def weights(rules: pd.DataFrame, items: pd.Index, per_rule_item) -> np.ndarray:
    """items x items: ``per_rule_item`` summed over the rows of ``rules`` (``item`` -> ``consequent``)."""
    matrix = np.zeros((len(items), len(items)))
    np.add.at(matrix, (items.get_indexer(rules["item"]), items.get_indexer(rules["consequent"])),
              np.asarray(per_rule_item, dtype=float))
    return matrix


def top_offers(held, recent, row_sets: np.ndarray, set_weights: dict[str, np.ndarray],
               sequence_weights: np.ndarray, k: int) -> pd.DataFrame:
    """Each row's ``k`` best-scored columns that it does not hold, best first (ties by column).

    Parameters
    ----------
    held, recent : scipy.sparse.csr_matrix
        Customers x items, 1 where the customer bought the item in the period
        (``held``) or in the window (``recent``).
    row_sets : ndarray
        Each row's rule set (a key of ``set_weights``; any other value: sequences only).
    set_weights, sequence_weights : ndarray
        items x items, from :func:`weights`.

    Returns
    -------
    DataFrame
        ``row``, ``column``, ``score`` and ``position`` (0 = best), rows with a
        positive score only.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> held = sp.csr_matrix(np.array([[1.0, 0, 0], [0, 1, 0]]))
    >>> w = np.array([[0, 0.5, 0.25], [0, 0, 0], [0, 0, 0]])
    >>> top_offers(held, held * 0, np.array(["all", "all"]), {"all": w}, np.zeros((3, 3)), 2).values.tolist()
    [[0.0, 1.0, 0.5, 0.0], [0.0, 2.0, 0.25, 1.0]]
    """
    found = []
    for start in range(0, held.shape[0], ROWS_PER_CHUNK):
        stop = min(start + ROWS_PER_CHUNK, held.shape[0])
        own_held = held[start:stop]
        scores = np.asarray(recent[start:stop] @ sequence_weights)
        sets = row_sets[start:stop]
        for name, matrix in set_weights.items():
            rows = np.flatnonzero(sets == name)
            if len(rows):
                scores[rows] += own_held[rows] @ matrix
        scores = np.round(scores, SCORE_DIGITS)
        scores[own_held.toarray() > 0] = 0.0  # what a customer bought is never offered
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        best = np.take_along_axis(scores, order, axis=1)
        rows, position = np.nonzero(best > 0)
        found.append(pd.DataFrame({"row": rows + start, "column": order[rows, position],
                                   "score": best[rows, position], "position": position}))
    if not found:
        return pd.DataFrame({"row": np.zeros(0, dtype=np.int64), "column": np.zeros(0, dtype=np.int64),
                             "score": np.zeros(0), "position": np.zeros(0, dtype=np.int64)})
    return pd.concat(found, ignore_index=True)


# Offers matched with their rules at a time: each meets every held item of its customer, and every rule of
# its customer's rule set into the offered item.
OFFERS_PER_CHUNK = 20_000


def best_rules(held, recent, row_sets: np.ndarray, rows: np.ndarray, columns: np.ndarray,
               basket_rules: pd.DataFrame, sequences: pd.DataFrame,
               chunk: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each offer's reason: the rule (or sequence) that adds most to its score, and what of it the customer holds.

    An offer is the item ``columns[i]`` for the customer of row ``rows[i]``
    of ``held`` and ``recent`` (as in :func:`top_offers`). The candidates are
    the rules of the row's rule set whose consequent is the item and of
    whose antecedent the customer holds at least one item, and the sequences
    into the item whose X the customer bought in the window. Each adds
    ``confidence * held / size`` (rounded as the scores are); the largest
    wins, the smaller rule number among equals.

    ``basket_rules`` and ``sequences`` are long tables as
    :meth:`OfferRules.long_tables` gives them (a row per antecedent item, its
    ``bit``), with ``item`` and ``consequent`` as column numbers. Returns each
    offer's rule, held count and mask (the sum of the held items' bits),
    rule -1 where nothing matches (a positive score always has a match).
    The offers are matched ``chunk`` (default :data:`OFFERS_PER_CHUNK`) at a time.
    """
    n = len(rows)
    chunk = chunk or OFFERS_PER_CHUNK
    n_columns = int(max(held.shape[1], columns.max(initial=0) + 1))
    index = _BasketRuleIndex(basket_rules, n_columns)
    sequence_keys = (sequences["item"].to_numpy(dtype=np.int64) * n_columns
                     + sequences["consequent"].to_numpy(dtype=np.int64))
    sequence_order = np.argsort(sequence_keys, kind="stable")
    offer_sets = index.set_codes(row_sets[rows])
    found = [_candidates(*(np.zeros(0) for _ in range(5)))]
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        found.append(index.best(held, rows[start:stop], offer_sets[start:stop], columns[start:stop], start))
        found.append(_sequence_candidates(recent, rows[start:stop], columns[start:stop], sequences,
                                          sequence_keys[sequence_order], sequence_order, n_columns, start))
    offer, rule, weight, count, mask = (np.concatenate(part) for part in zip(*found))
    best_rule, best_count, best_mask = (np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64),
                                        np.zeros(n, dtype=np.int64))
    if len(offer):
        order = np.lexsort((rule, -weight, offer))
        first = order[np.r_[True, offer[order][1:] != offer[order][:-1]]]
        best_rule[offer[first]], best_count[offer[first]], best_mask[offer[first]] = (rule[first], count[first],
                                                                                      mask[first])
    return best_rule, best_count, best_mask


def _candidates(offer, rule, weight, count, mask) -> tuple[np.ndarray, ...]:
    return (offer.astype(np.int64), rule.astype(np.int64), np.round(weight, SCORE_DIGITS), count.astype(np.int64),
            mask.astype(np.int64))


class _BasketRuleIndex:
    """The basket rules sorted for matching offers: by (rule set, consequent, rule), and their antecedent
    items by (rule set, consequent, item), so that an offer's rules, and those holding one of its customer's
    items, are each one run."""

    def __init__(self, long: pd.DataFrame, n_columns: int):
        self.n_columns = n_columns
        self.sets = pd.Index(pd.unique(long["rule_set"].to_numpy()))
        rule_of = long["rule"].to_numpy()
        group = self.sets.get_indexer(long["rule_set"].to_numpy()) * n_columns + long["consequent"].to_numpy()
        by_rule = np.lexsort((rule_of, group))
        heads = by_rule[np.r_[True, rule_of[by_rule][1:] != rule_of[by_rule][:-1]]] if len(long) else by_rule
        # One entry per rule, in (set, consequent, rule) order.
        self.group, self.rule = group[heads], rule_of[heads]
        self.confidence, self.size = long["confidence"].to_numpy()[heads], long["size"].to_numpy()[heads]
        position = np.empty(len(long), dtype=np.int64)
        # Every row of a rule takes its rule's position: rows of a rule are together in by_rule.
        rule_start = np.r_[True, rule_of[by_rule][1:] != rule_of[by_rule][:-1]] if len(long) else np.zeros(0, bool)
        position[by_rule] = np.cumsum(rule_start) - 1
        item = long["item"].to_numpy(dtype=np.int64)
        by_item = np.lexsort((item, group))
        self.item_key = (group * n_columns + item)[by_item]
        self.item_rule, self.item_bit = position[by_item], long["bit"].to_numpy()[by_item]

    def set_codes(self, sets: np.ndarray) -> np.ndarray:
        return self.sets.get_indexer(sets) if len(self.sets) else np.full(len(sets), -1)

    def best(self, held, rows, sets, columns, offset: int) -> tuple[np.ndarray, ...]:
        """(offer, rule, weight, held, mask) of each offer's best basket rule, for the offers with one."""
        group = np.where(sets >= 0, sets * self.n_columns + columns, -1)
        low, high = np.searchsorted(self.group, group, "left"), np.searchsorted(self.group, group, "right")
        # Each offer's rules are pairs base[o] .. base[o + 1] - 1, in rule order.
        base = np.r_[0, np.cumsum(high - low)]
        # The customer's held items meet the rules holding them in their antecedent.
        offer, entry = expand_runs(held.indptr[rows], held.indptr[rows + 1] - held.indptr[rows])
        key = group[offer] * self.n_columns + held.indices[entry]
        first, last = np.searchsorted(self.item_key, key, "left"), np.searchsorted(self.item_key, key, "right")
        match, line = expand_runs(first, last - first)
        match_offer = offer[match]
        pair = base[match_offer] + self.item_rule[line] - low[match_offer]
        counts = np.bincount(pair, minlength=base[-1])
        masks = np.bincount(pair, weights=self.item_bit[line], minlength=base[-1]).astype(np.int64)
        rule = run_elements(low, high - low)
        weight = np.round(self.confidence[rule] * counts / self.size[rule], SCORE_DIGITS)
        weight[counts == 0] = -np.inf
        has = np.flatnonzero(high > low)
        if not len(has):
            return _candidates(*(np.zeros(0) for _ in range(5)))
        top = np.maximum.reduceat(weight, base[has])
        # The first pair at the top weight: the smallest rule among equals.
        at_top = np.where(weight == np.repeat(top, high[has] - low[has]), np.arange(len(weight)), len(weight))
        chosen = np.minimum.reduceat(at_top, base[has])
        keep = np.isfinite(top)
        chosen, offers = chosen[keep], has[keep]
        return _candidates(offers + offset, self.rule[rule[chosen]], weight[chosen], counts[chosen], masks[chosen])


def _sequence_candidates(recent, rows, columns, sequences, keys, order, n_columns: int,
                         offset: int) -> tuple[np.ndarray, ...]:
    """(offer, rule, weight, held, mask) of every sequence matching one of the offers (numbered from ``offset``).

    ``keys``: the sequences' X * ``n_columns`` + Y, sorted; ``order``: their rows in that order.
    """
    offer, position = expand_runs(recent.indptr[rows], recent.indptr[rows + 1] - recent.indptr[rows])
    wanted = recent.indices[position].astype(np.int64) * n_columns + columns[offer]
    at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
    hit = (keys[at] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
    chosen = order[at[hit]]
    ones = np.ones(len(chosen), dtype=np.int64)
    return _candidates(offer[hit] + offset, sequences["rule"].to_numpy()[chosen],
                       sequences["confidence"].to_numpy()[chosen], ones, ones)
