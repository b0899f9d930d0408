"""The segments report's charts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from crmlab.core.charting import matrix_heatmap, new_axes, percent_axis, says_when_empty


@says_when_empty("RFM segments",
                 "No customer in any RFM segment.")
def segment_share_chart(table: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Share of customers and of revenue per RFM segment (:func:`crmlab.analyses.segments.tables.segment_table`)."""
    long = table[["customer_share", "revenue_share"]].rename(
        columns={"customer_share": "share of customers", "revenue_share": "share of revenue"})
    long = long.reset_index().melt(id_vars="segment", var_name="measure", value_name="share")
    ax = new_axes(ax, (10, 5))
    sns.barplot(data=long, y="segment", x="share", hue="measure", orient="h", ax=ax)
    ax.set_title("RFM segments: share of customers and of revenue")
    ax.set_xlabel("Share (%)")
    ax.set_ylabel("RFM segment")
    percent_axis(ax.xaxis)
    ax.legend(title=None)
    ax.figure.tight_layout()
    return ax


@says_when_empty("Choosing the number of clusters",
                 "No candidate k was scored; widen `k_range`.")
def k_selection_chart(scores: pd.DataFrame, k: int, *, ax=None) -> plt.Axes:
    """The criteria for choosing k side by side, the chosen k marked in each panel.

    Six panels: ``ax`` is six Axes to draw them on (any shape, read in
    order), or None for a new 2 x 3 figure. Returns the first panel.
    """
    panels = [("inertia", "Elbow: inertia", "Within-cluster sum of squares\n(standardised units)"),
              ("silhouette", "Silhouette (higher is better)", "Silhouette (-1 to 1)"),
              ("calinski_harabasz", "Calinski-Harabasz (higher is better)", "Index (ratio)"),
              ("davies_bouldin", "Davies-Bouldin (lower is better)", "Index (ratio)"),
              ("stability_ari", "Stability on bootstrap resamples", "Adjusted Rand index (0 to 1)"),
              ("smallest_cluster_share", "Smallest cluster", "Share of customers (%)")]
    axes = np.ravel(ax) if ax is not None else plt.subplots(2, 3, figsize=(12, 6.5))[1].ravel()
    for ax, (column, title, ylabel) in zip(axes, panels):
        ax.plot(scores.index, scores[column], marker="o")
        ax.axvline(k, color=sns.color_palette()[3], linestyle="--")
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("Number of clusters k")
        ax.set_ylabel(ylabel, fontsize=9)
        ax.set_xticks(list(scores.index))
    percent_axis(axes[-1].yaxis)
    axes[0].figure.suptitle(f"Choosing the number of clusters (dashed line: chosen k = {k})")
    axes[0].figure.tight_layout()
    return axes[0]


@says_when_empty("Cluster profiles",
                 "No cluster of at least `min_group_customers` customers to draw.")
def snake_plot(standardized_means: pd.DataFrame, names: pd.Series, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Standardised feature means per cluster: where each cluster sits against the average customer."""
    long = standardized_means.reset_index().melt(id_vars="cluster", var_name="feature", value_name="value")
    long["cluster"] = long["cluster"].map(lambda c: f"{c}: {names[c]}")
    ax = new_axes(ax, (10, 4.5))
    sns.lineplot(data=long, x="feature", y="value", hue="cluster", marker="o", ax=ax)
    ax.axhline(0, color="grey", linestyle=":")
    ax.set_title("Cluster profiles (snake plot): each feature against the average customer")
    ax.set_xlabel("Feature")
    ax.set_ylabel("Mean, standardised\n(standard deviations from the average)")
    ax.legend(title=None, fontsize=8)
    ax.figure.tight_layout()
    return ax


@says_when_empty("By cluster",
                 "No cluster of at least `min_group_customers` customers has this attribute.")
def share_heatmap(shares: pd.DataFrame, attribute: str, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Category shares of one attribute within each cluster (columns sum to 100%)."""
    name = attribute.replace("_", " ")
    return matrix_heatmap(shares * 100, f"{name.capitalize()} by cluster", "Cluster", name.capitalize(),
                          "share of the cluster's customers (%)", ".0f", "Blues", ax=ax)


@says_when_empty("Customers by RFM segment and cluster",
                 "No customer to count by segment and cluster.")
def segment_cluster_heatmap(matrix: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Customers by RFM segment (rows) and cluster (columns)."""
    return matrix_heatmap(matrix, "Customers by RFM segment and cluster", "Cluster", "RFM segment",
                          "customers (count)", "d", "Blues", ax=ax)
