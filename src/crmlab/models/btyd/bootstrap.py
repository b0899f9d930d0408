"""How sure the CLV figures are: intervals from resampling customers.

A bootstrap on the compressed patterns: each replicate draws the customers
again with replacement (multinomial weights over the customers, summed onto
their (frequency, recency, T) and (frequency, spend) patterns), refits both
models on those weighted patterns, and rescores every customer. An interval
is the central ``level`` share of the replicates. Fits run on patterns, not
customers, which is what makes a few hundred refits affordable.

Why resampling rather than draws from the estimator's asymptotic normal:
on real data the dropout parameters often sit at the edge of their range
(a -> 0), where the normal approximation gives standard errors far above the
estimate and draws of absurd size; refits stay inside the parameter space.

What this covers: the uncertainty of the estimated parameters, which shrinks
as customers are added. What it leaves out: whether the model is the right
one (the holdout checks answer that), and the luck of each customer's
future purchases around their expectation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmlab.core.machine import available_cores
from crmlab.models.btyd.fitting import FitFailed, FitResult, expected_spend, fit_purchase_model, fit_spend_model
from crmlab.models.btyd.scoring import lifetime_value_details
from crmlab.models.btyd.summaries import compress
from crmlab.models.parallel import fork_map

METHOD = ("a bootstrap over customers: {draws} resamples of the customers (with replacement), both models "
          "refitted on each and every customer rescored")


@dataclass
class ValueDraws:
    """CLV, P(alive) and expected purchases over the horizon of every customer, per replicate (replicates x customers)."""

    clv: np.ndarray
    p_alive: np.ndarray
    expected_purchases: np.ndarray
    level: float
    failed: int = 0
    # The (purchase, spend) refit of each replicate, for figures computed from them later (the months ahead).
    fits: list = field(default_factory=list)

    @property
    def method(self) -> str:
        return METHOD.format(draws=len(self.clv))

    def interval(self, totals: np.ndarray) -> list[float]:
        """The central ``level`` interval of a figure computed once per replicate."""
        tail = (1 - self.level) / 2
        low, high = np.quantile(totals, [tail, 1 - tail])
        return [float(low), float(high)]

    def customer_intervals(self) -> tuple[np.ndarray, np.ndarray]:
        tail = (1 - self.level) / 2
        low, high = np.quantile(self.clv, [tail, 1 - tail], axis=0)
        return low, high

    def group_intervals(self, groups: pd.Series) -> dict[str, list[float]]:
        """Interval of each group's total CLV (groups fixed at their point-estimate membership)."""
        names = list(groups.cat.categories) if isinstance(groups.dtype, pd.CategoricalDtype) else sorted(groups.unique())
        out = {}
        for name in names:
            mask = (groups == name).to_numpy()
            if mask.any():
                out[str(name)] = self.interval(self.clv[:, mask].sum(axis=1))
        return out


