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


def what_to_do(rules: pd.DataFrame, sequences: pd.DataFrame, metrics: dict[str, Any] | None = None) -> str:
    """A short paragraph of actions drawn from the top rules and sequences, and from the offers' check."""
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
    if metrics and metrics.get("offers_hit_rate") is not None:
        parts.append("**One-to-one offers:** " + _offers_action(metrics))
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


def _points(a: float, b: float) -> str:
    return f"{abs(a - b) * 100:.1f} points"


def _offers_action(m: dict[str, Any]) -> str:
    offers, popular, segment = m["offers_hit_rate"], m["offers_hit_rate_popular"], m["offers_hit_rate_segment_popular"]
    best = max(popular, segment)
    if offers > best:
        return (f"the rule-based offers beat offering the best sellers ({pct(offers, 1)} of customers bought one, "
                f"against {pct(best, 1)}): send the offers in the export `next_best_offers`.")
    return (f"the rule-based offers do no better than offering each customer the best sellers they lack "
            f"({pct(offers, 1)} of customers bought one, against {pct(best, 1)}). Where take-up is the aim, offer "
            "the best sellers; the rules' offers add a reason and variety, not take-up.")


def offers_intro(k: int, window_days: int) -> str:
    return (f"Each customer gets the {k} items most worth offering that they have not bought yet. An item scores "
            "from the rules whose left-hand side the customer has bought (in full or in part: confidence times "
            "the share held, added up over the rules), from their own RFM segment's rules when it has them, and "
            f"from sequences that follow something they bought in the last {window_days} days. Where the rules "
            "offer fewer than that, the best sellers the customer has not bought fill the gap.")


def offers_verdict(metrics: dict[str, Any], reason: str | None) -> str:
    """How the offers did on the purchases after ``calibration_end``, against both baselines, in plain words."""
    if metrics.get("offers_hit_rate") is None:
        return f"The offers could not be checked: {reason}."
    m = metrics
    offers, popular, segment = m["offers_hit_rate"], m["offers_hit_rate_popular"], m["offers_hit_rate_segment_popular"]
    text = (f"**Checked on the {number(m['offers_holdout_days'])} days after {m['calibration_end']}:** with rules "
            f"found on the lines up to that day, {pct(offers, 1)} of the {number(m['offers_customers_evaluated'])} "
            f"customers bought at least one of the {m['offers_per_customer']} items offered to them, against "
            f"{pct(popular, 1)} for the best sellers they had not bought and {pct(segment, 1)} for the best sellers "
            "of their own segment. ")
    baselines = {"the best sellers": popular, "the segment's best sellers": segment}
    beaten = [name for name, rate in baselines.items() if offers > rate]
    lost = [name for name in baselines if name not in beaten]
    if not lost:
        text += (f"The rule-based offers win, by {_points(offers, popular)} and {_points(offers, segment)}.")
    elif beaten:
        text += (f"The rule-based offers beat {beaten[0]} but **lose to {lost[0]}**, by "
                 f"{_points(offers, baselines[lost[0]])}.")
    else:
        text += (f"**The rule-based offers lose to both**, by {_points(offers, popular)} and "
                 f"{_points(offers, segment)}: in this data the best sellers a customer lacks are the safer offer.")
    return text + (f" {pct(m['offers_rule_coverage'], 1)} of the customers had at least one offer from a rule; "
                   f"{pct(m['offers_precision'], 1)} of the offers made were bought.")


def offers_summary(metrics: dict[str, Any]) -> str:
    m = metrics
    share = m["offers_from_rules_share"]
    origin = ("all of them come from rules" if share == 1 else
              f"{pct(share, 1)} of them come from rules, the rest are best sellers filling a gap")
    text = (f"**Today's offers:** {number(m['offers_customers'])} customers, {m['offers_per_customer']} offers each "
            f"at most; {origin}.")
    if m.get("offers_hit_rate") is not None:
        text += (f" Expected take-up, from the check above: about {pct(m['offers_hit_rate'])} of customers buy at "
                 f"least one offered item within {number(m['offers_holdout_days'])} days, if nothing else changes.")
    return text


def offered_items_intro() -> str:
    return "The items offered to most customers today, and how many of those offers come from rules:"


def no_offered_items(min_group_customers: int) -> str:
    return (f"No item is offered to {min_group_customers} customers or more, so none is shown; lower "
            "`min_group_customers` or raise `offers_per_customer`.")


def offer_check_caption(check: dict[str, Any] | None) -> str:
    if not check:
        return "Nothing to compare."
    return ("The dark bar is the rule-based offers, the light bars the two baselines given the same check: customers "
            "who bought at least one of the items offered to them after the cut.")
