"""From predictions to value: discounted CLV, tiers, relationship levels and the at-risk flag."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..ranking import cut_by_share, in_top_share
from .models import FitResult, _conditional, _patterns
from .summaries import DAYS_PER_MONTH, _unit_days

RELATIONSHIP_LEVELS = ("basic", "reactive", "accountable", "proactive", "partnership")
# Yearly contact cost per customer at each level, in the data's currency.
DEFAULT_CONTACT_COSTS = {"basic": 0.0, "reactive": 5.0, "accountable": 25.0, "proactive": 75.0,
                         "partnership": 250.0}


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
                           cost_to_serve: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`lifetime_value`, P(alive) and expected purchases over the horizon per customer, as arrays.

    Computed once per distinct history and mapped back to customers.
    """
    f, r, t, pattern = _patterns(summary)
    month = DAYS_PER_MONTH / _unit_days(time_unit)
    by_month = [_conditional(fit, m * month, f, r, t) for m in range(1, horizon_months + 1)]
    alive = by_month[0][1]  # P(alive) depends on the history only
    discount = (1 + monthly_discount_rate) ** -np.arange(1, horizon_months + 1)
    cumulative = np.vstack([np.zeros(len(f))] + [expected for expected, _ in by_month])
    monthly = np.diff(cumulative, axis=0)  # months × patterns
    discounted_purchases = (discount @ monthly)[pattern]
    discounted_alive_months = (alive * discount.sum())[pattern]
    value = (discounted_purchases * np.asarray(spend) * gross_margin - cost_to_serve * discounted_alive_months)
    return value, alive[pattern], cumulative[-1][pattern]


def value_tiers(clv: pd.Series, cuts: tuple[float, ...] = (0.05, 0.2)) -> pd.Series:
    """Tier by CLV rank: with cuts (0.05, 0.2), 'top 5%', 'next 15%', 'rest'.

    Ranking, ties and cuts follow :mod:`crmlab.ranking`, so the 'top 5%' tier
    is the same set of customers as ABC class A on the same values.

    Examples
    --------
    >>> value_tiers(pd.Series([1.0, 9.0, 5.0, 3.0]), (0.25, 0.5)).tolist()
    ['rest', 'top 25%', 'next 25%', 'rest']
    """
    cuts = tuple(sorted(cuts))
    labels, lower = [], 0.0
    for cut in cuts:
        labels.append(f"top {cut:.0%}" if lower == 0 else f"next {cut - lower:.0%}")
        lower = cut
    labels.append("rest")
    tier = cut_by_share(clv, cuts, labels)
    return pd.Series(pd.Categorical(tier, categories=labels, ordered=True), index=clv.index, name="tier")


def relationship_levels(tier_clv: pd.Series, contact_costs: dict[str, float], horizon_months: int,
                        budget_share: float = 0.2) -> pd.Series:
    """Kotler's relationship level per tier: the most intensive level the tier's CLV pays for.

    A level is affordable when its yearly contact cost over the horizon is at
    most ``budget_share`` of the tier's mean expected CLV.

    Examples
    --------
    >>> costs = {"basic": 0, "reactive": 5, "accountable": 25, "proactive": 75, "partnership": 250}
    >>> relationship_levels(pd.Series({"top 5%": 2000.0, "rest": 30.0}), costs, 12).to_dict()
    {'top 5%': 'partnership', 'rest': 'reactive'}
    """
    unknown = set(contact_costs) - set(RELATIONSHIP_LEVELS)
    if unknown:
        raise ValueError(f"contact_costs: unknown level(s) {sorted(unknown)}; levels are {RELATIONSHIP_LEVELS}")
    years = horizon_months / 12

    def level(value: float) -> str:
        chosen = RELATIONSHIP_LEVELS[0]
        for name in RELATIONSHIP_LEVELS:
            if name in contact_costs and contact_costs[name] * years <= budget_share * value:
                chosen = name
        return chosen

    return tier_clv.map(level).rename("relationship_level")


def at_risk(historical_value: pd.Series, p_alive: pd.Series, value_share: float = 0.2,
            p_alive_below: float = 0.5) -> pd.Series:
    """Valuable but at risk: in the top ``value_share`` by historical value and P(alive) below the cut."""
    return (in_top_share(historical_value, value_share) & (p_alive < p_alive_below)).rename("at_risk")
