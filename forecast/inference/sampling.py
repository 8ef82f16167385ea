"""Sample the posterior of a question at an as-of date and attach the forecast.

``fit_design`` is the one place that runs NUTS. It returns the ArviZ ``DataTree`` with the groups
``posterior``, ``prior``, ``sample_stats``, ``observed_data`` (and the predictive groups), where
``posterior`` and ``prior`` also hold

* ``p_event_by`` (chain, draw, horizon): P(event by horizon | no event by as-of);
* ``p_event_curve`` (chain, draw, forecast_month): the same at each month boundary up to the last
  horizon (the cumulative curve).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import warnings

import numpy as np
import pymc as pm
import pytensor
import xarray as xr

from forecast.inputs.settings import SampleConfig  # noqa: F401  (re-exported)
from forecast.model.design import Design
from forecast.model.hazard import build_model
from forecast.model.prediction import monthly_targets, prob_by


def forecast_targets(design: Design, horizons: list[dt.date]) -> tuple[list[dt.date], np.ndarray, list[str], np.ndarray]:
    """Horizons after the as-of date (and their month coordinates) plus the monthly curve points."""
    future = [h for h in horizons if h > design.as_of]
    u_h = np.array([design.u(h) for h in future], dtype=float)
    last = u_h.max() if u_h.size else design.u_as_of
    labels, u_curve = monthly_targets(design.grid_start, design.u_as_of, last)
    # the curve also passes through every horizon, so it agrees exactly with the horizon table
    points = sorted({**dict(zip(labels, u_curve)), **{h.isoformat(): u for h, u in zip(future, u_h)}}.items(), key=lambda kv: kv[1])
    labels = [k for k, _ in points]
    u_curve = np.array([u for _, u in points], dtype=float)
    return future, u_h, labels, u_curve


def _forecast_from_group(group: xr.Dataset, design: Design, targets: np.ndarray, n_paths: int, seed: int) -> np.ndarray:
    """(chain, draw, target) probabilities from one group (posterior or prior) of draws."""
    chains, draws = group.sizes["chain"], group.sizes["draw"]
    current = design.n_months - 1
    eta_now = np.asarray(group["log_rate"].values)[..., current].reshape(-1)
    if design.indicator_ids:
        eff = np.asarray(group["effect"].values).reshape(chains * draws, -1)
        vol = np.asarray(group["volatility"].values).reshape(chains * draws, -1)
        drift = np.sqrt(((eff * vol) ** 2).sum(axis=1))
    else:
        drift = np.zeros_like(eta_now)
    if design.resolved_on is not None:
        u_r = design.u(design.resolved_on)
        p = np.broadcast_to((targets >= u_r).astype(float), (eta_now.size, targets.size)).copy()
    else:
        p = prob_by(eta_now, drift, design.u_as_of, current, targets, n_paths, seed)
    return p.reshape(chains, draws, targets.size)


def add_forecast(idata, design: Design, horizons: list[dt.date], n_paths: int, seed: int) -> list[dt.date]:
    """Attach ``p_event_by`` and ``p_event_curve`` to the posterior and prior groups (in place)."""
    future, u_h, labels, u_curve = forecast_targets(design, horizons)
    targets = np.concatenate([u_h, u_curve])
    for group in ("posterior", "prior"):
        if group not in idata.children:
            continue
        ds = idata[group].to_dataset()
        p = _forecast_from_group(ds, design, targets, n_paths, seed)
        ds["p_event_by"] = xr.DataArray(
            p[..., : len(future)], dims=("chain", "draw", "horizon"), coords={"horizon": [h.isoformat() for h in future]}
        )
        ds["p_event_curve"] = xr.DataArray(
            p[..., len(future):], dims=("chain", "draw", "forecast_month"), coords={"forecast_month": labels}
        )
        idata[group] = xr.DataTree(ds)
    return future


def fit_design(design: Design, horizons: list[dt.date], config: SampleConfig, seed: int, progressbar: bool = False):
    """Build the model, run NUTS and prior sampling, attach the forecast. Returns (idata, seconds)."""
    model = build_model(design)
    cores = config.cores or min(config.chains, os.cpu_count() or 1)
    t0 = time.perf_counter()
    pymc_logger = logging.getLogger("pymc")
    level = pymc_logger.level
    if not progressbar:  # "Initializing NUTS...", "Sampling: [...]" are noise in notebooks and cron logs
        pymc_logger.setLevel(logging.WARNING)
    try:
        # numba's fastmath lets LLVM reassociate floating point differently in a fresh compilation and
        # in one loaded from the cache; NUTS amplifies those last-bit differences, so with fastmath on
        # the same seed would not give the same numbers. Reproducibility wins over a few percent speed.
        with model, warnings.catch_warnings(), pytensor.config.change_flags(numba__fastmath=False):
            warnings.filterwarnings("ignore", category=FutureWarning)
            idata = pm.sample(
                draws=config.draws,
                tune=config.tune,
                chains=config.chains,
                cores=cores,
                target_accept=config.target_accept,
                random_seed=seed,
                progressbar=progressbar,
                compute_convergence_checks=False,
            )
            prior = pm.sample_prior_predictive(draws=config.prior_draws, random_seed=seed + 1)
    finally:
        pymc_logger.setLevel(level)
    for name in prior.children:
        idata[name] = prior[name]
    add_forecast(idata, design, horizons, config.future_paths, seed)
    return idata, time.perf_counter() - t0
