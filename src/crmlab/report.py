"""Recording metrics, plain-language figures, and the HTML that leadership reads.

Notebooks call :func:`record_metrics` for their headline figures and
:func:`show` for sentences computed from the data. The runner calls
:func:`export_html` for each executed notebook and :func:`write_index` for the
landing page.
"""

from __future__ import annotations

import html
import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Report names, with their titles and the two or three metrics their card
# shows: (metrics key, label, kind). The order is the run order and the order
# of the index page: profile checks the data first; segments reads the CLV
# export of the same run, baskets reads the segments export.
REPORTS: dict[str, dict[str, Any]] = {
    "profile": {"title": "Customer records profile",
                "card": [("customers", "customers", "number"), ("orders", "orders", "number"),
                         ("revenue", "revenue", "money")]},
    "clv": {"title": "Customer lifetime value",
            "card": [("clv_total", "predicted future value", "money"),
                     ("at_risk_customers", "valuable customers at risk", "number"),
                     ("holdout_error_pct", "holdout error", "percent_points")]},
    "deciles": {"title": "Customer value deciles",
                "card": [("top10_revenue_share", "revenue from the top 10%", "share"),
                         ("top20_revenue_share", "revenue from the top 20%", "share"),
                         ("gini", "Gini coefficient", "ratio")]},
    "segments": {"title": "Customer segments",
                 "card": [("customers", "customers", "number"), ("k", "clusters", "number"),
                          ("silhouette", "silhouette", "ratio")]},
    "baskets": {"title": "Basket rules",
                "card": [("baskets", "baskets", "number"), ("rules", "rules", "number"),
                         ("top_lift", "highest lift", "ratio")]},
}


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
            out[column] = out[column].map(lambda v: money(v, currency))
        elif column in share_columns:
            out[column] = out[column].map(lambda v: pct(v, 1))
        elif column in ratio_columns:
            out[column] = out[column].map(lambda v: f"{v:,.2f}")
        elif out[column].dtype.kind in "iu":
            out[column] = out[column].map(number)
    out.columns = [header(c) for c in out.columns]
    if out.index.name:
        out.index.name = header(out.index.name)
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


def show_chart(ax, caption: str) -> None:
    """Display a chart with its one-sentence caption under it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(ax.figure)
    # Closed, so the inline backend does not show the figure a second time.
    plt.close(ax.figure)
    show(caption)


def exported(rows: int, what: str, paths: list[Path]) -> str:
    """One sentence saying what an export wrote, e.g. for :func:`crmlab.data.write_exports`."""
    names = [Path(p).name for p in paths]
    listed = ", ".join(f"`{n}`" for n in names[:-1]) + (" and " if len(names) > 1 else "") + f"`{names[-1]}`"
    return f"{rows:,} {what} written to {listed} in the dataset's processed folder."


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


def ran_in_this_run(notebook: str, metrics_path: str | Path | None) -> bool:
    """Whether ``notebook`` recorded metrics in the current run (always True outside a run).

    Reports that reuse another report's export (segments uses CLV, baskets
    uses segments) check this, so a scheduled run never mixes in a stale file
    from an earlier run.
    """
    if metrics_path is None:
        return True
    path = Path(metrics_path)
    return path.exists() and notebook in json.loads(path.read_text())


def same_run_export(notebook: str, path: str | Path, metrics_path: str | Path | None, columns=None):
    """Another report's export as a DataFrame, if that report ran in this run (see :func:`ran_in_this_run`); else None."""
    path = Path(path)
    if not path.exists() or not ran_in_this_run(notebook, metrics_path):
        return None
    return pd.read_parquet(path, columns=columns)


def record_metrics(notebook: str, metrics: dict[str, Any], path: str | Path | None = None) -> dict[str, Any]:
    """Record a notebook's headline figures under its name in ``metrics.json``.

    The runner passes ``path``; run by hand (``path=None``) nothing is written.
    The file is rewritten atomically so a monitor never reads half of it.

    Examples
    --------
    >>> record_metrics("profile", {"customers": np.int64(3)})
    {'customers': 3}
    """
    clean = _jsonable(metrics)
    if path is not None:
        from .data import write_json

        path = Path(path)
        existing = json.loads(path.read_text()) if path.exists() else {}
        existing[notebook] = clean
        write_json(existing, path)
    return clean


