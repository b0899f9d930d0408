"""The baskets report's analysis: itemsets, rules and sequences with the notebook's parameters."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from crmlab import engine
from crmlab.analyses.baskets.by_segment import mine_segment_rules
from crmlab.analyses.baskets.offers import OfferRules, holdout_check, todays_offers, with_values
from crmlab.analyses.baskets.sequences import sequence_rules
from crmlab.analyses.baskets.tables import rules_export
from crmlab.core.availability import NotAvailable
from crmlab.core.constraints import DateLike, Interval, Options, validate
from crmlab.engine import customer_tables, item_tables, offer_tables
from crmlab.engine.offer_tables import ALL_BASKETS
from crmlab.models.btyd.summaries import resolve_calibration_end
from crmlab.models.itemsets.encoding import LEVELS, Encoded, encode, multi_item_baskets, resolve_level
from crmlab.models.itemsets.mining import MINERS, SPARK_MINER, mine, mine_in_engine
from crmlab.models.itemsets.rules import association_rules, rule_text
from crmlab.models.rfm import load_segment_rules, rfm_segments

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
    calibration_end : date-like, optional
        The offers' check: rules, sequences and segments are found on the
        lines up to this day (included), offers made as of it are checked on
        what customers bought after it. Default: the CLV report's rule, the
        middle of the window from the first purchase to the last day.
    offers_per_customer : int
        Offers made to each customer.
    segment_rules : path, optional
        The RFM segment rules YAML (as the segments report's ``segment_rules``).

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
    segments_ : Categorical Series
        Each customer's RFM segment, as of the last day of the data.
    segment_rules_ : dict
        Segment -> (its rules, its basket count), for the segments with
        enough baskets and at least one rule (see :func:`crmlab.analyses.baskets.by_segment.mine_segment_rules`).
    offers_ : DataFrame
        Every customer's offers as of the last day (see
        :mod:`crmlab.analyses.baskets.offers`): customer_id, rank, item,
        item_name, score, reason and source ("rule" or "popular").
    calibration_end_ : Timestamp
        The last day of the offers' check's calibration period.
    offers_holdout_days_ : int
        Days after ``calibration_end_`` up to the last day: the check's holdout.
    offers_seconds_ : float
        Time spent on the offers: segments, their rules, today's offers and the check.
    offers_check_ : dict or None
        The check's figures (hit rates, precision, coverage), or None when
        the calibration period cannot support rules; ``offers_check_reason_`` says why.
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
        "calibration_end": [DateLike(), None],
        "offers_per_customer": [Interval(int, 1, None)],
        "segment_rules": [str, None],
    }

    def __init__(self, *, level: str = "auto", min_support: float | int = 0.01, min_confidence: float = 0.3,
                 consequents: str = "single", max_len: int | None = None, min_count: int | None = None,
                 prune_redundant: bool = True, miner: str = "eclat", window_days: int = 30,
                 sequence_items: int = 200, min_sequence_customers: int = 30, top_n: int = 15,
                 calibration_end: Any = None, offers_per_customer: int = 3, segment_rules: str | None = None):
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
        self.calibration_end = calibration_end
        self.offers_per_customer = offers_per_customer
        self.segment_rules = segment_rules

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
        multi = multi_item_baskets(transactions, self.level_, enough=MIN_MULTI_ITEM_BASKETS)
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
        self._fit_offers(transactions)
        self.metrics_ = self._metrics()
        return self

    def _fit_offers(self, t) -> None:
        """Today's offers from the whole window's rules, and their check from the calibration period's."""
        start = time.perf_counter()
        segment_definitions = load_segment_rules(self.segment_rules)
        window = customer_tables.extent(t)
        last_day = window["last_day"]
        self.segments_ = rfm_segments(t, None, segment_definitions)
        self.segment_rules_ = mine_segment_rules(t, self.segments_, self)
        k = self.offers_per_customer
        rules = self._offer_rules(with_values(self.rules_, self.encoded_), self.sequences_, self.segment_rules_)
        self.offers_ = todays_offers(t, self.level_, last_day, rules,
                                     self.segments_, self.segment_rules_, k, self.window_days)
        end = pd.Timestamp(window["last_date"]).floor("D")
        self.calibration_end_ = resolve_calibration_end(self.calibration_end, window["first_date"], end)
        calibration_day = customer_tables.day_of(self.calibration_end_)
        self.offers_holdout_days_ = max(last_day - calibration_day, 0)
        self.offers_check_, self.offers_check_reason_ = self._check_offers(t, calibration_day, last_day,
                                                                            segment_definitions)
        self.offers_seconds_ = time.perf_counter() - start

    @staticmethod
    def _offer_rules(rules: pd.DataFrame, sequences: pd.DataFrame,
                     by_segment: dict[str, tuple[pd.DataFrame, int]]) -> OfferRules:
        return OfferRules.of({ALL_BASKETS: rules, **{name: found for name, (found, _) in by_segment.items()}},
                             sequences)

    def _check_offers(self, t, calibration_day: int, last_day: int,
                      segment_definitions: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str | None]:
        """The offers of ``calibration_day`` against what was bought after it, or why they cannot be checked."""
        cut = _date(calibration_day).date()
        if calibration_day >= last_day:
            return None, (f"calibration_end ({cut}) leaves no day after it to check the offers on; set an earlier "
                          "`calibration_end`")
        history = offer_tables.lines_through(t, calibration_day)
        multi = multi_item_baskets(history, self.level_, enough=MIN_MULTI_ITEM_BASKETS)
        if multi < MIN_MULTI_ITEM_BASKETS:
            return None, (f"up to calibration_end ({cut}) only {multi:,} baskets hold two or more items, too few "
                          "for rules; set a later `calibration_end`")
        itemsets, encoded, _ = _mine(history, self.level_, self.min_support, MIN_SUPPORT_BASKETS, self)
        rules = association_rules(itemsets, encoded.n_baskets, self.min_confidence, self.consequents, self.max_len,
                                  self.min_count, prune_redundant=self.prune_redundant)
        sequences = sequence_rules(history, self.level_, self.window_days, self.sequence_items,
                                   self.min_sequence_customers)
        segments = rfm_segments(history, _date(calibration_day + 1), segment_definitions)
        by_segment = mine_segment_rules(history, segments, self)
        check = holdout_check(t, self.level_, calibration_day,
                              self._offer_rules(with_values(rules, encoded), sequences, by_segment),
                              segments, by_segment, self.offers_per_customer, self.window_days)
        return check, None

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
            "offers_per_customer": self.offers_per_customer,
            "offers_customers": int(self.offers_["customer_id"].nunique()),
            "offers_from_rules_share": _share(self.offers_["source"] == "rule"),
            "calibration_end": str(self.calibration_end_.date()),
            "offers_holdout_days": self.offers_holdout_days_,
            **(self.offers_check_ or {name: None for name in OFFER_CHECK_METRICS}),
            "offers_seconds": round(self.offers_seconds_, 3),
        }

    def export(self) -> pd.DataFrame:
        """The rules with their measures, antecedent and consequent as text, for merchandising tools."""
        return rules_export(self.rules_)


# The figures of the offers' check (see :func:`crmlab.analyses.baskets.offers.holdout_check`).
OFFER_CHECK_METRICS = ("offers_customers_evaluated", "offers_hit_rate", "offers_precision", "offers_rule_coverage",
                       "offers_hit_rate_popular", "offers_precision_popular", "offers_hit_rate_segment_popular",
                       "offers_precision_segment_popular")


def _share(flags: pd.Series) -> float | None:
    return float(flags.mean()) if len(flags) else None


def _date(day: int) -> pd.Timestamp:
    return pd.Timestamp(day, unit="D")


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
