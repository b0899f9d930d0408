"""Segmentation: RFM scores and named segments, k-means clusters with profiles.

Two views of the same customers, for two uses:

- RFM segments (:func:`rfm_table`, :func:`rfm_scores`, :func:`assign_segments`)
  are rule-based and stable from run to run: marketing can name a campaign
  after "At Risk" and know what it means. The rules live in one YAML table,
  ``rfm_segments.yaml``, checked on load to cover every score combination
  exactly once.
- k-means clusters (:class:`CustomerClusters`) are data-driven: they find the
  groups this customer base actually has, on RFM plus optional behaviour
  features, with k chosen by :func:`choose_k` from quality, stability and
  usefulness together.

:class:`SegmentationAnalysis` runs both with the notebook's parameters.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.stats import chi2_contingency
from sklearn.cluster import KMeans
from sklearn.metrics import (adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score,
                             silhouette_score)
from sklearn.preprocessing import PowerTransformer, StandardScaler

from . import engine
from .availability import NotAvailable
from .constraints import DateLike, Interval, ListOf, Options, validate
from .engine import customers as customer_tables
from .report import number, pct

DEFAULT_RULES = Path(__file__).with_name("rfm_segments.yaml")

# Behaviour features that can be added to R, F and M, and the columns they need.
EXTRA_FEATURES = {
    "tenure": ("days since the first purchase", "days", ()),
    "average_basket": ("mean revenue per order", "money", ()),
    "category_breadth": ("distinct categories bought", "count", ("category",)),
    "discount_rate": ("discount as a share of the undiscounted price", "share", ("discount",)),
}
FEATURE_UNITS = {"recency": "days", "frequency": "orders", "monetary": "money", **{
    name: unit for name, (_, unit, _) in EXTRA_FEATURES.items()}}


# --------------------------------------------------------------------------- RFM


def rfm_table(transactions, analysis_date: Any = None, extra_features=()) -> pd.DataFrame:
    """Per customer: ``recency`` (days), ``frequency`` (orders), ``monetary`` (revenue), plus extras.

    Recency counts whole days from the last purchase day to ``analysis_date``
    (default: the day after the last purchase in the data, so the most
    recent customers have recency 1). Extra features: see :data:`EXTRA_FEATURES`.
    ``transactions`` is anything :func:`crmlab.engine.lines` takes; the lines
    are grouped in the engine (:func:`crmlab.engine.customers.customer_activity`).

    Examples
    --------
    >>> lines = pd.DataFrame({"customer_id": [1, 1, 2], "order_id": [10, 11, 12],
    ...                       "order_date": pd.to_datetime(["2020-01-01", "2020-01-09", "2020-01-05"]),
    ...                       "revenue": [5.0, 15.0, 7.0]})
    >>> rfm_table(lines, "2020-01-10", ["tenure"])
                 recency  frequency  monetary  tenure
    customer_id
    1                  1          2      20.0       9
    2                  5          1       7.0       5
    """
    unknown = sorted(set(extra_features) - set(EXTRA_FEATURES))
    if unknown:
        raise ValueError(f"features: unknown feature(s) {unknown}; known: {', '.join(EXTRA_FEATURES)}")
    t = engine.lines(transactions)
    for feature in extra_features:
        missing = [c for c in EXTRA_FEATURES[feature][2] if c not in t.columns]
        if missing:
            raise ValueError(f"features: '{feature}' needs the column(s) {missing}, which this dataset does not have")
    activity = customer_tables.customer_activity(t, categories="category_breadth" in extra_features)
    if analysis_date is not None:
        end = customer_tables.day_of(analysis_date)
    else:
        end = int(activity["last_day"].max()) + 1 if len(activity) else 0
    out = pd.DataFrame({
        "recency": end - activity["last_day"],
        "frequency": activity["orders"],
        "monetary": activity["revenue"],
    })
    if "tenure" in extra_features:
        out["tenure"] = end - activity["first_day"]
    if "average_basket" in extra_features:
        out["average_basket"] = out["monetary"] / out["frequency"]
    if "category_breadth" in extra_features:
        out["category_breadth"] = activity["categories"]
    if "discount_rate" in extra_features:
        discount = activity["discount"]
        out["discount_rate"] = (discount / (out["monetary"] + discount)).fillna(0.0)
    return out


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..5 by quintile of rank; ties broken by rank so scoring never fails on tied data.

    Customers are ordered by value (best last), ties by customer id, and the
    order is cut into five groups of equal size (``pd.qcut`` on ranks, which
    cannot produce duplicate bin edges). So when most customers have
    frequency 1, they still spread over the lower scores instead of breaking
    the scoring.

    Examples
    --------
    >>> quintile_score(pd.Series([1, 1, 1, 1, 1, 1, 2, 3, 8, 9])).tolist()
    [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    """
    order = pd.DataFrame({"value": values.to_numpy() if higher_is_better else -values.to_numpy(),
                          "id": values.index.to_numpy()})
    rank = order.sort_values(["value", "id"], kind="stable").index.to_numpy()
    position = np.empty(len(values), dtype=float)
    position[rank] = np.arange(1, len(values) + 1)
    n_bins = min(5, len(values))
    scores = pd.qcut(position, n_bins, labels=False) + 1 + (5 - n_bins)
    return pd.Series(scores.astype(int), index=values.index)


