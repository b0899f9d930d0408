"""Month by month: windows, expected purchases that add up, and P(active) against simulated customers."""

import numpy as np
import pandas as pd
import pytest

from crmlab.models.btyd import fitting, outlook

TRUTH = {"bgnbd": {"r": 0.8, "alpha": 6.0, "a": 0.7, "b": 2.5},
         "mbgnbd": {"r": 0.8, "alpha": 6.0, "a": 0.7, "b": 2.5},
         "pareto_nbd": {"r": 0.8, "alpha": 6.0, "s": 0.9, "beta": 12.0}}


def _model(name):
    """A FitResult of ``name`` at the true parameters (only its predictions are used)."""
    fit = fitting.fit_purchase_model([0, 2, 5, 1, 0, 3], [0, 10, 30, 4, 0, 25], [40, 38, 35, 30, 20, 33],
                                     model=name, standard_errors=False)
    return fit.with_params(TRUTH[name])


def _simulate(rng, name, n, until):
    """Purchase times after the first purchase (time 0) of ``n`` customers, up to ``until``, from the model."""
    p = TRUTH[name]
    rate = rng.gamma(p["r"], 1 / p["alpha"], n)
    if name == "pareto_nbd":
        death = rng.exponential(1 / rng.gamma(p["s"], 1 / p["beta"], n))
    else:
        dropout = rng.beta(p["a"], p["b"], n)
    times = []
    for i in range(n):
        if name == "mbgnbd" and rng.random() < dropout[i]:
            times.append(np.array([]))  # MBG/NBD: gone right after the first purchase
            continue
        own, t = [], 0.0
        while True:
            t += rng.exponential(1 / rate[i])
            if t > until or (name == "pareto_nbd" and t > death[i]):
                break
            own.append(t)
            if name != "pareto_nbd" and rng.random() < dropout[i]:
                break
        times.append(np.array(own))
    return times


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "pareto_nbd"])
def test_p_active_summed_over_histories_matches_simulated_customers(name):
    """E[P(active | history)] = P(active): the model's sum over customers is the simulated count, window by window.

    Each customer is observed to T = 30, then the windows are (30, 34], (34, 38], (46, 50]: the first starts at
    T, the others later, where survival until the window matters.
    """
    rng = np.random.default_rng(7)
    n, T = 20_000, 30.0
    times = _simulate(rng, name, n, until=50.0)
    seen = [own[own <= T] for own in times]
    f = np.array([len(s) for s in seen], dtype=float)
    r = np.array([s[-1] if len(s) else 0.0 for s in seen])
    t = np.full(n, T)
    starts, lengths = np.array([0.0, 4.0, 16.0]), np.array([4.0, 4.0, 4.0])
    predicted = outlook.active_by_window(_model(name), f, r, t, starts, lengths).sum(axis=1)
    actual = np.array([sum(((own > T + s) & (own <= T + s + n_)).any() for own in times)
                       for s, n_ in zip(starts, lengths)])
    noise = 4 * np.sqrt(actual * (1 - actual / n))  # four binomial standard deviations
    assert np.all(np.abs(predicted - actual) < noise), (predicted, actual)
    expected = outlook.expected_by_window(_model(name), f, r, t, starts, lengths).sum(axis=1)
    bought = np.array([sum(((own > T + s) & (own <= T + s + n_)).sum() for own in times)
                       for s, n_ in zip(starts, lengths)])
    assert np.all(np.abs(expected - bought) < 4 * np.sqrt(bought) * 2), (expected, bought)
    assert np.all(predicted <= expected + 1e-9)  # at least one purchase is never likelier than the mean count


def test_months_add_up_to_the_whole_span():
    """Simulated BG/NBD customers observed for 30 weeks: the 12 months' expectations sum to the year's."""
    fit = _model("bgnbd")
    seen = [own[own <= 30.0] for own in _simulate(np.random.default_rng(3), "bgnbd", 500, until=30.0)]
    f = np.array([len(s) for s in seen], dtype=float)
    r, t = np.array([s[-1] if len(s) else 0.0 for s in seen]), np.full(len(seen), 30.0)
    windows = outlook.month_windows(pd.Timestamp("2017-12-31"), months=12)
    starts, lengths = outlook.window_offsets(windows, pd.Timestamp("2017-12-31"), 7.0)
    monthly = outlook.expected_by_window(fit, f, r, t, starts, lengths)
    whole = fit.fitter.conditional_expected_number_of_purchases_up_to_time(365 / 7, f, r, t)
    np.testing.assert_allclose(monthly.sum(axis=0), whole, rtol=1e-12)
    assert windows["days"].sum() == 365 and not windows["partial"].any()


def test_the_first_window_starts_the_day_after_the_end_and_the_last_stops_on_the_given_day():
    windows = outlook.month_windows(pd.Timestamp("2017-07-01"), through=pd.Timestamp("2017-12-31"))
    assert windows["first_day"].iloc[0] == pd.Timestamp("2017-07-02")  # the cutoff day is history
    assert windows["days"].iloc[0] == 30 and windows["partial"].tolist() == [True] + [False] * 5
    assert windows["last_day"].iloc[-1] == pd.Timestamp("2017-12-31")
    cut = outlook.month_windows(pd.Timestamp("2017-07-01"), through=pd.Timestamp("2017-12-15"))
    assert cut["days"].iloc[-1] == 15 and cut["partial"].iloc[-1]
    starts, lengths = outlook.window_offsets(windows, pd.Timestamp("2017-07-01"), 1.0)
    assert starts[0] == 0 and lengths[0] == 30 and starts[1] == 30  # contiguous, in days after the cutoff
    assert starts[-1] + lengths[-1] == 183


def test_the_btyd_churn_probability_is_the_closed_form():
    """BG/NBD: P(no purchase in H | x, t_x, T) = 1 - P(alive) (1 - ((alpha + T) / (alpha + T + H))^(r + x))."""
    fit, p = _model("bgnbd"), TRUTH["bgnbd"]
    f, r, t = np.array([0.0, 2.0, 7.0]), np.array([0.0, 10.0, 29.0]), np.array([30.0, 30.0, 30.0])
    alive = fit.fitter.conditional_probability_alive(f, r, t)
    closed = 1 - alive * (1 - ((p["alpha"] + t) / (p["alpha"] + t + 13)) ** (p["r"] + f))
    np.testing.assert_allclose(outlook.no_purchase_probability(fit, f, r, t, 13.0), closed, rtol=1e-12)
