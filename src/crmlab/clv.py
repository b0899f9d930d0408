"""Customer lifetime value: BG/NBD (or Pareto/NBD, MBG/NBD) with Gamma-Gamma spend.

The module follows the order of the analysis:

1. :func:`rfm_summary` and :func:`calibration_holdout_summary` turn
   transactions into per-customer sufficient statistics, with the definitions
   of ``lifetimes.utils.summary_data_from_transaction_data`` but vectorised.
2. :func:`compress` collapses customers with the same statistics into one
   weighted row; :func:`fit_purchase_model` and :func:`fit_spend_model` fit on
   those rows, climbing :data:`FIT_LADDER` until a step succeeds, so a
   ``ConvergenceError`` or a NaN never reaches the report.
3. :func:`customer_predictions` and :func:`lifetime_value` score customers;
   :func:`value_tiers`, :func:`relationship_levels` and :func:`at_risk` turn
   the scores into lists marketing can act on.
4. :func:`holdout_by_frequency`, :func:`cumulative_repeat_transactions`,
   :func:`period_transactions` and :func:`holdout_errors` check the model
   against the holdout period.

:class:`CLVAnalysis` runs all of it with the notebook's parameters.

The models are lifetimes' own (their likelihoods and prediction formulas);
only the optimisation around them is ours, because lifetimes gives up with a
``ConvergenceError`` where a retry with a different start or a bound would
have found the answer.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

from .report import money, number

with warnings.catch_warnings():
    # lifetimes 0.11 triggers pandas deprecation warnings at import time.
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

# Length of one time unit in days. Weeks are days / 7 (fractional), as in the
# BG/NBD paper; a month is an average calendar month.
TIME_UNITS = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12}
DAYS_PER_MONTH = 365.25 / 12

MODELS = {
    "bgnbd": {"fitter": BetaGeoFitter, "params": ("r", "alpha", "a", "b"), "time_params": ("alpha",),
              "label": "BG/NBD"},
    "mbgnbd": {"fitter": ModifiedBetaGeoFitter, "params": ("r", "alpha", "a", "b"), "time_params": ("alpha",),
               "label": "MBG/NBD"},
    "pareto_nbd": {"fitter": ParetoNBDFitter, "params": ("r", "alpha", "s", "beta"),
                   "time_params": ("alpha", "beta"), "label": "Pareto/NBD"},
}

# Kotler's five relationship levels, from the least to the most intensive.
RELATIONSHIP_LEVELS = ("basic", "reactive", "accountable", "proactive", "partnership")
# Yearly contact cost per customer at each level, in the data's currency.
DEFAULT_CONTACT_COSTS = {"basic": 0.0, "reactive": 5.0, "accountable": 25.0, "proactive": 75.0,
                         "partnership": 250.0}

# The documented fitting ladder, tried in order until a step succeeds. Each
# step keeps what the previous ones added. On real data lifetimes' fit fails
# mostly because BFGS stops with "precision loss" near a boundary of the
# parameter space; a different start, a penalizer or a bound then finds the answer.
FIT_LADDER = (
    # What lifetimes' own fit does: time rescaled so that the oldest customer's
    # age is 1 (spend rescaled to a mean of 1 for Gamma-Gamma), log-parameters
    # starting at 0.1.
    ("rescaled time unit", {}),
    ("better starting values", {"smart_start": True}),
    ("small penalizer", {"smart_start": True, "penalizer": 1e-3}),
    ("looser tolerance", {"smart_start": True, "penalizer": 1e-3, "tol": 1e-4}),
    # Never fails: the parameters are kept inside [1e-6, 1e6] (in rescaled
    # units) and the best point found is accepted.
    ("bounded search", {"smart_start": True, "tol": 1e-4, "bounded": True}),
)
_LOG_BOUND = math.log(1e6)


# --------------------------------------------------------------------------- summaries


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Calendar day of each timestamp as an integer (days since 1970-01-01)."""
    return dates.to_numpy().astype("datetime64[D]").astype(np.int64)


def _end_day(end: Any, days: np.ndarray) -> int:
    if end is None:
        return int(days.max())
    if isinstance(end, (int, np.integer)):  # already a day number
        return int(end)
    return int(np.datetime64(pd.Timestamp(end).floor("D").to_datetime64(), "D").astype(np.int64))


def rfm_summary(transactions: pd.DataFrame, observation_end: Any = None, time_unit: str = "weeks", *,
                customer_col: str = "customer_id", date_col: str = "order_date",
                value_col: str | None = "revenue") -> pd.DataFrame:
    """Per-customer ``frequency``, ``recency``, ``T`` and ``monetary_value``.

    The definitions of ``lifetimes.utils.summary_data_from_transaction_data``
    with daily periods: purchases on the same day count once (their revenue is
    summed); ``frequency`` is the number of purchase days after the first,
    ``recency`` the age at the last purchase day, ``T`` the age at the end of
    observation, ``monetary_value`` the mean revenue of the repeat purchase
    days (0 without repeats). Times are in ``time_unit`` (days, weeks = days/7,
    months). Lines after ``observation_end`` are ignored.

    Vectorised: one factorisation and one sort of integer keys instead of
    lifetimes' period conversion, sort and groupbys, which is what makes it
    more than 10x faster on millions of lines (``benchmarks/clv_speed.py``).

    Examples
    --------
    >>> lines = pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...                       "order_date": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-08", "2020-01-05"]),
    ...                       "revenue": [5.0, 5.0, 20.0, 7.0]})
    >>> rfm_summary(lines, "2020-01-15", "days")
                 frequency  recency     T  monetary_value
    customer_id
    1                  1.0      7.0  14.0            20.0
    2                  0.0      0.0  10.0             0.0
    """
    unit = _unit_days(time_unit)
    days = _day_numbers(transactions[date_col])
    end = _end_day(observation_end, days)
    keep = days <= end
    ids = transactions[customer_col].to_numpy()
    if not keep.all():
        days, ids = days[keep], ids[keep]
    codes, customers = _customer_codes(ids)
    if len(codes) == 0:
        columns = ["frequency", "recency", "T"] + (["monetary_value"] if value_col else [])
        return pd.DataFrame(columns=columns, dtype=float, index=pd.Index([], name=customer_col))
    first_day = int(days.min())
    span = end - first_day + 1
    # One integer per (customer, day). Sorting the keys alone (not arg-sorting
    # the lines) is what makes this fast: each customer's distinct purchase
    # days come out contiguous and in date order, and the money is summed
    # with bincount, which needs no order at all.
    key = codes.astype(np.int64) * span + (days - first_day)
    key.sort()
    distinct = key[np.r_[True, key[1:] != key[:-1]]]
    customer = distinct // span
    starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
    ends = np.r_[starts[1:], len(customer)] - 1
    count = ends - starts + 1
    first = distinct[starts] % span + first_day
    last = distinct[ends] % span + first_day
    out = pd.DataFrame({
        "frequency": (count - 1).astype(float),
        "recency": (last - first) / unit,
        "T": (end - first) / unit,
    }, index=pd.Index(customers, name=customer_col))
    if value_col:
        values = transactions[value_col].to_numpy(dtype=float)
        if not keep.all():
            values = values[keep]
        total = np.bincount(codes, weights=values, minlength=len(customers))
        on_first_day = np.bincount(codes, weights=np.where(days == first[codes], values, 0.0),
                                   minlength=len(customers))
        with np.errstate(invalid="ignore", divide="ignore"):
            out["monetary_value"] = np.where(count > 1, (total - on_first_day) / np.maximum(count - 1, 1), 0.0)
    return out


