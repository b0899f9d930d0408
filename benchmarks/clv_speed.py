"""CLV speed: crmlab's summaries and compressed fits against lifetimes, in one run.

1. RFM summary of 10 million transaction lines: ``crmlab.models.btyd.summaries.rfm_summary``
   against ``lifetimes.utils.summary_data_from_transaction_data`` (baseline).
2. BG/NBD fit on a million customers: ``crmlab.models.btyd.fitting.fit_purchase_model`` on
   compressed statistics against lifetimes' ``BetaGeoFitter.fit`` on one row
   per customer (baseline).

The data are simulated from BG/NBD with the CDNOW parameters (Fader, Hardie &
Lee 2005) in days: customers join over 12 weeks and are observed for 78
weeks, with one to several lines per purchase day, as in real order data.
Both sides get the same data and must give the same numbers. Run:

    .venv/bin/python benchmarks/clv_speed.py [--lines 10000000] [--repeat 3]

Each summary runs ``--repeat`` times and the shortest run counts, for both
sides alike.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.simplefilter("ignore")
from lifetimes import BetaGeoFitter  # noqa: E402
from lifetimes.utils import summary_data_from_transaction_data  # noqa: E402
from recording import write_result  # noqa: E402

from crmlab.models.btyd import fitting, summaries  # noqa: E402


def simulate_lines(n_lines: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # About 6.2 lines per customer with these settings; the line count lands near n_lines.
    n = int(n_lines / 6.2)
    r, alpha, a, b = 0.243, 4.414 * 7, 0.793, 2.426  # alpha is a time scale: weeks -> days
    birth = rng.integers(0, 84, n)
    horizon = 546 - birth
    rate = rng.gamma(r, 1 / alpha, n)
    dropout = rng.beta(a, b, n)
    customers, days = [np.arange(n)], [birth]
    active = np.arange(n)
    clock = np.zeros(n)
    while len(active):
        # A purchase ends a customer's life with probability p (BG/NBD).
        alive = rng.random(len(active)) >= dropout[active]
        active = active[alive]
        clock[active] += rng.exponential(1 / np.maximum(rate[active], 1e-12))
        active = active[clock[active] < horizon[active]]
        customers.append(active)
        days.append(birth[active] + clock[active].astype(int))
    customer = np.concatenate(customers)
    day = np.concatenate(days)
    lines_per_purchase = 1 + rng.poisson(1.5, len(customer))
    customer = np.repeat(customer, lines_per_purchase)
    day = np.repeat(day, lines_per_purchase)
    seconds = rng.integers(8 * 3600, 22 * 3600, len(day))
    dates = np.datetime64("1997-01-01") + day.astype("timedelta64[D]") + seconds.astype("timedelta64[s]")
    lines = pd.DataFrame({"customer_id": customer, "order_date": dates.astype("datetime64[ns]"),
                          "revenue": rng.gamma(2.0, 15.0, len(day)).round(2)})
    # A real transaction log is in time order, not grouped by customer.
    return lines.sort_values("order_date", kind="stable", ignore_index=True)


def timed(function, *args, repeat: int = 1, **kwargs):
    """The result and the shortest of ``repeat`` wall times (as timeit does: the rest is the machine's noise)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return result, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each summary; the shortest counts")
    args = parser.parse_args()

    lines = simulate_lines(args.lines)
    end = "1998-06-30"
    print(f"summary: {len(lines):,} lines, {lines['customer_id'].nunique():,} customers")
    # Both sides once on the first 10,000 lines, so that neither timing below includes what a
    # process does once (crmlab opening DuckDB, about 0.25 s; lifetimes' and pandas' first calls).
    summaries.rfm_summary(lines.iloc[:10_000], end, "weeks")
    summary_data_from_transaction_data(lines.iloc[:10_000], "customer_id", "order_date", "revenue",
                                       observation_period_end=end, freq="D", freq_multiplier=7)
    ours, ours_s = timed(summaries.rfm_summary, lines, end, "weeks", repeat=args.repeat)
    theirs, theirs_s = timed(summary_data_from_transaction_data, lines, "customer_id", "order_date", "revenue",
                             observation_period_end=end, freq="D", freq_multiplier=7, repeat=args.repeat)
    theirs = theirs.sort_index()
    same = all(np.allclose(ours[c].to_numpy(), theirs[c].to_numpy(), rtol=1e-12, atol=1e-9)
               for c in ("frequency", "recency", "T", "monetary_value")) and ours.index.equals(theirs.index)
    print(f"  lifetimes summary_data_from_transaction_data: {theirs_s:7.2f} s")
    print(f"  crmlab rfm_summary:                           {ours_s:7.2f} s")
    print(f"  identical: {same}; speed-up: {theirs_s / ours_s:.1f}x")
    # The notebooks' path: the engine scans the prepared Parquet file instead of a DataFrame in memory.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "transactions.parquet"
        lines.to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
        from_file, file_s = timed(summaries.rfm_summary, folder, end, "weeks", repeat=args.repeat)
    same_file = from_file.equals(ours)
    print(f"  crmlab rfm_summary on the Parquet file:       {file_s:7.2f} s")
    print(f"  identical: {same_file}; speed-up: {theirs_s / file_s:.1f}x")

    summary = ours.iloc[:args.customers]
    print(f"fit: BG/NBD on {len(summary):,} customers (weeks)")
    base, base_s = timed(lambda: BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"]))
    start = time.perf_counter()
    packed = summaries.compress(summary[["frequency", "recency", "T"]])
    fit = fitting.fit_purchase_model(packed["frequency"], packed["recency"], packed["T"], packed["weight"])
    fit_s = time.perf_counter() - start
    worst = max(abs(fit.params[k] / base.params_[k] - 1) for k in fit.params)
    print(f"  lifetimes BetaGeoFitter.fit, one row per customer: {base_s:7.2f} s")
    print(f"  crmlab compress + fit_purchase_model ({len(packed):,} rows): {fit_s:7.2f} s")
    print(f"  largest relative parameter difference: {worst:.1e}; speed-up: {base_s / fit_s:.1f}x")
    figures = {"lines": len(lines), "customers": int(lines["customer_id"].nunique()),
               "summary": {"lifetimes_seconds": theirs_s, "crmlab_seconds": ours_s, "ratio": theirs_s / ours_s,
                           "identical": bool(same), "crmlab_parquet_seconds": file_s,
                           "ratio_parquet": theirs_s / file_s, "identical_parquet": bool(same_file)},
               "fit": {"customers": len(summary), "rows": len(packed), "lifetimes_seconds": base_s,
                       "crmlab_seconds": fit_s, "ratio": base_s / fit_s, "largest_relative_difference": worst}}
    print(f"results: {write_result('clv_speed', figures, settings=vars(args))}")


if __name__ == "__main__":
    main()
