"""The months ahead: revenue and active customers month by month, new customers apart, and the holdout backtest.

Existing customers are projected by the scoring fits
(:mod:`crmlab.models.btyd.outlook`), their band from the bootstrap refits
the report already makes. New customers are projected apart: acquisitions
per month (:mod:`crmlab.models.acquisitions`), each new customer making
the first purchase in the month they arrive (taken as its middle) and then
repeat purchases at the purchase model's expectation for a new customer.

The backtest asks the calibration fits for each holdout month of the
calibration customers and sets that against what they did; the months add
up to the report's holdout prediction. The naive baseline is the same
month a year earlier where the calibration period holds it, else the last
whole calibration month (scaled to a window's days). Errors (MAPE, MASE) are
scored on the whole holdout months; partial ones are shown, not scored,
unless there is no whole month.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlab.models.acquisitions import AcquisitionForecast
from crmlab.models.btyd import outlook
from crmlab.models.btyd.fitting import FitResult, expected_spend, history_patterns
from crmlab.models.btyd.summaries import calibration_statistics, unit_days


def _band(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Central ``level`` interval per column of ``values`` (draws × months); NaN without draws.

    A replicate whose figures overflow (a resample refitted to extreme parameters) is left out, as the
    bootstrap leaves out a resample the models cannot be fitted to.
    """
    values = values[np.isfinite(values).all(axis=1)] if len(values) else values
    if len(values) == 0:
        nan = np.full(values.shape[1] if values.ndim == 2 else 0, np.nan)
        return nan, nan
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail], axis=0)
    return low, high


def _spend(spend_fit: FitResult, frequency, monetary_value) -> np.ndarray:
    """Expected spend per purchase; a customer's own mean where the spend model is degenerate (as the report does)."""
    out = expected_spend(spend_fit, frequency, monetary_value)
    return np.where(np.isnan(out), np.asarray(monetary_value, dtype=float), out)


def _monthly_totals(fit: FitResult, histories, counts, spend_sums, starts, lengths):
    f, r, t = histories
    expected = outlook.expected_by_window(fit, f, r, t, starts, lengths)
    with np.errstate(over="ignore", invalid="ignore"):
        return (expected @ counts, expected @ spend_sums,
                outlook.active_by_window(fit, f, r, t, starts, lengths) @ counts)


def existing_customers(purchase: FitResult, spend: FitResult, summary: pd.DataFrame, observation_end: pd.Timestamp,
                       *, months: int, time_unit: str, draws=None, level: float = 0.9
                       ) -> tuple[pd.DataFrame, np.ndarray]:
    """Per calendar month after ``observation_end``: the existing customers' purchases, revenue, active customers.

    ``summary`` is the per-customer ``frequency``, ``recency``, ``T`` and
    ``monetary_value`` the fits scored; ``draws`` (:class:`ValueDraws`) gives
    each figure its band (``*_low``, ``*_high``). Also returns each
    replicate's monthly revenue (replicates × months), for the band of a total.
    """
    windows = outlook.month_windows(observation_end, months=months)
    starts, lengths = outlook.window_offsets(windows, observation_end, unit_days(time_unit))
    f, r, t, pattern = history_patterns(summary)
    counts = np.bincount(pattern, minlength=len(f)).astype(float)

    def totals(purchase_fit, spend_fit):
        per_customer = _spend(spend_fit, summary["frequency"], summary["monetary_value"])
        spend_sums = np.bincount(pattern, weights=per_customer, minlength=len(f))
        return _monthly_totals(purchase_fit, (f, r, t), counts, spend_sums, starts, lengths)

    table = windows.copy()
    table["purchases"], table["revenue"], table["active_customers"] = totals(purchase, spend)
    replicates = [totals(p, s) for p, s in (draws.fits if draws is not None else [])]
    stacked = {}
    for i, name in enumerate(("purchases", "revenue", "active_customers")):
        stacked[name] = np.array([rep[i] for rep in replicates]).reshape(len(replicates), len(windows))
        table[f"{name}_low"], table[f"{name}_high"] = _band(stacked[name], level)
    return table, stacked["revenue"]