def _customer_codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..n-1 in sorted id order, and the sorted distinct ids."""
    if ids.dtype.kind in "iu" and len(ids):
        low, high = int(ids.min()), int(ids.max())
        # Dense integer ids (the usual case) need no hashing: offset, then
        # close the gaps with a cumulative count.
        if high - low <= max(4 * len(ids), 1_000_000):
            offset = ids - low
            present = np.bincount(offset, minlength=high - low + 1) > 0
            rank = np.cumsum(present) - 1
            return rank[offset], np.flatnonzero(present) + low
    return pd.factorize(ids, sort=True)


def calibration_holdout_summary(transactions: pd.DataFrame, calibration_end: Any, observation_end: Any = None,
                                time_unit: str = "weeks", *, customer_col: str = "customer_id",
                                date_col: str = "order_date", value_col: str | None = "revenue") -> pd.DataFrame:
    """RFM statistics in the calibration period and purchases in the holdout.

    Both ends are whole days and inclusive: the calibration period runs to
    the end of ``calibration_end``, the holdout from the next day to the end
    of ``observation_end``. Customers are those seen in the calibration
    period. Columns: ``frequency_cal``, ``recency_cal``, ``T_cal``,
    ``monetary_value_cal``, ``frequency_holdout`` (purchase days in the
    holdout), ``monetary_value_holdout`` (mean revenue per holdout purchase
    day) and ``duration_holdout``.

    lifetimes' ``calibration_and_holdout_data`` computes the same columns
    (its holdout monetary value averages lines, not days) but raises under
    pandas 3 on some inputs, so the kit does not use it.
    """
    unit = _unit_days(time_unit)
    days = _day_numbers(transactions[date_col])
    cal_end = _end_day(calibration_end, days)
    end = _end_day(observation_end, days)
    if cal_end >= end:
        raise ValueError(f"calibration_end ({calibration_end}) must be before the observation end "
                         f"({pd.Timestamp(int(end), unit='D').date()})")
    cal = rfm_summary(transactions.loc[days <= cal_end], cal_end, time_unit, customer_col=customer_col,
                      date_col=date_col, value_col=value_col)
    cal.columns = [f"{c}_cal" for c in cal.columns]
    holdout_lines = transactions.loc[(days > cal_end) & (days <= end)]
    holdout = rfm_summary(holdout_lines, end, "days", customer_col=customer_col, date_col=date_col,
                          value_col=value_col)
    out = cal.join(pd.DataFrame({
        # rfm_summary's frequency counts days after the first; here every day counts.
        "frequency_holdout": holdout["frequency"] + 1,
        **({"monetary_value_holdout": _mean_per_day(holdout_lines, customer_col, date_col, value_col)}
           if value_col else {}),
    }), how="left").fillna({"frequency_holdout": 0.0, "monetary_value_holdout": 0.0})
    out["duration_holdout"] = (end - cal_end) / unit
    return out


def _mean_per_day(lines: pd.DataFrame, customer_col: str, date_col: str, value_col: str) -> pd.Series:
    if lines.empty:
        return pd.Series(dtype=float)
    per_day = lines.groupby([lines[customer_col], lines[date_col].dt.floor("D")])[value_col].sum()
    return per_day.groupby(level=0).mean()


def _unit_days(time_unit: str) -> float:
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {', '.join(TIME_UNITS)}, got {time_unit!r}")
    return TIME_UNITS[time_unit]


def compress(summary: pd.DataFrame, columns: tuple[str, ...] = ("frequency", "recency", "T")) -> pd.DataFrame:
    """Collapse customers with identical statistics into one row with a ``weight``.

    The likelihood of the purchase models depends on a customer only through
    these statistics, so a weighted fit on the compressed rows has exactly the
    same optimum as a fit on every customer.

    Examples
    --------
    >>> summary = pd.DataFrame({"frequency": [0, 0, 2], "recency": [0, 0, 5], "T": [9, 9, 9]})
    >>> compress(summary)
       frequency  recency  T  weight
    0          0        0  9       2
    1          2        5  9       1
    """
    grouped = summary.groupby(list(columns), sort=True).size()
    return grouped.rename("weight").reset_index()


# --------------------------------------------------------------------------- fitting


class FitFailed(RuntimeError):
    """Raised only when even the bounded search returns non-finite numbers."""


@dataclass
class FitResult:
    """A fitted model with the diagnostics the report shows."""

    model: str
    params: dict[str, float]
    log_likelihood: float  # on the data's own time scale, comparable with published figures
    standard_errors: dict[str, float | None]
    fit_step: str
    attempts: list[dict[str, Any]]
    boundary: bool
    boundary_note: str | None
    fitter: Any = field(repr=False)

    def params_table(self) -> pd.DataFrame:
        """Estimates and standard errors as the report shows them ("not identified" instead of NaN)."""
        return pd.DataFrame({"estimate": {k: f"{v:.4g}" for k, v in self.params.items()},
                             "standard_error": {k: ("not identified" if v is None else f"{v:.3g}")
                                                for k, v in self.standard_errors.items()}})


class _BGNBDLikelihood:
    """BG/NBD mean negative log-likelihood per customer, with its gradient in log-parameters.

    The formula of lifetimes' ``BetaGeoFitter._negative_log_likelihood`` (a
    test compares the two), computed differently: the special functions are
    evaluated once per distinct frequency, recency and age and gathered, and
    the gradient is analytic instead of autograd's. That is what makes a fit
    on the compressed statistics of a million customers take about a second
    (``benchmarks/clv_speed.py``).
    """

    def __init__(self, frequency, recency, T, weights, penalizer: float = 0.0):
        self.x = np.asarray(frequency, dtype=float)
        self.ux, self.ix = np.unique(self.x, return_inverse=True)
        self.ur, self.ir = np.unique(np.asarray(recency, dtype=float), return_inverse=True)
        self.ut, self.it = np.unique(np.asarray(T, dtype=float), return_inverse=True)
        self.weights = np.asarray(weights, dtype=float) / np.sum(weights)
        self.repeat = self.x > 0
        self.penalizer = penalizer

    def __call__(self, log_params, gradient: bool = True):
        params = np.exp(np.asarray(log_params, dtype=float))
        r, alpha, a, b = params
        ux, ix, x = self.ux, self.ix, self.x
        dropout_term = b + np.maximum(ux, 1) - 1
        log_T, log_rec = np.log(alpha + self.ut)[self.it], np.log(alpha + self.ur)[self.ir]
        A12 = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
               + gammaln(a + b) + gammaln(b + ux) - gammaln(b) - gammaln(a + b + ux))[ix]
        A3 = -(r + x) * log_T
        A4 = np.log(a) - np.log(dropout_term)[ix] - (r + x) * log_rec
        top = np.where(self.repeat, np.maximum(A3, A4), A3)
        e3 = np.exp(A3 - top)
        e4 = np.where(self.repeat, np.exp(A4 - top), 0.0)
        ll = A12 + top + np.log(e3 + e4)
        value = -(self.weights * ll).sum() + self.penalizer * np.sum(params ** 2)
        if not gradient:
            return value
        s4 = e4 / (e3 + e4)
        s3 = 1.0 - s4
        inv_T, inv_rec = (1.0 / (alpha + self.ut))[self.it], (1.0 / (alpha + self.ur))[self.ir]
        d_r = (digamma(r + ux) - digamma(r) + np.log(alpha))[ix] - s3 * log_T - s4 * log_rec
        d_alpha = r / alpha - (r + x) * (s3 * inv_T + s4 * inv_rec)
        d_a = (digamma(a + b) - digamma(a + b + ux))[ix] + s4 / a
        d_b = ((digamma(a + b) + digamma(b + ux) - digamma(b) - digamma(a + b + ux))[ix]
               - s4 / dropout_term[ix])
        w = self.weights
        grad = -np.array([(w * d_r).sum(), (w * d_alpha).sum(), (w * d_a).sum(), (w * d_b).sum()])
        # Chain rule to log-parameters: d/d(log p) = p * d/dp.
        return value, grad * params + 2 * self.penalizer * params ** 2


def _purchase_nll(model: str, frequency, recency, T, weights, penalizer: float = 0.0):
    """Mean negative log-likelihood per customer, as a function of the log-parameters (no gradient)."""
    if model == "bgnbd":
        likelihood = _BGNBDLikelihood(frequency, recency, T, weights, penalizer)
        return lambda x: likelihood(x, gradient=False)
    if model == "pareto_nbd":
        def nll(x):
            params = np.exp(x)
            ll = ParetoNBDFitter._conditional_log_likelihood(params, frequency, recency, T)
            return -(weights * ll).sum() / weights.sum() + penalizer * np.sum(params ** 2)
        return nll
    fitter = MODELS[model]["fitter"]
    return lambda x: fitter._negative_log_likelihood(x, frequency, recency, T, weights, penalizer)


def _purchase_objective(model: str, frequency, recency, T, weights, penalizer: float):
    """(objective, whether it also returns the gradient) for the optimiser."""
    if model == "bgnbd":
        return _BGNBDLikelihood(frequency, recency, T, weights, penalizer), True
    nll = _purchase_nll(model, frequency, recency, T, weights, penalizer)
    if model == "pareto_nbd":
        # No gradient: lifetimes' Pareto/NBD likelihood is not autograd-friendly.
        return nll, False
    from autograd import value_and_grad
    return value_and_grad(nll), True


def _start(model: str, frequency, recency, T, weights, smart: bool) -> np.ndarray:
    if not smart:
        # lifetimes starts the log-parameters at 0.1 (Pareto/NBD: random
        # around 1; 1 here, so fits are reproducible).
        return np.full(4, 0.0 if model == "pareto_nbd" else 0.1)
    # Moments: the Gamma purchase rate has mean r / alpha ~ repeat purchases per unit of age.
    rate = max((weights * frequency).sum() / max((weights * T).sum(), 1e-12), 1e-6)
    if model == "pareto_nbd":
        return np.log([1.0, 1.0 / rate, 1.0, float(np.average(T, weights=weights))])
    return np.log([1.0, 1.0 / rate, 1.0, 3.0])


def _minimize(objective, x0, tol, bounded: bool, jac: bool):
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(x0) if bounded else None
    # BFGS with an exact gradient, as lifetimes does. Without one (Pareto/NBD):
    # L-BFGS-B on finite differences to get close, then Nelder-Mead to polish.
    # On complete_journey that reaches a log-likelihood 110 points above
    # lifetimes' Nelder-Mead from its default start, which stops early.
    method = "BFGS" if jac and not bounded else "L-BFGS-B"
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        result = minimize(objective, x0, jac=jac, method=method, tol=tol, bounds=bounds)
        if not jac and np.all(np.isfinite(result.x)):
            polished = minimize(objective, result.x, method="Nelder-Mead", tol=tol, bounds=bounds,
                                options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-12})
            if polished.fun <= result.fun:
                polished.success = polished.success or result.success
                result = polished
        return result


def _numeric_hessian(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    n = len(x)
    H = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            def at(di, dj):
                y = x.copy()
                y[i] += di
                y[j] += dj
                return f(y)
            H[i, j] = H[j, i] = (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h)
    return H


def _standard_errors(total_nll, log_params: np.ndarray, names) -> dict[str, float | None]:
    """Delta-method standard errors from the Hessian in log-parameters; None where not identified."""
    try:
        with np.errstate(all="ignore"):
            cov = np.linalg.inv(_numeric_hessian(total_nll, log_params))
    except np.linalg.LinAlgError:
        return {name: None for name in names}
    out = {}
    for name, value, var in zip(names, np.exp(log_params), np.diag(cov)):
        out[name] = float(value * math.sqrt(var)) if np.isfinite(var) and var > 0 else None
    return out


def _run_ladder(objective_with, start) -> tuple[np.ndarray, str, list[dict[str, Any]]]:
    """Try the ladder steps in order; return the log-parameters (rescaled units), the step, the attempts.

    ``objective_with(penalizer)`` returns ``(objective, jac)``; ``start(smart)`` the starting point.
    """
    attempts = []
    for name, step in FIT_LADDER:
        objective, jac = objective_with(step.get("penalizer", 0.0))
        bounded = step.get("bounded", False)
        result = _minimize(objective, start(step.get("smart_start", False)), step.get("tol", 1e-7), bounded, jac)
        finite = bool(np.all(np.isfinite(result.x)) and np.isfinite(result.fun))
        ok = finite and (result.success or bounded)
        attempts.append({"step": name, "success": ok, "message": str(result.message)})
        if ok:
            return result.x, name, attempts
    raise FitFailed("the model could not be fitted even with bounded parameters: "
                    + "; ".join(f"{a['step']}: {a['message']}" for a in attempts))


def fit_purchase_model(frequency, recency, T, weights=None, model: str = "bgnbd") -> FitResult:
    """Fit a purchase model on (compressed) RFM statistics, climbing the fitting ladder.

    Parameters
    ----------
    frequency, recency, T : array-like
        Sufficient statistics (one row per customer or per distinct pattern).
    weights : array-like, optional
        Customers per row (see :func:`compress`); 1 each when omitted.
    model : {"bgnbd", "pareto_nbd", "mbgnbd"}

    Returns
    -------
    FitResult
        Parameters on the data's time unit, the log-likelihood on that unit,
        standard errors, the ladder step that succeeded and a plain-language
        note when the solution sits on a boundary of the parameter space.

    Examples
    --------
    >>> fit = fit_purchase_model([0, 2, 5, 1, 0, 3], [0, 10, 30, 4, 0, 25], [40, 38, 35, 30, 20, 33])
    >>> fit.fit_step, sorted(fit.params)
    ('small penalizer', ['a', 'alpha', 'b', 'r'])
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    spec = MODELS[model]
    frequency = np.asarray(frequency, dtype=float)
    recency = np.asarray(recency, dtype=float)
    T = np.asarray(T, dtype=float)
    weights = np.ones_like(T) if weights is None else np.asarray(weights, dtype=float)
    time_index = [spec["params"].index(p) for p in spec["time_params"]]

    # Everything happens with time rescaled so the oldest customer's age is 1,
    # where the likelihoods are numerically safe (Pareto/NBD overflows in days).
    c = 1.0 / T.max()
    f_scaled, r_scaled, t_scaled = frequency, recency * c, T * c

    def objective_with(penalizer):
        return _purchase_objective(model, f_scaled, r_scaled, t_scaled, weights, penalizer)

    def start(smart):
        return _start(model, f_scaled, r_scaled, t_scaled, weights, smart)

    scaled_log_params, step, attempts = _run_ladder(objective_with, start)
    # Time parameters (alpha, and beta for Pareto/NBD) are in time units.
    log_params = scaled_log_params.copy()
    log_params[time_index] -= math.log(c)
    names = spec["params"]
    params = dict(zip(names, np.exp(log_params).tolist()))

    # Rescaling time by c multiplies each customer's likelihood by c^-x (x
    # purchase times are densities in time), so the data's own-scale
    # log-likelihood is the rescaled one plus sum(x) * log(c).
    mean_nll = _purchase_nll(model, f_scaled, r_scaled, t_scaled, weights)

    def total_nll(lp):
        return mean_nll(lp) * weights.sum()

    log_likelihood = -float(total_nll(scaled_log_params)) + float((weights * frequency).sum()) * math.log(c)
    fitter = spec["fitter"]()
    fitter.params_ = pd.Series(params)[list(names)]
    # Standard errors of log-parameters do not depend on the time scale; the
    # delta method uses the own-scale values.
    errors = _standard_errors(total_nll, scaled_log_params, names)
    errors = {name: (None if se is None else se * params[name] / value)
              for (name, se), value in zip(errors.items(), np.exp(scaled_log_params))}
    boundary, note = _boundary_note(model, params, scaled_log_params, errors)
    return FitResult(model, params, log_likelihood, errors, step, attempts, boundary, note, fitter)


