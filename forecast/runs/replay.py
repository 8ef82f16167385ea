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
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forecast.core.timegrid import month_ends, parse_month
from forecast.inference.fingerprint import fingerprints, item_digests, package_versions
from forecast.inference.question import Question
from forecast.inputs.project import Project
from forecast.inputs.settings import SampleConfig
from forecast.model.design import make_design
from forecast.model.likelihood import design_data, padded_data
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
        a notebook), ``False`` nothing.
    reweight : bool
        False: NUTS at every point (each point an anchor).
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
        risk window.
    forecast.InputError
        The question's files are invalid.
    """
    from forecast.core.progress import bar, interactive

    if progress is None or isinstance(progress, bool):
        with bar(f"replaying {question_id}", enabled=interactive() if progress is None else progress) as tick:
            return replay(question_id, start, end, every=every, seed=seed, root=root, ledger_path=ledger_path, force=force,
                          progress=lambda i, n, point: tick(i, n, str(point.as_of)), reweight=reweight, **sampler)

    import pandas as pd
    import xarray as xr

    from forecast.core.timegrid import to_date
    from forecast.inference.diagnostics import SamplingDiagnostics, check_sampling
    from forecast.inference.importance import psis, resample_draws
    from forecast.inference.result import FitResult, annotate, headline_horizon
    from forecast.inference.sampling import compiled_model, sample_posterior, sample_prior
    from forecast.inference.store import save_result
    from forecast.model.prediction import add_forecast
    from forecast.runs.update import _record, _remove_files, project_lock

    if every != "month":
        raise ValueError("replay --every supports 'month'")
    project = Project.find(root)
    ledger_path = Path(ledger_path) if ledger_path else default_path(project.root)
    ledger = Ledger(ledger_path)
    question = Question.from_inputs(project.load(question_id))
    start = to_date(start) if not isinstance(start, str) else parse_month(start)
    end = to_date(end) if not isinstance(end, str) else parse_month(end, end=True)
    today = dt.date.today()  # a replay stops at the last month end that has passed
    points = [d for d in month_ends(start, end) if question.spec.risk_window_start <= d <= today]
    if not points:
        raise ValueError(f"no month end between {start} and {end} inside the risk window and on or before today ({today})")
    question.check_as_of(points[-1], today)  # a horizon after the last point, or the fix to make
    config = SampleConfig.from_settings(question.spec.sampler, **{**REPLAY_SETTINGS, **sampler})
    cores = config.cores or min(config.chains, os.cpu_count() or 1)  # as an update
    lead = question.spec.headline_lead_months
    fp_config = _MethodTagged(config, METHOD if reweight else "nuts")  # the sampler fingerprint names the method
    full = make_design(question.spec, question.library, question.evidence, points[-1], sources=getattr(question, "sources", None))
    thresholds = question.spec.thresholds
    spec_now = {**question.spec.to_dict(), "library": question.library.model_dump(mode="json")}
    loglik = compiled_model(full).log_likelihood

    def log_lik(posterior, data):
        """log p(a point's data | each draw) on the full grid: (chain, draw)."""
        return loglik.total(posterior, {**design_data(full), **data})

    rows: list[ReplayPoint] = []
    prior = None  # sampled once, on the full grid
    anchor = None  # dict: posterior (Dataset, no forecast), groups, loglik, diagnostics, run_id, as_of
    with project_lock(ledger_path, 600):
        ledger.recover()
        for i, as_of in enumerate(points):
            t0 = time.perf_counter()
            fps, fingerprint = fingerprints(question, as_of, fp_config, seed)
            stored = None if force else ledger.find(question_id, fingerprint)
            unusable = _unusable(stored)
            if unusable:
                stored = None  # a damaged or missing file: recompute the point rather than trust it
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
            run_id = ledger.start(question_id, as_of, "replay", seed, fps, fingerprint)
            paths = None
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
                result = FitResult.from_tree(idata)
                if unusable:
                    why += f"; recomputed: {unusable}"
                paths = save_result(result, ledger.artefact_dir(question_id), stem=f"run-{run_id:06d}")
                record = _record(result, paths, item_digests(question, as_of), spec_now, {"replay": True, "method": method, "why": why}, time.perf_counter() - t0)
                ledger.succeed(run_id, record)
            except BaseException as exc:
                ledger.fail(run_id, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)
                _remove_files(paths)
                raise
            rows.append(ReplayPoint.of(as_of, run_id, record, False, method, why, time.perf_counter() - t0))
            if progress:
                progress(i + 1, len(points), rows[-1])
    return pd.DataFrame([r.__dict__ for r in rows])


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
