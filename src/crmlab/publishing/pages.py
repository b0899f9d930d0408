"""The pages leadership reads: one self-contained HTML page per executed notebook, and the index.

The runner calls :func:`export_html` for each executed notebook and
:func:`write_index` for the landing page, whose cards show each report's
headline figures as the catalog (:mod:`crmlab.core.catalog`) names them.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from crmlab.core.catalog import report
from crmlab.core.words import format_value
from crmlab.core.writing import write_atomic
from crmlab.publishing.history import change_text

PAGE_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2933;
       max-width: 1040px; margin: 2rem auto; padding: 0 1.5rem; line-height: 1.5; font-size: 16px; }
header.crmlab { border-bottom: 2px solid #1f6feb; margin-bottom: 1.5rem; padding-bottom: .75rem; }
header.crmlab h1 { margin: 0 0 .25rem 0; font-size: 1.8rem; }
header.crmlab p { margin: 0; color: #52606d; }
header.crmlab p.internal { color: #b42318; font-weight: 700; margin-top: .4rem; }
h1, h2, h3 { color: #102a43; }
/* A wide table scrolls inside its own box, its first column staying in view; the page never scrolls sideways. */
.output_html { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .92rem; }
th, td { border-bottom: 1px solid #d9e2ec; padding: .3rem .7rem; text-align: right; }
th { background: #f0f4f8; }
td:first-child, th:first-child { text-align: left; }
table.dataframe { width: max-content; max-width: none; }  /* natural widths; the box scrolls, rows stay short */
table.dataframe td { max-width: 26em; }
table.dataframe tr > :first-child { position: sticky; left: 0; background: #f0f4f8; z-index: 1; }
img { max-width: 100%; height: auto; }
pre { background: #f5f7fa; padding: .5rem; overflow-x: auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(300px, 100%), 1fr)); gap: 1rem; }
.card { border: 1px solid #d9e2ec; border-radius: 8px; padding: 1rem 1.2rem; }
.card h2 { font-size: 1.2rem; margin: 0 0 .6rem 0; }
.card dl { display: grid; grid-template-columns: auto 1fr; gap: .2rem .8rem; margin: 0 0 .8rem 0; }
.anchor-link { display: none; }
.card.not-available { background: #f8f9fb; color: #52606d; }
.card dt { font-weight: 700; font-size: 1.15rem; } .card dd { margin: 0; align-self: center; color: #52606d; }
.card .change { display: block; font-size: 0.85rem; color: #7b8794; }
@media (max-width: 640px) {
  body { margin: 1rem auto; padding: 0 .75rem; }
  header.crmlab h1 { font-size: 1.4rem; }
  table { font-size: .85rem; }
  th, td { padding: .25rem .45rem; }
}
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { max-width: none; margin: 0; padding: 0; font-size: 11pt; }
  .output_html { overflow: visible; }
  table.dataframe tr > :first-child { position: static; }
  table.dataframe { width: auto; max-width: 100%; }
  img, tr, .card, .output_png { break-inside: avoid; page-break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
}
"""


INTERNAL = "Internal: not for sharing (small groups are not suppressed)"


def _page(title: str, subtitle: str, body: str, internal: bool = False) -> str:
    banner = f"<p class=\"internal\">{html.escape(INTERNAL)}</p>" if internal else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{PAGE_CSS}</style>\n</head>\n<body>\n"
        f"<header class=\"crmlab\"><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p>{banner}</header>\n"
        f"{body}\n</body>\n</html>\n"
    )


def run_subtitle(dataset: str, period: tuple[str, str], run_date: str) -> str:
    return f"Dataset: {dataset} · Data period: {period[0]} to {period[1]} · Run: {run_date}"


def _until_error(nb) -> None:
    """Keep a stopped notebook's cells up to the one that stopped it, without the error itself.

    For a report the data cannot support: the page is the report's
    introduction and the explanation its first cell displayed.
    """
    from papermill.execute import ERROR_MARKER_TAG

    cells = [c for c in nb.cells if ERROR_MARKER_TAG not in c.metadata.get("tags", [])]
    kept = []
    for cell in cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"]
            kept.append(cell)
            break
        kept.append(cell)
    nb.cells = kept


def export_html(notebook_path: str | Path, html_path: str | Path, *, title: str, dataset: str,
                period: tuple[str, str], run_date: str, until_error: bool = False, internal: bool = False,
                opening: str | None = None) -> Path:
    """Export an executed notebook to one self-contained HTML page for leadership.

    No code cells, no prompts, no parameters or injected-parameters cell, no
    warnings printed to stderr; figures are embedded as data URIs and the
    style sheet is inline, so the file can be mailed on its own. With
    ``until_error``, the page ends at the cell that stopped the notebook and
    leaves out the error (a report the data cannot support). ``opening``
    (Markdown) comes first on the page: what moved since the last run.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    nb = nbformat.read(str(notebook_path), as_version=4)
    if until_error:
        _until_error(nb)
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "markdown" and first.source.startswith("# "):
        # The page header carries the title; the notebook's own H1 would repeat it.
        first.source = first.source.split("\n", 1)[1] if "\n" in first.source else ""
    if opening:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(opening))
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
    page = _page(title, run_subtitle(dataset, period, run_date), body, internal)
    write_atomic(Path(html_path), lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return Path(html_path)


def write_index(run_dir: str | Path, reports: list[str], metrics: dict[str, Any], *, dataset: str,
                period: tuple[str, str], run_date: str, currency: str = "$",
                without_page: list[str] = (), internal: bool = False, previous: dict[str, Any] | None = None) -> Path:
    """The landing page: one card per report with its headline figures and a link.

    A report the data could not support shows why instead of figures;
    ``without_page`` lists those that were not run at all (no page to link).
    ``previous`` is the last successful run's row of the history: each
    figure then says how far it moved since.
    """
    cards = []
    for name in reports:
        spec = report(name)
        figures = metrics.get(name, {})
        link = "" if name in without_page else (
            f"<a href=\"{html.escape(name)}.html\">Read the {html.escape(spec.title.lower())} report</a>")
        if figures.get("status") == "not_available":
            cards.append(f"<section class=\"card not-available\"><h2>{html.escape(spec.title)}</h2>"
                         f"<p><strong>Not available for this dataset:</strong> "
                         f"{html.escape(str(figures.get('reason', '')))}.</p>{link}</section>")
            continue
        def moved(key):
            text = previous and change_text(figures.get(key), previous.get(f"{name}.{key}"), previous["run_date"])
            return f" <span class=\"change\">{html.escape(text)}</span>" if text else ""

        rows = "".join(
            f"<dt>{html.escape(format_value(figures.get(key), kind, currency))}</dt>"
            f"<dd>{html.escape(label)}{moved(key)}</dd>"
            for key, label, kind in spec.card_figures(figures) if key in figures)
        cards.append(f"<section class=\"card\"><h2>{html.escape(spec.title)}</h2><dl>{rows}</dl>{link}</section>")
    body = "<div class=\"cards\">" + "".join(cards) + "</div>"
    page = _page("CRM analytics reports", run_subtitle(dataset, period, run_date), body, internal)
    path = Path(run_dir) / "index.html"
    write_atomic(path, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return path