def _boundary_note(model: str, params: dict[str, float], scaled_log_params: np.ndarray,
                   errors: dict[str, float | None]) -> tuple[bool, str | None]:
    """Whether the solution sits on the edge of the parameter space, and what that means in plain words."""
    dropout = ("s", "beta") if model == "pareto_nbd" else ("a", "b")
    if model == "pareto_nbd":
        # s -> 0 or beta -> infinity (rescaled time): dropout rates vanish.
        dropout_negligible = params["s"] < 1e-3 or np.exp(scaled_log_params[3]) > 1e4
    else:
        a, b = params["a"], params["b"]
        dropout_negligible = a < 1e-3 or b > 1e4 or a / (a + b) < 1e-4
    if dropout_negligible:
        return True, ("dropout is negligible in this window: P(alive) ≈ 1 for everyone, "
                      "so CLV is driven by purchase rates")
    if np.any(np.abs(scaled_log_params) > _LOG_BOUND - 0.5):
        if params["r"] > 1e4:
            return True, ("purchase rates hardly differ between customers: the model treats them as one rate, "
                          "so individual predictions lean on the average")
        return True, "a parameter ran to the edge of its range: read the predictions as rough"
    weak = [name for name in dropout if errors.get(name) is None or errors[name] > params[name]]
    if weak:
        return False, (f"the dropout parameters are weakly identified (standard error above the estimate for "
                       f"{' and '.join(weak)}): few customers visibly dropped out in this window, so P(alive) "
                       "is close to 1 for most and CLV is driven mainly by purchase rates")
    return False, None


