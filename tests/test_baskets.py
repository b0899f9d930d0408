"""Baskets: exact counts and thresholds, miners that agree, bounded memory, sequences."""

import itertools
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURE, ROOT

from crmlab.analyses.baskets import sequences as baskets_sequences
from crmlab.analyses.baskets import tables as baskets_tables
from crmlab.models.itemsets import encoding as itemsets_encoding
from crmlab.models.itemsets import mining as itemsets_mining
from crmlab.models.itemsets import rules as itemsets_rules

REFERENCE = ROOT.parent / "shared" / "reference"
needs_reference = pytest.mark.skipif(not (REFERENCE / "groceries" / "baskets.csv").exists(),
                                     reason="../shared/reference is not next to this checkout")


def lines_from(baskets_items: list[list[str]]) -> pd.DataFrame:
    rows = [(b, item) for b, items in enumerate(baskets_items) for item in items]
    return pd.DataFrame(rows, columns=["order_id", "category"])


def brute_force_itemsets(baskets_items, min_count):
    counts = {}
    for items in baskets_items:
        items = sorted(set(items))
        for size in range(1, len(items) + 1):
            for combo in itertools.combinations(items, size):
                counts[combo] = counts.get(combo, 0) + 1
    return {frozenset(k): v for k, v in counts.items() if v >= min_count}


# --------------------------------------------------------------------------- counts and miners


def test_min_basket_count_is_exact():
    assert itemsets_encoding.min_basket_count(0.001, 9835) == 10  # 9.835 baskets -> at least 10
    assert itemsets_encoding.min_basket_count(0.01, 155_659) == 1557
    assert itemsets_encoding.min_basket_count(0.25, 8) == 2  # exactly on it
    assert itemsets_encoding.min_basket_count(40, 1000) == 40
    with pytest.raises(ValueError):
        itemsets_encoding.min_basket_count(0, 10)
    with pytest.raises(ValueError):
        itemsets_encoding.min_basket_count(2.5, 10)


@pytest.mark.parametrize("miner", list(itemsets_mining.MINERS))
def test_every_miner_finds_exactly_the_brute_force_itemsets(miner):
    rng = np.random.default_rng(3)
    items = list("abcdefghij")
    popularity = np.linspace(0.6, 0.05, len(items))
    data = [[i for i, p in zip(items, popularity) if rng.random() < p] for _ in range(300)]
    data.append(["a", "a", "b"])  # a repeated line counts once
    encoded = itemsets_encoding.encode(lines_from(data), "category", 12)
    found = itemsets_mining.mine(encoded, miner=miner, workers=1)
    ours = {frozenset(s): n for s, n in zip(found["items"], found["count"])}
    assert ours == brute_force_itemsets(data, 12)
    assert encoded.n_baskets == sum(1 for items in data if items)  # an empty basket is no basket
    assert found["support"].equals(found["count"] / encoded.n_baskets)


def test_parallel_and_single_process_agree():
    lines = pd.read_parquet(FIXTURE / "transactions.parquet")
    encoded = itemsets_encoding.encode(lines, "category", 0.01)
    one = itemsets_mining.mine(encoded, workers=1)
    two = itemsets_mining.mine(encoded, workers=2)
    pd.testing.assert_frame_equal(one, two)
    assert encoded.n_baskets == lines.dropna(subset=["category"])["order_id"].nunique()


