"""A fitted purchase model, month by month: expected purchases and active customers per calendar month.

The months are calendar months. The first starts the day after the history
ends and runs to that month's last day (a partial month when the history
ends mid-month); the others are whole months, except that a window may be
cut at a given last day (the holdout's end).

For a customer with history (x, t_x, T):

- **Expected purchases in a month** ``(T + s, T + s + τ]`` are the increase of
  the model's conditional expectation over it, E[X(s + τ)] − E[X(s)], so the
  months add up to the expectation over the whole span (one model, one number).
- **P(active in the month)**, the chance of at least one purchase in it, is
  P(alive at T) times the chance that a customer alive at T is still alive at
  T + s and then buys within τ, averaged over the posterior of their rates:

  - BG/NBD: λ ~ Gamma(r + x, α + T) and the dropout chance p ~ Beta(a, b + x)
    (MBG/NBD: Beta(a, b + x + 1), since it also allows dropout right after
    the first purchase). Survival to T + s is e^(−λ p s) (a dropout can only
    follow a purchase), so the chance is E_p[A(p s) − A(p s + τ)] with
    A(u) = ((α + T)/(α + T + u))^(r + x), the expectation over p by
    Gauss-Legendre quadrature on p's quantiles.
  - Pareto/NBD: λ as above and the death rate μ ~ Gamma(s, β + T); the
    chance is ∫₀^τ E[λ e^(−λu)] E[e^(−μ(s + u))] du, both expectations in
    closed form, the integral by Gauss-Legendre quadrature.

  With s = 0 the BG/NBD chance is P(alive) · (1 − A(τ)), the textbook
  P(a purchase in the next τ).
"""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import pandas as pd
from scipy.special import betaincinv, roots_legendre

from crmlab.models.btyd.fitting import FitResult, conditional_expected_purchases

# Nodes of the quadratures; the integrands are smooth and bounded, and a test checks P(active) against simulation.
# The band of active customers evaluates them for every bootstrap replicate, so they are kept few.
QUADRATURE_NODES = 16


def month_windows(after: pd.Timestamp, *, months: int | None = None, through: pd.Timestamp | None = None
                  ) -> pd.DataFrame:
    """The calendar months after day ``after``: ``months`` of them, or as many as reach ``through``.

    Columns: ``month`` (``YYYY-MM``), ``first_day``, ``last_day`` (timestamps,
    both in the window), ``days`` and ``partial`` (the window is not the
    whole calendar month).

    Examples
    --------
    >>> w = month_windows(pd.Timestamp("2017-12-15"), months=2)
    >>> w[["month", "days", "partial"]].values.tolist()
    [['2017-12', 16, True], ['2018-01', 31, False]]
    >>> month_windows(pd.Timestamp("1997-09-30"), through=pd.Timestamp("1998-06-30"))["month"].tolist()[-1]
    '1998-06'
    """
    if (months is None) == (through is None):
        raise ValueError("give months or through, not both")
    first = pd.Timestamp(after).floor("D") + pd.Timedelta(days=1)
    starts = pd.period_range(first, periods=months, freq="M") if months is not None else \
        pd.period_range(first, pd.Timestamp(through), freq="M")
    rows = []
    for period in starts:
        start = max(period.start_time.floor("D"), first)
        end = period.end_time.floor("D")
        if through is not None:
            end = min(end, pd.Timestamp(through).floor("D"))
        rows.append({"month": str(period), "first_day": start, "last_day": end,
                     "days": (end - start).days + 1,
                     "partial": start != period.start_time.floor("D") or end != period.end_time.floor("D")})
    return pd.DataFrame(rows, columns=["month", "first_day", "last_day", "days", "partial"])


def window_offsets(windows: pd.DataFrame, after: pd.Timestamp, unit_days: float) -> tuple[np.ndarray, np.ndarray]:
    """Each window's start and length in model time units, counted from the end of day ``after``."""
    start = (windows["first_day"] - pd.Timestamp(after).floor("D")).dt.days.to_numpy() - 1
    return start / unit_days, windows["days"].to_numpy() / unit_days


