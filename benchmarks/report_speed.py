"""Report speed: `crmlab run` of the whole bundle on prepared data against a baseline commit, in one run.

What `make report` costs an analyst once the data is prepared: the wall time
of ``crmlab run --config configs/default.yaml`` (x1 complete_journey unless
``--config`` names another), each side in a fresh process, this checkout's
``src`` and a baseline commit's (a git worktree under ``build/``), both reading
the same prepared folder. The sides take turns for ``--rounds`` rounds and each
counts its median. Both sides must write the same ``metrics.json`` (its
``*_seconds`` figures aside). Run:

    .venv/bin/python benchmarks/report_speed.py [--baseline 5e39016] [--rounds 5]

Prepare the data first (``make report`` does): a side that finds it missing
would prepare it inside the timed run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from recording import ROOT, worktree, write_result

DEFAULT_BASELINE = "5e39016"


def _without_seconds(metrics):
    """``metrics`` without the figures that time the run itself (``*_seconds``), which differ from run to run."""
    if isinstance(metrics, dict):
        return {k: _without_seconds(v) for k, v in metrics.items() if not k.endswith("_seconds")}
    return metrics


def one_run(src: Path, config: Path) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "reports"
        begin = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", "import sys; from crmlab.running.cli import main; "
                               "sys.exit(main())", "run", "--config", str(config), "--out", str(out)],
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True, text=True)
        seconds = time.perf_counter() - begin
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1:]}
        run = json.loads((out / "latest" / "run.json").read_text())
        return {"seconds": seconds, "reports": {name: entry["seconds"] for name, entry in run["notebooks"].items()},
                "metrics": _without_seconds(json.loads((out / "latest" / "metrics.json").read_text()))}


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
                         "median_report_seconds": {name: statistics.median(r["reports"][name] for r in found)
                                                   for name in (found[0]["reports"] if found else {})}}
    if ok["crmlab"] and ok["baseline"]:
        ratio = figures["baseline"]["median_seconds"] / figures["crmlab"]["median_seconds"]
        same = all(r["metrics"] == ok["baseline"][0]["metrics"] for r in ok["crmlab"] + ok["baseline"])
        figures.update(speedup=ratio, same_metrics=same)
        print(f"crmlab run: crmlab {figures['crmlab']['median_seconds']:.1f} s, baseline "
              f"{figures['baseline']['median_seconds']:.1f} s (medians of {args.rounds}), {ratio:.2f}x; "
              f"metrics.json equal in every run: {same}")
    else:
        print("a side failed: " + "; ".join(f"{s}: {r[-1].get('error')}" for s, r in runs.items() if not ok[s]))
    print(f"results: {write_result('report_speed', figures, settings=vars(args) | {'config': None})}")


if __name__ == "__main__":
    main()
