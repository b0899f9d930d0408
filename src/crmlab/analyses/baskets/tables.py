"""The baskets report's tables as the page shows them."""

from __future__ import annotations

import pandas as pd

from crmlab.models.itemsets.rules import rule_text


def rules_export(rules: pd.DataFrame) -> pd.DataFrame:
    """Rules with antecedent and consequent as text ("A + B"), for CSV and Parquet."""
    def text(items):
        return " + ".join(map(str, items))

    return rules.assign(antecedent=rules["antecedent"].map(text), consequent=rules["consequent"].map(text))


def sequences_export(sequences: pd.DataFrame) -> pd.DataFrame:
    """Sequences for the page and the export: X and Y by name (the raw ``x_item``, ``y_item`` stay inside)."""
    return sequences.drop(columns=["x_item", "y_item"], errors="ignore")


def rules_table(rules: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """The top rules as people read them: rule text, basket count, support %, confidence, lift."""
    head = rules.head(top)
    return pd.DataFrame({"rule": [rule_text(a, c) for a, c in zip(head["antecedent"], head["consequent"])],
                         "baskets": head["count"].to_numpy(), "support": head["support"].to_numpy(),
                         "confidence": head["confidence"].to_numpy(), "lift": head["lift"].to_numpy()},
                        index=_ranks(len(head)))


def sequences_table(sequences: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """The top sequences as the page shows them, ranked from 1 like :func:`rules_table`."""
    head = sequences_export(sequences.head(top))
    return head.set_axis(_ranks(len(head)))


def _ranks(n: int) -> pd.RangeIndex:
    """Row labels 1..n named ``rank``: a reader sees "rank 1", not pandas' row 0."""
    return pd.RangeIndex(1, n + 1, name="rank")


# The offer lists of the check, as the page names them, with the metrics' suffix of each.
OFFER_LISTS = {"rule-based offers": "", "best sellers not yet bought": "_popular",
               "best sellers of their segment not yet bought": "_segment_popular"}


def offer_check_table(check: dict | None) -> pd.DataFrame:
    """The check's three offer lists: customers who bought an offered item after the cut, and offers bought."""
    if not check:
        return pd.DataFrame(columns=["offers", "customers buying one", "offers bought"])
    return pd.DataFrame({"offers": list(OFFER_LISTS),
                         "customers buying one": [check[f"offers_hit_rate{s}"] for s in OFFER_LISTS.values()],
                         "offers bought": [check[f"offers_precision{s}"] for s in OFFER_LISTS.values()]}
                        ).set_index("offers")


def offered_items(offers: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """The items offered to most customers today: customers, their share, and the share of those offers from rules."""
    customers = offers["customer_id"].nunique()
    counts = offers.groupby("item_name").agg(customers=("customer_id", "nunique"),
                                             from_rules=("source", lambda s: float((s == "rule").mean())))
    counts = counts.reset_index().sort_values(["customers", "item_name"], ascending=[False, True], kind="stable")
    head = counts.head(top)
    return pd.DataFrame({"item": head["item_name"].to_numpy(), "customers": head["customers"].to_numpy(),
                         "share of customers": head["customers"].to_numpy() / max(customers, 1),
                         "from rules": head["from_rules"].to_numpy()}, index=_ranks(len(head)))
