"""The baskets report's sentences."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmlab.core.words import number, pct
from crmlab.models.itemsets.rules import rule_text


def headline(metrics: dict[str, Any], rules: pd.DataFrame) -> str:
    level = {"product_id": "products", "category": "categories", "department": "departments"}[metrics["level"]]
    text = (f"**{number(metrics['baskets'])} baskets over {number(metrics['items'])} {level}: "
            f"{number(metrics['itemsets'])} combinations are bought together in at least "
            f"{number(metrics['min_count'])} baskets, giving {number(metrics['rules'])} rules.**")
    if len(rules):
        top = rules.iloc[0]
        text += (f" The strongest: {rule_text(top['antecedent'], top['consequent'])}, "
                 f"{pct(top['confidence'])} of baskets with the first also hold the second, "
                 f"{top['lift']:.1f} times more often than in an average basket.")
    return text


def what_to_do(rules: pd.DataFrame, sequences: pd.DataFrame) -> str:
    """A short paragraph of actions drawn from the top rules and sequences."""
    parts = []
    if len(rules):
        top = rules.iloc[0]
        parts.append(f"**Placement:** put {', '.join(top['antecedent'])} near {', '.join(top['consequent'])}, "
                     f"or link them online; they are bought together {top['lift']:.1f} times more often than chance.")
        bundle = rules.sort_values(["count", "lift"], ascending=False).iloc[0]
        parts.append(f"**Bundles:** {rule_text(bundle['antecedent'], bundle['consequent'])} is the most common "
                     f"strong pair ({bundle['count']:,} baskets, confidence {pct(bundle['confidence'])}): a "
                     "natural bundle or multi-buy offer.")
    if len(sequences):
        seq = sequences.iloc[0]
        parts.append(f"**Cross-sell:** {pct(seq['share'])} of customers who buy {seq['x']} buy {seq['y']} within "
                     f"{seq['window_days']} days, against {pct(seq['baseline'])} of all customers: follow a "
                     f"{seq['x']} purchase with a {seq['y']} offer.")
    return " ".join(parts) if parts else "No rule or sequence passed the thresholds; lower the minimum support."


def item_caption(itemsets: pd.DataFrame) -> str:
    singles = itemsets[itemsets["size"] == 1]
    if singles.empty:
        return "No item is in enough baskets to count; lower `min_support`."
    top = singles.iloc[0]
    return (f"The most common item, {top['items'][0]}, is in {pct(top['support'])} of baskets; rules about "
            "very common items have high confidence but low lift.")


def sequence_caption(sequences: pd.DataFrame) -> str:
    if sequences.empty:
        return "No sequence passed the thresholds."
    top = sequences.iloc[0]
    return (f"Dark bars: share of X buyers who bought Y within {top['window_days']} days; light bars: share of all "
            f"customers who bought Y at all. The top pair is {top['x']} → {top['y']} "
            f"({pct(top['share'])} against {pct(top['baseline'])}).")


def rules_scatter_caption() -> str:
    return ("Each dot is a rule: the reliable ones sit high, the common ones far right, and the brightest are "
            "furthest from chance.")


def rules_matrix_caption() -> str:
    return "Rows are what a basket already holds, columns what it also holds; the number is the lift of that rule."


def rules_table_intro(top_n: int, rules: int) -> str:
    return f"The top {top_n} rules by lift, of {rules:,}:"


def sequences_intro(window_days: int) -> str:
    return (f"Customers who bought X, and how many of them bought Y on a later day within {window_days} days, against "
            "the share of all customers who bought Y at all (lift above 1: X makes Y more likely).")


def no_segments() -> str:
    return ("No segments in this run (the `segments` report did not run, or the data could not support it), so no "
            "rules per segment.")


def no_rules(min_support, min_confidence: float) -> str:
    """What an empty rules table says, with the thresholds that emptied it."""
    support = f"{min_support:,} baskets" if isinstance(min_support, int) or min_support >= 1 else pct(min_support, 1)
    return (f"No rule reaches a confidence of {pct(min_confidence)} at a support of {support}; lower "
            "`min_confidence` or `min_support`.")


def no_sequences(window_days: int, min_sequence_customers: int) -> str:
    return (f"No pair of items was bought one after the other within {window_days} days by at least "
            f"{min_sequence_customers} customers; lower `min_sequence_customers` or widen `window_days`.")


def no_segment_rules() -> str:
    return ("No RFM segment has enough baskets for rules of its own at these thresholds; lower `min_support` or "
            "`min_confidence`.")
