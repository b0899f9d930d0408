"""Report speed: `crmlab run` of the whole bundle on prepared data against a baseline commit, in one run.

What `make report` costs an analyst once the data is prepared: the wall time
of ``crmlab run --config configs/default.yaml`` (x1 complete_journey unless
``--config`` names another), each side in a fresh process, this checkout's
``src`` and a baseline commit's (a git worktree under ``build/``), both reading
the same prepared folder. The sides take turns for ``--rounds`` rounds and each
counts its median, and the peak memory of the run's process tree (``scale.py``'s
measure). Every run must write the same ``metrics.json`` (the offers' and the
miner's seconds aside). Run:

    .venv/bin/python benchmarks/report_speed.py [--baseline 5e39016] [--rounds 5]

Prepare the data first (``make report`` does): a side that finds it missing
would prepare it inside the timed run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from recording import ROOT, worktree, write_result
from scale import TIMINGS, measured

from crmlab.publishing.metrics import metric_differences

DEFAULT_BASELINE = "5e39016"


def one_run(src: Path, config: Path) -> dict:
    """One ``crmlab run`` with ``src`` first on the path: wall time, peak memory, each report's seconds, metrics."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "reports"
        done = measured([sys.executable, "-m", "crmlab.running.cli", "run", "--config", str(config), "--out", str(out)],
                        ROOT, {"PYTHONPATH": str(src)})
        if done["exit"] != 0:
            return {"error": done["tail"][-1:]}
        run = json.loads((out / "latest" / "run.json").read_text())
        return {"seconds": done["seconds"], "peak_bytes": done["peak_bytes"],
                "reports": {name: entry["seconds"] for name, entry in run["notebooks"].items()},
                "metrics": json.loads((out / "latest" / "metrics.json").read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.yaml")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    config = args.config.resolve()
    sides = {"crmlab": ROOT / "src", "baseline": worktree(args.baseline) / "src"}
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for n in range(args.rounds):
        for side, src in sides.items():
            found = one_run(src, config)
            runs[side].append(found)
            shown = f"{found['seconds']:.1f} s" if "seconds" in found else f"failed: {found['error']}"
            print(f"round {n + 1}, {side}: {shown}", flush=True)
    figures: dict = {"config": str(config.relative_to(ROOT)) if config.is_relative_to(ROOT) else config.name,
                     "baseline_commit": args.baseline}
    ok = {side: [r for r in found if "seconds" in r] for side, found in runs.items()}
    for side, found in ok.items():
        figures[side] = {"seconds": [round(r["seconds"], 2) for r in found],
                         "median_seconds": statistics.median(r["seconds"] for r in found) if found else None,
                         "peak_bytes": max((r["peak_bytes"] for r in found), default=None),
                         "median_report_seconds": {name: statistics.median(r["reports"][name] for r in found)
                                                   for name in (found[0]["reports"] if found else {})}}
    if ok["crmlab"] and ok["baseline"]:
        ratio = figures["baseline"]["median_seconds"] / figures["crmlab"]["median_seconds"]
        reference = ok["baseline"][0]["metrics"]
        differing = sorted({d for r in ok["crmlab"] + ok["baseline"]
                            for d in metric_differences(reference, r["metrics"], rel=0.0, ignore=TIMINGS)})
        same = not differing
        figures.update(speedup=ratio, same_metrics=same, metric_differences=differing)
        print(f"crmlab run: crmlab {figures['crmlab']['median_seconds']:.1f} s, baseline "
              f"{figures['baseline']['median_seconds']:.1f} s (medians of {args.rounds}), {ratio:.2f}x; "
              f"metrics.json equal in every run: {same}")
    else:
        print("a side failed: " + "; ".join(f"{s}: {r[-1].get('error')}" for s, r in runs.items() if not ok[s]))
    print(f"results: {write_result('report_speed', figures, settings=vars(args) | {'config': None})}")


if __name__ == "__main__":
    main()
