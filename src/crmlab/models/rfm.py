"""RFM values, quintile scores and named segments from one YAML table of rules."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from crmlab import engine
from crmlab.core.ranking import equal_groups
from crmlab.engine import customer_tables

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


def rfm_table(transactions, analysis_date: Any = None, extra_features=()) -> pd.DataFrame:
    """Per customer: ``recency`` (days), ``frequency`` (orders), ``monetary`` (revenue), plus extras.

    Recency counts whole days from the last purchase day to ``analysis_date``
    (default: the day after the last purchase in the data, so the most
    recent customers have recency 1). Extra features: see :data:`EXTRA_FEATURES`.
    ``transactions`` is anything :func:`crmlab.engine.lines` takes; the lines
    are grouped in the engine (:func:`crmlab.engine.customer_tables.customer_activity`).

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
    """Scores 1..5 by quintile of rank (5 the best fifth), ranked and cut by the kit's one rule.

    Customers are ranked by :func:`crmlab.core.ranking.value_rank` (best
    first; among equal values the smaller customer id ranks first) and cut
    into five groups of equal size by :func:`crmlab.core.ranking.equal_groups`,
    the cut of the value deciles. So when most customers have frequency 1,
    they still spread over the lower scores instead of breaking the scoring,
    and a tie goes the same way here as in every other report.

    Examples
    --------
    >>> quintile_score(pd.Series([1, 1, 1, 1, 1, 1, 2, 3, 8, 9])).tolist()
    [3, 3, 2, 2, 1, 1, 4, 4, 5, 5]
    """
    ranked = values.astype(float) if higher_is_better else -values.astype(float)
    return (6 - equal_groups(ranked, 5)).astype(int).rename(None)


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


def rfm_segments(transactions, analysis_date: Any = None, rules: list[dict[str, Any]] | None = None) -> pd.Series:
    """The RFM segment of every customer, as the segments report names it, from the lines alone.

    The one way to segment: :func:`rfm_table` (recency to ``analysis_date``),
    :func:`rfm_scores` and :func:`assign_segments` with ``rules`` (default: the
    bundled table). Reports that need segments call this instead of waiting
    for the segments report's export, so no report holds another back.

    Examples
    --------
    >>> lines = pd.DataFrame({"customer_id": [1, 2], "order_id": [10, 11],
    ...                       "order_date": pd.to_datetime(["2020-01-01", "2020-01-09"]), "revenue": [5.0, 15.0]})
    >>> rfm_segments(lines).astype(str).to_dict()
    {1: 'Loyal', 2: 'Champions'}
    """
    scores = rfm_scores(rfm_table(transactions, analysis_date))
    return assign_segments(scores, rules if rules is not None else load_segment_rules())
