"""The command line: ``crmlab data prepare`` and ``crmlab run``.

Exit codes: 0 success, 1 a notebook failed, 2 bad config or bad input data.
"""

from __future__ import annotations

import argparse
import sys

from pathlib import Path

from .config import NOTEBOOKS_DIR, ConfigError, load_config
from .data import DataError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crmlab", description="CRM analytics notebooks, run and reported.")
    commands = parser.add_subparsers(dest="command", required=True)

    data_cmd = commands.add_parser("data", help="prepare the canonical transaction table")
    data_sub = data_cmd.add_subparsers(dest="data_command", required=True)
    prepare = data_sub.add_parser("prepare", help="copy the source to data/raw and write data/processed")
    prepare.add_argument("--config", required=True, help="YAML config file, e.g. configs/default.yaml")

    run = commands.add_parser("run", help="run the notebooks with papermill and export HTML reports")
    run.add_argument("--config", required=True, help="YAML config file, e.g. configs/default.yaml")
    run.add_argument("--only", help="comma-separated report names, e.g. profile,deciles")
    run.add_argument("--out", default="reports", help="reports folder (default: reports)")
    run.add_argument("--notebooks", default=None, help="notebooks folder (default: the kit's notebooks/)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        notebooks_dir = Path(getattr(args, "notebooks", None) or NOTEBOOKS_DIR)
        config = load_config(args.config, notebooks_dir=notebooks_dir)
        if args.command == "data":
            from .data import prepare

            manifest = prepare(config)
            dropped = sum(manifest["quality"]["dropped"].values())
            print(f"{config.processed_dir}: {manifest['lines']:,} lines, {manifest['customers']:,} customers, "
                  f"{manifest['orders']:,} orders, {manifest['first_date'][:10]} to {manifest['last_date'][:10]}; "
                  f"{dropped:,} lines set aside")
            for note in manifest["quality"]["notes"]:
                print(f"  note: {note}")
            return 0
        from .runner import NotebookFailed, run

        only = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else None
        try:
            run(config, only=only, out_dir=args.out, notebooks_dir=notebooks_dir)
        except NotebookFailed as exc:
            print(f"crmlab: {exc}", file=sys.stderr)
            return 1
        return 0
    except (ConfigError, DataError) as exc:
        print(f"crmlab: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
