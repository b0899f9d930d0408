"""Work shared among forked processes, the large inputs inherited through fork instead of pickled.

The basket miner hands each process a share of the items, and the rules per
segment hand each process whole segments; both go through :func:`fork_map`.
"""

from __future__ import annotations

import itertools
import multiprocessing
from typing import Any, Callable

# The job a forked worker runs: the function and the inputs it shares, inherited by the workers
# (they fork after this is set), so only a small (job, task) pair is pickled per task.
_JOBS: dict[int, tuple[Callable[[Any, Any], Any], Any]] = {}
_JOB_IDS = itertools.count()


def _run(job_and_task: tuple[int, Any]) -> Any:
    job, task = job_and_task
    function, shared = _JOBS[job]
    return function(shared, task)


def fork_map(function: Callable[[Any, Any], Any], tasks: list, shared: Any, *, workers: int) -> list:
    """``[function(shared, task) for task in tasks]``, in ``workers`` forked processes when more than one.

    Results come back in the order of ``tasks``, one task at a time to
    whichever process is free (so put the largest first). Where the system
    cannot fork (Windows, macOS' default), or with one worker or one task,
    the tasks run here, one after another.

    Examples
    --------
    >>> fork_map(lambda shared, task: shared[task], [2, 0], ["a", "b", "c"], workers=1)
    ['c', 'a']
    """
    job = next(_JOB_IDS)
    _JOBS[job] = (function, shared)
    try:
        if workers > 1 and len(tasks) > 1 and "fork" in multiprocessing.get_all_start_methods():
            with multiprocessing.get_context("fork").Pool(min(workers, len(tasks))) as pool:
                return pool.map(_run, [(job, task) for task in tasks], chunksize=1)
        return [function(shared, task) for task in tasks]
    finally:
        del _JOBS[job]
