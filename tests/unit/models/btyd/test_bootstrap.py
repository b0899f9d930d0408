"""The bootstrap over customers: its intervals cover the truth on data drawn from known parameters."""

import numpy as np
import pandas as pd
import pytest

from crmlab.models.btyd import bootstrap, fitting, scoring, summaries


def _simulate(rng, n, params, gg, T=52.0):
    """Customers drawn from BG/NBD (weeks) and Gamma-Gamma: their RFM summary."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    rate = rng.gamma(r, 1 / alpha, n)
    dropout = rng.beta(a, b, n)
    frequency, recency = np.zeros(n), np.zeros(n)
    for i in range(n):
        t, x, last = 0.0, 0, 0.0
        while True:
            t += rng.exponential(1 / rate[i])
            if t > T:
                break
            x, last = x + 1, t
            if rng.random() < dropout[i]:
                break
        frequency[i], recency[i] = x, last
    nu = rng.gamma(gg["q"], 1 / gg["v"], n)
    spend = np.where(frequency > 0, rng.gamma(gg["p"] * np.maximum(frequency, 1), 1 / nu) / np.maximum(frequency, 1),
                     0.0)
    return pd.DataFrame({"frequency": frequency, "recency": recency, "T": T, "monetary_value": spend})


@pytest.mark.slow
def test_intervals_cover_the_true_expected_purchases():
    """20 seeded datasets from known parameters: the 90% interval holds the truth in at least 16."""
    truth = {"r": 0.5, "alpha": 5.0, "a": 0.6, "b": 3.0}
    gg = {"p": 6.0, "q": 4.0, "v": 15.0}
    covered = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        summary = _simulate(rng, 1000, truth, gg)
        patterns = summaries.compress(summary)
        fit = fitting.fit_purchase_model(patterns["frequency"], patterns["recency"], patterns["T"], patterns["weight"])
        repeat = summary[summary["frequency"] > 0]
        spend = fitting.fit_spend_model(repeat["frequency"], repeat["monetary_value"])
        draws = bootstrap.value_draws(fit, spend, summary, n_draws=100, level=0.9, random_state=seed,
                                      time_unit="weeks", horizon_months=12, monthly_discount_rate=0.0,
                                      gross_margin=1.0, cost_to_serve=0.0)
        true_fit = fit.with_params(truth)
        _, _, expected = scoring.lifetime_value_details(true_fit, summary, np.ones(len(summary)), time_unit="weeks",
                                                        horizon_months=12, monthly_discount_rate=0.0,
                                                        gross_margin=1.0, cost_to_serve=0.0)
        low, high = draws.interval(draws.expected_purchases.sum(axis=1))
        covered += low <= expected.sum() <= high
    assert covered >= 16, covered