def fit_spend_model(frequency, monetary_value, weights=None) -> FitResult:
    """Fit Gamma-Gamma to repeat customers' mean spend (customers with frequency > 0 and spend > 0)."""
    frequency = np.asarray(frequency, dtype=float)
    monetary_value = np.asarray(monetary_value, dtype=float)
    weights = np.ones_like(frequency) if weights is None else np.asarray(weights, dtype=float)
    keep = (frequency > 0) & (monetary_value > 0)
    f, m, w = frequency[keep], monetary_value[keep], weights[keep]
    if len(f) < 2:
        raise FitFailed("Gamma-Gamma needs at least two repeat customers with positive spend")
    mean_spend = float(np.average(m, weights=w))

    # Spend rescaled to a mean of 1; v is in money units.
    scale = 1.0 / mean_spend

    def objective_with(penalizer):
        from autograd import value_and_grad
        return value_and_grad(lambda x: GammaGammaFitter._negative_log_likelihood(x, f, m * scale, w, penalizer)), True

    def start(smart):
        if not smart:
            return np.full(3, 0.1)
        # E[mean spend] = p v / (q - 1): with p = 2, q = 3 that makes v the mean spend (1 here).
        return np.log([2.0, 3.0, 1.0])

    x, step, attempts = _run_ladder(objective_with, start)
    log_params = x.copy()
    log_params[2] -= math.log(scale)
    params = dict(zip(("p", "q", "v"), np.exp(log_params).tolist()))

    def total_nll(lp):
        return GammaGammaFitter._negative_log_likelihood(lp, f, m, w, 0.0) * w.sum()

    fitter = GammaGammaFitter()
    fitter.params_ = pd.Series(params)[["p", "q", "v"]]
    note = None
    if params["q"] <= 1:
        note = "q ≤ 1: the expected spend is not defined; predictions fall back to each customer's own mean"
    return FitResult("gamma_gamma", params, -float(total_nll(log_params)),
                     _standard_errors(total_nll, log_params, ("p", "q", "v")), step, attempts,
                     note is not None, note, fitter)


