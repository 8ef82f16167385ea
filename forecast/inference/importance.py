"""Importance reweighting of posterior draws: Pareto-smoothed weights (PSIS) and resampling.

One place for the sign convention of ``arviz_stats``' ``psislw`` and for turning weights back into
equal-weight draws.
"""

from __future__ import annotations

import numpy as np


def psis_weights(log_ratio: np.ndarray) -> tuple[np.ndarray, float]:
    """Pareto-smoothed normalised weights (flattened draws) and the Pareto k-hat."""
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)
    import xarray as xr

    # psislw takes a log-likelihood and smooths the leave-one-out weights exp(-log_lik): pass -log_ratio
    da = xr.DataArray(-(log_ratio - log_ratio.max()), dims=("chain", "draw"))
    lw, khat = da.azstats.psislw(dim=["chain", "draw"])
    w = np.exp(np.asarray(lw.values, dtype=float)).reshape(-1)
    return w / w.sum(), float(khat)


def systematic_resample(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``len(weights)`` draws, each kept in proportion to its weight (low variance)."""
    n = weights.size
    positions = (rng.random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(weights), positions), n - 1)


def resample_draws(ds, index: np.ndarray):
    """A copy of a posterior dataset whose draws are ``index`` of the flattened (chain, draw) draws."""
    chains, draws = ds.sizes["chain"], ds.sizes["draw"]
    out = ds.copy()
    for name, da in ds.data_vars.items():
        if da.dims[:2] == ("chain", "draw"):
            flat = np.asarray(da.values).reshape(chains * draws, *da.shape[2:])
            out[name] = (da.dims, flat[index].reshape(da.shape))
    return out
