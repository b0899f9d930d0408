"""Prepare speed: ``crmlab data prepare`` of complete_journey x N against a baseline commit, in one run.

DuckDB builds complete_journey x N as ``scale.py`` does (``--ids text``:
text customer, order and product ids, as most exports write them), a typed
Parquet file that ``prepare`` checks and writes with DuckDB queries. Then
``crmlab data prepare`` runs on it with this checkout's ``src`` and with a
baseline commit's (a git worktree under ``build/``), each in a fresh process
and its own data folder. Prints wall time and peak memory (resident, of the process
tree, sampled) of each and their ratio, and whether the prepared tables (line by line,
in order) and the quality records are equal. Run:

    .venv/bin/python benchmarks/prepare_speed.py [--scale 10] [--ids text] [--baseline c87eb9e]
        [--rounds 1] [--bench-dir build/prepare_speed]

With ``--rounds`` above 1 the sides take turns and each counts its shortest round.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording import worktree, write_result  # noqa: E402
from scale import ROOT, _gib, build, measured  # noqa: E402

DEFAULT_BASELINE = "c87eb9e"
PROCESSED = ("data", "processed", "complete_journey_scaled")


def write_config(folder: Path, data_file: Path) -> Path:
    config = {"dataset": {"name": "complete_journey_scaled", "source": "file", "path": str(data_file)},
              "data_dir": str(folder / "data")}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def same_tables(a: Path, b: Path) -> dict:
    """Whether two prepared folders hold the same lines in the same order, and the same quality record."""
    con = duckdb.connect()
    columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{a / 'transactions.parquet'}')")
               .fetchall()]
    listed = ", ".join(columns)
    differing = con.execute(f"""
        SELECT count(*) FROM read_parquet('{a / 'transactions.parquet'}', file_row_number = true) x
        FULL JOIN read_parquet('{b / 'transactions.parquet'}', file_row_number = true) y USING (file_row_number)
        WHERE ({', '.join('x.' + c for c in columns)}) IS DISTINCT FROM ({', '.join('y.' + c for c in columns)})
    """).fetchone()[0]
    quality = [json.loads((f / "manifest.json").read_text())["quality"] for f in (a, b)]
    return {"columns": listed, "lines_differing": int(differing), "quality_equal": quality[0] == quality[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--ids", choices=["integer", "text"], default="text")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--bench-dir", type=Path, default=ROOT / "build" / "prepare_speed")
    args = parser.parse_args()
    bench = args.bench_dir.resolve()
    data_file = bench / f"x{args.scale}-{args.ids}-ids" / "complete_journey.parquet"
    built = build(args.scale, data_file, args.ids)
    print(f"x{args.scale}, {args.ids} ids: {built['lines']:,} lines, built by DuckDB in {built['seconds']:.1f} s",
          flush=True)
    sides = {"crmlab": ROOT, "baseline": worktree(args.baseline)}
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for n in range(args.rounds):
        for side, tree in sides.items():
            folder = bench / f"x{args.scale}-{args.ids}-ids" / side
            config = write_config(folder, data_file)
            found = measured([sys.executable, "-m", "crmlab.running.cli", "data", "prepare", "--config", str(config)],
                             tree, {"PYTHONPATH": str(tree / "src")})
            found.pop("samples", None)
            runs[side].append(found)
            status = "" if found["exit"] == 0 else f"  EXIT {found['exit']}: {found['tail']}"
            print(f"round {n + 1}, {side:<8} prepare {found['seconds']:8.1f} s  {_gib(found['peak_bytes']):>9}{status}",
                  flush=True)
    best = {side: min((r for r in found if r["exit"] == 0), key=lambda r: r["seconds"], default=None)
            for side, found in runs.items()}
    figures = {"scale": args.scale, "ids": args.ids, "lines": built["lines"], "baseline_commit": args.baseline,
               **best}
    if best["crmlab"] and best["baseline"]:
        figures["speedup"] = best["baseline"]["seconds"] / best["crmlab"]["seconds"]
        figures["comparison"] = same_tables(*(bench / f"x{args.scale}-{args.ids}-ids" / side / Path(*PROCESSED)
                                              for side in sides))
        print(f"prepare: crmlab {best['crmlab']['seconds']:.1f} s, baseline {best['baseline']['seconds']:.1f} s, "
              f"{figures['speedup']:.2f}x faster; peak {_gib(best['crmlab']['peak_bytes'])} vs "
              f"{_gib(best['baseline']['peak_bytes'])}; {figures['comparison']}")
    print(f"results: {write_result('prepare_speed', figures, settings={**vars(args), 'bench_dir': None})}")


if __name__ == "__main__":
    main()
