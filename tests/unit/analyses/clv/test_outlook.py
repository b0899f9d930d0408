"""The months ahead in the CLV report: one model, one number; new customers apart; the backtest's definitions."""

import numpy as np
import pandas as pd
import pytest

from crmlab.analyses.clv import outlook
from crmlab.models.acquisitions import SEASONAL, TRAILING, forecast_acquisitions, monthly_acquisitions

@pytest.fixture(scope="module")
def sample_analysis(paper_clv):
    """The CDNOW sample in the paper's setting (weeks, calibration to 1997-09-30, observed to 1998-06-30)."""
    return paper_clv


@pytest.mark.slow
def test_the_backtest_months_add_up_to_the_holdout_prediction(sample_analysis):
    """cdnow_sample: the 9 holdout months (Oct 1997 to Jun 1998) sum to the report's holdout figures exactly."""
    m, backtest = sample_analysis.metrics_, sample_analysis.backtest_
    assert backtest["month"].tolist() == [str(p) for p in pd.period_range("1997-10", "1998-06", freq="M")]
    assert not backtest["partial"].any()
    assert backtest["purchases"].sum() == pytest.approx(m["holdout_predicted_total"], rel=1e-12)
    assert round(m["holdout_predicted_total"], 1) == 1653.4  # the published figure (Fader, Hardie & Lee 2005)
    assert backtest["actual_purchases"].sum() == m["holdout_actual_total"] == 1882
    assert backtest["revenue"].sum() == pytest.approx(m["holdout_revenue_predicted"], rel=1e-12)
    assert backtest["actual_revenue"].sum() == pytest.approx(m["holdout_revenue_actual"], rel=1e-12)
    assert (backtest["revenue_low"] <= backtest["revenue"]).all()
    assert (backtest["revenue"] <= backtest["revenue_high"]).all()
    # The naive forecast repeats the last whole calibration month (Sep 1997): 18 months are too few for last year's.
    assert m["backtest_naive_method"] == "the last whole calibration month"
    assert backtest["naive_purchases"].nunique() == 1
    assert [b["month"] for b in m["backtest_months"]] == backtest["month"].tolist()
    errors = np.abs(backtest["revenue"] - backtest["actual_revenue"]) / backtest["actual_revenue"] * 100
    assert m["backtest_revenue_mape"] == pytest.approx(errors.mean())


@pytest.mark.slow
def test_the_outlook_is_monthly_and_has_no_new_customers_in_a_closed_cohort(sample_analysis):
    """CDNOW's customers all arrived in the first quarter of 1997: nobody new is projected."""
    m, ahead = sample_analysis.metrics_, sample_analysis.outlook_
    assert ahead["month"].tolist()[0] == "1998-07" and len(ahead) == 12 and ahead["days"].sum() == 365
    assert m["outlook_revenue_new"] == 0 and m["outlook_acquisition_method"] == TRAILING
    assert m["outlook_revenue_total"] == pytest.approx(ahead["revenue"].sum())
    low, high = m["outlook_revenue_total_interval"]
    assert low < m["outlook_revenue_total"] < high
    # Active customers: never more than the customers, never more than the purchases, falling as customers leave.
    active = ahead["active_customers"].to_numpy()
    assert (active <= ahead["purchases"].to_numpy()).all() and active.max() <= m["customers"]
    assert active[-1] < active[0]
    # The months' expected purchases add up to the model's expectation over their 365 days.
    fit, summary = sample_analysis.scoring_purchase_fit_, sample_analysis.summary_
    whole = fit.fitter.conditional_expected_number_of_purchases_up_to_time(
        365 / 7, summary["frequency"], summary["recency"], summary["T"])
    assert ahead["purchases"].sum() == pytest.approx(float(np.sum(whole)), rel=1e-10)


def test_a_window_too_short_for_a_season_projects_the_trailing_mean():
    history = pd.Series([3, 5, 4, 8, 6, 7], index=pd.period_range("2017-01", periods=6, freq="M"))
    out = forecast_acquisitions(history, pd.period_range("2017-07", periods=12, freq="M"))
    assert out.method == TRAILING and out.history_months == 6
    assert out.new_customers.tolist() == [7.0] * 12  # (8 + 6 + 7) / 3


