"""Charts for the reports: seaborn on matplotlib, each with a title and labelled axes with units."""

from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.patches import Rectangle
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
    return matrix_heatmap(matrix, title, f"{matrix.columns.name.capitalize()} group",
                          f"{matrix.index.name.capitalize()} group", "Customers (count)", "d", "Blues",
                          size=(9, 7))


# --------------------------------------------------------------------------- CLV


def _actual_and_model(table: pd.DataFrame, labels, model_label: str) -> plt.Axes:
    """Holdout checks draw what happened (solid) against what the model expected (dashed), group by group."""
    fig, ax = plt.subplots(figsize=(10, 4))
    x = range(len(table))
    ax.plot(x, table["actual"].to_numpy(), marker="o", label="actual")
    ax.plot(x, table["predicted"].to_numpy(), marker="s", linestyle="--", label=model_label)
    ax.set_xticks(list(x), labels)
    return ax


def holdout_frequency_chart(table: pd.DataFrame, unit_label: str) -> plt.Axes:
    """Mean holdout purchases per calibration-purchase bin: actual and predicted (:func:`crmlab.clv.holdout_by_frequency`)."""
    ax = _actual_and_model(table, table.index.astype(str), "model")
    ax.set_title("Holdout check: repeat purchases in the holdout, by purchases in the calibration period")
    ax.set_xlabel("Repeat purchases in the calibration period (count)")
    ax.set_ylabel(f"Mean purchases in the holdout\n({unit_label} with a purchase, per customer)")
    ax.legend()
    ax.figure.tight_layout()
    return ax


def cumulative_transactions_chart(curve: pd.DataFrame, calibration_end) -> plt.Axes:
    """Weekly cumulative repeat purchases, actual and model (:func:`crmlab.clv.cumulative_repeat_transactions`)."""
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(curve["week_end"], curve["actual"], label="actual")
    ax.plot(curve["week_end"], curve["model"], linestyle="--", label="model")
    ax.axvline(calibration_end, color="grey", linestyle=":", label="end of calibration")
    ax.set_title("Cumulative repeat purchases of the calibration cohort, week by week")
    ax.set_xlabel("Week ending (date)")
    ax.set_ylabel("Repeat purchases so far (count)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend()
    fig.tight_layout()
    return ax


def period_transactions_chart(table: pd.DataFrame) -> plt.Axes:
    """Customers by repeat purchases in the calibration period: actual and model (:func:`crmlab.clv.period_transactions`)."""
    long = table.reset_index().melt(id_vars=table.index.name, var_name="source", value_name="customers")
    fig, ax = plt.subplots(figsize=(10, 4))
    sns.barplot(data=long, x=table.index.name, y="customers", hue="source", ax=ax)
    ax.set_title("Model fit: customers by number of repeat purchases in the calibration period")
    ax.set_xlabel("Repeat purchases in the calibration period (count)")
    ax.set_ylabel("Customers (count)")
    ax.legend(title=None)
    fig.tight_layout()
    return ax


def matrix_heatmap(matrix: pd.DataFrame, title: str, xlabel: str, ylabel: str, value_label: str,
                   fmt: str = ".2f", cmap: str = "viridis", *, low_rows_first: bool = False,
                   size: tuple[float, float] | None = None) -> plt.Axes:
    """A labelled grid of numbers: migrations, crosstabs, shares, model outputs.

    ``low_rows_first`` puts the first row at the bottom, as on a chart axis
    (e.g. repeat purchases 0, 1, 2, ... upwards).
    """
    fig, ax = plt.subplots(figsize=size or (10, max(4.0, 0.4 * len(matrix) + 1.5)))
    hidden = matrix.isna().to_numpy()
    if fmt == "d" and not all(pd.api.types.is_integer_dtype(t) for t in matrix.dtypes):
        # Counts arrive as floats once a grid may hold suppressed (missing) cells, even when none is missing.
        fmt = ".0f"
    sns.heatmap(matrix, annot=matrix.size <= 200, fmt=fmt, cmap=cmap, ax=ax, cbar_kws={"label": value_label})
    ax.grid(False)
    for i, j in zip(*hidden.nonzero()):
        # A small group suppressed for confidentiality (crmlab.privacy): a grey cell with a dash, as in the tables.
        ax.add_patch(Rectangle((j, i), 1, 1, facecolor="#e4e7eb", edgecolor="white"))
        ax.text(j + 0.5, i + 0.5, "–", ha="center", va="center", color="#52606d")
    if low_rows_first:
        ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return ax


def value_scatter(customers: pd.DataFrame, currency: str) -> plt.Axes:
    """Historical value against predicted future value, at-risk customers highlighted."""
    fig, ax = plt.subplots(figsize=(10, 5))
    status = customers["at_risk"].map({True: "valuable but at risk", False: "other customers"})
    sns.scatterplot(x=customers["historical_value"], y=customers["clv"], hue=status,
                    hue_order=["other customers", "valuable but at risk"], s=18, alpha=0.6, ax=ax,
                    palette=[sns.color_palette()[0], sns.color_palette()[3]])
    limit = max(customers["historical_value"].max(), customers["clv"].max())
    ax.plot([0, limit], [0, limit], color="grey", linestyle=":", label="future = past")
    ax.set_title("Value delivered so far against value still to come, per customer")
    ax.set_xlabel(f"Historical value: gross margin in the window ({currency})")
    ax.set_ylabel(f"Predicted future value: discounted CLV ({currency})")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: money(v, currency)))
    ax.legend(title=None)
    fig.tight_layout()
    return ax


