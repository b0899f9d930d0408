"""Scale: the whole bundle on complete_journey x1, x10 and x100, against the pandas path, in one run.

What it does, for each scale N:

1. **build**: DuckDB writes complete_journey x N as one Parquet file, a user's
   file: every copy gets new customer and order ids (customer + k * 10^4,
   order + k * 10^11), dates and items unchanged. Built from the prepared
   complete_journey table (``make report`` prepares it; this script does too).
   With ``--ids text`` (or ``--text-ids``, which runs both) the ids are text as
   most exports write them: customer and order ``<id>-<copy>``, product ids as
   text (categories are text already).
2. **prepare**: ``crmlab data prepare`` on that file.
3. **profile, clv, deciles, segments, baskets, retention**: one ``crmlab run`` of the
   whole bundle, as ``make report`` runs it (two reports at a time, each
   report's DuckDB with half the memory limit: the kit's default, a fifth of
   the RAM, unless ``--memory-limit`` sets one). Each report's wall time is the
   runner's (``run.json``); its peak memory is the peak of the run while it ran.
   The baskets report's time is also printed without its offers (issue 26:
   at most 1.5 times), from the offers' own seconds in ``metrics.json``.
4. **rfm summary**: ``crmlab.models.btyd.summaries.rfm_summary`` on the prepared folder against
   lifetimes' ``summary_data_from_transaction_data`` on the same lines in
   pandas (both outputs must be equal), up to ``--lifetimes-max``.

Baseline, the pandas path: the same steps run by crmlab as it was before the
engine layer (commit ``PANDAS_BASELINE``, checked out into a git worktree
under ``build/`` by ``recording.worktree``, the same virtualenv), up to ``--baseline-max``
(beyond that it runs out of memory on 24 GB). Both sides' ``metrics.json``
figures are compared (counts exactly, floats to 1e-6 relative; the timings
left out).

Peak memory is the largest sum of resident memory (PSS: pages shared by forked
processes counted once) over the whole process tree (the crmlab process, its
notebook kernels and the miner's workers), sampled every 0.2 s.

With ``--rounds N`` each scale the pandas path runs at is run N times on
each side, taking turns, and every step counts its median: one run of a
30-second bundle varies by a few seconds on this machine.

    .venv/bin/python benchmarks/scale.py [--scales 1 10 100] [--rounds 3] [--memory-limit 6GB] [--text-ids]
        [--ids integer text] [--bench-dir build/scale] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import duckdb
import yaml
from recording import worktree, write_result

from crmlab.publishing.metrics import metric_differences

ROOT = Path(__file__).resolve().parents[1]
PANDAS_BASELINE = "57a06fc"
REPORTS = ("profile", "clv", "deciles", "segments", "baskets", "retention")
CUSTOMER_STEP, ORDER_STEP = 10**4, 10**11
TIMINGS = {"mining_seconds", "offers_seconds"}


# --------------------------------------------------------------------------- measuring


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants, as proportional set size (PSS).

    The basket miner forks workers that share the parent's pages copy-on-write; plain RSS would
    count those pages once per process (at x100, 20 GB for a step that holds about 7 GB).
    """
    tree, total, todo = _children(), 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(tree.get(p, []))
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def measured(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict:
    """Run ``command``: its wall time, the peak resident memory of its process tree, its exit code,
    and the memory samples (wall-clock time, bytes) for splitting the peak by step."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(env or {})},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    samples: list[tuple[float, int]] = []

    def sample():
        while process.poll() is None:
            samples.append((time.time(), _tree_rss(process.pid)))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.communicate()[0]
    sampler.join()
    return {"seconds": time.perf_counter() - start, "peak_bytes": max((b for _, b in samples), default=0),
            "exit": process.returncode, "samples": samples,
            # Results are committed: no path of this machine in them.
            "tail": [line.replace(f"{ROOT}/", "") for line in output.strip().splitlines()[-3:]]}


# --------------------------------------------------------------------------- data


def copies_query(scale: int, ids: str = "integer") -> str:
    """The SQL of complete_journey x ``scale``, new customer and order ids per copy (prepared first if need be).

    ``ids="text"``: customer and order ids ``<id>-<copy>`` and product ids as text, as most exports write them.
    """
    source = ROOT / "data" / "processed" / "complete_journey" / "transactions.parquet"
    if not source.exists():
        subprocess.run([sys.executable, "-m", "crmlab.running.cli", "data", "prepare", "--config",
                        "configs/default.yaml"], cwd=ROOT, check=True)
    if ids == "text":
        keys = ("CAST(t.customer_id AS VARCHAR) || '-' || CAST(k AS VARCHAR) AS customer_id, "
                "CAST(t.order_id AS VARCHAR) || '-' || CAST(k AS VARCHAR) AS order_id, "
                "t.order_date, CAST(t.product_id AS VARCHAR) AS product_id")
    else:
        keys = (f"t.customer_id + k * {CUSTOMER_STEP} AS customer_id, t.order_id + k * {ORDER_STEP} AS order_id, "
                "t.order_date, t.product_id")
    return f"""
        SELECT {keys}, t.category, t.department, t.quantity, t.revenue, t.discount
        FROM read_parquet('{source}') AS t, range({scale}) AS copies(k)"""


# The build's own DuckDB (not the kit's): enough to write x100 without spilling much.
BUILD_MEMORY = "6GB"


def build(scale: int, out: Path, ids: str = "integer") -> dict:
    """complete_journey x ``scale`` as one Parquet file, new ids per copy."""
    query = copies_query(scale, ids)
    memory_limit = BUILD_MEMORY
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # Spilled pages go beside the output (DuckDB's default is ./.tmp, wherever the script runs).
    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(out.parent / ".spill")})
    con.execute(f"COPY ({query}) TO '{out}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
    lines = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    return {"seconds": time.perf_counter() - start, "lines": lines}


def reused(out: Path) -> dict:
    lines = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    return {"seconds": 0.0, "lines": lines}


def write_config(folder: Path, data_file: Path, memory_limit: str | None) -> Path:
    """The bundle's config; without ``memory_limit`` no engine section (the pandas baseline knows none)."""
    default = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    config = {"dataset": {"name": "complete_journey_scaled", "source": "file", "path": str(data_file)},
              "data_dir": str(folder / "data"), "notebooks": default["notebooks"]}
    if memory_limit:
        config["engine"] = {"name": "duckdb", "memory_limit": memory_limit}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# --------------------------------------------------------------------------- steps


def bundle(label: str, folder: Path, config: Path, cwd: Path, env: dict | None) -> tuple[dict, dict]:
    """``crmlab data prepare``, then one ``crmlab run`` of every report, as ``make report`` runs them
    (two at a time on two cores, the later ones reading the earlier ones' exports).

    Each report's wall time comes from the run's ``run.json``; its peak memory
    is the peak of the whole run while it ran (with another report beside it).
    """
    steps, metrics = {}, {}
    # The pandas path (57a06fc) predates the layer folders: its command line is crmlab.cli.
    crmlab = [sys.executable, "-m", "crmlab.cli" if label == "pandas" else "crmlab.running.cli"]
    steps["prepare"] = measured(crmlab + ["data", "prepare", "--config", str(config)], cwd, env)
    _print_step(label, "prepare", steps["prepare"])
    if steps["prepare"]["exit"] != 0:
        return steps, metrics
    whole = measured(crmlab + ["run", "--config", str(config), "--out", str(folder / "reports")], cwd, env)
    latest = folder / "reports" / "latest"
    run_info = json.loads((latest / "run.json").read_text()) if whole["exit"] == 0 else {"notebooks": {}}
    for name in REPORTS:
        info = run_info["notebooks"].get(name)
        if info is None:
            continue
        begin, end = (datetime.fromisoformat(info[k]).timestamp() for k in ("started_at", "finished_at"))
        during = [b for t, b in whole["samples"] if begin <= t <= end]
        steps[name] = {"seconds": info["seconds"], "peak_bytes": max(during, default=0),
                       "exit": 0 if info["status"] == "ok" else 1, "tail": [info["status"]]}
        _print_step(label, name, steps[name])
    steps["run"] = whole
    _print_step(label, "run (all)", whole)
    metrics_file = latest / "metrics.json"
    if whole["exit"] == 0 and metrics_file.exists():
        metrics = json.loads(metrics_file.read_text())
    return steps, metrics


def median_steps(label: str, runs: list[tuple[dict, dict]]) -> tuple[dict, dict]:
    """Several :func:`bundle` runs as one: each step's median wall time and largest peak, the last run's metrics."""
    if len(runs) == 1:
        return runs[0]
    steps = {}
    for step in runs[0][0]:
        done = [r[0][step] for r in runs if step in r[0]]
        steps[step] = {"seconds": statistics.median(d["seconds"] for d in done),
                       "peak_bytes": max(d["peak_bytes"] for d in done),
                       "exit": max(d["exit"] for d in done), "tail": done[-1]["tail"],
                       "rounds": [round(d["seconds"], 2) for d in done]}
        print(f"  {label:<8} {step:<9} median {steps[step]['seconds']:6.1f} s of {steps[step]['rounds']}", flush=True)
    return steps, runs[-1][1]


def offers_share(steps: dict, metrics: dict) -> dict | None:
    """The baskets report's time with and without its offers (issue 26's budget: at most 1.5 times).

    Without offers is the report's wall time less the offers' own time
    (``offers_seconds`` in metrics.json: today's offers, the segments' rules and the whole check).
    """
    seconds = metrics.get("baskets", {}).get("offers_seconds")
    if "baskets" not in steps or seconds is None:
        return None
    whole = steps["baskets"]["seconds"]
    return {"with_offers_seconds": whole, "offers_seconds": seconds, "without_offers_seconds": whole - seconds,
            "ratio": whole / max(whole - seconds, 1e-9)}


def rfm_summaries(folder: Path) -> dict:
    """crmlab's engine summary against lifetimes' on the same prepared lines, in a fresh process."""
    script = f"""
import json, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
from lifetimes.utils import summary_data_from_transaction_data
from crmlab import data
from crmlab.models.btyd.summaries import rfm_summary
folder = {str(folder / "data" / "processed" / "complete_journey_scaled")!r}
start = time.perf_counter(); ours = rfm_summary(folder, None, "days"); ours_s = time.perf_counter() - start
lines = data.load_transactions(folder)[["customer_id", "order_date", "revenue"]]
end = lines["order_date"].max().floor("D")
start = time.perf_counter()
theirs = summary_data_from_transaction_data(lines, "customer_id", "order_date", "revenue",
                                            observation_period_end=end, freq="D")
theirs_s = time.perf_counter() - start
theirs = theirs.sort_index()
same = all(((ours[c] - theirs[c]).abs() <= 1e-9 * theirs[c].abs().clip(lower=1)).all()
           for c in ("frequency", "recency", "T", "monetary_value")) and ours.index.equals(theirs.index)
print(json.dumps({{"crmlab_seconds": ours_s, "lifetimes_seconds": theirs_s, "identical": bool(same),
                  "customers": len(ours)}}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def _print_step(label: str, step: str, m: dict) -> None:
    status = "" if m["exit"] == 0 else f"  EXIT {m['exit']}: {' | '.join(m['tail'])}"
    print(f"  {label:<8} {step:<9} {m['seconds']:8.1f} s  {_gib(m['peak_bytes']):>9}{status}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--memory-limit", default=None,
                        help="engine.memory_limit for the bundle (default: none, the kit's own default)")
    parser.add_argument("--ids", nargs="+", choices=["integer", "text"], default=["integer"],
                        help="customer, order and product ids of the copies: integers, text, or both")
    parser.add_argument("--text-ids", action="store_true", help="the same as --ids integer text")
    parser.add_argument("--baseline-max", type=int, default=10, help="largest scale the pandas path runs at")
    parser.add_argument("--lifetimes-max", type=int, default=10, help="largest scale lifetimes' summary runs at")
    parser.add_argument("--bench-dir", type=Path, default=ROOT / "build" / "scale")
    parser.add_argument("--reuse", action="store_true", help="keep a data file an earlier run built")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of each side where the pandas path runs too; each step counts its median")
    args = parser.parse_args()
    if args.text_ids:
        args.ids = ["integer", "text"]
    bench = args.bench_dir.resolve()
    baseline = worktree(PANDAS_BASELINE) if args.baseline_max >= min(args.scales) else None
    table = []
    for scale, ids in ((scale, ids) for scale in args.scales for ids in args.ids):
        folder = bench / (f"x{scale}" if ids == "integer" else f"x{scale}-text-ids")
        data_file = folder / "complete_journey.parquet"
        built = (reused(data_file) if args.reuse and data_file.exists()
                 else build(scale, data_file, ids))
        print(f"x{scale}, {ids} ids: {built['lines']:,} lines, built by DuckDB in {built['seconds']:.1f} s", flush=True)
        # The pandas baseline runs on integer ids only: one baseline per scale is enough.
        with_baseline = baseline is not None and scale <= args.baseline_max and ids == "integer"
        rounds = args.rounds if with_baseline else 1
        engine_runs, pandas_runs = [], []
        for n in range(1, rounds + 1):
            # Each round from nothing (its own data folder, so it prepares too), the two sides taking
            # turns, so that whatever else the machine does falls on both alike.
            engine_dir, pandas_dir = ((folder / side / f"round-{n}" if rounds > 1 else folder / side)
                                      for side in ("engine", "pandas"))
            engine_runs.append(bundle("engine", engine_dir, write_config(engine_dir, data_file, args.memory_limit),
                                      ROOT, None))
            if with_baseline:
                pandas_runs.append(bundle("pandas", pandas_dir, write_config(pandas_dir, data_file, None), baseline,
                                          {"PYTHONPATH": str(baseline / "src")}))
        steps, metrics = median_steps("engine", engine_runs)
        row = {"scale": scale, "ids": ids, "lines": built["lines"], "engine": steps}
        offers = offers_share(steps, metrics)
        if offers:
            row["baskets_offers"] = offers
            print(f"  baskets {offers['with_offers_seconds']:.1f} s with offers, {offers['without_offers_seconds']:.1f} s "
                  f"without (the offers took {offers['offers_seconds']:.1f} s): ratio {offers['ratio']:.2f}", flush=True)
        if with_baseline:
            base_steps, base_metrics = median_steps("pandas", pandas_runs)
            row["pandas"] = base_steps
            for step in ("prepare", *REPORTS, "run"):
                if step in steps and step in base_steps:
                    print(f"  {step:<9} engine / pandas wall time: {steps[step]['seconds'] / base_steps[step]['seconds']:.2f}"
                          f"   peak memory: {steps[step]['peak_bytes'] / max(base_steps[step]['peak_bytes'], 1):.2f}")
            # Figures the baseline predates (it records fewer) are not differences.
            diff = metric_differences(base_metrics, metrics, rel=1e-6, ignore=TIMINGS, missing_keys=False)
            row["metric_differences"] = diff
            print(f"  metrics.json, engine vs pandas: {len(diff)} figure(s) differ beyond 1e-6"
                  + "".join(f"\n    {d}" for d in diff[:10]))
        if scale <= args.lifetimes_max and steps["prepare"]["exit"] == 0:
            row["rfm_summary"] = rfm = rfm_summaries(engine_dir)
            if "error" not in rfm:
                print(f"  rfm summary of {built['lines']:,} lines: crmlab {rfm['crmlab_seconds']:.2f} s, lifetimes "
                      f"{rfm['lifetimes_seconds']:.1f} s, ratio {rfm['lifetimes_seconds'] / rfm['crmlab_seconds']:.1f}x, "
                      f"identical: {rfm['identical']}")
            else:
                print(f"  rfm summary: {rfm['error']}")
        totals = {side: (sum(row[side][s]["seconds"] for s in ("prepare", "run") if s in row[side]),
                         max(s["peak_bytes"] for s in row[side].values()))
                  for side in ("engine", "pandas") if side in row}
        for side, (seconds, peak) in totals.items():
            print(f"  x{scale} {ids} ids, {side}: whole bundle {seconds:.0f} s ({seconds / 60:.1f} min), "
                  f"peak {_gib(peak)}")
        table.append(row)
    for row in table:
        for side in ("engine", "pandas"):
            for step in row.get(side, {}).values():
                step.pop("samples", None)
    settings = {**vars(args), "bench_dir": None}
    print(f"results: {write_result('scale', table, settings=settings)}")


if __name__ == "__main__":
    main()
