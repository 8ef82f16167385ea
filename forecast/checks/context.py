"""What the checks of one ``forecast check`` run share: the design, sizes, one compiled model, one fit.

Several checks need the posterior of the question at its as-of date (sensitivity, posterior
predictive, value of information); :class:`CheckContext` fits it once, on the compiled model of
:mod:`forecast.inference.sampling` that SBC and scoring reuse, with the log-likelihood and
log-prior groups that ArviZ's power-scaling and LOO functions read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from forecast.inference.fingerprint import code_fingerprint, digest
from forecast.model.design import Design

# the elicited priors: power-scaling acts on these, not on the random walk's standard-normal steps
PRIOR_VARIABLES = ("baseline_probability", "level_start", "volatility", "effect_size")


@dataclass(frozen=True)
class Sizes:
    """How much each check simulates and samples."""

    fit_draws: int  # the shared posterior fit (chains x draws)
    fit_tune: int
    fit_chains: int
    sbc_sims: int  # simulated worlds
    sbc_draws: int  # NUTS draws per SBC fit (one chain), thinned to sbc_rank_draws for the ranks
    sbc_tune: int
    sbc_rank_draws: int
    score_histories: int  # simulated histories scored month by month
    score_prior_draws: int  # prior draws that importance sampling starts from
    score_draws: int  # NUTS fits (one chain) where importance sampling is unreliable
    score_tune: int
    score_every: int  # months between forecast origins
    score_lead: int  # forecast window in months
    voi_sims: int  # preposterior simulations per indicator
    prior_draws: int  # prior predictive draws
    n_paths: int  # future paths per draw for P(event by date)


QUICK = Sizes(fit_draws=300, fit_tune=300, fit_chains=2, sbc_sims=20, sbc_draws=100, sbc_tune=150, sbc_rank_draws=100,
              score_histories=20, score_prior_draws=2000, score_draws=300, score_tune=300, score_every=6, score_lead=12,
              voi_sims=100, prior_draws=1000, n_paths=100)
DEFAULT = Sizes(fit_draws=1000, fit_tune=1000, fit_chains=2, sbc_sims=100, sbc_draws=200, sbc_tune=300, sbc_rank_draws=100,
                score_histories=40, score_prior_draws=4000, score_draws=500, score_tune=500, score_every=6, score_lead=12,
                voi_sims=300, prior_draws=4000, n_paths=200)


def design_digest(design: Design) -> str:
    """Digest of a design's content (priors, grid, data), for naming stored simulations."""
    out = {}
    for f in dataclasses.fields(design):
        value = getattr(design, f.name)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, tuple) and value and hasattr(value[0], "model_dump"):
            value = [v.model_dump(mode="json") for v in value]
        elif hasattr(value, "model_dump"):
            value = value.model_dump(mode="json")
        out[f.name] = value
    return digest(out)