def spend_correlation(summary: pd.DataFrame) -> float:
    """Gamma-Gamma assumes spend and frequency are independent: their correlation among repeat customers."""
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) < 3:
        return float("nan")
    return float(np.corrcoef(repeat["frequency"], repeat["monetary_value"])[0, 1])


# --------------------------------------------------------------------------- predictions


def expected_spend(spend: FitResult, frequency, monetary_value) -> np.ndarray:
    """Gamma-Gamma's expected mean spend; the customer's own mean when the model is degenerate."""
    frequency = np.asarray(frequency, dtype=float)
    monetary_value = np.asarray(monetary_value, dtype=float)
    p, q, v = spend.params["p"], spend.params["q"], spend.params["v"]
    if q <= 1:
        return np.where(frequency > 0, monetary_value, np.nan)
    # lifetimes' conditional_expected_average_profit, written out so zero-frequency customers get the population mean.
    individual_weight = p * frequency / (p * frequency + q - 1)
    population_mean = v * p / (q - 1)
    return (1 - individual_weight) * population_mean + individual_weight * monetary_value


def _conditional(fit: FitResult, periods: float, f, r, t) -> tuple[np.ndarray, np.ndarray]:
    """lifetimes' expected purchases in the next ``periods`` and P(alive), without NaN.

    At a dropout boundary the formulas can return 0/0; the limits are 0
    expected purchases (nothing to predict) and P(alive) = 1.
    """
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = np.asarray(fit.fitter.conditional_expected_number_of_purchases_up_to_time(periods, f, r, t))
        alive = np.asarray(fit.fitter.conditional_probability_alive(f, r, t))
    return np.nan_to_num(expected, nan=0.0), np.clip(np.nan_to_num(alive, nan=1.0), 0.0, 1.0)


def customer_predictions(fit: FitResult, summary: pd.DataFrame, periods: float) -> pd.DataFrame:
    """Expected purchases in the next ``periods`` time units and P(alive) for each customer.

    Computed once per distinct (frequency, recency, T) and mapped back, which
    matters on large customer bases with many identical histories.
    """
    f, r, t, pattern = _patterns(summary)
    expected, alive = _conditional(fit, periods, f, r, t)
    return pd.DataFrame({"expected_purchases": expected[pattern], "p_alive": alive[pattern]}, index=summary.index)


