"""Checks of a fitted purchase model against the holdout period and the calibration data."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from crmlab import engine
from crmlab.core.ranking import equal_groups
from crmlab.engine import customer_tables
from crmlab.models.btyd.fitting import FitResult, customer_predictions, expected_purchases_and_p_alive, expected_spend
from crmlab.models.btyd.summaries import calibration_statistics, unit_days

# --------------------------------------------------------------------------- holdout validation


def holdout_by_frequency(fit: FitResult, cal: pd.DataFrame, max_bin: int = 7) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases per calibration frequency 0..max_bin+."""
    predicted = _predict_holdout(fit, cal)
    bins = np.minimum(cal["frequency_cal"].to_numpy(dtype=int), max_bin)
    frame = pd.DataFrame({"bin": bins, "actual": cal["frequency_holdout"].to_numpy(), "predicted": predicted})
    table = frame.groupby("bin").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                     predicted=("predicted", "mean"))
    table.index = [f"{b}+" if b == max_bin else str(b) for b in table.index]
    table.index.name = "calibration_purchases"
    return table


def _predict_holdout(fit: FitResult, cal: pd.DataFrame) -> np.ndarray:
    duration = float(cal["duration_holdout"].iloc[0])
    return customer_predictions(fit, calibration_statistics(cal), duration)["expected_purchases"].to_numpy()


def holdout_errors(fit: FitResult, cal: pd.DataFrame) -> dict[str, float]:
    """Per-customer MAE and RMSE of holdout purchases, and the aggregate error in %."""
    predicted = _predict_holdout(fit, cal)
    actual = cal["frequency_holdout"].to_numpy(dtype=float)
    error = predicted - actual
    actual_total, predicted_total = float(actual.sum()), float(predicted.sum())
    return {
        "holdout_actual_total": actual_total,
        "holdout_predicted_total": predicted_total,
        "holdout_error_pct": (predicted_total - actual_total) / actual_total * 100 if actual_total else float("nan"),
        "holdout_mae": float(np.abs(error).mean()),
        "holdout_rmse": float(np.sqrt((error ** 2).mean())),
    }


def _holdout_spend_frame(spend: FitResult, cal: pd.DataFrame) -> pd.DataFrame:
    """Per calibration customer: Gamma-Gamma's expected spend per purchase from the calibration period."""
    predicted = expected_spend(spend, cal["frequency_cal"], cal["monetary_value_cal"])
    # A degenerate fit (q <= 1) has no expected spend: the customer's own calibration mean stands in.
    predicted = np.where(np.isnan(predicted), cal["monetary_value_cal"].to_numpy(), predicted)
    return pd.DataFrame({"predicted": predicted, "actual": cal["monetary_value_holdout"].to_numpy(),
                         "purchases": cal["frequency_holdout"].to_numpy()}, index=cal.index)


def holdout_spend_errors(purchase: FitResult, spend: FitResult, cal: pd.DataFrame) -> dict[str, float]:
    """The spend model against the holdout, for customers who bought in it, and holdout revenue overall.

    ``holdout_spend_mae``: per customer with holdout purchases, |expected spend
    per purchase (Gamma-Gamma, calibration only) - actual mean spend per
    holdout purchase day|. ``holdout_revenue_predicted``: expected holdout
    purchases x expected spend, summed over the calibration cohort, against
    the cohort's actual holdout revenue.
    """
    frame = _holdout_spend_frame(spend, cal)
    buyers = frame[frame["purchases"] > 0]
    predicted_revenue = float((_predict_holdout(purchase, cal) * frame["predicted"].to_numpy()).sum())
    actual_revenue = float((frame["purchases"] * frame["actual"]).sum())
    return {
        "holdout_spend_customers": int(len(buyers)),
        "holdout_spend_mae": float((buyers["predicted"] - buyers["actual"]).abs().mean()) if len(buyers) else None,
        "holdout_spend_mean_actual": float(buyers["actual"].mean()) if len(buyers) else None,
        "holdout_spend_mean_predicted": float(buyers["predicted"].mean()) if len(buyers) else None,
        "holdout_revenue_actual": actual_revenue,
        "holdout_revenue_predicted": predicted_revenue,
        "holdout_revenue_error_pct": ((predicted_revenue - actual_revenue) / actual_revenue * 100
                                      if actual_revenue else None),
    }


def holdout_spend_by_group(spend: FitResult, cal: pd.DataFrame, groups: int = 10) -> pd.DataFrame:
    """Customers with holdout purchases in ``groups`` equal groups by expected spend: mean expected and actual."""
    frame = _holdout_spend_frame(spend, cal)
    buyers = frame[frame["purchases"] > 0]
    group = equal_groups(buyers["predicted"], groups)
    table = buyers.groupby(group, observed=True).agg(customers=("actual", "size"), predicted=("predicted", "mean"),
                                                     actual=("actual", "mean"))
    table.index.name = "expected_spend_group"
    return table


