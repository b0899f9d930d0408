"""Retention speed: the retention report's analysis against a baseline commit, in one run.

Times ``RetentionAnalysis().fit(folder)`` on a prepared dataset folder, each
side in a fresh process: this checkout's ``src`` and a baseline commit's (a
git worktree under ``build/``). The default baseline, 61b9e35, is the last
commit whose retention queries each read every line; since then they read each
customer's purchase days, grouped once. Both sides must give the same
``metrics.json`` figures and the same per-customer table. Run:

    .venv/bin/python benchmarks/retention_speed.py [--data data/processed/complete_journey]
        [--baseline 61b9e35] [--memory-limit 3GB] [--rounds 1]

``scale.py`` prepares complete_journey x10 and x100 under ``build/scale``
(``.../engine/data/processed/complete_journey_scaled``). The sides take turns
when ``--rounds`` is more than 1, and each counts its shortest round.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from recording import ROOT, add_data_argument, prepared_folder, relative_name, worktree, write_result

DEFAULT_BASELINE = "61b9e35"

# Run in the child: the analysis, its wall time and the process's peak memory, and what must be equal.
CHILD = r"""
import hashlib, json, resource, sys, time
import pandas as pd
from crmlab.analyses.retention import RetentionAnalysis
from crmlab import engine
folder, memory_limit, out = sys.argv[1], sys.argv[2] or None, sys.argv[3]
settings = {"name": "duckdb", "memory_limit": memory_limit} if memory_limit else None
lines = engine.lines(folder, settings)
begin = time.perf_counter()
analysis = RetentionAnalysis().fit(lines)
seconds = time.perf_counter() - begin
customers = analysis.export_customers()
digest = hashlib.sha256(pd.util.hash_pandas_object(customers, index=False).values.tobytes()).hexdigest()
json.dump({"seconds": seconds, "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
           "metrics": analysis.metrics_, "customers": len(customers), "customers_sha256": digest},
          open(out, "w"), default=str)
"""


def one_side(src: Path, folder: Path, memory_limit: str | None) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "side.json"
        done = subprocess.run([sys.executable, "-c", CHILD, str(folder), memory_limit or "", str(out)], check=False,
                              env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "HOME": scratch},
                              capture_output=True, text=True)
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1:]}
        return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="the commit to compare with")
    parser.add_argument("--memory-limit", default=None, help="DuckDB's memory limit on both sides")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    folder = prepared_folder(args.data)
    sides = {"crmlab": ROOT / "src", "baseline": worktree(args.baseline) / "src"}
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for n in range(args.rounds):
        for side, src in sides.items():
            found = one_side(src, folder, args.memory_limit)
            runs[side].append(found)
            shown = f"{found['seconds']:.1f} s" if "seconds" in found else f"failed: {found['error']}"
            print(f"round {n + 1}, {side}: {shown}", flush=True)
    best = {side: min((r for r in found if "seconds" in r), key=lambda r: r["seconds"], default=None)
            for side, found in runs.items()}
    figures = {"data": relative_name(folder),
               "baseline_commit": args.baseline}
    for side, found in best.items():
        figures[side] = (None if found is None else
                         {k: found[k] for k in ("seconds", "max_rss_bytes", "customers", "customers_sha256")})
    if best["crmlab"] and best["baseline"]:
        ratio = best["baseline"]["seconds"] / best["crmlab"]["seconds"]
        same_metrics = best["crmlab"]["metrics"] == best["baseline"]["metrics"]
        same_customers = best["crmlab"]["customers_sha256"] == best["baseline"]["customers_sha256"]
        differing = sorted(k for k in best["crmlab"]["metrics"]
                           if best["crmlab"]["metrics"][k] != best["baseline"]["metrics"].get(k))
        figures.update(speedup=ratio, same_metrics=same_metrics, same_customers=same_customers,
                       differing_metrics=differing)
        print(f"retention fit: crmlab {best['crmlab']['seconds']:.1f} s, baseline {best['baseline']['seconds']:.1f} s, "
              f"{ratio:.2f}x faster; peak RSS {best['crmlab']['max_rss_bytes'] / 2**30:.2f} GiB vs "
              f"{best['baseline']['max_rss_bytes'] / 2**30:.2f} GiB; metrics equal: {same_metrics}, "
              f"customers equal: {same_customers}" + (f"; differing: {differing}" if differing else ""))
    else:
        print("a side failed: " + "; ".join(f"{s}: {r[-1].get('error')}" for s, r in runs.items() if best[s] is None))
    print(f"results: {write_result('retention_speed', figures, settings=vars(args) | {'data': None})}")


if __name__ == "__main__":
    main()