def new_customers(purchase: FitResult, spend: FitResult, forecast: AcquisitionForecast, observation_end: pd.Timestamp,
                  *, time_unit: str, first_purchase_spend: float, repeat_spend: float) -> pd.DataFrame:
    """Per calendar month: projected new customers, their purchases, revenue and active customers.

    A customer arriving in month j is taken to arrive in its middle: the first
    purchase falls in month j, repeat purchases follow at the model's
    expectation for a new customer, and they count as active in month j and,
    later, with the model's chance of a purchase in the month.
    """
    windows = outlook.month_windows(observation_end, months=len(forecast.new_customers))
    starts, lengths = outlook.window_offsets(windows, observation_end, unit_days(time_unit))
    arrivals = forecast.new_customers.to_numpy(dtype=float)
    middles = starts + lengths / 2
    months = len(windows)
    purchases, revenue, active = arrivals.copy(), arrivals * first_purchase_spend, arrivals.copy()
    for j in range(months):
        if arrivals[j] == 0:
            continue
        ages_start = np.maximum(starts - middles[j], 0.0)
        ages_end = np.maximum(starts + lengths - middles[j], 0.0)
        later = np.arange(months) >= j
        repeat, chance = outlook.new_customer_expectations(purchase, ages_start[later], ages_end[later])
        purchases[later] += arrivals[j] * repeat
        revenue[later] += arrivals[j] * repeat * repeat_spend
        after = np.arange(months)[later] > j  # in its own month a new customer is active by arriving
        active[np.arange(months)[later][after]] += arrivals[j] * chance[after]
    table = windows.copy()
    table["new_customers"] = arrivals
    table["new_purchases"], table["new_revenue"], table["new_active_customers"] = purchases, revenue, active
    return table


def repeat_spend_of_a_new_customer(spend: FitResult, summary: pd.DataFrame) -> float:
    """Gamma-Gamma's population mean spend per purchase; the repeat buyers' mean where the model is degenerate."""
    p, q, v = spend.params["p"], spend.params["q"], spend.params["v"]
    if q > 1:
        return float(v * p / (q - 1))
    repeaters = summary.loc[summary["frequency"] > 0, "monetary_value"]
    return float(repeaters.mean()) if len(repeaters) else 0.0


def _naive(series: pd.Series, windows: pd.DataFrame) -> tuple[np.ndarray, str, int]:
    """The naive forecast of each window from ``series`` (a value per whole calibration month, PeriodIndex)."""
    months = pd.PeriodIndex(windows["month"], freq="M")
    full_days = months.days_in_month.to_numpy()
    share = windows["days"].to_numpy() / full_days
    last_year = months - 12
    if len(series) and all(m in series.index for m in last_year):
        return series.reindex(last_year).to_numpy(dtype=float) * share, "the same month a year earlier", 12
    last = float(series.iloc[-1]) if len(series) else np.nan
    return np.full(len(windows), last) * share, "the last whole calibration month", 1


def _scale(series: pd.Series, lag: int) -> float | None:
    """MASE's denominator: the naive forecast's mean absolute error within the calibration months."""
    values = series.to_numpy(dtype=float)
    if len(values) <= lag:
        return None
    scale = float(np.mean(np.abs(values[lag:] - values[:-lag])))
    return scale if scale > 0 else None


def _errors(actual: np.ndarray, forecast: np.ndarray, scale: float | None) -> tuple[float | None, float | None]:
    """(MAPE in %, MASE) over the months; MAPE leaves out months with nothing actual."""
    seen = actual != 0
    mape = float(np.mean(np.abs(forecast[seen] - actual[seen]) / np.abs(actual[seen])) * 100) if seen.any() else None
    mase = float(np.mean(np.abs(forecast - actual)) / scale) if scale else None
    return mape, mase


