"""Basket mining speed and memory: crmlab against Borgelt's C implementation, in one run.

Complete Journey at category level, minimum support 1% (the setting of the
baskets issue: 155,659 baskets x 302 categories, 2,786 itemsets).

- crmlab: ``baskets.encode`` + ``baskets.mine``, end to end from the
  transactions DataFrame to itemsets with counts (the bit-set Eclat miner).
- C baseline: pyfim (Borgelt's FIM library, ``pip install pyfim``, a
  benchmark-only extra: ``pip install -e '.[bench]'``), mining only, on
  ready-made transaction lists; the best of its apriori, eclat and fpgrowth.
- For reference: mlxtend ``hmine`` on the pruned dense frame, as a user
  would call it.
- ``--tutorial`` adds the tutorial path (pd.crosstab + mlxtend apriori with
  defaults): about 90 s and several GB, so off by default.

Peak memory of the crmlab path is measured in a fresh process (max RSS, which
includes Python, pandas and the loaded transactions) and with tracemalloc
around encode + mine.

    .venv/bin/python benchmarks/baskets_speed.py [--config configs/default.yaml] [--tutorial]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

warnings.simplefilter("ignore")

from recording import write_result  # noqa: E402

from crmlab import data  # noqa: E402
from crmlab.core.schema import load_config  # noqa: E402
from crmlab.models.itemsets import encoding, mining  # noqa: E402

MEMORY_PROBE = """
import json, resource, sys, time, tracemalloc
from crmlab import data
from crmlab.models.itemsets import encoding, mining
lines = data.load_transactions(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
start = time.perf_counter()
itemsets = mining.mine(encoding.encode(lines, "category", 0.01))
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1]
print(json.dumps({"seconds": seconds, "itemsets": len(itemsets), "traced_peak": traced, "rss_before": before * 1024,
                  "rss_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def best_of(n, function):
    times, result = [], None
    for _ in range(n):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--repeat", type=int, default=3, help="runs per path; the best time counts")
    parser.add_argument("--tutorial", action="store_true")
    args = parser.parse_args()
    config = load_config(args.config)
    if data.needs_prepare(config):
        data.prepare(config)
    lines = data.load_transactions(config.processed_dir)

    ours_s, itemsets = best_of(args.repeat, lambda: mining.mine(encoding.encode(lines, "category", 0.01)))
    encoded = encoding.encode(lines, "category", 0.01)
    print(f"crmlab encode + mine: {ours_s:.3f} s, {len(itemsets):,} itemsets, {encoded.n_baskets:,} baskets x "
          f"{encoded.n_items} categories ({len(encoded.items)} frequent)")

    figures = {"baskets": int(encoded.n_baskets), "items": int(encoded.n_items), "itemsets": len(itemsets),
               "crmlab_seconds": ours_s}
    try:
        import fim
    except ImportError:
        print("pyfim is not installed (pip install -e '.[bench]'): no C baseline")
        print(f"results: {write_result('baskets_speed', figures, settings=vars(args))}")
        return
    with_items = lines.dropna(subset=["category"])
    order = with_items.sort_values("order_id", kind="stable")
    codes = order["category"].cat.codes.to_numpy()
    breaks = np.flatnonzero(np.diff(order["order_id"].to_numpy())) + 1
    transactions = [sorted(set(chunk.tolist())) for chunk in np.split(codes, breaks)]
    c_times = {}
    for name in ("apriori", "eclat", "fpgrowth"):
        c_times[name], result = best_of(args.repeat, lambda: getattr(fim, name)(
            transactions, target="s", supp=-encoded.min_count, zmin=1, report="a"))
    c_name = min(c_times, key=c_times.get)
    c_s = c_times[c_name]
    names = np.asarray(lines["category"].cat.categories, dtype=object)
    theirs = {frozenset(names[list(s)]): n for s, n in result}
    ours = {frozenset(s): n for s, n in zip(itemsets["items"], itemsets["count"])}
    print(f"C (pyfim {c_name}, mining only): {c_s:.3f} s, {len(theirs):,} itemsets "
          f"(apriori {c_times['apriori']:.3f}, eclat {c_times['eclat']:.3f}, fpgrowth {c_times['fpgrowth']:.3f})")
    print(f"identical itemsets and counts: {ours == theirs}")
    print(f"ratio crmlab / C: {ours_s / c_s:.2f}x against pyfim's fastest ({c_name}); "
          + ", ".join(f"{ours_s / t:.2f}x against {name}" for name, t in c_times.items() if name != c_name))

    from mlxtend.frequent_patterns import hmine
    frame = pd.DataFrame(encoded.matrix)
    plain_s, _ = best_of(1, lambda: hmine(frame, (encoded.min_count - 0.5) / len(frame)))
    print(f"mlxtend hmine() on the pruned dense frame (mining only): {plain_s:.3f} s")
    figures.update(c_seconds=c_times, c_fastest=c_name, ratio=ours_s / c_s, identical=ours == theirs,
                   mlxtend_hmine_seconds=plain_s)

    probe = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(config.processed_dir)], capture_output=True,
                           text=True, check=True)
    memory = json.loads(probe.stdout.strip().splitlines()[-1])
    print(f"peak memory, fresh process: {memory['rss_peak'] / 2**20:,.0f} MiB max RSS "
          f"({memory['rss_before'] / 2**20:,.0f} MiB after loading the transactions); "
          f"encode + mine allocated at most {memory['traced_peak'] / 2**20:,.0f} MiB (tracemalloc)")
    figures["memory"] = memory

    if args.tutorial:
        from mlxtend.frequent_patterns import apriori
        start = time.perf_counter()
        table = pd.crosstab(with_items["order_id"], with_items["category"]).astype(bool)
        result = apriori(table, min_support=0.01, use_colnames=True)
        print(f"tutorial path (pd.crosstab + apriori defaults): {time.perf_counter() - start:.1f} s, "
              f"{len(result):,} itemsets")
    print(f"results: {write_result('baskets_speed', figures, settings=vars(args))}")


if __name__ == "__main__":
    main()