# --------------------------------------------------------------------------- HTML


PAGE_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2933;
       max-width: 1040px; margin: 2rem auto; padding: 0 1.5rem; line-height: 1.5; }
header.crmlab { border-bottom: 2px solid #1f6feb; margin-bottom: 1.5rem; padding-bottom: .75rem; }
header.crmlab h1 { margin: 0 0 .25rem 0; font-size: 1.8rem; }
header.crmlab p { margin: 0; color: #52606d; }
h1, h2, h3 { color: #102a43; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .92rem; }
th, td { border-bottom: 1px solid #d9e2ec; padding: .3rem .7rem; text-align: right; }
th { background: #f0f4f8; }
td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; height: auto; }
pre { background: #f5f7fa; padding: .5rem; overflow-x: auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1rem; }
.card { border: 1px solid #d9e2ec; border-radius: 8px; padding: 1rem 1.2rem; }
.card h2 { font-size: 1.2rem; margin: 0 0 .6rem 0; }
.card dl { display: grid; grid-template-columns: auto 1fr; gap: .2rem .8rem; margin: 0 0 .8rem 0; }
.anchor-link { display: none; }
.card dt { font-weight: 700; font-size: 1.15rem; } .card dd { margin: 0; align-self: center; color: #52606d; }
"""


def _page(title: str, subtitle: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{PAGE_CSS}</style>\n</head>\n<body>\n"
        f"<header class=\"crmlab\"><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>\n"
        f"{body}\n</body>\n</html>\n"
    )


def run_subtitle(dataset: str, period: tuple[str, str], run_date: str) -> str:
    return f"Dataset: {dataset} · Data period: {period[0]} to {period[1]} · Run: {run_date}"


def export_html(notebook_path: str | Path, html_path: str | Path, *, title: str, dataset: str,
                period: tuple[str, str], run_date: str) -> Path:
    """Export an executed notebook to one self-contained HTML page for leadership.

    No code cells, no prompts, no parameters or injected-parameters cell, no
    warnings printed to stderr; figures are embedded as data URIs and the
    style sheet is inline, so the file can be mailed on its own.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    from .data import write_atomic

    nb = nbformat.read(str(notebook_path), as_version=4)
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "markdown" and first.source.startswith("# "):
        # The page header carries the title; the notebook's own H1 would repeat it.
        first.source = first.source.split("\n", 1)[1] if "\n" in first.source else ""
    for cell in nb.cells:
        if cell.cell_type == "code":
            # Library warnings are for the analyst's console, not for leadership.
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    exporter = HTMLExporter(template_name="basic", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"parameters", "injected-parameters"}, enabled=True),
        enabled=True)
    body, _ = exporter.from_notebook_node(nb)
    page = _page(title, run_subtitle(dataset, period, run_date), body)
    write_atomic(Path(html_path), lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return Path(html_path)


def write_index(run_dir: str | Path, reports: list[str], metrics: dict[str, Any], *, dataset: str,
                period: tuple[str, str], run_date: str, currency: str = "$") -> Path:
    """The landing page: one card per report with its headline figures and a link."""
    from .data import write_atomic

    cards = []
    for name in reports:
        spec = REPORTS.get(name, {"title": name.title(), "card": []})
        figures = metrics.get(name, {})
        rows = "".join(
            f"<dt>{html.escape(format_value(figures.get(key), kind, currency))}</dt>"
            f"<dd>{html.escape(label)}</dd>"
            for key, label, kind in spec["card"] if key in figures)
        cards.append(f"<section class=\"card\"><h2>{html.escape(spec['title'])}</h2><dl>{rows}</dl>"
                     f"<a href=\"{html.escape(name)}.html\">Read the {html.escape(spec['title'].lower())} "
                     f"report</a></section>")
    body = "<div class=\"cards\">" + "".join(cards) + "</div>"
    page = _page("CRM analytics reports", run_subtitle(dataset, period, run_date), body)
    path = Path(run_dir) / "index.html"
    write_atomic(path, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return path
