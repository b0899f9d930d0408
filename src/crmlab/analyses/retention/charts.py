"""The retention report's charts (the report itself is still to be wired: issue 25)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from crmlab.core.charting import new_axes, percent_axis, says_when_empty

PERIOD_WORDS = {"month": "months", "quarter": "quarters", "week": "weeks"}


@says_when_empty("Cohort retention", "No cohort to show; set `observation_end` later or `cohort_period` shorter.")
def cohort_heatmap(retention: pd.DataFrame, partial: pd.DataFrame, period: str, suppressed=None, *,
                   revenue: bool = False, ax: plt.Axes | None = None) -> plt.Axes:
    """Customer retention (or, with ``revenue``, revenue retention) per cohort (rows) and period since
    acquisition (columns).

    A cell not observable yet stays blank (never 0); a partial period's cell is marked with a dot; the rows
    ``suppressed`` marks (cohorts too small to show, :mod:`crmlab.publishing.privacy`) are grey with a dash.
    ``retention`` and ``partial`` are :class:`~crmlab.analyses.retention.cohorts.CohortTable`'s.
    """
    ax = new_axes(ax, (11, max(4.0, 0.35 * len(retention) + 1.5)))
    hidden = np.zeros(len(retention), dtype=bool) if suppressed is None else np.asarray(suppressed, dtype=bool)
    shown = retention.copy()
    shown.index = shown.index.strftime("%Y-%m-%d" if period == "week" else "%Y-%m")
    shown[hidden] = np.nan
    # Revenue retention may pass 100% (a cohort spending more than in its first period): no upper bound then.
    sns.heatmap(shown, mask=shown.isna(), annot=shown.size <= 200, fmt=".0%", cmap="viridis", vmin=0,
                vmax=None if revenue else 1, ax=ax,
                cbar_kws={"label": "revenue in the period (share of the cohort's first period)" if revenue
                          else "customers buying in the period (share of the cohort)"})
    ax.grid(False)
    for i in np.flatnonzero(hidden):
        ax.add_patch(Rectangle((0, i), shown.shape[1], 1, facecolor="#e4e7eb", edgecolor="white"))
        ax.text(0.5, i + 0.5, "–", ha="center", va="center", color="#52606d")
    for i, j in zip(*partial.to_numpy().nonzero()):
        if not hidden[i]:
            ax.plot(j + 0.9, i + 0.15, marker="o", markersize=3, color="white")
    ax.set_title(f"{'Revenue' if revenue else 'Customer'} retention by acquisition cohort "
                 "(blank: not observed yet; dot: partial period)")
    ax.set_xlabel(f"{PERIOD_WORDS[period].capitalize()} since the first purchase (count)")
    ax.set_ylabel("Cohort (period of the first purchase)")
    ax.figure.tight_layout()
    return ax


@says_when_empty("Average retention", "No whole period after acquisition yet; set `observation_end` later.")
def retention_curve_chart(curve: pd.DataFrame, period: str, *, ax: plt.Axes | None = None) -> plt.Axes:
    """The average customer retention per period since acquisition, cohorts weighted by size.

    ``curve`` is :func:`~crmlab.analyses.retention.cohorts.average_retention`.
    """
    ax = new_axes(ax, (10, 4))
    ax.plot(curve.index, curve["retention"], marker="o")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    percent_axis(ax.yaxis)
    ax.set_ylim(0, 1.05)
    ax.set_title("Average retention after acquisition (cohorts weighted by size; whole periods only)")
    ax.set_xlabel(f"{PERIOD_WORDS[period].capitalize()} since the first purchase (count)")
    ax.set_ylabel("Customers buying (share of the cohort)")
    ax.figure.tight_layout()
    return ax


def _gains(churned: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-score, kind="stable")
    caught = np.concatenate([[0], np.cumsum(churned[order])]) / max(churned.sum(), 1)
    contacted = np.arange(len(order) + 1) / max(len(order), 1)
    return contacted, caught


@says_when_empty("Gains", "No customer at the test cutoff; set `calibration_end` later.")
def gains_chart(holdout: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Share of the leavers caught against the share of customers contacted, most likely to leave first:
    the model, the BTYD churn probability and days since the last purchase, on the test cutoff."""
    ax = new_axes(ax, (7, 5))
    churned = holdout["churned"].to_numpy(dtype=float)
    for column, label, style in (("churn_probability", "churn model", "-"),
                                 ("btyd_churn_probability", "BTYD churn probability", "--"),
                                 ("days_since_last_purchase", "days since the last purchase", ":")):
        ax.plot(*_gains(churned, holdout[column].fillna(0).to_numpy(dtype=float)), linestyle=style, label=label)
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="customers taken at random")
    percent_axis(ax.xaxis)
    percent_axis(ax.yaxis)
    ax.set_title("Gains on the test cutoff: leavers caught by contacting the likeliest first")
    ax.set_xlabel("Customers contacted (share, likeliest to leave first)")
    ax.set_ylabel("Leavers caught (share of all leavers)")
    ax.legend(loc="lower right")
    ax.figure.tight_layout()
    return ax


@says_when_empty("Reliability", "No customer at the test cutoff; set `calibration_end` later.")
def reliability_chart(holdout: pd.DataFrame, bins: int = 10, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Predicted against observed churn, in ``bins`` groups of equal size by predicted probability."""
    ax = new_axes(ax, (6, 5))
    ranked = holdout.sort_values("churn_probability", kind="stable")
    group = np.arange(len(ranked)) * bins // len(ranked)
    table = ranked.groupby(group).agg(predicted=("churn_probability", "mean"), observed=("churned", "mean"))
    ax.plot(table["predicted"], table["observed"], marker="o", label="churn model")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="perfectly calibrated")
    percent_axis(ax.xaxis)
    percent_axis(ax.yaxis)
    ax.set_title(f"Reliability on the test cutoff ({bins} groups of equal size)")
    ax.set_xlabel("Predicted churn probability (group mean)")
    ax.set_ylabel("Customers who left (share of the group)")
    ax.legend(loc="upper left")
    ax.figure.tight_layout()
    return ax
