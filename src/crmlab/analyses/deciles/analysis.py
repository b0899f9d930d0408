"""The deciles report's analysis: customer value deciles, ABC classes and migration."""

from __future__ import annotations

import pandas as pd

from crmlab import engine
from crmlab.analyses.deciles.tables import (
    N_DECILES,
    abc_classes,
    abc_migration,
    customer_export,
    customer_values,
    deal_only,
    deal_only_table,
    lorenz_curve,
    migration_matrix,
    monetary_deciles,
    pareto_ratio,
    purchase_deciles,
    split_date,
    summarize,
    value_migration,
)
from crmlab.core.constraints import DateLike, Interval, ListOf, Options, validate


class CustomerValueAnalysis:
    """All of the value analysis in one fit, for the notebook and for scripts.

    Parameters
    ----------
    margin_rate : float, optional
        Gross margin as a share of revenue; adds margin shares and the profitability test.
        A ``cost`` column in the transactions takes precedence.
    abc_method : str
        ``customer_share`` (A = top 5%, B = next 15%) or ``value_share`` (80/15/5).
    abc_cuts : list of two floats, optional
        The A and B cut points, overriding the method's defaults.
    split_at : str, optional
        Start of the second period for value migration; the middle of the window by default.
    decline_steps : int
        Deciles a customer must fall to count as declining.
    deal_discount_rate, deal_order_share : float
        Deal-only thresholds: discount rate above the first and a share of
        discounted orders above the second.

    Attributes
    ----------
    values_ : DataFrame
        Per customer values (see :func:`customer_values`).
    abc_classes_ : Series
    split_date_ : Timestamp
    migration_ : DataFrame
        Per customer deciles in both periods and the ``declining`` flag.
    deal_only_ : Series or None
        None when the data has no discount column.
    metrics_ : dict
        The figures recorded in ``metrics.json``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": range(20), "order_id": range(20),
    ...                    "order_date": pd.date_range("2020-01-01", periods=20, freq="D"),
    ...                    "revenue": [float(i + 1) for i in range(20)]})
    >>> analysis = CustomerValueAnalysis().fit(tx)
    >>> round(analysis.metrics_["top10_revenue_share"], 3)
    0.186
    """

    _parameter_constraints = {
        "margin_rate": [Interval(float, 0, 1, closed="right"), None],
        "abc_method": [Options({"customer_share", "value_share"})],
        "abc_cuts": [ListOf(Interval(float, 0, 1, closed="neither"), length=2, increasing=True), None],
        "split_at": [DateLike(), None],
        "decline_steps": [Interval(int, 1, N_DECILES)],
        "deal_discount_rate": [Interval(float, 0, 1)],
        "deal_order_share": [Interval(float, 0, 1)],
    }

    def __init__(self, *, margin_rate: float | None = None, abc_method: str = "customer_share",
                 abc_cuts: list[float] | None = None, split_at: str | None = None, decline_steps: int = 2,
                 deal_discount_rate: float = 0.3, deal_order_share: float = 0.5):
        self.margin_rate = margin_rate
        self.abc_method = abc_method
        self.abc_cuts = abc_cuts
        self.split_at = split_at
        self.decline_steps = decline_steps
        self.deal_discount_rate = deal_discount_rate
        self.deal_order_share = deal_order_share

    def fit(self, transactions) -> "CustomerValueAnalysis":
        """``transactions``: anything :func:`crmlab.engine.lines` takes; the engine groups the lines."""
        validate(self)
        transactions = engine.lines(transactions)
        self.values_ = customer_values(transactions, self.margin_rate)
        cuts = tuple(self.abc_cuts) if self.abc_cuts else None
        self.abc_classes_ = abc_classes(self.values_["revenue"], self.abc_method, cuts)
        self.split_date_ = split_date(transactions, self.split_at)
        self.migration_ = value_migration(transactions, self.split_date_, self.decline_steps, self.margin_rate)
        self.deal_only_ = (deal_only(self.values_, self.deal_discount_rate, self.deal_order_share)
                           if "discount_rate" in self.values_.columns else None)
        self.metrics_ = summarize(self.values_, self.migration_, self.abc_classes_, self.deal_only_)
        return self

    def decile_table(self, by: str = "revenue") -> pd.DataFrame:
        """Monetary deciles by revenue, or by ``margin`` when a margin is configured."""
        return monetary_deciles(self.values_, by=by)

    @property
    def has_margin(self) -> bool:
        return "margin" in self.values_.columns

    def purchase_table(self) -> pd.DataFrame:
        return purchase_deciles(self.values_["revenue"])

    def lorenz(self) -> pd.DataFrame:
        return lorenz_curve(self.values_["revenue"])

    def pareto(self) -> float:
        return pareto_ratio(self.values_["revenue"])

    def decile_migration(self) -> pd.DataFrame:
        return migration_matrix(self.migration_)

    def abc_migration(self) -> pd.DataFrame:
        return migration_matrix(abc_migration(self.migration_), "abc")

    def deal_only_table(self) -> pd.DataFrame | None:
        """Deal-only against everyone else, or None when the data has no discount column."""
        return None if self.deal_only_ is None else deal_only_table(self.values_, self.deal_only_)

    def export(self) -> pd.DataFrame:
        """customer -> decile, ABC class, declining flag, deal-only flag, for activation."""
        return customer_export(self.values_, self.abc_classes_, self.migration_, self.deal_only_)
