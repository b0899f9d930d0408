"""The CLV report's charts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter

from crmlab.core.charting import matrix_heatmap, new_axes, percent_axis, says_when_empty
from crmlab.core.words import money


def _actual_and_model(table: pd.DataFrame, labels, model_label: str, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Holdout checks draw what happened (solid) against what the model expected (dashed), group by group."""
    ax = new_axes(ax, (10, 4))
    x = range(len(table))
    ax.plot(x, table["actual"].to_numpy(), marker="o", label="actual")
    ax.plot(x, table["predicted"].to_numpy(), marker="s", linestyle="--", label=model_label)
    ax.set_xticks(list(x), labels)
    return ax


@says_when_empty("Holdout check",
                 "No customer in the calibration period to check on the holdout; set `calibration_end` later.")
def holdout_frequency_chart(table: pd.DataFrame, unit_label: str, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Mean holdout purchases per calibration-purchase bin: actual and predicted.

    ``table`` is :func:`crmlab.analyses.clv.validation.holdout_by_frequency`.
    """
    ax = _actual_and_model(table, table.index.astype(str), "model", ax=ax)
    ax.set_title("Holdout check: repeat purchases in the holdout, by purchases in the calibration period")
    ax.set_xlabel("Repeat purchases in the calibration period (count)")
    ax.set_ylabel(f"Mean purchases in the holdout\n({unit_label} with a purchase, per customer)")
    ax.legend()
    ax.figure.tight_layout()
    return ax


@says_when_empty("Cumulative repeat purchases",
                 "No week to follow between the first purchase and `observation_end`.")
def cumulative_transactions_chart(curve: pd.DataFrame, calibration_end, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Weekly cumulative repeat purchases, actual and model.

    ``curve`` is :func:`crmlab.analyses.clv.validation.cumulative_repeat_transactions`.
    """
    ax = new_axes(ax, (10, 4))
    ax.plot(curve["week_end"], curve["actual"], label="actual")
    ax.plot(curve["week_end"], curve["model"], linestyle="--", label="model")
    ax.axvline(calibration_end, color="grey", linestyle=":", label="end of calibration")
    ax.set_title("Cumulative repeat purchases of the calibration cohort, week by week")
    ax.set_xlabel("Week ending (date)")
    ax.set_ylabel("Repeat purchases so far (count)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend()
    ax.figure.tight_layout()
    return ax


@says_when_empty("Model fit",
                 "No customer in the calibration period; set `calibration_end` later.")
def period_transactions_chart(table: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Customers by repeat purchases in the calibration period: actual and model.

    ``table`` is :func:`crmlab.analyses.clv.validation.period_transactions`.
    """
    long = table.reset_index().melt(id_vars=table.index.name, var_name="source", value_name="customers")
    ax = new_axes(ax, (10, 4))
    sns.barplot(data=long, x=table.index.name, y="customers", hue="source", ax=ax)
    ax.set_title("Model fit: customers by number of repeat purchases in the calibration period")
    ax.set_xlabel("Repeat purchases in the calibration period (count)")
    ax.set_ylabel("Customers (count)")
    ax.legend(title=None)
    ax.figure.tight_layout()
    return ax


@says_when_empty("Value delivered so far against value still to come",
                 "No customer was scored.")
def value_scatter(customers: pd.DataFrame, currency: str, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Historical value against predicted future value, at-risk customers highlighted."""
    ax = new_axes(ax, (10, 5))
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
    ax.figure.tight_layout()
    return ax


@says_when_empty("How likely each customer is to still be active",
                 "No customer was scored.")
def p_alive_chart(p_alive: pd.Series, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Histogram of P(alive)."""
    ax = new_axes(ax, (10, 4))
    sns.histplot(p_alive, bins=20, binrange=(0, 1), ax=ax)
    ax.set_title("How likely each customer is to still be active")
    ax.set_xlabel("P(alive): probability the customer is still active (%)")
    ax.set_ylabel("Customers (count)")
    percent_axis(ax.xaxis)
    ax.figure.tight_layout()
    return ax


@says_when_empty("Spend per purchase against repeat purchases",
                 "No repeat customer, so no spend per purchase to compare with frequency.")
def spend_frequency_chart(summary: pd.DataFrame, currency: str, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Gamma-Gamma's assumption: mean spend does not depend on how often a customer buys."""
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    ax = new_axes(ax, (10, 4))
    sns.scatterplot(x=repeat["frequency"], y=repeat["monetary_value"], s=14, alpha=0.5, ax=ax)
    ax.set_yscale("log")
    ax.set_title("Spend per purchase against number of repeat purchases (repeat customers)")
    ax.set_xlabel("Repeat purchases in the window (count)")
    ax.set_ylabel(f"Mean spend per repeat purchase\n({currency}, log scale)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v, currency)))
    ax.figure.tight_layout()
    return ax


@says_when_empty("Holdout check of spend",
                 "No calibration customer bought in the holdout; set `calibration_end` earlier.")
def holdout_spend_chart(table: pd.DataFrame, currency: str, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Mean spend per holdout purchase, expected and actual, by group of expected spend.

    ``table`` is :func:`crmlab.analyses.clv.validation.holdout_spend_by_group`.
    """
    ordered = table.sort_values("predicted")
    ax = _actual_and_model(ordered, [str(i + 1) for i in range(len(ordered))], "Gamma-Gamma (calibration fit)", ax=ax)
    ax.set_title("Holdout check of spend: mean spend per purchase in the holdout")
    ax.set_xlabel("Customers with holdout purchases, in equal groups from lowest to highest expected spend")
    ax.set_ylabel(f"Mean spend per purchase ({currency})")
    ax.legend()
    ax.figure.tight_layout()
    return ax


@says_when_empty("Expected purchases in the next month",
                 "No purchase history to lay out.")
def expected_purchases_heatmap(matrix: pd.DataFrame, time_unit: str, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Expected purchases next month by repeat purchases and age at the last purchase."""
    return matrix_heatmap(matrix, "Expected purchases in the next month", f"Age at last purchase ({time_unit})",
                          "Repeat purchases so far (count)", "purchases (count)", ".1f", low_rows_first=True, ax=ax)


@says_when_empty("Probability the customer is still active",
                 "No purchase history to lay out.")
def p_alive_heatmap(matrix: pd.DataFrame, time_unit: str, *, ax: plt.Axes | None = None) -> plt.Axes:
    """P(alive) by repeat purchases and age at the last purchase."""
    return matrix_heatmap(matrix, "Probability the customer is still active", f"Age at last purchase ({time_unit})",
                          "Repeat purchases so far (count)", "P(alive)", ".2f", "rocket", low_rows_first=True, ax=ax)


def _month_labels(table: pd.DataFrame) -> list[str]:
    """``2018-01``, with a partial month marked, e.g. ``2017-07 (from 2)``."""
    return [f"{row.month} (from {row.first_day.day})" if row.partial and row.first_day.day != 1 else
            f"{row.month} (to {row.last_day.day})" if row.partial else row.month for row in table.itertuples()]


@says_when_empty("The months ahead", "No month to project; set `horizon_months` to 1 or more.")
def outlook_chart(existing: pd.DataFrame, new: pd.DataFrame, currency: str, *, ax: plt.Axes | None = None
                  ) -> plt.Axes:
    """Expected revenue per calendar month: existing customers (with their band) and new customers stacked on top.

    ``existing`` and ``new`` are :func:`crmlab.analyses.clv.outlook.existing_customers` and
    :func:`~crmlab.analyses.clv.outlook.new_customers`.
    """
    ax = new_axes(ax, (10, 4))
    x = list(range(len(existing)))
    ax.bar(x, existing["revenue"], label="existing customers")
    ax.bar(x, new["new_revenue"], bottom=existing["revenue"], label="new customers (projected)", alpha=0.6)
    if existing["revenue_low"].notna().all():
        ax.errorbar(x, existing["revenue"], yerr=[existing["revenue"] - existing["revenue_low"],
                                                  existing["revenue_high"] - existing["revenue"]],
                    fmt="none", ecolor="black", capsize=3, label="band of existing customers' revenue")
    ax.set_xticks(x, _month_labels(existing), rotation=45, ha="right")
    top = (existing["revenue_high"].fillna(existing["revenue"]) + new["new_revenue"]).max()
    ax.set_ylim(0, top * 1.3)  # room above the bars for the legend
    ax.set_title("The months ahead: expected revenue per calendar month")
    ax.set_xlabel("Month")
    ax.set_ylabel(f"Expected revenue ({currency})")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v, currency)))
    ax.legend(loc="upper center", ncol=3)
    ax.figure.tight_layout()
    return ax


@says_when_empty("Holdout months", "No holdout month after `calibration_end`; set `calibration_end` earlier.")
def backtest_chart(table: pd.DataFrame, currency: str, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Holdout revenue of the calibration customers per month: actual, the calibration fit's forecast with its
    band, and the naive forecast.

    ``table`` is :func:`crmlab.analyses.clv.outlook.backtest`. Drawn are the months the errors are scored
    on: the whole ones, where there are any (a stub of a month would read as a collapse).
    """
    if (~table["partial"]).any():
        table = table[~table["partial"]]
    ax = new_axes(ax, (10, 4))
    x = list(range(len(table)))
    if table["revenue_low"].notna().all():
        ax.fill_between(x, table["revenue_low"], table["revenue_high"], alpha=0.25, label="forecast band")
    ax.plot(x, table["actual_revenue"], marker="o", label="actual")
    ax.plot(x, table["revenue"], marker="s", linestyle="--", label="forecast (calibration fit)")
    ax.plot(x, table["naive_revenue"], linestyle=":", color="grey", label="naive forecast")
    ax.set_xticks(x, _month_labels(table), rotation=45, ha="right")
    ax.set_title("Backtest: the calibration customers' revenue in each whole holdout month")
    ax.set_xlabel("Holdout month")
    ax.set_ylabel(f"Revenue of repeat purchases ({currency})")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v, currency)))
    ax.legend()
    ax.figure.tight_layout()
    return ax
