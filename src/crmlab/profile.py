"""The customer records profile: what the data holds, before any model.

The engine (:mod:`crmlab.engine.customers`) reduces the canonical lines to
one row per customer, per month and per column; pure functions turn those
into the report's tables and figures, and :class:`ProfileAnalysis`, which the
profile notebook fits and shows, runs both.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from . import engine
from .constraints import Interval, ListOf, validate
from .data import DROP_REASONS
from .engine import customers as customer_tables
from .ranking import top_share
from .report import money, number, pct


def summarize(window: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """The profile's headline figures, as recorded in ``metrics.json``.

    ``window`` is :func:`crmlab.engine.customers.extent` of the lines.

    Examples
    --------
    >>> from crmlab import engine
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "order_id": [10, 11, 12],
    ...                    "order_date": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-02-03"]),
    ...                    "revenue": [5.0, 7.0, 1.5]})
    >>> window = engine.customers.extent(engine.lines(tx))
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

    ``months`` is :func:`crmlab.engine.customers.monthly_activity`, ``activity``
    :func:`crmlab.engine.customers.customer_activity`.
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
    :func:`crmlab.engine.customers.customer_activity`.
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

    ``missing`` counts lines with a missing value per column (:func:`crmlab.engine.customers.missing_values`).
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


def headline(summary: dict[str, Any], orders: pd.Series, currency: str = "$") -> str:
    """One sentence with the profile's key figures, for the top of the report."""
    dropped = sum(summary["dropped_lines"].values())
    return (
        f"**{number(summary['customers'])} customers placed {number(summary['orders'])} orders "
        f"worth {money(summary['revenue'], currency)} between {summary['first_date']} and "
        f"{summary['last_date']}; the busiest 20% of customers placed "
        f"{pct(top_share(orders, 0.2))} of the orders.** "
        f"{number(dropped)} input lines were set aside as unusable or as returns."
    )


def orders_caption(orders: pd.Series) -> str:
    one = float((orders == 1).mean())
    return (f"How many orders each customer placed: the median customer placed "
            f"{number(orders.median())} orders, and {pct(one)} bought only once.")


def new_customers_caption(monthly: pd.DataFrame) -> str:
    first = monthly.iloc[0]
    later = monthly["new_customers"].iloc[1:]
    tail = (f"; after that, {number(later.mean())} new customers a month on average"
            if len(later) else "")
    return (f"Customers by month of their first purchase in the data: {number(first['new_customers'])} "
            f"first appear in {first['month']}, the start of the data{tail}.")


def revenue_caption(monthly: pd.DataFrame, currency: str = "$") -> str:
    best = monthly.loc[monthly["revenue"].idxmax()]
    worst = monthly.loc[monthly["revenue"].idxmin()]
    return (f"Revenue per calendar month: highest in {best['month']} "
            f"({money(best['revenue'], currency)}), lowest in {worst['month']} "
            f"({money(worst['revenue'], currency)}); a partial first or last month shows as a dip.")


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


def master_caption(customers: pd.DataFrame) -> str:
    extra = [c for c in customers.columns if c not in (
        "customer_id", "first_purchase", "last_purchase", "orders", "lines", "revenue", "discount",
        "tenure_days", "days_since_last_purchase")]
    coverage = ""
    if extra:
        covered = customers[extra].notna().any(axis=1).mean()
        coverage = f" Demographics ({', '.join(extra)}) are known for {pct(covered)} of them."
    return f"{number(len(customers))} customers written to `customers.parquet` in the run's exports.{coverage}"


class ProfileAnalysis:
    """The profile notebook's analysis: headline figures, order bands, months, quality, the customer master.

    Parameters
    ----------
    orders_bands : list of int
        Lower bounds of the bands of orders per customer (see :func:`order_bands`).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "order_id": [10, 11, 12],
    ...                    "order_date": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-02-03"]),
    ...                    "revenue": [5.0, 7.0, 1.5]})
    >>> ProfileAnalysis(orders_bands=[1, 2]).fit(tx).order_bands().to_dict()
    {'1': 1, '2+': 1}
    """

    _parameter_constraints = {
        "orders_bands": [ListOf(Interval(int, 1, None), increasing=True, min_length=1)],
    }

    def __init__(self, *, orders_bands=(1, 2, 3, 4, 6, 11, 21, 51, 101, 201)):
        self.orders_bands = orders_bands

    def fit(self, transactions, manifest: dict[str, Any] | None = None,
            attributes: pd.DataFrame | None = None) -> "ProfileAnalysis":
        """``manifest`` (what preparation set aside) and ``attributes`` (demographics) are optional.

        ``transactions`` is anything :func:`crmlab.engine.lines` takes; the engine groups the lines.
        """
        validate(self)
        t = engine.lines(transactions)
        self.manifest_ = manifest or {}
        window = customer_tables.extent(t)
        activity = customer_tables.customer_activity(t)
        self.orders_ = activity["orders"]
        self.metrics_ = summarize(window, self.manifest_)
        self.monthly_ = monthly_activity(customer_tables.monthly_activity(t), activity)
        self.quality_ = quality_table(self.manifest_, customer_tables.missing_values(t), window["lines"])
        self.customers_ = customer_master(activity, attributes)
        return self

    def headline(self, currency: str = "$") -> str:
        return headline(self.metrics_, self.orders_, currency)

    def key_figures(self, currency: str = "$") -> pd.DataFrame:
        return key_figures(self.metrics_, currency)

    def order_bands(self) -> pd.Series:
        return order_bands(self.orders_, list(self.orders_bands))

    def orders_caption(self) -> str:
        return orders_caption(self.orders_)

    def new_customers_caption(self) -> str:
        return new_customers_caption(self.monthly_)

    def revenue_caption(self, currency: str = "$") -> str:
        return revenue_caption(self.monthly_, currency)

    def quality_notes(self) -> str:
        """The preparation's notes as a Markdown list (empty when there are none)."""
        return "\n".join(f"- {note}" for note in self.manifest_.get("quality", {}).get("notes", []))

    def master_caption(self) -> str:
        return master_caption(self.customers_)

    def export(self) -> pd.DataFrame:
        """The customer master: one row per customer, with demographics where known."""
        return self.customers_
