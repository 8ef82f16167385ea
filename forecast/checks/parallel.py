"""Many independent simulations, in this process or on a Dask cluster, stored as they finish, resumable.

A *plan* is a small picklable object with ``prepare()`` (compile what the simulations need, once per
process) and ``run(index) -> dict`` (one simulation, a pure function of the plan and the index: the
random streams are seeded by ``[seed, index]``, so a simulation gives the same record whichever
worker runs it and in whatever order). :func:`run_plan` runs the indices not yet in the store with
:func:`forecast.core.cluster.map_tasks`:

* ``client=None``: in this process, one after another;
* a :class:`distributed.Client` (``forecast check --workers N`` / ``--scheduler ADDRESS``): one Dask
  task per simulation. Each worker process prepares a plan once (its compiled model) and keeps it
  for the following simulations of the same run.

Only the client writes: records are appended to a JSON Lines file as their tasks finish and flushed
to disk, so an interrupted run loses at most the simulations in flight; a rerun with the same file
skips the stored indices. A half-written last line (a run killed mid-write) is ignored. A simulation
that fails is not stored; the others are, and the run then stops with a :class:`SimulationError`
naming it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Callable

from forecast.core.cluster import TaskFailure, map_tasks

_PREPARED: OrderedDict[str, object] = OrderedDict()  # plans prepared in this (worker) process, by run token
_MAX_PREPARED = 4


class SimulationError(RuntimeError):
    """Some simulations of a plan failed; the others are stored (a rerun resumes)."""


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


def run_simulation(task: tuple[str, object, int]) -> dict:
    """One simulation (a task): ``plan.run(index)``, preparing the plan first if this process has not.

    Parameters
    ----------
    task : (token, plan, index)
        ``token`` names the run: a worker prepares each run's plan once.

    Returns
    -------
    dict
        The simulation's record (without its index).
    """
    token, plan, index = task
    prepared = _PREPARED.pop(token, None)
    if prepared is None:
        plan.prepare()
        prepared = plan
    _PREPARED[token] = prepared
    while len(_PREPARED) > _MAX_PREPARED:
        _PREPARED.popitem(last=False)
    return prepared.run(index)


def run_plan(plan, indices, store: JsonlStore, client=None, progress: Callable[[int, int], None] | None = None,
             what: str = "simulation") -> dict[int, dict]:
    """Run ``plan.run(i)`` for every ``i`` in ``indices`` not yet in ``store``; returns the records of ``indices``.

    Parameters
    ----------
    plan : object
        With ``prepare()`` and ``run(index) -> dict`` (see the module docstring); pickled to the
        workers.
    indices : iterable of int
    store : JsonlStore
        Records already there are not run again; new ones are added as their tasks finish.
    client : distributed.Client, optional
        From :func:`forecast.core.cluster.connect`; None runs here.
    progress : callable, optional
        ``progress(done, total)`` once before the first simulation and after each one (``done``
        counts stored records too).
    what : str
        What one simulation is called in messages (``"history"``).

    Returns
    -------
    dict of int to dict

    Raises
    ------
    SimulationError
        Some simulations failed: names the first and gives its error message; every other record
        is stored.
    """
    indices = list(indices)
    todo = [i for i in indices if i not in store.records]
    total = len(indices)
    done = [total - len(todo)]
    if progress:
        progress(done[0], total)
    failures: list[tuple[int, TaskFailure]] = []

    def record(position: int, result) -> None:
        if isinstance(result, TaskFailure):
            failures.append((todo[position], result))
        else:
            store.add({"index": todo[position], **result})
        done[0] += 1
        if progress:
            progress(done[0], total)

    if todo:
        token = uuid.uuid4().hex
        try:
            map_tasks(run_simulation, [(token, plan, i) for i in todo], client, on_result=record, name=f"forecast-{what}")
        finally:
            _PREPARED.pop(token, None)  # in this process; a worker keeps the last few runs' plans
    if failures:
        failures.sort()
        index, first = failures[0]
        where = f"; the {total - len(failures)} others are stored in {store.path} (a rerun resumes)" if store.path else ""
        raise SimulationError(f"{len(failures)} of {total} {what}s failed; {what} {index}: {first.error}: {first.message}{where}")
    return {i: store.records[i] for i in indices}
