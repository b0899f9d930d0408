"""Cohort tables: what has not happened yet is blank, never 0; the period holding the end is partial."""

import numpy as np
import pandas as pd
import pytest

from crmlab import engine
from crmlab.analyses.retention.cohorts import average_retention, cohort_table
from crmlab.engine.customer_tables import cohort_activity


def _lines(rows):
    """(customer, date, revenue) rows as canonical lines, one order each."""
    return pd.DataFrame({"customer_id": [r[0] for r in rows], "order_id": range(len(rows)),
                         "order_date": pd.to_datetime([r[1] for r in rows]), "revenue": [r[2] for r in rows]})


def test_cells_after_the_observation_end_are_blank_and_the_last_period_is_partial(fixture_lines):
    """The fixture (January to June 2017), observed to 2017-06-15: June is partial, July is unobservable."""
    end = pd.Timestamp("2017-06-15")
    lines = fixture_lines[fixture_lines["order_date"] <= end + pd.Timedelta(days=1)]
    table = cohort_table(cohort_activity(engine.lines(lines)), end)
    retention = table.customer_retention
    assert list(retention.index.strftime("%Y-%m")) == ["2017-01", "2017-02", "2017-03", "2017-04", "2017-05",
                                                        "2017-06"][:len(retention)]
    # The January cohort is seen for six months (ages 0..5, June partial); each later cohort one month less.
    for row, cohort in enumerate(retention.index):
        seen = 6 - row
        assert retention.loc[cohort, :seen - 1].notna().all()
        assert retention.loc[cohort, seen:].isna().all()  # blank, not 0
        assert table.partial.loc[cohort].tolist() == [age == seen - 1 for age in range(retention.shape[1])]
    # Checked by hand with pandas: January's customers buying in March, as a share of January's.
    first = lines.groupby("customer_id")["order_date"].min()
    january = first[first.dt.month == 1].index
    march = lines[(lines["order_date"].dt.month == 3) & lines["customer_id"].isin(january)]["customer_id"].nunique()
    assert retention.iloc[0, 2] == pytest.approx(march / len(january))
    assert table.sizes.iloc[0] == len(january)
    # Revenue retention: March's revenue of the January cohort over its January revenue.
    jan_lines = lines[lines["customer_id"].isin(january)]
    by_month = jan_lines.groupby(jan_lines["order_date"].dt.month)["revenue"].sum()
    assert table.revenue_retention.iloc[0, 2] == pytest.approx(by_month[3] / by_month[1])


def test_a_purchase_on_the_last_day_counts_and_the_day_after_is_not_seen():
    rows = [("a", "2017-01-05", 10.0), ("b", "2017-01-09", 20.0), ("a", "2017-02-28", 5.0),
            ("b", "2017-03-01", 7.0)]
    activity = cohort_activity(engine.lines(_lines(rows)))
    table = cohort_table(activity[activity["period"] <= "2017-02-28"], "2017-02-28")
    # Observed to the last day of February: a's purchase that day counts, February is whole, March unseen.
    assert table.customer_retention.iloc[0].tolist() == [1.0, 0.5]
    assert not table.partial.values.any()
    table = cohort_table(activity, "2017-03-01")
    assert table.customer_retention.iloc[0].tolist() == [1.0, 0.5, 0.5]
    assert table.partial.iloc[0].tolist() == [False, False, True]  # March holds one day of data


def test_the_average_curve_weights_cohorts_by_size_and_leaves_partial_cells_out():
    rows = ([(f"j{i}", "2017-01-10", 1.0) for i in range(10)] + [(f"j{i}", "2017-02-10", 1.0) for i in range(5)]
            + [(f"f{i}", "2017-02-10", 1.0) for i in range(30)] + [(f"f{i}", "2017-03-02", 1.0) for i in range(3)]
            + [("j0", "2017-03-02", 1.0), ("f0", "2017-04-02", 1.0)])
    table = cohort_table(cohort_activity(engine.lines(_lines(rows))), "2017-04-15")
    curve = average_retention(table)
    # Age 1: January's February (10 customers, 50%) and February's March (30, 10%), weighted by size.
    assert curve.loc[1, "retention"] == pytest.approx((10 * 0.5 + 30 * 0.1) / 40)
    assert curve.loc[1, "customers"] == 40 and curve.loc[1, "cohorts"] == 2
    # Age 2: January's March only; February's April holds half a month of data and is left out.
    assert curve.loc[2, "retention"] == pytest.approx(0.1) and curve.loc[2, "cohorts"] == 1
    assert table.partial.loc["2017-02-01", 2] and table.customer_retention.loc["2017-02-01", 2] == pytest.approx(1 / 30)
    assert 3 not in curve.index  # January's April: partial too
    assert np.isnan(table.customer_retention.loc["2017-02-01", 3])  # February's May: not yet seen, blank


@pytest.mark.parametrize("period, first", [("quarter", "2017-01-01"), ("week", "2016-12-26")])
def test_quarters_and_weeks(period, first):
    rows = [("a", "2017-01-01", 1.0), ("a", "2017-04-02", 1.0), ("b", "2017-01-03", 1.0)]
    table = cohort_table(cohort_activity(engine.lines(_lines(rows)), period), "2017-06-30", period)
    assert table.customer_retention.index[0] == pd.Timestamp(first)  # weeks start on Monday
    assert table.customer_retention.iloc[0, 0] == 1.0
    with pytest.raises(ValueError, match="cohort_period"):
        cohort_table(cohort_activity(engine.lines(_lines(rows))), "2017-06-30", "day")
