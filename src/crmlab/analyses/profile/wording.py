"""The profile report's sentences."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmlab.core.ranking import top_share
from crmlab.core.words import money, number, pct


def headline(summary: dict[str, Any], orders: pd.Series, currency: str = "$") -> str:
    """One sentence with the profile's key figures, for the top of the report."""
    dropped = sum(summary["dropped_lines"].values())
    return (
        f"**{number(summary['customers'])} customers placed {number(summary['orders'])} orders "
        f"worth {money(summary['revenue'], currency)} between {summary['first_date']} and "
        f"{summary['last_date']}; the busiest 20% of customers placed "
        f"{pct(top_share(orders, 0.2))} of the orders.** "
        f"{number(dropped)} input lines were set aside as unusable or as returns."
    )


def orders_caption(orders: pd.Series) -> str:
    one = float((orders == 1).mean())
    return (f"How many orders each customer placed: the median customer placed "
            f"{number(orders.median())} orders, and {pct(one)} bought only once.")


def new_customers_caption(monthly: pd.DataFrame) -> str:
    first = monthly.iloc[0]
    later = monthly["new_customers"].iloc[1:]
    tail = (f"; after that, {number(later.mean())} new customers a month on average"
            if len(later) else "")
    return (f"Customers by month of their first purchase in the data: {number(first['new_customers'])} "
            f"first appear in {first['month']}, the start of the data{tail}.")


def revenue_caption(monthly: pd.DataFrame, currency: str = "$") -> str:
    best = monthly.loc[monthly["revenue"].idxmax()]
    worst = monthly.loc[monthly["revenue"].idxmin()]
    return (f"Revenue per calendar month: highest in {best['month']} "
            f"({money(best['revenue'], currency)}), lowest in {worst['month']} "
            f"({money(worst['revenue'], currency)}); a partial first or last month shows as a dip.")


def master_caption(customers: pd.DataFrame) -> str:
    extra = [c for c in customers.columns if c not in (
        "customer_id", "first_purchase", "last_purchase", "orders", "lines", "revenue", "discount",
        "tenure_days", "days_since_last_purchase")]
    coverage = ""
    if extra:
        covered = customers[extra].notna().any(axis=1).mean()
        coverage = f" Demographics ({', '.join(extra)}) are known for {pct(covered)} of them."
    return f"{number(len(customers))} customers written to `customers.parquet` in the run's exports.{coverage}"


def quality_notes(manifest: dict[str, Any]) -> str:
    """The preparation's notes as a Markdown list (empty when there are none)."""
    return "\n".join(f"- {note}" for note in manifest.get("quality", {}).get("notes", []))
