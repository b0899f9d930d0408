"""Plain words for the CLV report: headline, sentences and captions computed from the results."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from crmlab.core.catalog import CLV_AT_RISK
from crmlab.core.words import money, number
from crmlab.models.btyd.fitting import MODELS, FitResult

# --------------------------------------------------------------------------- plain words for the report


def money_with_interval(value: float, interval: list[float] | None, level: float, currency: str = "$") -> str:
    """``$1.29M (90% interval $1.25M to $1.29M)``: as many digits as it takes for the ends to differ.

    Examples
    --------
    >>> money_with_interval(1_289_623, [1_250_514, 1_292_019], 0.9)
    '$1.29M (90% interval $1.25M to $1.29M)'
    >>> money_with_interval(20_390, [19_431, 21_410], 0.9)
    '$20,390 (90% interval $19,431 to $21,410)'
    """
    if not interval:
        return money(value, currency)
    low, high = interval
    if abs(value) < 1e6:
        shown = [money(v, currency) for v in (value, low, high)]
    else:
        for digits in (1, 2, 3, 4):
            shown = [f"{'-' if v < 0 else ''}{currency}{abs(v) / 1e6:,.{digits}f}M" for v in (value, low, high)]
            if shown[1] != shown[2]:
                break
    return f"{shown[0]} ({level:.0%} interval {shown[1]} to {shown[2]})"


def headline(metrics: dict[str, Any], currency: str = "$") -> str:
    """The report's first sentences: future value, the holdout check, the customers at risk."""
    error = metrics["holdout_error_pct"]
    holdout = ("" if not math.isfinite(error) else
               f" Checked on the holdout period after {metrics['calibration_end']}, the model predicted "
               f"{number(metrics['holdout_predicted_total'])} repeat purchases against "
               f"{number(metrics['holdout_actual_total'])} actual ({error:+.1f}%).")
    value = money_with_interval(metrics["clv_total"], metrics.get("clv_total_interval"),
                                metrics.get("interval_level", 0.9), currency)
    return (f"**The {number(metrics['customers'])} customers are expected to bring "
            f"{value} of gross margin over the next "
            f"{metrics['horizon_months']} months** (discounted to today), beside {money(metrics['historical_value_total'], currency)} "
            f"delivered in the data's window.{holdout} **{number(metrics['at_risk_customers'])} valuable customers "
            f"are at risk of having left**, with {money(metrics['at_risk_value'], currency)} of past gross margin "
            f"between them.")


def fit_sentence(fit: FitResult) -> str:
    label = MODELS[fit.model]["label"]
    tried = len(fit.attempts)
    how = ("at the first try" if tried == 1 else
           f"at step {tried} of the fitting ladder ('{fit.fit_step}'), after "
           + "; ".join(f"'{a['step']}' stopped with: {a['message']}" for a in fit.attempts[:-1]))
    note = f" Note: {fit.boundary_note}." if fit.boundary_note else ""
    return f"{label} was fitted {how}. Log-likelihood on the data's own time scale: {fit.log_likelihood:,.1f}.{note}"


def spend_check_sentence(correlation: float) -> str:
    if not math.isfinite(correlation):
        return "Too few repeat customers to check Gamma-Gamma's independence assumption."
    verdict = ("small enough for the Gamma-Gamma assumption to hold" if abs(correlation) < 0.3 else
               "large: Gamma-Gamma's assumption is doubtful here and spend predictions should be read with care")
    return (f"Gamma-Gamma assumes that how much a customer spends per purchase does not depend on how often "
            f"they buy. The correlation between the two among repeat customers is {correlation:.2f}, {verdict}.")


def holdout_sentence(metrics: dict[str, Any]) -> str:
    return (f"Per customer, the predicted holdout purchases miss the actual ones by "
            f"{metrics['holdout_mae']:.2f} on average (MAE; RMSE {metrics['holdout_rmse']:.2f}), counted in "
            f"days with a purchase. Over all customers, the model is off by {metrics['holdout_error_pct']:+.1f}%.")


def p_alive_caption(customers: pd.DataFrame, below: float) -> str:
    share = (customers["p_alive"] < below).mean()
    return f"Most customers sit at the right, still likely active; {share:.0%} have a P(alive) below {below:.0%}."


def holdout_caption(table: pd.DataFrame) -> str:
    worst = (table["predicted"] - table["actual"]).abs().idxmax()
    return (f"Each point is the mean number of holdout purchases of customers with that many calibration "
            f"purchases; the lines stay close where the model is right (largest gap: the '{worst}' group).")


