""""Bought X, then Y within N days": by hand and against a brute-force count."""

import numpy as np
import pandas as pd
import pytest

from crmlab.analyses.baskets import sequences as baskets_sequences


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
    sequences = baskets_sequences.sequence_rules(pd.DataFrame(rows), "category", 30, min_customers=1,
                                                 min_pair_customers=1)
    row = sequences[(sequences["x"] == "tv") & (sequences["y"] == "speakers")].iloc[0]
    assert row["customers_x"] == 3 and row["customers_x_then_y"] == 1
    assert row["share"] == pytest.approx(1 / 3)
    assert row["baseline"] == pytest.approx(5 / 6)  # customers 1-5 bought speakers at some point
    assert row["lift"] == pytest.approx((1 / 3) / (5 / 6))
    assert not ((sequences["x"] == "speakers") & (sequences["y"] == "tv")).any()


# 150 items take three 64-bit words per item set; a chunk of 5 customers leaves a short last chunk.
@pytest.mark.parametrize("n_items, chunk", [(12, 7), (150, 5)])
def test_sequences_equal_a_brute_force_count(n_items, chunk):
    rng = np.random.default_rng(11)
    start = pd.Timestamp("2021-03-01")
    rows = []
    for customer in range(300):
        # Customers differ a lot in how often they buy, as in real data.
        for _ in range(int(rng.integers(1, 5) ** 2)):
            rows.append({"customer_id": customer, "order_id": len(rows), "category": f"c{rng.integers(0, n_items)}",
                         "order_date": start + pd.Timedelta(days=int(rng.integers(0, 120)), hours=9)})
    lines = pd.DataFrame(rows)
    window = 20
    found = baskets_sequences.sequence_rules(lines, "category", window, min_customers=1, min_pair_customers=1,
                                             chunk=chunk)
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


def test_a_pair_held_by_more_customers_than_one_byte_counts_is_counted_in_full():
    day = pd.Timestamp("2021-01-01")
    rows = [{"customer_id": customer, "order_id": 2 * customer + later, "category": category,
             "order_date": day + pd.Timedelta(days=5 * later)}
            for customer in range(300) for later, category in enumerate(["tv", "speakers"])]
    rows.append({"customer_id": 300, "order_id": 600, "category": "cable", "order_date": day + pd.Timedelta(days=90)})
    sequences = baskets_sequences.sequence_rules(pd.DataFrame(rows), "category", 30, min_customers=1)
    row = sequences[(sequences["x"] == "tv") & (sequences["y"] == "speakers")].iloc[0]
    assert row["customers_x"] == 300 and row["customers_x_then_y"] == 300
