"""The retention analysis: :class:`RetentionAnalysis` runs cohorts, when customers stop, and the churn model."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pandas as pd

from crmlab import engine
from crmlab.analyses.retention.churn import ChurnModel, cutoff_table, scores, training_cutoffs
from crmlab.analyses.retention.cohorts import PERIODS, average_retention, cohort_table
from crmlab.analyses.retention.stopping import churn_by_purchase_number, gap_quantile, past_usual_gap
from crmlab.analyses.retention.wording import FEATURES
from crmlab.core.availability import NotAvailable
from crmlab.core.constraints import DateLike, Interval, Options, validate
from crmlab.core.ranking import equal_groups
from crmlab.engine import customer_tables
from crmlab.models.btyd.summaries import resolve_calibration_end

# Below these the churn model has too little to learn from or to be judged on.
MIN_CUSTOMERS = 200
MIN_EACH_LABEL = 30
# The periods since acquisition whose average retention metrics.json records.
RECORDED_PERIODS = (1, 3, 6, 12)


def _date(day: int) -> pd.Timestamp:
    return pd.Timestamp(day, unit="D")


class RetentionAnalysis:
    """Who is leaving: cohort retention, when customers stop, and a churn model checked out of time.

    Parameters
    ----------
    cohort_period : {"month", "quarter", "week"}
        The cohorts' period (weeks start on Monday).
    calibration_end : date-like, optional
        The churn model's test cutoff, with the CLV report's meaning and default (the middle of the window):
        the day itself is history.
    observation_end : date-like, optional
        The window's last day (default: the last purchase day).
    horizon_days : int
        The label: no purchase in ``(cutoff, cutoff + horizon_days]``.
    window_days : int
        The "last days against the ones before" features' window.
    random_state : int
        Seed of the models and the permutations.

    Attributes
    ----------
    observation_end_, cutoff_ : Timestamp
        The window's last day and the test cutoff.
    cohorts_ : CohortTable
        Customer and revenue retention per cohort and period since acquisition (:mod:`.cohorts`).
    average_retention_ : DataFrame
        Retention per period since acquisition, cohorts weighted by size.
    gaps_ : Series
        Days between consecutive purchase days: how many gaps of each length.
    churn_by_purchase_ : DataFrame
        Per purchase number, the share of customers for whom it was the last.
    training_cutoffs_ : list of Timestamp
        The cutoffs the model was trained on, latest first.
    model_ : ChurnModel
        Trained on the training cutoffs, scored on the test cutoff.
    holdout_ : DataFrame
        Per customer at the test cutoff: the model's and the BTYD churn probability, whether they left, and
        the days since their last purchase (the recency baseline).
    scores_ : DataFrame
        AUC, PR-AUC, Brier and top-decile lift on the test cutoff: the model, the BTYD baseline, recency alone.
    reasons_ : DataFrame
        Permutation importance on the test cutoff, with each effect's direction.
    customers_ : DataFrame
        Today's customers (features at ``observation_end``) scored by the model refitted with the test cutoff:
        churn probability, churn decile (1: the most likely to leave), revenue over the last year, reasons.
    metrics_ : dict
        The figures recorded in ``metrics.json``.
    """

    _parameter_constraints = {
        "cohort_period": [Options(set(PERIODS))],
        "calibration_end": [DateLike(), None],
        "observation_end": [DateLike(), None],
        "horizon_days": [Interval(int, 7, 730)],
        "window_days": [Interval(int, 7, 730)],
        "random_state": [Interval(int, 0, None)],
    }

    def __init__(self, *, cohort_period: str = "month", calibration_end: Any = None, observation_end: Any = None,
                 horizon_days: int = 90, window_days: int = 90, random_state: int = 42):
        self.cohort_period = cohort_period
        self.calibration_end = calibration_end
        self.observation_end = observation_end
        self.horizon_days = horizon_days
        self.window_days = window_days
        self.random_state = random_state

    def fit(self, transactions) -> "RetentionAnalysis":
        """Cohorts, gaps and the churn model; ``transactions`` is anything :func:`crmlab.engine.lines` takes.

        Raises
        ------
        crmlab.core.availability.NotAvailable
            When the window is too short for a training cutoff, a test cutoff and the horizon, or there are
            fewer than ``MIN_CUSTOMERS`` customers at the cutoff or ``MIN_EACH_LABEL`` leavers or stayers.
        """
        validate(self)
        with contextlib.ExitStack() as stack:
            return self._fit(engine.lines(transactions), stack)

    def _fit(self, lines, stack: contextlib.ExitStack) -> "RetentionAnalysis":
        # Every query below needs each customer's purchase days, not the lines: they are grouped once
        # (complete_journey has about 12 lines per customer and day) and the queries read that table.
        t = engine.materialized(customer_tables.customer_days(lines), stack)
        categories = (engine.materialized(customer_tables.category_first_days(lines), stack)
                      if "category" in lines.columns else None)
        days = customer_tables.purchase_days(t)
        if days.empty:
            raise NotAvailable("the data has no customers", "transactions with customer ids")
        first_day, last_day = int(days["first_day"].min()), int(days["last_day"].max())
        end = (pd.Timestamp(self.observation_end).floor("D") if self.observation_end is not None
               else _date(last_day))
        cutoff = resolve_calibration_end(self.calibration_end, _date(first_day), end)
        self.observation_end_, self.cutoff_ = end, cutoff
        end_day, cutoff_day, horizon = customer_tables.day_of(end), customer_tables.day_of(cutoff), self.horizon_days

        self.cohorts_ = cohort_table(customer_tables.cohort_activity(t, self.cohort_period, through_day=end_day),
                                     end, self.cohort_period)
        self.average_retention_ = average_retention(self.cohorts_)
        self.gaps_ = customer_tables.gap_histogram(t, through_day=end_day)
        window_days = days if end_day >= last_day else customer_tables.purchase_days(t, through_day=end_day)
        self._past_gap = past_usual_gap(window_days, end_day)
        self.churn_by_purchase_ = churn_by_purchase_number(
            customer_tables.last_purchase_by_number(t, seen_by_day=end_day - horizon, through_day=end_day))

        self._check_window(first_day, cutoff_day, end_day)
        cutoffs = training_cutoffs(cutoff_day, first_day, horizon)
        training = [cutoff_table(t, c, horizon_days=horizon, window_days=self.window_days, categories=categories)
                    for c in cutoffs]
        test = cutoff_table(t, cutoff_day, horizon_days=horizon, window_days=self.window_days, categories=categories)
        self._check_labels(training, test)
        self.training_cutoffs_ = [_date(c) for c in cutoffs]
        self.model_ = ChurnModel(random_state=self.random_state).fit(training)
        probability = self.model_.predict_proba(test.features)
        self.holdout_ = pd.DataFrame({"churn_probability": probability,
                                      "btyd_churn_probability": test.features["btyd_churn_probability"],
                                      "churned": test.churned,
                                      "days_since_last_purchase": test.features["recency_days"]})
        self.scores_ = pd.DataFrame({
            "model": scores(test.churned, probability),
            "btyd": scores(test.churned, test.features["btyd_churn_probability"].fillna(0.5)),
            "recency": scores(test.churned, test.features["recency_days"])}).T
        self.reasons_ = self.model_.reasons(test)

        # Today's customers: the model refitted with the test cutoff, scored on features at the observation end.
        final = ChurnModel(random_state=self.random_state).fit([test, *training])
        today = cutoff_table(t, end_day, horizon_days=horizon, window_days=self.window_days, labelled=False,
                             categories=categories)
        self.customers_ = self._scored(today, final.predict_proba(today.features), t, end_day)
        self.metrics_ = self._metrics(test)
        return self

    def _check_window(self, first_day: int, cutoff_day: int, end_day: int) -> None:
        needed = 2 * self.horizon_days
        if cutoff_day + self.horizon_days > end_day or cutoff_day - first_day < needed:
            raise NotAvailable(
                f"the window from {_date(first_day):%Y-%m-%d} to {_date(end_day):%Y-%m-%d} with the cutoff on "
                f"{_date(cutoff_day):%Y-%m-%d} is too short for a training cutoff, the test cutoff and the "
                f"{self.horizon_days}-day horizon",
                f"a window of at least {3 * self.horizon_days} days with calibration_end at least "
                f"{needed} days after the first purchase and {self.horizon_days} days before the end, "
                "or a shorter horizon_days")

    def _check_labels(self, training, test) -> None:
        if len(test.features) < MIN_CUSTOMERS:
            raise NotAvailable(f"{len(test.features):,} customers bought by the cutoff; the churn model needs "
                               f"at least {MIN_CUSTOMERS:,}", "more customers, or a later calibration_end")
        for label, churned in (("training", pd.concat([table.churned for table in training])),
                               ("test", test.churned)):
            leavers, stayers = int(churned.sum()), int((~churned).sum())
            if min(leavers, stayers) < MIN_EACH_LABEL:
                raise NotAvailable(f"the {label} cutoffs hold {leavers:,} customers who left and {stayers:,} who "
                                   f"stayed; each needs at least {MIN_EACH_LABEL}",
                                   "more customers, or another horizon_days")

    def _scored(self, today, probability: pd.Series, t, end_day: int) -> pd.DataFrame:
        # The last year: the 365 days that end on the observation end.
        last_year = customer_tables.purchase_days(t, after_day=end_day - 365, through_day=end_day)["revenue"]
        out = pd.DataFrame({"churn_probability": probability,
                            "churn_decile": equal_groups(probability, 10).astype("int64"),
                            "revenue_last_year": last_year.reindex(probability.index, fill_value=0.0),
                            "days_since_last_purchase": today.features["recency_days"].astype("int64")})
        out["top_reasons"] = self._reasons_of(today.features)
        return out

    def _reasons_of(self, features: pd.DataFrame, top: int = 2) -> pd.Series:
        """Per customer, in words, the (at most ``top``) leading features on which they sit on the leaving side of
        the median; empty for a customer on the staying side of all of them."""
        leading = self.reasons_[self.reasons_["importance"] > 0].head(5)
        if leading.empty:
            return pd.Series("", index=features.index)
        columns = leading.index.tolist()
        scaled = (features[columns] - features[columns].median()) / features[columns].std().replace(0, 1)
        pushed = scaled * leading["direction"] * leading["importance"]
        names = np.array([FEATURES.get(c, (c.replace("_", " "),))[0] for c in columns], dtype=object)
        order = np.argsort(-pushed.to_numpy(), axis=1)[:, :top]
        positive = np.take_along_axis(pushed.to_numpy(), order, axis=1) > 0
        return pd.Series([", ".join(names[o][p]) for o, p in zip(order, positive)], index=features.index)

    def _metrics(self, test) -> dict[str, Any]:
        s = self.scores_
        curve = self.average_retention_["retention"]
        share, repeaters = self._past_gap
        customers = self.customers_
        return {
            "cohort_period": self.cohort_period,
            "cohort_retention": {str(k): float(curve[k]) for k in RECORDED_PERIODS if k in curve.index},
            "gap_median_days": gap_quantile(self.gaps_, 0.5),
            "gap_p90_days": gap_quantile(self.gaps_, 0.9),
            "past_usual_gap_share": share,
            "past_usual_gap_customers": repeaters,
            "churn_cutoff": self.cutoff_.date().isoformat(),
            "churn_horizon_days": self.horizon_days,
            "churn_training_cutoffs": [c.date().isoformat() for c in self.training_cutoffs_],
            "churn_model": self.model_.selected_,
            "churn_rate": float(test.churned.mean()),
            "churn_auc": float(s.loc["model", "auc"]), "churn_pr_auc": float(s.loc["model", "pr_auc"]),
            "churn_brier": float(s.loc["model", "brier"]),
            "churn_top_decile_lift": float(s.loc["model", "top_decile_lift"]),
            "churn_auc_btyd": float(s.loc["btyd", "auc"]), "churn_pr_auc_btyd": float(s.loc["btyd", "pr_auc"]),
            "churn_brier_btyd": float(s.loc["btyd", "brier"]),
            "churn_top_decile_lift_btyd": float(s.loc["btyd", "top_decile_lift"]),
            "churn_auc_recency": float(s.loc["recency", "auc"]),
            "customers_scored": int(len(customers)),
            "expected_leavers": float(customers["churn_probability"].sum()),
            "revenue_at_risk": float((customers["churn_probability"] * customers["revenue_last_year"]).sum()),
        }

    def export_customers(self) -> pd.DataFrame:
        """``customer_churn``: customer → churn probability, churn decile, last year's revenue, top reasons."""
        columns = ["churn_probability", "churn_decile", "revenue_last_year", "days_since_last_purchase",
                   "top_reasons"]
        return self.customers_[columns].reset_index()

    def export_holdout(self) -> pd.DataFrame:
        """``churn_holdout``: the test cutoff's customers, both probabilities and the label, for anyone to audit."""
        return self.holdout_[["churn_probability", "btyd_churn_probability", "churned"]].reset_index()

    def scores_table(self) -> pd.DataFrame:
        """The model and both baselines on the test cutoff, as the report shows them."""
        table = self.scores_.rename(index={"model": "churn model", "btyd": "BTYD churn probability",
                                           "recency": "days since the last purchase"})
        table.index.name = "ranked by"
        return table.rename(columns={"auc": "AUC", "pr_auc": "PR-AUC", "brier": "Brier score",
                                     "top_decile_lift": "top-decile lift"}).round(3)

    def valuable_leavers(self, *, value_share: float = 0.2, probability: float = 0.5) -> pd.DataFrame:
        """Customers in the top ``value_share`` by last year's revenue whose churn probability is at least
        ``probability``, most valuable first."""
        customers = self.customers_
        if customers.empty:
            return customers
        threshold = customers["revenue_last_year"].quantile(1 - value_share)
        picked = customers[(customers["revenue_last_year"] >= threshold)
                           & (customers["churn_probability"] >= probability)]
        return picked.sort_values("revenue_last_year", ascending=False)
