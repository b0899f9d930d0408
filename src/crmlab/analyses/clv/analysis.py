"""The CLV notebook's analysis: :class:`CLVAnalysis` runs summaries, fits, checks and valuation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmlab import engine
from crmlab.analyses.clv import outlook
from crmlab.analyses.clv.validation import (
    cumulative_repeat_transactions,
    frequency_recency_matrix,
    holdout_errors,
    holdout_spend_errors,
)
from crmlab.analyses.clv.valuation import (
    DEFAULT_CONTACT_COSTS,
    RELATIONSHIP_LEVELS,
    at_risk,
    relationship_levels,
    value_tiers,
)
from crmlab.core.availability import NotAvailable
from crmlab.core.constraints import DateLike, Interval, ListOf, MappingOf, Options, validate
from crmlab.core.words import money
from crmlab.engine import customer_tables
from crmlab.models.acquisitions import forecast_acquisitions, monthly_acquisitions
from crmlab.models.btyd.bootstrap import purchase_refits, value_draws
from crmlab.models.btyd.fitting import (
    MODELS,
    FitFailed,
    customer_predictions,
    expected_spend,
    fit_purchase_model,
    fit_spend_model,
    spend_correlation,
)
from crmlab.models.btyd.scoring import lifetime_value
from crmlab.models.btyd.summaries import (
    DAYS_PER_MONTH,
    TIME_UNITS,
    calibration_holdout_statistics,
    calibration_statistics,
    compress,
    resolve_calibration_end,
    rfm_statistics,
)

# Below this many customers the models' population parameters are guesses, not estimates.
MIN_CUSTOMERS = 30
# A spread needs a few repeat buyers to estimate; the spend model needs at least two.
MIN_REPEAT_CUSTOMERS = 10


def _date(day: int) -> pd.Timestamp:
    return pd.Timestamp(day, unit="D")


def _bands(low: pd.Series, high: pd.Series, currency: str) -> list[str]:
    """``$6,700 to $7,095`` per row, in whole currency units; empty without a band."""
    return ["" if pd.isna(lo) or pd.isna(hi) else f"{money(round(lo), currency)} to {money(round(hi), currency)}"
            for lo, hi in zip(low, high)]


class CLVAnalysis:
    """The CLV notebook's analysis: validate on calibration/holdout, refit on the whole window, score everyone.

    As careful practitioners deploy it (lifetimes' documentation, CLVTools):
    the purchase model and Gamma-Gamma are fitted on the calibration period
    and checked on the holdout (purchases, spend and revenue); those fits are
    the ``params`` and ``gamma_gamma`` of the metrics, comparable with
    published figures. Then both are refitted on the whole window
    (``scoring_params``, ``scoring_gamma_gamma``), and the refits score the
    customers: CLV, P(alive), tiers and the at-risk list. Figures carry
    intervals from the scoring fits' parameter uncertainty
    (:mod:`crmlab.models.btyd.bootstrap`).

    Parameters
    ----------
    model : {"bgnbd", "pareto_nbd", "mbgnbd", "auto"}
        ``auto`` fits all three on the calibration period and scores with the
        one whose holdout purchases are closest per customer (MAE; ties: the
        smaller error in total purchases).
    time_unit : {"days", "weeks", "months"}
    calibration_end, observation_end : date-like, optional
        Defaults: the middle of the window; the dataset's observation end (or last purchase day).
    horizon_months, monthly_discount_rate, gross_margin, cost_to_serve
        CLV settings, see :func:`lifetime_value`.
    tier_cuts, contact_costs, contact_budget_share
        See :func:`value_tiers` and :func:`relationship_levels`.
    at_risk_value_share, at_risk_p_alive
        See :func:`at_risk`.
    interval_level : float
        Coverage of the intervals (0.9: from the 5th to the 95th percentile of the draws).
    interval_draws : int
        Bootstrap resamples the intervals are computed from.
    random_state : int
        Seed of the resampling, so a run is reproducible.

    Attributes
    ----------
    observation_end_, calibration_end_ : Timestamp
        The window's last day and the last day of the calibration period.
    calibration_ : DataFrame
        Per customer: calibration frequency, recency, T and spend, and holdout purchases and spend.
    summary_ : DataFrame
        Per customer frequency, recency, T and monetary value over the whole window.
    compressed_rows_ : int
        Distinct (frequency, recency, T) patterns the purchase model was fitted on.
    model_selected_ : str
        The purchase model used (``model``, or the one ``auto`` chose).
    model_comparison_ : DataFrame or None
        With ``model="auto"``, each candidate's holdout errors and which was selected.
    calibration_fits_ : dict of str to FitResult
        Every purchase model fitted on the calibration period.
    purchase_fit_, spend_fit_ : FitResult
        The calibration fits, checked on the holdout.
    scoring_purchase_fit_, scoring_spend_fit_ : FitResult
        The refits on the whole window, which score the customers.
    spend_correlation_ : float
        Correlation of frequency and spend per purchase among repeat customers (Gamma-Gamma assumes none).
    customers_ : DataFrame
        Per customer: the summary, expected purchases, P(alive), expected spend, CLV with its interval,
        tier and historical value.
    draws_ : ValueDraws
        The bootstrap draws the intervals come from.
    tiers_ : DataFrame
        Per value tier: customers, CLV and the relationship level.
    holdout_ : dict
        Holdout errors of purchases, spend and revenue.
    cumulative_ : DataFrame
        Weekly cumulative repeat purchases, actual and model.
    outlook_ : DataFrame
        The months ahead, per calendar month after ``observation_end_``: the existing customers' expected
        purchases, revenue and active customers, each with its band (:mod:`crmlab.analyses.clv.outlook`).
    acquisitions_ : AcquisitionForecast
        New customers per month, projected, and how.
    new_outlook_ : DataFrame
        The projected new customers per month: their purchases, revenue and active customers.
    backtest_ : DataFrame
        Each holdout month: the calibration customers' actual repeat purchases and revenue, the calibration
        fit's forecast with its band, and the naive forecast.
    metrics_ : dict
        The figures recorded in ``metrics.json``.

    Examples
    --------
    >>> from crmlab import data
    >>> lines = data.load_transactions("tests/fixtures/complete_journey_sample")
    >>> analysis = CLVAnalysis(time_unit="weeks").fit(lines)
    >>> analysis.metrics_["customers"] == lines["customer_id"].nunique()
    True
    """

    _parameter_constraints = {
        "model": [Options({*MODELS, "auto"})],
        "time_unit": [Options(set(TIME_UNITS))],
        "calibration_end": [DateLike(), None],
        "observation_end": [DateLike(), None],
        "horizon_months": [Interval(int, 1, 120)],
        "monthly_discount_rate": [Interval(float, 0, 1, closed="left")],
        "gross_margin": [Interval(float, 0, 1, closed="right")],
        "cost_to_serve": [Interval(float, 0, None)],
        "tier_cuts": [ListOf(Interval(float, 0, 1, closed="neither"), increasing=True, min_length=1)],
        "contact_costs": [MappingOf(Options(set(RELATIONSHIP_LEVELS)), Interval(float, 0, None)), None],
        "contact_budget_share": [Interval(float, 0, 1, closed="right")],
        "at_risk_value_share": [Interval(float, 0, 1, closed="right")],
        "at_risk_p_alive": [Interval(float, 0, 1, closed="right")],
        "interval_level": [Interval(float, 0, 1, closed="neither")],
        "interval_draws": [Interval(int, 20, 10_000)],
        "random_state": [Interval(int, 0, None)],
    }

    def __init__(self, *, model: str = "bgnbd", time_unit: str = "weeks", calibration_end: Any = None,
                 observation_end: Any = None, horizon_months: int = 12, monthly_discount_rate: float = 0.01,
                 gross_margin: float = 0.3, cost_to_serve: float = 0.0, tier_cuts=(0.05, 0.2),
                 contact_costs: dict[str, float] | None = None, contact_budget_share: float = 0.2,
                 at_risk_value_share: float = 0.2, at_risk_p_alive: float = 0.5, interval_level: float = 0.9,
                 interval_draws: int = 100, random_state: int = 42):
        self.model = model
        self.time_unit = time_unit
        self.calibration_end = calibration_end
        self.observation_end = observation_end
        self.horizon_months = horizon_months
        self.monthly_discount_rate = monthly_discount_rate
        self.gross_margin = gross_margin
        self.cost_to_serve = cost_to_serve
        self.tier_cuts = tier_cuts
        self.contact_costs = contact_costs
        self.contact_budget_share = contact_budget_share
        self.at_risk_value_share = at_risk_value_share
        self.at_risk_p_alive = at_risk_p_alive
        self.interval_level = interval_level
        self.interval_draws = interval_draws
        self.random_state = random_state

    def fit(self, transactions) -> "CLVAnalysis":
        """Fit, check and score.

        ``transactions`` is anything :func:`crmlab.engine.lines` takes (a
        prepared dataset folder, an Ibis table, a pandas table): the engine
        reduces the lines to purchase days per customer, the rest runs on
        one row per customer.

        Raises
        ------
        crmlab.core.availability.NotAvailable
            When the data cannot support the models: every purchase on one
            day, fewer than ``MIN_CUSTOMERS`` customers or
            ``MIN_REPEAT_CUSTOMERS`` repeat buyers, or a fit that fails.
        """
        validate(self)
        t = engine.lines(transactions)
        all_days = customer_tables.purchase_days(t)
        self._check_supported(all_days)
        last_day = int(all_days["last_day"].max())
        end = (pd.Timestamp(self.observation_end).floor("D") if self.observation_end is not None
               else _date(last_day))
        first = _date(int(all_days["first_day"].min()))
        cal_end = resolve_calibration_end(self.calibration_end, first, end)
        self.observation_end_, self.calibration_end_ = end, cal_end
        unit = self.time_unit
        end_day, cal_day = customer_tables.day_of(end), customer_tables.day_of(cal_end)

        self.calibration_ = calibration_holdout_statistics(
            customer_tables.purchase_days(t, through_day=cal_day),
            customer_tables.purchase_days(t, after_day=cal_day, through_day=end_day), cal_day, end_day, unit)
        patterns = compress(calibration_statistics(self.calibration_))
        self.compressed_rows_ = len(patterns)
        window_days = all_days if end_day >= last_day else customer_tables.purchase_days(t, through_day=end_day)
        self.summary_ = rfm_statistics(window_days, end_day, unit)
        whole = compress(self.summary_)
        cal_spend = compress(self.calibration_.rename(columns={"frequency_cal": "frequency",
                                                              "monetary_value_cal": "monetary_value"}),
                             ("frequency", "monetary_value"))
        spend_patterns = compress(self.summary_, ("frequency", "monetary_value"))
        try:
            # Validation: both models on the calibration period only.
            self.model_comparison_ = self._choose_model(patterns)
            self.model_selected_ = str(self.model_comparison_.index[self.model_comparison_["selected"]][0])
            self.purchase_fit_ = self.calibration_fits_[self.model_selected_]
            self.spend_fit_ = fit_spend_model(cal_spend["frequency"], cal_spend["monetary_value"],
                                              cal_spend["weight"])
            # Scoring: the same models refitted on the whole window.
            self.scoring_purchase_fit_ = fit_purchase_model(whole["frequency"], whole["recency"], whole["T"],
                                                            whole["weight"], self.model_selected_)
            self.scoring_spend_fit_ = fit_spend_model(spend_patterns["frequency"], spend_patterns["monetary_value"],
                                                      spend_patterns["weight"])
        except FitFailed as exc:
            raise NotAvailable(f"the models cannot be fitted to this data ({exc})",
                               "more customers with repeat purchases, or a longer window") from exc
        self.spend_correlation_ = spend_correlation(self.summary_)

        horizon = self.horizon_months * DAYS_PER_MONTH / TIME_UNITS[unit]
        rfm = self.summary_[["frequency", "recency", "T"]]
        customers = customer_predictions(self.scoring_purchase_fit_, rfm, horizon)
        customers["expected_spend"] = expected_spend(self.scoring_spend_fit_, self.summary_["frequency"],
                                                     self.summary_["monetary_value"])
        customers["expected_spend"] = customers["expected_spend"].fillna(self.summary_["monetary_value"])
        revenue = window_days["revenue"].reindex(rfm.index, fill_value=0.0)
        customers["historical_revenue"] = revenue
        customers["historical_value"] = revenue * self.gross_margin
        value_settings = dict(time_unit=unit, horizon_months=self.horizon_months,
                              monthly_discount_rate=self.monthly_discount_rate, gross_margin=self.gross_margin,
                              cost_to_serve=self.cost_to_serve)
        customers["clv"] = lifetime_value(self.scoring_purchase_fit_, rfm, customers["expected_spend"].to_numpy(),
                                          **value_settings)
        customers["tier"] = value_tiers(customers["clv"], tuple(self.tier_cuts))
        customers["at_risk"] = at_risk(customers["historical_value"], customers["p_alive"],
                                       self.at_risk_value_share, self.at_risk_p_alive)
        last = pd.to_datetime(window_days["last_day"].reindex(rfm.index), unit="D")
        customers["last_purchase"] = last
        customers["days_since_last_purchase"] = (end - last).dt.days
        self.draws_ = value_draws(self.scoring_purchase_fit_, self.scoring_spend_fit_, self.summary_,
                                  n_draws=self.interval_draws,
                                  level=self.interval_level, random_state=self.random_state, **value_settings)
        customers["clv_low"], customers["clv_high"] = self.draws_.customer_intervals()
        self.customers_ = pd.concat([self.summary_, customers], axis=1)

        costs = self.contact_costs if self.contact_costs is not None else DEFAULT_CONTACT_COSTS
        tiers = self.customers_.groupby("tier", observed=True).agg(
            customers=("clv", "size"), mean_clv=("clv", "mean"), total_clv=("clv", "sum"),
            mean_p_alive=("p_alive", "mean"), mean_historical_value=("historical_value", "mean"))
        tiers["relationship_level"] = relationship_levels(tiers["mean_clv"], costs, self.horizon_months,
                                                          self.contact_budget_share)
        tiers["yearly_contact_cost"] = tiers["relationship_level"].map(lambda level: costs.get(level, 0.0))
        self.tiers_ = tiers

        self.holdout_ = {**holdout_errors(self.purchase_fit_, self.calibration_),
                         **holdout_spend_errors(self.purchase_fit_, self.spend_fit_, self.calibration_)}
        # Per-line work, done here so the report methods need only the fitted attributes.
        cohort_per_day = customer_tables.cohort_days(t, cohort_through_day=cal_day, through_day=end_day)
        self.cumulative_ = cumulative_repeat_transactions(self.purchase_fit_, t, cal_day, end_day, unit,
                                                          per_day=cohort_per_day)
        self._months_ahead(window_days, cohort_per_day, patterns)
        self.metrics_ = self._metrics()
        return self

    def _months_ahead(self, window_days: pd.DataFrame, cohort_per_day: pd.DataFrame, patterns: pd.DataFrame) -> None:
        """The months ahead (existing and new customers) and the backtest on the holdout months."""
        unit, end = self.time_unit, self.observation_end_
        self.outlook_, self._outlook_revenue_draws = outlook.existing_customers(
            self.scoring_purchase_fit_, self.scoring_spend_fit_, self.summary_, end, months=self.horizon_months,
            time_unit=unit, draws=self.draws_, level=self.interval_level)
        history = monthly_acquisitions(pd.to_datetime(window_days["first_day"], unit="D"), end)
        self.acquisitions_ = forecast_acquisitions(history, pd.PeriodIndex(self.outlook_["month"], freq="M"))
        self.new_outlook_ = outlook.new_customers(
            self.scoring_purchase_fit_, self.scoring_spend_fit_, self.acquisitions_, end, time_unit=unit,
            first_purchase_spend=float(window_days["first_day_revenue"].mean()),
            repeat_spend=outlook.repeat_spend_of_a_new_customer(self.scoring_spend_fit_, self.summary_))
        refits = purchase_refits(self.purchase_fit_, patterns, n_draws=self.interval_draws,
                                 random_state=self.random_state)
        self.backtest_, self._backtest_metrics = outlook.backtest(
            self.purchase_fit_, self.spend_fit_, self.calibration_, cohort_per_day, self.calibration_end_, end,
            time_unit=unit, refits=refits, level=self.interval_level)

    def _metrics(self) -> dict[str, Any]:
        fit, spend, customers = self.purchase_fit_, self.spend_fit_, self.customers_
        scoring, scoring_spend = self.scoring_purchase_fit_, self.scoring_spend_fit_
        risky = customers[customers["at_risk"]]
        comparison = self.model_comparison_.drop(columns="label")
        return {
            "model": self.model,
            "model_selected": self.model_selected_,
            "model_comparison": {name: row for name, row in comparison.to_dict(orient="index").items()},
            "time_unit": self.time_unit,
            "calibration_end": self.calibration_end_.date().isoformat(),
            "observation_end": self.observation_end_.date().isoformat(),
            "customers": int(len(customers)),
            "calibration_customers": int(len(self.calibration_)),
            "repeat_customers": int((customers["frequency"] > 0).sum()),
            "params": fit.params,
            "log_likelihood": fit.log_likelihood,
            "fit_step": fit.fit_step,
            "boundary": fit.boundary,
            "boundary_note": fit.boundary_note,
            "params_standard_errors": fit.standard_errors,
            "gamma_gamma": spend.params,
            "gamma_gamma_standard_errors": spend.standard_errors,
            "gamma_gamma_repeat_customers": int(((self.calibration_["frequency_cal"] > 0)
                                                 & (self.calibration_["monetary_value_cal"] > 0)).sum()),
            "scoring_params": scoring.params,
            "scoring_params_standard_errors": scoring.standard_errors,
            "scoring_log_likelihood": scoring.log_likelihood,
            "scoring_gamma_gamma": scoring_spend.params,
            "scoring_gamma_gamma_standard_errors": scoring_spend.standard_errors,
            "spend_frequency_correlation": self.spend_correlation_,
            **self.holdout_,
            "horizon_months": self.horizon_months,
            "clv_total": float(customers["clv"].sum()),
            "expected_purchases_total": float(customers["expected_purchases"].sum()),
            "clv_median": float(customers["clv"].median()),
            "historical_value_total": float(customers["historical_value"].sum()),
            "at_risk_customers": int(len(risky)),
            "at_risk_value": float(risky["historical_value"].sum()),
            **self._intervals(),
            **self._outlook_metrics(),
            **self._backtest_metrics,
        }

    def _outlook_metrics(self) -> dict[str, Any]:
        existing, new = self.outlook_, self.new_outlook_
        figures = [f"{name}{end}" for name in ("purchases", "revenue", "active_customers")
                   for end in ("", "_low", "_high")]
        arrivals = ["new_customers", "new_purchases", "new_revenue", "new_active_customers"]
        months = [{"month": month, "partial": bool(partial),
                   **{key: float(value) for key, value in zip(figures + arrivals, values)}}
                  for month, partial, *values in zip(existing["month"], existing["partial"],
                                                     *(existing[f] for f in figures), *(new[a] for a in arrivals))]
        existing_total, new_total = float(existing["revenue"].sum()), float(new["new_revenue"].sum())
        if len(self._outlook_revenue_draws):
            # The band of the total is that of the existing customers' total, shifted: new customers have no band.
            totals = self._outlook_revenue_draws.sum(axis=1)
            low, high = self.draws_.interval(totals[np.isfinite(totals)])
            interval = [low + new_total, high + new_total]
        else:
            interval = [float("nan"), float("nan")]
        return {"outlook_months": months,
                "outlook_first_month": months[0]["month"], "outlook_last_month": months[-1]["month"],
                "outlook_revenue_total": existing_total + new_total,
                "outlook_revenue_total_interval": interval,
                "outlook_revenue_existing": existing_total,
                "outlook_revenue_new": new_total,
                "outlook_purchases_existing": float(existing["purchases"].sum()),
                "outlook_acquisition_method": self.acquisitions_.method,
                "outlook_acquisition_history_months": self.acquisitions_.history_months}

    def _choose_model(self, patterns: pd.DataFrame) -> pd.DataFrame:
        """Fit the candidate models on the calibration patterns; the comparison table, the chosen one marked."""
        candidates = list(MODELS) if self.model == "auto" else [self.model]
        self.calibration_fits_, rows = {}, {}
        for name in candidates:
            fit = fit_purchase_model(patterns["frequency"], patterns["recency"], patterns["T"], patterns["weight"],
                                     name)
            errors = holdout_errors(fit, self.calibration_)
            self.calibration_fits_[name] = fit
            rows[name] = {"label": MODELS[name]["label"], "log_likelihood": fit.log_likelihood,
                          "holdout_mae": errors["holdout_mae"], "holdout_error_pct": errors["holdout_error_pct"]}
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.index.name = "model"
        best = min(rows, key=lambda n: (rows[n]["holdout_mae"], abs(rows[n]["holdout_error_pct"])))
        table["selected"] = table.index == best
        return table

    def _intervals(self) -> dict[str, Any]:
        """The headline figures' intervals from the bootstrap replicates."""
        draws, customers = self.draws_, self.customers_
        out: dict[str, Any] = {"interval_level": self.interval_level, "interval_method": draws.method,
                               "interval_failed_resamples": draws.failed}
        risky = [at_risk(customers["historical_value"], pd.Series(alive, index=customers.index),
                         self.at_risk_value_share, self.at_risk_p_alive).to_numpy() for alive in draws.p_alive]
        values = customers["historical_value"].to_numpy()
        return {**out,
                "clv_total_interval": draws.interval(draws.clv.sum(axis=1)),
                "expected_purchases_total_interval": draws.interval(draws.expected_purchases.sum(axis=1)),
                "tier_clv_intervals": draws.group_intervals(customers["tier"]),
                "at_risk_value_interval": draws.interval(np.array([values[mask].sum() for mask in risky]))}

    def _check_supported(self, days: pd.DataFrame) -> None:
        """``days``: purchase days per customer over all lines (:func:`crmlab.engine.customer_tables.purchase_days`)."""
        if days.empty:
            raise NotAvailable("the data has no customers", "transactions with customer ids")
        first, last = _date(int(days["first_day"].min())), _date(int(days["last_day"].max()))
        if first == last:
            raise NotAvailable(f"every purchase falls on one day ({first:%Y-%m-%d}), so no customer could come "
                               "back and there is nothing to learn repeat buying from",
                               "transactions over several months at least (a year or more is usual), so that "
                               "the model can be fitted on one part and checked on the next")
        customers = len(days)
        if customers < MIN_CUSTOMERS:
            raise NotAvailable(f"the data has {customers:,} customer{'s' if customers != 1 else ''}; the models "
                               f"estimate how buying varies between customers and need at least {MIN_CUSTOMERS}",
                               f"transactions of at least {MIN_CUSTOMERS} customers (hundreds give stable figures)")
        repeaters = int((days["days"] > 1).sum())
        if repeaters < MIN_REPEAT_CUSTOMERS:
            raise NotAvailable(f"only {repeaters:,} of {customers:,} customers bought on more than one day, too "
                               f"few to estimate repeat buying (at least {MIN_REPEAT_CUSTOMERS} are needed)",
                               "a longer window, in which customers have had time to come back")

    # The report's tables, charts' data and sentences, from the fitted attributes.

    def tier_table(self) -> pd.DataFrame:
        """Per CLV tier: customers, CLV (with its interval), P(alive), and the relationship level the CLV pays for."""
        tiers = self.tiers_.copy()
        tiers["clv_share"] = tiers["total_clv"] / tiers["total_clv"].sum()
        columns = ["customers", "mean_clv", "total_clv"]
        intervals = self.metrics_["tier_clv_intervals"]
        tiers["total_clv_low"] = [intervals.get(str(t), [np.nan, np.nan])[0] for t in tiers.index]
        tiers["total_clv_high"] = [intervals.get(str(t), [np.nan, np.nan])[1] for t in tiers.index]
        columns += ["total_clv_low", "total_clv_high"]
        return tiers[columns + ["clv_share", "mean_historical_value", "mean_p_alive", "relationship_level",
                                "yearly_contact_cost"]]

    def parameter_table(self) -> pd.DataFrame:
        """Both models' parameters side by side: fitted on the calibration period, and refitted on the whole window."""
        rows = []
        for label, calibration, scoring in ((MODELS[self.model_selected_]["label"], self.purchase_fit_,
                                             self.scoring_purchase_fit_),
                                            ("Gamma-Gamma", self.spend_fit_, self.scoring_spend_fit_)):
            for name in calibration.params:
                rows.append({"model": label, "parameter": name,
                             "calibration": calibration.params[name],
                             "calibration_se": calibration.standard_errors[name],
                             "whole_window": scoring.params[name],
                             "whole_window_se": scoring.standard_errors[name]})
        table = pd.DataFrame(rows).set_index(["model", "parameter"])
        return table

    def parameter_table_text(self) -> pd.DataFrame:
        """:meth:`parameter_table` as the report shows it: 4 significant digits, "not identified" for a missing SE."""
        def text(value, se=False):
            if value is None or (isinstance(value, float) and not np.isfinite(value)):
                return "not identified" if se else "n/a"
            return f"{value:.4g}"

        table = self.parameter_table()
        shown = table.apply(lambda column: column.map(lambda v, se=column.name.endswith("_se"): text(v, se)))
        shown.columns = ["Calibration period", "Calibration SE", "Whole window", "Whole window SE"]
        shown.index.names = ["Model", "Parameter"]
        return shown

    def model_comparison_table(self) -> pd.DataFrame:
        """The candidate purchase models on the holdout, as the report shows them (``model="auto"``)."""
        table = self.model_comparison_.set_index("label")
        table.index.name = "model"
        return pd.DataFrame({
            "log_likelihood": table["log_likelihood"].map(lambda v: f"{v:,.1f}"),
            "holdout_mae": table["holdout_mae"].map(lambda v: f"{v:.3f}"),
            "holdout_error": table["holdout_error_pct"].map(lambda v: f"{v:+.1f}%"),
            "scores_the_customers": table["selected"].map({True: "yes", False: ""}),
        })

    def at_risk_list(self) -> pd.DataFrame:
        """The valuable-but-at-risk customers, most valuable first, in the columns marketing asks for."""
        columns = ["last_purchase", "days_since_last_purchase", "frequency", "historical_revenue",
                   "historical_value", "p_alive", "expected_purchases", "clv", "clv_low", "clv_high", "tier"]
        risky = self.customers_.loc[self.customers_["at_risk"], columns]
        return risky.sort_values("historical_value", ascending=False)

    def history_matrices(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Expected purchases next month and P(alive) for a customer observed over the whole window.

        Rows run to the 95th percentile of repeat purchases, so a few extreme
        shoppers do not squeeze the grid.
        """
        month = DAYS_PER_MONTH / TIME_UNITS[self.time_unit]
        return frequency_recency_matrix(self.scoring_purchase_fit_, self.summary_["T"].max(), month,
                                        int(self.summary_["frequency"].quantile(0.95)))

    def outlook_table(self, currency: str = "$") -> pd.DataFrame:
        """The months ahead as the report shows them: per month, existing customers (revenue with its band) and
        new customers."""
        existing, new = self.outlook_, self.new_outlook_

        def whole(counts):  # expected counts, shown as whole purchases and customers
            return counts.round().astype("int64")

        band = _bands(existing["revenue_low"], existing["revenue_high"], currency)
        table = pd.DataFrame({
            "purchases": whole(existing["purchases"]), "active_customers": whole(existing["active_customers"]),
            "revenue": existing["revenue"], f"band_{self.interval_level:.0%}": band,
            "new_customers": whole(new["new_customers"]), "new_customers_revenue": new["new_revenue"],
            "total_revenue": existing["revenue"] + new["new_revenue"]})
        table.index = pd.Index(existing["month"] + existing["partial"].map({True: " (part)", False: ""}),
                               name="month")
        return table

    def backtest_table(self, currency: str = "$") -> pd.DataFrame:
        """Each holdout month: actual and forecast repeat purchases and revenue (with the forecast's band), the
        naive forecast, and the forecast's error."""
        b = self.backtest_
        table = pd.DataFrame({
            "actual_purchases": b["actual_purchases"].round().astype("int64"),
            "forecast_purchases": b["purchases"].round().astype("int64"),
            "actual_revenue": b["actual_revenue"], "forecast_revenue": b["revenue"],
            f"band_{self.interval_level:.0%}": _bands(b["revenue_low"], b["revenue_high"], currency),
            "naive_revenue": b["naive_revenue"],
            "forecast_error": (b["revenue"] - b["actual_revenue"])
                              / b["actual_revenue"].where(b["actual_revenue"] != 0)})
        table.index = pd.Index(b["month"] + b["partial"].map({True: " (part)", False: ""}), name="month")
        return table

    def export(self) -> pd.DataFrame:
        """Customer → CLV, P(alive), expected purchases and spend, tier and at-risk flag."""
        columns = ["frequency", "recency", "T", "monetary_value", "expected_purchases", "p_alive", "expected_spend",
                   "historical_revenue", "historical_value", "clv", "clv_low", "clv_high", "tier", "at_risk"]
        out = self.customers_[columns].reset_index()
        out["tier"] = out["tier"].astype(str)
        return out
