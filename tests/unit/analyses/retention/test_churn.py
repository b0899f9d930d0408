"""The churn model against the best any model could do: customers drawn from BG/NBD with known parameters."""

import numpy as np
import pandas as pd
import pytest

from crmlab import engine
from crmlab.analyses.retention.churn import ChurnModel, cutoff_table, scores, training_cutoffs
from crmlab.models.btyd import fitting
from crmlab.models.btyd.outlook import no_purchase_probability

# Per day: a purchase every 40 days on average while alive, a 10% to 15% chance of leaving after each.
TRUTH = {"r": 0.5, "alpha": 20.0, "a": 0.8, "b": 6.0}
HORIZON, TEST_CUTOFF, END = 90, 540, 720


def _simulate(n: int, seed: int):
    """Customers born on days 0..179, then BG/NBD in continuous time; each purchase dated by its day."""
    rng = np.random.default_rng(seed)
    birth = rng.integers(0, 180, n).astype(float)
    rate, dropout = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], n), rng.beta(TRUTH["a"], TRUTH["b"], n)
    times = []
    for i in range(n):
        own, t = [birth[i]], birth[i]
        while True:
            t += rng.exponential(1 / rate[i])
            if t >= END + 1:
                break
            own.append(t)
            if rng.random() < dropout[i]:
                break
        times.append(np.array(own))
    rows = [(i, time) for i, own in enumerate(times) for time in own]
    lines = pd.DataFrame({"customer_id": [i for i, _ in rows], "order_id": range(len(rows)),
                          "order_date": pd.Timestamp("2015-01-01") + pd.to_timedelta([t for _, t in rows], unit="D"),
                          "revenue": 10.0})
    return lines, times, birth


def _bayes_optimal(times, birth, cutoff_day):
    """P(no purchase in the horizon | the exact history) under the true parameters, for customers born by then."""
    seen_until = cutoff_day + 1  # everything dated on or before the cutoff day
    born = np.flatnonzero(birth <= cutoff_day)
    f, r, T = [], [], []
    for i in born:
        before = times[i][times[i] < seen_until]
        f.append(len(before) - 1)
        r.append(before[-1] - before[0])
        T.append(seen_until - before[0])
    fit = fitting.fit_purchase_model([0, 2, 5, 1], [0, 10, 30, 4], [40, 38, 35, 30],
                                     standard_errors=False).with_params(TRUTH)
    churn = no_purchase_probability(fit, np.array(f, float), np.array(r, float), np.array(T, float), HORIZON)
    left = np.array([not ((times[i] >= seen_until) & (times[i] < seen_until + HORIZON)).any() for i in born])
    return churn, left


@pytest.mark.slow
def test_out_of_time_auc_approaches_the_bayes_optimum_and_never_beats_it():
    lines, times, birth = _simulate(4000, seed=11)
    t = engine.lines(lines)
    first_day = int((lines["order_date"].min() - pd.Timestamp("1970-01-01")).days)
    test_day = first_day + TEST_CUTOFF
    cutoffs = training_cutoffs(test_day, first_day, HORIZON)
    assert len(cutoffs) == 5 and all(c + HORIZON <= test_day for c in cutoffs)  # no label window crosses the test
    model = ChurnModel(random_state=0).fit([cutoff_table(t, c, horizon_days=HORIZON, time_unit="days")
                                            for c in cutoffs])
    test = cutoff_table(t, test_day, horizon_days=HORIZON, time_unit="days")
    ours = scores(test.churned, model.predict_proba(test.features))
    btyd = scores(test.churned, test.features["btyd_churn_probability"])
    optimal_p, optimal_left = _bayes_optimal(times, birth, TEST_CUTOFF)
    optimal = scores(optimal_left, optimal_p)
    # The same customers and labels as the simulation's own (dates are days, the truth continuous time).
    assert len(test.churned) == len(optimal_left) and test.churned.sum() == optimal_left.sum()
    noise = 0.02  # about two standard errors of an AUC on ~3,000 customers
    assert ours["auc"] <= optimal["auc"] + noise, (ours, optimal)  # the leakage trap
    assert ours["auc"] >= optimal["auc"] - 0.04, (ours, optimal)
    assert btyd["auc"] >= optimal["auc"] - 0.03, (btyd, optimal)
    assert ours["brier"] <= optimal["brier"] + 0.02  # calibrated, near the truth's own probabilities
    assert model.selected_ in ("logistic_regression", "gradient_boosting")
    assert set(model.selection_["chosen_on"]) == {"latest training cutoff"}
    # Why they leave: in BG/NBD, time since the last purchase matters, and more of it means more leaving.
    why = model.reasons(test)
    top = why.index[:3].tolist()
    assert {"recency_days", "recency_over_mean_gap", "btyd_churn_probability"} & set(top), why
    assert why.loc["btyd_churn_probability", "direction"] == 1 and why.loc["recency_days", "direction"] == 1
