"""What every report's charts share: axes to draw on, percent axes, a labelled heatmap."""

from __future__ import annotations

import matplotlib.pyplot as plt
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