def expected_by_window(fit: FitResult, f, r, t, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Expected purchases in each window (windows × histories), given histories observed to their age ``t``."""
    edges = np.concatenate([starts[:1], starts + lengths])
    contiguous = np.allclose(edges[1:-1], starts[1:])
    points = edges if contiguous else np.unique(np.concatenate([starts, starts + lengths]))
    f, r, t = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (f, r, t))
    expect = partial(conditional_expected_purchases, fit)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fit.model in ("bgnbd", "mbgnbd"):  # their formulas broadcast: every point in one call
            cumulative = np.asarray(expect(points[:, None], f[None, :], r[None, :], t[None, :]), dtype=float)
        else:
            cumulative = np.vstack([np.asarray(expect(point, f, r, t), dtype=float) for point in points])
        cumulative = np.nan_to_num(np.where(points[:, None] == 0, 0.0, cumulative))
    if contiguous:
        return np.diff(cumulative, axis=0)
    at = {point: row for point, row in zip(points, cumulative)}
    return np.vstack([at[s + n] - at[s] for s, n in zip(starts, lengths)])


def _p_alive(fit: FitResult, f, r, t) -> np.ndarray:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alive = np.asarray(fit.fitter.conditional_probability_alive(f, r, t), dtype=float)
    return np.clip(np.nan_to_num(alive, nan=1.0), 0.0, 1.0)


def active_by_window(fit: FitResult, f, r, t, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """P(at least one purchase) in each window (windows × histories); see the module's docstring."""
    f, r, t = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (f, r, t))
    alive = _p_alive(fit, f, r, t)
    # Beyond P(alive), the chance depends on (x, T) only: computed once per distinct pair.
    pairs, pair_of = np.unique(np.column_stack([f, t]), axis=0, return_inverse=True)
    chance = _alive_buyer_chance(fit, pairs[:, 0], pairs[:, 1], starts, lengths)
    return chance[:, pair_of.ravel()] * alive[None, :]


def _alive_buyer_chance(fit: FitResult, f: np.ndarray, t: np.ndarray, starts, lengths) -> np.ndarray:
    """P(alive at T + s and a purchase within τ after | alive at T, x purchases, age T) per window and (x, T)."""
    p = fit.params
    shape, rate = p["r"] + f, p["alpha"] + t  # the posterior purchase rate of a customer alive at T
    nodes, weights = roots_legendre(QUADRATURE_NODES)
    nodes, weights = (nodes + 1) / 2, weights / 2  # on (0, 1)
    out = np.empty((len(starts), len(f)))
    with np.errstate(all="ignore"):
        if fit.model == "pareto_nbd":
            death_shape, death_rate = p["s"], p["beta"] + t
            for i, (s, tau) in enumerate(zip(starts, lengths)):
                u = nodes[:, None] * tau  # nodes × histories
                buy_density = shape / rate * (rate / (rate + u)) ** (shape + 1)
                survive = (death_rate / (death_rate + s + u)) ** death_shape
                out[i] = tau * (weights @ (buy_density * survive))
        else:
            extra = 1.0 if fit.model == "mbgnbd" else 0.0
            # p's quantiles at the nodes, once per distinct frequency (its posterior depends on x only).
            freqs, position = np.unique(f, return_inverse=True)
            dropout = betaincinv(p["a"], p["b"] + freqs[:, None] + extra, nodes[None, :])[position]  # hist × nodes

            def untouched(u):  # P(no purchase within u | alive at T), averaged over λ: A(u)
                return (rate[:, None] / (rate[:, None] + u)) ** shape[:, None]

            for i, (s, tau) in enumerate(zip(starts, lengths)):
                if s == 0:  # a window from T: survival does not enter, and p drops out
                    out[i] = 1.0 - untouched(np.array([[tau]]))[:, 0]
                else:
                    out[i] = (untouched(dropout * s) - untouched(dropout * s + tau)) @ weights
    return np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0)


def new_customer_expectations(fit: FitResult, ages_start: np.ndarray, ages_end: np.ndarray
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Repeat purchases expected, and P(active), of a customer acquired at age 0, between two ages (model units)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at = np.nan_to_num(np.asarray(fit.fitter.expected_number_of_purchases_up_to_time(
            np.concatenate([ages_start, ages_end])), dtype=float))
    n = len(ages_start)
    zero = np.zeros(1)
    active = np.array([active_by_window(fit, zero, zero, zero, np.array([s]), np.array([e - s]))[0, 0]
                       for s, e in zip(ages_start, ages_end)])
    return at[n:] - at[:n], active


def no_purchase_probability(fit: FitResult, f, r, t, horizon: float) -> np.ndarray:
    """P(no purchase in the next ``horizon`` model units | history): the BTYD churn probability.

    For BG/NBD, 1 − P(alive) · (1 − ((α + T)/(α + T + H))^(r + x)); for the
    other models the same complement of :func:`active_by_window` from T.
    """
    return 1.0 - active_by_window(fit, f, r, t, np.array([0.0]), np.array([float(horizon)]))[0]
