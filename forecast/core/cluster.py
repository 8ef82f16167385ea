"""Independent units of work, run in this process, on a local Dask cluster or on an existing one.

Updates of many questions, replays of many questions, SBC simulations and influence refits are
independent tasks. :func:`connect` chooses where they run and :func:`map_tasks` runs them:

* no option: in this process, one after another (the default, as without Dask);
* ``workers=N``: a local Dask cluster of N single-threaded worker processes on this machine
  (:class:`distributed.LocalCluster`);
* ``scheduler="tcp://host:8786"`` (or ``$FORECAST_SCHEDULER``): an existing cluster started with
  ``dask scheduler`` / ``dask worker``, dask-jobqueue (Slurm, PBS) or dask-kubernetes.

Rules every caller keeps, so that results do not depend on where they ran:

* a task is a pure function of its arguments: seeds are derived from the task (its index, the
  question id), never from the worker;
* workers compute and return; only the client writes the ledger and artefacts (SQLite has one
  writer). A worker that dies loses only its task, which Dask runs again elsewhere (``retries``), and
  since the client records a result only when it arrives, a run is never recorded twice;
* a task that fails comes back as a :class:`TaskFailure` holding the same message the error would
  print locally (no traceback), and the other tasks go on.

Workers need the project's inputs and a compiled model. Tasks carry their inputs (the validated
question spec, indicator library and evidence items are small, picklable objects), so a worker needs
no access to the project folder; each worker process compiles a model structure once and keeps it
(PyTensor's compile cache on that machine) for the tasks that follow.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

SCHEDULER_ENV = "FORECAST_SCHEDULER"


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised: its position in the task list and the error's message.

    Attributes
    ----------
    index : int
        Position of the task in the list given to :func:`map_tasks`.
    error : str
        Exception class name (e.g. ``"InputError"``).
    message : str
        ``str(exception)``: what the command would print for the same error run locally.
    """

    index: int
    error: str
    message: str

    def __str__(self) -> str:
        return self.message


class TaskError(RuntimeError):
    """A task failed (on a worker or here): ``str()`` is the error's own message.

    Attributes
    ----------
    error : str
        Class name of the original exception (``"InputError"``, ``"ValueError"``...).
    """

    def __init__(self, failure: TaskFailure):
        super().__init__(failure.message)
        self.error = failure.error
        self.index = failure.index


