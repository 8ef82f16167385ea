"""Many independent simulations across worker processes, stored as they finish, resumable.

A *plan* is a small picklable object with ``prepare()`` (compile what the simulations need, once per
process) and ``run(index) -> dict`` (one simulation, a pure function of the plan and the index: the
random streams are seeded by ``[seed, index]``, so a simulation gives the same record whichever
worker runs it and in whatever order). :func:`run_plan` runs the indices not yet in the store:

* ``workers <= 1``: in this process;
* otherwise a :class:`concurrent.futures.ProcessPoolExecutor` with the ``forkserver`` context
  (``spawn`` where forkserver does not exist): PyMC and a forked parent's compiled state do not mix
  well. The fork server preloads PyMC, so workers start without importing it again. Each worker
  prepares the plan once (its own compiled model) and then runs many indices.

Records are appended to a JSON Lines file as they arrive and flushed to disk, so an interrupted run
loses at most the simulations in flight; a rerun with the same file skips the stored indices. A
half-written last line (a run killed mid-write) is ignored.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable

_PLAN = None  # the plan of this worker process


class JsonlStore:
    """Records ``{"index": i, ...}`` in a JSON Lines file (or only in memory when ``path`` is None)."""

    def __init__(self, path: str | Path | None, header: dict | None = None):
        self.path = Path(path) if path else None
        self.header = header or {}
        self.records: dict[int, dict] = {}
        self._cut_short = False  # the file ends without a newline: the next record starts a new line
        if self.path is not None and self.path.exists():
            text = self.path.read_text(encoding="utf-8")
            self._cut_short = bool(text) and not text.endswith("\n")
            for line in text.splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by an interrupted write
                if isinstance(rec, dict) and isinstance(rec.get("index"), int):
                    self.records[rec["index"]] = rec

    def add(self, record: dict) -> None:
        """Keep ``record`` (keyed by its ``index``) and append it to the JSON-lines file, if the store has one."""
        self.records[record["index"]] = record
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            if fh.tell() == 0 and self.header:
                fh.write(json.dumps({"header": self.header}, default=str) + "\n")
            if self._cut_short:
                fh.write("\n")
                self._cut_short = False
            fh.write(json.dumps(record, default=float) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def _context(start_method: str | None = None):
    if start_method is None:
        start_method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        # the server imports PyMC once and every worker forks from it with PyMC imported but nothing
        # compiled or sampled (what makes fork fragile), instead of each worker importing it again
        context.set_forkserver_preload(["pymc", "forecast.inference.sampling", "forecast.checks.sbc", "forecast.checks.scoring"])
    return context


def _init_worker(plan) -> None:
    global _PLAN
    _PLAN = plan
    _PLAN.prepare()


def _run_in_worker(index: int) -> dict:
    return _PLAN.run(index)


def run_plan(plan, indices, store: JsonlStore, workers: int = 1, progress: Callable[[int, int], None] | None = None,
             start_method: str | None = None) -> dict[int, dict]:
    """Run ``plan.run(i)`` for every ``i`` in ``indices`` not yet in ``store``; returns the records of ``indices``.

    ``progress(done, total)`` is called once before the first simulation and after each one (``done``
    counts stored records too). ``start_method`` overrides the worker start method (default
    ``forkserver``, else ``spawn``); ``fork`` is only safe for plans that do not touch PyMC.
    """
    indices = list(indices)
    todo = [i for i in indices if i not in store.records]
    total = len(indices)
    done = total - len(todo)
    if progress:
        progress(done, total)
    if todo and workers <= 1:
        plan.prepare()
        for i in todo:
            store.add({"index": i, **plan.run(i)})
            done += 1
            if progress:
                progress(done, total)
    elif todo:
        with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=_context(start_method), initializer=_init_worker, initargs=(plan,)) as pool:
            pending = {pool.submit(_run_in_worker, i): i for i in todo}
            try:
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        i = pending.pop(future)
                        store.add({"index": i, **future.result()})
                        done += 1
                        if progress:
                            progress(done, total)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
    return {i: store.records[i] for i in indices}
