"""From value to action: CLV tiers, relationship levels and the at-risk flag."""

from __future__ import annotations

import pandas as pd

from crmlab.core.ranking import cut_by_share, in_top_share

RELATIONSHIP_LEVELS = ("basic", "reactive", "accountable", "proactive", "partnership")
# Yearly contact cost per customer at each level, in the data's currency.
DEFAULT_CONTACT_COSTS = {"basic": 0.0, "reactive": 5.0, "accountable": 25.0, "proactive": 75.0,
                         "partnership": 250.0}


def value_tiers(clv: pd.Series, cuts: tuple[float, ...] = (0.05, 0.2)) -> pd.Series:
    """Tier by CLV rank: with cuts (0.05, 0.2), 'top 5%', 'next 15%', 'rest'.

    Ranking, ties and cuts follow :mod:`crmlab.core.ranking`, so the 'top 5%' tier
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
