"""A real Dask cluster on 127.0.0.1 for the tests: one ``dask scheduler`` and N ``dask worker``
processes started from this project's environment, always stopped afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).parent / "dask"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalDaskCluster:
    """Handles of the scheduler and worker processes; ``address`` is the scheduler's."""

    def __init__(self, address: str, scheduler: subprocess.Popen, workers: list[subprocess.Popen]):
        self.address = address
        self.scheduler = scheduler
        self.workers = workers

    def kill_worker(self, i: int = 0) -> None:
        """SIGKILL worker ``i`` (no nanny: it does not come back)."""
        os.killpg(self.workers[i].pid, signal.SIGKILL)
        self.workers[i].wait(10)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@contextmanager
def dask_cluster(n_workers: int = 2, timeout: float = 60.0):
    """Start a scheduler and ``n_workers`` single-threaded workers; yield a :class:`LocalDaskCluster`."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    procs: list[subprocess.Popen] = []
    common = dict(env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        scheduler = subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **common)
        procs.append(scheduler)
        workers = []
        for i in range(n_workers):
            w = subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", f"w{i}"], **common)
            procs.append(w)
            workers.append(w)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with Client(address, timeout="5s", set_as_default=False) as c:
                    c.wait_for_workers(n_workers, timeout=max(1.0, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield LocalDaskCluster(address, scheduler, workers)
    finally:
        for p in reversed(procs):
            _stop(p)
