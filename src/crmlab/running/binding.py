"""A report's notebook bound to a config, for an analyst in JupyterLab: parameters injected, nothing run.

``crmlab notebook REPORT --config FILE`` writes a copy of the report's
notebook with the config's parameters injected after its ``parameters``
cell, as papermill injects them for a scheduled run, and leaves it for the
analyst to run. Its exports go to ``reports/by-hand/<dataset>/exports/``,
never into a published run, and it records no metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crmlab.core.catalog import report
from crmlab.core.config import NOTEBOOKS_DIR, Config
from crmlab.core.writing import write_atomic

# Both below the project folder the command runs in, as configs/ and data/ are.
BY_HAND = Path("reports") / "by-hand"
WORK = Path("notebooks") / "work"


def report_parameters(config: Config, name: str, *, exports_dir: Path, metrics_path: Path | None,
                      share: int = 1) -> dict[str, Any]:
    """The parameters report ``name``'s notebook receives: the config's own for it, and the runner's.

    ``share`` is the number of reports running at the same time, who split
    the engine's memory limit.
    """
    return {
        **config.notebooks.get(name, {}),
        "dataset": config.dataset.name,
        "processed_dir": str(config.processed_dir.resolve()),
        "exports_dir": str(Path(exports_dir).resolve()),
        "metrics_path": None if metrics_path is None else str(Path(metrics_path).resolve()),
        "currency": config.dataset.currency,
        "min_group_customers": config.min_group_customers,
        "engine_settings": config.engine_settings(share=share),
    }


def bind_notebook(config: Config, name: str, *, out_dir: Path | None = None,
                  notebooks_dir: Path = NOTEBOOKS_DIR) -> Path:
    """Write report ``name``'s notebook with ``config``'s parameters injected; returns its path.

    The copy goes to ``out_dir`` (default ``notebooks/work/<dataset>/``).
    """
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    params = report_parameters(config, name, exports_dir=BY_HAND / config.dataset.name / "exports",
                               metrics_path=None)
    # Read as papermill reads what it runs (every cell given its tags), so the injection lands where it does.
    notebook = load_notebook_node(str(Path(notebooks_dir) / f"{name}.ipynb"))
    bound = parameterize_notebook(notebook, params, comment=f"Parameters of {config.path or 'the config'}")
    bound.metadata.setdefault("crmlab", {})["bound_to"] = {"report": report(name).name,
                                                          "dataset": config.dataset.name}
    target = Path(out_dir or WORK / config.dataset.name) / f"{name}.ipynb"
    write_atomic(target, lambda tmp: nbformat.write(bound, tmp))
    return target