def rfm_scores(rfm: pd.DataFrame) -> pd.DataFrame:
    """R, F and M scores 1..5 (5 = most recent, most orders, most spend) and the three-digit ``rfm_score``."""
    scores = pd.DataFrame({
        "r_score": quintile_score(rfm["recency"], higher_is_better=False),
        "f_score": quintile_score(rfm["frequency"]),
        "m_score": quintile_score(rfm["monetary"]),
    }, index=rfm.index)
    scores["rfm_score"] = (scores["r_score"].astype(str) + scores["f_score"].astype(str)
                           + scores["m_score"].astype(str))
    return scores


def load_segment_rules(path: str | Path | None = None) -> list[dict[str, Any]]:
    """Read a segment rules table and check it names every (R, F, M) combination exactly once."""
    path = Path(path) if path else DEFAULT_RULES
    raw = yaml.safe_load(path.read_text())
    segments = raw.get("segments") if isinstance(raw, dict) else None
    if not segments:
        raise ValueError(f"{path}: expected a 'segments' list")
    for segment in segments:
        if not {"name", "action", "rules"} <= set(segment):
            raise ValueError(f"{path}: each segment needs name, action and rules; got {sorted(segment)}")
    problems = []
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        matches = [s["name"] for s in segments if _matches(s, r, (f + m) / 2)]
        if len(matches) != 1:
            problems.append(f"R={r} F={f} M={m}: {matches or 'no segment'}")
    if problems:
        raise ValueError(f"{path}: every score combination must match exactly one segment; "
                         f"{len(problems)} do not, e.g. " + "; ".join(problems[:5]))
    return segments


def _matches(segment: dict[str, Any], r: int, fm: float) -> bool:
    return any(rule["r"][0] <= r <= rule["r"][1] and rule["fm"][0] <= fm <= rule["fm"][1]
               for rule in segment["rules"])


def assign_segments(scores: pd.DataFrame, rules: list[dict[str, Any]]) -> pd.Series:
    """The segment name of each customer, from the R score and FM = (F + M) / 2."""
    lookup = {}
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        lookup[(r, f, m)] = next(s["name"] for s in rules if _matches(s, r, (f + m) / 2))
    keys = zip(scores["r_score"], scores["f_score"], scores["m_score"])
    names = [s["name"] for s in rules]
    return pd.Series(pd.Categorical([lookup[k] for k in keys], categories=names), index=scores.index,
                     name="rfm_segment")


def segment_table(rfm: pd.DataFrame, segments: pd.Series, rules: list[dict[str, Any]]) -> pd.DataFrame:
    """Per segment: customers, shares of customers and revenue, mean R/F/M, suggested action."""
    frame = rfm.assign(segment=segments)
    table = frame.groupby("segment", observed=False).agg(
        customers=("monetary", "size"), revenue=("monetary", "sum"), mean_recency_days=("recency", "mean"),
        mean_orders=("frequency", "mean"), mean_revenue=("monetary", "mean"))
    table["customer_share"] = table["customers"] / table["customers"].sum()
    table["revenue_share"] = table["revenue"] / table["revenue"].sum()
    table["action"] = [next(s["action"] for s in rules if s["name"] == name) for name in table.index]
    table.index.name = "segment"
    return table[["customers", "customer_share", "revenue_share", "mean_recency_days", "mean_orders",
                  "mean_revenue", "action"]]


# --------------------------------------------------------------------------- clusters


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


# --------------------------------------------------------------------------- demographics and crosstabs


def _natural_key(value: Any) -> tuple:
    text = str(value)
    if text.lower().startswith("under"):
        return (-1.0, text)
    number = re.search(r"\d+(\.\d+)?", text)
    return (float(number.group()) if number else math.inf, text)


