"""The profile report's charts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter

from crmlab.core.charting import new_axes, says_when_empty
from crmlab.core.words import money


@says_when_empty("Orders per customer",
                 "No customer in the data, so no orders per customer to count.")
def orders_per_customer_chart(bands: pd.Series, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Bar chart of customers per band of order counts (from :func:`crmlab.analyses.profile.tables.order_bands`)."""
    ax = new_axes(ax, (10, 4))
    sns.barplot(x=bands.index.astype(str), y=bands.to_numpy(), color=sns.color_palette()[0], ax=ax)
    ax.set_title("Orders per customer")
    ax.set_xlabel("Orders placed in the data (count)")
    ax.set_ylabel("Customers (count)")
    ax.figure.tight_layout()
    return ax


@says_when_empty("Per month",
                 "No month with a purchase in the data.")
def monthly_chart(monthly: pd.DataFrame, column: str, title: str, ylabel: str,
                  currency: str | None = None, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Bars of one monthly figure (from :func:`crmlab.analyses.profile.tables.monthly_activity`)."""
    ax = new_axes(ax, (10, 4))
    sns.barplot(x=monthly["month"].astype(str), y=monthly[column].to_numpy(),
                color=sns.color_palette()[0], ax=ax)
    ax.set_title(title)
    ax.set_xlabel("Calendar month")
    ax.set_ylabel(ylabel)
    if currency is not None:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v, currency)))
    ax.tick_params(axis="x", rotation=45)
    ax.figure.tight_layout()
    return ax


@says_when_empty("New customers per month",
                 "No month with a purchase in the data.")
def new_customers_chart(monthly: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Customers with their first purchase, month by month."""
    return monthly_chart(monthly, "new_customers", "New customers per month",
                         "Customers with their first purchase (count)", ax=ax)


@says_when_empty("Revenue per month",
                 "No month with a purchase in the data.")
def revenue_chart(monthly: pd.DataFrame, currency: str = "$", *, ax: plt.Axes | None = None) -> plt.Axes:
    """Revenue month by month, in the data's currency."""
    return monthly_chart(monthly, "revenue", "Revenue per month", f"Revenue ({currency})", currency=currency, ax=ax)
