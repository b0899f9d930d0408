"""The baskets report's tables as the page shows them."""

from __future__ import annotations

import pandas as pd

from crmlab.models.itemsets.rules import rule_text


def rules_export(rules: pd.DataFrame) -> pd.DataFrame:
    """Rules with antecedent and consequent as text ("A + B"), for CSV and Parquet."""
    def text(items):
        return " + ".join(map(str, items))

    return rules.assign(antecedent=rules["antecedent"].map(text), consequent=rules["consequent"].map(text))


def rules_table(rules: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """The top rules as people read them: rule text, basket count, support %, confidence, lift."""
    head = rules.head(top)
    return pd.DataFrame({"rule": [rule_text(a, c) for a, c in zip(head["antecedent"], head["consequent"])],
                         "baskets": head["count"].to_numpy(), "support": head["support"].to_numpy(),
                         "confidence": head["confidence"].to_numpy(), "lift": head["lift"].to_numpy()},
                        index=_ranks(len(head)))


def sequences_table(sequences: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """The top sequences as the page shows them, ranked from 1 like :func:`rules_table`."""
    head = sequences.head(top)
    return head.set_axis(_ranks(len(head)))


def _ranks(n: int) -> pd.RangeIndex:
    """Row labels 1..n named ``rank``: a reader sees "rank 1", not pandas' row 0."""
    return pd.RangeIndex(1, n + 1, name="rank")