@pytest.mark.parametrize("level", ["category", "product_id"])
def test_groups_encoded_in_one_pass_equal_each_group_encoded_apart(level):
    lines = pd.read_parquet(FIXTURE / "transactions.parquet")
    # Three groups of customers, as RFM segments would be; an order shared by two groups counts in each.
    lines["group"] = np.array(["a", "b", "c"])[pd.factorize(lines["customer_id"])[0] % 3]
    lines.loc[lines.index[:5], "order_id"] = lines["order_id"].iloc[-1]
    min_counts = {"a": 20, "b": 30, "c": 10_000}
    together = itemsets_encoding.encode_groups(lines, level, "group", min_counts)
    assert list(together) == ["a", "b", "c"]
    for group, min_count in min_counts.items():
        apart = itemsets_encoding.encode(lines[lines["group"] == group], level, min_count)
        one = together[group]
        assert one.baskets.shape == apart.baskets.shape and (one.baskets != apart.baskets).nnz == 0
        assert list(one.items) == list(apart.items) and list(one.values) == list(apart.values)
        assert (one.item_counts == apart.item_counts).all()
        assert (one.n_baskets, one.n_items, one.min_count) == (apart.n_baskets, apart.n_items, apart.min_count)
    # The groups differ, and c's threshold leaves it nothing to mine.
    assert together["a"].baskets.shape[0] > 100 and together["a"].n_baskets != together["b"].n_baskets
    assert together["c"].baskets.shape == (0, 0)
    # Mined in two processes or one, each group's itemsets are those of its own encoding.
    two, one = itemsets_mining.mine_groups(together, workers=2), itemsets_mining.mine_groups(together, workers=1)
    assert list(two) == ["a", "b", "c"]
    for group in min_counts:
        pd.testing.assert_frame_equal(two[group], one[group])
        pd.testing.assert_frame_equal(two[group], itemsets_mining.mine(together[group]))
    assert (two["a"]["size"] > 1).any() and (two["c"]["size"] == 1).all()


def test_baskets_without_the_item_level_do_not_count():
    lines = pd.DataFrame({"order_id": [1, 1, 2, 3], "category": ["x", "y", None, "x"]})
    encoded = itemsets_encoding.encode(lines, "category", 1)
    assert encoded.n_baskets == 2
    with pytest.raises(ValueError, match="item level 'department' is not a column"):
        itemsets_encoding.encode(lines, "department", 1)


# --------------------------------------------------------------------------- rules


def test_a_rule_exactly_on_the_confidence_threshold_is_kept():
    # 20 baskets with A, 16 of them with B: confidence 16/20 = 0.8, which is 0.7999999999999999 as a float division
    # of supports, so a float comparison with 0.8 loses it.
    data = [["A", "B"]] * 16 + [["A"]] * 4 + [["C"]] * 5
    encoded = itemsets_encoding.encode(lines_from(data), "category", 1)
    rules = itemsets_rules.association_rules(itemsets_mining.mine(encoded), encoded.n_baskets, 0.8)
    kept = rules[(rules["antecedent"] == ("A",)) & (rules["consequent"] == ("B",))]
    assert len(kept) == 1 and kept.iloc[0]["count"] == 16
    assert (16 / 25) / (20 / 25) < 0.8  # the float trap being guarded against


def test_rule_measures_by_hand():
    # 10 baskets: A in 5, B in 4, A and B together in 3.
    data = [["A", "B"]] * 3 + [["A"]] * 2 + [["B"]] + [["C"]] * 4
    encoded = itemsets_encoding.encode(lines_from(data), "category", 1)
    rules = itemsets_rules.association_rules(itemsets_mining.mine(encoded), encoded.n_baskets, 0.0)
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
    encoded = itemsets_encoding.encode(lines, "category", 0.02)
    itemsets = itemsets_mining.mine(encoded)
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
    encoded = itemsets_encoding.encode(lines_from(data), "category", 1)
    itemsets = itemsets_mining.mine(encoded)
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


# --------------------------------------------------------------------------- reference data


@needs_reference
def test_groceries_known_answers():
    lines = pd.read_csv(REFERENCE / "groceries" / "baskets.csv").rename(
        columns={"basket_id": "order_id", "item": "category"})
    encoded = itemsets_encoding.encode(lines, "category", 0.001)
    itemsets = itemsets_mining.mine(encoded)
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
        assert len(itemsets_mining.mine(encoded, miner=miner)) == 13_492


