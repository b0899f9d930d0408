"""Segments: RFM scoring and rules, k-means reproducibility and the choice of k."""

import itertools

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import FIXTURE

from crmlab.analyses.segments import SegmentationAnalysis
from crmlab.analyses.segments import clusters as segments_clusters
from crmlab.analyses.segments import rfm as segments_rfm
from crmlab.analyses.segments import tables as segments_tables


@pytest.fixture(scope="module")
def fixture_lines():
    return pd.read_parquet(FIXTURE / "transactions.parquet")


# --------------------------------------------------------------------------- rules


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


# --------------------------------------------------------------------------- scoring


def test_quintile_scores_break_ties_by_rank():
    # Six of ten customers bought once: ties are broken by customer id, never an error.
    frequency = pd.Series([1, 1, 1, 1, 1, 1, 2, 3, 8, 9], index=[10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    scores = segments_rfm.quintile_score(frequency)
    # Among the tied, the order is by customer id (lower id, lower score): deterministic.
    assert scores.tolist() == [3, 3, 2, 2, 1, 1, 4, 4, 5, 5]
    assert scores.value_counts().sort_index().tolist() == [2, 2, 2, 2, 2]
    # Everybody tied: still five equal groups.
    assert segments_rfm.quintile_score(pd.Series([1] * 10)).value_counts().tolist() == [2] * 5
    # Recency: fewer days is better.
    recency = pd.Series([300, 1, 50, 7, 120])
    assert segments_rfm.quintile_score(recency, higher_is_better=False).tolist() == [1, 5, 3, 4, 2]


def test_rfm_scores_and_segments_by_hand():
    rfm = pd.DataFrame({"recency": [1, 2, 3, 200, 300], "frequency": [40, 1, 10, 30, 1],
                        "monetary": [900.0, 5.0, 100.0, 800.0, 3.0]}, index=pd.Index(list("abcde"), name="customer_id"))
    scores = segments_rfm.rfm_scores(rfm)
    # b and e both ordered once: the tie goes by customer id, so e scores F = 2 and b F = 1.
    assert scores["rfm_score"].to_dict() == {"a": "555", "b": "412", "c": "333", "d": "244", "e": "121"}
    assert scores.loc["d"].tolist()[:3] == [2, 4, 4]
    names = segments_rfm.assign_segments(scores, segments_rfm.load_segment_rules())
    assert names["a"] == "Champions" and names["e"] == "Lost" and names["d"] == "At Risk"
    assert names["b"] == "Promising" and names["c"] == "Need Attention"


def test_segment_table_adds_up(fixture_lines):
    analysis = SegmentationAnalysis(resamples=2, k=3).fit(fixture_lines)
    table = analysis.segment_table_
    assert table["customers"].sum() == fixture_lines["customer_id"].nunique()
    assert table["customer_share"].sum() == pytest.approx(1) and table["revenue_share"].sum() == pytest.approx(1)
    assert sum(analysis.metrics_["segment_counts"].values()) == len(analysis.rfm_)
    revenue = fixture_lines.groupby("customer_id")["revenue"].sum()
    champions = analysis.segments_[analysis.segments_ == "Champions"].index
    assert table.loc["Champions", "revenue_share"] == pytest.approx(revenue[champions].sum() / revenue.sum())


def test_unavailable_feature_is_named(fixture_lines):
    with pytest.raises(ValueError, match="'category_breadth' needs the column"):
        segments_rfm.rfm_table(fixture_lines.drop(columns="category"), None, ["category_breadth"])
    with pytest.raises(ValueError, match="unknown feature"):
        segments_rfm.rfm_table(fixture_lines, None, ["star_sign"])


# --------------------------------------------------------------------------- clusters


def test_kmeans_is_reproducible(fixture_lines):
    features = segments_rfm.rfm_table(fixture_lines, None, ["tenure", "average_basket", "category_breadth"])
    first = segments_clusters.CustomerClusters(resamples=3).fit(features)
    shuffled = features.sample(frac=1.0, random_state=1)
    assert not shuffled.index.equals(features.index)  # the rows really are in another order
    second = segments_clusters.CustomerClusters(resamples=3).fit(shuffled)
    pd.testing.assert_series_equal(first.labels_, second.labels_.loc[first.labels_.index])
    pd.testing.assert_frame_equal(first.scores_, second.scores_)
    assert first.k_ >= 3
    # Cluster 1 is the one with the highest mean revenue.
    means = features["monetary"].groupby(first.labels_).mean()
    assert means.idxmax() == 1 and means.is_monotonic_decreasing


def test_centroids_are_in_original_units(fixture_lines):
    features = segments_rfm.rfm_table(fixture_lines)
    clusters = segments_clusters.CustomerClusters(k=3, resamples=2).fit(features)
    centres = clusters.centroids_
    # Each centre lies inside the range of its cluster's values (days, orders, money).
    for cluster, centre in centres.iterrows():
        members = features[clusters.labels_ == cluster]
        assert ((centre >= members.min() - 1e-9) & (centre <= members.max() + 1e-9)).all()


def test_choose_k_prefers_useful_stable_elbow():
    scores = pd.DataFrame({
        "inertia": [100.0, 55.0, 40.0, 34.0, 30.0],
        "silhouette": [0.6, 0.45, 0.44, 0.40, 0.38],
        "stability_ari": [0.99, 0.92, 0.60, 0.90, 0.88],
        "smallest_cluster_share": [0.4, 0.2, 0.15, 0.10, 0.02]}, index=pd.Index([2, 3, 4, 5, 6], name="k"))
    k, reason = segments_clusters.choose_k(scores)
    assert k == 3 and "k = 2 has the best silhouette" in reason
    # When k = 3 is unstable too, the elbow among what is left wins.
    scores.loc[3, "stability_ari"] = 0.5
    assert segments_clusters.choose_k(scores)[0] == 5
    # Nothing qualifies: the most stable useful k, with a warning in the reason.
    scores["stability_ari"] = [0.9, 0.5, 0.6, 0.55, 0.3]
    k, reason = segments_clusters.choose_k(scores)
    assert k == 4 and "no k passed all the bars" in reason


def test_cluster_names_are_unique_and_plain():
    means = pd.DataFrame({"recency": [-1.2, -1.1, 0.8], "frequency": [1.2, 1.1, -0.7],
                          "monetary": [1.3, 1.2, -0.8], "discount_rate": [-0.9, 0.9, 0.0]}, index=[1, 2, 3])
    names = segments_clusters.cluster_names(means)
    assert names.is_unique
    assert names[1] == "very recent, very frequent, top spend, full price"
    assert names[2] == "very recent, very frequent, top spend, deal-driven"
    assert names[3] == "lapsed, infrequent, low spend"


def test_demographics_by_cluster(fixture_lines):
    attributes = pd.read_parquet(FIXTURE / "customer_attributes.parquet")
    clusters = segments_clusters.CustomerClusters(k=3, resamples=2).fit(segments_rfm.rfm_table(fixture_lines))
    summary, shares, counts = segments_tables.demographics_by_cluster(attributes, clusters.labels_)
    covered = attributes["customer_id"].isin(clusters.labels_.index).sum()
    assert summary["customers"].max() == covered
    assert summary["cramers_v"].between(0, 1).all() and summary["cramers_v"].is_monotonic_decreasing
    for table in shares.values():
        np.testing.assert_allclose(table.sum().to_numpy(), 1.0)
    assert list(shares["age"].index) == sorted(shares["age"].index, key=segments_tables._natural_key)
    # The counts behind the shares: same cells, and they add up to the covered customers.
    for name, table in shares.items():
        np.testing.assert_allclose((counts[name] / counts[name].sum()).to_numpy(), table.to_numpy())
    assert counts["age"].to_numpy().sum() == summary.loc["age", "customers"]


def test_clv_is_read_from_the_runs_own_exports(tmp_path):
    # A run's exports folder starts empty, so a CLV export there is this run's own.
    assert segments_tables.load_clv(tmp_path) is None
    pd.DataFrame({"customer_id": [1], "clv": [10.0], "p_alive": [0.5]}).to_parquet(tmp_path / "customer_clv.parquet")
    assert segments_tables.load_clv(tmp_path)["clv"].tolist() == [10.0]
