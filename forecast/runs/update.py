"""Scheduled updates on top of :meth:`Question.fit`: ledger, idempotence, change reports, alerts, locking.

``update(question)`` is what ``forecast update`` runs:

1. take the project lock (two updates at once queue up; ``lock_timeout`` seconds, then a clear error);
2. mark runs a killed process left ``running`` as failed;
3. load and validate the files (bad input -> a ``failed`` run with the problems, nothing else);
4. fingerprint the inputs (spec + library, evidence in scope, code, sampler settings + seed, as-of);
   if any stored successful update has the same fingerprint, stop: "up to date, run <id>";
5. fit, write the posterior (NetCDF) and summary (JSON) atomically into the ledger's artefact
   folder, then record the run, its change report and the files' SHA-256 in one transaction;
6. evaluate the alert rules;
7. with ``keep``, delete the files of older runs of the question (``forecast prune``).

Like with like
--------------
The change report and the alerts compare this run with the *previous run of its series*
(:meth:`~forecast.runs.ledger.Ledger.previous_in_series`): the last successful update whose as-of
date is not later than this one's and that was not an ad-hoc backdated run (an update with
``--as-of`` before the day it ran). They compare the **rolling headline**, P(event within L
months of the as-of date) (L = ``headline_lead_months``), never P(by a fixed horizon), which
means something else on every date; when the two runs' L differ, or the previous run predates the
rolling headline, nothing is compared and the report says so. Alerts allow for Monte Carlo error:

* **move** (exit 3): ``|new - old|`` exceeds the threshold *and* twice the Monte Carlo SE of the
  difference, ``2 * sqrt(mcse_new**2 + mcse_old**2)``;
* **band** (exit 5): the ICD 203 term of the printed mean changed *and* the new mean +- 2 MCSE
  prints with that same term (the new term would not flip with another seed).

Who does what
-------------
The work is split where a cluster needs it (:func:`update_all`, ``forecast update --all --workers N``
or ``--scheduler ADDRESS``): steps 1-4 and the ``running`` row are the cheap client part
(``_begin``); the fit is the task (:func:`fit_task`, a pure function of a :class:`FitTask`: the
question's validated inputs, the as-of date, the seed and the settings), which runs in this process
or on a Dask worker; writing the artefacts, marking the run ``succeeded`` (``_finish``) and pruning
(step 7) are the client part again. Workers never touch the ledger or the artefacts.

Crash safety rests on three facts: every writer of the ledger (update, replay, prune) holds the
lock, so a row still ``running`` when the lock is taken belongs to a process that died; artefacts
are renamed into place before the transaction that marks their run ``succeeded``; and each run
writes files named after its own run id, so an interrupted run never touches the last good run's
files. Files an interrupted or failed run left are deleted by the next writer, with the lock held
(:meth:`Ledger.recover <forecast.runs.ledger.Ledger.recover>`).

Testing hook
------------
The crash-safety tests kill a real ``forecast update`` at named stages. With
``FORECAST_PAUSE_AT=<stage>[,<stage>...]`` and ``FORECAST_PAUSE_FILE=<prefix>`` in the environment
the process, on reaching a named stage, writes ``<prefix>.<stage>`` (holding its pid) and waits
until that file is removed. Stages, in order:

* ``lock-wait``: another process holds the lock; this one is about to wait for it;
* ``started``: the lock is held and the ``running`` row is inserted, nothing sampled yet;
* ``fitted``: sampling finished, no artefact written yet;
* ``saved``: the posterior and summary are renamed into place, the ledger does not yet say
  ``succeeded``.

Without ``FORECAST_PAUSE_AT`` (always, outside the tests) the hook does nothing.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import math
import os
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from forecast.core import icd203
from forecast.core.errors import InputError
from forecast.inference.fingerprint import code_fingerprint, fingerprints, item_digests
from forecast.inference.question import Question
from forecast.inputs.project import Project
from forecast.runs.changes import change_report
from forecast.runs.ledger import Ledger, default_path

EXIT_MOVE = 3
EXIT_DIAGNOSTICS = 4
EXIT_BAND = 5
EXIT_LOCKED = 6


class LockTimeout(RuntimeError):
    """Another process held the project lock longer than the lock timeout (exit code 6)."""
    pass


PAUSE_STAGES = ("lock-wait", "started", "fitted", "saved")


def _checkpoint(stage: str) -> None:
    """Testing hook: pause at ``stage`` when ``$FORECAST_PAUSE_AT`` names it (see the module docstring)."""
    wanted = os.environ.get("FORECAST_PAUSE_AT")
    if not wanted:
        return
    unknown = sorted(set(wanted.split(",")) - set(PAUSE_STAGES))
    if unknown:  # a misspelt stage would never pause, and the test waiting for it would hang
        raise RuntimeError(f"FORECAST_PAUSE_AT: unknown stage(s) {', '.join(unknown)}; stages: {', '.join(PAUSE_STAGES)}")
    if stage not in wanted.split(","):
        return
    prefix = os.environ.get("FORECAST_PAUSE_FILE")
    if not prefix:
        raise RuntimeError("FORECAST_PAUSE_AT is set but FORECAST_PAUSE_FILE (the marker file prefix) is not")
    marker = Path(f"{prefix}.{stage}")
    # write then rename, so a test that sees the marker can read the whole pid
    tmp = marker.with_name(marker.name + ".writing")
    tmp.write_text(f"{os.getpid()}\n")
    os.replace(tmp, marker)
    deadline = time.monotonic() + 600  # never hang a forgotten process forever
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete half-written artefacts (``.run-*.tmp``) that a killed run left in ``folder``.

    Only called with the lock held: every writer of run artefacts (update, replay) holds it, so no
    temp file there can belong to a live write.
    """
    removed = []
    for path in Path(folder).glob(".run-*.tmp"):
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


