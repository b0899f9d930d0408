"""The baskets report's analysis: itemsets, rules and sequences with the notebook's parameters."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from crmlab import engine
from crmlab.analyses.baskets.sequences import sequence_rules
from crmlab.analyses.baskets.tables import rules_export
from crmlab.core.availability import NotAvailable
from crmlab.core.constraints import Interval, Options, validate
from crmlab.engine import item_tables
from crmlab.models.itemsets.encoding import LEVELS, Encoded, encode, multi_item_baskets, resolve_level
from crmlab.models.itemsets.mining import MINERS, SPARK_MINER, mine, mine_in_engine
from crmlab.models.itemsets.rules import association_rules, rule_text

# Rules need baskets holding two items; with fewer than this many, rules are anecdotes.
MIN_MULTI_ITEM_BASKETS = 100


# A fractional minimum support never means fewer baskets than this: on a small file 1% is one or two
# baskets, every combination in them is "frequent", and mining them all can exhaust the memory.
MIN_SUPPORT_BASKETS = 10


class BasketAnalysis:
    """Itemsets, rules and sequences for one transaction table.

    Parameters
    ----------
    level : {"auto", "category", "product_id", "department"}
        ``auto``: category when the data has one, else product. The level
        used is ``level_``.
    min_support : float or int
        Fraction of baskets (never fewer than ``MIN_SUPPORT_BASKETS``), or an
        absolute basket count.
    min_confidence, consequents, max_len, min_count, prune_redundant
        See :func:`association_rules`.
    miner : str
        See :data:`MINERS`. On the Spark engine the baskets are mined by
        Spark's FPGrowth instead (:data:`SPARK_MINER`), with the same counts;
        ``miner_used_`` says which one ran.
    window_days, sequence_items, min_sequence_customers
        See :func:`sequence_rules`.
    top_n : int
        Rules and sequences shown in the report's tables.

    Attributes
    ----------
    level_ : str
        The item level used (``level``, or what ``auto`` chose).
    encoded_ : Encoded
        Baskets x frequent items, with exact item counts and the minimum basket count.
    itemsets_ : DataFrame
        Frequent itemsets: items, size, basket count and support.
    miner_used_ : str
        Which miner found them, in words.
    mining_seconds_ : float
        Time spent encoding and mining.
    rules_ : DataFrame
        Association rules with support, confidence, lift, leverage, conviction and Zhang's metric.
    sequences_ : DataFrame
        "Bought X, then Y within ``window_days``" pairs with share, baseline and lift.
    metrics_ : dict
        The figures recorded in ``metrics.json``.

    Examples
    --------
    >>> from crmlab import data
    >>> lines = data.load_transactions("tests/fixtures/complete_journey_sample")
    >>> analysis = BasketAnalysis(min_support=0.02).fit(lines)
    >>> analysis.level_, bool((analysis.rules_["confidence"] >= 0.3).all())
    ('category', True)
    """

    _parameter_constraints = {
        "level": [Options({"auto", *LEVELS})],
        # A fraction of baskets in (0, 1), or a whole number of baskets.
        "min_support": [Interval(float, 0, 1, closed="neither"), Interval(int, 1, None)],
        "min_confidence": [Interval(float, 0, 1)],
        "consequents": [Options({"single", "any"})],
        "max_len": [Interval(int, 2, None), None],
        "min_count": [Interval(int, 1, None), None],
        "prune_redundant": [bool],
        "miner": [Options(set(MINERS))],
        "window_days": [Interval(int, 1, None)],
        "sequence_items": [Interval(int, 2, None)],
        "min_sequence_customers": [Interval(int, 1, None)],
        "top_n": [Interval(int, 1, None)],
    }

    def __init__(self, *, level: str = "auto", min_support: float | int = 0.01, min_confidence: float = 0.3,
                 consequents: str = "single", max_len: int | None = None, min_count: int | None = None,
                 prune_redundant: bool = True, miner: str = "hmine-projected", window_days: int = 30,
                 sequence_items: int = 200, min_sequence_customers: int = 30, top_n: int = 15):
        self.level = level
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.consequents = consequents
        self.max_len = max_len
        self.min_count = min_count
        self.prune_redundant = prune_redundant
        self.miner = miner
        self.window_days = window_days
        self.sequence_items = sequence_items
        self.min_sequence_customers = min_sequence_customers
        self.top_n = top_n

    def fit(self, transactions) -> "BasketAnalysis":
        """Mine itemsets, rules and sequences.

        Raises
        ------
        crmlab.core.availability.NotAvailable
            When the data has no item column, or fewer than
            ``MIN_MULTI_ITEM_BASKETS`` baskets with two items.
        """
        validate(self)
        transactions = engine.lines(transactions)
        self.level_ = resolve_level(transactions, self.level)
        multi = multi_item_baskets(transactions, self.level_)
        if multi < MIN_MULTI_ITEM_BASKETS:
            raise NotAvailable(f"only {multi:,} baskets hold two or more different items "
                               f"({self.level_.replace('_id', '')} level); rules from fewer than "
                               f"{MIN_MULTI_ITEM_BASKETS} are anecdotes",
                               f"at least {MIN_MULTI_ITEM_BASKETS} orders with two or more items, each line "
                               "carrying its order id")
        start = time.perf_counter()
        self.itemsets_, self.encoded_, self.miner_used_ = _mine(transactions, self.level_, self.min_support,
                                                                MIN_SUPPORT_BASKETS, self)
        self.mining_seconds_ = time.perf_counter() - start
        self.rules_ = association_rules(self.itemsets_, self.encoded_.n_baskets, self.min_confidence,
                                        self.consequents, self.max_len, self.min_count,
                                        prune_redundant=self.prune_redundant)
        self.sequences_ = sequence_rules(transactions, self.level_, self.window_days, self.sequence_items,
                                         self.min_sequence_customers)
        self.metrics_ = self._metrics()
        return self

    def _metrics(self) -> dict[str, Any]:
        rules = self.rules_
        top = rules.iloc[0] if len(rules) else None
        return {
            "baskets": int(self.encoded_.n_baskets),
            "items": int(self.encoded_.n_items),
            "frequent_items": int(len(self.encoded_.items)),
            "level": self.level_,
            "min_support": self.min_support,
            "min_count": int(self.encoded_.min_count),
            "min_confidence": self.min_confidence,
            "itemsets": int(len(self.itemsets_)),
            "rules": int(len(rules)),
            "top_rule": None if top is None else rule_text(top["antecedent"], top["consequent"]),
            "top_lift": None if top is None else float(top["lift"]),
            "sequences": int(len(self.sequences_)),
            "window_days": self.window_days,
            "miner": self.miner_used_,
            "mining_seconds": round(self.mining_seconds_, 3),
        }

    def export(self) -> pd.DataFrame:
        """The rules with their measures, antecedent and consequent as text, for merchandising tools."""
        return rules_export(self.rules_)


def _mine(transactions, level: str, min_support, min_support_baskets: int,
          analysis: "BasketAnalysis") -> tuple[pd.DataFrame, Encoded, str]:
    """Itemsets with the analysis's settings, and which miner found them: Spark's FPGrowth on a Spark
    table (the baskets stay in the cluster), else the local miner on the pruned matrix."""
    if item_tables.runs_on_spark(transactions):
        encoded = encode(transactions, level, min_support, min_support_baskets, matrix=False)
        return (mine_in_engine(transactions, encoded, analysis.max_len, analysis.min_confidence), encoded,
                f"spark-fpgrowth: {SPARK_MINER}")
    encoded = encode(transactions, level, min_support, min_support_baskets)
    return (mine(encoded, analysis.max_len, analysis.miner), encoded,
            f"{analysis.miner}: {MINERS[analysis.miner]}")
