"""From value to action: tiers, at-risk, relationship levels."""

import numpy as np
import pandas as pd
import pytest

from crmlab.analyses.clv import valuation


def test_value_tiers_have_exact_sizes():
    values = pd.Series(np.r_[np.zeros(50), np.arange(150.0)])
    tiers = valuation.value_tiers(values, (0.05, 0.2))
    assert tiers.value_counts().to_dict() == {"top 5%": 10, "next 15%": 30, "rest": 160}
    assert values[tiers == "top 5%"].min() >= values[tiers == "next 15%"].max()


def test_at_risk_needs_both_value_and_low_p_alive():
    value = pd.Series([100.0, 90.0, 80.0, 1.0, 2.0], index=list("abcde"))
    p_alive = pd.Series([0.9, 0.2, 0.6, 0.1, 0.3], index=list("abcde"))
    flagged = valuation.at_risk(value, p_alive, value_share=0.4, p_alive_below=0.5)
    assert list(flagged[flagged].index) == ["b"]


def test_relationship_levels_follow_contact_costs():
    costs = {"basic": 0.0, "reactive": 5.0, "accountable": 25.0, "proactive": 75.0, "partnership": 250.0}
    clv_by_tier = pd.Series({"top": 1250.0, "mid": 400.0, "low": 20.0})
    assert valuation.relationship_levels(clv_by_tier, costs, 12, 0.2).to_dict() == {
        "top": "partnership", "mid": "proactive", "low": "basic"}
    # Over two years the same contact costs twice as much.
    assert valuation.relationship_levels(clv_by_tier, costs, 24, 0.2)["top"] == "proactive"
    with pytest.raises(ValueError, match="unknown level"):
        valuation.relationship_levels(clv_by_tier, {"vip": 1.0}, 12)