def _patterns(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (frequency, recency, T) rows and, per customer, the position of theirs."""
    keys = summary[["frequency", "recency", "T"]]
    pattern = keys.groupby(list(keys.columns), sort=True).ngroup().to_numpy()
    distinct = compress(keys)
    return (*(distinct[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")), pattern)


def lifetime_value(fit: FitResult, summary: pd.DataFrame, spend: np.ndarray, *, time_unit: str,
                   horizon_months: int = 12, monthly_discount_rate: float = 0.01, gross_margin: float = 0.3,
                   cost_to_serve: float = 0.0) -> pd.Series:
    """Discounted gross margin expected over the next ``horizon_months``.

    Month ``m`` contributes (expected purchases in month m) × expected spend ×
    gross margin / (1 + rate)^m. The cost to serve (per customer and month) is
    charged in proportion to today's P(alive), an upper bound on the chance of
    being alive later, so the cost is not understated.
    """
    f, r, t, pattern = _patterns(summary)
    month = DAYS_PER_MONTH / _unit_days(time_unit)
    by_month = [_conditional(fit, m * month, f, r, t) for m in range(1, horizon_months + 1)]
    alive = by_month[0][1]  # P(alive) depends on the history only
    discount = (1 + monthly_discount_rate) ** -np.arange(1, horizon_months + 1)
    cumulative = np.vstack([np.zeros(len(f))] + [expected for expected, _ in by_month])
    monthly = np.diff(cumulative, axis=0)  # months × patterns
    discounted_purchases = (discount @ monthly)[pattern]
    discounted_alive_months = (alive * discount.sum())[pattern]
    value = (discounted_purchases * np.asarray(spend) * gross_margin - cost_to_serve * discounted_alive_months)
    return pd.Series(value, index=summary.index, name="clv")


def value_tiers(clv: pd.Series, cuts: tuple[float, ...] = (0.05, 0.2)) -> pd.Series:
    """Tier by CLV rank: with cuts (0.05, 0.2), 'top 5%', 'next 15%', 'rest'.

    Ranks are ordinal (ties broken by customer order), so tier sizes are exact.

    Examples
    --------
    >>> value_tiers(pd.Series([1.0, 9.0, 5.0, 3.0]), (0.25, 0.5)).tolist()
    ['rest', 'top 25%', 'next 25%', 'rest']
    """
    cuts = tuple(sorted(cuts))
    rank = clv.rank(ascending=False, method="first") / len(clv)
    labels, lower = [], 0.0
    for cut in cuts:
        labels.append(f"top {cut:.0%}" if lower == 0 else f"next {cut - lower:.0%}")
        lower = cut
    labels.append("rest")
    tier = np.select([rank <= cut + 1e-12 for cut in cuts], labels[:-1], default="rest")
    return pd.Series(pd.Categorical(tier, categories=labels, ordered=True), index=clv.index, name="tier")


def relationship_levels(tier_clv: pd.Series, contact_costs: dict[str, float], horizon_months: int,
                        budget_share: float = 0.2) -> pd.Series:
    """Kotler's relationship level per tier: the most intensive level the tier's CLV pays for.

    A level is affordable when its yearly contact cost over the horizon is at
    most ``budget_share`` of the tier's mean expected CLV.

    Examples
    --------
    >>> costs = {"basic": 0, "reactive": 5, "accountable": 25, "proactive": 75, "partnership": 250}
    >>> relationship_levels(pd.Series({"top 5%": 2000.0, "rest": 30.0}), costs, 12).to_dict()
    {'top 5%': 'partnership', 'rest': 'reactive'}
    """
    unknown = set(contact_costs) - set(RELATIONSHIP_LEVELS)
    if unknown:
        raise ValueError(f"contact_costs: unknown level(s) {sorted(unknown)}; levels are {RELATIONSHIP_LEVELS}")
    years = horizon_months / 12

    def level(value: float) -> str:
        chosen = RELATIONSHIP_LEVELS[0]
        for name in RELATIONSHIP_LEVELS:
            if name in contact_costs and contact_costs[name] * years <= budget_share * value:
                chosen = name
        return chosen

    return tier_clv.map(level).rename("relationship_level")


def at_risk(historical_value: pd.Series, p_alive: pd.Series, value_share: float = 0.2,
            p_alive_below: float = 0.5) -> pd.Series:
    """Valuable but at risk: in the top ``value_share`` by historical value and P(alive) below the cut."""
    rank = historical_value.rank(ascending=False, method="first") / len(historical_value)
    return ((rank <= value_share) & (p_alive < p_alive_below)).rename("at_risk")


# --------------------------------------------------------------------------- holdout validation


def holdout_by_frequency(fit: FitResult, cal: pd.DataFrame, max_bin: int = 7) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases per calibration frequency 0..max_bin+."""
    predicted = _predict_holdout(fit, cal)
    bins = np.minimum(cal["frequency_cal"].to_numpy(dtype=int), max_bin)
    frame = pd.DataFrame({"bin": bins, "actual": cal["frequency_holdout"].to_numpy(), "predicted": predicted})
    table = frame.groupby("bin").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                     predicted=("predicted", "mean"))
    table.index = [f"{b}+" if b == max_bin else str(b) for b in table.index]
    table.index.name = "calibration_purchases"
    return table


def calibration_statistics(cal: pd.DataFrame) -> pd.DataFrame:
    """The calibration columns of :func:`calibration_holdout_summary` under the models' names."""
    return cal[["frequency_cal", "recency_cal", "T_cal"]].rename(
        columns={"frequency_cal": "frequency", "recency_cal": "recency", "T_cal": "T"})


def _predict_holdout(fit: FitResult, cal: pd.DataFrame) -> np.ndarray:
    duration = float(cal["duration_holdout"].iloc[0])
    return customer_predictions(fit, calibration_statistics(cal), duration)["expected_purchases"].to_numpy()


def holdout_errors(fit: FitResult, cal: pd.DataFrame) -> dict[str, float]:
    """Per-customer MAE and RMSE of holdout purchases, and the aggregate error in %."""
    predicted = _predict_holdout(fit, cal)
    actual = cal["frequency_holdout"].to_numpy(dtype=float)
    error = predicted - actual
    actual_total, predicted_total = float(actual.sum()), float(predicted.sum())
    return {
        "holdout_actual_total": actual_total,
        "holdout_predicted_total": predicted_total,
        "holdout_error_pct": (predicted_total - actual_total) / actual_total * 100 if actual_total else float("nan"),
        "holdout_mae": float(np.abs(error).mean()),
        "holdout_rmse": float(np.sqrt((error ** 2).mean())),
    }


def cumulative_repeat_transactions(fit: FitResult, transactions: pd.DataFrame, calibration_end: Any,
                                   observation_end: Any, time_unit: str, *, customer_col: str = "customer_id",
                                   date_col: str = "order_date") -> pd.DataFrame:
    """Weekly cumulative repeat purchases of the calibration cohort: actual and model.

    The cohort is every customer whose first purchase falls in the
    calibration period (as in Fader, Hardie & Lee, figure 2). The model line
    sums, over customers, the expected repeat purchases by each week given
    only when the customer first bought: E[X(t)] with t the age at that week.
    """
    days = _day_numbers(transactions[date_col])
    cal_end, end = _end_day(calibration_end, days), _end_day(observation_end, days)
    keep = days <= end
    per_day = pd.DataFrame({"customer": transactions[customer_col].to_numpy()[keep], "day": days[keep]})
    per_day = per_day.drop_duplicates()
    first = per_day.groupby("customer")["day"].transform("min")
    cohort_first = per_day.loc[per_day["day"] == first].set_index("customer")["day"]
    cohort_first = cohort_first[cohort_first <= cal_end]
    repeat_days = per_day.loc[(per_day["day"] > first) & per_day["customer"].isin(cohort_first.index), "day"]
    start = int(cohort_first.min())
    week_ends = np.arange(start + 6, end + 7, 7)
    week_ends[-1] = min(week_ends[-1], end)
    actual = np.searchsorted(np.sort(repeat_days.to_numpy()), week_ends, side="right")
    births = cohort_first.value_counts()
    unit = _unit_days(time_unit)
    age = (week_ends[:, None] - births.index.to_numpy()[None, :]) / unit  # weeks × birth days
    # Many (week, birth day) pairs share an age: evaluate each age once.
    ages, position = np.unique(np.clip(age, 0, None), return_inverse=True)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at_age = np.nan_to_num(np.asarray(fit.fitter.expected_number_of_purchases_up_to_time(ages), dtype=float))
    expected = at_age[position.reshape(age.shape)] @ births.to_numpy()
    return pd.DataFrame({
        "week_end": pd.to_datetime(week_ends, unit="D"),
        "actual": actual.astype(float),
        "model": expected,
        "period": np.where(week_ends <= cal_end, "calibration", "holdout"),
    })


