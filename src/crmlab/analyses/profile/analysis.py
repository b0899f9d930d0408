"""The profile report's analysis: who the customers are and what the data holds."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmlab import engine
from crmlab.analyses.profile.tables import (
    customer_master,
    monthly_activity,
    quality_table,
    summarize,
)
from crmlab.core.constraints import Interval, ListOf, validate
from crmlab.engine import customer_tables


class ProfileAnalysis:
    """The profile notebook's analysis: headline figures, order bands, months, quality, the customer master.

    Parameters
    ----------
    orders_bands : list of int
        Lower bounds of the bands of orders per customer (see :func:`crmlab.analyses.profile.tables.order_bands`).

    Attributes
    ----------
    manifest_ : dict
        The prepared dataset's manifest (sources, checksums, quality).
    orders_ : Series
        Orders per customer.
    monthly_ : DataFrame
        Per calendar month: new customers, active customers, orders and revenue.
    quality_ : DataFrame
        Lines set aside by reason, and missing values by column.
    customers_ : DataFrame
        The customer master: one row per customer, with demographics where known.
    metrics_ : dict
        The figures recorded in ``metrics.json``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "order_id": [10, 11, 12],
    ...                    "order_date": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-02-03"]),
    ...                    "revenue": [5.0, 7.0, 1.5]})
    >>> ProfileAnalysis(orders_bands=[1, 2]).fit(tx).orders_.to_dict()
    {1: 2, 2: 1}
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

    def export(self) -> pd.DataFrame:
        """The customer master: one row per customer, with demographics where known."""
        return self.customers_
