"""Association rules: thresholds on exact counts, measures by hand and against mlxtend, known answers."""

import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import FIXTURE, REFERENCE, lines_from, needs_reference

from crmlab.models.itemsets import encoding, mining
from crmlab.models.itemsets import rules as itemsets_rules


def test_a_rule_exactly_on_the_confidence_threshold_is_kept():
    # 20 baskets with A, 16 of them with B: confidence 16/20 = 0.8, which is 0.7999999999999999 as a float division
    # of supports, so a float comparison with 0.8 loses it.
    data = [["A", "B"]] * 16 + [["A"]] * 4 + [["C"]] * 5
    encoded = encoding.encode(lines_from(data), "category", 1)
    rules = itemsets_rules.association_rules(mining.mine(encoded), encoded.n_baskets, 0.8)
    kept = rules[(rules["antecedent"] == ("A",)) & (rules["consequent"] == ("B",))]
    assert len(kept) == 1 and kept.iloc[0]["count"] == 16
    assert (16 / 25) / (20 / 25) < 0.8  # the float trap being guarded against


def test_rule_measures_by_hand():
    # 10 baskets: A in 5, B in 4, A and B together in 3.
    data = [["A", "B"]] * 3 + [["A"]] * 2 + [["B"]] + [["C"]] * 4
    encoded = encoding.encode(lines_from(data), "category", 1)
    rules = itemsets_rules.association_rules(mining.mine(encoded), encoded.n_baskets, 0.0)
    rule = rules[(rules["antecedent"] == ("A",)) & (rules["consequent"] == ("B",))].iloc[0]
    assert rule["support"] == pytest.approx(0.3) and rule["confidence"] == pytest.approx(0.6)
    assert rule["lift"] == pytest.approx(0.6 / 0.4)
    assert rule["leverage"] == pytest.approx(0.3 - 0.5 * 0.4)
    assert rule["conviction"] == pytest.approx((1 - 0.4) / (1 - 0.6))
    # Zhang: confidence with A 0.6, without A 1/5 = 0.2 -> (0.6 - 0.2) / 0.6
    assert rule["zhang"] == pytest.approx((0.6 - 0.2) / 0.6)


def test_rule_measures_equal_mlxtend():
    from mlxtend.frequent_patterns import association_rules as mlxtend_rules

    lines = pd.read_parquet(FIXTURE / "transactions.parquet")
    encoded = encoding.encode(lines, "category", 0.02)
    itemsets = mining.mine(encoded)
    ours = itemsets_rules.association_rules(itemsets, encoded.n_baskets, 0.3, consequents="any")
    frame = pd.DataFrame({"support": itemsets["support"], "itemsets": [frozenset(i) for i in itemsets["items"]]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = mlxtend_rules(frame, num_itemsets=encoded.n_baskets, metric="confidence", min_threshold=0.3)
    theirs = theirs.set_index([theirs["antecedents"].map(frozenset), theirs["consequents"].map(frozenset)])
    ours = ours.set_index([ours["antecedent"].map(frozenset), ours["consequent"].map(frozenset)])
    common = ours.index.intersection(theirs.index)
    assert len(common) >= 0.99 * len(ours) and len(common) > 50
    for column in ("support", "confidence", "lift", "leverage", "conviction"):
        np.testing.assert_allclose(ours.loc[common, column], theirs.loc[common, column], rtol=1e-9, err_msg=column)
    np.testing.assert_allclose(ours.loc[common, "zhang"], theirs.loc[common, "zhangs_metric"], rtol=1e-9, atol=1e-12)


def test_rule_options():
    data = ([["A", "B", "C"]] * 6 + [["A", "B"]] * 2 + [["A", "C"]] * 2 + [["B", "C"]] * 2 + [["D"]] * 3)
    encoded = encoding.encode(lines_from(data), "category", 1)
    itemsets = mining.mine(encoded)
    single = itemsets_rules.association_rules(itemsets, encoded.n_baskets, 0.5)
    assert (single["consequent"].map(len) == 1).all()
    anything = itemsets_rules.association_rules(itemsets, encoded.n_baskets, 0.5, consequents="any")
    assert (anything["consequent"].map(len) == 2).any() and len(anything) > len(single)
    assert (itemsets_rules.association_rules(itemsets, encoded.n_baskets, 0.5, max_len=2)["size"] == 2).all()
    assert set(itemsets_rules.association_rules(itemsets, encoded.n_baskets, 0.5, min_count=7)["count"]) == {6, 8} - {6}
    assert itemsets_rules.association_rules(itemsets, encoded.n_baskets, 0.5, min_count=9).empty
    # {A, B} -> C has confidence 6/8; {A} -> C has 8/10: the longer rule adds nothing and is pruned.
    pruned = itemsets_rules.association_rules(itemsets, encoded.n_baskets, 0.5, prune_redundant=True)
    assert not ((pruned["antecedent"] == ("A", "B")) & (pruned["consequent"] == ("C",))).any()
    assert ((pruned["antecedent"] == ("A",)) & (pruned["consequent"] == ("C",))).any()


@needs_reference
def test_groceries_known_answers():
    lines = pd.read_csv(REFERENCE / "groceries" / "baskets.csv").rename(
        columns={"basket_id": "order_id", "item": "category"})
    encoded = encoding.encode(lines, "category", 0.001)
    itemsets = mining.mine(encoded)
    assert encoded.n_baskets == 9835 and encoded.min_count == 10
    assert len(itemsets) == 13_492
    assert len(itemsets_rules.association_rules(itemsets, encoded.n_baskets, 0.5)) == 5_668
    rules = itemsets_rules.association_rules(itemsets, encoded.n_baskets, 0.8)
    assert len(rules) == 410
    assert rules["size"].value_counts().sort_index().to_dict() == {3: 29, 4: 229, 5: 140, 6: 12}
    assert (rules["count"] * 5 > 4 * rules["antecedent_count"]).sum() == 371  # strictly above 0.8
    top = rules.iloc[0]
    assert set(top["antecedent"]) == {"liquor", "red/blush wine"} and top["consequent"] == ("bottled beer",)
    assert round(top["lift"], 2) == 11.24 and round(top["confidence"], 3) == 0.905
    for miner in ("hmine", "fpgrowth"):
        assert len(mining.mine(encoded, miner=miner)) == 13_492