def p_alive_chart(p_alive: pd.Series) -> plt.Axes:
    """Histogram of P(alive)."""
    fig, ax = plt.subplots(figsize=(10, 4))
    sns.histplot(p_alive, bins=20, binrange=(0, 1), ax=ax)
    ax.set_title("How likely each customer is to still be active")
    ax.set_xlabel("P(alive): probability the customer is still active (%)")
    ax.set_ylabel("Customers (count)")
    _percent_axis(ax.xaxis)
    fig.tight_layout()
    return ax


def spend_frequency_chart(summary: pd.DataFrame, currency: str) -> plt.Axes:
    """Gamma-Gamma's assumption: mean spend does not depend on how often a customer buys."""
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    fig, ax = plt.subplots(figsize=(10, 4))
    sns.scatterplot(x=repeat["frequency"], y=repeat["monetary_value"], s=14, alpha=0.5, ax=ax)
    ax.set_yscale("log")
    ax.set_title("Spend per purchase against number of repeat purchases (repeat customers)")
    ax.set_xlabel("Repeat purchases in the window (count)")
    ax.set_ylabel(f"Mean spend per repeat purchase\n({currency}, log scale)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v, currency)))
    fig.tight_layout()
    return ax


# --------------------------------------------------------------------------- segments


def segment_share_chart(table: pd.DataFrame) -> plt.Axes:
    """Share of customers and of revenue per RFM segment (:func:`crmlab.segments.segment_table`)."""
    long = table[["customer_share", "revenue_share"]].rename(
        columns={"customer_share": "share of customers", "revenue_share": "share of revenue"})
    long = long.reset_index().melt(id_vars="segment", var_name="measure", value_name="share")
    fig, ax = plt.subplots(figsize=(10, 5))
    sns.barplot(data=long, y="segment", x="share", hue="measure", orient="h", ax=ax)
    ax.set_title("RFM segments: share of customers and of revenue")
    ax.set_xlabel("Share (%)")
    ax.set_ylabel("RFM segment")
    _percent_axis(ax.xaxis)
    ax.legend(title=None)
    fig.tight_layout()
    return ax


def k_selection_chart(scores: pd.DataFrame, k: int) -> plt.Axes:
    """The criteria for choosing k side by side, the chosen k marked in each panel."""
    panels = [("inertia", "Elbow: inertia", "Within-cluster sum of squares\n(standardised units)"),
              ("silhouette", "Silhouette (higher is better)", "Silhouette (-1 to 1)"),
              ("calinski_harabasz", "Calinski-Harabasz (higher is better)", "Index (ratio)"),
              ("davies_bouldin", "Davies-Bouldin (lower is better)", "Index (ratio)"),
              ("stability_ari", "Stability on bootstrap resamples", "Adjusted Rand index (0 to 1)"),
              ("smallest_cluster_share", "Smallest cluster", "Share of customers (%)")]
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for ax, (column, title, ylabel) in zip(axes.ravel(), panels):
        ax.plot(scores.index, scores[column], marker="o")
        ax.axvline(k, color=sns.color_palette()[3], linestyle="--")
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("Number of clusters k")
        ax.set_ylabel(ylabel, fontsize=9)
        ax.set_xticks(list(scores.index))
    _percent_axis(axes.ravel()[-1].yaxis)
    fig.suptitle(f"Choosing the number of clusters (dashed line: chosen k = {k})")
    fig.tight_layout()
    return axes.ravel()[0]


def snake_plot(standardized_means: pd.DataFrame, names: pd.Series) -> plt.Axes:
    """Standardised feature means per cluster: where each cluster sits against the average customer."""
    long = standardized_means.reset_index().melt(id_vars="cluster", var_name="feature", value_name="value")
    long["cluster"] = long["cluster"].map(lambda c: f"{c}: {names[c]}")
    fig, ax = plt.subplots(figsize=(10, 4.5))
    sns.lineplot(data=long, x="feature", y="value", hue="cluster", marker="o", ax=ax)
    ax.axhline(0, color="grey", linestyle=":")
    ax.set_title("Cluster profiles (snake plot): each feature against the average customer")
    ax.set_xlabel("Feature")
    ax.set_ylabel("Mean, standardised\n(standard deviations from the average)")
    ax.legend(title=None, fontsize=8)
    fig.tight_layout()
    return ax


def share_heatmap(shares: pd.DataFrame, attribute: str) -> plt.Axes:
    """Category shares of one attribute within each cluster (columns sum to 100%)."""
    name = attribute.replace("_", " ")
    return matrix_heatmap(shares * 100, f"{name.capitalize()} by cluster", "Cluster", name.capitalize(),
                          "share of the cluster's customers (%)", ".0f", "Blues")


# --------------------------------------------------------------------------- baskets


def item_frequency_chart(itemsets: pd.DataFrame, top: int = 20) -> plt.Axes:
    """Share of baskets holding each of the most common items."""
    singles = itemsets[itemsets["size"] == 1].nlargest(top, "count")
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(singles) + 1.5))
    sns.barplot(x=singles["support"].to_numpy(), y=[str(i[0]) for i in singles["items"]],
                color=sns.color_palette()[0], orient="h", ax=ax)
    ax.set_title(f"The {len(singles)} most common items")
    ax.set_xlabel("Share of baskets holding the item (%)")
    ax.set_ylabel("Item")
    _percent_axis(ax.xaxis)
    fig.tight_layout()
    return ax


