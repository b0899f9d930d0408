"""The churn model's definitions at the boundary: the cutoff day is history, the next day is the label window."""

import numpy as np
import pandas as pd
import pytest

from crmlab import engine
from crmlab.analyses.retention.features import churn_features, churn_labels
from crmlab.engine.customer_tables import customer_days, day_of, history_at

CUTOFF = day_of("2017-06-30")


def _lines(rows):
    return pd.DataFrame({"customer_id": [r[0] for r in rows], "order_id": range(len(rows)),
                         "order_date": pd.to_datetime([r[1] for r in rows], format="ISO8601"),
                         "revenue": [r[2] for r in rows],
                         "discount": [r[3] if len(r) > 3 else 0.0 for r in rows],
                         "category": [r[4] if len(r) > 4 else "x" for r in rows]})


@pytest.mark.parametrize("read", ["lines", "customer_days"])
def test_a_purchase_on_the_cutoff_day_is_history_and_the_next_day_is_in_the_label_window(read):
    rows = [("on_cutoff", "2017-06-30 18:00", 10.0),  # history: recency 0
            ("next_day", "2017-06-01", 5.0), ("next_day", "2017-07-01", 5.0),  # back the day after: stays
            ("last_day", "2017-06-01", 5.0), ("last_day", "2017-09-28", 5.0),  # back on day 90: stays
            ("day_after", "2017-06-01", 5.0), ("day_after", "2017-09-29", 5.0),  # day 91: churned
            ("newcomer", "2017-07-01", 5.0)]  # first purchase after the cutoff: not a customer at it
    t = engine.lines(_lines(rows))
    if read == "customer_days":  # as the report reads them
        t = customer_days(t)
    history = history_at(t, cutoff_day=CUTOFF)
    assert sorted(history.index) == ["day_after", "last_day", "next_day", "on_cutoff"]
    features = churn_features(history, CUTOFF)
    assert features.loc["on_cutoff", "recency_days"] == 0 and features.loc["on_cutoff", "frequency"] == 1
    # The lines after the cutoff are not seen by the features: next_day bought once by the cutoff.
    assert features.loc["next_day", "frequency"] == 1 and features.loc["next_day", "recency_days"] == 29
    labels = churn_labels(t, history.index, CUTOFF, 90)
    assert labels.to_dict() == {"day_after": True, "last_day": False, "next_day": False, "on_cutoff": True}


def test_features_by_hand():
    rows = [("a", "2017-04-01", 10.0, 0.0, "x"), ("a", "2017-04-11", 20.0, 5.0, "y"),  # gap 10
            ("a", "2017-04-11", 5.0, 0.0, "y"),  # the same day: one purchase day
            ("a", "2017-05-11", 30.0, 0.0, "z"),  # gap 30
            ("b", "2017-06-20", 8.0)]
    history = history_at(engine.lines(_lines(rows)), cutoff_day=CUTOFF, window_days=60)
    f = churn_features(history, CUTOFF)
    a = f.loc["a"]
    assert a["frequency"] == 3 and a["monetary"] == pytest.approx(65 / 3)
    assert a["recency_days"] == 50 and a["tenure_days"] == 90
    assert a["mean_gap_days"] == 20 and a["gap_spread_days"] == pytest.approx(np.std([10, 30]))
    assert a["recency_over_mean_gap"] == pytest.approx(50 / 20)
    # The last 60 days (May 2 to Jun 30): May 11 only; the 60 before (Mar 3 to May 1): Apr 1 and Apr 11.
    assert a["recent_days_change"] == 1 - 2 and a["recent_revenue_change"] == pytest.approx(30 - 35)
    assert a["category_breadth"] == 3 and a["discount_share"] == pytest.approx(5 / 70)
    b = f.loc["b"]  # one purchase day: the mean gap is the wait so far, no spread
    assert b["mean_gap_days"] == 10 and b["gap_spread_days"] == 0 and b["recency_over_mean_gap"] == 1
