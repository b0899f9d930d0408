"""The deciles report's charts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from crmlab.core.charting import matrix_heatmap, new_axes, percent_axis, says_when_empty


@says_when_empty("Share of revenue by customer decile",
                 "No customer with revenue to rank into deciles.")
def decile_revenue_chart(table: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Revenue share per customer decile (bars) and cumulative share (line)."""
    ax = new_axes(ax, (10, 4))
    labels = table.index.astype(str)
    sns.barplot(x=labels, y=table["revenue_share"].to_numpy(), color=sns.color_palette()[0], ax=ax,
                label="share of revenue")
    ax.plot(range(len(labels)), table["cumulative_revenue_share"].to_numpy(), marker="o",
            color=sns.color_palette()[3], label="cumulative share")
    ax.set_title("Share of revenue by customer decile (1 = top 10% of customers)")
    ax.set_xlabel("Customer decile, ranked by revenue")
    ax.set_ylabel("Share of revenue (%)")
    percent_axis(ax.yaxis)
    ax.legend(loc="center right")
    ax.figure.tight_layout()
    return ax


@says_when_empty("Customers needed for each tenth of revenue",
                 "No customer with revenue to rank.")
def purchase_decile_chart(table: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Share of customers it takes to make each tenth of revenue."""
    ax = new_axes(ax, (10, 4))
    sns.barplot(x=table["revenue_band"].to_numpy(), y=table["customer_share"].to_numpy(),
                color=sns.color_palette()[0], ax=ax)
    ax.set_title("Customers needed for each tenth of revenue, largest customers first")
    ax.set_xlabel("Tenth of total revenue")
    ax.set_ylabel("Share of customers (%)")
    percent_axis(ax.yaxis)
    ax.figure.tight_layout()
    return ax


@says_when_empty("How concentrated revenue is (Lorenz curve)",
                 "No customer revenue to draw a Lorenz curve from.")
def lorenz_chart(curve: pd.DataFrame, gini: float, pareto: float, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Lorenz curve against the line of equality, with the Gini and Pareto figures written on it."""
    ax = new_axes(ax, (6, 6))
    ax.plot(curve["customer_share"], curve["value_share"], color=sns.color_palette()[0],
            label="customers, smallest first")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="every customer equal")
    ax.fill_between(curve["customer_share"], curve["value_share"], curve["customer_share"], alpha=0.15)
    ax.text(0.05, 0.85, f"Gini {gini:.2f}\n{pareto * 100:.0f}% of customers make 80% of revenue",
            transform=ax.transAxes, fontsize=11, va="top")
    ax.set_title("How concentrated revenue is (Lorenz curve)")
    ax.set_xlabel("Cumulative share of customers (%)")
    ax.set_ylabel("Cumulative share of revenue (%)")
    percent_axis(ax.xaxis)
    percent_axis(ax.yaxis)
    ax.legend(loc="lower right")
    ax.figure.tight_layout()
    return ax


@says_when_empty("Value migration",
                 "No customer bought in both periods; set `split_at` to move the split date.")
def migration_heatmap(matrix: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Customers moving between groups from period 1 (rows) to period 2 (columns): deciles or ABC classes."""
    groups = "ABC classes" if "abc" in str(matrix.index.name).lower() else "deciles"
    return matrix_heatmap(matrix, f"Value migration between {groups}", f"{matrix.columns.name.capitalize()} group",
                          f"{matrix.index.name.capitalize()} group", "Customers (count)", "d", "Blues",
                          size=(9, 7), ax=ax)
