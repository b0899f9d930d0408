"""When customers stop: how long they usually wait between purchases, and after which purchase they leave.

- **Gaps:** the days between a customer's consecutive purchase days, over
  all customers. Quantiles are exact ("inverted CDF": the smallest gap length
  that at least that share of gaps do not exceed), computed from the
  engine's histogram (:func:`crmlab.engine.customer_tables.gap_histogram`).
- **Past their own usual gap:** among customers with two or more purchase
  days, those whose days since the last purchase (at the observation end)
  exceed their own mean gap, (last - first purchase day) / (purchase days - 1).
- **Churn by purchase number:** of the customers whose n-th purchase day lies
  at least ``horizon_days`` before the observation end (so that a next purchase
  had that long to happen), the share for whom it was the last.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def gap_quantile(histogram: pd.Series, share: float) -> int | None:
    """The smallest gap (days) that at least ``share`` of all gaps do not exceed; None without gaps.

    Examples
    --------
    >>> histogram = pd.Series([5, 3, 2], index=[1, 7, 30])  # ten gaps: five of 1 day, three of 7, two of 30
    >>> gap_quantile(histogram, 0.5), gap_quantile(histogram, 0.9)
    (1, 30)
    """
    total = int(histogram.sum())
    if total == 0:
        return None
    cumulative = np.cumsum(histogram.to_numpy())
    return int(histogram.index[np.searchsorted(cumulative, share * total - 1e-9 * total)])


def past_usual_gap(days: pd.DataFrame, end_day: int) -> tuple[float | None, int]:
    """Share of repeat customers whose time since the last purchase exceeds their own mean gap, and how many.

    ``days`` is :func:`crmlab.engine.customer_tables.purchase_days` (``first_day``, ``last_day``, ``days``).
    """
    repeat = days[days["days"] >= 2]
    if repeat.empty:
        return None, 0
    usual = (repeat["last_day"] - repeat["first_day"]) / (repeat["days"] - 1)
    waiting = end_day - repeat["last_day"]
    return float((waiting > usual).mean()), int(len(repeat))


def churn_by_purchase_number(table: pd.DataFrame, *, max_number: int = 10) -> pd.DataFrame:
    """Per purchase number 1..``max_number`` (the last row: that many or more): customers and the share who left.

    ``table`` is :func:`crmlab.engine.customer_tables.last_purchase_by_number`.
    """
    if table.empty:
        return pd.DataFrame(columns=["customers", "left", "share_left"], index=pd.Index([], name="purchase"))
    capped = table.groupby(np.minimum(table.index.to_numpy(), max_number)).sum()
    out = pd.DataFrame({"customers": capped["customers"], "left": capped["last"]})
    out["share_left"] = out["left"] / out["customers"]
    out.index = pd.Index([f"{n}+" if n == max_number else str(n) for n in out.index], name="purchase")
    return out
