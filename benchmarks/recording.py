"""Where every benchmark writes its figures: ``benchmarks/results/<date>-<name>.json``.

One file per run, with the commit measured and the machine it ran on, so a
figure in ``docs/benchmarks.md`` can always be traced to a run, and the
history of a figure is the list of files, not prose.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = RESULTS.parents[1]


# The prepared dataset a benchmark of one analysis reads unless --data names another.
DEFAULT_DATA = ROOT / "data" / "processed" / "complete_journey"


def add_data_argument(parser) -> None:
    """``--data FOLDER``: a prepared dataset folder, complete_journey's by default."""
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a prepared dataset folder")


def prepared_folder(data: Path) -> Path:
    """``--data`` as an absolute path; exits with a message when it is not there."""
    folder = data.resolve()
    if not folder.exists():
        raise SystemExit(f"{data} not found: prepare it first ('make report' prepares complete_journey)")
    return folder


def relative_name(folder: Path) -> str:
    """A folder as the results file names it: relative to the checkout, never a path of this machine."""
    return str(folder.relative_to(ROOT)) if folder.is_relative_to(ROOT) else folder.name


def commit() -> str:
    """The commit measured, with ``+changes`` when the work tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> dict:
    """What the figures depend on: cores, memory, processor, Python."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else None
    processor = platform.processor()
    try:
        processor = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cores": cores, "memory_gb": round(memory / 2**30, 1) if memory else None, "processor": processor,
            "system": platform.system(), "python": platform.python_version()}


def write_result(name: str, figures: dict, *, settings: dict | None = None) -> Path:
    """Write one run's figures; returns the file's path (printed by the caller)."""
    now = datetime.now(timezone.utc)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{now:%Y-%m-%d}-{name}.json"
    n = 2
    while path.exists():  # a second run on the same day keeps the first
        path = RESULTS / f"{now:%Y-%m-%d}-{name}-{n}.json"
        n += 1
    record = {"benchmark": name, "measured_at": now.isoformat(timespec="seconds"), "commit": commit(),
              "machine": machine(), "settings": settings or {}, "figures": figures}
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path


def worktree(commit: str) -> Path:
    """A checkout of ``commit`` under ``build/`` (made once), for a benchmark's baseline side."""
    tree = ROOT / "build" / f"baseline-{commit}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True,
                       capture_output=True)
    return tree
