r"""Importance reweighting of posterior draws with Pareto smoothing (PSIS), in one place.

Four analyses turn the draws of one distribution into expectations under another without a new
fit: replay (the posterior at an anchor date into the posterior at a later date), evidence influence
(the posterior without one item, leave-one-out), change attribution (the previous run's posterior
with an item added, removed or edited) and the value of information (the posterior after a
simulated report). Each has, per draw :math:`s`, the log density ratio

.. math::

    r_s = \log p_\text{target}(\theta^s) - \log p_\text{proposal}(\theta^s)

(up to a constant), e.g. :math:`-\log p(y_i \mid \theta^s)` for leaving item :math:`i` out.
:func:`psis` turns it into self-normalised weights :math:`\tilde w_s \propto \exp(r_s)` whose
largest values are smoothed by a generalised Pareto fit (``arviz_stats``' ``psislw``, Vehtari et
al. 2024), with the diagnostics of the fit:

* the Pareto :math:`\hat k` of the tail: below 0.7 (and below :math:`1 - 1/\log_{10} S` for
  :math:`S` draws) the weighted expectations are reliable;
* the importance ESS :math:`1 / \sum_s \tilde w_s^2`, how many independent draws the weights are
  worth.

``psislw`` follows the leave-one-out convention (it smooths :math:`\exp(-x)` of what it is given, a
log-likelihood); the sign is handled here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

SAMPLE_DIMS = ("chain", "draw")


@dataclass
class ImportanceWeights:
    """Pareto-smoothed self-normalised weights of draws and their diagnostics.

    Attributes
    ----------
    weights : numpy.ndarray
        (..., chain, draw) weights, non-negative, summing to 1 over (chain, draw) for each leading
        index.
    pareto_k : float or numpy.ndarray
        Pareto :math:`\\hat k` of each weight vector (a float when there is no leading dim).
    ess : float or numpy.ndarray
        Importance ESS :math:`1 / \\sum_s w_s^2` of each weight vector, in draws.
    """

    weights: np.ndarray
    pareto_k: float | np.ndarray
    ess: float | np.ndarray

    @property
    def n_draws(self) -> int:
        """Number of draws ``S`` (chains x draws)."""
        return int(np.prod(self.weights.shape[-2:]))

    def mean(self, values: np.ndarray) -> float | np.ndarray:
        """Weighted mean of per-draw values.

        Parameters
        ----------
        values : (chain, draw) array
            One value per draw (broadcast against the weights' leading dims).

        Returns
        -------
        float or numpy.ndarray
            One mean per weight vector.
        """
        return (self.weights * np.asarray(values)).sum(axis=(-2, -1))

    def mcse(self, values: np.ndarray) -> float | np.ndarray:
        """Monte Carlo SE of :meth:`mean`, autocorrelation of the chains included.

        Parameters
        ----------
        values : (chain, draw) array
            One value per draw (broadcast against the weights' leading dims).

        Returns
        -------
        float or numpy.ndarray
            One SE per weight vector (a float for one vector), in one ``arviz_stats.mcse`` call.

        By the delta method the error of a self-normalised importance-sampling mean :math:`\\hat\\mu`
        is the mean of :math:`z_s = S w_s (v_s - \\hat\\mu)`; its MCSE (``arviz_stats.mcse``) is the SE.
        """
        import arviz_stats

        values = np.asarray(values, dtype=float)
        mean = np.asarray(self.mean(values))
        z = self.n_draws * self.weights * (values - mean[..., None, None])
        dims = tuple(f"vector_{i}" for i in range(z.ndim - 2)) + SAMPLE_DIMS
        se = np.asarray(arviz_stats.mcse(xr.DataArray(z, dims=dims), method="mean").values, dtype=float)
        return float(se) if se.ndim == 0 else se

    def resample(self, rng: np.random.Generator) -> np.ndarray:
        """Indices into the flattened (chain, draw) draws, each kept in proportion to its weight.

        Systematic resampling (one uniform, ``S`` evenly spaced positions): the lowest-variance
        way to turn weighted draws into ``S`` equal-weight draws.

        Parameters
        ----------
        rng : numpy.random.Generator

        Returns
        -------
        (S,) array of int
        """
        w = self.weights.reshape(-1)
        n = w.size
        positions = (rng.random() + np.arange(n)) / n
        return np.minimum(np.searchsorted(np.cumsum(w), positions), n - 1)


def psis(log_ratio, r_eff: float | np.ndarray = 1.0) -> ImportanceWeights:
    """Pareto-smoothed importance weights from log density ratios.

    Parameters
    ----------
    log_ratio : array_like or xarray.DataArray
        (..., chain, draw) log of target over proposal density per draw, up to a constant per
        leading index (see the module docstring). A (draw,) array is taken as one chain.
    r_eff : float or array
        Relative efficiency of the draws (ESS / S) of each leading index: it sets the length of
        the smoothed tail. 1 for independent draws.

    Returns
    -------
    ImportanceWeights
    """
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)

    values = np.asarray(getattr(log_ratio, "values", log_ratio), dtype=float)
    if values.ndim == 1:
        values = values[None, :]
    lead = values.shape[:-2]
    if np.ndim(r_eff) and lead:
        # one relative efficiency per weight vector: psislw takes a scalar, so smooth them one by one
        r = np.broadcast_to(np.asarray(r_eff, dtype=float), lead)
        parts = [psis(values[i], float(r[i])) for i in np.ndindex(*lead)]
        return ImportanceWeights(np.stack([w.weights for w in parts]).reshape(values.shape),
                                 np.array([w.pareto_k for w in parts]).reshape(lead), np.array([w.ess for w in parts]).reshape(lead))
    dims = tuple(f"lead_{i}" for i in range(len(lead))) + SAMPLE_DIMS
    # psislw smooths exp(-x): hand it the negated ratio (shifted for range; constants cancel)
    shifted = values - values.max(axis=(-2, -1), keepdims=True)
    log_w, khat = xr.DataArray(-shifted, dims=dims).azstats.psislw(dim=list(SAMPLE_DIMS), r_eff=float(r_eff))
    log_w = np.asarray(log_w.transpose(*dims).values, dtype=float)
    w = np.exp(log_w - log_w.max(axis=(-2, -1), keepdims=True))
    w /= w.sum(axis=(-2, -1), keepdims=True)
    ess = 1.0 / (w**2).sum(axis=(-2, -1))
    khat = np.asarray(khat.values, dtype=float)
    if not lead:
        return ImportanceWeights(w, float(khat), float(ess))
    return ImportanceWeights(w, khat.reshape(lead), ess)


def resample_draws(ds: xr.Dataset, index: np.ndarray) -> xr.Dataset:
    """A copy of a posterior dataset with its draws picked by index.

    Parameters
    ----------
    ds : xarray.Dataset
        (chain, draw, ...) variables; others are copied as they are.
    index : (chain x draw,) array of int
        Positions in the flattened draws (e.g. :meth:`ImportanceWeights.resample`).

    Returns
    -------
    xarray.Dataset
        Same shapes, draw ``i`` of the flattened result being draw ``index[i]`` of ``ds``.
    """
    chains, draws = ds.sizes["chain"], ds.sizes["draw"]
    out = ds.copy()
    for name, da in ds.data_vars.items():
        if da.dims[:2] == SAMPLE_DIMS:
            flat = np.asarray(da.values).reshape(chains * draws, *da.shape[2:])
            out[name] = (da.dims, flat[index].reshape(da.shape))
    return out
