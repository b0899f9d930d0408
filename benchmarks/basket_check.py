"""The baskets report's "enough baskets with two items?" check: the early count against counting every line.

``BasketAnalysis.fit`` asks, on all lines and again on the calibration
period's, whether at least ``MIN_MULTI_ITEM_BASKETS`` baskets hold two
items. The baseline counts them over every line (as up to 0b10428); the
check now counts the table's first ``EARLY_LINES`` lines first and stops
there when they hold enough. Both run here, on the same DuckDB connection,
taking turns; each counts its shortest round. Run:

    .venv/bin/python benchmarks/basket_check.py [--data data/processed/complete_journey] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time

from recording import ROOT, add_data_argument, prepared_folder, relative_name, write_result

sys.path.insert(0, str(ROOT / "src"))
from crmlab import engine  # noqa: E402
from crmlab.analyses.baskets.analysis import MIN_MULTI_ITEM_BASKETS  # noqa: E402
from crmlab.engine import item_tables  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--level", default="category")
    parser.add_argument("--memory-limit", default=None, help="DuckDB's memory limit")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = prepared_folder(args.data)
    lines = engine.lines(folder, {"name": "duckdb", "memory_limit": args.memory_limit} if args.memory_limit else None)
    sides = {"early": {"enough": MIN_MULTI_ITEM_BASKETS}, "every line": {}}
    seconds: dict[str, list[float]] = {side: [] for side in sides}
    counts: dict[str, int] = {}
    for n in range(args.rounds):
        for side, options in sides.items():
            begin = time.perf_counter()
            counts[side] = item_tables.multi_item_baskets(lines, args.level, **options)
            seconds[side].append(time.perf_counter() - begin)
            print(f"round {n + 1}, {side}: {seconds[side][-1]:.2f} s, {counts[side]:,} baskets", flush=True)
    best = {side: min(found) for side, found in seconds.items()}
    ratio = best["every line"] / best["early"]
    enough = all(count >= MIN_MULTI_ITEM_BASKETS for count in counts.values())
    verdict = enough or counts["early"] == counts["every line"]
    print(f"check: early {best['early']:.2f} s, every line {best['every line']:.2f} s, {ratio:.1f}x; "
          f"same verdict (at least {MIN_MULTI_ITEM_BASKETS}): {verdict}")
    figures = {"data": relative_name(folder),
               "level": args.level, "early_lines": item_tables.EARLY_LINES, "enough": MIN_MULTI_ITEM_BASKETS,
               "seconds": best, "all_seconds": seconds, "counts": counts, "speedup": ratio, "same_verdict": verdict}
    print(f"results: {write_result('basket_check', figures, settings=vars(args) | {'data': None})}")


if __name__ == "__main__":
    main()
