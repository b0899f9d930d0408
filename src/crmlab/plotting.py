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


def _percent_axis(axis) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:.0f}%"))


def decile_revenue_chart(table: pd.DataFrame) -> plt.Axes:
    """Revenue share per customer decile (bars) and cumulative share (line)."""
    fig, ax = plt.subplots(figsize=(10, 4))
    labels = table.index.astype(str)
    sns.barplot(x=labels, y=table["revenue_share"].to_numpy(), color=sns.color_palette()[0], ax=ax,
                label="share of revenue")
    ax.plot(range(len(labels)), table["cumulative_revenue_share"].to_numpy(), marker="o",
            color=sns.color_palette()[3], label="cumulative share")
    ax.set_title("Share of revenue by customer decile (1 = top 10% of customers)")
    ax.set_xlabel("Customer decile, ranked by revenue")
    ax.set_ylabel("Share of revenue (%)")
    _percent_axis(ax.yaxis)
    ax.legend(loc="center right")
    fig.tight_layout()
    return ax


def purchase_decile_chart(table: pd.DataFrame) -> plt.Axes:
    """Share of customers it takes to make each tenth of revenue."""
    fig, ax = plt.subplots(figsize=(10, 4))
    sns.barplot(x=table["revenue_band"].to_numpy(), y=table["customer_share"].to_numpy(),
                color=sns.color_palette()[0], ax=ax)
    ax.set_title("Customers needed for each tenth of revenue, largest customers first")
    ax.set_xlabel("Tenth of total revenue")
    ax.set_ylabel("Share of customers (%)")
    _percent_axis(ax.yaxis)
    fig.tight_layout()
    return ax


def lorenz_chart(curve: pd.DataFrame, gini: float, pareto: float) -> plt.Axes:
    """Lorenz curve against the line of equality, with the Gini and Pareto figures written on it."""
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot(curve["customer_share"], curve["value_share"], color=sns.color_palette()[0],
            label="customers, smallest first")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="every customer equal")
    ax.fill_between(curve["customer_share"], curve["value_share"], curve["customer_share"], alpha=0.15)
    ax.text(0.05, 0.85, f"Gini {gini:.2f}\n{pareto * 100:.0f}% of customers make 80% of revenue",
            transform=ax.transAxes, fontsize=11, va="top")
    ax.set_title("How concentrated revenue is (Lorenz curve)")
    ax.set_xlabel("Cumulative share of customers (%)")
    ax.set_ylabel("Cumulative share of revenue (%)")
    _percent_axis(ax.xaxis)
    _percent_axis(ax.yaxis)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return ax


def migration_heatmap(matrix: pd.DataFrame, title: str) -> plt.Axes:
    """Customers moving between groups from period 1 (rows) to period 2 (columns)."""
    fig, ax = plt.subplots(figsize=(9, 7))
    sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", cbar_kws={"label": "Customers (count)"}, ax=ax)
    ax.set_title(title)
    ax.set_xlabel(f"{matrix.columns.name.capitalize()} group")
    ax.set_ylabel(f"{matrix.index.name.capitalize()} group")
    fig.tight_layout()
    return ax
