"""How a notebook speaks: sentences, formatted tables and charts with their captions."""

from __future__ import annotations

import html
import warnings
from pathlib import Path

import pandas as pd

from crmlab.core.words import header, money_column, number, pct


def formatted(table, *, money_columns=(), share_columns=(), ratio_columns=(), currency: str = "$",
              empty: str | None = None):
    """A copy of ``table`` with amounts, shares and ratios written as people read them.

    ``empty`` is the sentence shown instead of a table with no rows: what is
    empty, and which parameter would change that.
    """
    if empty is not None and len(table) == 0:
        return _markdown(empty)
    # Reports show whole sentences (suggested actions, names), not pandas' 50-character cut.
    pd.set_option("display.max_colwidth", None)
    out = table.copy()
    for column in out.columns:
        if column in money_columns:
            out[column] = money_column(out[column].tolist(), currency)
        elif column in share_columns:
            out[column] = out[column].map(lambda v: pct(v, 1))
        elif column in ratio_columns:
            out[column] = out[column].map(lambda v: f"{v:,.2f}")
        elif out[column].dtype.kind in "iu":
            out[column] = out[column].map(number)
    out.columns = [header(c) for c in out.columns]
    if out.index.name and out.index.nlevels == 1:
        # The index name heads the first column in the header row, instead of an extra, otherwise empty row.
        out.columns.name = header(out.index.name)
        out.index.name = None
    return out


DOLLAR = '<span class="mathjax_ignore">&#36;</span>'


def _markdown(text: str):
    """``text`` as a Markdown display object; it survives the HTML export."""
    from IPython.display import Markdown

    # Two dollar amounts in one sentence would otherwise be read as LaTeX math and lose their formatting.
    # An entity alone is not enough: JupyterLab's MathJax reads the page's text, where it is a "$" again
    # (tests/integration/test_jupyterlab.py looks); MathJax skips what is inside a mathjax_ignore element.
    return Markdown(text.replace("$", DOLLAR))


def show(markdown: str) -> None:
    """Display a sentence computed from the data as Markdown (it survives the HTML export)."""
    from IPython.display import display

    display(_markdown(markdown))


# Charts are drawn twice: as laid out (about 1,000 px wide), and narrow for phones, where a wide chart
# scaled down to the screen would shrink its labels to a third of the text's size.
NARROW_INCHES = 4.8


NARROW_MIN_POINTS = 12.0  # at 100 dpi on a 480 px wide image: about the body text's 16 px


CHART_DPI = 100


def _png(figure) -> str:
    import base64
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=CHART_DPI, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _narrow(figure) -> None:
    """Re-lay ``figure`` for a phone: narrow, with labels at least ``NARROW_MIN_POINTS``."""
    from matplotlib.text import Text

    width, height = figure.get_size_inches()
    figure.set_size_inches(NARROW_INCHES, max(3.6, height * 0.9))
    for text in figure.findobj(Text):
        inside = text.axes is not None and text in text.axes.texts  # numbers written on cells stay smaller
        text.set_fontsize(max(text.get_fontsize(), 10.0 if inside else NARROW_MIN_POINTS))
    for axes in figure.axes:
        labels = axes.get_xticklabels()
        if len(labels) > 6 and max((len(label.get_text()) for label in labels), default=0) > 3:
            # Long category names side by side would run into each other on a narrow chart.
            for label in labels:
                label.set_rotation(45)
                label.set_horizontalalignment("right")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a crowded narrow layout may not fit perfectly: still legible
        figure.tight_layout()


def chart_html(figure, alt: str = "chart") -> str:
    """The chart as one ``<picture>``: the narrow drawing on screens up to 640 px, the wide one elsewhere and on paper."""
    wide = _png(figure)
    _narrow(figure)
    narrow = _png(figure)
    return (f'<picture><source media="(max-width: 640px)" srcset="data:image/png;base64,{narrow}">'
            f'<img src="data:image/png;base64,{wide}" alt="{html.escape(alt)}"></picture>')


def show_chart(ax, caption: str) -> None:
    """Display a chart with its one-sentence caption under it.

    A chart with nothing to draw (its table was empty: see
    :func:`crmlab.core.charting.empty_chart`) is shown as its sentence instead,
    saying what is empty and which parameter would change that.
    """
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    figure = ax.figure
    # Closed, so the inline backend does not show the figure a second time.
    plt.close(figure)
    if getattr(ax, "empty_message", None):
        show(f"**{ax.get_title()}:** {ax.empty_message}")
        return
    display(HTML(chart_html(figure, ax.get_title() or "chart")))
    show(caption)


def exported(rows: int, what: str, paths: list[Path]) -> str:
    """One sentence saying what an export wrote, e.g. for :func:`crmlab.data.write_exports`."""
    names = [Path(p).name for p in paths]
    listed = ", ".join(f"`{n}`" for n in names[:-1]) + (" and " if len(names) > 1 else "") + f"`{names[-1]}`"
    return f"{rows:,} {what} written to {listed} in the run's exports folder."
