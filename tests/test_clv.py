"""CLV: summaries equal to lifetimes', the published CDNOW fit, the fitting ladder, predictions."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from crmlab.analyses.clv import validation as clv_validation
from crmlab.analyses.clv import valuation as clv_valuation
from crmlab.models.btyd import fitting as btyd_fitting
from crmlab.models.btyd import scoring as btyd_scoring
from crmlab.models.btyd import summaries as btyd_summaries

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import ConvergenceError, summary_data_from_transaction_data


def lifetimes_summary(lines, end, unit_days):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return summary_data_from_transaction_data(lines, "customer_id", "order_date", "revenue",
                                                  observation_period_end=end, freq="D",
                                                  freq_multiplier=unit_days)


def assert_same_summary(ours, theirs):
    theirs = theirs.sort_index()
    assert list(ours.index) == list(theirs.index)
    for column in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[column].to_numpy(), theirs[column].to_numpy(), rtol=1e-12, atol=1e-9,
                                   err_msg=column)


# --------------------------------------------------------------------------- summaries


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["days", "weeks", "months"])
def test_summary_equals_lifetimes_on_cdnow(bundled, unit):
    lines = bundled("cdnow")
    ours = btyd_summaries.rfm_summary(lines, "1998-06-30", unit)
    assert_same_summary(ours, lifetimes_summary(lines, "1998-06-30", btyd_summaries.TIME_UNITS[unit]))


@pytest.mark.slow
def test_summary_equals_lifetimes_on_complete_journey(bundled):
    lines = bundled("complete_journey")[["customer_id", "order_date", "revenue"]]
    # Timestamps with times of day, and an observation end before the last line.
    ours = btyd_summaries.rfm_summary(lines, "2017-10-15", "days")
    assert_same_summary(ours, lifetimes_summary(lines, "2017-10-15", 1))
    assert ours["frequency"].max() > 100 and (ours["T"] >= ours["recency"]).all()


def test_calibration_holdout_equals_lifetimes_summaries(bundled):
    lines = bundled("cdnow_sample")
    ours = btyd_summaries.calibration_holdout_summary(lines, "1997-09-30", "1998-06-30", "weeks")
    cal = lines[lines["order_date"] <= "1997-09-30"]
    theirs = lifetimes_summary(cal, "1997-09-30", 7)
    assert_same_summary(ours.rename(columns=lambda c: c.removesuffix("_cal")), theirs)
    holdout = lines[(lines["order_date"] > "1997-09-30") & (lines["order_date"] <= "1998-06-30")]
    days = holdout.groupby("customer_id")["order_date"].nunique().reindex(ours.index, fill_value=0)
    np.testing.assert_array_equal(ours["frequency_holdout"].to_numpy(), days.to_numpy())
    assert (ours["duration_holdout"] == 39).all()  # 273 days = 39 weeks, as in the paper
    assert len(ours) == 2357 and ours["frequency_cal"].sum() == 2457


def test_summary_hand_example():
    lines = pd.DataFrame({
        "customer_id": ["b", "a", "a", "a", "a", "c"],
        "order_date": pd.to_datetime(["2020-01-03", "2020-01-01", "2020-01-01 18:00", "2020-01-08",
                                      "2020-01-20", "2020-01-02"], format="ISO8601"),
        "revenue": [4.0, 5.0, 5.0, 20.0, 9.0, 1.0]})
    out = btyd_summaries.rfm_summary(lines, "2020-01-15", "days")
    # a: purchase days 1 Jan (two lines) and 8 Jan; 20 Jan is after the end.
    assert out.loc["a"].tolist() == [1.0, 7.0, 14.0, 20.0]
    assert out.loc["b"].tolist() == [0.0, 0.0, 12.0, 0.0]
    assert out.loc["c"].tolist() == [0.0, 0.0, 13.0, 0.0]


def test_compress_keeps_every_customer():
    summary = pd.DataFrame({"frequency": [0, 0, 1, 1, 0], "recency": [0, 0, 2, 2, 0], "T": [5, 5, 5, 6, 4]})
    packed = btyd_summaries.compress(summary)
    assert packed["weight"].sum() == 5 and len(packed) == 4


# --------------------------------------------------------------------------- the paper


@pytest.fixture(scope="module")
def paper(bundled):
    lines = bundled("cdnow_sample")
    cal = btyd_summaries.calibration_holdout_summary(lines, "1997-09-30", "1998-06-30", "weeks")
    packed = btyd_summaries.compress(cal.rename(columns={"frequency_cal": "frequency", "recency_cal": "recency",
                                              "T_cal": "T"}))
    return cal, packed, btyd_fitting.fit_purchase_model(packed["frequency"], packed["recency"], packed["T"],
                                               packed["weight"])


def test_paper_fit(paper):
    """Fader, Hardie & Lee (2005), 'Counting your customers the easy way', CDNOW sample in weeks."""
    _, _, fit = paper
    assert {k: round(v, 3) for k, v in fit.params.items()} == {"r": 0.243, "alpha": 4.414, "a": 0.793,
                                                               "b": 2.426}
    assert round(fit.log_likelihood, 1) == -9582.4
    assert not fit.boundary and fit.boundary_note is None
    assert all(se is not None and 0 < se < fit.params[name] for name, se in fit.standard_errors.items())


def test_compressed_fit_equals_uncompressed(paper):
    cal, packed, fit = paper
    assert len(packed) < len(cal) / 2  # 2,357 customers, about 1,000 patterns
    one_each = btyd_fitting.fit_purchase_model(cal["frequency_cal"], cal["recency_cal"], cal["T_cal"])
    for name in fit.params:
        assert fit.params[name] == pytest.approx(one_each.params[name], rel=1e-5)
    assert fit.log_likelihood == pytest.approx(one_each.log_likelihood, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = BetaGeoFitter().fit(cal["frequency_cal"], cal["recency_cal"], cal["T_cal"])
    for name in fit.params:
        assert fit.params[name] == pytest.approx(theirs.params_[name], rel=1e-4)


@pytest.mark.parametrize("model,published", [
    ("pareto_nbd", {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}),
    ("mbgnbd", {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}),
])
def test_other_models_on_the_paper_data(paper, model, published):
    _, packed, _ = paper
    fit = btyd_fitting.fit_purchase_model(packed["frequency"], packed["recency"], packed["T"], packed["weight"], model)
    for name, value in published.items():
        assert fit.params[name] == pytest.approx(value, abs=2e-3), name
    assert math.isfinite(fit.log_likelihood)


# --------------------------------------------------------------------------- the ladder


def test_ladder_survives_where_lifetimes_raises():
    # Everyone bought last on their last day: the likelihood keeps rising as dropout goes to zero.
    T = np.linspace(10, 50, 30)
    frequency, recency = np.full(30, 5.0), T.copy()
    with warnings.catch_warnings(), pytest.raises(ConvergenceError):
        warnings.simplefilter("ignore")
        BetaGeoFitter().fit(frequency, recency, T)
    fit = btyd_fitting.fit_purchase_model(frequency, recency, T)
    assert fit.fit_step != btyd_fitting.FIT_LADDER[0][0]
    assert [a["step"] for a in fit.attempts] == [name for name, _ in btyd_fitting.FIT_LADDER][:len(fit.attempts)]
    assert not fit.attempts[0]["success"] and fit.attempts[-1]["success"]
    assert all(math.isfinite(v) for v in fit.params.values()) and math.isfinite(fit.log_likelihood)
    assert fit.boundary and "dropout is negligible" in fit.boundary_note
    summary = pd.DataFrame({"frequency": frequency, "recency": recency, "T": T})
    predictions = btyd_fitting.customer_predictions(fit, summary, 10.0)
    assert predictions.notna().all().all() and (predictions["p_alive"] > 0.99).all()


def test_no_dropout_data_is_flagged_as_boundary():
    rng = np.random.default_rng(0)
    T = rng.uniform(30, 52, 3000).round()
    frequency = rng.poisson(rng.gamma(2.0, 0.5, 3000) * T).astype(float)
    recency = np.where(frequency > 0, (T * rng.beta(np.maximum(frequency, 1), 1)).round(1), 0.0)
    fit = btyd_fitting.fit_purchase_model(frequency, recency, T)
    assert fit.boundary and fit.params["a"] < 1e-3
    assert fit.params["r"] / fit.params["alpha"] == pytest.approx(1.0, rel=0.1)  # the simulated mean rate


def test_unknown_model_is_rejected():
    with pytest.raises(ValueError, match="model must be one of"):
        btyd_fitting.fit_purchase_model([1], [1], [2], model="bgbb")


# --------------------------------------------------------------------------- predictions and value


def test_spend_model_equals_lifetimes(paper, bundled):
    summary = btyd_summaries.rfm_summary(bundled("cdnow_sample"), "1998-06-30", "weeks")
    packed = btyd_summaries.compress(summary, ("frequency", "monetary_value"))
    fit = btyd_fitting.fit_spend_model(packed["frequency"], packed["monetary_value"], packed["weight"])
    repeat = summary[summary["frequency"] > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    for name in ("p", "q", "v"):
        assert fit.params[name] == pytest.approx(theirs.params_[name], rel=1e-3)
    ours = btyd_fitting.expected_spend(fit, repeat["frequency"], repeat["monetary_value"])
    np.testing.assert_allclose(ours, theirs.conditional_expected_average_profit(
        repeat["frequency"], repeat["monetary_value"]), rtol=1e-3)


def test_lifetime_value_sums_monthly_expectations(paper):
    _, _, fit = paper
    summary = pd.DataFrame({"frequency": [0.0, 3.0, 10.0], "recency": [0.0, 20.0, 38.0],
                            "T": [39.0, 39.0, 39.0]}, index=pd.Index([1, 2, 3], name="customer_id"))
    spend = np.array([10.0, 20.0, 30.0])
    undiscounted = btyd_scoring.lifetime_value(fit, summary, spend, time_unit="weeks", horizon_months=6,
                                      monthly_discount_rate=0.0, gross_margin=0.5)
    horizon = 6 * btyd_summaries.DAYS_PER_MONTH / 7
    expected = fit.fitter.conditional_expected_number_of_purchases_up_to_time(
        horizon, summary["frequency"], summary["recency"], summary["T"])
    np.testing.assert_allclose(undiscounted, np.asarray(expected) * spend * 0.5, rtol=1e-9)
    discounted = btyd_scoring.lifetime_value(fit, summary, spend, time_unit="weeks", horizon_months=6,
                                    monthly_discount_rate=0.02, gross_margin=0.5)
    assert (discounted < undiscounted).all() and (discounted > undiscounted / 1.02 ** 6).all()
    served = btyd_scoring.lifetime_value(fit, summary, spend, time_unit="weeks", horizon_months=6,
                                monthly_discount_rate=0.0, gross_margin=0.5, cost_to_serve=1.0)
    alive = btyd_fitting.customer_predictions(fit, summary, horizon)["p_alive"]
    np.testing.assert_allclose(undiscounted - served, 6 * alive, rtol=1e-9)


def test_value_tiers_have_exact_sizes():
    values = pd.Series(np.r_[np.zeros(50), np.arange(150.0)])
    tiers = clv_valuation.value_tiers(values, (0.05, 0.2))
    assert tiers.value_counts().to_dict() == {"top 5%": 10, "next 15%": 30, "rest": 160}
    assert values[tiers == "top 5%"].min() >= values[tiers == "next 15%"].max()


def test_at_risk_needs_both_value_and_low_p_alive():
    value = pd.Series([100.0, 90.0, 80.0, 1.0, 2.0], index=list("abcde"))
    p_alive = pd.Series([0.9, 0.2, 0.6, 0.1, 0.3], index=list("abcde"))
    flagged = clv_valuation.at_risk(value, p_alive, value_share=0.4, p_alive_below=0.5)
    assert list(flagged[flagged].index) == ["b"]


def test_relationship_levels_follow_contact_costs():
    costs = {"basic": 0.0, "reactive": 5.0, "accountable": 25.0, "proactive": 75.0, "partnership": 250.0}
    clv_by_tier = pd.Series({"top": 1250.0, "mid": 400.0, "low": 20.0})
    assert clv_valuation.relationship_levels(clv_by_tier, costs, 12, 0.2).to_dict() == {
        "top": "partnership", "mid": "proactive", "low": "basic"}
    # Over two years the same contact costs twice as much.
    assert clv_valuation.relationship_levels(clv_by_tier, costs, 24, 0.2)["top"] == "proactive"
    with pytest.raises(ValueError, match="unknown level"):
        clv_valuation.relationship_levels(clv_by_tier, {"vip": 1.0}, 12)


# --------------------------------------------------------------------------- holdout


def test_holdout_checks_add_up(paper, bundled):
    cal, _, fit = paper
    table = clv_validation.holdout_by_frequency(fit, cal)
    assert list(table.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["customers"].sum() == len(cal)
    errors = clv_validation.holdout_errors(fit, cal)
    assert errors["holdout_actual_total"] == cal["frequency_holdout"].sum()
    weighted = (table["predicted"] * table["customers"]).sum()
    assert errors["holdout_predicted_total"] == pytest.approx(weighted)
    assert errors["holdout_rmse"] >= errors["holdout_mae"] > 0

    curve = clv_validation.cumulative_repeat_transactions(fit, bundled("cdnow_sample"), "1997-09-30", "1998-06-30", "weeks")
    # The cohort is the calibration customers: by the end, every repeat purchase day of theirs is counted.
    assert curve["actual"].iloc[-1] == cal["frequency_cal"].sum() + cal["frequency_holdout"].sum()
    assert curve["actual"].is_monotonic_increasing and curve["model"].is_monotonic_increasing
    assert len(curve) == 78 and (curve["period"] == "calibration").sum() == 39
    # The paper's figure 2: the model tracks the cumulative curve within a few percent.
    assert curve["model"].iloc[-1] == pytest.approx(curve["actual"].iloc[-1], rel=0.05)

    period = clv_validation.period_transactions(fit, cal)
    assert period["actual"].sum() == len(cal) and period["model"].sum() == pytest.approx(len(cal))
    assert period.loc["0", "model"] == pytest.approx(period.loc["0", "actual"], rel=0.05)


@pytest.mark.parametrize("penalizer", [0.0, 1e-3])
def test_fast_bgnbd_likelihood_equals_lifetimes(penalizer):
    from autograd import value_and_grad

    rng = np.random.default_rng(1)
    frequency = rng.poisson(3, 400).astype(float)
    T = rng.uniform(0.2, 1.0, 400)
    recency = np.where(frequency > 0, T * rng.uniform(0, 1, 400), 0.0)
    weights = rng.integers(1, 5, 400).astype(float)
    ours = btyd_fitting._BGNBDLikelihood(frequency, recency, T, weights, penalizer)
    theirs = value_and_grad(lambda x: BetaGeoFitter._negative_log_likelihood(x, frequency, recency, T, weights,
                                                                             penalizer))
    for point in ([0.25, 0.1, 0.8, 2.4], [2.0, 5.0, 0.01, 300.0], [1.1, 1.1, 1.1, 1.1]):
        value, gradient = ours(np.log(point))
        expected_value, expected_gradient = theirs(np.log(point))
        assert value == pytest.approx(float(expected_value), rel=1e-12)
        np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("penalizer", [0.0, 1e-3])
def test_fast_gamma_gamma_likelihood_equals_lifetimes(penalizer):
    from autograd import value_and_grad
    from lifetimes import GammaGammaFitter

    rng = np.random.default_rng(2)
    frequency = rng.integers(1, 12, 300).astype(float)
    monetary = rng.gamma(2.0, 20.0, 300)
    weights = rng.integers(1, 5, 300).astype(float)
    ours = btyd_fitting._GammaGammaLikelihood(frequency, monetary, weights, penalizer)
    theirs = value_and_grad(lambda x: GammaGammaFitter._negative_log_likelihood(x, frequency, monetary, weights,
                                                                                penalizer))
    for point in ([6.25, 3.74, 15.44], [0.5, 1.5, 200.0], [1.0, 1.0, 1.0]):
        value, gradient = ours(np.log(point))
        expected_value, expected_gradient = theirs(np.log(point))
        assert value == pytest.approx(float(expected_value), rel=1e-12)
        np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-9, atol=1e-12)
