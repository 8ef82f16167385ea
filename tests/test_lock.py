"""The project lock belongs to the process that took it, not to the processes it forked.

A fit forks PyMC's chain processes while the update holds the lock. When the update is killed
(cron timeout, out of memory), its chains can live on for a while; the next update must still get
the lock, mark the dead run failed and go ahead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from forecast.runs.update import LockTimeout, project_lock

HOLDER = textwrap.dedent(
    """
    import os, sys, time
    from forecast.runs.update import project_lock

    ledger, pids = sys.argv[1], sys.argv[2]
    with project_lock(ledger, 5):
        child = os.fork()  # as a fit forks its chain processes, with the lock file open
        if child == 0:
            time.sleep(60)
            os._exit(0)
        with open(pids, "w") as fh:
            fh.write(f"{os.getpid()} {child}")
        time.sleep(60)
    """
)


def test_a_killed_holders_forked_children_do_not_keep_the_lock(tmp_path):
    ledger, pids = tmp_path / "ledger.sqlite", tmp_path / "pids"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(ledger), str(pids)])
    child = None
    try:
        deadline = time.monotonic() + 60
        while not (pids.exists() and pids.read_text().strip()):
            assert time.monotonic() < deadline and holder.poll() is None, "the holder did not start"
            time.sleep(0.1)
        parent, child = map(int, pids.read_text().split())
        # while the holder lives, the lock is taken
        with pytest.raises(LockTimeout, match=f"pid {parent}"):
            with project_lock(ledger, 0.5):
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        os.kill(child, 0)  # the forked child is still alive ...
        with project_lock(ledger, 5):  # ... and the lock is free
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
        if child is not None:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