@contextmanager
def project_lock(ledger_path: Path, timeout: float):
    """An exclusive lock on ``<ledger>.lock`` next to the ledger, held by this process alone.

    A POSIX record lock (``fcntl.lockf``), not ``flock``: the kernel releases it when this process
    dies, even while processes it forked live on. A fit forks PyMC's chain processes, which inherit
    the open lock file; with ``flock`` a killed update's orphaned chains kept the lock, and every
    later update waited for the timeout. Never nested within one process (a second ``lockf`` on the
    same file from this process would not wait, and closing it would release the first).

    Raises
    ------
    LockTimeout
        Another process held the lock for ``timeout`` seconds.
    """
    lock_path = Path(ledger_path).with_suffix(".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock_path, "a+")
    deadline = time.monotonic() + timeout
    waiting = False
    while True:
        try:
            fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except (BlockingIOError, PermissionError):  # lockf reports a held lock as EAGAIN or EACCES
            if not waiting:
                waiting = True
                _checkpoint("lock-wait")
            if time.monotonic() >= deadline:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                fh.close()
                raise LockTimeout(f"another update holds the lock {lock_path} ({holder}); gave up after {timeout:g}s")
            time.sleep(0.2)
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        yield
    finally:
        fcntl.lockf(fh, fcntl.LOCK_UN)
        fh.close()


@dataclass
class Alert:
    """An alert rule that fired: ``rule`` (``move``, ``band`` or ``diagnostics``), its message and exit code."""
    rule: str  # "move", "band", "diagnostics"
    message: str
    exit_code: int


@dataclass
class UpdateOutcome:
    """What one update did: status (``up-to-date``, ``succeeded``, ``failed``), run id, message, ledger row,
    the run it was compared with, the fit, alerts and pruned runs.
    """
    question: str
    status: str  # "up-to-date", "succeeded", "failed"
    run_id: int | None
    message: str
    record: dict | None = None
    previous: dict | None = None
    result: object | None = None
    alerts: list[Alert] = field(default_factory=list)
    pruned: list[int] = field(default_factory=list)  # runs whose files ``keep`` deleted
    error: BaseException | None = field(default=None, repr=False)  # why a failed update failed

    @property
    def exit_code(self) -> int:
        """0 when succeeded or up to date without alerts, 1 when failed, else the smallest alert's exit code."""
        if self.status == "failed":
            return 1
        return min((a.exit_code for a in self.alerts), default=0)

    def to_dict(self) -> dict:
        """The ``--json`` line (keys documented in the README)."""
        rec = self.record or {}
        prev = self.previous or {}
        return {
            "question": self.question,
            "status": self.status,
            "run_id": self.run_id,
            "message": self.message,
            "as_of": rec.get("as_of"),
            "rolling_months": rec.get("rolling_months"),
            "rolling_until": rec.get("rolling_until"),
            "rolling": rec.get("rolling_mean"),
            "rolling_interval_90": [rec.get("rolling_lower_90"), rec.get("rolling_upper_90")],
            "rolling_mcse": rec.get("rolling_mcse"),
            "rolling_icd203": rec.get("rolling_term"),
            "headline_horizon": rec.get("headline_horizon"),
            "headline": rec.get("headline_mean"),
            "interval_90": [rec.get("headline_lower_90"), rec.get("headline_upper_90")],
            "icd203": rec.get("headline_term"),
            "previous_run_id": prev.get("id"),
            "previous_as_of": prev.get("as_of"),
            "previous_rolling": prev.get("rolling_mean"),
            "previous_headline": prev.get("headline_mean"),
            "diagnostics_passed": bool(rec.get("diagnostics_passed")) if rec else None,
            "alerts": [{"rule": a.rule, "message": a.message, "exit_code": a.exit_code} for a in self.alerts],
            "exit_code": self.exit_code,
        }


# --------------------------------------------------------------------------------------------------
# alerts


MC_SIGMAS = 2.0  # a move or a band must stand out by this many Monte Carlo SEs


def _mcse(row: dict) -> float:
    value = row.get("rolling_mcse")
    return 0.0 if value is None or not math.isfinite(value) else float(value)


def rolling_label(months: int) -> str:
    """``P(within 12 months)``: what the rolling headline is, in alerts and change reports."""
    return f"P(within {months} months)"


def comparison(record: dict, previous: dict | None) -> dict | None:
    """The rolling headlines of a run and of the previous run of its series, when they can be compared.

    Parameters
    ----------
    record, previous : dict
        Ledger rows (``previous`` from :meth:`~forecast.runs.ledger.Ledger.previous_in_series`).

    Returns
    -------
    dict or None
        ``quantity`` (in words), ``months``, ``previous_run``, ``previous_as_of``, ``old``, ``new``
        (means), ``move`` (new - old, probability), ``move_mcse`` (Monte Carlo SE of the move),
        ``old_term`` and ``new_term``; or, when the two cannot be compared, only ``quantity``
        None and ``reason``. None without a previous run.
    """
    if previous is None:
        return None
    months, old_months = record.get("rolling_months"), previous.get("rolling_months")
    reason = None
    if record.get("rolling_mean") is None or not months:
        reason = "this run has no rolling headline (headline_lead_months is 0)"
    elif previous.get("rolling_mean") is None:
        reason = f"run {previous['id']} was recorded without the rolling headline"
    elif int(old_months) != int(months):
        reason = f"run {previous['id']} forecast P(within {old_months} months), this run P(within {months} months)"
    if reason:
        return {"quantity": None, "previous_run": previous["id"], "previous_as_of": previous.get("as_of"), "reason": reason}
    old, new = float(previous["rolling_mean"]), float(record["rolling_mean"])
    return {
        "quantity": f"P(event within {months} months of the as-of date)",
        "months": int(months),
        "previous_run": previous["id"],
        "previous_as_of": previous.get("as_of"),
        "old": old,
        "new": new,
        "move": new - old,
        "move_mcse": math.hypot(_mcse(record), _mcse(previous)),
        "old_term": icd203.term(round(old, 2)),
        "new_term": icd203.term(round(new, 2)),
    }


def band_settled(mean: float, mcse: float) -> bool:
    """Whether ``mean`` +- 2 MCSE prints with the ICD 203 term of ``mean`` (the term would not flip with another seed)."""
    ends = (min(max(mean - MC_SIGMAS * mcse, 0.0), 1.0), min(max(mean + MC_SIGMAS * mcse, 0.0), 1.0))
    return len({icd203.band(round(x, 2)) for x in (*ends, mean)}) == 1


def alerts_for(record: dict, previous: dict | None, move_threshold: float | None, band: bool, diagnostics: bool) -> list[Alert]:
    """The alerts a run raises against the previous run of its series (see the module docstring).

    Parameters
    ----------
    record : dict
        The run's ledger row (``rolling_*``, ``diagnostics_passed``, ``diagnostics``).
    previous : dict, optional
        The previous run of the series.
    move_threshold : float, optional
        Alert when the rolling headline moved more than this (probability; 0.05 = 5 points).
    band : bool
        Alert when its ICD 203 term changed.
    diagnostics : bool
        Alert when the fit is flagged.

    Returns
    -------
    list of Alert
    """
    out = []
    if diagnostics and not record.get("diagnostics_passed"):
        out.append(Alert("diagnostics", "sampling diagnostics failed: " + "; ".join(record["diagnostics"].get("problems", [])), EXIT_DIAGNOSTICS))
    cmp = comparison(record, previous)
    if cmp is None or cmp["quantity"] is None:
        return out
    label = rolling_label(cmp["months"])
    old, new, move, noise = cmp["old"], cmp["new"], cmp["move"], MC_SIGMAS * cmp["move_mcse"]
    since = f"(run {cmp['previous_run']} as of {cmp['previous_as_of']}: {old:.1%} -> {new:.1%})"
    if move_threshold is not None and abs(move) > move_threshold and abs(move) > noise:
        out.append(Alert("move", f"{label} moved {100 * move:+.1f} points {since}, threshold {100 * move_threshold:.1f} points, "
                                 f"Monte Carlo SE of the move {100 * cmp['move_mcse']:.2f} points", EXIT_MOVE))
    if band and cmp["old_term"] != cmp["new_term"] and band_settled(new, _mcse(record)):
        out.append(Alert("band", f"{label} crossed an ICD 203 band: {cmp['old_term']} -> {cmp['new_term']} {since}", EXIT_BAND))
    return out


# --------------------------------------------------------------------------------------------------
# the update: a cheap client part, the fit (in this process or on a Dask worker), a client part that records


@dataclass
class FitTask:
    """The fit of one question as a task: everything a worker needs, and nothing of the project folder.

    The question's validated inputs (spec, indicator library, evidence items) travel with the task,
    so a worker needs no access to the project's files (a shared project folder works as well: the
    worker never reads it). Picklable.

    Attributes
    ----------
    question : Question
    as_of : datetime.date
    seed : int
    overrides : dict
        Sampler settings given on the command line (``draws``, ``tune``, ``chains``).
    chain_processes : int or None
        1 on a Dask worker (the chains run one after the other in the worker's process; the draws
        are the same as with parallel chains); None in this process (a limit already in force, e.g.
        the caller's, stays).
    progressbar : bool
        PyMC's progress bar (in this process only).
    """

    question: Question
    as_of: dt.date
    seed: int
    overrides: dict = field(default_factory=dict)
    chain_processes: int | None = None
    progressbar: bool = False


def fit_task(task: FitTask):
    """The worker part of an update: the fit, nothing written.

    Parameters
    ----------
    task : FitTask

    Returns
    -------
    FitResult
        Its tree carries the spec, the person-period data and the settings, so the client records
        it without the project's files.
    """
    from forecast.inference.sampling import chain_processes

    with chain_processes(task.chain_processes):
        return task.question.fit(as_of=task.as_of, seed=task.seed, progressbar=task.progressbar, **task.overrides)


@dataclass
class _Started:
    """An update whose ``running`` row is in the ledger and whose fit is to come."""

    question: Question
    as_of: dt.date
    seed: int
    kind: str
    run_id: int
    fps: dict
    base: dict | None  # the previous successful update the change report compares with
    overrides: dict
    t0: float


def _begin(project: Project, ledger: Ledger, ledger_path: Path, question_id: str, as_of: dt.date, seed: int, force: bool, kind: str,
           overrides: dict) -> "UpdateOutcome | _Started":
    """Client part before the fit (lock held, ledger recovered): load, fingerprint, up-to-date check, start row.

    Raises
    ------
    InputError, ValueError
        Bad input (a ``failed`` run recording it is in the ledger, unless the question id is not
        one of the project's questions).
    """
    from forecast.inputs.settings import SampleConfig

    t0 = time.perf_counter()
    try:
        question = Question.from_inputs(project.load(question_id))
        question.design(question.check_as_of(as_of))  # as-of after today or before the risk window, no horizon after it
    except (InputError, ValueError) as exc:
        # a failed run of a question the project has (its spec file exists) records why its
        # forecast was not updated; a misspelt or foreign id gets no row (no such question)
        if question_id in project.question_ids():
            fps = {"code": code_fingerprint()}
            run_id = ledger.start(question_id, as_of, kind, seed, fps, "")
            ledger.fail(run_id, f"bad input: {exc}", time.perf_counter() - t0)
        raise
    _remove_stale_temp_files(ledger_path.parent / question.id)  # question.id: a known file name
    config = SampleConfig.from_settings(question.spec.sampler, **overrides)
    fps, fingerprint = fingerprints(question, as_of, config, seed)
    backdated = kind == "update" and as_of < dt.date.today()
    previous = ledger.previous_in_series(question_id, as_of, backdated=backdated)
    if not force:
        # any stored update with these inputs answers this update, not only the last one
        same = ledger.find(question_id, fingerprint, kind="update" if kind == "update" else None)
        if same is not None:
            return UpdateOutcome(question_id, "up-to-date", same["id"], f"up to date, run {same['id']}", record=same, previous=same)
    run_id = ledger.start(question_id, as_of, kind, seed, fps, fingerprint, backdated=backdated)
    return _Started(question, as_of, seed, kind, run_id, fps, previous if kind == "update" else None, dict(overrides), t0)


def _finish(ledger: Ledger, started: _Started, result) -> None:
    """Client part after the fit: write the artefacts, then mark the run ``succeeded`` with its record.

    The files go to the ledger's artefact folder (:meth:`Ledger.artefact_dir
    <forecast.runs.ledger.Ledger.artefact_dir>`) and their SHA-256 into the record; if anything
    after the write fails, the files are deleted again (nothing references them).
    """
    from forecast.inference.store import load_result, save_result

    question, as_of, base = started.question, started.as_of, started.base
    paths = None
    try:
        paths = save_result(result, ledger.artefact_dir(question.id), stem=f"run-{started.run_id:06d}")
        items_now = item_digests(question, as_of)
        spec_now = {**question.spec.to_dict(), "library": question.library.model_dump(mode="json")}
        changes = change_report(base, items_now, spec_now, started.fps, as_of, later=published_after(question, as_of))
        if base is not None:
            try:
                from forecast.analysis.influence import attribute_changes

                changes["attribution"] = attribute_changes(load_result(base), result.design, changes, question)
            except Exception as exc:  # noqa: BLE001
                # An unreadable previous posterior (damaged or half-restored runs/) must not
                # fail this run: it would stay the base of every later update and fail them all.
                changes["attribution"] = []
                changes["attribution_error"] = f"previous posterior {base.get('posterior_path')} unreadable: {type(exc).__name__}: {exc}"
        record = _record(result, paths, items_now, spec_now, changes, time.perf_counter() - started.t0)
        if base is not None:
            changes["compared"] = comparison(record, base)
        _checkpoint("saved")
        ledger.succeed(started.run_id, record)
    except BaseException:
        _remove_files(paths)  # a failed run's files: nothing references them
        raise


def _succeeded(ledger: Ledger, started: _Started, result, alert_threshold, alert_band, alert_diagnostics,
               pruned: list[int] | None = None) -> "UpdateOutcome":
    """The outcome of a recorded run: its ledger row, the alerts against the previous run of its series."""
    record = ledger.get(started.run_id)
    alerts = alerts_for(record, started.base, alert_threshold, alert_band, alert_diagnostics)
    msg = f"run {started.run_id}: {result.headline_sentence()}"
    return UpdateOutcome(started.question.id, "succeeded", started.run_id, msg, record=record, previous=started.base, result=result,
                         alerts=alerts, pruned=list(pruned or []))


def update(
    question_id: str,
    as_of=None,
    seed: int = 1,
    force: bool = False,
    root: str | Path | None = None,
    ledger_path: str | Path | None = None,
    kind: str = "update",
    alert_threshold: float | None = None,
    alert_band: bool = False,
    alert_diagnostics: bool = False,
    lock_timeout: float = 600.0,
    progressbar: bool = False,
    keep: int | None = None,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    **fit_overrides,
) -> UpdateOutcome:
    """Fit ``question_id`` unless nothing changed since the last successful update; record the run.

    Parameters
    ----------
    question_id : str
    as_of : date or str, optional
        Default today.
    seed : int
    force : bool
        Fit even when a stored run of the question has the same inputs (fingerprint).
    root, ledger_path : path, optional
        The project folder and the ledger (default ``runs/ledger.sqlite``).
    kind : str
        ``"update"``, or another kind of run (compared with no earlier run: no change report, no move or band alert).
    alert_threshold, alert_band, alert_diagnostics
        The alert rules (:func:`alerts_for`).
    lock_timeout : float
        Seconds to wait for the project lock.
    progressbar : bool
        PyMC's progress bar (a fit in this process only).
    keep : int, optional
        After a succeeded or up-to-date update, delete the files of the question's older runs
        beyond the newest ``keep`` (:meth:`Ledger.prune <forecast.runs.ledger.Ledger.prune>`, as
        ``forecast prune --keep``); None keeps every file.
    client : distributed.Client, optional
        Run the fit as a task on this Dask cluster; this process still writes the ledger and the
        artefacts.
    scheduler : str, optional
        Or connect to the Dask scheduler at this address (default ``$FORECAST_SCHEDULER``).
    workers : int, optional
        Or start a local Dask cluster of this many workers (for one fit, rarely worth it).
    **fit_overrides
        ``draws``, ``tune``, ``chains`` (part of the fingerprint).

    Returns
    -------
    UpdateOutcome

    Raises
    ------
    forecast.InputError, ValueError
        Bad input (recorded as a failed run).
    LockTimeout
        Another update held the lock for ``lock_timeout`` seconds.
    forecast.core.cluster.TaskError
        The fit failed on a worker (its message is the error's own).
    """
    from forecast.core.cluster import TaskError, TaskFailure, connect, map_tasks, verify_workers
    from forecast.core.timegrid import to_date

    if keep is not None and keep < 0:
        raise ValueError(f"keep must be 0 or more, not {keep}")
    project = Project.find(root)
    ledger_path = Path(ledger_path) if ledger_path else default_path(project.root)
    as_of = to_date(as_of) if as_of is not None else dt.date.today()
    with connect(workers=workers, scheduler=scheduler, client=client) as c:
        verify_workers(c, code_fingerprint, "forecast code")
        ledger = Ledger(ledger_path)
        with project_lock(ledger_path, lock_timeout):
            ledger.recover()
            started = _begin(project, ledger, ledger_path, question_id, as_of, seed, force, kind, fit_overrides)
            if isinstance(started, UpdateOutcome):
                started.pruned = _prune(ledger, question_id, keep)
                return started
            _checkpoint("started")
            try:
                if c is None:
                    result = started.question.fit(as_of=as_of, seed=seed, progressbar=progressbar, **fit_overrides)
                else:
                    (result,) = map_tasks(fit_task, [FitTask(started.question, as_of, seed, dict(fit_overrides), chain_processes=1)], c, name="forecast-update")
                    if isinstance(result, TaskFailure):
                        raise TaskError(result)
                _checkpoint("fitted")
                _finish(ledger, started, result)
            except TaskError as exc:
                ledger.fail(started.run_id, f"{exc.error}: {exc}", time.perf_counter() - started.t0)
                raise
            except BaseException as exc:  # KeyboardInterrupt too: never leave a run 'running' if we can help it
                ledger.fail(started.run_id, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}", time.perf_counter() - started.t0)
                raise
            pruned = _prune(ledger, question_id, keep)
    return _succeeded(ledger, started, result, alert_threshold, alert_band, alert_diagnostics, pruned)


def _prune(ledger: Ledger, question_id: str, keep: int | None) -> list[int]:
    """With ``keep``, delete the files of the question's runs older than the newest ``keep`` (lock held)."""
    return ledger.prune(question_id, keep).pruned if keep is not None else []


def _remove_files(paths: dict | None) -> None:
    """Delete the files :func:`~forecast.inference.store.save_result` wrote (best effort)."""
    for key in ("posterior", "summary"):
        if paths and paths.get(key):
            Path(paths[key]).unlink(missing_ok=True)


def published_after(question, as_of: dt.date) -> list[str]:
    """Items of ``question`` in its evidence files that are published after ``as_of`` (not yet known then)."""
    from forecast.model.design import items_for_question

    return sorted(li.item.id for li in items_for_question(question.spec, question.evidence) if li.item.published > as_of)


def rolling_record(result) -> dict:
    """The ledger's ``rolling_*`` columns of a fit (all None when it has no rolling headline)."""
    r = result.rolling()
    keys = ("months", "until", "mean", "lower_50", "upper_50", "lower_90", "upper_90", "mcse")
    if r is None:
        return {f"rolling_{k}": None for k in (*keys, "term")}
    return {**{f"rolling_{k}": r[k] for k in keys}, "rolling_term": r["icd203"]}


def _record(result, paths: dict, items_now: dict, spec_now: dict, changes: dict, seconds: float) -> dict:
    table = result.summary()
    head = table[table["headline"]]
    row = head.iloc[0] if len(head) else None
    summary = result.to_summary_dict()
    return {
        **rolling_record(result),
        "versions": result.versions,
        "headline_horizon": result.headline.isoformat() if result.headline else None,
        "headline_mean": float(row["mean"]) if row is not None else None,
        "headline_lower_90": float(row["lower_90"]) if row is not None else None,
        "headline_upper_90": float(row["upper_90"]) if row is not None else None,
        "headline_term": row["icd203"] if row is not None else None,
        "horizons": summary["horizons"],
        "diagnostics_passed": result.diagnostics.passed,
        "diagnostics": result.diagnostics.to_dict(),
        "evidence_items": items_now,
        "spec_snapshot": spec_now,
        "changes": changes,
        "posterior_path": str(paths["posterior"]),
        "summary_path": str(paths["summary"]),
        "posterior_sha256": paths.get("posterior_sha256"),
        "summary_sha256": paths.get("summary_sha256"),
        "wall_seconds": seconds,
    }


def update_all(
    question_ids=None,
    as_of=None,
    seed: int = 1,
    force: bool = False,
    root: str | Path | None = None,
    ledger_path: str | Path | None = None,
    alert_threshold: float | None = None,
    alert_band: bool = False,
    alert_diagnostics: bool = False,
    lock_timeout: float = 600.0,
    progressbar: bool = False,
    keep: int | None = None,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress=None,
    on_outcome=None,
    on_connect=None,
    **fit_overrides,
) -> list[UpdateOutcome]:
    """``update`` every question (each skipped when its inputs did not change), one fit per task.

    This process takes the project lock for the whole batch, recovers runs a killed process left
    ``running``, loads and fingerprints every question and starts a ``running`` row for each one
    that needs a fit (the cheap client part). The fits are tasks
    (:func:`forecast.core.cluster.map_tasks`): in this process one after another, or on a Dask
    cluster, one task per question. As each fit comes back this process writes its artefacts and
    marks its run ``succeeded`` (the client alone writes the ledger). A worker that dies loses only
    its task, which Dask runs again elsewhere; a run is recorded when its result arrives, once. A
    killed client leaves ``running`` rows that the next update marks failed ("interrupted").

    Parameters
    ----------
    question_ids : list of str, optional
        Default every question in ``models/``.
    as_of, seed, force, root, ledger_path, alert_threshold, alert_band, alert_diagnostics, lock_timeout
        As for :func:`update`; the seed is each question's own (a task's numbers do not depend on
        where it runs).
    progressbar : bool
        PyMC's progress bar for fits run in this process.
    keep : int, optional
        As for :func:`update`: after each question's succeeded or up-to-date update, delete the
        files of its runs older than the newest ``keep`` (this process, lock held).
    client : distributed.Client, optional
        Run the fits on this Dask cluster.
    scheduler : str, optional
        Or connect to the Dask scheduler at this address (default ``$FORECAST_SCHEDULER``).
    workers : int, optional
        Or start a local Dask cluster of this many worker processes.
    progress : callable, optional
        ``progress(done, total)`` as fits finish (``total`` counts the fits, not the questions up
        to date).
    on_outcome : callable, optional
        ``on_outcome(outcome)`` as each question's outcome is known (up to date and bad input
        first, fits as they finish).
    on_connect : callable, optional
        ``on_connect(client)`` once connected (``client`` None in this process), before the lock.
    **fit_overrides
        ``draws``, ``tune``, ``chains``.

    Returns
    -------
    list of UpdateOutcome
        In the order of ``question_ids``. A question that failed (bad input, a failed fit) has
        status ``"failed"`` and the error in ``.error``; the others are not affected.

    Raises
    ------
    LockTimeout
        Another update held the lock for ``lock_timeout`` seconds (nothing was done).
    forecast.runs.ledger.LedgerError
        The ledger is not a usable database.
    forecast.core.cluster.ClusterError
        The scheduler cannot be reached, or its workers run other code.
    """
    from forecast.core.cluster import TaskFailure, connect, map_tasks, verify_workers
    from forecast.core.timegrid import to_date

    if keep is not None and keep < 0:
        raise ValueError(f"keep must be 0 or more, not {keep}")
    project = Project.find(root)
    ids = list(question_ids) if question_ids is not None else project.question_ids()
    ledger_path = Path(ledger_path) if ledger_path else default_path(project.root)
    as_of = to_date(as_of) if as_of is not None else dt.date.today()
    outcomes: dict[str, UpdateOutcome] = {}

    def emit(outcome: UpdateOutcome) -> None:
        outcomes[outcome.question] = outcome
        if on_outcome is not None:
            on_outcome(outcome)

    with connect(workers=workers, scheduler=scheduler, client=client) as c:
        verify_workers(c, code_fingerprint, "forecast code")
        if on_connect is not None:
            on_connect(c)
        ledger = Ledger(ledger_path)
        with project_lock(ledger_path, lock_timeout):
            ledger.recover()
            started: list[_Started] = []
            for qid in ids:
                try:
                    begun = _begin(project, ledger, ledger_path, qid, as_of, seed, force, "update", fit_overrides)
                except (InputError, ValueError) as exc:
                    emit(UpdateOutcome(qid, "failed", None, str(exc), error=exc))
                    continue
                if isinstance(begun, UpdateOutcome):
                    begun.pruned = _prune(ledger, qid, keep)
                    emit(begun)
                else:
                    started.append(begun)
            if started:
                _checkpoint("started")
            tasks = [FitTask(s.question, as_of, seed, dict(fit_overrides), chain_processes=1 if c is not None else None,
                             progressbar=progressbar and c is None) for s in started]
            open_runs = {s.run_id for s in started}

            def record(i: int, result) -> None:
                s = started[i]
                try:
                    if isinstance(result, TaskFailure):
                        raise _Failed(f"{result.error}: {result.message}")
                    _checkpoint("fitted")
                    _finish(ledger, s, result)
                except Exception as exc:  # noqa: BLE001  (one question's failure does not stop the others)
                    message = str(exc) if isinstance(exc, _Failed) else f"{type(exc).__name__}: {exc}"
                    ledger.fail(s.run_id, message, time.perf_counter() - s.t0)
                    open_runs.discard(s.run_id)
                    emit(UpdateOutcome(s.question.id, "failed", s.run_id, message, error=exc))
                    return
                open_runs.discard(s.run_id)
                emit(_succeeded(ledger, s, result, alert_threshold, alert_band, alert_diagnostics, _prune(ledger, s.question.id, keep)))

            try:
                map_tasks(fit_task, tasks, c, progress=progress, on_result=record, name="forecast-update")
            except BaseException as exc:  # Ctrl-C: the runs not recorded yet did not finish
                for run_id in sorted(open_runs):
                    ledger.fail(run_id, f"interrupted: {type(exc).__name__} in the process that started the run")
                raise
    return [outcomes[qid] for qid in ids]


class _Failed(RuntimeError):
    """A fit that failed on a worker (message: the error's class and its own message)."""


def history(question_id: str | None = None, root=None, ledger_path=None, kind: str | None = None):
    """The ledger's runs as a DataFrame (oldest first)."""
    project = Project.find(root)
    return Ledger(Path(ledger_path) if ledger_path else default_path(project.root), readonly=True).history(question_id, kind)
