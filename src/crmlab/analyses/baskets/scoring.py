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
and x10 are the same as that join's, row for row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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


# Offers whose held items are matched with the sequences at a time: each meets every recent item of its customer.
OFFERS_PER_CHUNK = 200_000


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
    The sequences are matched ``chunk`` offers (default
    :data:`OFFERS_PER_CHUNK`) at a time.
    """
    n = len(rows)
    chunk = chunk or OFFERS_PER_CHUNK
    found = [_basket_candidates(held, row_sets, rows, columns, basket_rules)]
    for start in range(0, n, chunk):
        found.append(_sequence_candidates(recent, rows, columns, sequences, start, min(n, start + chunk)))
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


def _expand(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs ``starts[j]:starts[j] + lengths[j]``: each element's run j and its own index."""
    ends = np.cumsum(lengths)
    return (np.repeat(np.arange(len(lengths)), lengths),
            np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0))


def _basket_candidates(held, row_sets, rows, columns, basket_rules) -> tuple[np.ndarray, ...]:
    """(offer, rule, weight, held, mask) of every basket rule matching an offer."""
    long = basket_rules.sort_values(["rule", "bit"], kind="stable")
    rule_of = long["rule"].to_numpy()
    heads = np.flatnonzero(np.r_[True, rule_of[1:] != rule_of[:-1]]) if len(long) else np.zeros(0, dtype=np.int64)
    sizes = np.diff(np.r_[heads, len(long)])
    sets = pd.Index(pd.unique(long["rule_set"].to_numpy()))
    n_columns = int(max(long["consequent"].max(), columns.max(initial=0))) + 1 if len(long) else 1
    # Rules keyed by (rule set, consequent), offers by (their row's rule set, item): the matching rules are a run.
    rule_key = sets.get_indexer(long["rule_set"].to_numpy()[heads]) * n_columns + long["consequent"].to_numpy()[heads]
    by_key = np.argsort(rule_key, kind="stable")
    offer_set = sets.get_indexer(row_sets[rows]) if len(sets) else np.full(len(rows), -1)
    offer_key = np.where(offer_set >= 0, offer_set * n_columns + columns, -1)
    low = np.searchsorted(rule_key[by_key], offer_key, "left")
    high = np.searchsorted(rule_key[by_key], offer_key, "right")
    pair_offer, position = _expand(low, high - low)
    pair_rule = by_key[position]
    # Each pair's antecedent items, and whether the customer holds them.
    pair, line = _expand(heads[pair_rule], sizes[pair_rule])
    holds = _holds(held, rows[pair_offer[pair]], long["item"].to_numpy()[line])
    counts = np.bincount(pair, weights=holds, minlength=len(pair_rule))
    masks = np.bincount(pair, weights=holds * long["bit"].to_numpy()[line], minlength=len(pair_rule))
    matched = counts > 0
    first = heads[pair_rule[matched]]
    weight = long["confidence"].to_numpy()[first] * counts[matched] / long["size"].to_numpy()[first]
    return _candidates(pair_offer[matched], rule_of[first], weight, counts[matched], masks[matched])


def _holds(matrix, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Whether each (row, column) of a sparse 0/1 matrix is set."""
    if len(rows) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(matrix[rows, columns]).ravel() > 0


def _sequence_candidates(recent, rows, columns, sequences, start: int, stop: int) -> tuple[np.ndarray, ...]:
    """(offer, rule, weight, held, mask) of every sequence matching one of offers ``start:stop``."""
    n_columns = int(max(sequences["item"].max(), sequences["consequent"].max(), columns.max(initial=0))) + 1 \
        if len(sequences) else 1
    key = sequences["item"].to_numpy(dtype=np.int64) * n_columns + sequences["consequent"].to_numpy(dtype=np.int64)
    by_key = np.argsort(key, kind="stable")
    key = key[by_key]
    own = rows[start:stop]
    offer, position = _expand(recent.indptr[own], recent.indptr[own + 1] - recent.indptr[own])
    wanted = recent.indices[position].astype(np.int64) * n_columns + columns[start:stop][offer]
    at = np.minimum(np.searchsorted(key, wanted), max(len(key) - 1, 0))
    hit = (key[at] == wanted) if len(key) else np.zeros(len(wanted), dtype=bool)
    chosen = by_key[at[hit]]
    ones = np.ones(len(chosen), dtype=np.int64)
    return _candidates(offer[hit] + start, sequences["rule"].to_numpy()[chosen],
                       sequences["confidence"].to_numpy()[chosen], ones, ones)
