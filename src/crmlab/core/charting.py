"""What every report's charts share: axes to draw on, percent axes, a labelled heatmap."""

from __future__ import annotations

import functools
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter


def new_axes(ax: plt.Axes | None, size: tuple[float, float]) -> plt.Axes:
    """``ax`` when the caller gives one, else the axes of a new figure of ``size`` inches.

    Every chart function takes ``ax=None`` and draws through this, so an
    analyst can place any chart in a grid of their own.
    """
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=size)
    return ax


def empty_chart(title: str, message: str, *, ax=None) -> plt.Axes:
    """A chart with nothing to draw: its title, and the sentence saying what is empty and what would change that."""
    if ax is not None and not isinstance(ax, plt.Axes):  # a chart of several panels was given its axes
        ax = np.ravel(ax)[0]
    ax = new_axes(ax, (10, 2.2))
    ax.set_title(title)
    ax.set_axis_off()
    ax.text(0.5, 0.5, textwrap.fill(message, 90), ha="center", va="center", transform=ax.transAxes, wrap=True)
    # A page shows this sentence as text in the chart's place, without the caption of a chart that is not there.
    ax.empty_message = message
    return ax


def says_when_empty(title: str, message: str):
    """Decorate a chart function: given an empty table (its first argument), it draws ``message`` instead.

    ``message`` says what is empty and which parameter would change that, so
    a report whose data leaves one chart empty still publishes its page.
    """
    def decorate(chart):
        @functools.wraps(chart)
        def draw(table, *args, ax=None, **kwargs):
            if len(table) == 0:
                return empty_chart(title, message, ax=ax)
            return chart(table, *args, ax=ax, **kwargs)

        draw.empty_message = message
        return draw

    return decorate


def percent_axis(axis) -> None:
    """Tick labels of a share axis as percentages: 0.25 -> 25%."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:.0f}%"))


def matrix_heatmap(matrix: pd.DataFrame, title: str, xlabel: str, ylabel: str, value_label: str,
                   fmt: str = ".2f", cmap: str = "viridis", *, low_rows_first: bool = False,
                   size: tuple[float, float] | None = None, ax: plt.Axes | None = None) -> plt.Axes:
    """A labelled grid of numbers: migrations, crosstabs, shares, model outputs.

    ``low_rows_first`` puts the first row at the bottom, as on a chart axis
    (e.g. repeat purchases 0, 1, 2, ... upwards).
    """
    ax = new_axes(ax, size or (10, max(4.0, 0.4 * len(matrix) + 1.5)))
    hidden = matrix.isna().to_numpy()
    if fmt == "d" and not all(pd.api.types.is_integer_dtype(t) for t in matrix.dtypes):
        # Counts arrive as floats once a grid may hold suppressed (missing) cells, even when none is missing.
        fmt = ".0f"
    sns.heatmap(matrix, annot=matrix.size <= 200, fmt=fmt, cmap=cmap, ax=ax, cbar_kws={"label": value_label})
    ax.grid(False)
    for i, j in zip(*hidden.nonzero()):
        # A small group suppressed for confidentiality (crmlab.publishing.privacy): a grey cell with a dash,
        # as in the tables.
        ax.add_patch(Rectangle((j, i), 1, 1, facecolor="#e4e7eb", edgecolor="white"))
        ax.text(j + 0.5, i + 0.5, "–", ha="center", va="center", color="#52606d")
    if low_rows_first:
        ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.figure.tight_layout()
    return ax
