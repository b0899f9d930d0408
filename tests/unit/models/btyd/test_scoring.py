"""Lifetime value from a fitted purchase model."""

import numpy as np
import pandas as pd

from crmlab.models.btyd import fitting, scoring, summaries


def test_lifetime_value_sums_monthly_expectations(paper):
    _, _, fit = paper
    summary = pd.DataFrame({"frequency": [0.0, 3.0, 10.0], "recency": [0.0, 20.0, 38.0],
                            "T": [39.0, 39.0, 39.0]}, index=pd.Index([1, 2, 3], name="customer_id"))
    spend = np.array([10.0, 20.0, 30.0])
    undiscounted = scoring.lifetime_value(fit, summary, spend, time_unit="weeks", horizon_months=6,
                                          monthly_discount_rate=0.0, gross_margin=0.5)
    horizon = 6 * summaries.DAYS_PER_MONTH / 7
    expected = fit.fitter.conditional_expected_number_of_purchases_up_to_time(
        horizon, summary["frequency"], summary["recency"], summary["T"])
    np.testing.assert_allclose(undiscounted, np.asarray(expected) * spend * 0.5, rtol=1e-9)
    discounted = scoring.lifetime_value(fit, summary, spend, time_unit="weeks", horizon_months=6,
                                        monthly_discount_rate=0.02, gross_margin=0.5)
    assert (discounted < undiscounted).all() and (discounted > undiscounted / 1.02 ** 6).all()
    served = scoring.lifetime_value(fit, summary, spend, time_unit="weeks", horizon_months=6,
                                    monthly_discount_rate=0.0, gross_margin=0.5, cost_to_serve=1.0)
    alive = fitting.customer_predictions(fit, summary, horizon)["p_alive"]
    np.testing.assert_allclose(undiscounted - served, 6 * alive, rtol=1e-9)
