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