class CheckContext:
    """Shared state of the checks of one question at one as-of date.

    Parameters
    ----------
    question : Question
        The question (spec, indicator library, evidence).
    as_of : date or str, optional
        Default today; only evidence published by then is used.
    quick : bool
        Use :data:`QUICK` sizes (what the tests use) instead of :data:`DEFAULT`.
    seed : int
        Every simulation and fit is seeded from it.
    workers : int
        Kept for callers that set it; where the simulations run is ``client``.
    sims : int, optional
        Number of SBC simulations and of scored histories (overrides the sizes).
    out : Path, optional
        Folder for stored simulations and figures; None stores nothing.
    progress : callable, optional
        ``progress(check, done, total, message)``.
    sizes : Sizes, optional
        Explicit sizes (overrides ``quick``).
    client : distributed.Client, optional
        Where SBC simulations and scored histories run (one task each,
        :func:`forecast.core.cluster.map_tasks`); None runs them in this process.
    """

    def __init__(self, question, as_of=None, quick: bool = False, seed: int = 1, workers: int = 1, sims: int | None = None,
                 out: Path | None = None, progress: Callable | None = None, sizes: Sizes | None = None, client=None):
        from forecast.core.timegrid import to_date
        from forecast.inference.result import headline_horizon

        self.question = question
        self.spec = question.spec
        self.as_of = to_date(as_of) if as_of is not None else dt.date.today()
        self.design: Design = question.design(self.as_of)
        self.quick = quick
        sizes = sizes or (QUICK if quick else DEFAULT)
        if sims is not None:
            if sims < 2:
                raise ValueError(f"sims must be at least 2, got {sims}")
            sizes = dataclasses.replace(sizes, sbc_sims=sims, score_histories=sims)
        self.sizes = sizes
        self.seed = int(seed)
        self.workers = max(1, int(workers))
        self.client = client
        self.out = Path(out) if out is not None else None
        self._progress = progress
        self.target_accept = float(self.spec.sampler.target_accept)
        future = [h for h in self.spec.horizons if h > self.as_of]
        self.future = future
        self.headline = headline_horizon(self.spec, future, self.as_of)
        self._posterior = None
        self._with_log = None

    # -- helpers ------------------------------------------------------------------------------------
    @property
    def headline_u(self) -> float | None:
        """Index of the headline horizon on the design's forecast grid (None without a headline)."""
        return None if self.headline is None else self.design.u(self.headline)

    def progress(self, check: str, done: int, total: int, message: str = "") -> None:
        """Report ``done`` of ``total`` steps of ``check`` to the progress callback, if one was given."""
        if self._progress is not None:
            self._progress(check, done, total, message)

    def store_path(self, name: str, settings: dict) -> Path | None:
        """``<out>/<name>-<fingerprint>.jsonl``: the fingerprint covers design, settings, seed and code."""
        if self.out is None:
            return None
        fp = digest({"design": design_digest(self.design), "settings": settings, "seed": self.seed, "code": code_fingerprint()})
        return self.out / f"{name}-{fp}.jsonl"

    def item_table(self):
        """The in-scope evidence items (id, indicator, grade, value, quote) in design order."""
        import pandas as pd

        by_id = {li.item.id: li.item for li in [*self.question.evidence, *self.design.generated]}
        rows = []
        for i, item_id in enumerate(self.design.evidence_ids):
            it = by_id[item_id]
            rows.append({"id": item_id, "indicator": self.design.indicator_ids[self.design.evidence_indicator[i]], "event_date": it.event_date,
                         "grade": it.grade, "value": float(self.design.evidence_value[i]), "quote": it.quote})
        return pd.DataFrame(rows, columns=["id", "indicator", "event_date", "grade", "value", "quote"])

    def indicator_name(self, indicator_id: str) -> str:
        """The display name of indicator ``indicator_id`` in the question's library."""
        for ind in self.question.library.indicators:
            if ind.id == indicator_id:
                return ind.name
        return indicator_id

    # -- the shared fit -----------------------------------------------------------------------------
    def posterior(self):
        """The posterior DataTree at the as-of date (NUTS on the shared compiled model) with the
        forecast and the ``log_likelihood`` group (evidence items, survival months) attached."""
        if self._posterior is None:
            import xarray as xr

            from forecast.inference.sampling import log_likelihood, sample_posterior
            from forecast.model.prediction import add_forecast

            s = self.sizes
            self.progress("fit", 0, 1, f"fitting {self.spec.id} as of {self.as_of}")
            idata = sample_posterior(self.design, draws=s.fit_draws, tune=s.fit_tune, chains=s.fit_chains, seed=[self.seed, 0],
                                     target_accept=self.target_accept)
            idata["log_likelihood"] = xr.DataTree(log_likelihood(self.design, idata["posterior"].to_dataset()))
            add_forecast(idata, self.design, self.spec.horizons, s.n_paths, self.seed)
            self._posterior = idata
            self.progress("fit", 1, 1, "fitted")
        return self._posterior

    def posterior_with_log_densities(self):
        """:meth:`posterior` plus the ``log_prior`` group (the elicited priors), computed by PyMC on
        the same model."""
        if self._with_log is None:
            import xarray as xr

            from forecast.inference.sampling import log_prior

            idata = self.posterior()
            groups = {name: idata[name].to_dataset() for name in idata.children}
            groups["log_prior"] = log_prior(self.design, idata["posterior"], PRIOR_VARIABLES)
            self._with_log = xr.DataTree.from_dict(groups)
        return self._with_log
