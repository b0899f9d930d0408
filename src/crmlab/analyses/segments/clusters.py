"""k-means clusters of customers, with k chosen from quality, stability and usefulness together."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.preprocessing import PowerTransformer, StandardScaler

from crmlab.core.constraints import Interval, ListOf, Options, validate


class CustomerClusters:
    """k-means on RFM (plus behaviour features): skew transform, standardise, choose k, fit.

    Parameters
    ----------
    k : int, optional
        Number of clusters; None chooses it with :func:`choose_k`.
    k_range : tuple of int
        Candidate k, inclusive.
    transform : {"log1p", "yeo-johnson"}
        Applied to features whose skewness exceeds ``skew_threshold``.
    min_k, min_cluster_share, min_stability
        The usefulness and stability bars of :func:`choose_k`.
    resamples : int
        Bootstrap resamples for the stability check.
    random_state : int
        Fixed, so the same input gives the same clusters run after run.

    Attributes
    ----------
    transformed_features_ : list of str
    scores_ : DataFrame
        Per k: inertia, silhouette, Calinski-Harabasz, Davies-Bouldin, stability ARI, smallest cluster share.
    k_, k_reason_ : int, str
    labels_ : Series
        Cluster 1..k per customer, numbered by revenue (1 = the largest mean monetary value).
    centroids_ : DataFrame
        Cluster centres in original units.
    standardized_means_ : DataFrame
        Per cluster, the mean of each standardised feature (the snake plot).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> features = pd.DataFrame({"recency": rng.gamma(2, 30, 300), "frequency": rng.poisson(5, 300) + 1,
    ...                          "monetary": rng.gamma(2, 100, 300)})
    >>> clusters = CustomerClusters(k=3, resamples=2).fit(features)
    >>> sorted(clusters.labels_.unique().tolist())
    [1, 2, 3]
    """

    _parameter_constraints = {
        "k": [Interval(int, 2, None), None],
        "k_range": [ListOf(Interval(int, 2, None), length=2)],
        "transform": [Options({"log1p", "yeo-johnson"})],
        "skew_threshold": [Interval(float, 0, None)],
        "min_k": [Interval(int, 2, None)],
        "min_cluster_share": [Interval(float, 0, 1, closed="left")],
        "min_stability": [Interval(float, -1, 1)],
        "resamples": [Interval(int, 1, None)],
        "random_state": [Interval(int, 0, None)],
    }

    def __init__(self, *, k: int | None = None, k_range: tuple[int, int] = (2, 10), transform: str = "log1p",
                 skew_threshold: float = 1.0, min_k: int = 3, min_cluster_share: float = 0.05,
                 min_stability: float = 0.75, resamples: int = 10, random_state: int = 42):
        self.k = k
        self.k_range = k_range
        self.transform = transform
        self.skew_threshold = skew_threshold
        self.min_k = min_k
        self.min_cluster_share = min_cluster_share
        self.min_stability = min_stability
        self.resamples = resamples
        self.random_state = random_state

    def fit(self, features: pd.DataFrame) -> "CustomerClusters":
        validate(self)
        # k-means++ seeding and bootstrap draws pick rows by position: fit on rows in customer-id
        # order, so the same customers give the same clusters whatever order they arrive in.
        features = features.sort_index(kind="stable")
        X = self._prepare(features)
        self.scores_ = k_scores(X, range(self.k_range[0], self.k_range[1] + 1), self.resamples, self.random_state)
        if self.k is None:
            self.k_, self.k_reason_ = choose_k(self.scores_, self.min_k, self.min_cluster_share,
                                               self.min_stability)
        else:
            self.k_ = int(self.k)
            self.k_reason_ = f"k = {self.k_} was set in the configuration."
        model = KMeans(self.k_, n_init=10, random_state=self.random_state).fit(X)
        raw = pd.Series(model.labels_, index=features.index)
        # Number clusters by mean monetary value, so cluster 1 is always the most valuable.
        order = features["monetary"].groupby(raw).mean().sort_values(ascending=False).index
        renumber = {old: new for new, old in enumerate(order, start=1)}
        self.labels_ = raw.map(renumber).rename("cluster")
        centers = pd.DataFrame(model.cluster_centers_, columns=features.columns).rename(index=renumber).sort_index()
        self.centroids_ = self._to_original_units(centers)
        self.standardized_means_ = pd.DataFrame(X, index=features.index, columns=features.columns).groupby(
            self.labels_).mean()
        self.standardized_means_.index.name = "cluster"
        self.centroids_.index.name = "cluster"
        return self

    def _prepare(self, features: pd.DataFrame) -> np.ndarray:
        skew = features.skew()
        self.transformed_features_ = [c for c in features.columns if abs(skew[c]) > self.skew_threshold]
        values = features.astype(float).copy()
        if self.transformed_features_:
            part = values[self.transformed_features_]
            if self.transform == "log1p":
                # log1p needs non-negative values; every feature here is a count, amount, share or day count.
                self._power = None
                values[self.transformed_features_] = np.log1p(part.clip(lower=0))
            else:
                self._power = PowerTransformer(method="yeo-johnson", standardize=False).fit(part)
                values[self.transformed_features_] = self._power.transform(part)
        self._scaler = StandardScaler().fit(values)
        return self._scaler.transform(values)

    def _to_original_units(self, centers: pd.DataFrame) -> pd.DataFrame:
        values = pd.DataFrame(self._scaler.inverse_transform(centers), columns=centers.columns, index=centers.index)
        if self.transformed_features_:
            part = values[self.transformed_features_]
            values[self.transformed_features_] = (np.expm1(part) if self._power is None
                                                  else self._power.inverse_transform(part))
        return values


def k_scores(X: np.ndarray, ks, resamples: int = 10, random_state: int = 42,
             silhouette_sample: int = 5000) -> pd.DataFrame:
    """Per k: inertia (elbow), silhouette, Calinski-Harabasz, Davies-Bouldin and bootstrap stability.

    Stability: k-means is refitted on ``resamples`` bootstrap samples; each
    fit labels all customers, and the adjusted Rand index against the
    full-data labels is averaged (1 = the same partition every time).
    Silhouette uses a fixed random sample of ``silhouette_sample`` customers
    on large data, because it costs the square of the number of customers.
    """
    rng = np.random.default_rng(random_state)
    boots = [rng.integers(0, len(X), len(X)) for _ in range(resamples)]
    rows = []
    for k in ks:
        if k >= len(X):
            break
        model = KMeans(k, n_init=10, random_state=random_state).fit(X)
        labels = model.labels_
        sample = min(len(X), silhouette_sample)
        aris = [adjusted_rand_score(labels, KMeans(k, n_init=3, random_state=random_state + i + 1)
                                    .fit(X[boot]).predict(X)) for i, boot in enumerate(boots)]
        rows.append({
            "k": k,
            "inertia": model.inertia_,
            "silhouette": silhouette_score(X, labels, sample_size=sample if sample < len(X) else None,
                                           random_state=random_state),
            "calinski_harabasz": calinski_harabasz_score(X, labels),
            "davies_bouldin": davies_bouldin_score(X, labels),
            "stability_ari": float(np.mean(aris)) if aris else float("nan"),
            "smallest_cluster_share": np.bincount(labels).min() / len(labels),
        })
    return pd.DataFrame(rows).set_index("k")


def elbow_gain(inertia: pd.Series) -> pd.Series:
    """How far each k sits below the straight line from the first to the last k (both normalised).

    The elbow of the inertia curve is the k with the largest gain: adding
    clusters before it pays off more than the line, after it less.
    """
    k = inertia.index.to_numpy(dtype=float)
    x = (k - k.min()) / max(k.max() - k.min(), 1)
    spread = inertia.max() - inertia.min()
    y = (inertia.to_numpy() - inertia.min()) / spread if spread > 0 else np.zeros(len(k))
    return pd.Series((1 - x) - y, index=inertia.index)


def choose_k(scores: pd.DataFrame, min_k: int = 3, min_cluster_share: float = 0.05,
             min_stability: float = 0.75) -> tuple[int, str]:
    """The k to use, and why, in one sentence.

    The indices alone usually pick k = 2, which marketing cannot use. So a k
    must first be useful and trustworthy: at least ``min_k`` clusters, each
    holding at least ``min_cluster_share`` of customers, and stable (mean
    bootstrap adjusted Rand index at least ``min_stability``). Among those,
    the elbow of the inertia curve wins: the k after which more clusters stop
    paying off (:func:`elbow_gain`). If none qualifies, the most stable
    useful k is taken and the reason says so.

    Examples
    --------
    >>> scores = pd.DataFrame({"inertia": [100.0, 60.0, 45.0, 40.0, 37.0],
    ...                        "silhouette": [0.5, 0.4, 0.42, 0.3, 0.3],
    ...                        "stability_ari": [0.99, 0.9, 0.8, 0.85, 0.6],
    ...                        "smallest_cluster_share": [0.4, 0.2, 0.1, 0.08, 0.07]},
    ...                       index=pd.Index([2, 3, 4, 5, 6], name="k"))
    >>> choose_k(scores)[0]
    3
    """
    gain = elbow_gain(scores["inertia"])
    useful = scores[(scores.index >= min_k) & (scores["smallest_cluster_share"] >= min_cluster_share)]
    candidates = useful[useful["stability_ari"] >= min_stability]
    best_silhouette = int(scores["silhouette"].idxmax())
    if not candidates.empty:
        k = int(gain[candidates.index].idxmax())
        row = candidates.loc[k]
        reason = (f"k = {k}: the elbow of the inertia curve among the k that give at least {min_k} clusters, "
                  f"each with at least {min_cluster_share:.0%} of customers, and that come back the same on "
                  f"bootstrap resamples (adjusted Rand index {row['stability_ari']:.2f} ≥ {min_stability:.2f}); "
                  f"silhouette {row['silhouette']:.2f}.")
    else:
        pool = useful if not useful.empty else scores[scores.index >= min_k]
        pool = pool if not pool.empty else scores
        k = int(pool["stability_ari"].idxmax())
        reason = (f"k = {k}: no k passed all the bars (at least {min_k} clusters of {min_cluster_share:.0%}+ of "
                  f"customers, stability ≥ {min_stability:.2f}), so the most stable candidate was taken "
                  f"(adjusted Rand index {scores.loc[k, 'stability_ari']:.2f}); read the clusters with care.")
    if best_silhouette != k:
        failed = ("gives fewer than " + str(min_k) + " clusters" if best_silhouette < min_k else
                  "fails the size or stability bar")
        reason += (f" k = {best_silhouette} has the best silhouette ({scores.loc[best_silhouette, 'silhouette']:.2f})"
                   f" but {failed}.")
    return k, reason


# Words for a cluster centre by its standardised value: below -1, below -0.5,
# in between, up to 1, above 1. R, F and M are always named.
_LEVEL_WORDS = {
    "recency": ("very recent", "recent", "mid-recency", "lapsed", "long lapsed"),
    "frequency": ("rare", "infrequent", "occasional", "frequent", "very frequent"),
    "monetary": ("very low spend", "low spend", "mid spend", "high spend", "top spend"),
}


# Other features are named only when they stand out (beyond half a standard deviation).
_EXTRA_WORDS = {
    "tenure": ("newer", "long-standing"),
    "average_basket": ("small baskets", "big baskets"),
    "category_breadth": ("narrow range", "broad range"),
    "discount_rate": ("full price", "deal-driven"),
}


def _level(value: float) -> int:
    return int(np.searchsorted([-1.0, -0.5, 0.5, 1.0], value, side="left"))


def cluster_names(standardized_means: pd.DataFrame, threshold: float = 0.5) -> pd.Series:
    """Plain-language names from standardised cluster means, e.g. "recent, frequent, high spend".

    R, F and M are always named, with five levels each; other features are
    added when they stand out (most distinctive first, at most one unless
    names collide). Names that still collide get the cluster number.

    Examples
    --------
    >>> means = pd.DataFrame({"recency": [-1.2, 0.7], "frequency": [0.8, -0.9], "monetary": [1.5, 0.1]},
    ...                      index=[1, 2])
    >>> cluster_names(means).tolist()
    ['very recent, frequent, top spend', 'lapsed, infrequent, mid spend']
    """
    words = {}
    for cluster, row in standardized_means.iterrows():
        named = [_LEVEL_WORDS[f][_level(row[f])] for f in ("recency", "frequency", "monetary")]
        extras = row.drop(list(_LEVEL_WORDS), errors="ignore")
        for feature in extras.abs().sort_values(ascending=False).index:
            if abs(extras[feature]) > threshold and feature in _EXTRA_WORDS:
                named.append(_EXTRA_WORDS[feature][int(extras[feature] > 0)])
        words[cluster] = named
    # R, F, M plus the first standout extra; longer only where names collide.
    length = {c: min(4, len(w)) for c, w in words.items()}
    for _ in range(len(_EXTRA_WORDS)):
        names = pd.Series({c: ", ".join(words[c][:length[c]]) for c in words})
        clashes = names[names.duplicated(keep=False)].index
        if clashes.empty:
            break
        for c in clashes:
            length[c] = min(length[c] + 1, len(words[c]))
    names = pd.Series({c: ", ".join(words[c][:length[c]]) for c in words})
    clashing = names.duplicated(keep=False)
    names[clashing] = [f"{name} (cluster {c})" for c, name in names[clashing].items()]
    return names.rename("cluster_name")


def cluster_profile(features: pd.DataFrame, labels: pd.Series, names: pd.Series,
                    centroids: pd.DataFrame) -> pd.DataFrame:
    """Per cluster: name, customers, shares of customers and revenue, centroid in original units."""
    sizes = labels.value_counts().sort_index()
    revenue = features["monetary"].groupby(labels).sum()
    table = pd.DataFrame({"name": names, "customers": sizes, "customer_share": sizes / sizes.sum(),
                          "revenue_share": revenue / revenue.sum()})
    table = table.join(centroids.rename(columns=lambda c: f"centre_{c}"))
    table.index.name = "cluster"
    return table