class ClusterError(RuntimeError):
    """The scheduler named by ``--scheduler`` / ``$FORECAST_SCHEDULER`` cannot be reached, or its
    workers cannot run this version of the code."""


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The scheduler to use: ``scheduler`` if given, else ``$FORECAST_SCHEDULER``, else None."""
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    return address.strip() if address else None


def check_address(address: str) -> str:
    """``address`` if it is a Dask scheduler address (``tcp://host:port``, ``tls://``, ``ws://``...).

    Raises
    ------
    ClusterError
        At once, before any connection is tried: an unknown scheme (``http://``, Dask's dashboard
        rather than its scheduler) or a TCP address without a whole-number port.
    """
    from distributed.comm import registry
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address, strict=False)
        if scheme not in registry.backends:
            raise ValueError(f"unknown scheme {scheme}:// (Dask's are {', '.join(s + '://' for s in sorted(registry.backends))})")
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except ValueError as exc:
        raise ClusterError(f"{address!r} is not a Dask scheduler address ({exc}); write it as the scheduler prints it, "
                           "e.g. tcp://10.0.0.5:8786") from None
    return address


def connect_timeout() -> float:
    """Seconds to wait for a scheduler: Dask's setting ``distributed.comm.timeouts.connect``.

    Raises
    ------
    ClusterError
        The setting is no duration of zero or more (``abc``, ``-1s``, empty); it names the setting
        and where it comes from.
    """
    import dask
    import distributed  # noqa: F401  (registers the distributed.* settings)
    from dask.utils import parse_timedelta

    raw = dask.config.get("distributed.comm.timeouts.connect")
    try:
        seconds = parse_timedelta(raw, default="s")
    except (KeyError, ValueError, IndexError, TypeError):  # Dask's parser's ways of refusing a text
        seconds = None
    if seconds is None or not seconds >= 0:
        raise ClusterError(f"Dask's setting distributed.comm.timeouts.connect is {raw!r}, not a duration of zero or more "
                           "(write e.g. 5s); it comes from $DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT or a Dask config file")
    return float(seconds)


@contextmanager
def connect(workers: int | None = None, scheduler: str | None = None, client=None, timeout: float | None = None) -> Iterator[Any]:
    """Where tasks run, as a context manager yielding a :class:`distributed.Client` or None.

    Parameters
    ----------
    workers : int, optional
        Start a local cluster of this many single-threaded worker processes (``>= 2``; 1 or None
        runs in this process). Closed on exit.
    scheduler : str, optional
        Address of a running scheduler (``tcp://10.0.0.5:8786``); default ``$FORECAST_SCHEDULER``.
        Takes precedence over ``workers``.
    client : distributed.Client, optional
        An existing client (from Python); used as is and not closed.
    timeout : float, optional
        Seconds to wait for the scheduler; default Dask's own setting
        ``distributed.comm.timeouts.connect`` (30 s unless configured, e.g. with
        ``$DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s`` or a Dask config file).

    Yields
    ------
    distributed.Client or None
        None means: run in this process.

    Raises
    ------
    ClusterError
        The scheduler cannot be reached within ``timeout``; ``scheduler`` is no scheduler address
        (:func:`check_address`) or Dask's timeout setting no duration (:func:`connect_timeout`).
    ValueError
        ``workers`` is below 1.
    """
    if client is not None:
        yield client
        return
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    address = scheduler_address(scheduler)
    if address is None and (workers is None or workers <= 1):
        yield None
        return
    import logging

    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    if address is not None:
        check_address(address)
        if timeout is None:
            timeout = connect_timeout()
        try:
            c = Client(address, timeout=f"{timeout}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({type(exc).__name__}: {exc}); "
                               "start one with `dask scheduler`, check the address, or wait longer "
                               "(Dask's setting distributed.comm.timeouts.connect)") from exc
        try:
            yield c
        finally:
            c.close()
        return
    import dask

    # The workers' statistical profiler samples the task's stack every 10 ms; on these CPU-bound
    # tasks it cost 8% (a small fit: 1.71 s a task with it, 1.58 s without, 1.54 s in this process).
    # The dashboard's other pages are unaffected; a cluster the user starts keeps its own setting.
    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR) as cluster:
        with Client(cluster, set_as_default=False) as c:
            yield c


def dashboard_link(client) -> str | None:
    """The Dask dashboard's address of ``client``'s cluster, or None.

    None when running in this process, and when the scheduler serves no dashboard (started with
    ``--no-dashboard``, or without ``bokeh`` installed): an address that serves nothing is not shown.
    """
    if client is None:
        return None
    try:
        if "dashboard" not in client.scheduler_info().get("services", {}):
            return None
        return client.dashboard_link
    except Exception:  # noqa: BLE001  (an old scheduler, a closed client)
        return None


def describe(client) -> str:
    """One line on where tasks run: ``"in this process"`` or the scheduler, its workers and threads."""
    if client is None:
        return "in this process"
    try:
        info = client.scheduler_info()
        workers = info.get("workers", {})
        threads = sum(w.get("nthreads", 0) for w in workers.values())
        return f"on the Dask cluster at {info.get('address', '?')}: {len(workers)} workers, {threads} threads"
    except Exception:  # noqa: BLE001
        return "on a Dask cluster"


def verify_workers(client, probe: Callable[[], Any], what: str) -> None:
    """Check that every worker of ``client`` gives the same ``probe()`` as this process.

    The runs use it with the digest of the package's source code: a worker with other code would
    give other numbers (and another fingerprint) for the same task.

    Parameters
    ----------
    client : distributed.Client or None
        Nothing is checked for None (in-process).
    probe : callable
        A module-level function without arguments (run on every worker).
    what : str
        What the probe measures, for the message (``"forecast code"``).

    Raises
    ------
    ClusterError
        The cluster has no worker, a worker cannot run the probe (e.g. cannot import the package),
        or gives another value; the message names the workers.
    """
    if client is None:
        return
    here = probe()
    try:
        seen = client.run(probe, on_error="return")
    except Exception as exc:  # noqa: BLE001
        raise ClusterError(f"cannot ask the Dask workers for their {what}: {type(exc).__name__}: {exc}") from exc
    if not seen:
        address = client.scheduler.address if getattr(client, "scheduler", None) is not None else "?"
        raise ClusterError(f"the Dask scheduler at {address} has no workers; start some with `dask worker {address}`")
    broken = {w: v for w, v in seen.items() if isinstance(v, BaseException)}
    if broken:
        first = next(iter(broken.values()))
        raise ClusterError(f"{len(broken)} Dask worker(s) cannot run this package ({', '.join(sorted(broken))}): {type(first).__name__}: {first}; "
                           "install the same version of forecast in the workers' environment")
    other = sorted(w for w, v in seen.items() if v != here)
    if other:
        raise ClusterError(f"Dask worker(s) {', '.join(other)} run other {what} than this process ({seen[other[0]]} vs {here}); "
                           "install the same version of forecast on every worker")


def _call(fn: Callable, item: Any, index: int) -> Any:
    """Run one task; an exception becomes a :class:`TaskFailure` (picklable, message only)."""
    try:
        return fn(item)
    except Exception as exc:  # noqa: BLE001  (every failure is reported, none stops the others)
        return TaskFailure(index, type(exc).__name__, str(exc))


def map_tasks(
    fn: Callable[[Any], Any],
    items: Sequence[Any] | Iterable[Any],
    client=None,
    progress: Callable[[int, int], None] | None = None,
    retries: int = 2,
    name: str = "forecast",
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """``[fn(item) for item in items]``, in this process or on ``client``'s cluster.

    Parameters
    ----------
    fn : callable
        A module-level function of one argument (it is pickled to the workers). It must be pure
        in the sense above: the same item gives the same result on any worker.
    items : sequence
        One argument per task.
    client : distributed.Client, optional
        From :func:`connect`; None runs the tasks here, in order.
    progress : callable, optional
        ``progress(done, total)`` after each finished task (in the order tasks finish).
    retries : int
        How many times Dask runs a task again when its worker dies.
    name : str
        Prefix of the Dask task keys (shown on the dashboard).
    on_result : callable, optional
        ``on_result(index, result)`` in the client, as each task finishes: where callers record
        results (the ledger), so that what finished is kept even if a later task never returns.

    Returns
    -------
    list
        The results in the order of ``items``; a task that raised gives a :class:`TaskFailure`.
    """
    items = list(items)
    total = len(items)
    results: list[Any] = [None] * total
    done = 0
    if client is None:
        for i, item in enumerate(items):
            results[i] = _call(fn, item, i)
            if on_result is not None:
                on_result(i, results[i])
            done += 1
            if progress is not None:
                progress(done, total)
        return results
    import uuid

    from distributed import as_completed

    token = uuid.uuid4().hex[:8]  # keys unique per call: two runs of the same tasks never share results
    futures = [
        client.submit(_call, fn, item, i, key=f"{name}-{token}-{i}", pure=False, retries=retries)
        for i, item in enumerate(items)
    ]
    index_of = {f.key: i for i, f in enumerate(futures)}
    finished = as_completed(futures, loop=client.loop)
    pending: list[Any] = futures  # the futures not yet back (set to None as they come)
    try:
        for future in finished:
            i = index_of[future.key]
            try:
                results[i] = future.result()
            except Exception as exc:  # noqa: BLE001  (the task could not run at all, e.g. workers lost beyond retries)
                results[i] = TaskFailure(i, type(exc).__name__, str(exc) or type(exc).__name__)
            pending[i] = None  # the result is here: the cluster may forget it (fits are megabytes)
            if on_result is not None:
                on_result(i, results[i])
            done += 1
            if progress is not None:
                progress(done, total)
    finally:
        client.cancel([f for f in pending if f is not None and not f.done()])
    return results
