r"""Replay: the forecast as it would have been made at each past date.

Each point uses as-of semantics (only evidence published by then, survival up to then) and is
stored in the ledger as a ``replay`` run. A replay does not pay for N cold fits.

**One compiled model.** Every point lives on the month grid and item list of the *last* point.
Months after a point's as-of date carry no exposure and no evidence, so their random-walk steps are
pure prior and leave the posterior of everything else unchanged; evidence not yet published at a
point enters with an SD of 1e6 (a likelihood flat to 1e-12). Shapes are then identical at every
point: the data are swapped with ``pm.set_data`` and one compiled model (:mod:`forecast.inference.sampling`:
one compiled log density and gradient) serves every fit, and the prior is sampled once.

**Anchors and importance reweighting.** Consecutive points differ by a month of survival and the
few items published in between. The posterior at point :math:`t` is the posterior at an earlier
*anchor* :math:`a` times the likelihood ratio of their data,

.. math::

    p(\theta \mid y_t) \propto p(\theta \mid y_a)\,
    \frac{p(y_t \mid \theta)}{p(y_a \mid \theta)},

where :math:`\theta` includes the anchor's latent paths on the whole grid (after :math:`a` they are
draws from the random-walk prior, exactly what the months after :math:`a` need). The log ratio is the
survival of the months between the two dates plus the newly published items: the model's own
log-likelihood of each point's data on the anchor's draws (:mod:`forecast.model.likelihood`, compiled
once from the PyMC graph). The weights are Pareto-smoothed (:mod:`forecast.inference.importance`) and
a point is accepted only when the Pareto :math:`\hat k \le 0.7`, the
importance ESS is at least half the number of draws, and the importance-sampling MCSE of the
headline and of the rolling headline (P(event within L months)) are each within the spec's
``headline_mcse`` threshold (or, when the anchor itself misses that threshold, within 1.5 times
the anchor's MCSE); otherwise NUTS runs at that point and it becomes the next anchor. The accepted
weights resample the anchor's draws (systematic resampling, seeded), so each stored point is an
ordinary equal-weight posterior. Its diagnostics are the anchor's r_hat / ESS / divergences plus
:math:`\hat k`, the importance ESS and the importance MCSEs of the headline and the rolling
headline (``diagnostics.importance``); the ledger's ``rolling_mcse`` of such a point is the
importance MCSE.

**Every point a clean fit.** Anchors run 4 chains x 1000 draws after 500 tuning steps (measured
on ``belarus-entry``: with 2 chains x 1000 draws no point of a 44-point replay passed, and with 4
x 500 neither anchor of the 24-point benchmark did, each on an r_hat above 1.01) with the update's
target acceptance, on the same cores as an update, and a point's diagnostics apply the
update's thresholds to the same quantities an update of that date has: the random-walk steps of the months up to the point's as-of date. The steps of
the months after it exist only because every point shares the last point's grid; nothing observes
them, so their posterior is their N(0, 1) prior, and they are not part of the point's fit
(:func:`point_view`).

**Stored points are reused**: a point whose fingerprint is already in the ledger is not refitted
(unless its files fail their checksum or are missing: it is then recomputed, and its ``why`` says so;
a point whose files were pruned is reused from its numbers in the ledger).
Replay points store the scalar parameters, ``log_rate`` and the forecast, not the latent paths
(``level``, ``innovation``), which keeps a point's NetCDF small; ``forecast update --as-of`` gives the
full posterior of any date.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forecast.core.timegrid import month_ends, parse_month
from forecast.inference.fingerprint import fingerprints, item_digests, package_versions
from forecast.inference.question import Question
from forecast.inputs.project import Project
from forecast.inputs.settings import SampleConfig
from forecast.model.design import make_design
from forecast.model.likelihood import design_data, padded_data
from forecast.model.prediction import STREAM_VARIABLE
from forecast.runs.ledger import Ledger, default_path

# anchors: 4 chains x 1000 draws (the importance-reweighted points in between resample these draws)
REPLAY_SETTINGS = dict(draws=1000, tune=500, chains=4)
PARETO_K_MAX = 0.7
# and the weights must keep at least half the anchor's draws' worth of information: a point that
# moved far from its anchor (several new items at once) is better fitted afresh
MIN_IS_EFFICIENCY = 0.5
METHOD = "anchors+psis-v2"  # part of the replay's sampler fingerprint
PATH_VARIABLES = ("level", "innovation")  # not stored for replay points


@dataclass
class ReplayPoint:
    """One point of a replay: how it was made and its headline (a row of :func:`replay`'s table)."""

    as_of: dt.date
    run_id: int
    reused: bool
    method: str  # "nuts" (an anchor), "reweighted" or "stored"
    why: str
    headline_horizon: str | None
    headline_mean: float | None
    lower_90: float | None
    upper_90: float | None
    rolling_months: int | None  # the rolling headline, P(event within L months of as-of)
    rolling_mean: float | None
    rolling_lower_90: float | None
    rolling_upper_90: float | None
    rolling_mcse: float | None
    rolling_term: str | None
    diagnostics_passed: bool
    seconds: float

    @classmethod
    def of(cls, as_of: dt.date, run_id: int, record: dict, reused: bool, method: str, why: str, seconds: float) -> "ReplayPoint":
        """The point of a ledger row (stored) or of the record just written."""
        return cls(as_of, run_id, reused, method, why, record.get("headline_horizon"),
                   record.get("headline_mean"), record.get("headline_lower_90"), record.get("headline_upper_90"),
                   record.get("rolling_months"), record.get("rolling_mean"), record.get("rolling_lower_90"), record.get("rolling_upper_90"),
                   record.get("rolling_mcse"), record.get("rolling_term"), bool(record.get("diagnostics_passed")), seconds)


def replay(
    question_id: str,
    start,
    end,
    every: str = "month",
    seed: int = 1,
    root=None,
    ledger_path=None,
    force: bool = False,
    progress=None,
    reweight: bool = True,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    **sampler,
):
    """The forecast of ``question_id`` as it would have been made at the end of every month from ``start`` to ``end``.

    Parameters
    ----------
    question_id : str
        A question of the project.
    start, end : str or datetime.date
        ``"2022-03"`` (the month's first / last day) or a date; month ends in between (and inside
        the risk window) are the points.
    every : {"month"}
        Spacing of the points.
    seed : int
        Seed of every NUTS fit (``seed + i`` at point ``i``), of the prior (``seed + 1``), of the
        future paths and of the resampling.
    root : path, optional
        The project folder (default: found from the working directory).
    ledger_path : path, optional
        Default ``runs/ledger.sqlite`` in the project.
    force : bool
        Recompute points already stored with the same fingerprint.
    progress : bool or callable, optional
        ``progress(i, n, point)`` after each point; ``True`` draws a progress bar (the default in
        a notebook), ``False`` nothing. Not called for a replay run on a cluster.
    reweight : bool
        False: NUTS at every point (each point an anchor).
    client : distributed.Client, optional
        Compute the replay as one task on this Dask cluster (:func:`replay_all`); this process
        writes the ledger and the artefacts when it comes back.
    scheduler : str, optional
        Or the address of a Dask scheduler (default ``$FORECAST_SCHEDULER``).
    workers : int, optional
        Or a local Dask cluster of this many workers.
    **sampler
        ``draws``, ``tune``, ``chains``, ``future_paths``... of the anchors (default
        :data:`REPLAY_SETTINGS` over the spec's ``sampler``).

    Returns
    -------
    pandas.DataFrame
        One row per point (the fields of :class:`ReplayPoint`); each computed point is also a
        ``replay`` run in the ledger.

    Raises
    ------
    ValueError
        ``every`` is not ``"month"``, or no month end lies between ``start`` and ``end`` inside the
        risk window and on or before today, or the question has no horizon after the last point.
    forecast.InputError
        The question's files are invalid.
    forecast.core.cluster.TaskError
        The replay failed on a worker (its message is the error's own).
    """
    from forecast.core.cluster import scheduler_address

    if client is not None or workers is not None or scheduler_address(scheduler) is not None:
        from forecast.core.cluster import TaskError, TaskFailure

        (outcome,) = replay_all([question_id], start, end, every=every, seed=seed, root=root, ledger_path=ledger_path, force=force,
                                reweight=reweight, client=client, scheduler=scheduler, workers=workers, **sampler)
        if outcome.status == "failed":
            if isinstance(outcome.error, BaseException) and not isinstance(outcome.error, _Failed):
                raise outcome.error
            kind = outcome.error_type or "Error"
            raise TaskError(TaskFailure(0, kind, outcome.message.removeprefix(f"{kind}: ")))
        return outcome.table

    return _replay_here(question_id, start, end, every, seed, root, ledger_path, force, progress, reweight, sampler)


def _replay_here(question_id, start, end, every, seed, root, ledger_path, force, progress, reweight, sampler):
    """:func:`replay` in this process: each point recorded as soon as it is computed."""
    from forecast.core.progress import bar, interactive

    if progress is None or isinstance(progress, bool):
        with bar(f"replaying {question_id}", enabled=interactive() if progress is None else progress) as tick:
            return _replay_here(question_id, start, end, every, seed, root, ledger_path, force,
                                lambda i, n, point: tick(i, n, str(point.as_of)), reweight, sampler)

    import pandas as pd

    from forecast.runs.update import project_lock

    project = Project.find(root)
    ledger_path = Path(ledger_path) if ledger_path else default_path(project.root)
    ledger = Ledger(ledger_path)
    question = Question.from_inputs(project.load(question_id))
    plan = _plan(question, start, end, every, seed, reweight, sampler)
    with project_lock(ledger_path, 600):
        ledger.recover()
        sink = _LedgerSink(ledger, ledger_path, question, force)
        rows = _replay_points(plan, sink, progress)
    return pd.DataFrame([r.__dict__ for r in rows])


@dataclass
class _Plan:
    """What a replay of one question computes: the question, its points and settings (picklable)."""

    question: Question
    points: list[dt.date]
    config: SampleConfig
    fp_config: "_MethodTagged"
    seed: int
    reweight: bool

    def fingerprints(self, i: int) -> tuple[dict, str]:
        return fingerprints(self.question, self.points[i], self.fp_config, self.seed)


def _plan(question: Question, start, end, every: str, seed: int, reweight: bool, sampler: dict) -> _Plan:
    """The points and settings of a replay (cheap; raises ValueError for an empty or bad range)."""
    from forecast.core.timegrid import to_date

    if every != "month":
        raise ValueError("replay --every supports 'month'")
    start = to_date(start) if not isinstance(start, str) else parse_month(start)
    end = to_date(end) if not isinstance(end, str) else parse_month(end, end=True)
    today = dt.date.today()  # a replay stops at the last month end that has passed
    points = [d for d in month_ends(start, end) if question.spec.risk_window_start <= d <= today]
    if not points:
        raise ValueError(f"no month end between {start} and {end} inside the risk window and on or before today ({today})")
    question.check_as_of(points[-1], today)  # a horizon after the last point, or the fix to make
    config = SampleConfig.from_settings(question.spec.sampler, **{**REPLAY_SETTINGS, **sampler})
    fp_config = _MethodTagged(config, METHOD if reweight else "nuts")  # the sampler fingerprint names the method
    return _Plan(question, points, config, fp_config, seed, reweight)


class _LedgerSink:
    """Where a replay in this process puts its points: straight into the ledger and the artefacts."""

    def __init__(self, ledger: Ledger, ledger_path: Path, question: Question, force: bool):
        self.ledger, self.ledger_path, self.question, self.force = ledger, ledger_path, question, force
        self.spec_now = {**question.spec.to_dict(), "library": question.library.model_dump(mode="json")}

    def stored(self, i: int, fingerprint: str) -> tuple[dict | None, str | None]:
        return _stored_point(self.ledger, self.question.id, fingerprint, self.force)

    def start(self, i: int, as_of: dt.date, fps: dict, fingerprint: str, seed: int) -> int:
        return self.ledger.start(self.question.id, as_of, "replay", seed, fps, fingerprint)

    def done(self, i: int, run_id: int, tree, changes: dict, t0: float) -> dict:
        return _save_point(self.ledger, self.ledger_path, self.question, self.spec_now, run_id, tree, changes, time.perf_counter() - t0)

    def fail(self, run_id: int, message: str, seconds: float) -> None:
        self.ledger.fail(run_id, message, seconds)


def _stored_point(ledger: Ledger, question_id: str, fingerprint: str, force: bool) -> tuple[dict | None, str | None]:
    """The stored run a point reuses (None with ``force``), and why a stored run is not reused.

    A stored run whose files are damaged or missing (:func:`_unusable`) is recomputed rather than
    trusted: ``(None, reason)``.
    """
    row = None if force else ledger.find(question_id, fingerprint)
    unusable = _unusable(row)
    return (None, unusable) if unusable else (row, None)


def _save_point(ledger: Ledger, ledger_path: Path, question: Question, spec_now: dict, run_id: int, tree, changes: dict, seconds: float) -> dict:
    """Write a point's artefacts into the ledger's artefact folder, then mark its run ``succeeded``; returns its record.

    If anything after the write fails the files are deleted again (the caller marks the run failed).
    """
    from forecast.inference.result import FitResult
    from forecast.inference.store import save_result
    from forecast.runs.update import _record, _remove_files

    result = FitResult.from_tree(tree)
    paths = None
    try:
        paths = save_result(result, ledger.artefact_dir(question.id), stem=f"run-{run_id:06d}")
        record = _record(result, paths, item_digests(question, result.as_of), spec_now, changes, seconds)
        ledger.succeed(run_id, record)
    except BaseException:
        _remove_files(paths)
        raise
    return record


def _replay_points(plan: _Plan, sink, progress=None) -> list[ReplayPoint]:
    """The replay's points, one after the other: stored ones reused, the others fitted or reweighted.

    ``sink`` says which points are stored, hands out run ids and keeps each computed point
    (:class:`_LedgerSink` in this process; a worker's sink keeps them for the client).
    """
    import xarray as xr

    from forecast.inference.diagnostics import SamplingDiagnostics, check_sampling
    from forecast.inference.importance import psis, resample_draws
    from forecast.inference.result import annotate, headline_horizon
    from forecast.inference.sampling import chain_cores, compiled_model, sample_posterior, sample_prior
    from forecast.model.prediction import add_forecast

    question, points, config, fp_config, seed, reweight = plan.question, plan.points, plan.config, plan.fp_config, plan.seed, plan.reweight
    full = make_design(question.spec, question.library, question.evidence, points[-1], sources=getattr(question, "sources", None))
    thresholds = question.spec.thresholds
    cores = chain_cores(config.chains, config.cores)  # as an update (one process on a worker: chain_processes)
    lead = question.spec.headline_lead_months
    loglik = None

    def log_lik(posterior, data):
        """log p(a point's data | each draw) on the full grid: (chain, draw)."""
        nonlocal loglik
        if loglik is None:
            loglik = compiled_model(full).log_likelihood
        return loglik.total(posterior, {**design_data(full), **data})

    rows: list[ReplayPoint] = []
    prior = None  # sampled once, on the full grid
    anchor = None  # dict: posterior (Dataset, no forecast), groups, loglik, diagnostics, run_id, as_of
    for i, as_of in enumerate(points):
        t0 = time.perf_counter()
        fps, fingerprint = plan.fingerprints(i)
        stored, unusable = sink.stored(i, fingerprint)
        if stored is not None:
            rows.append(ReplayPoint.of(as_of, stored["id"], stored, True, "stored", "stored with the same fingerprint", 0.0))
            if progress:
                progress(i + 1, len(points), rows[-1])
            continue
        point = make_design(question.spec, question.library, question.evidence, as_of, sources=getattr(question, "sources", None))
        data = padded_data(point, full)
        future = [h for h in question.spec.horizons if h > as_of]
        head = headline_horizon(question.spec, future, as_of)
        head_index = future.index(head) if head else None
        if prior is None:
            prior = sample_prior(full, draws=config.prior_draws, seed=seed + 1)
        run_id = sink.start(i, as_of, fps, fingerprint, seed)
        try:
            idata = diag = None
            method, why = "nuts", "first point" if anchor is None else "reweighting disabled"
            if reweight and anchor is not None:
                post = anchor["posterior"]
                weights = psis(log_lik(post, data) - anchor["loglik"])
                khat, ess_is = weights.pareto_k, weights.ess
                candidate = xr.DataTree.from_dict({"posterior": post, "prior": prior["prior"].to_dataset()})
                add_forecast(candidate, point, question.spec.horizons, config.future_paths, seed, lead_months=lead)
                cpost = candidate["posterior"].to_dataset()
                mcse = rolling_mcse = float("nan")
                if head_index is not None:
                    mcse = weights.mcse(cpost["p_event_by"].isel(horizon=head_index).values)
                if "p_event_within" in cpost.data_vars:
                    rolling_mcse = weights.mcse(cpost["p_event_within"].values)
                # a new anchor when the weights are unreliable, or when they cost precision that a
                # fresh fit would win back (an anchor that itself misses the MCSE threshold is not
                # refitted at every point: the next fit, with the same settings, would miss it too)
                mcse_ok = head_index is None or mcse <= max(thresholds.headline_mcse, 1.5 * anchor["diagnostics"].headline_mcse)
                rolling_ok = not np.isfinite(rolling_mcse) or rolling_mcse <= max(thresholds.headline_mcse, 1.5 * anchor["rolling_mcse"])
                efficient = ess_is >= MIN_IS_EFFICIENCY * weights.n_draws
                why = (f"Pareto k-hat {khat:.2f} > {PARETO_K_MAX}" if khat > PARETO_K_MAX
                       else f"importance ESS {ess_is:.0f} < {MIN_IS_EFFICIENCY:.0%} of {weights.n_draws} draws" if not efficient
                       else f"importance MCSE {mcse:.4f} > {thresholds.headline_mcse}" if not mcse_ok
                       else f"importance MCSE of the rolling headline {rolling_mcse:.4f} > {thresholds.headline_mcse}")
                if khat <= PARETO_K_MAX and efficient and mcse_ok and rolling_ok:
                    why = f"reweighted from run {anchor['run_id']} ({anchor['as_of']}), k-hat {khat:.2f}, importance ESS {ess_is:.0f}"
                    method = "reweighted"
                    index = weights.resample(np.random.default_rng([seed, i]))
                    if STREAM_VARIABLE not in cpost.data_vars:  # each draw keeps the future paths its forecast was computed with
                        cpost[STREAM_VARIABLE] = (("chain", "draw"), np.arange(index.size).reshape(cpost.sizes["chain"], cpost.sizes["draw"]))
                    groups = {**anchor["groups"], "posterior": resample_draws(cpost, index), "prior": candidate["prior"].to_dataset()}
                    idata = xr.DataTree.from_dict(groups)
                    a = anchor["diagnostics"]
                    problems = [q for q in a.problems if not q.startswith("headline MCSE")]
                    if head_index is not None and not mcse <= thresholds.headline_mcse:
                        problems.append(f"headline MCSE {mcse:.4f} > {thresholds.headline_mcse}")
                    diag = SamplingDiagnostics(
                        passed=not problems, r_hat_max=a.r_hat_max, ess_bulk_min=a.ess_bulk_min, ess_tail_min=a.ess_tail_min,
                        divergences=a.divergences, headline_mcse=mcse, n_draws=a.n_draws, problems=problems,
                        ebfmi_min=a.ebfmi_min, max_treedepth_share=a.max_treedepth_share,
                        importance={"anchor_run": anchor["run_id"], "anchor_as_of": anchor["as_of"].isoformat(),
                                    "pareto_k": khat, "ess": ess_is,
                                    "rolling_mcse": rolling_mcse if np.isfinite(rolling_mcse) else None},
                    )
            if idata is None:
                idata = sample_posterior(full, data=data, draws=config.draws, tune=config.tune, chains=config.chains, seed=seed + i,
                                         target_accept=config.target_accept, cores=cores)
                for name in ("prior", "prior_predictive"):
                    idata[name] = prior[name]
                anchor_post = idata["posterior"].to_dataset()
                add_forecast(idata, point, question.spec.horizons, config.future_paths, seed, lead_months=lead)
                diag = check_sampling(point_view(idata, point), head_index, thresholds)
                anchor = {"posterior": anchor_post, "loglik": log_lik(anchor_post, data), "diagnostics": diag, "run_id": run_id, "as_of": as_of,
                          "rolling_mcse": _rolling_mcse(idata),
                          "groups": {n: idata[n].to_dataset() for n in idata.children if n not in ("posterior", "prior")}}
            idata = _slim(idata)
            annotate(idata, spec=question.spec, design=point, config=fp_config.to_dict(), seed=seed, n_paths=config.future_paths,
                     fingerprints={**fps, "combined": fingerprint}, versions=package_versions(), diagnostics=diag, headline=head,
                     seconds=time.perf_counter() - t0)
            if unusable:
                why += f"; recomputed: {unusable}"
            record = sink.done(i, run_id, idata, {"replay": True, "method": method, "why": why}, t0)
        except BaseException as exc:
            sink.fail(run_id, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)
            raise
        rows.append(ReplayPoint.of(as_of, run_id, record, False, method, why, time.perf_counter() - t0))
        if progress:
            progress(i + 1, len(points), rows[-1])
    return rows


# --------------------------------------------------------------------------------------------------
# many questions: one task per question's replay


@dataclass
class ReplayOutcome:
    """The replay of one question in :func:`replay_all`.

    Attributes
    ----------
    question : str
    status : {"succeeded", "failed"}
    table : pandas.DataFrame or None
        The points (as :func:`replay` returns them); None when the replay failed before any.
    message : str
        What went wrong for a failed replay (the error's own message), else a one-line summary.
    error : BaseException, optional
        The exception of a failed replay (for bad input, its problems).
    error_type : str, optional
        Class name of the error (also for errors raised on a worker).
    """

    question: str
    status: str
    table: object | None
    message: str
    error: BaseException | None = None
    error_type: str | None = None


class _Failed(RuntimeError):
    """A replay that failed on a worker."""


@dataclass
class ReplayTask:
    """One question's replay as a task: the plan, the points already stored and the run ids the
    client started for the others (the worker writes nothing)."""

    plan: _Plan
    stored: dict[int, dict]
    run_ids: dict[int, int]
    recompute: dict[int, str] = field(default_factory=dict)  # stored points whose files are damaged or missing: why


@dataclass
class _ComputedPoint:
    index: int
    run_id: int
    tree: object
    changes: dict
    seconds: float


@dataclass
class ReplayTaskResult:
    """What a worker sends back: the computed points (trees), the table and, if it stopped, why."""

    points: list[_ComputedPoint]
    rows: list[ReplayPoint]
    error_type: str | None = None
    error: str | None = None


class _CollectingSink:
    """A worker's sink: stored points and run ids come from the task, computed points are kept."""

    def __init__(self, task: ReplayTask):
        self.task = task
        self.points: list[_ComputedPoint] = []

    def stored(self, i: int, fingerprint: str) -> tuple[dict | None, str | None]:
        return self.task.stored.get(i), self.task.recompute.get(i)

    def start(self, i: int, as_of: dt.date, fps: dict, fingerprint: str, seed: int) -> int:
        return self.task.run_ids[i]

    def done(self, i: int, run_id: int, tree, changes: dict, t0: float) -> dict:
        from forecast.inference.result import FitResult
        from forecast.runs.update import _record

        seconds = time.perf_counter() - t0
        self.points.append(_ComputedPoint(i, run_id, tree, changes, seconds))
        return _record(FitResult.from_tree(tree), {"posterior": "", "summary": ""}, {}, {}, changes, seconds)

    def fail(self, run_id: int, message: str, seconds: float) -> None:
        pass  # the client records the failure


def replay_task(task: ReplayTask) -> ReplayTaskResult:
    """The worker part of a replay: every point of one question, nothing written.

    A failure at a point keeps the points computed before it (the client records them).
    """
    from forecast.inference.sampling import chain_processes

    sink = _CollectingSink(task)
    rows: list[ReplayPoint] = []
    try:
        with chain_processes(1):
            rows = _replay_points(task.plan, sink, progress=lambda i, n, point: rows.append(point))
    except Exception as exc:  # noqa: BLE001  (reported with the points computed so far)
        return ReplayTaskResult(sink.points, rows, type(exc).__name__, str(exc))
    return ReplayTaskResult(sink.points, rows)


STORED_FIELDS = ("id", "headline_horizon", "headline_mean", "headline_lower_90", "headline_upper_90", "rolling_months", "rolling_mean",
                 "rolling_lower_90", "rolling_upper_90", "rolling_mcse", "rolling_term", "diagnostics_passed")


def replay_all(
    question_ids=None,
    start=None,
    end=None,
    every: str = "month",
    seed: int = 1,
    root=None,
    ledger_path=None,
    force: bool = False,
    reweight: bool = True,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    lock_timeout: float = 600.0,
    progress=None,
    on_outcome=None,
    on_connect=None,
    **sampler,
) -> list[ReplayOutcome]:
    """Replay several questions over the same months, one task per question.

    In this process (no cluster) each question is :func:`replay` in turn. On a Dask cluster this
    process holds the project lock, finds the points already stored, starts a ``running`` replay
    run for every other point and sends each question's replay to a worker as one task (its
    validated inputs travel with it: the worker needs no project folder). When a replay comes back,
    this process writes its points' artefacts and marks their runs ``succeeded`` (the client alone
    writes the ledger); a point that failed, and the points after it, are marked ``failed``. A
    killed client leaves ``running`` rows that the next run marks failed ("interrupted"). The
    numbers are those of :func:`replay`: the same code computes the points, seeded by their index.

    Parameters
    ----------
    question_ids : list of str, optional
        Default every question in ``models/``.
    start, end, every, seed, root, ledger_path, force, reweight, **sampler
        As for :func:`replay`.
    client : distributed.Client, optional
        Run the replays on this Dask cluster.
    scheduler : str, optional
        Or connect to the Dask scheduler at this address (default ``$FORECAST_SCHEDULER``).
    workers : int, optional
        Or start a local Dask cluster of this many worker processes.
    lock_timeout : float
        Seconds to wait for the project lock (on a cluster).
    progress : callable, optional
        ``progress(done, total)`` as questions finish.
    on_outcome : callable, optional
        ``on_outcome(outcome)`` as each question's replay is known.
    on_connect : callable, optional
        ``on_connect(client)`` once connected (``client`` None in this process).

    Returns
    -------
    list of ReplayOutcome
        In the order of ``question_ids``; one failing question does not stop the others.

    Raises
    ------
    forecast.core.cluster.ClusterError
        The scheduler cannot be reached, or its workers run other code.
    """
    import pandas as pd

    from forecast.core.cluster import TaskFailure, connect, map_tasks, verify_workers
    from forecast.core.errors import InputError
    from forecast.inference.fingerprint import code_fingerprint
    from forecast.runs.update import project_lock

    if start is None or end is None:
        raise ValueError("replay_all needs start and end (e.g. '2022-03', '2024-09')")
    project = Project.find(root)
    ids = list(question_ids) if question_ids is not None else project.question_ids()
    ledger_path = Path(ledger_path) if ledger_path else default_path(project.root)
    outcomes: dict[str, ReplayOutcome] = {}

    def emit(outcome: ReplayOutcome) -> None:
        outcomes[outcome.question] = outcome
        if on_outcome is not None:
            on_outcome(outcome)

    def summary(table) -> str:
        counts = table["method"].value_counts()
        return (f"{len(table)} points: {int(counts.get('nuts', 0))} NUTS fits (anchors), {int(counts.get('reweighted', 0))} reweighted, "
                f"{int(counts.get('stored', 0))} stored")

    def failed(qid: str, exc: BaseException) -> ReplayOutcome:
        message = str(exc) if isinstance(exc, (InputError, ValueError)) else f"{type(exc).__name__}: {exc}"
        return ReplayOutcome(qid, "failed", None, message, error=exc, error_type=type(exc).__name__)

    with connect(workers=workers, scheduler=scheduler, client=client) as c:
        verify_workers(c, code_fingerprint, "forecast code")
        if on_connect is not None:
            on_connect(c)
        if c is None:
            for n, qid in enumerate(ids):
                try:
                    table = _replay_here(qid, start, end, every, seed, project.root, ledger_path, force, False, reweight, sampler)
                    emit(ReplayOutcome(qid, "succeeded", table, summary(table)))
                except Exception as exc:  # noqa: BLE001  (one question's failure does not stop the others)
                    emit(failed(qid, exc))
                if progress is not None:
                    progress(n + 1, len(ids))
            return [outcomes[qid] for qid in ids]

        ledger = Ledger(ledger_path)
        with project_lock(ledger_path, lock_timeout):
            ledger.recover()
            tasks: list[ReplayTask] = []
            for qid in ids:
                try:
                    question = Question.from_inputs(project.load(qid))
                    plan = _plan(question, start, end, every, seed, reweight, sampler)
                except (InputError, ValueError) as exc:
                    emit(failed(qid, exc))
                    continue
                stored, run_ids, recompute = {}, {}, {}
                for i, as_of in enumerate(plan.points):
                    fps, fingerprint = plan.fingerprints(i)
                    row, unusable = _stored_point(ledger, qid, fingerprint, force)
                    if row is not None:
                        stored[i] = {k: row.get(k) for k in STORED_FIELDS}
                    else:
                        run_ids[i] = ledger.start(qid, as_of, "replay", seed, fps, fingerprint)
                        if unusable:
                            recompute[i] = unusable
                tasks.append(ReplayTask(plan, stored, run_ids, recompute))
            open_runs = {run_id for t in tasks for run_id in t.run_ids.values()}

            def record(j: int, res) -> None:
                task = tasks[j]
                question = task.plan.question
                qid = question.id
                if isinstance(res, TaskFailure):
                    res = ReplayTaskResult([], [], res.error, res.message)
                spec_now = {**question.spec.to_dict(), "library": question.library.model_dump(mode="json")}
                error = None if res.error is None else f"{res.error_type}: {res.error}"
                for point in res.points:
                    try:
                        _save_point(ledger, ledger_path, question, spec_now, point.run_id, point.tree, point.changes, point.seconds)
                    except Exception as exc:  # noqa: BLE001
                        ledger.fail(point.run_id, f"{type(exc).__name__}: {exc}", point.seconds)
                        error = error or f"{type(exc).__name__}: {exc}"
                    open_runs.discard(point.run_id)
                computed = {p.run_id for p in res.points}
                missing = sorted(r for r in task.run_ids.values() if r not in computed)
                for n, run_id in enumerate(missing):
                    ledger.fail(run_id, error if n == 0 else f"not computed: an earlier point of the replay failed ({error})")
                    open_runs.discard(run_id)
                if error is not None:
                    emit(ReplayOutcome(qid, "failed", pd.DataFrame([r.__dict__ for r in res.rows]) if res.rows else None, error,
                                       error=_Failed(error), error_type=res.error_type))
                else:
                    table = pd.DataFrame([r.__dict__ for r in res.rows])
                    emit(ReplayOutcome(qid, "succeeded", table, summary(table)))

            try:
                map_tasks(replay_task, tasks, c, progress=progress, on_result=record, name="forecast-replay")
            except BaseException as exc:
                for run_id in sorted(open_runs):
                    ledger.fail(run_id, f"interrupted: {type(exc).__name__} in the process that started the run")
                raise
    return [outcomes[qid] for qid in ids]


def _unusable(row: dict | None) -> str | None:
    """Why a stored point's files cannot be trusted (damaged or missing), or None.

    A pruned point is reused from its ledger numbers: its files were deleted on purpose.
    """
    from forecast.inference.store import ARTEFACTS, ArtefactError, verify_artefact

    if row is None or row.get("pruned_at"):
        return None
    try:
        for kind in ARTEFACTS:
            verify_artefact(row, kind)
    except ArtefactError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class _MethodTagged:
    """Sampler settings plus the replay method, for the sampler fingerprint."""

    config: SampleConfig
    method: str

    def to_dict(self) -> dict:
        return {**self.config.to_dict(), "replay_method": self.method}


def _rolling_mcse(idata) -> float:
    """Monte Carlo SE of the rolling headline's mean in a NUTS fit (NaN without one, 0 when constant)."""
    import arviz_stats

    post = idata["posterior"]
    if "p_event_within" not in post.data_vars:
        return float("nan")
    p = post["p_event_within"]
    return float(arviz_stats.mcse(p, method="mean").values) if float(p.std()) > 0 else 0.0


def point_view(idata, point):
    """What an update of ``point``'s as-of date would have fitted: the anchor's tree with the random-walk
    steps of the months after the point's as-of date left out of ``posterior`` (what diagnostics read).

    Parameters
    ----------
    idata : xarray.DataTree
        A NUTS fit on the replay's full grid (``posterior``, ``sample_stats``).
    point : Design
        The point's design (its ``n_months``).

    Returns
    -------
    xarray.DataTree
        ``posterior`` with ``innovation`` on the point's steps (months 1 .. ``n_months - 1``) and
        ``level`` on its months; ``sample_stats`` as fitted.
    """
    import xarray as xr

    post = idata["posterior"].to_dataset()
    if "innovation" in post.data_vars:
        # month 0 has no step: a point in the grid's first month has none to diagnose
        post = post.isel(step=slice(0, point.n_months - 1)) if point.n_months > 1 else post.drop_vars("innovation")
    if "level" in post.data_vars:
        post = post.isel(month=slice(0, point.n_months))
    groups = {"posterior": post, "sample_stats": idata["sample_stats"].to_dataset()}
    return xr.DataTree.from_dict(groups)


def _slim(idata):
    """The DataTree without the latent paths (``level``, ``innovation``) in posterior and prior."""
    import xarray as xr

    groups = {}
    for name in idata.children:
        ds = idata[name].to_dataset()
        if name in ("posterior", "prior"):
            ds = ds.drop_vars([v for v in PATH_VARIABLES if v in ds.data_vars])
        groups[name] = ds
    out = xr.DataTree.from_dict(groups)
    out.attrs.update(idata.attrs)
    return out