def cumulative_caption(curve: pd.DataFrame) -> str:
    last = curve.iloc[-1]
    gap = (last["model"] - last["actual"]) / last["actual"] if last["actual"] else float("nan")
    return (f"The model line follows the actual repeat purchases through calibration and into the holdout, "
            f"ending {gap:+.1%} from the actual total; only the calibration period was used for fitting.")


def period_caption(table: pd.DataFrame) -> str:
    return ("Bars compare how many customers made 0, 1, 2, … repeat purchases in the calibration period with "
            "what the fitted model expects; similar bars mean the model captures how purchases are spread.")


def refit_sentence(table: pd.DataFrame, calibration_end, observation_end) -> str:
    """What changed when the models were refitted on the whole window, in one sentence."""
    change = (table["whole_window"] / table["calibration"] - 1).abs()
    model, name = change.idxmax()
    row = table.loc[(model, name)]
    largest = (f"the largest change is {model}'s {name}, from {row['calibration']:.4g} to {row['whole_window']:.4g} "
               f"({row['whole_window'] / row['calibration'] - 1:+.0%})")
    return (f"The left columns are the fits the holdout checked (calibration period to {calibration_end:%Y-%m-%d}); "
            f"the right ones are the same models refitted on the whole window to {observation_end:%Y-%m-%d}, "
            f"which score the customers in this report. {largest[0].upper()}{largest[1:]}; "
            + ("every other parameter moved by less than that." if len(table) > 1 else ""))


def model_sentence(comparison: pd.DataFrame, requested: str) -> str:
    chosen = comparison[comparison["selected"]].iloc[0]
    if requested != "auto":
        return (f"{chosen['label']} was set in the configuration (`model: {requested}`); with `model: auto` the "
                "report fits BG/NBD, Pareto/NBD and MBG/NBD and keeps the one closest on the holdout.")
    others = comparison[~comparison["selected"]]
    rest = "; ".join(f"{row['label']} {row['holdout_mae']:.3f}" for _, row in others.iterrows())
    return (f"Three purchase models were fitted on the calibration period and compared on the holdout: "
            f"{chosen['label']} predicts each customer's holdout purchases most closely (MAE "
            f"{chosen['holdout_mae']:.3f}, against {rest}) and scores the customers.")


def holdout_spend_sentence(metrics: dict[str, Any], currency: str = "$") -> str:
    """The spend model and the revenue forecast against the holdout."""
    if not metrics.get("holdout_spend_customers"):
        return "No customer of the calibration period bought in the holdout: spend cannot be checked."
    revenue_error = metrics["holdout_revenue_error_pct"]
    return (f"For the {number(metrics['holdout_spend_customers'])} customers who bought in the holdout, Gamma-Gamma "
            f"(fitted on the calibration period) expected {money(metrics['holdout_spend_mean_predicted'], currency)} "
            f"per purchase on average, against {money(metrics['holdout_spend_mean_actual'], currency)} actual; per "
            f"customer it is off by {money(metrics['holdout_spend_mae'], currency)} (MAE). Purchases times spend "
            f"predicted {money(metrics['holdout_revenue_predicted'], currency)} of holdout revenue, against "
            f"{money(metrics['holdout_revenue_actual'], currency)} actual ({revenue_error:+.1f}%).")


def interval_sentence(metrics: dict[str, Any], currency: str = "$") -> str:
    """How the intervals were obtained, and the ones on the headline figures."""
    level = metrics["interval_level"]
    total = money_with_interval(metrics["clv_total"], metrics["clv_total_interval"], level, currency)
    risk = money_with_interval(metrics["at_risk_value"], metrics["at_risk_value_interval"], level, currency)
    purchases = metrics["expected_purchases_total_interval"]
    return (f"Intervals come from {metrics['interval_method']}. Total future value: {total}; expected purchases "
            f"over the horizon: {number(metrics['expected_purchases_total'])} ({level:.0%} interval "
            f"{number(purchases[0])} to {number(purchases[1])}); past gross margin of the customers at risk: {risk}. "
            "They cover the uncertainty of the estimated parameters, not whether the model is right (the holdout "
            "checks answer that).")


def at_risk_sentence(at_risk_customers: int, value_share: float, p_alive: float) -> str:
    """What the at-risk list holds and where marketing finds it."""
    return (f"{at_risk_customers:,} customers in the top {value_share:.0%} by historical value with P(alive) below "
            f"{p_alive:.0%}, written to `{CLV_AT_RISK}.csv` and `.xlsx` for the marketing team; most valuable first:")


