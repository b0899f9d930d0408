"""Cohort tables that are honest about what has not happened yet.

Rows are acquisition periods (the period of a customer's first purchase),
columns the periods since acquisition (0 is the acquisition period itself).
**Customer retention** is the share of a cohort buying in a period; **revenue
retention** is a period's revenue as a share of the cohort's revenue in period
0. A cell whose period starts after the observation end cannot be observed
yet: it is blank (NaN), never 0, which would read as "nobody came back". The
period holding the observation end is partial when the data stops before its
last day, and is marked so (``partial``); the average curve leaves partial
cells out, since they understate what the whole period will show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PERIODS = ("month", "quarter", "week")
_FREQUENCY = {"month": "M", "quarter": "Q", "week": "W-SUN"}  # pandas periods; weeks run Monday to Sunday


@dataclass(frozen=True)
class CohortTable:
    """A cohort table: each frame is indexed by cohort (its first day) with columns 0, 1, 2, ... (periods since).

    ``customer_retention`` and ``revenue_retention`` are blank where
    ``observable`` is False; ``partial`` marks the cells of the period holding
    the observation end when that period is not over.
    """

    period: str
    sizes: pd.Series
    customers: pd.DataFrame
    revenue: pd.DataFrame
    customer_retention: pd.DataFrame
    revenue_retention: pd.DataFrame
    observable: pd.DataFrame
    partial: pd.DataFrame


def _index(stamps, period: str) -> np.ndarray:
    """Each period start as a running period number, so that differences count periods."""
    return pd.PeriodIndex(pd.DatetimeIndex(stamps), freq=_FREQUENCY[period]).asi8


def cohort_table(activity: pd.DataFrame, observation_end, period: str = "month") -> CohortTable:
    """The cohort table from :func:`crmlab.engine.customer_tables.cohort_activity`.

    Examples
    --------
    >>> activity = pd.DataFrame({"cohort": pd.to_datetime(["2017-01-01"] * 2 + ["2017-02-01"]),
    ...                          "period": pd.to_datetime(["2017-01-01", "2017-02-01", "2017-02-01"]),
    ...                          "customers": [10, 4, 5], "revenue": [100.0, 30.0, 50.0]})
    >>> table = cohort_table(activity, "2017-02-14")
    >>> table.customer_retention.round(2).values.tolist()
    [[1.0, 0.4], [1.0, nan]]
    >>> table.partial.values.tolist()
    [[False, True], [True, False]]
    """
    if period not in PERIODS:
        raise ValueError(f"cohort_period must be one of {', '.join(PERIODS)}, got {period!r}")
    end = pd.Timestamp(observation_end).floor("D")
    frequency = _FREQUENCY[period]
    last = pd.Period(end, freq=frequency)
    cohorts = pd.DatetimeIndex(sorted(activity["cohort"].unique()), name="cohort")
    ages = _index(activity["period"], period) - _index(activity["cohort"], period)
    width = int(last.ordinal - _index(cohorts, period).min()) + 1 if len(cohorts) else 0
    columns = pd.RangeIndex(width, name="periods_since_acquisition")

    rows = cohorts.get_indexer(pd.DatetimeIndex(activity["cohort"]))

    def grid(values):
        cells = np.zeros((len(cohorts), width))
        cells[rows, ages] = values
        return pd.DataFrame(cells, index=cohorts, columns=columns)

    customers, revenue = grid(activity["customers"].to_numpy(float)), grid(activity["revenue"].to_numpy(float))
    # A cell is observable when its period starts on or before the observation end.
    offset = last.ordinal - _index(cohorts, period)
    observable = pd.DataFrame(np.arange(width)[None, :] <= offset[:, None], index=cohorts, columns=columns)
    over = end == last.end_time.floor("D")
    partial = pd.DataFrame((np.arange(width)[None, :] == offset[:, None]) & (not over), index=cohorts,
                           columns=columns)
    sizes = customers[0].astype("int64").rename("customers")
    with np.errstate(divide="ignore", invalid="ignore"):
        customer_retention = customers.div(sizes, axis=0).where(observable)
        revenue_retention = revenue.div(revenue[0].where(revenue[0] > 0), axis=0).where(observable)
    return CohortTable(period, sizes, customers.where(observable), revenue.where(observable), customer_retention,
                       revenue_retention, observable, partial)


def average_retention(table: CohortTable) -> pd.DataFrame:
    """Customer retention per period since acquisition, averaged over cohorts weighted by their size.

    Only cohorts that have lived through the whole period count in it
    (observable and not partial); ``cohorts`` and ``customers`` say how many.
    """
    whole = table.observable & ~table.partial
    weights = whole.mul(table.sizes, axis=0)
    customers = weights.sum()
    rate = (table.customer_retention.fillna(0) * weights).sum() / customers.where(customers > 0)
    out = pd.DataFrame({"retention": rate, "cohorts": whole.sum().astype("int64"),
                        "customers": customers.astype("int64")})
    return out[out["cohorts"] > 0]
