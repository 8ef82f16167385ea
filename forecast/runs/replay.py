r"""Replay: the forecast as it would have been made at each past date.

Each point uses as-of semantics (only evidence published by then, survival up to then) and is
stored in the ledger as a ``replay`` run. A replay does not pay for N cold fits.

**One compiled model.** Every point lives on the month grid and item list of the *last* point.
Months after a point's as-of date carry no exposure and no evidence, so their random-walk steps are
pure prior and leave the posterior of everything else unchanged; evidence not yet published at a
point enters with an SD of 1e6 (a likelihood flat to 1e-12). Shapes are then identical at every
point: the data are swapped with ``pm.set_data`` and one NUTS step (one compiled logp + gradient)
serves every fit, and the prior is sampled once.

**Anchors and importance reweighting.** Consecutive points differ by a month of survival and the
few items published in between. The posterior at point :math:`t` is the posterior at an earlier
*anchor* :math:`a` times the likelihood ratio of their data,

.. math::

    p(\theta \mid y_t) \propto p(\theta \mid y_a)\,
    \frac{p(y_t \mid \theta)}{p(y_a \mid \theta)},

where :math:`\theta` includes the anchor's latent paths on the whole grid (after :math:`a` they are
draws from the random-walk prior, exactly what the months after :math:`a` need). The log ratio is the
survival of the months between the two dates plus the newly published items, computed in numpy from
the anchor's draws of ``log_rate`` and ``level``. The weights are Pareto-smoothed (PSIS,
``arviz_stats``) and a point is accepted only when the Pareto :math:`\hat k \le 0.7`, the
importance ESS is at least half the number of draws, and the importance-sampling MCSE of the
headline is within the spec's ``headline_mcse`` threshold (or, when the anchor itself misses that
threshold, within 1.5 times the anchor's MCSE); otherwise NUTS runs at that point and it becomes
the next anchor. The accepted weights resample the anchor's
draws (systematic resampling, seeded), so each stored point is an ordinary equal-weight posterior.
Its diagnostics are the anchor's r_hat / ESS / divergences plus :math:`\hat k`, the importance ESS and
the importance MCSE of the headline (``diagnostics.importance``).

**Stored points are reused**: a point whose fingerprint is already in the ledger is not refitted.
Replay points store the scalar parameters, ``log_rate`` and the forecast, not the latent paths
(``level``, ``innovation``), which keeps a point's NetCDF small; ``forecast update --as-of`` gives the
full posterior of any date.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forecast.core.timegrid import month_ends, parse_month
from forecast.inference.fingerprint import fingerprints, item_digests, package_versions
from forecast.inference.importance import psis_weights, resample_draws, systematic_resample
from forecast.inference.question import Question
from forecast.inputs.project import Project
from forecast.inputs.settings import SampleConfig
from forecast.model.design import make_design
from forecast.model.likelihood import data_loglik, padded_data
from forecast.runs.ledger import Ledger, default_path

# anchors: 2 chains x 1000 draws (the importance-reweighted points in between resample these draws)
REPLAY_SETTINGS = dict(draws=1000, tune=500, chains=2)
PARETO_K_MAX = 0.7
# and the weights must keep at least half the anchor's draws' worth of information: a point that
# moved far from its anchor (several new items at once) is better fitted afresh
MIN_IS_EFFICIENCY = 0.5
METHOD = "anchors+psis-v1"  # part of the replay's sampler fingerprint
PATH_VARIABLES = ("level", "innovation")  # not stored for replay points


@dataclass
class ReplayPoint:
    as_of: dt.date
    run_id: int
    reused: bool
    method: str  # "nuts" (an anchor), "reweighted" or "stored"
    why: str
    headline_horizon: str | None
    headline_mean: float | None
    lower_90: float | None
    upper_90: float | None
    diagnostics_passed: bool
    seconds: float


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
    """Replay ``question_id`` at the end of every month from ``start`` to ``end``; returns a DataFrame.

    ``reweight=False`` runs NUTS at every point (each point an anchor). ``progress(i, n, point)`` is
    called after each point; ``progress=True`` draws a progress bar (the default in a notebook).
    """
    from forecast.core.progress import bar, interactive

    if progress is None or isinstance(progress, bool):
        with bar(f"replaying {question_id}", enabled=interactive() if progress is None else progress) as tick:
            return replay(question_id, start, end, every=every, seed=seed, root=root, ledger_path=ledger_path, force=force,
                          progress=lambda i, n, point: tick(i, n, str(point.as_of)), reweight=reweight, **sampler)

    import arviz as az
    import pandas as pd
    import pymc as pm
    import pytensor
    import xarray as xr

    from forecast.core.timegrid import to_date
    from forecast.inference.diagnostics import SamplingDiagnostics, check_sampling
    from forecast.inference.result import FitResult, headline_horizon
    from forecast.inference.sampling import add_forecast
    from forecast.inference.store import save_result
    from forecast.model.hazard import build_model
    from forecast.runs.update import _record, project_lock

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
    fp_config = _MethodTagged(config, METHOD if reweight else "nuts")  # the sampler fingerprint names the method
    full = make_design(question.spec, question.library, question.evidence, points[-1])
    thresholds = question.spec.thresholds
    spec_now = {**question.spec.to_dict(), "library": question.library.model_dump(mode="json")}

    def fit_anchor(data, point_seed):
        nonlocal model, step, prior
        pymc_logger = logging.getLogger("pymc")
        level = pymc_logger.level
        pymc_logger.setLevel(logging.WARNING)
        try:
            with warnings.catch_warnings(), pytensor.config.change_flags(numba__fastmath=False):
                warnings.filterwarnings("ignore")
                if model is None:
                    model = build_model(full)
                    with model:
                        step = pm.NUTS(target_accept=config.target_accept)
                        prior = pm.sample_prior_predictive(draws=config.prior_draws, random_seed=seed + 1)
                with model:
                    pm.set_data(data)
                    return pm.sample(
                        draws=config.draws, tune=config.tune, chains=config.chains, cores=min(config.chains, 2),
                        step=step, random_seed=point_seed, progressbar=False, compute_convergence_checks=False,
                    )
        finally:
            pymc_logger.setLevel(level)

    rows: list[ReplayPoint] = []
    model = step = prior = None
    anchor = None  # dict: idata, loglik, diagnostics, run_id, as_of
    with project_lock(ledger_path, 600):
        ledger.recover()
        for i, as_of in enumerate(points):
            t0 = time.perf_counter()
            fps, fingerprint = fingerprints(question, as_of, fp_config, seed)
            stored = None if force else ledger.find(question_id, fingerprint)
            if stored is not None:
                rows.append(ReplayPoint(as_of, stored["id"], True, "stored", "stored with the same fingerprint", stored["headline_horizon"], stored["headline_mean"], stored["headline_lower_90"], stored["headline_upper_90"], bool(stored["diagnostics_passed"]), 0.0))
                if progress:
                    progress(i + 1, len(points), rows[-1])
                continue
            point = make_design(question.spec, question.library, question.evidence, as_of)
            data = padded_data(point, full)
            future = [h for h in question.spec.horizons if h > as_of]
            head = headline_horizon(question.spec, future, as_of)
            head_index = future.index(head) if head else None
            run_id = ledger.start(question_id, as_of, "replay", seed, fps, fingerprint)
            try:
                idata = diag = None
                method, why = "nuts", "first point" if anchor is None else "reweighting disabled"
                if reweight and anchor is not None:
                    post = anchor["idata"]["posterior"].to_dataset()
                    w, khat = psis_weights(data_loglik(post, data, full) - anchor["loglik"])
                    ess_is = float(1.0 / np.sum(w**2))
                    candidate = xr.DataTree.from_dict({"posterior": post, "prior": prior["prior"].to_dataset()})
                    add_forecast(candidate, point, question.spec.horizons, config.future_paths, seed)
                    cpost = candidate["posterior"].to_dataset()
                    mcse = float("nan")
                    if head_index is not None:
                        p = np.asarray(cpost["p_event_by"].isel(horizon=head_index).values).reshape(-1)
                        # self-normalised IS variance, inflated by the autocorrelation of p in the anchor's chains
                        ess_p = float(az.ess(np.asarray(p).reshape(post.sizes["chain"], post.sizes["draw"]), method="bulk"))
                        rel_eff = min(1.0, ess_p / p.size)
                        mcse = float(np.sqrt(np.sum(w**2 * (p - np.sum(w * p)) ** 2) / rel_eff))
                    # a new anchor when the weights are unreliable, or when they cost precision that a
                    # fresh fit would win back (an anchor that itself misses the MCSE threshold is not
                    # refitted at every point: the next fit, with the same settings, would miss it too)
                    mcse_ok = head_index is None or mcse <= max(thresholds.headline_mcse, 1.5 * anchor["diagnostics"].headline_mcse)
                    efficient = ess_is >= MIN_IS_EFFICIENCY * w.size
                    why = (f"Pareto k-hat {khat:.2f} > {PARETO_K_MAX}" if khat > PARETO_K_MAX
                           else f"importance ESS {ess_is:.0f} < {MIN_IS_EFFICIENCY:.0%} of {w.size} draws" if not efficient
                           else f"importance MCSE {mcse:.4f} > {thresholds.headline_mcse}")
                    if khat <= PARETO_K_MAX and efficient and mcse_ok:
                        why = f"reweighted from run {anchor['run_id']} ({anchor['as_of']}), k-hat {khat:.2f}, importance ESS {ess_is:.0f}"
                        method = "reweighted"
                        index = systematic_resample(w, np.random.default_rng([seed, i]))
                        groups = {"posterior": resample_draws(cpost, index), "prior": candidate["prior"].to_dataset()}
                        for name in anchor["idata"].children:
                            if name not in groups:
                                groups[name] = anchor["idata"][name].to_dataset()
                        idata = xr.DataTree.from_dict(groups)
                        a = anchor["diagnostics"]
                        problems = [q for q in a.problems if not q.startswith("headline MCSE")]
                        if head_index is not None and not mcse <= thresholds.headline_mcse:
                            problems.append(f"headline MCSE {mcse:.4f} > {thresholds.headline_mcse}")
                        diag = SamplingDiagnostics(
                            passed=not problems, r_hat_max=a.r_hat_max, ess_bulk_min=a.ess_bulk_min, ess_tail_min=a.ess_tail_min,
                            divergences=a.divergences, headline_mcse=mcse, n_draws=a.n_draws, problems=problems,
                            importance={"anchor_run": anchor["run_id"], "anchor_as_of": anchor["as_of"].isoformat(),
                                        "pareto_k": khat, "ess": ess_is},
                        )
                if idata is None:
                    idata = fit_anchor(data, seed + i)
                    for name in prior.children:
                        idata[name] = prior[name]
                    anchor_post = idata["posterior"].to_dataset()
                    add_forecast(idata, point, question.spec.horizons, config.future_paths, seed)
                    diag = check_sampling(idata, head_index, thresholds)
                    anchor = {"idata": xr.DataTree.from_dict({**{n: idata[n].to_dataset() for n in idata.children}, "posterior": anchor_post}),
                              "loglik": data_loglik(anchor_post, data, full), "diagnostics": diag, "run_id": run_id, "as_of": as_of}
                result = FitResult(spec=question.spec, design=point, idata=_slim(idata), horizons=future, headline=head, diagnostics=diag,
                                   seed=seed, n_paths=config.future_paths, fingerprints={**fps, "combined": fingerprint},
                                   versions=package_versions(), sampling_seconds=time.perf_counter() - t0)
                paths = save_result(result, ledger_path.parent / question_id, stem=f"run-{run_id:06d}")
                record = _record(result, paths, item_digests(question, as_of), spec_now, {"replay": True, "method": method, "why": why}, time.perf_counter() - t0)
                ledger.succeed(run_id, record)
            except BaseException as exc:
                ledger.fail(run_id, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)
                raise
            rows.append(ReplayPoint(as_of, run_id, False, method, why, record["headline_horizon"], record["headline_mean"], record["headline_lower_90"], record["headline_upper_90"], record["diagnostics_passed"], time.perf_counter() - t0))
            if progress:
                progress(i + 1, len(points), rows[-1])
    return pd.DataFrame([r.__dict__ for r in rows])


@dataclass(frozen=True)
class _MethodTagged:
    """Sampler settings plus the replay method, for the sampler fingerprint."""

    config: SampleConfig
    method: str

    def to_dict(self) -> dict:
        return {**self.config.to_dict(), "replay_method": self.method}


def _slim(idata):
    """The DataTree without the latent paths (``level``, ``innovation``) in posterior and prior."""
    import xarray as xr

    groups = {}
    for name in idata.children:
        ds = idata[name].to_dataset()
        if name in ("posterior", "prior"):
            ds = ds.drop_vars([v for v in PATH_VARIABLES if v in ds.data_vars])
        groups[name] = ds
    return xr.DataTree.from_dict(groups)
