"""The baskets report's charts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from crmlab.core.charting import matrix_heatmap, new_axes, percent_axis, says_when_empty


@says_when_empty("The most common items",
                 "No item is in enough baskets; lower `min_support`.")
def item_frequency_chart(itemsets: pd.DataFrame, top: int = 20, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Share of baskets holding each of the most common items."""
    singles = itemsets[itemsets["size"] == 1].nlargest(top, "count")
    ax = new_axes(ax, (10, 0.32 * len(singles) + 1.5))
    sns.barplot(x=singles["support"].to_numpy(), y=[str(i[0]) for i in singles["items"]],
                color=sns.color_palette()[0], orient="h", ax=ax)
    ax.set_title(f"The {len(singles)} most common items")
    ax.set_xlabel("Share of baskets holding the item (%)")
    ax.set_ylabel("Item")
    percent_axis(ax.xaxis)
    ax.figure.tight_layout()
    return ax


@says_when_empty("Every rule",
                 "No rule passes the thresholds; lower `min_confidence` or `min_support`.")
def rules_scatter(rules: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Support against confidence for every rule, coloured by lift."""
    ax = new_axes(ax, (10, 5))
    points = ax.scatter(rules["support"], rules["confidence"], c=rules["lift"], cmap="viridis", s=14, alpha=0.7)
    ax.figure.colorbar(points, ax=ax, label="Lift (ratio)")
    ax.set_title("Every rule: how common (support) against how reliable (confidence)")
    ax.set_xlabel("Support: share of baskets holding the whole rule (%)")
    ax.set_ylabel("Confidence (%)")
    percent_axis(ax.xaxis)
    percent_axis(ax.yaxis)
    ax.figure.tight_layout()
    return ax


@says_when_empty("The top rules by lift",
                 "No rule passes the thresholds; lower `min_confidence` or `min_support`.")
def rules_matrix(rules: pd.DataFrame, top: int = 20, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Lift of the top rules as a grid: antecedents (rows) against consequents (columns)."""
    head = rules.head(top)
    grid = pd.DataFrame({"if bought": [" + ".join(map(str, a)) for a in head["antecedent"]],
                         "then also": [" + ".join(map(str, c)) for c in head["consequent"]],
                         "lift": head["lift"].to_numpy()})
    matrix = grid.pivot_table(index="if bought", columns="then also", values="lift", aggfunc="max")
    ax = matrix_heatmap(matrix, f"The top {len(head)} rules by lift", "Then also bought", "If the basket holds",
                        "Lift (ratio)", ".1f", size=(11, 0.4 * len(matrix) + 3), ax=ax)
    ax.tick_params(axis="x", rotation=30)
    plt.setp(ax.get_xticklabels(), ha="right")
    ax.figure.tight_layout()
    return ax


@says_when_empty("What customers buy next",
                 "No sequence passes the thresholds; lower `min_sequence_customers` or widen `window_days`.")
def sequences_chart(sequences: pd.DataFrame, top: int = 12, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Share of X buyers who bought Y within the window, against the share of all customers who bought Y."""
    head = sequences.head(top)
    labels = [f"{x} → {y}" for x, y in zip(head["x"], head["y"])]
    long = pd.DataFrame({"pair": labels * 2,
                         "share": np.r_[head["share"].to_numpy(), head["baseline"].to_numpy()],
                         "measure": ["bought Y within the window after X"] * len(head)
                         + ["all customers who bought Y at all"] * len(head)})
    ax = new_axes(ax, (10, 0.45 * len(head) + 1.8))
    sns.barplot(data=long, y="pair", x="share", hue="measure", orient="h", ax=ax,
                palette=[sns.color_palette()[0], sns.color_palette("pastel")[0]])
    ax.set_title(f"What customers buy next: top {len(head)} sequences by lift")
    ax.set_xlabel("Share of customers (%)")
    ax.set_ylabel("Bought X → then Y")
    percent_axis(ax.xaxis)
    ax.legend(title=None, fontsize=8)
    ax.figure.tight_layout()
    return ax


@says_when_empty("Offers checked on later purchases",
                 "No check of the offers: the period before `calibration_end` or after it is too short; move "
                 "`calibration_end`.")
def offer_check_chart(check: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Share of customers who bought at least one offered item after the cut, for the offers and both baselines.

    ``check`` is :func:`crmlab.analyses.baskets.tables.offer_check_table`.
    """
    ax = new_axes(ax, (10, 2.6))
    colours = [sns.color_palette()[0]] + [sns.color_palette("pastel")[7]] * (len(check) - 1)
    ax.barh(check.index[::-1], check["customers buying one"].to_numpy()[::-1], color=colours[::-1])
    for y, value in enumerate(check["customers buying one"].to_numpy()[::-1]):
        ax.text(value, y, f" {value * 100:.1f}%", va="center", fontsize=9)
    ax.set_title("Offers checked on later purchases: customers who bought at least one offered item")
    ax.set_xlabel("Share of customers checked (%)")
    ax.set_ylabel("Offer list")
    ax.set_xlim(0, 1.1)
    percent_axis(ax.xaxis)
    ax.figure.tight_layout()
    return ax
