"""The profile report's tables: the window, order bands, monthly activity, the customer master, quality."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmlab.core.words import money, number, pct
from crmlab.data import DROP_REASONS


def summarize(window: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """The profile's headline figures, as recorded in ``metrics.json``.

    ``window`` is :func:`crmlab.engine.customer_tables.extent` of the lines.

    Examples
    --------
    >>> from crmlab import engine
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "order_id": [10, 11, 12],
    ...                    "order_date": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-02-03"]),
    ...                    "revenue": [5.0, 7.0, 1.5]})
    >>> window = engine.customer_tables.extent(engine.lines(tx))
    >>> summarize(window, {"quality": {"dropped": {"duplicate": 2}}})["revenue"]
    13.5
    """
    dropped = dict(manifest.get("quality", {}).get("dropped", {}))
    return {
        "customers": int(window["customers"]),
        "orders": int(window["orders"]),
        "lines": int(window["lines"]),
        "revenue": round(float(window["revenue"]), 2),
        "first_date": window["first_date"].date().isoformat(),
        "last_date": window["last_date"].date().isoformat(),
        "dropped_lines": {reason: int(dropped.get(reason, 0)) for reason in DROP_REASONS},
    }


def order_bands(orders: pd.Series, lower_bounds: list[int]) -> pd.Series:
    """Customers per band of order counts; each band starts at one of ``lower_bounds``.

    Examples
    --------
    >>> order_bands(pd.Series([1, 1, 2, 7, 40]), [1, 2, 3, 6, 11]).to_dict()
    {'1': 2, '2': 1, '3-5': 0, '6-10': 1, '11+': 1}
    """
    bounds = sorted(set(lower_bounds))
    edges = bounds + [float("inf")]
    labels = [str(lo) if hi - lo == 1 else (f"{lo}+" if hi == float("inf") else f"{lo}-{hi - 1}")
              for lo, hi in zip(edges[:-1], edges[1:])]
    banded = pd.cut(orders, bins=edges, right=False, labels=labels)
    return banded.value_counts().reindex(labels, fill_value=0).rename("customers")


def monthly_activity(months: pd.DataFrame, activity: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month: new customers (first purchase that month), active customers, orders, revenue.

    ``months`` is :func:`crmlab.engine.customer_tables.monthly_activity`, ``activity``
    :func:`crmlab.engine.customer_tables.customer_activity`.
    """
    table = months.copy()
    table.index = table.index.to_period("M")
    first_month = activity["first_purchase"].dt.to_period("M")
    table["new_customers"] = first_month.value_counts().reindex(table.index, fill_value=0)
    table.index = table.index.rename("month")
    return table.reset_index()


def customer_master(activity: pd.DataFrame, attributes: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per customer: first and last purchase, tenure, orders, lines, revenue, attributes.

    ``tenure_days`` counts from the first purchase to the end of the data, the
    age of the relationship as the data sees it. ``activity`` is
    :func:`crmlab.engine.customer_tables.customer_activity`.
    """
    end = activity["last_purchase"].max()
    columns = ["first_purchase", "last_purchase", "orders", "lines", "revenue"]
    master = activity[columns + (["discount"] if "discount" in activity.columns else [])].copy()
    master["tenure_days"] = (end - master["first_purchase"]).dt.days
    master["days_since_last_purchase"] = (end - master["last_purchase"]).dt.days
    master = master.reset_index()
    if attributes is not None:
        master = master.merge(attributes, on="customer_id", how="left")
    return master


def quality_table(manifest: dict[str, Any], missing: pd.Series, lines: int) -> pd.DataFrame:
    """Lines dropped by reason and missing values by column, with their share of input lines.

    ``missing`` counts lines with a missing value per column (:func:`crmlab.engine.customer_tables.missing_values`).
    """
    quality = manifest.get("quality", {})
    total = max(int(quality.get("input_lines", lines)), 1)
    rows = [{"finding": f"dropped: {DROP_REASONS[reason]}", "lines": int(n)}
            for reason, n in quality.get("dropped", {}).items() if reason in DROP_REASONS]
    if quality.get("duplicates_kept"):
        rows.append({"finding": "kept: exact duplicate lines (genuine repeat purchases)",
                     "lines": int(quality["duplicates_kept"])})
    for column, n in missing.items():
        rows.append({"finding": f"missing value: {column}", "lines": int(n)})
    table = pd.DataFrame(rows)
    table["share of input lines"] = (table["lines"] / total).map(lambda s: pct(s, 2))
    return table.set_index("finding")


def key_figures(summary: dict[str, Any], currency: str = "$") -> pd.DataFrame:
    """The headline figures as a two-column table for the report."""
    rows = [
        ("Customers", number(summary["customers"])),
        ("Orders", number(summary["orders"])),
        ("Order lines", number(summary["lines"])),
        ("Revenue", money(summary["revenue"], currency)),
        ("Orders per customer", f"{summary['orders'] / summary['customers']:.1f}"),
        ("Average order value", money(summary["revenue"] / summary["orders"], currency)),
        ("First purchase in the data", summary["first_date"]),
        ("Last purchase in the data", summary["last_date"]),
    ]
    return pd.DataFrame(rows, columns=["figure", "value"]).set_index("figure").rename_axis(None)