def rules_scatter(rules: pd.DataFrame) -> plt.Axes:
    """Support against confidence for every rule, coloured by lift."""
    fig, ax = plt.subplots(figsize=(10, 5))
    points = ax.scatter(rules["support"], rules["confidence"], c=rules["lift"], cmap="viridis", s=14, alpha=0.7)
    fig.colorbar(points, ax=ax, label="Lift (ratio)")
    ax.set_title("Every rule: how common (support) against how reliable (confidence)")
    ax.set_xlabel("Support: share of baskets holding the whole rule (%)")
    ax.set_ylabel("Confidence (%)")
    _percent_axis(ax.xaxis)
    _percent_axis(ax.yaxis)
    fig.tight_layout()
    return ax


def rules_matrix(rules: pd.DataFrame, top: int = 20) -> plt.Axes:
    """Lift of the top rules as a grid: antecedents (rows) against consequents (columns)."""
    head = rules.head(top)
    grid = pd.DataFrame({"if bought": [" + ".join(map(str, a)) for a in head["antecedent"]],
                         "then also": [" + ".join(map(str, c)) for c in head["consequent"]],
                         "lift": head["lift"].to_numpy()})
    matrix = grid.pivot_table(index="if bought", columns="then also", values="lift", aggfunc="max")
    ax = matrix_heatmap(matrix, f"The top {len(head)} rules by lift", "Then also bought", "If the basket holds",
                        "Lift (ratio)", ".1f", size=(11, 0.4 * len(matrix) + 3))
    ax.tick_params(axis="x", rotation=30)
    plt.setp(ax.get_xticklabels(), ha="right")
    ax.figure.tight_layout()
    return ax


def sequences_chart(sequences: pd.DataFrame, top: int = 12) -> plt.Axes:
    """Share of X buyers who bought Y within the window, against the share of all customers who bought Y."""
    head = sequences.head(top)
    labels = [f"{x} → {y}" for x, y in zip(head["x"], head["y"])]
    long = pd.DataFrame({"pair": labels * 2,
                         "share": np.r_[head["share"].to_numpy(), head["baseline"].to_numpy()],
                         "measure": ["bought Y within the window after X"] * len(head)
                         + ["all customers who bought Y at all"] * len(head)})
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(head) + 1.8))
    sns.barplot(data=long, y="pair", x="share", hue="measure", orient="h", ax=ax,
                palette=[sns.color_palette()[0], sns.color_palette("pastel")[0]])
    ax.set_title(f"What customers buy next: top {len(head)} sequences by lift")
    ax.set_xlabel("Share of customers (%)")
    ax.set_ylabel("Bought X → then Y")
    _percent_axis(ax.xaxis)
    ax.legend(title=None, fontsize=8)
    fig.tight_layout()
    return ax


def holdout_spend_chart(table: pd.DataFrame, currency: str) -> plt.Axes:
    """Mean spend per holdout purchase, expected and actual, by group of expected spend (:meth:`CLVAnalysis.holdout_spend_by_group`)."""
    ordered = table.sort_values("predicted")
    ax = _actual_and_model(ordered, [str(i + 1) for i in range(len(ordered))], "Gamma-Gamma (calibration fit)")
    ax.set_title("Holdout check of spend: mean spend per purchase in the holdout")
    ax.set_xlabel("Customers with holdout purchases, in equal groups from lowest to highest expected spend")
    ax.set_ylabel(f"Mean spend per purchase ({currency})")
    ax.legend()
    ax.figure.tight_layout()
    return ax
