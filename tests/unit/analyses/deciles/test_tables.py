"""Value deciles, ABC classes, concentration, migration and deal-only customers, by hand and by property."""

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crmlab.analyses.deciles import tables
from crmlab.core import ranking


def tx(rows):
    """Transactions from (customer, order, date, revenue, discount) tuples."""
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "revenue", "discount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


# 20 customers with revenue 1..20, one order each; customer 100+i spends i.
TWENTY = tx([(100 + i, i, "2020-01-01", float(i), 0.0) for i in range(1, 21)])


def test_hand_computed_deciles():
    values = tables.customer_values(TWENTY)
    table = tables.monetary_deciles(values)
    assert table["customers"].tolist() == [2] * 10
    # Decile 1 holds the customers spending 20 and 19: 39 of 210.
    assert table.loc[1, "revenue"] == 39.0
    assert table.loc[1, "revenue_share"] == pytest.approx(39 / 210)
    assert table.loc[10, "revenue"] == 3.0
    assert ranking.top_share(values["revenue"], 0.2) == pytest.approx((20 + 19 + 18 + 17) / 210)
    # 10% of 210 is 21: customers spending 20 and 19 are needed, 2 of 20.
    assert tables.customers_for_revenue(values["revenue"], 0.10) == 2


def test_hand_computed_abc():
    values = tables.customer_values(TWENTY)["revenue"]
    by_customers = tables.abc_classes(values)
    assert by_customers[by_customers == "A"].index.tolist() == [120]            # top 5% of 20 = 1
    assert sorted(by_customers[by_customers == "B"].index) == [117, 118, 119]  # next 15% = 3
    by_value = tables.abc_classes(values, "value_share")
    # Revenue of the customers ranked above each one, largest first: 0, 20, 39, 57, 74, 90, 105,
    # 119, 132, 144, 155, 165 | 174, 182, 189, 195 | 200, ... A while below 168 (80% of 210),
    # B while below 199.5 (95%).
    assert (by_value == "A").sum() == 12
    assert sorted(by_value[by_value == "B"].index) == [105, 106, 107, 108]


def test_ties_are_broken_by_customer_id():
    values = pd.Series([5.0, 5.0, 5.0, 5.0], index=[4, 2, 3, 1])
    assert tables.assign_deciles(values, n=2).to_dict() == {1: 1, 2: 1, 3: 2, 4: 2}


