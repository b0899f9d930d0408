"""The top rules within each RFM segment's baskets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from crmlab import engine
from crmlab.core.catalog import CUSTOMER_SEGMENTS
from crmlab.engine import item_tables
from crmlab.models.itemsets.encoding import encode_groups, min_basket_count
from crmlab.models.itemsets.mining import mine_groups, mine_in_engine
from crmlab.models.itemsets.rules import association_rules, rule_text

if TYPE_CHECKING:
    from crmlab.analyses.baskets.analysis import BasketAnalysis


def load_segments(exports_dir) -> pd.DataFrame | None:
    """The segments export in ``exports_dir`` (customer_id, rfm_segment), or None when segments did not run there."""
    path = Path(exports_dir) / f"{CUSTOMER_SEGMENTS}.parquet"
    return pd.read_parquet(path, columns=["customer_id", "rfm_segment"]) if path.exists() else None


def rules_by_segment(transactions, segments: pd.DataFrame, analysis: "BasketAnalysis",
                     top: int = 3, min_baskets: int = 500, min_rule_baskets: int = 30) -> pd.DataFrame:
    """The top rules (by lift) within each RFM segment's baskets.

    Same thresholds as the whole analysis, except that a rule must hold in
    at least ``min_rule_baskets`` of the segment's baskets: in a small
    segment, 1% is a handful of baskets, which would flood the table with
    chance combinations (and take long to mine). Segments with fewer than
    ``min_baskets`` baskets are left out.
    """
    t = engine.lines(transactions)
    lines = t.join(engine.memtable(segments[["customer_id", "rfm_segment"]]), "customer_id")
    sizes = engine.to_pandas(lines.group_by("rfm_segment").agg(baskets=lines.order_id.nunique()))
    sizes = sizes.sort_values(["baskets", "rfm_segment"], ascending=[False, True], kind="stable")
    sizes = sizes[sizes["baskets"] >= min_baskets]
    min_counts = {segment: max(min_basket_count(analysis.min_support, int(baskets)), min_rule_baskets)
                  for segment, baskets in zip(sizes["rfm_segment"], sizes["baskets"])}
    on_spark = item_tables.runs_on_spark(lines)
    # Counted and encoded in one pass for all segments; on Spark, FPGrowth then mines each segment's baskets there.
    encoded_by_segment = encode_groups(lines, analysis.level_, "rfm_segment", min_counts, matrix=not on_spark)
    if on_spark:
        itemsets_by_segment = {segment: mine_in_engine(lines.filter(lines.rfm_segment == segment), encoded,
                                                       analysis.max_len, analysis.min_confidence)
                               for segment, encoded in encoded_by_segment.items()}
    else:
        itemsets_by_segment = mine_groups(encoded_by_segment, analysis.max_len, analysis.miner)
    rows = []
    for segment, encoded in encoded_by_segment.items():
        itemsets = itemsets_by_segment[segment]
        rules = association_rules(itemsets, encoded.n_baskets,
                                  analysis.min_confidence, analysis.consequents, analysis.max_len,
                                  analysis.min_count, prune_redundant=analysis.prune_redundant)
        for _, rule in rules.head(top).iterrows():
            rows.append({"segment": segment, "baskets": encoded.n_baskets,
                         "rule": rule_text(rule["antecedent"], rule["consequent"]),
                         "count": rule["count"], "support": rule["support"], "confidence": rule["confidence"],
                         "lift": rule["lift"]})
    return pd.DataFrame(rows, columns=["segment", "baskets", "rule", "count", "support", "confidence", "lift"])
