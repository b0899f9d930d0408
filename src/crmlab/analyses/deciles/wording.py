"""The deciles report's sentences."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmlab.analyses.deciles.tables import N_DECILES
from crmlab.core.words import money, number, pct


def headline(metrics: dict[str, Any]) -> str:
    return (f"**The top 10% of customers bring {pct(metrics['top10_revenue_share'])} of revenue and the top 20% "
            f"bring {pct(metrics['top20_revenue_share'])}; the first 10% of revenue comes from "
            f"{pct(metrics['customers_for_first_10pct_revenue'], 1)} of customers.** "
            f"{number(metrics['declining_customers'])} customers who still buy fell two or more deciles "
            f"between the two halves of the window.")


def decile_caption(table: pd.DataFrame) -> str:
    return (f"Each bar is one tenth of the customers, ranked by revenue: the top tenth brings "
            f"{pct(table['revenue_share'].iloc[0])} of revenue, the bottom tenth "
            f"{pct(table['revenue_share'].iloc[-1], 1)}; the line adds them up.")


def purchase_caption(table: pd.DataFrame) -> str:
    return (f"The first tenth of revenue comes from {number(table['customers'].iloc[0])} customers "
            f"({pct(table['customer_share'].iloc[0], 1)}); the last tenth takes "
            f"{number(table['customers'].iloc[-1])} ({pct(table['customer_share'].iloc[-1])}).")


def lorenz_caption(gini_value: float, pareto: float) -> str:
    return (f"The further the curve sags below the diagonal, the more revenue depends on few customers: "
            f"Gini {gini_value:.2f}, and {pct(pareto)} of customers make 80% of revenue.")


def migration_caption(migration: pd.DataFrame, at: pd.Timestamp, currency: str = "$") -> str:
    declining = migration["declining"]
    stayed = (migration["period1_decile"] == migration["period2_decile"]) & (migration["period1_decile"] <= N_DECILES)
    return (f"Customers by revenue decile before and from {at.date()} (\"none\": no purchase in that half): "
            f"{pct(stayed.mean())} stayed in the same decile; {number(declining.sum())} still buying fell two "
            f"or more deciles, customers who brought {money(migration.loc[declining, 'period1_revenue'].sum(), currency)} "
            f"in the first half.")


def margin_ranking_note(has_margin: bool) -> str:
    """What the margin table below shows, or why there is none."""
    if has_margin:
        return "Ranked by gross margin instead of revenue:"
    return ("No margin rate or cost column is configured, so customers are ranked by revenue only; set `margin_rate` "
            "(or map a cost column) to rank them by margin too.")


def abc_migration_caption() -> str:
    return "Customers by ABC class before and from the split date; the diagonal holds those who kept their class."
