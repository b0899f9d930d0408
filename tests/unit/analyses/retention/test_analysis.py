"""RetentionAnalysis on the CDNOW sample: definitions held end to end, and what it refuses."""

import pandas as pd
import pytest

from crmlab.analyses.retention.analysis import RetentionAnalysis
from crmlab.core.availability import NotAvailable


@pytest.fixture(scope="module")
def sample(sample_retention):
    return sample_retention


@pytest.mark.slow
def test_the_cutoff_the_training_cutoffs_and_the_holdout(sample, bundled):
    lines, m = bundled("cdnow_sample"), sample.metrics_
    # The default cutoff is the CLV report's default calibration end: the middle of the window.
    assert m["churn_cutoff"] == "1997-09-30" and m["churn_horizon_days"] == 90
    # Training cutoffs roll back by the horizon: every label window ends on or before the test cutoff.
    assert m["churn_training_cutoffs"] == ["1997-07-02", "1997-04-03"]
    # The holdout: every customer with a purchase on or before the cutoff, labelled by (cutoff, cutoff + 90].
    day = lines["order_date"].dt.normalize()
    at_cutoff = set(lines.loc[day <= "1997-09-30", "customer_id"])
    back = set(lines.loc[(day > "1997-09-30") & (day <= "1997-12-29"), "customer_id"])
    holdout = sample.holdout_
    assert set(holdout.index) == at_cutoff
    assert holdout["churned"].sum() == len(at_cutoff - back)
    assert m["churn_rate"] == pytest.approx(holdout["churned"].mean())
    assert m["churn_auc"] == pytest.approx(sample.scores_.loc["model", "auc"])
    # Today's customers: everyone, ranked into deciles, the likeliest to leave in decile 1.
    customers = sample.customers_
    assert m["customers_scored"] == lines["customer_id"].nunique() == 2357
    by_decile = customers.groupby("churn_decile")["churn_probability"].mean()
    assert by_decile.index.tolist() == list(range(1, 11)) and by_decile.is_monotonic_decreasing
    assert m["expected_leavers"] == pytest.approx(customers["churn_probability"].sum())
    assert set(m["cohort_retention"]) == {"1", "3", "6", "12"}


@pytest.mark.slow
def test_last_years_revenue_is_the_365_days_that_end_on_the_observation_end(sample, bundled):
    lines = bundled("cdnow_sample")
    day = lines["order_date"].dt.normalize()
    end = sample.observation_end_
    first = end - pd.Timedelta(days=364)
    # Purchases on the first day, the day before it and the last day: an error of a day at either end shows.
    assert all((day == d).any() for d in (first - pd.Timedelta(days=1), first, end))
    expected = lines[(day >= first) & (day <= end)].groupby("customer_id")["revenue"].sum()
    revenue = sample.customers_["revenue_last_year"]
    pd.testing.assert_series_equal(revenue[revenue > 0], expected[expected > 0], check_names=False,
                                   check_index_type=False)
    assert (revenue == 0).sum() == len(revenue) - (expected > 0).sum()


def test_a_window_too_short_for_a_training_cutoff_is_not_available(fixture_lines):
    """The fixture: January to June 2017, cutoff in the middle: 90 days of history, 180 needed."""
    with pytest.raises(NotAvailable, match="too short for a training cutoff"):
        RetentionAnalysis().fit(fixture_lines)


def test_too_few_customers_at_the_cutoff_is_not_available(bundled):
    lines = bundled("cdnow_sample")
    few = lines[lines["customer_id"].isin(lines["customer_id"].drop_duplicates().iloc[:150])]
    with pytest.raises(NotAvailable, match="needs at least 200"):
        RetentionAnalysis(calibration_end="1997-09-30", observation_end="1998-06-30").fit(few)
