"""A report's headline figures: recorded as JSON, compared between runs.

And the page of a report the data cannot support (:func:`not_available_page`).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from crmlab.core.availability import NotAvailable
from crmlab.core.writing import write_json
from crmlab.publishing.display import show


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

    On :class:`crmlab.core.availability.NotAvailable` it shows what was missing and
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
