"""Per-customer sufficient statistics for the CLV models.

:func:`rfm_summary` and :func:`calibration_holdout_summary` use the definitions of
``lifetimes.utils.summary_data_from_transaction_data``; the per-line grouping
runs in the engine (:func:`crmlab.engine.customer_tables.purchase_days`), the rest on
one row per customer. :func:`compress` collapses identical statistics into
weighted rows, which is what the fits run on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlab import engine
from crmlab.engine import customer_tables

# Length of one time unit in days. Weeks are days / 7 (fractional), as in the
# BG/NBD paper; a month is an average calendar month.
TIME_UNITS = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12}
DAYS_PER_MONTH = 365.25 / 12


def default_calibration_end(start: pd.Timestamp, observation_end: pd.Timestamp) -> pd.Timestamp:
    """The middle of the window from ``start`` (the first purchase), as in the paper's 39 + 39 weeks.

    The one default of ``calibration_end``: the CLV report's calibration period and the retention report's
    churn cutoff both end here (the day itself belongs to the history).

    Examples
    --------
    >>> default_calibration_end(pd.Timestamp("2017-01-01"), pd.Timestamp("2018-01-01"))
    Timestamp('2017-07-02 00:00:00')
    """
    start = pd.Timestamp(start).floor("D")
    return (start + (pd.Timestamp(observation_end) - start) / 2).floor("D")


def resolve_calibration_end(calibration_end: Any, start: pd.Timestamp, observation_end: pd.Timestamp) -> pd.Timestamp:
    """The ``calibration_end`` a report was given, else :func:`default_calibration_end`; always a whole day.

    The one place the parameter meets its default, for the CLV report's
    calibration period, the retention report's churn cutoff and the baskets
    report's offers' check alike.

    Examples
    --------
    >>> resolve_calibration_end(None, pd.Timestamp("2017-01-01"), pd.Timestamp("2018-01-01"))
    Timestamp('2017-07-02 00:00:00')
    >>> resolve_calibration_end("2017-03-31 18:00", pd.Timestamp("2017-01-01"), pd.Timestamp("2018-01-01"))
    Timestamp('2017-03-31 00:00:00')
    """
    given = pd.Timestamp(calibration_end) if calibration_end is not None else None
    return (given if given is not None else default_calibration_end(start, observation_end)).floor("D")


def _empty_summary() -> pd.DataFrame:
    return pd.DataFrame(columns=["frequency", "recency", "T", "monetary_value"], dtype=float,
                        index=pd.Index([], name="customer_id"))


def rfm_statistics(days: pd.DataFrame, end_day: int, time_unit: str = "weeks") -> pd.DataFrame:
    """``frequency``, ``recency``, ``T`` and ``monetary_value`` from per-customer purchase days.

    ``days`` is :func:`crmlab.engine.customer_tables.purchase_days`: first and last
    purchase day, distinct purchase days, revenue and revenue of the first day.
    """
    if days.empty:
        return _empty_summary()
    unit = unit_days(time_unit)
    count = days["days"].to_numpy()
    first, last = days["first_day"].to_numpy(), days["last_day"].to_numpy()
    # Written straight into the frame's one block: a frame built from four columns copies them
    # into one (a tenth of a second at 1.6M customers, as long as the rest of this function).
    block = np.empty((4, len(days)))
    frequency, recency, age, monetary = block
    np.subtract(count, 1, out=frequency)
    np.divide(last - first, unit, out=recency)
    np.divide(end_day - first, unit, out=age)
    np.subtract(days["revenue"].to_numpy(), days["first_day_revenue"].to_numpy(), out=monetary)
    np.divide(monetary, np.maximum(frequency, 1.0), out=monetary)
    monetary[frequency == 0] = 0.0
    return pd.DataFrame(block.T, columns=["frequency", "recency", "T", "monetary_value"], index=days.index,
                        copy=False)


def rfm_summary(transactions, observation_end: Any = None, time_unit: str = "weeks") -> pd.DataFrame:
    """Per-customer ``frequency``, ``recency``, ``T`` and ``monetary_value``.

    The definitions of ``lifetimes.utils.summary_data_from_transaction_data``
    with daily periods: purchases on the same day count once (their revenue is
    summed); ``frequency`` is the number of purchase days after the first,
    ``recency`` the age at the last purchase day, ``T`` the age at the end of
    observation, ``monetary_value`` the mean revenue of the repeat purchase
    days (0 without repeats). Times are in ``time_unit`` (days, weeks = days/7,
    months). Lines after ``observation_end`` are ignored.

    ``transactions`` is anything :func:`crmlab.engine.lines` takes: a pandas
    table, an Ibis table or a prepared dataset folder. The grouping runs in
    the engine (``benchmarks/clv_speed.py`` compares it with lifetimes).

    Examples
    --------
    >>> lines = pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...                       "order_date": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-08", "2020-01-05"]),
    ...                       "revenue": [5.0, 5.0, 20.0, 7.0]})
    >>> rfm_summary(lines, "2020-01-15", "days")
                 frequency  recency     T  monetary_value
    customer_id
    1                  1.0      7.0  14.0            20.0
    2                  0.0      0.0  10.0             0.0
    """
    unit_days(time_unit)
    t = engine.lines(transactions)
    if observation_end is None:
        days = customer_tables.purchase_days(t)
        return rfm_statistics(days, int(days["last_day"].max()) if len(days) else 0, time_unit)
    end = customer_tables.day_of(observation_end)
    return rfm_statistics(customer_tables.purchase_days(t, through_day=end), end, time_unit)


def calibration_holdout_statistics(cal_days: pd.DataFrame, holdout_days: pd.DataFrame, calibration_end: int,
                                   observation_end: int, time_unit: str = "weeks") -> pd.DataFrame:
    """:func:`calibration_holdout_summary` from the purchase days of both periods (day numbers)."""
    if calibration_end >= observation_end:
        raise ValueError(f"calibration_end ({pd.Timestamp(calibration_end, unit='D').date()}) must be before the "
                         f"observation end ({pd.Timestamp(observation_end, unit='D').date()})")
    cal = rfm_statistics(cal_days, calibration_end, time_unit)
    cal.columns = [f"{c}_cal" for c in cal.columns]
    holdout = pd.DataFrame({
        "frequency_holdout": holdout_days["days"].astype(float),
        "monetary_value_holdout": holdout_days["revenue"] / holdout_days["days"],
    }, index=holdout_days.index)
    out = cal.join(holdout, how="left").fillna({"frequency_holdout": 0.0, "monetary_value_holdout": 0.0})
    out["duration_holdout"] = (observation_end - calibration_end) / unit_days(time_unit)
    return out


def calibration_holdout_summary(transactions, calibration_end: Any, observation_end: Any = None,
                                time_unit: str = "weeks") -> pd.DataFrame:
    """RFM statistics in the calibration period and purchases in the holdout.

    Both ends are whole days and inclusive: the calibration period runs to
    the end of ``calibration_end``, the holdout from the next day to the end
    of ``observation_end``. Customers are those seen in the calibration
    period. Columns: ``frequency_cal``, ``recency_cal``, ``T_cal``,
    ``monetary_value_cal``, ``frequency_holdout`` (purchase days in the
    holdout), ``monetary_value_holdout`` (mean revenue per holdout purchase
    day) and ``duration_holdout``.

    lifetimes' ``calibration_and_holdout_data`` computes the same columns
    (its holdout monetary value averages lines, not days) but raises under
    pandas 3 on some inputs, so the kit does not use it.
    """
    unit_days(time_unit)
    t = engine.lines(transactions)
    cal_end = customer_tables.day_of(calibration_end)
    end = (customer_tables.day_of(observation_end) if observation_end is not None
           else customer_tables.extent(t)["last_day"])
    return calibration_holdout_statistics(customer_tables.purchase_days(t, through_day=cal_end),
                                          customer_tables.purchase_days(t, after_day=cal_end, through_day=end),
                                          cal_end, end, time_unit)


def unit_days(time_unit: str) -> float:
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {', '.join(TIME_UNITS)}, got {time_unit!r}")
    return TIME_UNITS[time_unit]


def compress(summary: pd.DataFrame, columns: tuple[str, ...] = ("frequency", "recency", "T")) -> pd.DataFrame:
    """Collapse customers with identical statistics into one row with a ``weight``.

    The likelihood of the purchase models depends on a customer only through
    these statistics, so a weighted fit on the compressed rows has exactly the
    same optimum as a fit on every customer.

    Examples
    --------
    >>> summary = pd.DataFrame({"frequency": [0, 0, 2], "recency": [0, 0, 5], "T": [9, 9, 9]})
    >>> compress(summary)
       frequency  recency  T  weight
    0          0        0  9       2
    1          2        5  9       1
    """
    grouped = summary.groupby(list(columns), sort=True).size()
    return grouped.rename("weight").reset_index()


def calibration_statistics(cal: pd.DataFrame) -> pd.DataFrame:
    """The calibration columns of :func:`calibration_holdout_summary` under the models' names."""
    return cal[["frequency_cal", "recency_cal", "T_cal"]].rename(
        columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"})
