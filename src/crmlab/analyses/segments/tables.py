"""The segments report's other tables: demographics by cluster, CLV by segment, segments against clusters."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import chi2_contingency

from crmlab.core.catalog import CUSTOMER_CLV


def _natural_key(value: Any) -> tuple:
    text = str(value)
    if text.lower().startswith("under"):
        return (-1.0, text)
    number = re.search(r"\d+(\.\d+)?", text)
    return (float(number.group()) if number else math.inf, text)


def demographics_by_cluster(attributes: pd.DataFrame, labels: pd.Series
                            ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """How clusters differ on each customer attribute.

    Returns a summary (per attribute: customers covered, Cramér's V between
    attribute and cluster, chi-square p-value), strongest association first;
    per attribute a table of category shares within each cluster (among
    customers with the attribute); and the customer counts behind those
    shares, same rows and columns (for suppressing small cells).
    """
    joined = attributes.set_index("customer_id").join(labels, how="inner")
    summary, shares, cells = [], {}, {}
    for column in attributes.columns.drop("customer_id"):
        known = joined[[column, "cluster"]].dropna()
        if known.empty or known[column].nunique() < 2:
            continue
        counts = pd.crosstab(known[column], known["cluster"])
        counts = counts.loc[sorted(counts.index, key=_natural_key)]
        chi2, p_value, _, _ = chi2_contingency(counts)
        n = counts.to_numpy().sum()
        v = math.sqrt(chi2 / (n * max(1, min(counts.shape) - 1)))
        summary.append({"attribute": column, "customers": int(n), "cramers_v": v, "p_value": p_value})
        share = counts / counts.sum()
        # The covered count per cluster goes into the label: a 100% share of two customers is not a finding.
        share.columns = [f"{c} (n={int(counts[c].sum())})" for c in counts.columns]
        shares[column] = share
        cells[column] = counts.set_axis(share.columns, axis=1)
    table = pd.DataFrame(summary)
    if not table.empty:
        table = table.sort_values("cramers_v", ascending=False).set_index("attribute")
    return table, shares, cells


def clv_by_segment(segments: pd.Series, clv: pd.DataFrame) -> pd.DataFrame:
    """Mean CLV and P(alive) per RFM segment, from the CLV export of the same run."""
    joined = clv.set_index("customer_id")[["clv", "p_alive"]].join(segments, how="inner")
    table = joined.groupby("rfm_segment", observed=False).agg(customers=("clv", "size"), mean_clv=("clv", "mean"),
                                                              mean_p_alive=("p_alive", "mean"))
    table.index.name = "segment"
    return table


def segment_cluster_crosstab(segments: pd.Series, labels: pd.Series) -> pd.DataFrame:
    """Customers per RFM segment (rows) and cluster (columns)."""
    table = pd.crosstab(segments, labels)
    table.index.name, table.columns.name = "RFM segment", "cluster"
    return table


def load_clv(exports_dir: str | Path) -> pd.DataFrame | None:
    """The CLV export in ``exports_dir`` (a run's own ``exports/``), or None when CLV did not run there."""
    path = Path(exports_dir) / f"{CUSTOMER_CLV}.parquet"
    return pd.read_parquet(path) if path.exists() else None


def segment_table(rfm: pd.DataFrame, segments: pd.Series, rules: list[dict[str, Any]]) -> pd.DataFrame:
    """Per segment: customers, shares of customers and revenue, mean R/F/M, suggested action."""
    frame = rfm.assign(segment=segments)
    table = frame.groupby("segment", observed=False).agg(
        customers=("monetary", "size"), revenue=("monetary", "sum"), mean_recency_days=("recency", "mean"),
        mean_orders=("frequency", "mean"), mean_revenue=("monetary", "mean"))
    table["customer_share"] = table["customers"] / table["customers"].sum()
    table["revenue_share"] = table["revenue"] / table["revenue"].sum()
    table["action"] = [next(s["action"] for s in rules if s["name"] == name) for name in table.index]
    table.index.name = "segment"
    return table[["customers", "customer_share", "revenue_share", "mean_recency_days", "mean_orders",
                  "mean_revenue", "action"]]
