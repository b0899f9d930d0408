"""When customers stop: gaps, their own usual gap, and the purchase after which they leave."""

import numpy as np
import pandas as pd
import pytest

from crmlab import engine
from crmlab.analyses.retention.stopping import churn_by_purchase_number, gap_quantile, past_usual_gap
from crmlab.engine.customer_tables import day_of, gap_histogram, last_purchase_by_number, purchase_days


def _lines(rows):
    return pd.DataFrame({"customer_id": [r[0] for r in rows], "order_id": range(len(rows)),
                         "order_date": pd.to_datetime([r[1] for r in rows]), "revenue": 1.0})


ROWS = [("a", "2017-01-01"), ("a", "2017-01-01"), ("a", "2017-01-11"), ("a", "2017-01-31"),  # gaps 10, 20
        ("b", "2017-01-05"), ("b", "2017-03-06"),  # gap 60
        ("c", "2017-02-01"),  # one purchase day
        ("d", "2017-03-30"), ("d", "2017-03-31")]  # gap 1


def test_gaps_are_counted_between_distinct_purchase_days_and_quantiles_are_exact(fixture_lines):
    histogram = gap_histogram(engine.lines(_lines(ROWS)))
    assert histogram.to_dict() == {1: 1, 10: 1, 20: 1, 60: 1}  # a's two lines on one day are one purchase day
    assert gap_quantile(histogram, 0.5) == 10 and gap_quantile(histogram, 0.9) == 60
    # On the fixture: the same as numpy's inverted-CDF quantiles of every gap, listed one by one.
    days = fixture_lines.assign(day=fixture_lines["order_date"].dt.normalize())[["customer_id", "day"]]
    days = days.drop_duplicates().sort_values(["customer_id", "day"])
    gaps = days.groupby("customer_id")["day"].diff().dt.days.dropna().to_numpy()
    histogram = gap_histogram(engine.lines(fixture_lines))
    assert int(histogram.sum()) == len(gaps)
    for share in (0.5, 0.9):
        assert gap_quantile(histogram, share) == np.quantile(gaps, share, method="inverted_cdf")
    assert gap_quantile(pd.Series(dtype="int64"), 0.5) is None


def test_past_their_own_usual_gap():
    t = engine.lines(_lines(ROWS))
    end = day_of("2017-04-10")
    share, customers = past_usual_gap(purchase_days(t), end)
    # a: usual 15 days, waiting 69 (past); b: usual 60, waiting 35 (not); d: usual 1, waiting 10 (past); c: one day.
    assert customers == 3 and share == pytest.approx(2 / 3)


def test_churn_by_purchase_number_counts_only_purchases_old_enough_to_have_been_followed():
    t = engine.lines(_lines(ROWS))
    end = day_of("2017-03-31")
    table = last_purchase_by_number(t, seen_by_day=end - 30, through_day=end)  # n-th purchase by 2017-03-01
    # First purchases by 2017-03-01: a, b, c (d's is later); c never came back.
    assert table.loc[1].tolist() == [3, 1]
    # Second: a's (Jan 11) only; b's second (Mar 6) is too recent to judge. Third: a's (Jan 31), her last.
    assert table.loc[2].tolist() == [1, 0] and table.loc[3].tolist() == [1, 1]
    shown = churn_by_purchase_number(table, max_number=2)
    assert shown.index.tolist() == ["1", "2+"]
    assert shown.loc["2+", "customers"] == 2 and shown.loc["2+", "share_left"] == pytest.approx(0.5)
    # The last day: a purchase on the observation end counts, one the next day is not seen.
    later = engine.lines(_lines(ROWS + [("c", "2017-04-01")]))
    assert last_purchase_by_number(later, seen_by_day=end - 30, through_day=end).loc[1].tolist() == [3, 1]
