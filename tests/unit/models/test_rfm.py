"""RFM values, quintile scores and the segment rules."""

import itertools

import pandas as pd
import pytest
import yaml

from crmlab.models import rfm as segments_rfm


def test_bundled_rules_cover_every_score_combination_exactly_once():
    rules = segments_rfm.load_segment_rules()
    assert len(rules) == 11
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        matches = [s["name"] for s in rules if segments_rfm._matches(s, r, (f + m) / 2)]
        assert len(matches) == 1, (r, f, m, matches)
    assert {s["name"] for s in rules} == {"Champions", "Loyal", "Potential Loyalist", "New", "Promising",
                                           "Need Attention", "About to Sleep", "At Risk", "Can't Lose Them",
                                           "Hibernating", "Lost"}
    assert all(s["action"].strip() for s in rules)


def test_edited_rules_with_a_gap_or_overlap_are_rejected(tmp_path):
    raw = yaml.safe_load(segments_rfm.DEFAULT_RULES.read_text())
    gap = {"segments": [s for s in raw["segments"] if s["name"] != "Lost"]}
    (tmp_path / "gap.yaml").write_text(yaml.safe_dump(gap))
    with pytest.raises(ValueError, match=r"R=1 F=1 M=1: no segment"):
        segments_rfm.load_segment_rules(tmp_path / "gap.yaml")
    overlap = {"segments": raw["segments"] + [{"name": "VIP", "action": "x", "rules": [{"r": [5, 5], "fm": [5, 5]}]}]}
    (tmp_path / "overlap.yaml").write_text(yaml.safe_dump(overlap))
    with pytest.raises(ValueError, match=r"R=5 F=5 M=5: \['Champions', 'VIP'\]"):
        segments_rfm.load_segment_rules(tmp_path / "overlap.yaml")


def test_quintile_scores_break_ties_by_rank():
    # Six of ten customers bought once: ties are broken by customer id, never an error.
    frequency = pd.Series([1, 1, 1, 1, 1, 1, 2, 3, 8, 9], index=[10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    scores = segments_rfm.quintile_score(frequency)
    # Among the tied, the kit's one tie rule (crmlab.core.ranking): the smaller id ranks first, so scores higher.
    assert scores.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scores.value_counts().sort_index().tolist() == [2, 2, 2, 2, 2]
    # Everybody tied: still five equal groups.
    assert segments_rfm.quintile_score(pd.Series([1] * 10)).value_counts().tolist() == [2] * 5
    # Recency: fewer days is better.
    recency = pd.Series([300, 1, 50, 7, 120])
    assert segments_rfm.quintile_score(recency, higher_is_better=False).tolist() == [1, 5, 3, 4, 2]


def test_a_tie_goes_the_same_way_as_in_the_value_deciles():
    from crmlab.analyses.deciles.tables import assign_deciles

    values = pd.Series([7.0, 3.0, 7.0, 7.0, 1.0, 3.0, 9.0, 7.0, 2.0, 7.0], index=[41, 17, 8, 23, 5, 30, 12, 2, 9, 33])
    scores, deciles = segments_rfm.quintile_score(values), assign_deciles(values)
    tied = values[values == 7.0].index.sort_values()  # ids 2, 8, 23, 33, 41
    # Decile 1 is the top and quintile 5 is: the smaller id is never behind the larger one, in either cut.
    assert deciles[tied].is_monotonic_increasing and scores[tied].is_monotonic_decreasing
    assert scores[tied].iloc[0] > scores[tied].iloc[-1]


def test_rfm_scores_and_segments_by_hand():
    rfm = pd.DataFrame({"recency": [1, 2, 3, 200, 300], "frequency": [40, 1, 10, 30, 1],
                        "monetary": [900.0, 5.0, 100.0, 800.0, 3.0]}, index=pd.Index(list("abcde"), name="customer_id"))
    scores = segments_rfm.rfm_scores(rfm)
    # b and e both ordered once and spent little: the tie goes by customer id, so b scores F = 2 and e F = 1.
    assert scores["rfm_score"].to_dict() == {"a": "555", "b": "422", "c": "333", "d": "244", "e": "111"}
    assert scores.loc["d"].tolist()[:3] == [2, 4, 4]
    names = segments_rfm.assign_segments(scores, segments_rfm.load_segment_rules())
    assert names["a"] == "Champions" and names["e"] == "Lost" and names["d"] == "At Risk"
    assert names["b"] == "Potential Loyalist" and names["c"] == "Need Attention"


def test_unavailable_feature_is_named(fixture_lines):
    with pytest.raises(ValueError, match="'category_breadth' needs the column"):
        segments_rfm.rfm_table(fixture_lines.drop(columns="category"), None, ["category_breadth"])
    with pytest.raises(ValueError, match="unknown feature"):
        segments_rfm.rfm_table(fixture_lines, None, ["star_sign"])
