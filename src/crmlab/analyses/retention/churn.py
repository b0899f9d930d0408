"""The churn model: trained on earlier cutoffs only, chosen without the test, checked out of time.

- **Cutoffs.** The test cutoff is the report's ``calibration_end``; training
  cutoffs roll back from it by ``horizon_days`` (so every training label window
  ends on or before the test cutoff), as long as a customer could have
  ``horizon_days`` of history before them.
- **Table at a cutoff** (:func:`cutoff_table`): the features of
  :mod:`crmlab.analyses.retention.features` plus the BTYD churn probability, from a
  BG/NBD fit on the purchases up to that cutoff, and the label.
- **Models** (:class:`ChurnModel`): scikit-learn's ``LogisticRegression`` (on
  scaled features) and ``HistGradientBoostingClassifier``. With two training
  cutoffs or more, each is fitted on all but the latest and scored on the
  latest; with one, by 5-fold cross-validation on it. The one with the higher
  AUC is refitted on every training cutoff with calibrated probabilities
  (``CalibratedClassifierCV``, isotonic from 1,000 rows on, sigmoid below).
- **Scores** (:func:`scores`): AUC, PR-AUC, Brier score and the top-decile lift
  (the churn rate among the 10% most likely to leave over the overall rate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmlab.analyses.retention.features import churn_features, churn_labels
from crmlab.engine import customer_tables
from crmlab.models.btyd.fitting import FitFailed, fit_purchase_model, history_patterns
from crmlab.models.btyd.outlook import no_purchase_probability
from crmlab.models.btyd.summaries import compress, rfm_statistics, unit_days

CANDIDATES = ("logistic_regression", "gradient_boosting")


@dataclass(frozen=True)
class CutoffTable:
    """The customers at one cutoff: features (with ``btyd_churn_probability``) and, where observed, the label."""

    cutoff_day: int
    features: pd.DataFrame
    churned: pd.Series | None


def training_cutoffs(test_cutoff_day: int, first_day: int, horizon_days: int) -> list[int]:
    """Earlier cutoffs, latest first: test − k·horizon (k ≥ 1) that leave ``horizon_days`` of history before them.

    Examples
    --------
    >>> training_cutoffs(400, 0, 90)
    [310, 220, 130]
    """
    cutoffs, day = [], test_cutoff_day - horizon_days
    while day - first_day >= horizon_days:
        cutoffs.append(day)
        day -= horizon_days
    return cutoffs


def btyd_churn_probability(t, cutoff_day: int, horizon_days: int, time_unit: str = "weeks") -> pd.Series:
    """P(no purchase in the horizon | history) from a BG/NBD fit on the purchases up to the cutoff."""
    days = customer_tables.purchase_days(t, through_day=cutoff_day)
    summary = rfm_statistics(days, cutoff_day, time_unit)
    patterns = compress(summary)
    try:
        fit = fit_purchase_model(patterns["frequency"], patterns["recency"], patterns["T"], patterns["weight"],
                                 standard_errors=False)
    except FitFailed:
        return pd.Series(np.nan, index=summary.index, name="btyd_churn_probability")
    f, r, T, pattern = history_patterns(summary)
    probability = no_purchase_probability(fit, f, r, T, horizon_days / unit_days(time_unit))
    return pd.Series(probability[pattern], index=summary.index, name="btyd_churn_probability")


def cutoff_table(t, cutoff_day: int, *, horizon_days: int, window_days: int = 90, labelled: bool = True,
                 time_unit: str = "weeks", categories=None) -> CutoffTable:
    """Features (lines on or before ``cutoff_day``) and, with ``labelled``, the label of every customer at it.

    ``t`` is the lines or their :func:`~crmlab.engine.customer_tables.customer_days`, with ``categories``
    as :func:`~crmlab.engine.customer_tables.history_at` takes them.
    """
    history = customer_tables.history_at(t, cutoff_day=cutoff_day, window_days=window_days, categories=categories)
    features = churn_features(history, cutoff_day)
    features["btyd_churn_probability"] = btyd_churn_probability(t, cutoff_day, horizon_days, time_unit).reindex(
        features.index)
    churned = churn_labels(t, features.index, cutoff_day, horizon_days) if labelled else None
    return CutoffTable(cutoff_day, features, churned)


def _candidate(name: str, random_state: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logistic_regression":
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=2000))
    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=random_state)


def scores(churned, probability) -> dict[str, float]:
    """AUC, PR-AUC (average precision), Brier score and top-decile lift of ``probability`` for ``churned``.

    Examples
    --------
    >>> s = scores([1, 0, 1, 0, 0, 0, 0, 0, 0, 0], [0.9, 0.1, 0.8, 0.2, 0.1, 0.1, 0.3, 0.2, 0.1, 0.0])
    >>> s["auc"], s["top_decile_lift"]
    (1.0, 5.0)
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y, p = np.asarray(churned, dtype=int), np.asarray(probability, dtype=float)
    top = np.argsort(-p, kind="stable")[:max(1, int(np.ceil(len(p) * 0.1)))]
    rate = y.mean()
    return {"auc": float(roc_auc_score(y, p)), "pr_auc": float(average_precision_score(y, p)),
            "brier": float(brier_score_loss(y, np.clip(p, 0, 1))),
            "top_decile_lift": float(y[top].mean() / rate) if rate > 0 else float("nan")}


