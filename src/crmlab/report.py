"""What notebooks use to speak: plain-language figures, tables, sentences, charts, and metrics.

Notebooks call :func:`record_metrics` for their headline figures, :func:`show`
for sentences computed from the data and :func:`show_chart` for a chart with
its caption. The pages leadership reads are built from the executed notebooks
by :mod:`crmlab.pages`.
"""

from __future__ import annotations

import html
import math
import warnings
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .availability import NotAvailable
from .data import write_json

# --------------------------------------------------------------------------- plain figures


def number(value: float) -> str:
    """``1234.4`` -> ``'1,234'``."""
    return f"{value:,.0f}"


def pct(share: float, digits: int = 0) -> str:
    """A share in [0, 1] as a percentage: ``0.514`` -> ``'51%'``."""
    return f"{share * 100:.{digits}f}%"


def money(value: float, currency: str = "$") -> str:
    """Amounts as people read them: ``$950``, ``$12,345``, ``$4.6M``."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1e6:
        return f"{sign}{currency}{value / 1e6:,.1f}M"
    if value >= 1e4:
        return f"{sign}{currency}{value:,.0f}"
    return f"{sign}{currency}{value:,.2f}" if value % 1 else f"{sign}{currency}{value:,.0f}"


def money_column(values, currency: str = "$") -> list[str]:
    """A column of amounts in one format, chosen by its largest value, so magnitudes compare at a glance.

    Examples
    --------
    >>> money_column([1_612_345.0, 892_995.0])
    ['$1.61M', '$0.89M']
    >>> money_column([12_345.6, 950.2])
    ['$12,346', '$950']
    >>> money_column([19.5, 3.25])
    ['$19.50', '$3.25']
    """
    numbers = [v for v in values if isinstance(v, (int, float, np.number)) and math.isfinite(v)]
    largest = max((abs(v) for v in numbers), default=0.0)

    def one(v):
        if not isinstance(v, (int, float, np.number)) or not math.isfinite(v):
            return "n/a"
        sign = "-" if v < 0 else ""
        if largest >= 1e6:
            return f"{sign}{currency}{abs(v) / 1e6:,.2f}M"
        if largest >= 1e3:
            return f"{sign}{currency}{abs(v):,.0f}"
        return f"{sign}{currency}{abs(v):,.2f}"

    return [one(v) for v in values]


def format_value(value: Any, kind: str, currency: str = "$") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return {"number": lambda v: number(v), "money": lambda v: money(v, currency),
            "share": lambda v: pct(v), "percent_points": lambda v: f"{v:.1f}%",
            "ratio": lambda v: f"{v:.2f}"}.get(kind, str)(value)


def formatted(table, *, money_columns=(), share_columns=(), ratio_columns=(), currency: str = "$"):
    """A copy of ``table`` with amounts, shares and ratios written as people read them."""
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


# Words that stay in capitals (or take a fixed form) in table headers.
_HEADER_WORDS = {"clv": "CLV", "rfm": "RFM", "abc": "ABC", "aov": "AOV", "mae": "MAE", "rmse": "RMSE",
                 "alive": "P(alive)", "id": "ID", "v": "V", "x": "X", "y": "Y"}


def header(name: Any) -> Any:
    """A column name as a table header: ``mean_p_alive`` -> ``Mean P(alive)``, ``clv_share`` -> ``CLV share``.

    Examples
    --------
    >>> [header(n) for n in ["mean_p_alive", "clv_share", "cramers_v", "customers_x_then_y", 3]]
    ['Mean P(alive)', 'CLV share', 'Cramers V', 'Customers X then Y', 3]
    """
    if not isinstance(name, str):
        return name
    words = name.replace("p_alive", "alive").split("_")
    words = [_HEADER_WORDS.get(w, w) for w in words]
    first = words[0]
    words[0] = first if first != first.lower() else first[:1].upper() + first[1:]
    return " ".join(words)


def show(markdown: str) -> None:
    """Display a sentence computed from the data as Markdown (it survives the HTML export)."""
    from IPython.display import Markdown, display

    # Two dollar amounts in one sentence would otherwise be read as LaTeX math
    # (by JupyterLab and by the HTML export) and lose their formatting.
    display(Markdown(markdown.replace("$", "&#36;")))


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
    """Display a chart with its one-sentence caption under it."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    figure = ax.figure
    title = ax.get_title() or "chart"
    display(HTML(chart_html(figure, title)))
    # Closed, so the inline backend does not show the figure a second time.
    plt.close(figure)
    show(caption)