def _pattern_index(summary: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct patterns (as :func:`compress` orders them) and each customer's position among them."""
    position = summary.groupby(columns, sort=True).ngroup().to_numpy()
    return compress(summary, tuple(columns)), position


def value_draws(purchase: FitResult, spend: FitResult, summary: pd.DataFrame, *, n_draws: int, level: float, random_state: int,
                time_unit: str, horizon_months: int, monthly_discount_rate: float, gross_margin: float,
                cost_to_serve: float) -> ValueDraws:
    """Rescore every customer under ``n_draws`` bootstrap refits of the purchase model and Gamma-Gamma.

    Parameters
    ----------
    purchase, spend : FitResult
        The scoring fits: their models are refitted, starting from their estimates.
    summary : DataFrame
        ``frequency``, ``recency``, ``T`` and ``monetary_value`` per customer.

    Examples
    --------
    >>> from crmlab import data
    >>> from crmlab.models.btyd.summaries import rfm_summary
    >>> summary = rfm_summary(data.load_transactions("tests/fixtures/complete_journey_sample"), None, "weeks")
    >>> fit = fit_purchase_model(summary["frequency"], summary["recency"], summary["T"])
    >>> spend = fit_spend_model(summary["frequency"], summary["monetary_value"])
    >>> draws = value_draws(fit, spend, summary, n_draws=20, level=0.9, random_state=0, time_unit="weeks",
    ...                     horizon_months=12, monthly_discount_rate=0.01, gross_margin=0.3, cost_to_serve=0.0)
    >>> draws.clv.shape == (20, len(summary))
    True
    """
    rng = np.random.default_rng(random_state)
    n = len(summary)
    purchase_patterns, purchase_position = _pattern_index(summary, ["frequency", "recency", "T"])
    spend_patterns, spend_position = _pattern_index(summary, ["frequency", "monetary_value"])
    rfm = summary[["frequency", "recency", "T"]]
    # The same distinct histories in every draw (history_patterns of rfm): found once, not once per draw.
    histories = (*(purchase_patterns[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")),
                 purchase_position)
    # Every resample is drawn here first, in order, so the refits can run in any process and any order and the
    # intervals stay the same for the same random_state.
    # Kept as each customer's count (int32), the smallest form: pattern weights are summed where the refit runs.
    resamples = [rng.multinomial(n, np.full(n, 1.0 / n)).astype(np.int32) for _ in range(n_draws)]
    shared = {"purchase": purchase, "spend": spend, "purchase_patterns": purchase_patterns,
              "spend_patterns": spend_patterns, "purchase_position": purchase_position,
              "spend_position": spend_position, "resamples": resamples}
    clv, alive, purchases, fits, failed = [], [], [], [], 0
    for pair in _in_processes(_refit_both, shared, n_draws):
        if pair is None:
            failed += 1  # a resample the models cannot be fitted to (few repeat buyers drawn): left out
            continue
        refit, respend = pair
        spend_i = expected_spend(respend, summary["frequency"], summary["monetary_value"])
        spend_i = np.where(np.isnan(spend_i), summary["monetary_value"].to_numpy(), spend_i)
        value, p_alive, expected = lifetime_value_details(
            refit, rfm, spend_i, time_unit=time_unit, horizon_months=horizon_months,
            monthly_discount_rate=monthly_discount_rate, gross_margin=gross_margin, cost_to_serve=cost_to_serve,
            patterns=histories)
        clv.append(value)
        alive.append(p_alive)
        purchases.append(expected)
        fits.append((refit, respend))
    return ValueDraws(np.array(clv), np.array(alive), np.array(purchases), level, failed, fits)


# Refits of small data take milliseconds: below this many a process costs more to start than it saves.
PARALLEL_DRAWS = 8
MAX_WORKERS = 4


def _in_processes(refit, shared: dict, n_draws: int) -> list:
    """``[refit(shared, i) for i in range(n_draws)]``, shared among the machine's cores (forked), in order."""
    workers = min(MAX_WORKERS, available_cores()) if n_draws >= PARALLEL_DRAWS else 1
    shares = [list(range(w, n_draws, workers)) for w in range(workers)]
    done = fork_map(lambda data, share: [refit(data, i) for i in share], shares, shared, workers=workers)
    by_draw = {i: result for share, results in zip(shares, done) for i, result in zip(share, results)}
    return [by_draw[i] for i in range(n_draws)]


def _refit_both(shared: dict, i: int):
    """Resample ``i``'s refits of the purchase model and Gamma-Gamma, or None where they cannot be fitted."""
    purchase_patterns, spend_patterns = shared["purchase_patterns"], shared["spend_patterns"]
    counts = shared["resamples"][i]
    purchase_weights = np.bincount(shared["purchase_position"], weights=counts, minlength=len(purchase_patterns))
    spend_weights = np.bincount(shared["spend_position"], weights=counts, minlength=len(spend_patterns))
    p, s = purchase_weights > 0, spend_weights > 0
    try:
        refit = fit_purchase_model(purchase_patterns["frequency"][p], purchase_patterns["recency"][p],
                                   purchase_patterns["T"][p], purchase_weights[p], shared["purchase"].model,
                                   standard_errors=False, start=shared["purchase"].params)
        respend = fit_spend_model(spend_patterns["frequency"][s], spend_patterns["monetary_value"][s],
                                  spend_weights[s], standard_errors=False, start=shared["spend"].params)
    except FitFailed:
        return None
    return refit, respend


def _refit_purchase(shared: dict, i: int):
    patterns, counts = shared["patterns"], shared["counts"][i]
    keep = counts > 0
    try:
        return fit_purchase_model(patterns["frequency"][keep], patterns["recency"][keep], patterns["T"][keep],
                                  counts[keep], shared["purchase"].model, standard_errors=False,
                                  start=shared["purchase"].params)
    except FitFailed:
        return None


def purchase_refits(purchase: FitResult, patterns: pd.DataFrame, *, n_draws: int, random_state: int
                    ) -> list[FitResult]:
    """The purchase model refitted on ``n_draws`` resamples of the customers behind ``patterns``.

    ``patterns`` are :func:`compress`'d statistics (a ``weight`` column of
    customers per row): resampling customers is drawing each row's count from
    a multinomial over the rows. Resamples the model cannot be fitted to are
    left out.
    """
    rng = np.random.default_rng(random_state)
    weight = patterns["weight"].to_numpy(dtype=float)
    n = int(weight.sum())
    shared = {"purchase": purchase, "patterns": patterns,
              "counts": [rng.multinomial(n, weight / n).astype(float) for _ in range(n_draws)]}
    return [fit for fit in _in_processes(_refit_purchase, shared, n_draws) if fit is not None]