class ChurnModel:
    """Chooses between the candidates without the test cutoff, then fits the chosen one, calibrated.

    Parameters
    ----------
    random_state : int
        Seed of the gradient boosting and of the cross-validation splits.

    Attributes
    ----------
    selection_ : DataFrame
        Each candidate's AUC where it was chosen (the latest training cutoff, or cross-validation on it).
    selected_ : str
        The candidate fitted.
    model_ : estimator
        The calibrated classifier, fitted on every training cutoff.
    features_ : list of str
        The columns it was fitted on.
    """

    def __init__(self, *, random_state: int = 42):
        self.random_state = random_state

    def fit(self, tables: list[CutoffTable]) -> "ChurnModel":
        """``tables``: the training cutoffs, latest first, each labelled."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        self.features_ = list(tables[0].features.columns)
        rows = {}
        if len(tables) >= 2:
            train, check = tables[1:], tables[0]
            X = pd.concat([table.features for table in train])[self.features_]
            y = pd.concat([table.churned for table in train])
            for name in CANDIDATES:
                fitted = _candidate(name, self.random_state).fit(X, y)
                predicted = fitted.predict_proba(check.features[self.features_])[:, 1]
                rows[name] = {"auc": roc_auc_score(check.churned, predicted), "chosen_on": "latest training cutoff"}
        else:
            only = tables[0]
            folds = StratifiedKFold(5, shuffle=True, random_state=self.random_state)
            for name in CANDIDATES:
                predicted = cross_val_predict(_candidate(name, self.random_state), only.features[self.features_],
                                              only.churned, cv=folds, method="predict_proba")[:, 1]
                rows[name] = {"auc": roc_auc_score(only.churned, predicted), "chosen_on": "5-fold cross-validation"}
        self.selection_ = pd.DataFrame.from_dict(rows, orient="index")
        self.selected_ = str(self.selection_["auc"].idxmax())
        X = pd.concat([table.features for table in tables])[self.features_]
        y = pd.concat([table.churned for table in tables])
        method = "isotonic" if len(X) >= 1000 else "sigmoid"
        self.model_ = CalibratedClassifierCV(_candidate(self.selected_, self.random_state), method=method,
                                             cv=3).fit(X, y)
        return self

    def predict_proba(self, features: pd.DataFrame) -> pd.Series:
        """P(churn) of each customer (row) of ``features``."""
        return pd.Series(self.model_.predict_proba(features[self.features_])[:, 1], index=features.index,
                         name="churn_probability")

    def reasons(self, table: CutoffTable, *, repeats: int = 5) -> pd.DataFrame:
        """Why customers leave, on a labelled cutoff (the test): permutation importance with each effect's direction.

        ``importance`` is the mean fall in AUC when the feature's values are
        shuffled among the customers (``repeats`` times); ``direction`` is +1
        when higher values go with a higher churn probability (the sign of the
        rank correlation between the feature and the model's probability), -1
        when lower ones do. Most important first.
        """
        from sklearn.inspection import permutation_importance

        X = table.features[self.features_]
        found = permutation_importance(self.model_, X, table.churned, scoring="roc_auc", n_repeats=repeats,
                                       random_state=self.random_state)
        probability = self.predict_proba(table.features)
        direction = [float(np.sign(X[name].rank().corr(probability.rank()))) if X[name].nunique() > 1 else 0.0
                     for name in self.features_]
        out = pd.DataFrame({"importance": found.importances_mean, "importance_spread": found.importances_std,
                            "direction": direction}, index=pd.Index(self.features_, name="feature"))
        return out.sort_values("importance", ascending=False, kind="stable")
