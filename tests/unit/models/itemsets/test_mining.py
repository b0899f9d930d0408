"""Mining: every miner finds exactly the brute-force itemsets, in one process or several, in bounded memory."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from helpers import FIXTURE, REFERENCE, brute_force_itemsets, lines_from, needs_reference

from crmlab.models.itemsets import encoding, mining


@pytest.mark.parametrize("miner", list(mining.MINERS))
def test_every_miner_finds_exactly_the_brute_force_itemsets(miner):
    rng = np.random.default_rng(3)
    items = list("abcdefghij")
    popularity = np.linspace(0.6, 0.05, len(items))
    data = [[i for i, p in zip(items, popularity) if rng.random() < p] for _ in range(300)]
    data.append(["a", "a", "b"])  # a repeated line counts once
    encoded = encoding.encode(lines_from(data), "category", 12)
    found = mining.mine(encoded, miner=miner, workers=1)
    ours = {frozenset(s): n for s, n in zip(found["items"], found["count"])}
    assert ours == brute_force_itemsets(data, 12)
    assert encoded.n_baskets == sum(1 for items in data if items)  # an empty basket is no basket
    assert found["support"].equals(found["count"] / encoded.n_baskets)


@pytest.mark.parametrize("max_len", [2, 3])
def test_the_bitset_miner_stops_at_max_len_with_every_shorter_itemset(max_len):
    rng = np.random.default_rng(5)
    items = list("abcdefgh")
    data = [[i for i in items if rng.random() < 0.45] for _ in range(200)]
    encoded = encoding.encode(lines_from(data), "category", 10)
    found = mining.mine(encoded, max_len=max_len, workers=1)
    ours = {frozenset(s): n for s, n in zip(found["items"], found["count"])}
    expected = {s: n for s, n in brute_force_itemsets(data, 10).items() if len(s) <= max_len}
    assert ours == expected and max(map(len, ours)) == max_len


def test_lines_repeating_an_item_count_once_and_stay_as_they_came():
    # Basket 1 buys a on two lines; basket 3 holds one frequent item only and is left out of the matrix.
    lines = pd.DataFrame({"order_id": [1, 1, 1, 2, 2, 3], "category": ["a", "b", "a", "a", "b", "a"]})
    encoded = encoding.encode(lines, "category", 2)
    assert encoded.n_multi == 2 and len(encoded.columns) == 5  # the repeated line is kept as it came
    assert encoded.baskets.toarray().tolist() == [[True, True], [True, True]]
    assert len(encoded.columns) == 5 and encoded.starts.tolist() == [0, 3, 5]  # the matrix changed neither
    found = mining.mine(encoded)
    assert dict(zip(found["items"], found["count"])) == {("b",): 2, ("a",): 3, ("b", "a"): 2}


def test_parallel_and_single_process_agree():
    lines = pd.read_parquet(FIXTURE / "transactions.parquet")
    encoded = encoding.encode(lines, "category", 0.01)
    one = mining.mine(encoded, workers=1)
    two = mining.mine(encoded, workers=2)
    pd.testing.assert_frame_equal(one, two)
    assert encoded.n_baskets == lines.dropna(subset=["category"])["order_id"].nunique()


@pytest.mark.parametrize("level", ["category", "product_id"])
def test_groups_encoded_in_one_pass_equal_each_group_encoded_apart(level):
    lines = pd.read_parquet(FIXTURE / "transactions.parquet")
    # Three groups of customers, as RFM segments would be; an order shared by two groups counts in each.
    lines["group"] = np.array(["a", "b", "c"])[pd.factorize(lines["customer_id"])[0] % 3]
    lines.loc[lines.index[:5], "order_id"] = lines["order_id"].iloc[-1]
    min_counts = {"a": 20, "b": 30, "c": 10_000}
    together = encoding.encode_groups(lines, level, "group", min_counts)
    assert list(together) == ["a", "b", "c"]
    for group, min_count in min_counts.items():
        apart = encoding.encode(lines[lines["group"] == group], level, min_count)
        one = together[group]
        assert one.baskets.shape == apart.baskets.shape and (one.baskets != apart.baskets).nnz == 0
        assert list(one.items) == list(apart.items) and list(one.values) == list(apart.values)
        assert (one.item_counts == apart.item_counts).all()
        assert (one.n_baskets, one.n_items, one.min_count) == (apart.n_baskets, apart.n_items, apart.min_count)
    # The groups differ, and c's threshold leaves it nothing to mine.
    assert together["a"].baskets.shape[0] > 100 and together["a"].n_baskets != together["b"].n_baskets
    assert together["c"].baskets.shape == (0, 0)
    # Mined in two processes or one, each group's itemsets are those of its own encoding.
    two, one = mining.mine_groups(together, workers=2), mining.mine_groups(together, workers=1)
    assert list(two) == ["a", "b", "c"]
    for group in min_counts:
        pd.testing.assert_frame_equal(two[group], one[group])
        pd.testing.assert_frame_equal(two[group], mining.mine(together[group]))
    assert (two["a"]["size"] > 1).any() and (two["c"]["size"] == 1).all()


@needs_reference
def test_online_retail_wide_item_space_in_bounded_memory():
    lines = pd.read_csv(REFERENCE / "online-retail-baskets" / "baskets.csv").rename(
        columns={"basket_id": "order_id", "item": "product_id"})
    tracemalloc.start()
    encoded = encoding.encode(lines, "product_id", 0.01)
    found = mining.mine(encoded, workers=1)
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
    encoded = encoding.encode(lines, "product_id", 0.005)
    found = mining.mine(encoded, workers=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert encoded.n_items > 39_000 and len(encoded.items) == 40
    assert len(found) >= 40
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"  # measured here: 16 MiB


def test_bitsets_packed_block_by_block_equal_the_rows(monkeypatch):
    rng = np.random.default_rng(1)
    sizes = rng.integers(2, 6, 1_000)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    columns = rng.integers(0, 7, starts[-1]).astype(np.int32)
    whole = mining.bitsets(starts, columns, 7)
    monkeypatch.setattr(mining, "BLOCK_WORDS", 7 * 64)  # blocks of 64 rows: 16 of them
    blocks = mining.bitsets(starts, columns, 7)
    assert (whole == blocks).all()
    unpacked = np.unpackbits(whole.view(np.uint8), axis=1, bitorder="little")[:, :1_000].astype(bool)
    rows = np.repeat(np.arange(1_000), sizes)
    expected = np.zeros((7, 1_000), dtype=bool)
    expected[columns, rows] = True
    assert (unpacked == expected).all()
