"""Customer values, deciles, ABC classes, concentration, migration and deal-only customers, as tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlab import engine
from crmlab.core.ranking import cut_by_share, equal_groups, share_ranked_above, top_share
from crmlab.engine import customer_tables

N_DECILES = 10


def customer_values(transactions, margin_rate: float | None = None) -> pd.DataFrame:
    """One row per customer: revenue, orders, discount and, when configured, gross margin.

    Parameters
    ----------
    transactions : DataFrame, Ibis table or prepared dataset folder
        The canonical lines (``customer_id``, ``order_id``, ``revenue``;
        ``discount`` and ``cost`` optional), grouped in the engine
        (:func:`crmlab.engine.customer_tables.order_values`).
    margin_rate : float, optional
        Gross margin as a share of revenue, e.g. 0.3. When the table has a
        ``cost`` column, margin is revenue minus cost instead.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` with ``revenue``, ``orders``, ``average_order_value``
        and, where available, ``discount``, ``discount_rate``, ``discounted_order_share``, ``margin``.
    """
    return values_from_orders(customer_tables.order_values(engine.lines(transactions), cost=True), margin_rate)


def values_from_orders(orders: pd.DataFrame, margin_rate: float | None = None) -> pd.DataFrame:
    """:func:`customer_values` from the engine's per-customer order totals."""
    values = orders[["revenue", "orders"]].copy()
    values["average_order_value"] = values["revenue"] / values["orders"]
    if "discount" in orders.columns:
        values["discount"] = orders["discount"]
        paid_plus_discount = values["revenue"] + values["discount"]
        values["discount_rate"] = (values["discount"] / paid_plus_discount.where(paid_plus_discount > 0)).fillna(0.0)
        values["discounted_order_share"] = orders["discounted_orders"] / orders["orders"]
    if "cost" in orders.columns:
        values["margin"] = values["revenue"] - orders["cost"]
    elif margin_rate is not None:
        values["margin"] = values["revenue"] * margin_rate
    return values


def assign_deciles(values: pd.Series, n: int = N_DECILES) -> pd.Series:
    """Cut customers into ``n`` groups of equal size (sizes differ by at most one); 1 is the top.

    Ranking and ties follow :mod:`crmlab.core.ranking`.

    Examples
    --------
    >>> assign_deciles(pd.Series([5.0, 1.0, 5.0, 3.0], index=[10, 11, 12, 13]), n=2).tolist()
    [1, 2, 1, 2]
    """
    return equal_groups(values, n).rename("decile")


def monetary_deciles(values: pd.DataFrame, by: str = "revenue", n: int = N_DECILES) -> pd.DataFrame:
    """Per decile of customers ranked by ``by``: size, revenue and its shares, margin share, orders, AOV.

    Shares are exact sums of customer values divided by the total, so the
    table adds up to the totals.
    """
    decile = assign_deciles(values[by], n)
    grouped = values.groupby(decile)
    table = pd.DataFrame({"customers": grouped.size(), "revenue": grouped["revenue"].sum(),
                          "orders": grouped["orders"].sum()})
    table["revenue_share"] = table["revenue"] / values["revenue"].sum()
    table["cumulative_revenue_share"] = table["revenue_share"].cumsum()
    if "margin" in values.columns:
        table["margin"] = grouped["margin"].sum()
        table["margin_share"] = table["margin"] / values["margin"].sum()
    table["orders_per_customer"] = table["orders"] / table["customers"]
    table["average_order_value"] = table["revenue"] / table["orders"]
    if "discount" in values.columns:
        paid_plus_discount = grouped["revenue"].sum() + grouped["discount"].sum()
        table["average_discount_rate"] = grouped["discount"].sum() / paid_plus_discount
    table.index.name = "decile"
    return table


def customers_for_revenue(values: pd.Series, share_of_revenue: float) -> int:
    """The fewest top customers whose value reaches ``share_of_revenue`` of the total."""
    ranked = np.sort(values.to_numpy())[::-1]
    cumulative = np.cumsum(ranked) / ranked.sum()
    # A tolerance, so that 0.1 of a total made of cents is not missed by rounding.
    return int(np.searchsorted(cumulative, share_of_revenue - 1e-12) + 1)


def purchase_band(values: pd.Series, n: int = N_DECILES) -> pd.Series:
    """Each customer's tenth of revenue: the tenth in which their first unit of revenue falls."""
    before = share_ranked_above(values).to_numpy()
    band = np.minimum((before * n + 1e-9).astype(int) + 1, n)
    return pd.Series(band, index=values.index, name="revenue_tenth")


def purchase_deciles(values: pd.Series, n: int = N_DECILES) -> pd.DataFrame:
    """The inverse cut: how many customers make each tenth of revenue, largest customers first.

    A customer belongs to the tenth in which their first unit of revenue falls.
    """
    counts = purchase_band(values, n).value_counts().reindex(range(1, n + 1), fill_value=0)
    table = pd.DataFrame({"customers": counts.to_numpy()}, index=pd.RangeIndex(1, n + 1, name="revenue_tenth"))
    table["customer_share"] = table["customers"] / len(values)
    table["cumulative_customer_share"] = table["customer_share"].cumsum()
    table["revenue_band"] = [f"{(k - 1) * 100 // n}-{k * 100 // n}%" for k in table.index]
    return table


def abc_classes(values: pd.Series, method: str = "customer_share",
                cuts: tuple[float, float] | None = None) -> pd.Series:
    """Classes A, B, C by customer share (default A = top 5%, B = next 15%) or by value share (80/15/5).

    By value share, a customer is in A while the value of the customers
    ranked above them is below the first cut, so A always holds the customer
    who crosses it.
    """
    if method == "customer_share":
        # The same cut as every "top x%" in the kit (crmlab.core.ranking), so class A is the CLV top tier.
        return cut_by_share(values, cuts or (0.05, 0.20), ["A", "B", "C"]).rename("abc_class")
    if method != "value_share":
        raise ValueError(f"abc method {method!r}: use 'customer_share' or 'value_share'")
    a, b = cuts or (0.80, 0.95)
    position = share_ranked_above(values).to_numpy()
    classes = np.where(position < a - 1e-12, "A", np.where(position < b - 1e-12, "B", "C"))
    return pd.Series(classes, index=values.index, name="abc_class")


def abc_table(values: pd.DataFrame, classes: pd.Series) -> pd.DataFrame:
    grouped = values.groupby(classes)
    table = pd.DataFrame({"customers": grouped.size(), "revenue": grouped["revenue"].sum()})
    table = table.reindex(["A", "B", "C"], fill_value=0)
    table["customer_share"] = table["customers"] / len(values)
    table["revenue_share"] = table["revenue"] / values["revenue"].sum()
    if "margin" in values.columns:
        table["margin_share"] = grouped["margin"].sum().reindex(table.index, fill_value=0) / values["margin"].sum()
    table.index.name = "abc_class"
    return table


def lorenz_curve(values: pd.Series) -> pd.DataFrame:
    """Cumulative share of customers (smallest first) against cumulative share of value, from (0, 0)."""
    ordered = np.sort(values.to_numpy())
    cumulative = np.concatenate([[0.0], np.cumsum(ordered)]) / ordered.sum()
    customers = np.arange(len(ordered) + 1) / len(ordered)
    return pd.DataFrame({"customer_share": customers, "value_share": cumulative})


def gini(values: pd.Series) -> float:
    """Gini coefficient of the values: 0 when all are equal, towards 1 when one customer has all.

    Examples
    --------
    >>> gini(pd.Series([1.0, 1.0, 1.0, 1.0]))
    0.0
    >>> round(gini(pd.Series([0.0, 0.0, 0.0, 4.0])), 2)
    0.75
    """
    curve = lorenz_curve(values)
    x, y = curve["customer_share"].to_numpy(), curve["value_share"].to_numpy()
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
    # Within [0, 1]: for equal values the sum of the trapezoids can come out a rounding above 1/2
    # (eleven customers of 0.01 gave -2.2e-16), and a negative Gini reads as a mistake.
    return min(1.0, max(0.0, 1.0 - 2.0 * area))


def pareto_ratio(values: pd.Series, value_share: float = 0.8) -> float:
    """Share of customers who make ``value_share`` of the value (the 'x' in x/80)."""
    return customers_for_revenue(values, value_share) / len(values)


def split_date(transactions, at: str | None = None) -> pd.Timestamp:
    """The configured split point, or the middle of the window."""
    if at:
        return pd.Timestamp(at)
    window = customer_tables.extent(engine.lines(transactions))
    start, end = window["first_date"], window["last_date"]
    return (start + (end - start) / 2).normalize()


def value_migration(transactions, at: pd.Timestamp, decline_steps: int = 2,
                    margin_rate: float | None = None) -> pd.DataFrame:
    """Each customer's decile in the two periods before and from ``at``.

    Customers without purchases in a period get decile 11 ("no purchase").
    A customer is *declining* when they still buy in period 2, are still
    profitable (positive margin, or revenue when no margin is configured),
    and fell ``decline_steps`` deciles or more.
    """
    t = engine.lines(transactions)
    period_values = {
        "period1": values_from_orders(customer_tables.order_values(t, before=at, cost=True), margin_rate),
        "period2": values_from_orders(customer_tables.order_values(t, from_=at, cost=True), margin_rate),
    }
    customers = period_values["period1"].index.union(period_values["period2"].index).sort_values()
    table = pd.DataFrame(index=pd.Index(customers, name="customer_id"))
    for label, values in period_values.items():
        table[f"{label}_revenue"] = values["revenue"].reindex(table.index, fill_value=0.0)
        deciles = assign_deciles(values["revenue"]) if len(values) else pd.Series(dtype="int64")
        table[f"{label}_decile"] = deciles.reindex(table.index).fillna(N_DECILES + 1).astype(int)
    second_values = period_values["period2"]
    measure = "margin" if "margin" in second_values.columns else "revenue"
    still_profitable = second_values[measure].reindex(table.index, fill_value=0.0) > 0
    table["declining"] = (still_profitable & (table["period2_decile"] <= N_DECILES)
                          & (table["period2_decile"] - table["period1_decile"] >= decline_steps))
    return table


def migration_matrix(migration: pd.DataFrame, column: str = "decile") -> pd.DataFrame:
    """Customers by period-1 group (rows) and period-2 group (columns)."""
    matrix = pd.crosstab(migration[f"period1_{column}"], migration[f"period2_{column}"])
    if column == "decile":
        labels = list(range(1, N_DECILES + 2))
        matrix = matrix.reindex(index=labels, columns=labels, fill_value=0)
        names = {N_DECILES + 1: "none"}
        matrix = matrix.rename(index=names, columns=names)
    matrix.index.name, matrix.columns.name = "period 1", "period 2"
    return matrix


def abc_migration(migration: pd.DataFrame) -> pd.DataFrame:
    """ABC classes (by customer share) in each period, "none" for customers without purchases."""
    out = migration.copy()
    for label in ("period1", "period2"):
        buyers = out.loc[out[f"{label}_revenue"] > 0, f"{label}_revenue"]
        classes = abc_classes(buyers)
        out[f"{label}_abc"] = classes.reindex(out.index).fillna("none")
    return out


def deal_only(values: pd.DataFrame, discount_rate: float = 0.30, discounted_order_share: float = 0.5) -> pd.Series:
    """Customers who buy on price: discount rate above the threshold and most orders discounted."""
    return ((values["discount_rate"] > discount_rate)
            & (values["discounted_order_share"] > discounted_order_share)).rename("deal_only")


def summarize(values: pd.DataFrame, migration: pd.DataFrame, classes: pd.Series,
              deal: pd.Series | None) -> dict[str, Any]:
    """The metrics recorded in ``metrics.json`` under ``deciles``."""
    revenue = values["revenue"]
    table = monetary_deciles(values)
    declining = migration["declining"]
    metrics = {
        "customers": int(len(values)),
        "revenue_total": round(float(revenue.sum()), 2),
        "top10_revenue_share": top_share(revenue, 0.10),
        "top20_revenue_share": top_share(revenue, 0.20),
        "gini": gini(revenue),
        "customers_for_first_10pct_revenue": customers_for_revenue(revenue, 0.10) / len(values),
        "decile_revenue_share": [float(s) for s in table["revenue_share"]],
        "abc_counts": {k: int(v) for k, v in classes.value_counts().reindex(["A", "B", "C"], fill_value=0).items()},
        "declining_customers": int(declining.sum()),
        "declining_revenue": round(float(migration.loc[declining, "period1_revenue"].sum()), 2),
        "deal_only_customers": None,
        "deal_only_revenue_share": None,
    }
    if deal is not None:
        metrics["deal_only_customers"] = int(deal.sum())
        metrics["deal_only_revenue_share"] = float(revenue[deal].sum() / revenue.sum())
    return metrics


def customer_export(values: pd.DataFrame, classes: pd.Series, migration: pd.DataFrame,
                    deal: pd.Series | None) -> pd.DataFrame:
    """customer -> decile, ABC class, declining flag, deal-only flag, for activation."""
    out = pd.DataFrame({"decile": assign_deciles(values["revenue"]), "abc_class": classes,
                        "revenue": values["revenue"]})
    out["declining"] = migration["declining"].reindex(out.index, fill_value=False)
    out["deal_only"] = deal.reindex(out.index) if deal is not None else pd.NA
    return out.reset_index()


def target_groups(values: pd.DataFrame, migration: pd.DataFrame) -> pd.DataFrame:
    """The three groups relationship marketing targets, with their size and value.

    (a) the customers who make the first 10% of revenue; (b) those who make
    the next 40% (to 50%), the base to grow; (c) customers who still buy but
    are declining (see :func:`value_migration`).
    """
    bands = purchase_band(values["revenue"])
    groups = {
        "(a) first 10% of revenue": bands == 1,
        "(b) next 40% of revenue": bands.between(2, 5),
        "(c) still buying but declining": migration["declining"].reindex(values.index, fill_value=False),
    }
    total_revenue = values["revenue"].sum()
    rows = []
    for name, mask in groups.items():
        row = {"group": name, "customers": int(mask.sum()), "customer_share": mask.mean(),
               "revenue_share": values.loc[mask, "revenue"].sum() / total_revenue}
        if "margin" in values.columns:
            row["margin_share"] = values.loc[mask, "margin"].sum() / values["margin"].sum()
        rows.append(row)
    return pd.DataFrame(rows).set_index("group")


def deal_only_table(values: pd.DataFrame, deal: pd.Series) -> pd.DataFrame:
    """Deal-only customers against the rest: count, revenue share, margin share, discount rate."""
    rows = []
    for name, mask in (("deal-only", deal), ("everyone else", ~deal)):
        row = {"customers": int(mask.sum()),
               "revenue_share": values.loc[mask, "revenue"].sum() / values["revenue"].sum(),
               "discount_rate": values.loc[mask, "discount"].sum()
               / (values.loc[mask, "revenue"].sum() + values.loc[mask, "discount"].sum()),
               "discounted_order_share": values.loc[mask, "discounted_order_share"].mean()}
        if "margin" in values.columns:
            row["margin_share"] = values.loc[mask, "margin"].sum() / values["margin"].sum()
        rows.append({"group": name, **row})
    return pd.DataFrame(rows).set_index("group")