@needs_reference
def test_online_retail_wide_item_space_in_bounded_memory():
    lines = pd.read_csv(REFERENCE / "online-retail-baskets" / "baskets.csv").rename(
        columns={"basket_id": "order_id", "item": "product_id"})
    tracemalloc.start()
    encoded = itemsets_encoding.encode(lines, "product_id", 0.01)
    found = itemsets_mining.mine(encoded, workers=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(found) == 721  # the reference's answer at support 0.01
    # A dense baskets x items matrix would be 28,816 x 4,631 cells (127 MiB as bool); measured here: 36 MiB.
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_wide_sparse_input_never_becomes_a_dense_matrix():
    # 50,000 baskets over 40,000 items: dense, that is 2 GB of bool; only a few dozen items are frequent.
    rng = np.random.default_rng(0)
    n_lines = 400_000
    popular = rng.integers(0, 40, n_lines // 4)
    rare = rng.integers(40, 40_000, n_lines - len(popular))
    lines = pd.DataFrame({"order_id": rng.integers(0, 50_000, n_lines),
                          "product_id": np.concatenate([popular, rare])})
    tracemalloc.start()
    encoded = itemsets_encoding.encode(lines, "product_id", 0.005)
    found = itemsets_mining.mine(encoded, workers=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert encoded.n_items > 39_000 and len(encoded.items) == 40
    assert len(found) >= 40
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"  # measured here: 16 MiB


# --------------------------------------------------------------------------- sequences


def test_sequences_by_hand():
    day = pd.Timestamp("2021-01-01")

    def line(customer, order, offset, category):
        return {"customer_id": customer, "order_id": order, "order_date": day + pd.Timedelta(days=offset),
                "category": category}

    rows = [
        line(1, 1, 0, "tv"), line(1, 2, 10, "speakers"),        # within 30 days: counts
        line(2, 3, 0, "tv"), line(2, 4, 45, "speakers"),        # too late
        line(3, 5, 5, "tv"), line(3, 5, 5, "speakers"),         # same basket: does not count
        line(4, 6, 2, "speakers"),                               # no tv
        line(5, 7, 80, "tv"), line(5, 8, 85, "speakers"),       # tv too close to the end to observe 30 days
        line(6, 9, 100, "cable"),
    ]
    sequences = baskets_sequences.sequence_rules(pd.DataFrame(rows), "category", 30, min_customers=1, min_pair_customers=1)
    row = sequences[(sequences["x"] == "tv") & (sequences["y"] == "speakers")].iloc[0]
    assert row["customers_x"] == 3 and row["customers_x_then_y"] == 1
    assert row["share"] == pytest.approx(1 / 3)
    assert row["baseline"] == pytest.approx(5 / 6)  # customers 1-5 bought speakers at some point
    assert row["lift"] == pytest.approx((1 / 3) / (5 / 6))
    assert not ((sequences["x"] == "speakers") & (sequences["y"] == "tv")).any()


def test_tables_on_the_page_are_ranked_from_one():
    sequences = pd.DataFrame({"x": list("abcd"), "y": list("efgh"), "lift": [4.0, 3.0, 2.0, 1.0]})
    table = baskets_tables.sequences_table(sequences, top=3)
    # A reader sees "rank 1", not pandas' row 0.
    assert table.index.tolist() == [1, 2, 3] and table.index.name == "rank"
    assert table["x"].tolist() == ["a", "b", "c"] and list(table.columns) == ["x", "y", "lift"]
    assert baskets_tables.sequences_table(sequences.iloc[:0]).empty


def test_sequences_equal_a_brute_force_count():
    rng = np.random.default_rng(11)
    start = pd.Timestamp("2021-03-01")
    rows = []
    for customer in range(300):
        # Customers differ a lot in how often they buy, as in real data (chunks group them by that).
        for _ in range(int(rng.integers(1, 5) ** 2)):
            rows.append({"customer_id": customer, "order_id": len(rows), "category": f"c{rng.integers(0, 12)}",
                         "order_date": start + pd.Timedelta(days=int(rng.integers(0, 120)), hours=9)})
    lines = pd.DataFrame(rows)
    window = 20
    found = baskets_sequences.sequence_rules(lines, "category", window, min_customers=1, min_pair_customers=1, chunk=7)
    day = (lines["order_date"] - lines["order_date"].min().floor("D")).dt.days
    last_start = int(day.max()) - window
    bought = {}
    for c, d, item in zip(lines["customer_id"], day, lines["category"]):
        bought.setdefault(c, set()).add((d, item))
    expected = {}
    for purchases in bought.values():
        pairs = {(x, y) for dx, x in purchases if dx <= last_start
                 for dy, y in purchases if 0 < dy - dx <= window and x != y}
        for pair in pairs:
            expected[pair] = expected.get(pair, 0) + 1
    ours = dict(zip(zip(found["x"], found["y"]), found["customers_x_then_y"]))
    assert ours == expected and len(ours) > 50
    x_buyers = {x: sum(any(d <= last_start and i == x for d, i in p) for p in bought.values())
                for x in lines["category"].unique()}
    assert all(found["customers_x"] == found["x"].map(x_buyers))
