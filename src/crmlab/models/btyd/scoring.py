"""From a fitted purchase model to value: discounted CLV, P(alive) and expected purchases per customer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmlab.models.btyd.fitting import FitResult, expected_purchases_and_p_alive, history_patterns
from crmlab.models.btyd.summaries import DAYS_PER_MONTH, unit_days


def lifetime_value(fit: FitResult, summary: pd.DataFrame, spend: np.ndarray, *, time_unit: str,
                   horizon_months: int = 12, monthly_discount_rate: float = 0.01, gross_margin: float = 0.3,
                   cost_to_serve: float = 0.0) -> pd.Series:
    """Discounted gross margin expected over the next ``horizon_months``.

    Month ``m`` contributes (expected purchases in month m) × expected spend ×
    gross margin / (1 + rate)^m. The cost to serve (per customer and month) is
    charged in proportion to today's P(alive), an upper bound on the chance of
    being alive later, so the cost is not understated.
    """
    value, _, _ = lifetime_value_details(fit, summary, spend, time_unit=time_unit, horizon_months=horizon_months,
                                         monthly_discount_rate=monthly_discount_rate, gross_margin=gross_margin,
                                         cost_to_serve=cost_to_serve)
    return pd.Series(value, index=summary.index, name="clv")


def lifetime_value_details(fit: FitResult, summary: pd.DataFrame, spend: np.ndarray, *, time_unit: str,
                           horizon_months: int, monthly_discount_rate: float, gross_margin: float,
                           cost_to_serve: float, patterns=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`lifetime_value`, P(alive) and expected purchases over the horizon per customer, as arrays.

    Computed once per distinct history and mapped back to customers.
    ``patterns`` is :func:`history_patterns` of ``summary`` when the caller
    has it already (the bootstrap rescores the same customers a hundred times).
    """
    f, r, t, pattern = patterns if patterns is not None else history_patterns(summary)
    month = DAYS_PER_MONTH / unit_days(time_unit)
    by_month = [expected_purchases_and_p_alive(fit, m * month, f, r, t) for m in range(1, horizon_months + 1)]
    alive = by_month[0][1]  # P(alive) depends on the history only
    discount = (1 + monthly_discount_rate) ** -np.arange(1, horizon_months + 1)
    cumulative = np.vstack([np.zeros(len(f))] + [expected for expected, _ in by_month])
    monthly = np.diff(cumulative, axis=0)  # months × patterns
    discounted_purchases = (discount @ monthly)[pattern]
    discounted_alive_months = (alive * discount.sum())[pattern]
    value = (discounted_purchases * np.asarray(spend) * gross_margin - cost_to_serve * discounted_alive_months)
    return value, alive[pattern], cumulative[-1][pattern]
