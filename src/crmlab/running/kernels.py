"""The reports' kernels: started ahead, the kit imported in them, and each used again for the next report."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from jupyter_client.blocking import BlockingKernelClient

from crmlab.core.catalog import report
from crmlab.core.machine import available_cores
from crmlab.running.project import KERNEL_NAME


def kernel_environment(jobs: int, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a report's kernel: the runner's, with OpenMP's threads shared among ``jobs`` reports.

    scikit-learn's k-means and gradient boosting run on OpenMP, whose threads
    spin while they wait at each step. Two reports beside each other, each with
    one such thread per core, slowed each other twenty-fold on two cores
    (segments 95 s instead of 7, retention 100 s instead of 8). Each kernel
    gets ``cores // jobs`` threads (at least one) unless ``OMP_NUM_THREADS`` is
    set already; the figures are the same (metrics.json of segments and
    retention compared with one and two threads: no difference at all).

    Examples
    --------
    >>> kernel_environment(2, {"PATH": "/bin"})["OMP_NUM_THREADS"] == str(max(1, available_cores() // 2))
    True
    >>> kernel_environment(2, {"OMP_NUM_THREADS": "4"})["OMP_NUM_THREADS"]
    '4'
    """
    environment = dict(os.environ if environ is None else environ)
    environment.setdefault("OMP_NUM_THREADS", str(max(1, available_cores() // max(jobs, 1))))
    return environment


class ReadyClient(BlockingKernelClient):
    """jupyter_client's blocking client, ready as soon as the kernel answers on both channels.

    jupyter_client's ``wait_for_ready`` ends by reading IOPub until nothing came
    for 0.2 s: 0.2 s of idle before every report. What is left there needs no
    reading: nbclient takes from IOPub only the messages of the cell it runs.
    """

    def wait_for_ready(self, timeout: float | None = None) -> None:
        from queue import Empty

        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = self.get_shell_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    self.get_iopub_msg(timeout=0.2)  # IOPub is connected once a message came through
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


READY_CLIENT = f"{__name__}.{ReadyClient.__name__}"  # as KernelManager's client_class names it

# Code the runner sends to a kernel (crmlab.running.kernel_state runs inside it): remember() once the kit is
# imported in a new kernel, as_fresh() after each report.
_KERNEL_STATE = "__import__('crmlab.running.kernel_state', fromlist=['_'])"
_REMEMBER, _AS_FRESH = f"{_KERNEL_STATE}.remember()", f"{_KERNEL_STATE}.as_fresh()"


class Kernels:
    """The reports' kernels: the first started ahead, and each used again for the next report.

    The first ``ahead`` kernels are started, and pandas, matplotlib, Ibis and
    their report's analysis imported in them, while the runner imports
    papermill. A kernel whose report ended (done, or not available for the
    data) is put back as a new kernel finds itself
    (:func:`crmlab.running.kernel_state.as_fresh`) and runs the next report,
    which imports only what its own analysis adds: a new kernel and the kit's
    imports cost about 2 s of CPU, taken from the reports running beside it.
    At most ``ahead`` kernels are alive at once. A kernel whose report
    failed, or that could not be put back, is shut down; the next report
    gets a new one.

    The kernels talk to the runner over Unix sockets in a folder only this
    user can open, not over TCP on localhost: what they exchange is the
    customers' data, and ipykernel warns, once per kernel in the scheduler's
    log, that TCP carries it unencrypted. (Windows has no such sockets: TCP there.)
    """

    def __init__(self, notebooks_dir: Path, ahead: int):
        self.notebooks_dir, self.ahead = notebooks_dir, ahead
        self.environment = kernel_environment(ahead)
        # As many starting at once as run at once: the first reports' kernels start side by side.
        self._starting = ThreadPoolExecutor(max_workers=max(1, ahead), thread_name_prefix="crmlab-kernel")
        self._kernels: dict[str, Future] = {}  # started for a report, not yet taken
        self._idle: list[tuple[Any, Future]] = []  # kernels after a report, and their putting back (a bool)
        self._alive = 0  # kernels started and not shut down: those above and those running reports
        self._lock = threading.Lock()
        # Short and private: a socket's path must fit in about 100 bytes, and mkdtemp makes it 0700.
        self._sockets = tempfile.mkdtemp(prefix="crmlab-") if os.name == "posix" else None

    def start_ahead(self, names: list[str]) -> None:
        """Start kernels for the first of ``names`` (in run order) while fewer than ``ahead`` are alive."""
        with self._lock:
            for name in names:
                if self._alive >= self.ahead:
                    break
                if name not in self._kernels:
                    self._alive += 1
                    self._kernels[name] = self._starting.submit(self._start, name)

    @staticmethod
    def _imports(name: str) -> str:
        """Code importing what report ``name`` uses; it binds no name (a comprehension's names are its own)."""
        analysis = report(name).analysis.split(":")[0]  # empty for a notebook the catalog does not know
        modules = ["crmlab.data", "crmlab.engine", "crmlab.publishing.display", "crmlab.publishing.metrics",
                   "crmlab.publishing.privacy", "crmlab.publishing.theme",
                   *([analysis, f"{analysis}.charts", f"{analysis}.wording"] if analysis else [])]
        return f"[__import__(m) for m in {modules!r}]"

    @staticmethod
    def _silently(km, code: str, timeout: float = 300) -> bool:
        """Run ``code`` in the kernel: no output, no history, no execution count. True when it succeeded.

        Over the shell channel alone, whose reply says how it went: a client that also waits for IOPub to
        connect (``wait_for_ready``) loses 0.2 to 0.5 s each time, on the run's critical path.
        """
        from queue import Empty

        client = km.client()
        client.start_channels(iopub=False, stdin=False, hb=False, control=False)
        try:
            sent = client.execute(code, silent=True, store_history=False, allow_stdin=False)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    # Short waits: a kernel shut down at the end of the run is noticed at once.
                    reply = client.get_shell_msg(timeout=0.1)
                except Empty:
                    if not km.is_alive():
                        return False
                    continue
                if reply["parent_header"].get("msg_id") == sent:
                    return reply["content"]["status"] == "ok"
            return False
        finally:
            client.stop_channels()

    def _start(self, name: str):
        from jupyter_client.manager import KernelManager

        if self._sockets:
            # Each kernel's sockets are <folder>/<report>-1, -2, ...; an explicit path, because
            # jupyter_client's default for IPC is relative to the kernel's working folder.
            km = KernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=os.path.join(self._sockets, name),
                               client_class=READY_CLIENT)
        else:
            km = KernelManager(kernel_name=KERNEL_NAME, client_class=READY_CLIENT)
        km.start_kernel(cwd=str(self.notebooks_dir), env=self.environment)
        if not self._silently(km, f"{self._imports(name)}; {_REMEMBER}"):
            km.shutdown_kernel(now=True)
            raise RuntimeError(f"warming the kernel for {name} failed")
        return km

    def take(self, name: str):
        """The kernel manager for ``name``: its warm kernel, else one put back, else one started ahead for a
        report that did not come to run (its data lacked its columns), else one started now.

        None when starting it failed: the report then runs in a kernel papermill starts.
        """
        with self._lock:
            future = self._kernels.pop(name, None)
            idle = self._idle.pop(0) if future is None and self._idle else None
            other = (self._kernels.pop(next(iter(self._kernels)))
                     if future is None and idle is None and self._kernels else None)
            if future is None and idle is None and other is None:
                self._alive += 1
        if idle is not None or other is not None:
            km = None
            try:
                if idle is not None:
                    km, put_back = idle
                    ready = put_back.result()
                else:
                    km = other.result()
                    ready = True
                # This report's analysis may not be imported yet: imported here, as a new kernel would.
                if ready and self._silently(km, self._imports(name)):
                    return km
            except Exception:
                pass
            # A kernel that could not be used is shut down, and the one started below counts in its place.
            # (A start that failed left its count to the one started below already.)
            if km is not None:
                self._shut(km)
                with self._lock:
                    self._alive += 1
        try:
            return future.result() if future is not None else self._start(name)
        except Exception:
            with self._lock:
                self._alive -= 1
            return None

    def give_back(self, km, reusable: bool) -> None:
        """After a report: its kernel put back for the next one (in the background), or shut down."""
        if not reusable:
            self._shut(km)
            return
        with self._lock:
            self._idle.append((km, self._starting.submit(self._silently, km, _AS_FRESH)))

    def _shut(self, km) -> None:
        try:
            km.shutdown_kernel(now=True)
        except Exception:
            pass
        with self._lock:
            self._alive -= 1

    def close(self) -> None:
        """Shut down the kernels no report holds: put back, or started for a report that did not run."""
        for future in self._kernels.values():
            try:
                future.result().shutdown_kernel(now=True)
            except Exception:
                pass
        self._kernels.clear()
        for km, _ in self._idle:  # without waiting for a put-back still under way: nothing runs in it any more
            self._shut(km)
        self._idle.clear()
        self._starting.shutdown(wait=False, cancel_futures=True)
        if self._sockets:
            shutil.rmtree(self._sockets, ignore_errors=True)
