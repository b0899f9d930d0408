"""What the machine offers a run: the one count of CPU cores the kit uses."""

from __future__ import annotations

import os


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity where the system has one, else every core.

    A container or ``taskset`` may give a process fewer cores than the
    machine has; DuckDB's threads, the runner's jobs and the miner's
    processes are all sized by this one count.

    Examples
    --------
    >>> available_cores() >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
