"""The segments report's analysis: RFM segments and k-means clusters with the notebook's parameters."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmlab.analyses.segments.clusters import CustomerClusters, cluster_names, cluster_profile
from crmlab.analyses.segments.tables import demographics_by_cluster, segment_cluster_crosstab, segment_table
from crmlab.core.availability import NotAvailable
from crmlab.core.constraints import DateLike, ListOf, Options, validate
from crmlab.models.rfm import EXTRA_FEATURES, assign_segments, load_segment_rules, rfm_scores, rfm_table

# Quintile scores and clusters of fewer customers would describe individuals, not groups.
MIN_CUSTOMERS = 30


class SegmentationAnalysis:
    """RFM segments and k-means clusters for one transaction table.

    Parameters
    ----------
    analysis_date : date-like, optional
        Recency is measured to this day (default: the day after the last purchase).
    features : list of str
        Behaviour features added to R, F and M for clustering (see :data:`EXTRA_FEATURES`).
    segment_rules : path, optional
        A segment rules YAML (default: the bundled ``rfm_segments.yaml``).
    k, k_range, transform, min_k, min_cluster_share, min_stability, resamples, random_state
        See :class:`CustomerClusters`.

    Attributes
    ----------
    rules_ : list of dict
        The segment rules used (from ``segment_rules`` or the bundled YAML).
    rfm_ : DataFrame
        Per customer recency (days), frequency (orders), monetary (revenue) and the ``features``.
    scores_ : DataFrame
        Per customer R, F and M quintile scores (5 is best).
    segments_ : Categorical Series
        Per customer RFM segment.
    segment_table_ : DataFrame
        Per segment: customers, revenue, shares, mean R/F/M and the suggested action.
    clusters_ : CustomerClusters
        The fitted k-means clusters (``k_``, ``labels_``, ``scores_``, ``k_reason_``, ...).
    cluster_names_ : Series
        A plain name per cluster, from its standardised centre.
    profile_ : DataFrame
        Per cluster: customers, shares and centres in original units.
    metrics_ : dict
        The figures recorded in ``metrics.json``.

    Examples
    --------
    >>> from crmlab import data
    >>> lines = data.load_transactions("tests/fixtures/complete_journey_sample")
    >>> analysis = SegmentationAnalysis(k=3, resamples=2).fit(lines)
    >>> int(analysis.segment_table_["customers"].sum()) == lines["customer_id"].nunique()
    True
    """

    _parameter_constraints = {
        "analysis_date": [DateLike(), None],
        "features": [ListOf(Options(set(EXTRA_FEATURES)))],
        "segment_rules": [str, None],
        **{name: CustomerClusters._parameter_constraints[name]
           for name in ("k", "k_range", "transform", "min_k", "min_cluster_share", "min_stability", "resamples",
                        "random_state")},
    }

    def __init__(self, *, analysis_date: Any = None, features=("tenure", "average_basket"),
                 segment_rules: str | None = None, k: int | None = None, k_range=(2, 10), transform: str = "log1p",
                 min_k: int = 3,
                 min_cluster_share: float = 0.05, min_stability: float = 0.75, resamples: int = 10,
                 random_state: int = 42):
        self.analysis_date = analysis_date
        self.features = features
        self.segment_rules = segment_rules
        self.k = k
        self.k_range = k_range
        self.transform = transform
        self.min_k = min_k
        self.min_cluster_share = min_cluster_share
        self.min_stability = min_stability
        self.resamples = resamples
        self.random_state = random_state

    def fit(self, transactions) -> "SegmentationAnalysis":
        """Score, segment and cluster.

        Raises
        ------
        crmlab.core.availability.NotAvailable
            With fewer than ``MIN_CUSTOMERS`` customers: quintile scores and
            clusters of a handful of customers describe individuals, not groups.
        """
        validate(self)
        self.rules_ = load_segment_rules(self.segment_rules)
        self.rfm_ = rfm_table(transactions, self.analysis_date, list(self.features))
        customers = len(self.rfm_)
        if customers < MIN_CUSTOMERS:
            raise NotAvailable(f"the data has {customers:,} customer{'s' if customers != 1 else ''}; scoring "
                               "customers by quintile and finding groups among them needs at least "
                               f"{MIN_CUSTOMERS}", f"transactions of at least {MIN_CUSTOMERS} customers")
        self.scores_ = rfm_scores(self.rfm_)
        self.segments_ = assign_segments(self.scores_, self.rules_)
        self.segment_table_ = segment_table(self.rfm_, self.segments_, self.rules_)
        self.clusters_ = CustomerClusters(k=self.k, k_range=tuple(self.k_range), transform=self.transform,
                                          min_k=self.min_k,
                                          min_cluster_share=self.min_cluster_share,
                                          min_stability=self.min_stability, resamples=self.resamples,
                                          random_state=self.random_state).fit(self.rfm_)
        self.cluster_names_ = cluster_names(self.clusters_.standardized_means_)
        self.profile_ = cluster_profile(self.rfm_, self.clusters_.labels_, self.cluster_names_,
                                        self.clusters_.centroids_)
        self.metrics_ = self._metrics()
        return self

    def _metrics(self) -> dict[str, Any]:
        clusters = self.clusters_
        chosen = clusters.scores_.loc[clusters.k_]
        counts = self.segments_.value_counts()
        return {
            "customers": int(len(self.rfm_)),
            "segment_counts": {name: int(counts.get(name, 0)) for name in self.segments_.cat.categories},
            "k": int(clusters.k_),
            "k_reason": clusters.k_reason_,
            "silhouette": float(chosen["silhouette"]),
            "stability_ari": float(chosen["stability_ari"]),
            "cluster_sizes": [int(n) for n in self.profile_["customers"]],
            "cluster_names": list(self.profile_["name"]),
            "features": list(self.rfm_.columns),
            "transformed_features": list(clusters.transformed_features_),
        }

    def export(self) -> pd.DataFrame:
        """Customer → RFM values and scores, segment, cluster and cluster name, for campaign activation."""
        out = self.rfm_.join(self.scores_)
        out["rfm_segment"] = self.segments_.astype(str)
        out["cluster"] = self.clusters_.labels_
        out["cluster_name"] = out["cluster"].map(self.cluster_names_)
        return out.reset_index()

    def demographics(self, attributes: pd.DataFrame
                     ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
        """Per attribute: Cramér's V and chi-square against the clusters, each cluster's shares and their counts."""
        return demographics_by_cluster(attributes, self.clusters_.labels_)

    def crosstab(self) -> pd.DataFrame:
        return segment_cluster_crosstab(self.segments_, self.clusters_.labels_)
