"""k-means clusters: reproducible, in original units, k chosen for use and stability, plain names."""

import pandas as pd

from crmlab.analyses.segments import clusters as segments_clusters
from crmlab.models import rfm


def test_kmeans_is_reproducible(fixture_lines):
    features = rfm.rfm_table(fixture_lines, None, ["tenure", "average_basket", "category_breadth"])
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
    features = rfm.rfm_table(fixture_lines)
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
