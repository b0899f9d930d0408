"""BG/NBD, Pareto/NBD, MBG/NBD and Gamma-Gamma fits: published parameters, lifetimes' likelihoods, the ladder."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from crmlab.models.btyd import fitting, summaries

# Imported quietly: lifetimes' import-time warnings are not what these tests check.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import ConvergenceError


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
    one_each = fitting.fit_purchase_model(cal["frequency_cal"], cal["recency_cal"], cal["T_cal"])
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
    fit = fitting.fit_purchase_model(packed["frequency"], packed["recency"], packed["T"], packed["weight"], model)
    for name, value in published.items():
        assert fit.params[name] == pytest.approx(value, abs=2e-3), name
    assert math.isfinite(fit.log_likelihood)


def test_ladder_survives_where_lifetimes_raises():
    # Everyone bought last on their last day: the likelihood keeps rising as dropout goes to zero.
    T = np.linspace(10, 50, 30)
    frequency, recency = np.full(30, 5.0), T.copy()
    with warnings.catch_warnings(), pytest.raises(ConvergenceError):
        warnings.simplefilter("ignore")
        BetaGeoFitter().fit(frequency, recency, T)
    fit = fitting.fit_purchase_model(frequency, recency, T)
    assert fit.fit_step != fitting.FIT_LADDER[0][0]
    assert [a["step"] for a in fit.attempts] == [name for name, _ in fitting.FIT_LADDER][:len(fit.attempts)]
    assert not fit.attempts[0]["success"] and fit.attempts[-1]["success"]
    assert all(math.isfinite(v) for v in fit.params.values()) and math.isfinite(fit.log_likelihood)
    assert fit.boundary and "dropout is negligible" in fit.boundary_note
    summary = pd.DataFrame({"frequency": frequency, "recency": recency, "T": T})
    predictions = fitting.customer_predictions(fit, summary, 10.0)
    assert predictions.notna().all().all() and (predictions["p_alive"] > 0.99).all()


def test_no_dropout_data_is_flagged_as_boundary():
    rng = np.random.default_rng(0)
    T = rng.uniform(30, 52, 3000).round()
    frequency = rng.poisson(rng.gamma(2.0, 0.5, 3000) * T).astype(float)
    recency = np.where(frequency > 0, (T * rng.beta(np.maximum(frequency, 1), 1)).round(1), 0.0)
    fit = fitting.fit_purchase_model(frequency, recency, T)
    assert fit.boundary and fit.params["a"] < 1e-3
    assert fit.params["r"] / fit.params["alpha"] == pytest.approx(1.0, rel=0.1)  # the simulated mean rate


def test_unknown_model_is_rejected():
    with pytest.raises(ValueError, match="model must be one of"):
        fitting.fit_purchase_model([1], [1], [2], model="bgbb")


def test_spend_model_equals_lifetimes(paper, bundled):
    summary = summaries.rfm_summary(bundled("cdnow_sample"), "1998-06-30", "weeks")
    packed = summaries.compress(summary, ("frequency", "monetary_value"))
    fit = fitting.fit_spend_model(packed["frequency"], packed["monetary_value"], packed["weight"])
    repeat = summary[summary["frequency"] > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    for name in ("p", "q", "v"):
        assert fit.params[name] == pytest.approx(theirs.params_[name], rel=1e-3)
    ours = fitting.expected_spend(fit, repeat["frequency"], repeat["monetary_value"])
    np.testing.assert_allclose(ours, theirs.conditional_expected_average_profit(
        repeat["frequency"], repeat["monetary_value"]), rtol=1e-3)


@pytest.mark.parametrize("penalizer", [0.0, 1e-3])
def test_fast_bgnbd_likelihood_equals_lifetimes(penalizer):
    from autograd import value_and_grad

    rng = np.random.default_rng(1)
    frequency = rng.poisson(3, 400).astype(float)
    T = rng.uniform(0.2, 1.0, 400)
    recency = np.where(frequency > 0, T * rng.uniform(0, 1, 400), 0.0)
    weights = rng.integers(1, 5, 400).astype(float)
    ours = fitting._BGNBDLikelihood(frequency, recency, T, weights, penalizer)
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
    ours = fitting._GammaGammaLikelihood(frequency, monetary, weights, penalizer)
    theirs = value_and_grad(lambda x: GammaGammaFitter._negative_log_likelihood(x, frequency, monetary, weights,
                                                                                penalizer))
    for point in ([6.25, 3.74, 15.44], [0.5, 1.5, 200.0], [1.0, 1.0, 1.0]):
        value, gradient = ours(np.log(point))
        expected_value, expected_gradient = theirs(np.log(point))
        assert value == pytest.approx(float(expected_value), rel=1e-12)
        np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-9, atol=1e-12)


def test_bgnbd_expected_purchases_are_lifetimes_own_bit_for_bit(paper):
    """The second hypergeometric evaluation is skipped only where lifetimes would not use it."""
    _, packed, fit = paper
    f, r, t = (packed[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    # Beyond the data: histories and horizons where 2F1 overflows, so lifetimes' other form is taken.
    f, r, t = np.append(f, [500.0, 1000.0, 3.0]), np.append(r, [90.0, 99.0, 20.0]), np.append(t, [100.0, 100.0, 39.0])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for horizon in (4.3, 39.0, 1000.0, np.arange(1.0, 14.0)[:, None] * 4.3):
            ours = fitting.conditional_expected_purchases(fit, horizon, f, r, t)
            theirs = fit.fitter.conditional_expected_number_of_purchases_up_to_time(horizon, f, r, t)
            assert np.array_equal(np.asarray(ours), np.asarray(theirs), equal_nan=True), horizon
        # The overflow really happened at the long horizon, and the other form gave a finite number there.
        from scipy.special import hyp2f1
        x, p = f[-3:], fit.params
        overflowed = np.isinf(np.log(hyp2f1(p["r"] + x, p["b"] + x, p["a"] + p["b"] + x - 1,
                                            1000.0 / (p["alpha"] + t[-3:] + 1000.0))))
        assert overflowed[:2].all() and not overflowed[2]
        assert np.isfinite(fitting.conditional_expected_purchases(fit, 1000.0, f, r, t)[-3:-1]).all()