def test_decile_table_sums_exactly_to_totals():
    rng = np.random.default_rng(7)
    rows = [(int(c), i, "2020-01-01", round(float(rng.gamma(1.0, 40.0)), 2), 0.0)
            for i, c in enumerate(rng.integers(0, 137, 900))]
    values = tables.customer_values(tx(rows), margin_rate=0.25)
    table = tables.monetary_deciles(values)
    assert table["customers"].sum() == len(values)
    assert table["revenue"].sum() == pytest.approx(values["revenue"].sum(), abs=1e-9)
    assert table["orders"].sum() == values["orders"].sum()
    assert table["revenue_share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert table["margin_share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert table["customers"].max() - table["customers"].min() <= 1


def test_gini_and_lorenz():
    assert tables.gini(pd.Series([3.0] * 8)) == pytest.approx(0.0)
    curve = tables.lorenz_curve(pd.Series([1.0, 3.0]))
    assert curve["value_share"].tolist() == [0.0, 0.25, 1.0]


def test_declining_customers():
    rows = [
        # customer 1: top in period 1, small in period 2 -> declining
        (1, 1, "2020-01-10", 100.0, 0.0), (1, 2, "2020-03-10", 1.0, 0.0),
        # customer 2: stable mid
        (2, 3, "2020-01-10", 50.0, 0.0), (2, 4, "2020-03-10", 50.0, 0.0),
        # customer 3: grows
        (3, 5, "2020-01-10", 1.0, 0.0), (3, 6, "2020-03-10", 100.0, 0.0),
        # customer 4: stops buying -> lapsed, not "still buying but declining"
        (4, 7, "2020-01-10", 80.0, 0.0),
    ] + [(10 + i, 100 + i, "2020-01-15", 10.0 + i, 0.0) for i in range(8)] \
      + [(10 + i, 200 + i, "2020-03-15", 10.0 + i, 0.0) for i in range(8)]
    migration = tables.value_migration(tx(rows), pd.Timestamp("2020-02-01"))
    assert migration.loc[1, "declining"]
    assert not migration.loc[[2, 3, 4], "declining"].any()
    assert migration.loc[4, "period2_decile"] == 11
    matrix = tables.migration_matrix(migration)
    assert matrix.to_numpy().sum() == migration.shape[0]


def test_deal_only_needs_both_conditions():
    rows = [(1, 1, "2020-01-01", 6.0, 4.0), (1, 2, "2020-01-02", 6.0, 4.0),   # 40%, all orders
            (2, 3, "2020-01-01", 1.0, 9.0), (2, 4, "2020-01-02", 50.0, 0.0),  # one big discount only
            (3, 5, "2020-01-01", 10.0, 0.0)]
    values = tables.customer_values(tx(rows))
    assert tables.deal_only(values, 0.3, 0.5).to_dict() == {1: True, 2: False, 3: False}


def test_purchase_deciles_cover_all_customers():
    table = tables.purchase_deciles(tables.customer_values(TWENTY)["revenue"])
    assert table["customers"].sum() == 20
    assert table["cumulative_customer_share"].iloc[-1] == pytest.approx(1.0)


revenues = st.lists(st.floats(min_value=0.01, max_value=1e5, allow_nan=False), min_size=10, max_size=80)


@settings(max_examples=60, deadline=None)
@given(revenues, st.randoms(use_true_random=False))
# Equal values, where the Gini's sum of trapezoids once came out a rounding below 0.
@example(amounts=[0.01] * 11, rnd=random.Random(0))
def test_properties_hold_for_any_data(amounts, rnd):
    rows = [(i % 37, i, "2021-01-01" if i % 2 else "2021-06-01", a, 0.0) for i, a in enumerate(amounts)]
    frame = tx(rows)
    values = tables.customer_values(frame)
    table = tables.monetary_deciles(values)
    shares = table["revenue_share"].to_numpy()
    assert shares.sum() == pytest.approx(1.0)
    # Deciles are ranked: each holds at least as much per customer as the next.
    per_customer = (table["revenue"] / table["customers"]).to_numpy()
    assert np.all(np.diff(per_customer) <= 1e-9 * per_customer.max())
    curve = tables.lorenz_curve(values["revenue"])
    assert np.all(np.diff(curve["value_share"]) >= -1e-12)
    assert 0.0 <= tables.gini(values["revenue"]) < 1.0

    # No result depends on row order.
    shuffled = frame.sample(frac=1.0, random_state=rnd.randint(0, 10_000))
    again = tables.customer_values(shuffled)
    pd.testing.assert_frame_equal(tables.monetary_deciles(again), table)
    classes = tables.abc_classes(values["revenue"])
    pd.testing.assert_series_equal(tables.abc_classes(again["revenue"]), classes)
    split = tables.split_date(frame)
    pd.testing.assert_frame_equal(tables.value_migration(shuffled, split),
                                  tables.value_migration(frame, split))


def test_cost_column_ranks_by_margin():
    # Customer 1 spends most but at cost; customer 2 spends less at a high margin.
    frame = tx([(1, 1, "2020-01-01", 100.0, 0.0), (2, 2, "2020-01-01", 60.0, 0.0)] +
               [(10 + i, 10 + i, "2020-01-02", 10.0, 0.0) for i in range(8)])
    frame["cost"] = [100.0, 10.0] + [5.0] * 8
    values = tables.customer_values(frame, margin_rate=0.9)  # the cost column wins over the rate
    assert values.loc[1, "margin"] == 0.0 and values.loc[2, "margin"] == 50.0
    assert tables.assign_deciles(values["margin"]).loc[2] == 1
    assert tables.assign_deciles(values["revenue"]).loc[1] == 1
    table = tables.monetary_deciles(values, by="margin")
    assert table.loc[1, "margin_share"] == pytest.approx(50 / 90)
