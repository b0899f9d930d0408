"""Plain words for the retention report (the report itself is still to be wired: issue 25)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmlab.core.words import money, number, pct

# What each feature measures, and how to say that more or less of it goes with leaving.
FEATURES = {
    "recency_days": ("days since the last purchase", "longer", "shorter"),
    "frequency": ("purchase days", "fewer", "more"),
    "monetary": ("spend per purchase day", "lower", "higher"),
    "tenure_days": ("time since the first purchase", "shorter", "longer"),
    "mean_gap_days": ("usual days between purchases", "longer", "shorter"),
    "gap_spread_days": ("irregularity of the gaps between purchases", "more", "less"),
    "recency_over_mean_gap": ("wait since the last purchase, against the customer's own usual gap", "longer",
                              "shorter"),
    "recent_days_change": ("purchase days in the last window against the one before", "falling", "rising"),
    "recent_revenue_change": ("revenue in the last window against the one before", "falling", "rising"),
    "category_breadth": ("categories bought", "fewer", "more"),
    "discount_share": ("share of the price paid by discounts", "lower", "higher"),
    "btyd_churn_probability": ("BTYD churn probability", "higher", "lower"),
}


def headline(metrics: dict[str, Any], currency: str = "$") -> str:
    """How many customers, and how much value, are likely to leave in the horizon."""
    return (f"**About {number(metrics['expected_leavers'])} of {number(metrics['customers_scored'])} customers are "
            f"likely to leave in the next {metrics['churn_horizon_days']} days**, with "
            f"{money(metrics['revenue_at_risk'], currency)} of last year's revenue at stake (each customer's "
            "revenue over the last year, weighted by their churn probability).")


def model_sentence(metrics: dict[str, Any]) -> str:
    """The model against its baselines on the test cutoff, plainly when it loses."""
    auc, btyd, recency = metrics["churn_auc"], metrics["churn_auc_btyd"], metrics["churn_auc_recency"]
    verdict = ("It ranks leavers better than both baselines." if auc > max(btyd, recency) else
               "**It does not beat the BTYD baseline**: on this data the BTYD churn probability alone ranks "
               "leavers as well or better." if auc <= btyd else
               "**It does not beat days since the last purchase**, the simplest baseline.")
    return (f"Trained on earlier cutoffs only and checked on {metrics['churn_cutoff']} (who bought in the "
            f"{metrics['churn_horizon_days']} days after it; {pct(metrics['churn_rate'])} did not), the model "
            f"({metrics['churn_model'].replace('_', ' ')}) ranks leavers with an AUC of {auc:.3f}, against "
            f"{btyd:.3f} for the BTYD churn probability and {recency:.3f} for days since the last purchase. "
            f"{verdict}")


def reasons_sentence(reasons: pd.DataFrame, top: int = 3) -> str:
    """Why customers leave, from the features whose shuffling costs the model most."""
    leading = reasons[reasons["importance"] > 0].head(top)
    if leading.empty:
        return "No single feature stands out: shuffling any one of them leaves the model's ranking as good."
    parts = []
    for name, row in leading.iterrows():
        words, more, less = FEATURES.get(name, (name.replace("_", " "), "higher", "lower"))
        parts.append(f"{more if row['direction'] > 0 else less} {words}")
    return "Customers who leave tend to have " + "; ".join(parts) + " (permutation importance on the test cutoff)."


def stopping_sentence(metrics: dict[str, Any]) -> str:
    """How long customers usually wait between purchases, and how many are past their own usual wait."""
    if metrics["gap_median_days"] is None:
        return "No customer bought on two different days, so there is no gap between purchases to measure."
    past = ("" if metrics["past_usual_gap_share"] is None else
            f" {pct(metrics['past_usual_gap_share'])} of the {number(metrics['past_usual_gap_customers'])} repeat "
            "customers are now past their own usual gap.")
    return (f"Half of all gaps between a customer's purchases are {metrics['gap_median_days']} days or shorter, "
            f"nine in ten {metrics['gap_p90_days']} days or shorter.{past}")


def cohort_caption() -> str:
    return ("The share of each cohort buying in each period after its first; blank where the data cannot show it "
            "yet, a dot where the period is only partly observed, grey where the cohort is too small to show.")


def curve_caption() -> str:
    return ("Retention after acquisition, averaged over the cohorts, each weighted by its size; only periods a "
            "cohort has lived through in full count.")


def no_stops(horizon_days: int) -> str:
    return (f"No purchase lies {horizon_days} days or more before the end of the data, so no customer has had "
            "time to come back; set `horizon_days` shorter or `observation_end` later.")


def gains_caption() -> str:
    return ("Contacting customers from the likeliest to leave down: the share of the leavers reached, for the "
            "churn model, the BTYD churn probability and days since the last purchase.")


def reliability_caption() -> str:
    return ("Customers in ten equal groups by predicted churn probability: each group's mean prediction against "
            "the share who actually left. On the diagonal, the probabilities can be taken at their word.")


def no_valuable_leavers() -> str:
    return ("No customer in the top fifth by last year's revenue has a churn probability of 50% or more; "
            "lower the threshold in `valuable_leavers` to see the next ones.")


def revenue_caption() -> str:
    return ("Revenue retention: each cohort's revenue in each period as a share of its revenue in its first period "
            "(above 100% when a cohort spends more than when it arrived); blank, dotted and grey as above.")
