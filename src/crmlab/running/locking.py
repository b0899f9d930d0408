"""One run at a time per dataset: a lock on ``<data_dir>/.locks/<dataset>.lock``.

A scheduled run may fire while an earlier one still runs, or an analyst may
start the same config by hand. ``crmlab run`` and ``crmlab data prepare`` take
this lock for their whole duration, so two of them never interleave writes to
``data/processed/<dataset>/`` and each publishes a complete run folder.

The lock is an ``flock`` on the file, which the kernel releases when the
holding process dies, however it dies: a lock left by a killed run is taken
over at once. The file also records who holds it (pid, host, start, command),
for the waiting message.

A leaf module: it imports nothing of crmlab.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator


class LockBusy(RuntimeError):
    """The dataset is locked by another run and the caller chose not to wait."""


def lock_path(data_dir: Path, dataset: str) -> Path:
    # Beside processed/, not in it: a failed run must leave processed/ byte-identical.
    return Path(data_dir) / ".locks" / f"{dataset}.lock"


def _holder(handle) -> str:
    handle.seek(0)
    try:
        info = json.loads(handle.read() or "{}")
    except ValueError:
        return "another crmlab process"
    if not info:
        return "another crmlab process"
    return f"{info.get('command', 'crmlab')} (pid {info.get('pid')}, started {info.get('started')})"


@contextmanager
def dataset_lock(data_dir: Path, dataset: str, *, wait: bool = True, poll_seconds: float = 0.5,
                 log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)) -> Iterator[Path]:
    """Hold the dataset's lock for the ``with`` block.

    Parameters
    ----------
    wait : bool
        True: wait for the holder to finish (saying so once). False: raise
        :class:`LockBusy` at once.

    Raises
    ------
    LockBusy
        When ``wait`` is False and another process holds the lock.
    """
    path = lock_path(data_dir, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(handle)
                if not wait:
                    raise LockBusy(f"dataset '{dataset}' is in use by {holder}; "
                                   "try again when it has finished, or leave out --no-wait to wait for it") from None
                if not told:
                    log(f"Waiting: dataset '{dataset}' is in use by {holder}.")
                    told = True
                time.sleep(poll_seconds)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": datetime.now().astimezone().isoformat(timespec="seconds"),
                                 "command": " ".join(["crmlab", *sys.argv[1:2]])}))
        handle.flush()
        if told:
            log(f"Dataset '{dataset}' is free again; going on.")
        try:
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
