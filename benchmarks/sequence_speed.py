"""Sequence speed: the baskets report's "bought X, then Y" count against a baseline commit, in one run.

``BasketAnalysis.fit`` calls ``sequence_rules`` twice: on all lines, and on
the lines up to the offers' check's calibration end. Each side (this
checkout's ``src``, a baseline commit's in a git worktree under ``build/``)
runs both calls in a fresh process on the same prepared folder, the sides
taking turns for ``--rounds`` rounds; each counts its shortest round. Both
sides' tables must be equal. Run:

    .venv/bin/python benchmarks/sequence_speed.py [--data FOLDER] [--baseline e448e63] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from recording import ROOT, add_data_argument, prepared_folder, relative_name, worktree, write_result

DEFAULT_BASELINE = "e448e63"

# Both calls of one side, timed in its own process; the tables are written for the comparison.
ONE_SIDE = """
import json, sys, time
from crmlab import engine
from crmlab.analyses.baskets.sequences import sequence_rules
from crmlab.engine import customer_tables, offer_tables
from crmlab.models.btyd.summaries import resolve_calibration_end
folder, level, out = sys.argv[1:4]
lines = engine.lines(folder, {"name": "duckdb"})
window = customer_tables.extent(lines)
end = resolve_calibration_end(None, window["first_date"], window["last_date"].floor("D"))
history = offer_tables.lines_through(lines, customer_tables.day_of(end))
seconds = {}
for part, table in (("all lines", lines), ("calibration", history)):
    begin = time.perf_counter()
    found = sequence_rules(table, level)
    seconds[part] = time.perf_counter() - begin
    found.to_parquet(f"{out}/{part}.parquet")
print(json.dumps(seconds))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--level", default="category")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    folder = prepared_folder(args.data)
    sides = {"crmlab": ROOT / "src", f"baseline {args.baseline}": worktree(args.baseline) / "src"}
    seconds: dict[str, list[dict]] = {side: [] for side in sides}
    equal = True
    with tempfile.TemporaryDirectory() as scratch:
        for n in range(args.rounds):
            for side, src in sides.items():
                out = Path(scratch) / side.replace(" ", "-") / str(n)
                out.mkdir(parents=True)
                done = subprocess.run([sys.executable, "-c", ONE_SIDE, str(folder), args.level, str(out)],
                                      capture_output=True, text=True, env={"PYTHONPATH": str(src), "PATH": ""})
                if done.returncode:
                    raise SystemExit(f"{side} failed:\n{done.stderr[-3000:]}")
                seconds[side].append(json.loads(done.stdout.strip().splitlines()[-1]))
                parts = ", ".join(f"{part} {s:.2f} s" for part, s in seconds[side][-1].items())
                print(f"round {n + 1}, {side}: {parts}", flush=True)
        for part in seconds["crmlab"][0]:
            tables = [pd.read_parquet(path) for path in sorted(Path(scratch).glob(f"*/*/{part}.parquet"))]
            equal &= all(table.equals(tables[0]) for table in tables)
    best = {side: min(sum(run.values()) for run in runs) for side, runs in seconds.items()}
    ratio = best[f"baseline {args.baseline}"] / best["crmlab"]
    print(f"sequences, both calls: crmlab {best['crmlab']:.2f} s, baseline {args.baseline} "
          f"{best[f'baseline {args.baseline}']:.2f} s, {ratio:.2f}x; tables equal: {equal}")
    figures = {"data": relative_name(folder), "level": args.level, "baseline": args.baseline,
               "seconds": best, "all_seconds": seconds, "speedup": ratio, "tables_equal": equal}
    print(f"results: {write_result('sequence_speed', figures, settings=vars(args) | {'data': None})}")


if __name__ == "__main__":
    main()
