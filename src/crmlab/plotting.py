"""Charts for the reports: seaborn on matplotlib, each with a title and labelled axes with units."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter

from .report import money

sns.set_theme(style="whitegrid", context="notebook")


def orders_per_customer_chart(bands: pd.Series) -> plt.Axes:
    """Bar chart of customers per band of order counts (from :func:`crmlab.profile.order_bands`)."""
    fig, ax = plt.subplots(figsize=(10, 4))
    sns.barplot(x=bands.index.astype(str), y=bands.to_numpy(), color=sns.color_palette()[0], ax=ax)
    ax.set_title("Orders per customer")
    ax.set_xlabel("Orders placed in the data (count)")
    ax.set_ylabel("Customers (count)")
    fig.tight_layout()
    return ax


def monthly_chart(monthly: pd.DataFrame, column: str, title: str, ylabel: str,
                  currency: str | None = None) -> plt.Axes:
    """Bars of one monthly figure (from :func:`crmlab.profile.monthly_activity`)."""
    fig, ax = plt.subplots(figsize=(10, 4))
    sns.barplot(x=monthly["month"].astype(str), y=monthly[column].to_numpy(),
                color=sns.color_palette()[0], ax=ax)
    ax.set_title(title)
    ax.set_xlabel("Calendar month")
    ax.set_ylabel(ylabel)
    if currency is not None:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v, currency)))
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return ax
