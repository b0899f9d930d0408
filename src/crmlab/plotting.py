"""Charts for the reports: seaborn on matplotlib, each with a title and labelled axes with units."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter

from .report import money

sns.set_theme(style="whitegrid", context="notebook")


def orders_per_customer_chart(orders: pd.Series, cap: int = 30) -> plt.Axes:
    """Bar chart of customers by number of orders; counts above ``cap`` share one bar."""
    capped = orders.clip(upper=cap)
    counts = capped.value_counts().sort_index()
    labels = [f"{cap}+" if k == cap and (orders > cap).any() else str(k) for k in counts.index]
    fig, ax = plt.subplots(figsize=(10, 4))
    sns.barplot(x=labels, y=counts.to_numpy(), color=sns.color_palette()[0], ax=ax)
    ax.set_title("Orders per customer")
    ax.set_xlabel("Orders placed in the data (count)")
    ax.set_ylabel("Customers (count)")
    step = max(1, len(labels) // 15)
    for i, tick in enumerate(ax.get_xticklabels()):
        tick.set_visible(i % step == 0 or i == len(labels) - 1)
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