def period_transactions(fit: FitResult, cal: pd.DataFrame, max_bin: int = 6, seed: int = 42,
                        draws: int = 200_000) -> pd.DataFrame:
    """Customers by calibration repeat purchases 0..max_bin+: actual and expected under the model.

    The expectation is simulated from the fitted model for each customer's
    own age T (fixed seed, about ``draws`` simulated customers in total), the
    same check as lifetimes' ``plot_period_transactions`` but vectorised.
    """
    T = cal["T_cal"].to_numpy(dtype=float)
    reps = max(1, math.ceil(draws / len(T)))
    simulated = _simulate_repeat_purchases(fit, np.tile(T, reps), np.random.default_rng(seed))
    bins = [f"{b}+" if b == max_bin else str(b) for b in range(max_bin + 1)]
    actual = np.bincount(np.minimum(cal["frequency_cal"].to_numpy(dtype=int), max_bin), minlength=max_bin + 1)
    model = np.bincount(np.minimum(simulated, max_bin), minlength=max_bin + 1) / reps
    return pd.DataFrame({"actual": actual, "model": model}, index=pd.Index(bins, name="repeat_purchases"))


def _simulate_repeat_purchases(fit: FitResult, T: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    p = fit.params
    rate = rng.gamma(p["r"], 1.0 / p["alpha"], size=len(T))
    if fit.model == "pareto_nbd":
        dropout_rate = rng.gamma(p["s"], 1.0 / p["beta"], size=len(T))
        lifetime = rng.exponential(1.0 / np.maximum(dropout_rate, 1e-300))
        return rng.poisson(rate * np.minimum(lifetime, T))
    purchases = rng.poisson(rate * T)
    dropout = np.clip(rng.beta(p["a"], p["b"], size=len(T)), 1e-300, 1.0)
    # BG/NBD: a customer can drop out right after each purchase, so the repeat
    # purchases are capped by a geometric count; MBG/NBD also allows dropout
    # right after the first purchase, which lowers the cap by one.
    cap = rng.geometric(dropout)
    if fit.model == "mbgnbd":
        cap = cap - 1
    return np.minimum(purchases, cap)


def frequency_recency_matrix(fit: FitResult, T: float, periods: float, max_frequency: int,
                             recency_bins: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Expected purchases in the next ``periods`` and P(alive) for a customer of age ``T``.

    Rows: repeat purchases 0..max_frequency; columns: recency (age at last purchase).
    """
    # About 15 rows, so the grid stays readable for frequent shoppers too.
    frequencies = np.unique(np.linspace(0, max_frequency, min(max_frequency + 1, 15)).round().astype(int))
    recencies = np.linspace(0, T, recency_bins + 1)[1:]
    f, r = np.meshgrid(frequencies, recencies, indexing="ij")
    # Zero repeat purchases means recency 0 by definition.
    r = np.where(f == 0, 0.0, r)
    expected, alive = _conditional(fit, periods, f.ravel().astype(float), r.ravel(), np.full(f.size, T))
    columns = pd.Index(np.round(recencies, 1), name="recency")
    index = pd.Index(frequencies, name="frequency")
    return (pd.DataFrame(expected.reshape(f.shape), index=index, columns=columns),
            pd.DataFrame(alive.reshape(f.shape), index=index, columns=columns))


def history_matrices(analysis: "CLVAnalysis") -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`frequency_recency_matrix` for the report: a customer observed over the whole window, next month.

    Rows run to the 95th percentile of repeat purchases, so a few extreme
    shoppers do not squeeze the grid.
    """
    summary = analysis.summary_
    month = DAYS_PER_MONTH / TIME_UNITS[analysis.time_unit]
    return frequency_recency_matrix(analysis.purchase_fit_, summary["T"].max(), month,
                                    int(summary["frequency"].quantile(0.95)))


# --------------------------------------------------------------------------- the analysis


def default_calibration_end(transactions: pd.DataFrame, observation_end: pd.Timestamp) -> pd.Timestamp:
    """The middle of the window, as in the paper's 39 + 39 weeks."""
    start = transactions["order_date"].min().floor("D")
    return (start + (observation_end - start) / 2).floor("D")


class CLVAnalysis:
    """The CLV notebook's analysis: fit on the calibration period, check on the holdout, score everyone.

    One model is used throughout: fitted on the calibration period, checked
    on the holdout, and then applied to each customer's full history up to
    the observation end. So the model marketing acts on is the one the
    holdout validated.

    Parameters
    ----------
    model : {"bgnbd", "pareto_nbd", "mbgnbd"}
    time_unit : {"days", "weeks", "months"}
    calibration_end, observation_end : date-like, optional
        Defaults: the middle of the window; the dataset's observation end (or last purchase day).
    horizon_months, monthly_discount_rate, gross_margin, cost_to_serve
        CLV settings, see :func:`lifetime_value`.
    tier_cuts, contact_costs, contact_budget_share
        See :func:`value_tiers` and :func:`relationship_levels`.
    at_risk_value_share, at_risk_p_alive
        See :func:`at_risk`.

    Examples
    --------
    >>> from crmlab import data
    >>> lines = data.load_transactions("tests/fixtures/complete_journey_sample")
    >>> analysis = CLVAnalysis(time_unit="weeks").fit(lines)
    >>> analysis.metrics_["customers"] == lines["customer_id"].nunique()
    True
    """

    def __init__(self, model: str = "bgnbd", time_unit: str = "weeks", calibration_end: Any = None,
                 observation_end: Any = None, horizon_months: int = 12, monthly_discount_rate: float = 0.01,
                 gross_margin: float = 0.3, cost_to_serve: float = 0.0, tier_cuts=(0.05, 0.2),
                 contact_costs: dict[str, float] | None = None, contact_budget_share: float = 0.2,
                 at_risk_value_share: float = 0.2, at_risk_p_alive: float = 0.5):
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

    def fit(self, transactions: pd.DataFrame) -> "CLVAnalysis":
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        _unit_days(self.time_unit)
        end = (pd.Timestamp(self.observation_end) if self.observation_end is not None
               else transactions["order_date"].max()).floor("D")
        cal_end = (pd.Timestamp(self.calibration_end) if self.calibration_end is not None
                   else default_calibration_end(transactions, end)).floor("D")
        self.observation_end_, self.calibration_end_ = end, cal_end
        unit = self.time_unit

        self.calibration_ = calibration_holdout_summary(transactions, cal_end, end, unit)
        patterns = compress(calibration_statistics(self.calibration_))
        self.compressed_rows_ = len(patterns)
        self.purchase_fit_ = fit_purchase_model(patterns["frequency"], patterns["recency"], patterns["T"],
                                                patterns["weight"], self.model)
        self.summary_ = rfm_summary(transactions, end, unit)
        spend_patterns = compress(self.summary_, ("frequency", "monetary_value"))
        self.spend_fit_ = fit_spend_model(spend_patterns["frequency"], spend_patterns["monetary_value"],
                                          spend_patterns["weight"])
        self.spend_correlation_ = spend_correlation(self.summary_)

        horizon = self.horizon_months * DAYS_PER_MONTH / TIME_UNITS[unit]
        rfm = self.summary_[["frequency", "recency", "T"]]
        customers = customer_predictions(self.purchase_fit_, rfm, horizon)
        customers["expected_spend"] = expected_spend(self.spend_fit_, self.summary_["frequency"],
                                                     self.summary_["monetary_value"])
        customers["expected_spend"] = customers["expected_spend"].fillna(self.summary_["monetary_value"])
        window = transactions[transactions["order_date"].dt.floor("D") <= end]
        revenue = window.groupby("customer_id")["revenue"].sum().reindex(rfm.index, fill_value=0.0)
        customers["historical_revenue"] = revenue
        customers["historical_value"] = revenue * self.gross_margin
        customers["clv"] = lifetime_value(self.purchase_fit_, rfm, customers["expected_spend"].to_numpy(),
                                          time_unit=unit, horizon_months=self.horizon_months,
                                          monthly_discount_rate=self.monthly_discount_rate,
                                          gross_margin=self.gross_margin, cost_to_serve=self.cost_to_serve)
        customers["tier"] = value_tiers(customers["clv"], tuple(self.tier_cuts))
        customers["at_risk"] = at_risk(customers["historical_value"], customers["p_alive"],
                                       self.at_risk_value_share, self.at_risk_p_alive)
        last = window.groupby("customer_id")["order_date"].max().dt.floor("D").reindex(rfm.index)
        customers["last_purchase"] = last
        customers["days_since_last_purchase"] = (end - last).dt.days
        self.customers_ = pd.concat([self.summary_, customers], axis=1)

        costs = self.contact_costs if self.contact_costs is not None else DEFAULT_CONTACT_COSTS
        tiers = self.customers_.groupby("tier", observed=True).agg(
            customers=("clv", "size"), mean_clv=("clv", "mean"), total_clv=("clv", "sum"),
            mean_p_alive=("p_alive", "mean"), mean_historical_value=("historical_value", "mean"))
        tiers["relationship_level"] = relationship_levels(tiers["mean_clv"], costs, self.horizon_months,
                                                          self.contact_budget_share)
        tiers["yearly_contact_cost"] = tiers["relationship_level"].map(lambda level: costs.get(level, 0.0))
        self.tiers_ = tiers

        self.holdout_ = holdout_errors(self.purchase_fit_, self.calibration_)
        self.metrics_ = self._metrics()
        return self

    def _metrics(self) -> dict[str, Any]:
        fit, spend, customers = self.purchase_fit_, self.spend_fit_, self.customers_
        risky = customers[customers["at_risk"]]
        return {
            "model": self.model,
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
            "gamma_gamma": spend.params,
            "spend_frequency_correlation": self.spend_correlation_,
            **self.holdout_,
            "horizon_months": self.horizon_months,
            "clv_total": float(customers["clv"].sum()),
            "clv_median": float(customers["clv"].median()),
            "historical_value_total": float(customers["historical_value"].sum()),
            "at_risk_customers": int(len(risky)),
            "at_risk_value": float(risky["historical_value"].sum()),
        }


# --------------------------------------------------------------------------- plain words for the report


def headline(metrics: dict[str, Any], currency: str = "$") -> str:
    """The report's first sentences: future value, the holdout check, the customers at risk."""
    error = metrics["holdout_error_pct"]
    holdout = ("" if not math.isfinite(error) else
               f" Checked on the holdout period after {metrics['calibration_end']}, the model predicted "
               f"{number(metrics['holdout_predicted_total'])} repeat purchases against "
               f"{number(metrics['holdout_actual_total'])} actual ({error:+.1f}%).")
    return (f"**The {number(metrics['customers'])} customers are expected to bring "
            f"{money(metrics['clv_total'], currency)} of gross margin over the next {metrics['horizon_months']} "
            f"months** (discounted to today), beside {money(metrics['historical_value_total'], currency)} "
            f"delivered in the data's window.{holdout} **{number(metrics['at_risk_customers'])} valuable customers "
            f"are at risk of having left**, with {money(metrics['at_risk_value'], currency)} of past gross margin "
            f"between them.")


def tier_table(analysis: "CLVAnalysis") -> pd.DataFrame:
    """Per CLV tier: customers, CLV, P(alive), and the relationship level the CLV pays for."""
    tiers = analysis.tiers_.copy()
    tiers["clv_share"] = tiers["total_clv"] / tiers["total_clv"].sum()
    return tiers[["customers", "mean_clv", "total_clv", "clv_share", "mean_historical_value", "mean_p_alive",
                  "relationship_level", "yearly_contact_cost"]]


def at_risk_list(analysis: "CLVAnalysis") -> pd.DataFrame:
    """The valuable-but-at-risk customers, most valuable first, in the columns marketing asks for."""
    customers = analysis.customers_
    columns = ["last_purchase", "days_since_last_purchase", "frequency", "historical_revenue", "historical_value",
               "p_alive", "expected_purchases", "clv", "tier"]
    risky = customers.loc[customers["at_risk"], columns]
    return risky.sort_values("historical_value", ascending=False)


def customer_export(analysis: "CLVAnalysis") -> pd.DataFrame:
    """Customer → CLV, P(alive), expected purchases and spend, tier and at-risk flag."""
    columns = ["frequency", "recency", "T", "monetary_value", "expected_purchases", "p_alive", "expected_spend",
               "historical_revenue", "historical_value", "clv", "tier", "at_risk"]
    out = analysis.customers_[columns].reset_index()
    out["tier"] = out["tier"].astype(str)
    return out


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