def backtest(purchase: FitResult, spend: FitResult, calibration: pd.DataFrame, per_day: pd.DataFrame,
             calibration_end: pd.Timestamp, observation_end: pd.Timestamp, *, time_unit: str, refits=(),
             level: float = 0.9) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each holdout month of the calibration customers: actual repeat purchases and revenue against the forecast.

    ``per_day`` is :func:`crmlab.engine.customer_tables.cohort_days` of the
    calibration customers through ``observation_end`` (days as day numbers);
    ``refits`` are bootstrap refits of ``purchase``, for the band.

    Returns the table (one row per month: actual, forecast, band, naive
    forecast, errors) and the figures for ``metrics.json``.
    """
    windows = outlook.month_windows(calibration_end, through=observation_end)
    starts, lengths = outlook.window_offsets(windows, calibration_end, unit_days(time_unit))
    stats = calibration_statistics(calibration)
    f, r, t, pattern = history_patterns(stats)
    counts = np.bincount(pattern, minlength=len(f)).astype(float)
    spend_each = _spend(spend, calibration["frequency_cal"], calibration["monetary_value_cal"])
    spend_sums = np.bincount(pattern, weights=spend_each, minlength=len(f))

    def forecast(fit):
        expected = outlook.expected_by_window(fit, f, r, t, starts, lengths)
        with np.errstate(over="ignore", invalid="ignore"):
            return expected @ counts, expected @ spend_sums

    table = windows.copy()
    table["purchases"], table["revenue"] = forecast(purchase)
    replicates = [forecast(fit) for fit in refits]
    for i, name in enumerate(("purchases", "revenue")):
        stacked = np.array([rep[i] for rep in replicates]).reshape(len(replicates), len(windows))
        table[f"{name}_low"], table[f"{name}_high"] = _band(stacked, level)

    days = pd.to_datetime(per_day.index.to_numpy(), unit="D")
    window_of = np.searchsorted(windows["last_day"].to_numpy(), days.to_numpy(), side="left")
    inside = (days > calibration_end) & (days <= observation_end)
    for column, name in (("repeat_purchases", "actual_purchases"), ("repeat_revenue", "actual_revenue")):
        table[name] = np.bincount(window_of[inside], weights=per_day[column].to_numpy(dtype=float)[inside],
                                  minlength=len(windows))[:len(windows)]

    # The calibration months the baseline learns from: whole calendar months up to the cutoff.
    cal_days = days[days <= calibration_end]
    by_month = per_day[days <= calibration_end].groupby(cal_days.to_period("M"))
    history = by_month[["repeat_purchases", "repeat_revenue"]].sum()
    whole = [m for m in history.index
             if m.start_time >= days.min().floor("D") and m.end_time.floor("D") <= calibration_end]
    history = history.loc[whole] if whole else history.iloc[:0]
    figures: dict[str, Any] = {}
    # Errors are scored on whole months where there are any: a stub of a month (the holdout ending on the 1st)
    # holds a day or two of purchases, and its percentage error would swamp the others.
    scored = ~table["partial"].to_numpy() if (~table["partial"]).any() else np.ones(len(table), dtype=bool)
    for column, name in (("repeat_purchases", "purchases"), ("repeat_revenue", "revenue")):
        naive, method, lag = _naive(history[column], windows)
        table[f"naive_{name}"] = naive
        scale = _scale(history[column], lag)
        actual = table[f"actual_{name}"].to_numpy()[scored]
        figures[f"backtest_{name}_mape"], figures[f"backtest_{name}_mase"] = _errors(
            actual, table[name].to_numpy()[scored], scale)
        figures[f"backtest_naive_{name}_mape"], figures[f"backtest_naive_{name}_mase"] = _errors(
            actual, naive[scored], scale)
        figures["backtest_naive_method"] = method
    figures["backtest_scored_months"] = int(scored.sum())
    figures["backtest_calibration_months"] = len(history)
    figures["backtest_months"] = [
        {"month": row.month, "partial": bool(row.partial), "actual_purchases": float(row.actual_purchases),
         "purchases": float(row.purchases), "actual_revenue": float(row.actual_revenue),
         "revenue": float(row.revenue)}
        for row in table.itertuples()]
    return table, figures