def test_two_years_project_the_season():
    months = pd.period_range("2015-01", periods=36, freq="M")
    rng = np.random.default_rng(0)
    history = pd.Series(100 + 40 * (months.month == 12) + rng.normal(0, 2, 36), index=months).round()
    out = forecast_acquisitions(history, pd.period_range("2018-01", periods=12, freq="M"))
    assert out.method == SEASONAL
    december = out.new_customers["2018-12"]
    assert december > out.new_customers.drop("2018-12").max() + 20  # the December peak comes back
    # A gap between the history and the months asked for (a partial month between) is skipped, not shifted.
    later = forecast_acquisitions(history, pd.period_range("2018-02", periods=11, freq="M"))
    assert later.new_customers["2018-12"] == pytest.approx(december)


def test_acquisitions_count_whole_months_with_zeros():
    firsts = pd.Series(pd.to_datetime(["2017-01-01", "2017-01-20", "2017-03-01", "2017-04-30"]))
    counts = monthly_acquisitions(firsts, pd.Timestamp("2017-04-30"))  # the window's last day ends April
    assert counts.tolist() == [2, 0, 1, 1]
    assert monthly_acquisitions(firsts, pd.Timestamp("2017-04-29")).tolist() == [2, 0, 1]  # April not whole
    later = pd.Series(pd.to_datetime(["2017-01-02", "2017-02-10"]))  # the data enters January part-way
    assert monthly_acquisitions(later, pd.Timestamp("2017-02-28")).index.astype(str).tolist() == ["2017-02"]


def test_new_customers_buy_on_arrival_then_at_the_models_pace(sample_analysis):
    """Ten arrivals a month for two months: their first purchases, then repeat purchases at E[X(t)]."""
    from crmlab.models.acquisitions import AcquisitionForecast

    fit, spend = sample_analysis.scoring_purchase_fit_, sample_analysis.scoring_spend_fit_
    forecast = AcquisitionForecast(pd.Series([10.0, 10.0], index=["1998-07", "1998-08"]), TRAILING, 18)
    table = outlook.new_customers(fit, spend, forecast, pd.Timestamp("1998-06-30"), time_unit="weeks",
                                  first_purchase_spend=30.0, repeat_spend=40.0)
    expected = fit.fitter.expected_number_of_purchases_up_to_time
    july_repeat = 10 * expected(15.5 / 7)  # from the middle of July (day 15.5 of 31) to its end
    assert table["new_purchases"].iloc[0] == pytest.approx(10 + july_repeat)
    assert table["new_revenue"].iloc[0] == pytest.approx(10 * 30 + july_repeat * 40)
    assert table["new_active_customers"].iloc[0] == 10  # everyone who arrives has bought
    assert 10 < table["new_active_customers"].iloc[1] < 20  # August's arrivals, and some of July's


@pytest.mark.slow
def test_a_stub_month_at_the_end_is_shown_and_summed_but_not_scored(fixture_lines):
    """Holdout (2017-03-31, 2017-06-01]: April and May are whole, June holds one day, the last day included."""
    from crmlab.analyses.clv import CLVAnalysis

    analysis = CLVAnalysis(calibration_end="2017-03-31", observation_end="2017-06-01", interval_draws=20).fit(
        fixture_lines)
    backtest, m = analysis.backtest_, analysis.metrics_
    assert backtest["month"].tolist() == ["2017-04", "2017-05", "2017-06"]
    assert backtest["partial"].tolist() == [False, False, True] and backtest["days"].iloc[-1] == 1
    first = fixture_lines.groupby("customer_id")["order_date"].min()
    cohort = first[first.dt.normalize() <= "2017-03-31"].index  # the calibration customers
    june_first = fixture_lines[(fixture_lines["order_date"].dt.normalize() == "2017-06-01")
                               & fixture_lines["customer_id"].isin(cohort)]
    assert backtest["actual_purchases"].iloc[-1] == june_first["customer_id"].nunique() > 0
    assert backtest["actual_purchases"].sum() == m["holdout_actual_total"]
    assert m["backtest_scored_months"] == 2
    whole = backtest.iloc[:2]
    errors = (whole["revenue"] - whole["actual_revenue"]).abs() / whole["actual_revenue"] * 100
    assert m["backtest_revenue_mape"] == pytest.approx(errors.mean())
