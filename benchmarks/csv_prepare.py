"""CSV prepare: a large CSV export read in chunks against the same file read whole by pandas, in one run.

For each scale N, DuckDB writes complete_journey x N as one CSV file, as a
till system would export it (new customer and order ids per copy, dates as
``YYYY-MM-DD hh:mm:ss``, product ids as text). Then ``crmlab data prepare``
runs twice on it, each in a fresh process:

- **chunked**: the file read 1M rows at a time (``stage_csv``) and checked by
  DuckDB queries, what ``prepare`` does for any CSV of 256 MiB or more;
- **whole** (the baseline): the file read whole by pandas and checked in
  pandas, what ``prepare`` does below 256 MiB and did for every CSV before.

Prints wall time and peak memory (PSS of the process tree, sampled every
0.2 s) of each, their ratios, and whether both prepared tables and quality
records are equal. The whole path is skipped beyond ``--whole-max``.

    .venv/bin/python benchmarks/csv_prepare.py [--scales 1 10] [--memory-limit 6GB] [--bench-dir build/csv_prepare]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording import write_result  # noqa: E402
from scale import ROOT, _gib, copies_query, measured  # noqa: E402

PREPARE = """
import sys
from crmlab import data
from crmlab.running import cli
data.streaming.STREAM_CSV_BYTES = {threshold}
sys.exit(cli.main(["data", "prepare", "--config", {config!r}]))
"""

COMPARE = """
import json
from crmlab import data
a, b = (data.load_transactions(f) for f in {folders!r})
qa, qb = (data.load_manifest(f)["quality"] for f in {folders!r})
print(json.dumps({{"lines": len(a), "tables_equal": bool(a.equals(b)), "quality_equal": qa == qb}}))
"""


def build_csv(scale: int, out: Path) -> dict:
    query = copies_query(scale)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # Without insertion order: at x100 the ordered CSV writer asked for 16 GiB at once. The file's
    # row order is then DuckDB's; prepare sorts the lines anyway.
    con = duckdb.connect(config={"temp_directory": str(out.parent / ".spill"), "memory_limit": "6GB",
                                 "preserve_insertion_order": False})
    con.execute(f"""
        COPY (
            SELECT * REPLACE (strftime(order_date, '%Y-%m-%d %H:%M:%S') AS order_date,
                              CAST(product_id AS VARCHAR) AS product_id)
            FROM ({query})
        ) TO '{out}' (FORMAT csv, HEADER true)""")
    return {"seconds": time.perf_counter() - start, "bytes": out.stat().st_size}


def write_config(folder: Path, data_file: Path, memory_limit: str) -> Path:
    config = {"dataset": {"name": "complete_journey_csv", "source": "file", "path": str(data_file)},
              "data_dir": str(folder / "data"), "notebooks": {"profile": {}},
              "engine": {"name": "duckdb", "memory_limit": memory_limit}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--whole-max", type=int, default=10, help="largest scale the whole-file path runs at")
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB's memory limit (engine.memory_limit)")
    parser.add_argument("--bench-dir", type=Path, default=ROOT / "build" / "csv_prepare")
    args = parser.parse_args()
    results = {}
    for scale in args.scales:
        data_file = args.bench_dir / f"x{scale}" / "lines.csv"
        built = build_csv(scale, data_file)
        print(f"x{scale}: {built['bytes'] / 2**30:.2f} GiB of CSV, written by DuckDB in {built['seconds']:.1f} s",
              flush=True)
        runs, folders = {}, []
        for label, threshold in (("chunked", 0), ("whole", 10**15)):
            if label == "whole" and scale > args.whole_max:
                continue
            folder = args.bench_dir / f"x{scale}" / label
            config = write_config(folder, data_file, args.memory_limit)
            runs[label] = measured([sys.executable, "-c", PREPARE.format(threshold=threshold, config=str(config))],
                                   ROOT)
            runs[label].pop("samples")
            status = "" if runs[label]["exit"] == 0 else f"  EXIT {runs[label]['exit']}: {runs[label]['tail']}"
            print(f"  {label:<8} prepare {runs[label]['seconds']:8.1f} s  {_gib(runs[label]['peak_bytes']):>9}{status}",
                  flush=True)
            folders.append(str(folder / "data" / "processed" / "complete_journey_csv"))
        if len(runs) == 2 and all(r["exit"] == 0 for r in runs.values()):
            c, w = runs["chunked"], runs["whole"]
            print(f"  chunked / whole   wall time: {c['seconds'] / w['seconds']:.2f}   "
                  f"peak memory: {c['peak_bytes'] / w['peak_bytes']:.2f}")
            same = subprocess.run([sys.executable, "-c", COMPARE.format(folders=folders)], cwd=ROOT,
                                  capture_output=True, text=True)
            runs["comparison"] = json.loads(same.stdout.strip().splitlines()[-1]) if same.returncode == 0 else {
                "error": same.stderr.strip().splitlines()[-1]}
            print(f"  prepared tables: {runs['comparison']}")
        results[f"x{scale}"] = {"build": built, **runs}
    print(f"results: {write_result('csv_prepare', results, settings={**vars(args), 'bench_dir': None})}")


if __name__ == "__main__":
    main()
