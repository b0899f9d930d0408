"""New customers per calendar month, projected: seasonal exponential smoothing, or a trailing mean.

With at least :data:`SEASONAL_MONTHS` whole months of history, Holt-Winters
exponential smoothing with additive seasonality over 12 months and no trend
(ETS(A,N,A), statsmodels); with less, a season cannot be estimated and the
projection is the mean of the last :data:`TRAILING_MONTHS` whole months.
Projections are never negative.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

SEASONAL_MONTHS = 24
TRAILING_MONTHS = 3
SEASONAL = "seasonal exponential smoothing (ETS with additive 12-month seasonality, statsmodels)"
TRAILING = f"the mean of the last {TRAILING_MONTHS} whole months"


@dataclass(frozen=True)
class AcquisitionForecast:
    """Projected new customers per month (indexed by ``YYYY-MM``), how, and from which whole months."""

    new_customers: pd.Series
    method: str
    history_months: int


def monthly_acquisitions(first_purchases: pd.Series, observation_end: pd.Timestamp) -> pd.Series:
    """Customers by the calendar month of their first purchase, over the whole months of the window.

    The window runs from the earliest first purchase to ``observation_end``; a
    month it enters or leaves part-way is left out, since it would read as a
    drop in acquisitions. Months with no new customer count 0.

    Examples
    --------
    >>> firsts = pd.Series(pd.to_datetime(["2017-01-03", "2017-01-20", "2017-03-01", "2017-04-02"]))
    >>> monthly_acquisitions(firsts, pd.Timestamp("2017-04-15")).to_dict()
    {Period('2017-02', 'M'): 0, Period('2017-03', 'M'): 1}
    """
    first_purchases = pd.to_datetime(first_purchases)
    start, end = first_purchases.min().floor("D"), pd.Timestamp(observation_end).floor("D")
    first = start.to_period("M") + (0 if start.day == 1 else 1)
    last = end.to_period("M") - (0 if end == end.to_period("M").end_time.floor("D") else 1)
    months = pd.period_range(first, last, freq="M") if last >= first else pd.PeriodIndex([], freq="M")
    counts = first_purchases.dt.to_period("M").value_counts()
    return counts.reindex(months, fill_value=0).astype("int64")


def forecast_acquisitions(history: pd.Series, months: pd.PeriodIndex) -> AcquisitionForecast:
    """Project ``history`` (new customers per whole month, a monthly PeriodIndex) over ``months``.

    Examples
    --------
    >>> history = pd.Series([5, 7, 6, 9], index=pd.period_range("2017-09", periods=4, freq="M"))
    >>> out = forecast_acquisitions(history, pd.period_range("2018-01", periods=2, freq="M"))
    >>> out.new_customers.tolist(), out.method
    ([7.333333333333333, 7.333333333333333], 'the mean of the last 3 whole months')
    """
    steps = len(months)
    if len(history) >= SEASONAL_MONTHS:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        series = pd.Series(history.to_numpy(dtype=float), index=history.index.to_timestamp())
        series.index.freq = "MS"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on short series; the fit is still the best found
            fitted = ExponentialSmoothing(series, trend=None, seasonal="add", seasonal_periods=12,
                                          initialization_method="estimated").fit()
        # The forecast starts the month after the history; months may start later (a partial month between).
        ahead = (months[-1].ordinal - history.index[-1].ordinal)
        path = np.asarray(fitted.forecast(ahead), dtype=float)
        values = path[[m.ordinal - history.index[-1].ordinal - 1 for m in months]]
        method = SEASONAL
    else:
        level = float(history.iloc[-TRAILING_MONTHS:].mean()) if len(history) else 0.0
        values = np.full(steps, level)
        method = TRAILING
    return AcquisitionForecast(pd.Series(np.clip(values, 0.0, None), index=months.astype(str), name="new_customers"),
                               method, int(len(history)))
