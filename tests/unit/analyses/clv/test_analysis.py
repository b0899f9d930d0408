"""CLV as deployed: validated on the holdout against published figures, refitted on the whole window, with intervals."""

import numpy as np
import pytest

from crmlab.analyses.clv import CLVAnalysis, validation
from crmlab.models.btyd import fitting, summaries

# As configs/cdnow_sample.yaml: the paper's weeks and calibration period.
PAPER_SETTINGS = {"time_unit": "weeks", "calibration_end": "1997-09-30", "observation_end": "1998-06-30"}


@pytest.fixture(scope="module")
def sample_analysis(paper_clv):
    return paper_clv


def test_calibration_fits_reproduce_the_published_parameters(sample_analysis):
    metrics = sample_analysis.metrics_
    # Fader, Hardie & Lee (2005), table 1.
    assert metrics["params"] == pytest.approx({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, rel=2e-3)
    # Fader & Hardie (2013): 946 repeat buyers in the calibration period, p = 6.25, q = 3.74, gamma = 15.44.
    assert metrics["gamma_gamma_repeat_customers"] == 946
    assert metrics["gamma_gamma"] == pytest.approx({"p": 6.25, "q": 3.74, "v": 15.44}, rel=2e-3)


def test_scoring_fits_are_refitted_on_the_whole_window(sample_analysis, bundled):
    metrics = sample_analysis.metrics_
    assert metrics["scoring_params"] != pytest.approx(metrics["params"], rel=1e-2)
    assert metrics["scoring_gamma_gamma"] != pytest.approx(metrics["gamma_gamma"], rel=1e-2)
    whole = summaries.rfm_summary(bundled("cdnow_sample"), "1998-06-30", "weeks")
    patterns = summaries.compress(whole)
    refit = fitting.fit_purchase_model(patterns["frequency"], patterns["recency"], patterns["T"], patterns["weight"])
    assert metrics["scoring_params"] == pytest.approx(refit.params, rel=1e-6)
    # The customers are scored with the refit, not with the calibration fit.
    rfm = whole[["frequency", "recency", "T"]]
    p_alive = fitting.customer_predictions(refit, rfm, 1.0)["p_alive"]
    np.testing.assert_allclose(sample_analysis.customers_["p_alive"], p_alive.reindex(sample_analysis.customers_.index))


def test_holdout_spend_and_revenue_checks(sample_analysis, bundled):
    metrics = sample_analysis.metrics_
    lines = bundled("cdnow_sample")
    cohort = lines[lines["order_date"] <= "1997-09-30"]["customer_id"].unique()
    holdout = lines[(lines["order_date"] > "1997-09-30") & lines["customer_id"].isin(cohort)]
    assert metrics["holdout_revenue_actual"] == pytest.approx(holdout["revenue"].sum())
    assert metrics["holdout_spend_customers"] == holdout["customer_id"].nunique()
    assert metrics["holdout_spend_mae"] > 0
    # Predicted revenue: each cohort customer's expected holdout purchases (calibration BG/NBD) times their
    # expected spend per purchase (calibration Gamma-Gamma).
    cal = sample_analysis.calibration_
    purchases = fitting.customer_predictions(sample_analysis.purchase_fit_, summaries.calibration_statistics(cal),
                                             float(cal["duration_holdout"].iloc[0]))["expected_purchases"]
    spend = fitting.expected_spend(sample_analysis.spend_fit_, cal["frequency_cal"], cal["monetary_value_cal"])
    assert metrics["holdout_revenue_predicted"] == pytest.approx(float((purchases * spend).sum()))
    table = validation.holdout_spend_by_group(sample_analysis.spend_fit_, sample_analysis.calibration_)
    assert table["customers"].sum() == metrics["holdout_spend_customers"]


def test_intervals_surround_the_estimates(sample_analysis):
    metrics = sample_analysis.metrics_
    low, high = metrics["clv_total_interval"]
    assert low < metrics["clv_total"] < high
    low, high = metrics["expected_purchases_total_interval"]
    assert low < metrics["expected_purchases_total"] < high
    customers = sample_analysis.customers_
    assert (customers["clv_low"] <= customers["clv_high"]).all()
    inside = (customers["clv_low"] <= customers["clv"] + 1e-9) & (customers["clv"] <= customers["clv_high"] + 1e-9)
    assert inside.mean() > 0.95
    assert set(metrics["tier_clv_intervals"]) == {"top 5%", "next 15%", "rest"}
    assert {"clv_low", "clv_high"} <= set(sample_analysis.export().columns)


def test_the_interval_narrows_as_customers_are_added(sample_analysis, bundled):
    # 40 resamples, not 100: a width ratio of about 3.7 against a threshold of 2 needs no finer quantiles.
    full = CLVAnalysis(time_unit="weeks", observation_end="1998-06-30", interval_draws=40).fit(bundled("cdnow"))

    def relative_width(metrics):
        low, high = metrics["clv_total_interval"]
        return (high - low) / metrics["clv_total"]

    # Ten times the customers: the relative width shrinks by about sqrt(10).
    assert relative_width(full.metrics_) < relative_width(sample_analysis.metrics_) / 2


def test_auto_chooses_the_model_closest_on_the_holdout(bundled):
    analysis = CLVAnalysis(model="auto", interval_draws=20, **PAPER_SETTINGS).fit(bundled("cdnow_sample"))
    table = analysis.model_comparison_
    assert set(table.index) == {"bgnbd", "pareto_nbd", "mbgnbd"}
    chosen = analysis.metrics_["model_selected"]
    assert table.loc[chosen, "holdout_mae"] == table["holdout_mae"].min()
    assert analysis.scoring_purchase_fit_.model == chosen == analysis.purchase_fit_.model
    assert analysis.metrics_["model_comparison"][chosen]["selected"] is True
