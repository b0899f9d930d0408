"""Association rules from frequent itemsets, every threshold applied on integer counts."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pandas as pd


def association_rules(itemsets: pd.DataFrame, n_baskets: int, min_confidence: float = 0.5,
                      consequents: str = "single", max_len: int | None = None, min_count: int | None = None,
                      min_lift: float | None = None, prune_redundant: bool = False) -> pd.DataFrame:
    """Rules antecedent -> consequent from frequent itemsets, every threshold applied on integer counts.

    Parameters
    ----------
    itemsets : DataFrame
        From :func:`crmlab.models.itemsets.mining.mine` (``codes``, ``items``, ``count``).
    min_confidence : float
        Kept when count(A and C) / count(A) >= min_confidence, compared as
        exact fractions (mlxtend's float comparison loses rules sitting on it).
    consequents : {"single", "any"}
        One item on the right (the arules convention) or any non-empty subset.
    max_len : int, optional
        Most items in antecedent and consequent together.
    min_count : int, optional
        Fewest baskets holding the whole rule.
    min_lift : float, optional
    prune_redundant : bool
        Drop a rule when a rule with the same consequent and a smaller
        (non-empty) antecedent has at least the same confidence.

    Returns
    -------
    DataFrame
        antecedent, consequent (tuples of names), size, count, support,
        antecedent_count, consequent_count, confidence, lift, leverage,
        conviction (inf at confidence 1), zhang.
    """
    if consequents not in ("single", "any"):
        raise ValueError(f"consequents must be 'single' or 'any', got {consequents!r}")
    counts = {frozenset(c): n for c, n in zip(itemsets["codes"], itemsets["count"])}
    names = {c[0]: items[0] for c, items in zip(itemsets["codes"], itemsets["items"]) if len(c) == 1}
    confidence = Fraction(str(min_confidence))
    p, q = confidence.numerator, confidence.denominator
    rows = []
    for codes, n_s in zip(itemsets["codes"], itemsets["count"]):
        if len(codes) < 2 or (max_len and len(codes) > max_len) or (min_count and n_s < min_count):
            continue
        whole = frozenset(codes)
        if consequents == "single":
            splits = [frozenset([c]) for c in codes]
        else:
            splits = [frozenset(s) for r in range(1, len(codes)) for s in itertools.combinations(codes, r)]
        for consequent in splits:
            antecedent = whole - consequent
            n_a = counts[antecedent]
            if n_s * q >= p * n_a:
                rows.append((antecedent, consequent, n_s, n_a, counts[consequent]))
    if prune_redundant:
        rows = [row for row in rows if not _redundant(row, counts)]
    n = n_baskets
    frame = pd.DataFrame(rows, columns=["antecedent_codes", "consequent_codes", "count", "antecedent_count",
                                        "consequent_count"])
    s = frame["count"].to_numpy(dtype=float)
    a = frame["antecedent_count"].to_numpy(dtype=float)
    c = frame["consequent_count"].to_numpy(dtype=float)
    frame["antecedent"] = [tuple(names[i] for i in sorted(x)) for x in frame["antecedent_codes"]]
    frame["consequent"] = [tuple(names[i] for i in sorted(x)) for x in frame["consequent_codes"]]
    frame["size"] = frame["antecedent_codes"].map(len) + frame["consequent_codes"].map(len)
    frame["support"] = s / n
    frame["confidence"] = s / a
    frame["lift"] = s * n / (a * c)
    frame["leverage"] = s / n - (a / n) * (c / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["conviction"] = np.where(s == a, np.inf, (1 - c / n) / (1 - s / a))
        without = np.where(n > a, (c - s) / np.maximum(n - a, 1), 0.0)
        top = np.maximum(s / a, without)
        frame["zhang"] = np.where(top > 0, (s / a - without) / top, 0.0)
    if min_lift is not None:
        frame = frame[frame["lift"] >= min_lift]
    columns = ["antecedent", "consequent", "size", "count", "support", "antecedent_count", "consequent_count",
               "confidence", "lift", "leverage", "conviction", "zhang"]
    return frame.sort_values(["lift", "count"], ascending=False, kind="stable")[columns].reset_index(drop=True)


def _redundant(row, counts) -> bool:
    antecedent, consequent, n_s, n_a, _ = row
    for size in range(1, len(antecedent)):
        for general in itertools.combinations(sorted(antecedent), size):
            general = frozenset(general)
            # conf(general -> C) >= conf(A -> C), in integers.
            if counts[general | consequent] * n_a >= n_s * counts[general]:
                return True
    return False


def rule_text(antecedent: tuple, consequent: tuple) -> str:
    return "{" + ", ".join(map(str, antecedent)) + "} → {" + ", ".join(map(str, consequent)) + "}"
