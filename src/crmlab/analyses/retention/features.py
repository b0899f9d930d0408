"""The churn model's customers, features and label at a cutoff, defined exactly.

- **Customers:** those with a purchase on or before the cutoff.
- **Label:** ``churned`` when the customer buys on no day in
  ``(cutoff, cutoff + horizon_days]``: the cutoff day is history, the day after
  it the first day of the label window, its last day the last.
- **Features**, from lines on or before the cutoff only
  (:func:`crmlab.engine.customer_tables.history_at`, per customer in the engine):
  recency, frequency (purchase days), monetary (revenue per purchase day),
  tenure (days, all at the cutoff); the mean and spread of the days between
  purchases, and the days since the last purchase over the customer's own mean
  gap; purchase days and revenue in the last ``window_days`` against the
  ``window_days`` before; category breadth and discount share where the data
  has them. A one-time buyer's mean gap is their tenure (the wait so far, a
  lower bound) and their spread 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmlab.engine import customer_tables


def churn_features(history: pd.DataFrame, cutoff_day: int) -> pd.DataFrame:
    """The features of each customer in ``history`` (:func:`~crmlab.engine.customer_tables.history_at`)."""
    days = history["days"].astype(float)
    gaps = days - 1
    tenure = (cutoff_day - history["first_day"]).astype(float)
    recency = (cutoff_day - history["last_day"]).astype(float)
    mean_gap = ((history["last_day"] - history["first_day"]) / gaps.where(gaps > 0)).fillna(tenure)
    # Population spread of the gaps: sqrt(mean of squares - square of the mean), 0 with fewer than two gaps.
    spread = np.sqrt(np.clip(history["gap_squares"] / gaps.where(gaps > 0) - mean_gap ** 2, 0, None))
    out = pd.DataFrame({
        "recency_days": recency,
        "frequency": days,
        "monetary": history["revenue"] / days,
        "tenure_days": tenure,
        "mean_gap_days": mean_gap,
        "gap_spread_days": spread.where(gaps > 1, 0.0),
        "recency_over_mean_gap": recency / mean_gap.where(mean_gap > 0, 1.0),
        "recent_days_change": (history["recent_days"] - history["prior_days"]).astype(float),
        "recent_revenue_change": history["recent_revenue"] - history["prior_revenue"],
    }, index=history.index)
    if "categories" in history.columns:
        out["category_breadth"] = history["categories"].astype(float)
    if "discount" in history.columns:
        total = history["revenue"] + history["discount"]
        out["discount_share"] = (history["discount"] / total.where(total > 0)).fillna(0.0)
    return out


def churn_labels(t, customers: pd.Index, cutoff_day: int, horizon_days: int) -> pd.Series:
    """``True`` for each of ``customers`` who buys on no day in ``(cutoff_day, cutoff_day + horizon_days]``."""
    came_back = customer_tables.purchase_days(t, after_day=cutoff_day, through_day=cutoff_day + horizon_days).index
    return pd.Series(~customers.isin(came_back), index=customers, name="churned")
