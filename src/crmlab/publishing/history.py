"""What changed since the last run: each successful run's headline figures, one row per run, in ``history.csv``.

A scheduled run every Monday shows this week's figures; the history says
how far each moved since the previous successful run of the same config,
on the index cards and at the top of each report page. A failed run adds
no row.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from crmlab.core.writing import write_atomic

HISTORY = "history.csv"
KEYS = ["config", "run", "run_date"]
# Figures that measure the machine, not the business.
TIMINGS = {"mining_seconds", "offers_seconds"}
# A move smaller than this (relative) is not worth a sentence at the top of a report page.
MATERIAL = 0.01


def headline_figures(metrics: dict[str, Any]) -> dict[str, float]:
    """Each report's top-level numeric figures (its card's among them), as ``report.figure``.

    Examples
    --------
    >>> headline_figures({"deciles": {"status": "ok", "customers": 190, "gini": 0.5, "abc_counts": {"A": 10}},
    ...                   "clv": {"status": "not_available", "reason": "one day"}})
    {'deciles.customers': 190, 'deciles.gini': 0.5}
    """
    out = {}
    for report, figures in metrics.items():
        if not isinstance(figures, dict) or figures.get("status") != "ok":
            continue
        for key, value in figures.items():
            if key not in TIMINGS and isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"{report}.{key}"] = value
    return out


def read_history(out_dir: str | Path) -> pd.DataFrame:
    """Every successful run's row, oldest first (an empty table before the first)."""
    path = Path(out_dir) / HISTORY
    return pd.read_csv(path) if path.exists() else pd.DataFrame(columns=KEYS)


def previous_run(out_dir: str | Path, config: str) -> dict[str, Any] | None:
    """The last successful run of ``config``: its row as a mapping, or None when it has none."""
    history = read_history(out_dir)
    rows = history[history["config"] == config]
    return None if rows.empty else rows.iloc[-1].to_dict()


def append_run(out_dir: str | Path, *, config: str, run: str, run_date: str, metrics: dict[str, Any]) -> Path:
    """Add a successful run's row (figures it lacks stay empty; new figures become new columns)."""
    history = read_history(out_dir)
    row = pd.DataFrame([{"config": config, "run": run, "run_date": run_date, **headline_figures(metrics)}])
    table = pd.concat([history, row], ignore_index=True) if len(history) else row
    path = Path(out_dir) / HISTORY
    write_atomic(path, lambda tmp: table.to_csv(tmp, index=False))
    return path


def change(now: Any, before: Any) -> float | None:
    """The relative move from ``before`` to ``now``; None when either is missing or ``before`` is 0.

    Examples
    --------
    >>> round(change(103.1, 100.0), 3), change(5, 0), change(None, 2.0)
    (0.031, None, None)
    """
    try:
        now, before = float(now), float(before)
    except (TypeError, ValueError):
        return None
    if math.isnan(now) or math.isnan(before) or before == 0:
        return None
    return now / before - 1


def change_text(now: Any, before: Any, since: str) -> str | None:
    """``▲ 3.1% since 2026-11-30``, ``▼ ...`` or ``unchanged since ...``; None when there is nothing to compare.

    Examples
    --------
    >>> change_text(103.1, 100.0, "2026-11-30"), change_text(95, 100, "2026-11-30"), change_text(4, 4, "2026-11-30")
    ('▲ 3.1% since 2026-11-30', '▼ 5.0% since 2026-11-30', 'unchanged since 2026-11-30')
    """
    moved = change(now, before)
    if moved is None:
        return None
    if abs(moved) < 0.0005:
        return f"unchanged since {since}"
    return f"{'▲' if moved > 0 else '▼'} {abs(moved) * 100:.1f}% since {since}"


def material_changes(report: str, figures: dict[str, Any], previous: dict[str, Any] | None,
                     labels: dict[str, str]) -> str | None:
    """One sentence of the report's card figures that moved by at least 1% since the previous run, or None."""
    if not previous:
        return None
    parts = []
    for key, label in labels.items():
        moved = change(figures.get(key), previous.get(f"{report}.{key}"))
        if moved is not None and abs(moved) >= MATERIAL:
            parts.append(f"{label} {'up' if moved > 0 else 'down'} {abs(moved) * 100:.1f}%")
    if not parts:
        return None
    return f"**Since the run of {previous['run_date']}:** " + "; ".join(parts) + "."