def value_scatter_caption() -> str:
    return ("Each dot is a customer: dots below the dotted line are expected to bring less in the future than "
            "they did in the past, and the red ones are the valuable customers who may have left.")


def holdout_spend_caption() -> str:
    return ("Each point is a tenth of the customers who bought in the holdout, from the lowest expected spend to the "
            "highest; where the two lines meet, Gamma-Gamma's expected spend per purchase was right.")


def expected_purchases_caption() -> str:
    return "Customers who bought often and recently (top right) are expected to buy most next month."


def p_alive_matrix_caption() -> str:
    return "A frequent buyer who has not bought for a long time (top left) is the most likely to have left."


def spend_frequency_caption() -> str:
    return "Each dot is a repeat customer; a flat cloud means spend per purchase does not depend on frequency."


def no_one_at_risk(value_share: float, p_alive: float) -> str:
    """What an empty at-risk list says, with the parameters that would widen it."""
    return (f"No customer in the top {value_share:.0%} by historical value has a P(alive) below {p_alive:.0%}; "
            "raise `at_risk_p_alive` or `at_risk_value_share` to widen the list.")


# --------------------------------------------------------------------------- the months ahead


def outlook_sentence(metrics: dict[str, Any], currency: str = "$") -> str:
    """What the next months bring: revenue of existing customers with its band, new customers apart."""
    months = metrics["outlook_months"]
    if not months:
        return "No month to project; set `horizon_months` to 1 or more."
    existing = sum(m["revenue"] for m in months)
    lows, highs = [m["revenue_low"] for m in months], [m["revenue_high"] for m in months]
    level = metrics.get("interval_level", 0.9)
    new_total = metrics["outlook_revenue_new"]
    first, last = months[0], months[-1]
    total = money_with_interval(metrics["outlook_revenue_total"], metrics.get("outlook_revenue_total_interval"),
                                level, currency)
    arrivals = sum(m["new_customers"] for m in months)
    new = (f"New customers are projected with {metrics['outlook_acquisition_method']} of past acquisitions: "
           f"{number(arrivals)} over the period, bringing {money(new_total, currency)}."
           if arrivals > 0 else
           f"No new customer is projected: none arrived in the whole months the projection learns from "
           f"({metrics['outlook_acquisition_method']}).")
    active = (f"Existing customers active in a month (at least one purchase) go from "
              f"{number(first['active_customers'])} "
              f"in {first['month']} to {number(last['active_customers'])} in {last['month']}.")
    band = "" if any(v is None or not math.isfinite(v) for v in lows + highs) else " (each month with its band)"
    return (f"**The next {len(months)} months ({first['month']} to {last['month']}) are expected to bring {total} "
            f"of revenue.** Existing customers account for {money(existing, currency)}{band}. {new} {active}")


def outlook_caption() -> str:
    return ("Expected revenue per calendar month: the existing customers' (their band from the bootstrap refits) and, "
            "stacked on top, the projected new customers' (no band: the projection of acquisitions carries none).")


def backtest_sentence(metrics: dict[str, Any]) -> str:
    """How the model did month by month on the holdout, against the naive forecast, plainly when it lost."""
    months = metrics["backtest_months"]
    model, naive = metrics.get("backtest_revenue_mape"), metrics.get("backtest_naive_revenue_mape")
    if not months or model is None:
        return "No holdout month with revenue to check the monthly forecast on; set `calibration_end` earlier."
    mase = metrics.get("backtest_revenue_mase")
    mase_text = "" if mase is None else f", MASE {mase:.2f}"
    if naive is None:
        compared = "; there is no whole calibration month to build a naive forecast from"
    else:
        verdict = "better than" if model < naive else "**no better than**"
        compared = f", {verdict} the naive forecast ({metrics['backtest_naive_method']}: {naive:.1f}% off)"
    return (f"**Backtest:** fitted on the calibration period only, the model forecast the calibration customers' "
            f"revenue in each of the {metrics['backtest_scored_months']} whole holdout months {model:.1f}% off on "
            f"average (MAPE{mase_text})"
            f"{compared}. Its months add up to the holdout prediction above: "
            f"{sum(m['purchases'] for m in months):,.1f} repeat purchases.")


def backtest_caption() -> str:
    return ("The calibration customers' revenue in each whole holdout month: what happened, the forecast of the fit "
            "on the calibration period (band from its bootstrap refits) and the naive forecast; the table below also "
            "lists the partial months.")
