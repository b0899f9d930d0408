"""The segments report's sentences."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmlab.core.words import number, pct


def headline(metrics: dict[str, Any], table: pd.DataFrame) -> str:
    top = table.sort_values("revenue_share", ascending=False).iloc[0]
    risk = table.loc[[s for s in ("At Risk", "Can't Lose Them") if s in table.index]]
    return (f"**{number(metrics['customers'])} customers fall into {int((table['customers'] > 0).sum())} RFM segments "
            f"and {metrics['k']} behaviour clusters.** {top.name} ({pct(top['customer_share'])} of customers) bring "
            f"{pct(top['revenue_share'])} of revenue; {number(risk['customers'].sum())} customers are At Risk or "
            f"Can't Lose Them, holding {pct(risk['revenue_share'].sum())} of revenue.")


def segments_caption(table: pd.DataFrame) -> str:
    largest = table["customers"].idxmax()
    return (f"Bars show each segment's share of customers and of revenue; the largest segment is {largest} "
            f"({pct(table.loc[largest, 'customer_share'])} of customers).")


def demographics_caption(summary: pd.DataFrame) -> str:
    """Caption for the chart of the attribute that differs most between clusters (first row of the summary)."""
    strongest = summary.index[0]
    return (f"{strongest.replace('_', ' ').capitalize()} differs most between clusters (Cramér's V "
            f"{summary.iloc[0]['cramers_v']:.2f}); each column shows how the cluster's covered customers split.")


def demographics_note(attributes: pd.DataFrame | None, customers: int) -> str:
    if attributes is None:
        return "This dataset has no customer attributes, so clusters cannot be compared on demographics."
    covered = attributes["customer_id"].nunique()
    return (f"Demographics cover {number(covered)} of {number(customers)} customers ({pct(covered / customers)}); "
            "the shares below are among covered customers only, so read them as indicative.")


def k_selection_caption() -> str:
    return ("Six views of each candidate k; the dashed line marks the chosen k, which must be stable and "
            "leave no tiny cluster.")


def centres_note(currency: str = "$") -> str:
    return ("Cluster centres in original units: recency and tenure in days, frequency in orders, money in "
            f"{currency}, discount rate as a share of the undiscounted price.")


def snake_plot_caption() -> str:
    return ("Each line is a cluster; points above zero are above the average customer on that feature "
            "(recency above zero means longer since the last purchase).")


def crosstab_caption() -> str:
    return "Each cell counts the customers in one RFM segment and one cluster; most segments sit mainly in one cluster."


def no_clv() -> str:
    return ("No CLV figures in this run (the `clv` report did not run, or the data could not support it), so no "
            "CLV per segment.")