def exported(rows: int, what: str, paths: list[Path]) -> str:
    """One sentence saying what an export wrote, e.g. for :func:`crmlab.data.write_exports`."""
    names = [Path(p).name for p in paths]
    listed = ", ".join(f"`{n}`" for n in names[:-1]) + (" and " if len(names) > 1 else "") + f"`{names[-1]}`"
    return f"{rows:,} {what} written to {listed} in the run's exports folder."


# --------------------------------------------------------------------------- metrics


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def record_metrics(notebook: str, metrics: dict[str, Any], path: str | Path | None = None) -> dict[str, Any]:
    """Record a notebook's headline figures, as plain JSON, in the file ``path``.

    The runner gives each report a file of its own (``<run>/metrics/<name>.json``),
    so reports running at the same time never write the same file; it
    gathers them into ``metrics.json`` when the run ends. Run by hand
    (``path=None``), nothing is written.

    Figures of a report that ran carry ``"status": "ok"``; a report the data
    cannot support records ``"not_available"`` instead (:func:`not_available_page`).

    Examples
    --------
    >>> record_metrics("profile", {"customers": np.int64(3)})
    {'status': 'ok', 'customers': 3}
    """
    clean = _jsonable({"status": "ok", **metrics})
    if path is not None:
        write_json({notebook: clean}, Path(path))
    return clean


def metric_differences(a: Any, b: Any, *, rel: float = 1e-9, ignore=frozenset(), missing_keys: bool = True,
                       path: str = "") -> list[str]:
    """Where two ``metrics.json`` trees differ: counts and text exactly, floats to ``rel`` relative.

    Keys in ``ignore`` (timings, say) are skipped at any depth. With
    ``missing_keys=False`` a figure only one side records is not a
    difference: an older run that predates it.

    Examples
    --------
    >>> metric_differences({"customers": 10, "share": 0.5}, {"customers": 11, "share": 0.5 + 1e-12})
    ['.customers: 10 vs 11']
    """
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}: keys {sorted(set(a) ^ set(b))}"] if missing_keys and set(a) != set(b) else []
        for key in sorted((set(a) & set(b)) - set(ignore)):
            out += metric_differences(a[key], b[key], rel=rel, ignore=ignore, missing_keys=missing_keys,
                                      path=f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b))
                for d in metric_differences(x, y, rel=rel, ignore=ignore, missing_keys=missing_keys,
                                            path=f"{path}[{i}]")]
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or not math.isclose(a, b, rel_tol=rel, abs_tol=1e-12):
            return [f"{path}: {a!r} vs {b!r}"]
        return []
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


@contextmanager
def not_available_page(notebook: str, metrics_path: str | Path | None = None):
    """Around a report's ``fit``: when the data cannot support it, say so instead of failing.

    On :class:`crmlab.availability.NotAvailable` it shows what was missing and
    what would make the report possible, records ``status: not_available``
    with the reason, and lets the exception end the notebook; the runner
    then publishes this short page and carries on with the other reports.

    Examples
    --------
    >>> with not_available_page("demo"):
    ...     fitted = True
    >>> fitted
    True
    """
    try:
        yield
    except NotAvailable as exc:
        show(exc.page())
        if metrics_path is not None:
            write_json({notebook: exc.metrics()}, Path(metrics_path))
        raise
