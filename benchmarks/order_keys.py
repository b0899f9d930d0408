"""Order keys: the deciles and baskets analyses on text order ids against the same lines with integer keys.

Since d9b04fa ``crmlab data prepare`` writes text order ids as integer keys
(``crmlab.data.keys``). This script times what the keys are for: the two
analyses that group lines by order the most, each in a fresh process, with
this checkout's ``src`` on two prepared folders of the same lines:

- ``--keyed``: prepared by this checkout (order ids as keys);
- ``--text`` (the baseline): prepared before d9b04fa (order ids as text).

``prepare_speed.py --scale 10 --ids text`` leaves both under
``build/prepare_speed/x10-text-ids/{crmlab,baseline}/data/processed/complete_journey_scaled``,
the defaults here. Both sides must give the same metrics (seconds aside).
The sides take turns; each counts its shortest round. Run:

    .venv/bin/python benchmarks/order_keys.py [--keyed FOLDER] [--text FOLDER] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from recording import ROOT, write_result

PREPARED = Path("data", "processed", "complete_journey_scaled")
BENCH = ROOT / "build" / "prepare_speed" / "x10-text-ids"

# Run in the child: each analysis's wall time, the process's peak memory, and the metrics that must be equal.
CHILD = r"""
import json, resource, sys, time
from crmlab import engine
from crmlab.analyses.baskets import BasketAnalysis
from crmlab.analyses.deciles import CustomerValueAnalysis
folder, memory_limit, out = sys.argv[1], sys.argv[2], sys.argv[3]
lines = engine.lines(folder, {"name": "duckdb", "memory_limit": memory_limit})
found = {"seconds": {}, "metrics": {}}
for name, analysis in (("deciles", CustomerValueAnalysis()), ("baskets", BasketAnalysis())):
    begin = time.perf_counter()
    analysis.fit(lines)
    found["seconds"][name] = time.perf_counter() - begin
    found["metrics"][name] = {k: v for k, v in analysis.metrics_.items() if not k.endswith("_seconds")}
found["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
json.dump(found, open(out, "w"), default=str)
"""


def one_side(folder: Path, memory_limit: str) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "side.json"
        done = subprocess.run([sys.executable, "-c", CHILD, str(folder), memory_limit, str(out)], check=False,
                              env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "HOME": scratch,
                                   "OMP_NUM_THREADS": "1"},
                              capture_output=True, text=True)
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1:]}
        return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keyed", type=Path, default=BENCH / "crmlab" / PREPARED)
    parser.add_argument("--text", type=Path, default=BENCH / "baseline" / PREPARED)
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB's memory limit on both sides")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sides = {"keys": args.keyed.resolve(), "text": args.text.resolve()}
    if not (sides["keys"] / "order_ids.parquet").exists() or (sides["text"] / "order_ids.parquet").exists():
        sys.exit("--keyed must be a folder prepared with order keys and --text one without: run "
                 "'benchmarks/prepare_speed.py --scale 10 --ids text' first")
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for n in range(args.rounds):
        for side, folder in sides.items():
            found = one_side(folder, args.memory_limit)
            runs[side].append(found)
            shown = (", ".join(f"{k} {v:.1f} s" for k, v in found["seconds"].items()) if "seconds" in found
                     else f"failed: {found['error']}")
            print(f"round {n + 1}, {side}: {shown}", flush=True)
    # No path of this machine in the results: folders under the checkout by their relative path.
    figures: dict = {side + "_folder": str(f.relative_to(ROOT)) if f.is_relative_to(ROOT) else f.name
                     for side, f in sides.items()}
    figures["rounds"] = args.rounds
    ok = {side: [r for r in found if "seconds" in r] for side, found in runs.items()}
    if all(ok.values()):
        for side, found in ok.items():
            figures[side] = {"seconds": {name: min(r["seconds"][name] for r in found) for name in found[0]["seconds"]},
                             "all_seconds": [r["seconds"] for r in found],
                             "max_rss_bytes": max(r["max_rss_bytes"] for r in found)}
        figures["speedup"] = {name: figures["text"]["seconds"][name] / figures["keys"]["seconds"][name]
                              for name in figures["keys"]["seconds"]}
        figures["same_metrics"] = ok["keys"][0]["metrics"] == ok["text"][0]["metrics"]
        for name, ratio in figures["speedup"].items():
            keys, text = figures["keys"]["seconds"][name], figures["text"]["seconds"][name]
            print(f"{name}: keys {keys:.1f} s, text {text:.1f} s, {ratio:.2f}x")
        print(f"metrics equal: {figures['same_metrics']}")
    else:
        print("a side failed: " + "; ".join(f"{s}: {r[-1].get('error')}" for s, r in runs.items() if not ok[s]))
    print(f"results: {write_result('order_keys', figures, settings=vars(args) | {'keyed': None, 'text': None})}")


if __name__ == "__main__":
    main()