def cumulative_repeat_transactions(fit: FitResult, transactions, calibration_end: Any, observation_end: Any,
                                   time_unit: str, per_day: pd.DataFrame | None = None) -> pd.DataFrame:
    """Weekly cumulative repeat purchases of the calibration cohort: actual and model.

    The cohort is every customer whose first purchase falls in the
    calibration period (as in Fader, Hardie & Lee, figure 2). The model line
    sums, over customers, the expected repeat purchases by each week given
    only when the customer first bought: E[X(t)] with t the age at that week.
    ``transactions`` is anything :func:`crmlab.engine.lines` takes; the engine
    counts first and repeat purchase days per calendar day (``per_day``, when the caller has that table).
    """
    cal_end, end = customer_tables.day_of(calibration_end), customer_tables.day_of(observation_end)
    if per_day is None:
        per_day = customer_tables.cohort_days(engine.lines(transactions), cohort_through_day=cal_end,
                                              through_day=end)
    births = per_day.loc[per_day["first_purchases"] > 0, "first_purchases"]
    start = int(births.index.min())
    week_ends = np.arange(start + 6, end + 7, 7)
    week_ends[-1] = min(week_ends[-1], end)
    repeats = per_day["repeat_purchases"]
    actual = np.cumsum(repeats.to_numpy())[np.searchsorted(repeats.index.to_numpy(), week_ends, side="right") - 1]
    unit = unit_days(time_unit)
    age = (week_ends[:, None] - births.index.to_numpy()[None, :]) / unit  # weeks × birth days
    # Many (week, birth day) pairs share an age: evaluate each age once.
    ages, position = np.unique(np.clip(age, 0, None), return_inverse=True)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at_age = np.nan_to_num(np.asarray(fit.fitter.expected_number_of_purchases_up_to_time(ages), dtype=float))
    expected = at_age[position.reshape(age.shape)] @ births.to_numpy()
    return pd.DataFrame({
        "week_end": pd.to_datetime(week_ends, unit="D"),
        "actual": actual.astype(float),
        "model": expected,
        "period": np.where(week_ends <= cal_end, "calibration", "holdout"),
    })


def period_transactions(fit: FitResult, cal: pd.DataFrame, max_bin: int = 6, seed: int = 42,
                        draws: int = 200_000) -> pd.DataFrame:
    """Customers by calibration repeat purchases 0..max_bin+: actual and expected under the model.

    The expectation is simulated from the fitted model for each customer's
    own age T (fixed seed, about ``draws`` simulated customers in total), the
    same check as lifetimes' ``plot_period_transactions`` but vectorised.
    """
    T = cal["T_cal"].to_numpy(dtype=float)
    reps = max(1, math.ceil(draws / len(T)))
    simulated = _simulate_repeat_purchases(fit, np.tile(T, reps), np.random.default_rng(seed))
    bins = [f"{b}+" if b == max_bin else str(b) for b in range(max_bin + 1)]
    actual = np.bincount(np.minimum(cal["frequency_cal"].to_numpy(dtype=int), max_bin), minlength=max_bin + 1)
    model = np.bincount(np.minimum(simulated, max_bin), minlength=max_bin + 1) / reps
    return pd.DataFrame({"actual": actual, "model": model}, index=pd.Index(bins, name="repeat_purchases"))


def _simulate_repeat_purchases(fit: FitResult, T: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    p = fit.params
    rate = rng.gamma(p["r"], 1.0 / p["alpha"], size=len(T))
    if fit.model == "pareto_nbd":
        dropout_rate = rng.gamma(p["s"], 1.0 / p["beta"], size=len(T))
        lifetime = rng.exponential(1.0 / np.maximum(dropout_rate, 1e-300))
        return rng.poisson(rate * np.minimum(lifetime, T))
    purchases = rng.poisson(rate * T)
    dropout = np.clip(rng.beta(p["a"], p["b"], size=len(T)), 1e-300, 1.0)
    # BG/NBD: a customer can drop out right after each purchase, so the repeat
    # purchases are capped by a geometric count; MBG/NBD also allows dropout
    # right after the first purchase, which lowers the cap by one.
    cap = rng.geometric(dropout)
    if fit.model == "mbgnbd":
        cap = cap - 1
    return np.minimum(purchases, cap)


def frequency_recency_matrix(fit: FitResult, T: float, periods: float, max_frequency: int,
                             recency_bins: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Expected purchases in the next ``periods`` and P(alive) for a customer of age ``T``.

    Rows: repeat purchases 0..max_frequency; columns: recency (age at last purchase).
    """
    # About 15 rows, so the grid stays readable for frequent shoppers too.
    frequencies = np.unique(np.linspace(0, max_frequency, min(max_frequency + 1, 15)).round().astype(int))
    recencies = np.linspace(0, T, recency_bins + 1)[1:]
    f, r = np.meshgrid(frequencies, recencies, indexing="ij")
    # Zero repeat purchases means recency 0 by definition.
    r = np.where(f == 0, 0.0, r)
    expected, alive = expected_purchases_and_p_alive(fit, periods, f.ravel().astype(float), r.ravel(),
                                                     np.full(f.size, T))
    columns = pd.Index(np.round(recencies, 1), name="recency")
    index = pd.Index(frequencies, name="frequency")
    return (pd.DataFrame(expected.reshape(f.shape), index=index, columns=columns),
            pd.DataFrame(alive.reshape(f.shape), index=index, columns=columns))
