"""Rule scores as a matrix product: held items never offered, ties to the item that sorts first."""

import numpy as np
import scipy.sparse as sp

from crmlab.analyses.baskets.scoring import top_offers


def test_ties_go_to_the_first_column_and_held_items_and_other_rule_sets_score_nothing():
    held = sp.csr_matrix(np.array([[1.0, 0, 0, 0], [1.0, 0, 0, 1.0], [1.0, 0, 0, 0]]))
    recent = sp.csr_matrix(np.array([[0, 0, 0, 0], [0, 0, 0, 1.0], [0, 0, 0, 0]]))
    weights = np.zeros((4, 4))
    weights[0, 1] = weights[0, 2] = 0.4  # a tie: column 1 first
    weights[0, 3] = 0.9  # held by row 1: never offered to it
    sequences = np.zeros((4, 4))
    sequences[3, 2] = 0.1  # row 1 bought item 3 in the window
    found = top_offers(held, recent, np.array(["a", "a", "b"]), {"a": weights}, sequences, 2)
    rows = [tuple(r) for r in found[["row", "column", "position"]].itertuples(index=False)]
    assert rows == [(0, 3, 0), (0, 1, 1), (1, 2, 0), (1, 1, 1)]
    assert found.loc[found["row"] == 1, "score"].tolist() == [0.5, 0.4]
    # Row 2's rule set has no rules and it bought nothing in the window: no rule offers.
    assert 2 not in found["row"].tolist()
