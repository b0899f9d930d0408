"""The command line: ``crmlab init``, ``data prepare``, ``run``, ``notebook``, ``history`` and ``share``.

Exit codes: 0 success, 1 a notebook failed, 2 bad config or bad input data,
3 the dataset is in use by another run and ``--no-wait`` was given.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from crmlab.core.catalog import REPORTS
from crmlab.core.config import NOTEBOOKS_DIR, ConfigError
from crmlab.core.schema import load_config
from crmlab.data import DataError
from crmlab.running.locking import LockBusy, dataset_lock
from crmlab.running.parameters import check_config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crmlab", description="CRM analytics notebooks, run and reported.")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="write a project folder (configs, data, reports, notebooks)")
    init.add_argument("folder", help="the project folder; it may exist, but none of its files may")
    init.add_argument("--no-kernel", action="store_true",
                      help="do not register the crmlab Jupyter kernel for this Python")

    data_cmd = commands.add_parser("data", help="prepare the canonical transaction table")
    data_sub = data_cmd.add_subparsers(dest="data_command", required=True)
    prepare = data_sub.add_parser("prepare", help="copy the source to data/raw and write data/processed")
    prepare.add_argument("--config", required=True, help="YAML config file, e.g. configs/default.yaml")
    prepare.add_argument("--no-wait", action="store_true",
                         help="exit with code 3 instead of waiting when another run uses the dataset")

    run = commands.add_parser("run", help="run the notebooks with papermill and export HTML reports")
    run.add_argument("--config", required=True, help="YAML config file, e.g. configs/default.yaml")
    run.add_argument("--only", help="comma-separated report names, e.g. profile,deciles")
    run.add_argument("--out", default="reports", help="reports folder (default: reports)")
    run.add_argument("--notebooks", default=None, help="notebooks folder (default: the kit's notebooks/)")
    run.add_argument("--jobs", type=int, default=None,
                     help="reports run at the same time (default: the number of cores; 1 = one by one)")
    run.add_argument("--no-wait", action="store_true",
                     help="exit with code 3 instead of waiting when another run uses the dataset")

    notebook = commands.add_parser("notebook", help="write a report's notebook bound to a config, for JupyterLab")
    notebook.add_argument("report", nargs="?", help="the report, e.g. clv (see --list)")
    notebook.add_argument("--config", help="YAML config file, e.g. configs/my_shop.yaml")
    notebook.add_argument("--out", default=None, help="folder of the copy (default: notebooks/work/<dataset>/)")
    notebook.add_argument("--list", action="store_true", help="list the reports")
    notebook.add_argument("--no-wait", action="store_true",
                          help="exit with code 3 instead of waiting when another run uses the dataset")

    history = commands.add_parser("history", help="the headline figures of every successful run of a config")
    history.add_argument("--config", required=True, help="YAML config file, e.g. configs/my_shop.yaml")
    history.add_argument("--out", default="reports", help="reports folder (default: reports)")

    share = commands.add_parser("share", help="build the share bundle (pages and leadership.zip) of a run again")
    share.add_argument("run_dir", nargs="?", default=None,
                       help="the run folder (default: latest in the reports folder)")
    share.add_argument("--out", default="reports", help="reports folder (default: reports)")
    return parser


def _share(args) -> int:
    from crmlab.publishing.share import ZIP_NAME, build_share

    run_dir = Path(args.run_dir) if args.run_dir else Path(args.out) / "latest"
    if not run_dir.is_dir():
        print(f"crmlab: {run_dir}: no such run folder", file=sys.stderr)
        return 2
    try:
        target = build_share(run_dir)
    except FileNotFoundError as exc:
        print(f"crmlab: {exc}", file=sys.stderr)
        return 2
    print(f"{run_dir / target.name}: the pages and {ZIP_NAME}; send {ZIP_NAME}, never the run folder itself")
    return 0


def _init(args) -> int:
    from crmlab.running.project import EXAMPLE_CONFIG, EXPLORE, KERNEL_NAME, init_project

    try:
        written = init_project(args.folder, kernel=not args.no_kernel)
    except ConfigError as exc:
        print(f"crmlab: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    if not args.no_kernel:
        print(f"registered the Jupyter kernel '{KERNEL_NAME}' for {sys.executable}")
    steps = [(f"crmlab run --config {EXAMPLE_CONFIG}", "every report, into reports/latest/"),
             (f"crmlab notebook clv --config {EXAMPLE_CONFIG}", "a report's notebook on that data, for JupyterLab"),
             (f"jupyter lab {EXPLORE}", "explore the data in a notebook of your own")]
    width = max(len(command) for command, _ in steps)
    print(f"\nNext, in {args.folder}:")
    for command, what in steps:
        print(f"  {command:<{width}}   {what}")
    return 0


def _history(args) -> int:
    import pandas as pd

    from crmlab.publishing.history import read_history

    table = read_history(args.out)
    rows = table[table["config"] == str(Path(args.config))].dropna(axis=1, how="all")
    if rows.empty:
        print(f"No successful run of {args.config} in {args.out}/ yet: crmlab run --config {args.config}")
        return 0
    with pd.option_context("display.max_columns", None, "display.width", 200):
        print(rows.drop(columns="config").set_index("run").T.to_string())
    return 0


def _notebook(args, config, notebooks_dir: Path) -> int:
    from crmlab import data
    from crmlab.core.config import available_notebooks
    from crmlab.running.binding import bind_notebook

    known = available_notebooks(notebooks_dir)
    if args.report not in known:
        raise ConfigError(f"{args.report}: no such report; known: {', '.join(known)}")
    if args.report in config.skipped:
        raise ConfigError(f"{args.report} is switched off in {config.path} (notebooks.{args.report}: false)")
    with dataset_lock(config.data_dir, config.dataset.name, wait=not args.no_wait):
        if data.needs_prepare(config):
            print(f"Preparing {config.dataset.name} ...", file=sys.stderr)
            data.prepare(config)
    path = bind_notebook(config, args.report, out_dir=Path(args.out) if args.out else None,
                         notebooks_dir=notebooks_dir)
    print(f"Open it in JupyterLab and run it top to bottom; its exports go to reports/by-hand/"
          f"{config.dataset.name}/exports/.", file=sys.stderr)
    print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "init":
        return _init(args)
    if args.command == "share":
        return _share(args)
    if args.command == "history":
        return _history(args)
    if args.command == "notebook" and (args.list or not args.report or not args.config):
        if not args.list:
            parser.error("crmlab notebook needs a report and --config (or --list)")
        for entry in REPORTS.values():
            print(f"{entry.name:<10} {entry.title}")
        return 0
    try:
        notebooks_dir = Path(getattr(args, "notebooks", None) or NOTEBOOKS_DIR)
        config = load_config(args.config, notebooks_dir=notebooks_dir)
        # Every parameter is checked before anything is prepared, run or written: here, or by run() itself,
        # which starts the first reports' kernels first.
        if args.command != "run":
            check_config(config, notebooks_dir)
        if args.command == "notebook":
            return _notebook(args, config, notebooks_dir)
        if args.command == "data":
            from crmlab.data import prepare

            with dataset_lock(config.data_dir, config.dataset.name, wait=not args.no_wait):
                manifest = prepare(config)
            dropped = sum(manifest["quality"]["dropped"].values())
            print(f"{config.processed_dir}: {manifest['lines']:,} lines, {manifest['customers']:,} customers, "
                  f"{manifest['orders']:,} orders, {manifest['first_date'][:10]} to {manifest['last_date'][:10]}; "
                  f"{dropped:,} lines set aside")
            for note in manifest["quality"]["notes"]:
                print(f"  note: {note}")
            return 0
        from crmlab.running.runner import NotebookFailed, run

        only = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else None
        try:
            run(config, only=only, out_dir=args.out, notebooks_dir=notebooks_dir, jobs=args.jobs,
                wait_for_lock=not args.no_wait)
        except NotebookFailed as exc:
            print(f"crmlab: {exc}", file=sys.stderr)
            return 1
        return 0
    except (ConfigError, DataError) as exc:
        print(f"crmlab: {exc}", file=sys.stderr)
        return 2
    except LockBusy as exc:
        print(f"crmlab: {exc}", file=sys.stderr)
        return 3


def command() -> int:
    """``crmlab`` as a command: :func:`main` in a process of its own, which ends when it returns."""
    # jsonschema (under papermill and nbconvert) imports rfc3987_syntax when installed (jupyter-events installs
    # it), which compiles some 40 grammars for the "iri" formats: 0.9 s of CPU here, beside the starting kernels.
    # No notebook schema has such a format (python-jsonschema/jsonschema#1428); blocked, the import is skipped.
    sys.modules.setdefault("rfc3987_syntax", None)
    code = main()
    # The process ends now. Frozen, its heap (pandas, papermill, every analysis the config check imported) is
    # left out of the interpreter's last garbage collections: exit took 0.5 to 0.7 s without.
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(command())