def demographics_by_cluster(attributes: pd.DataFrame, labels: pd.Series
                            ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """How clusters differ on each customer attribute.

    Returns a summary (per attribute: customers covered, Cramér's V between
    attribute and cluster, chi-square p-value), strongest association first;
    per attribute a table of category shares within each cluster (among
    customers with the attribute); and the customer counts behind those
    shares, same rows and columns (for suppressing small cells).
    """
    joined = attributes.set_index("customer_id").join(labels, how="inner")
    summary, shares, cells = [], {}, {}
    for column in attributes.columns.drop("customer_id"):
        known = joined[[column, "cluster"]].dropna()
        if known.empty or known[column].nunique() < 2:
            continue
        counts = pd.crosstab(known[column], known["cluster"])
        counts = counts.loc[sorted(counts.index, key=_natural_key)]
        chi2, p_value, _, _ = chi2_contingency(counts)
        n = counts.to_numpy().sum()
        v = math.sqrt(chi2 / (n * max(1, min(counts.shape) - 1)))
        summary.append({"attribute": column, "customers": int(n), "cramers_v": v, "p_value": p_value})
        share = counts / counts.sum()
        # The covered count per cluster goes into the label: a 100% share of two customers is not a finding.
        share.columns = [f"{c} (n={int(counts[c].sum())})" for c in counts.columns]
        shares[column] = share
        cells[column] = counts.set_axis(share.columns, axis=1)
    table = pd.DataFrame(summary)
    if not table.empty:
        table = table.sort_values("cramers_v", ascending=False).set_index("attribute")
    return table, shares, cells


def clv_by_segment(segments: pd.Series, clv: pd.DataFrame) -> pd.DataFrame:
    """Mean CLV and P(alive) per RFM segment, from the CLV export of the same run."""
    joined = clv.set_index("customer_id")[["clv", "p_alive"]].join(segments, how="inner")
    table = joined.groupby("rfm_segment", observed=False).agg(customers=("clv", "size"), mean_clv=("clv", "mean"),
                                                              mean_p_alive=("p_alive", "mean"))
    table.index.name = "segment"
    return table


# --------------------------------------------------------------------------- the analysis


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
        crmlab.availability.NotAvailable
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

    # The report's tables and sentences, from the fitted attributes.

    def headline(self) -> str:
        return headline(self.metrics_, self.segment_table_)

    def segments_caption(self) -> str:
        return segments_caption(self.segment_table_)

    def demographics_note(self, attributes: pd.DataFrame | None) -> str:
        return demographics_note(attributes, len(self.rfm_))

    def demographics(self, attributes: pd.DataFrame
                     ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
        """Per attribute: Cramér's V and chi-square against the clusters, each cluster's shares and their counts."""
        return demographics_by_cluster(attributes, self.clusters_.labels_)

    def crosstab(self) -> pd.DataFrame:
        return segment_cluster_crosstab(self.segments_, self.clusters_.labels_)

    def clv_by_segment(self, clv: pd.DataFrame) -> pd.DataFrame:
        return clv_by_segment(self.segments_, clv)


# --------------------------------------------------------------------------- plain words


def headline(metrics: dict[str, Any], table: pd.DataFrame) -> str:
    top = table.sort_values("revenue_share", ascending=False).iloc[0]
    risk = table.loc[[s for s in ("At Risk", "Can't Lose Them") if s in table.index]]
    return (f"**{number(metrics['customers'])} customers fall into {int((table['customers'] > 0).sum())} RFM segments "
            f"and {metrics['k']} behaviour clusters.** {top.name} ({pct(top['customer_share'])} of customers) bring "
            f"{pct(top['revenue_share'])} of revenue; {number(risk['customers'].sum())} customers are At Risk or "
            f"Can't Lose Them, holding {pct(risk['revenue_share'].sum())} of revenue.")


def segments_caption(table: pd.DataFrame) -> str:
    largest = table["customers"].idxmax()
    return (f"Bars show each segment's share of customers and of revenue; the largest segment is {largest} "
            f"({pct(table.loc[largest, 'customer_share'])} of customers).")


def demographics_caption(summary: pd.DataFrame) -> str:
    """Caption for the chart of the attribute that differs most between clusters (first row of the summary)."""
    strongest = summary.index[0]
    return (f"{strongest.replace('_', ' ').capitalize()} differs most between clusters (Cramér's V "
            f"{summary.iloc[0]['cramers_v']:.2f}); each column shows how the cluster's covered customers split.")


def demographics_note(attributes: pd.DataFrame | None, customers: int) -> str:
    if attributes is None:
        return "This dataset has no customer attributes, so clusters cannot be compared on demographics."
    covered = attributes["customer_id"].nunique()
    return (f"Demographics cover {number(covered)} of {number(customers)} customers ({pct(covered / customers)}); "
            "the shares below are among covered customers only, so read them as indicative.")


def segment_cluster_crosstab(segments: pd.Series, labels: pd.Series) -> pd.DataFrame:
    """Customers per RFM segment (rows) and cluster (columns)."""
    table = pd.crosstab(segments, labels)
    table.index.name, table.columns.name = "RFM segment", "cluster"
    return table


def load_clv(exports_dir: str | Path) -> pd.DataFrame | None:
    """The CLV export in ``exports_dir`` (a run's own ``exports/``), or None when CLV did not run there."""
    path = Path(exports_dir) / "customer_clv.parquet"
    return pd.read_parquet(path) if path.exists() else None
