r"""The model's generative story in numpy: prior draws, indicator paths, event times, evidence values.

This is a second implementation of the generative story of :mod:`forecast.model.hazard` that
shares no graph with it (priors are drawn with PreliZ, :meth:`forecast.inputs.priors.Prior.distribution`,
from the same prior table the model builds its PyMC variables from; paths, event times and reports
in numpy), so that simulation-based calibration tests the PyMC model against an independent reading
of the README's model rather than against itself. It simulates; it never scores: every likelihood
evaluation uses the model's own graph (:mod:`forecast.model.likelihood`). For a draw of the parameters

.. math::

    x_{k,0} \sim \text{level prior}_k, \qquad x_{k,t} = x_{k,t-1} + \sigma_k z_{k,t}, \\
    \log\lambda_t = \log\big(-\log(1 - p)/m\big) + \sum_k d_k b_k x_{k,t},

the event time is the first time the cumulative hazard :math:`\int_{u_0}^{u} \lambda` crosses an
Exp(1) draw :math:`E` (piecewise-constant rate on the month grid, risk window from its start
:math:`u_0` to the as-of date), and evidence item :math:`i` is
:math:`y_i \sim \mathcal N(x_{k_i,t_i} - x_{k_i,t_i-3}\ [\text{change}]\ \text{or}\ x_{k_i,t_i}\ [\text{level}],\ \tau/\sqrt{w_i})`.

All arrays are for ``S`` draws at once; a single simulated world is ``S = 1``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import xarray as xr

from forecast.core import timegrid
from forecast.inputs.priors import Prior
from forecast.model.design import Design
from forecast.model.likelihood import MASKED_SD
from forecast.model.prediction import log_rate_step_sd, prob_by


def draw_prior(prior: Prior, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of one prior.

    Parameters
    ----------
    prior : Prior
    n : int
    rng : numpy.random.Generator

    Returns
    -------
    (n,) array
        Draws of the prior's PreliZ distribution.
    """
    return np.asarray(prior.distribution().rvs(n, random_state=rng), dtype=float).reshape(n)


def draw_priors(priors: tuple[Prior, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of several priors.

    Parameters
    ----------
    priors : tuple of Prior
        ``K`` priors.
    n : int
    rng : numpy.random.Generator

    Returns
    -------
    (n, K) array
        One column per prior.
    """
    if not priors:
        return np.zeros((n, 0))
    return np.stack([draw_prior(p, n, rng) for p in priors], axis=1)


@dataclass
class Draws:
    """``S`` draws of the model's parameters and latent paths on a design's month grid.

    Units as in :mod:`forecast.model.hazard`: levels in standardized units, ``log_rate`` in log
    events per month, ``effect_size`` in log hazard ratio per standardized unit.
    """

    baseline_probability: np.ndarray  # (S,)
    level_start: np.ndarray  # (S, K)
    volatility: np.ndarray  # (S, K)
    effect_size: np.ndarray  # (S, K)
    level: np.ndarray  # (S, K, T)
    log_rate: np.ndarray  # (S, T)
    signs: np.ndarray  # (K,)

    @property
    def size(self) -> int:
        """Number of draws ``S``."""
        return self.log_rate.shape[0]

    @property
    def effect(self) -> np.ndarray:
        """(S, K) signed log hazard ratio per +1 of each indicator."""
        return self.effect_size * self.signs

    @property
    def log_rate_step_sd(self) -> np.ndarray:
        """(S,) standard deviation of one monthly step of the log rate (:func:`~forecast.model.prediction.log_rate_step_sd`)."""
        return log_rate_step_sd(self.effect, self.volatility)

    def take(self, index) -> "Draws":
        """A subset of the draws.

        Parameters
        ----------
        index : int, slice or array of int
            Positions among the ``S`` draws.

        Returns
        -------
        Draws
        """
        index = np.atleast_1d(np.arange(self.size)[index])
        return dataclasses.replace(
            self,
            **{f.name: getattr(self, f.name)[index] for f in dataclasses.fields(self) if f.name != "signs"},
        )

    def to_dataset(self, design: Design) -> xr.Dataset:
        """The draws as a posterior-like Dataset.

        Parameters
        ----------
        design : Design
            Labels the ``indicator`` and ``month`` coordinates.

        Returns
        -------
        xarray.Dataset
            (chain = 1, draw = S) arrays named and dimensioned as the model's variables.
        """
        coords = {"indicator": list(design.indicator_ids), "month": design.month_labels}
        data = {
            "baseline_probability": (("chain", "draw"), self.baseline_probability[None]),
            "log_rate": (("chain", "draw", "month"), self.log_rate[None]),
        }
        if design.indicator_ids:
            data |= {
                "level_start": (("chain", "draw", "indicator"), self.level_start[None]),
                "volatility": (("chain", "draw", "indicator"), self.volatility[None]),
                "effect_size": (("chain", "draw", "indicator"), self.effect_size[None]),
                "effect": (("chain", "draw", "indicator"), self.effect[None]),
                "level": (("chain", "draw", "indicator", "month"), self.level[None]),
            }
        return xr.Dataset(data, coords=coords)

    @classmethod
    def from_posterior(cls, posterior: xr.Dataset, design: Design) -> "Draws":
        """The draws of a PyMC posterior of :func:`~forecast.model.hazard.build_model`.

        Parameters
        ----------
        posterior : xarray.Dataset
            (chain, draw) draws; a variable it lacks (a question without indicators) is zeros.
        design : Design
            Gives ``K``, ``T`` and the signs.

        Returns
        -------
        Draws
            ``S = chains x draws`` draws, chains flattened.
        """
        chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
        s, k = chains * draws, len(design.indicator_ids)

        def flat(name, *shape):
            if name not in posterior:
                return np.zeros((s, *shape))
            return np.asarray(posterior[name].values, dtype=float).reshape(s, *shape)

        return cls(
            baseline_probability=flat("baseline_probability"),
            level_start=flat("level_start", k),
            volatility=flat("volatility", k),
            effect_size=flat("effect_size", k),
            level=flat("level", k, design.n_months),
            log_rate=flat("log_rate", design.n_months),
            signs=np.asarray(design.signs, dtype=float),
        )


def log_baseline_rate(p: np.ndarray, months_per_period: int) -> np.ndarray:
    """The monthly log rate at which the event has probability ``p`` per period.

    Parameters
    ----------
    p : array
        Probability per period.
    months_per_period : int

    Returns
    -------
    array
        ``log(-log(1 - p) / months_per_period)``, log events per month.
    """
    return np.log(-np.log1p(-p) / months_per_period)


def walk_levels(level_start: np.ndarray, volatility: np.ndarray, innovation: np.ndarray) -> np.ndarray:
    r"""The latent paths of the random walk, :math:`x_{k,t} = x_{k,0} + \sigma_k \sum_{j \le t} z_{k,j}`.

    Parameters
    ----------
    level_start, volatility : numpy.ndarray
        (..., K) start levels (std. units) and SDs of a step (std. units per month).
    innovation : numpy.ndarray
        (..., K, T - 1) standard-normal innovations.

    Returns
    -------
    numpy.ndarray
        (..., K, T) levels, std. units (what ``level`` of :func:`forecast.model.hazard.build_model` computes).
    """
    steps = np.cumsum(np.asarray(volatility, dtype=np.float64)[..., None] * innovation, axis=-1)
    start = np.asarray(level_start, dtype=np.float64)
    return start[..., None] + np.concatenate([np.zeros(start.shape + (1,)), steps], axis=-1)


def draw_parameters(design: Design, n: int, rng: np.random.Generator) -> Draws:
    """Prior draws of the parameters and latent paths of ``design``'s model.

    Parameters
    ----------
    design : Design
    n : int
        Number of draws ``S``.
    rng : numpy.random.Generator

    Returns
    -------
    Draws
    """
    t_months = design.n_months
    p = draw_prior(design.baseline, n, rng)
    level_start = draw_priors(design.level_priors, n, rng)
    volatility = draw_priors(design.volatility_priors, n, rng)
    effect_size = draw_priors(design.effect_priors, n, rng)
    k = level_start.shape[1]
    level = walk_levels(level_start, volatility, rng.standard_normal((n, k, t_months - 1)))
    signs = np.asarray(design.signs, dtype=float).reshape(k)
    log_rate = log_baseline_rate(p, design.months_per_period)[:, None] + np.einsum("sk,skt->st", effect_size * signs, level)
    return Draws(p, level_start, volatility, effect_size, level, log_rate, signs)


def _evidence_mean(design: Design, level: np.ndarray) -> np.ndarray:
    """(S, N) what each evidence item observes in simulated paths: the level, or its change from the base month."""
    ind, month, base = design.evidence_indicator, design.evidence_month, design.evidence_base_month
    if not len(ind):
        return np.zeros((level.shape[0], 0))
    now = level[:, ind, month]
    before = np.where(base >= 0, level[:, ind, np.maximum(base, 0)], 0.0)
    return now - before


def simulate_evidence(design: Design, draws: Draws, rng: np.random.Generator) -> np.ndarray:
    """Simulated evidence values.

    Parameters
    ----------
    design : Design
        The items (indicator, month, base month, SD).
    draws : Draws
    rng : numpy.random.Generator

    Returns
    -------
    (S, N) array
        The observed level or change plus Normal noise of each item's graded SD (standardized units).
    """
    observed = _evidence_mean(design, draws.level)
    return observed + design.evidence_sd * rng.standard_normal(observed.shape)


def risk_exposure(design: Design) -> np.ndarray:
    """Exposure of each month from the risk window start to the as-of date, ignoring any resolution.

    Parameters
    ----------
    design : Design

    Returns
    -------
    (T,) array
        Fraction of each month at risk.
    """
    return timegrid.exposure(design.n_months, design.risk_start, design.u_as_of)


def simulate_event_time(design: Design, draws: Draws, rng: np.random.Generator) -> np.ndarray:
    """Simulated event times.

    Parameters
    ----------
    design : Design
    draws : Draws
        Their ``log_rate`` paths set the hazard.
    rng : numpy.random.Generator

    Returns
    -------
    (S,) array
        Month coordinate of the event, ``inf`` when it does not happen by the as-of date.
    """
    exposure = risk_exposure(design)
    rate = np.exp(np.minimum(draws.log_rate, 30.0))
    cum = np.cumsum(exposure * rate, axis=1)  # (S, T) cumulative hazard at each month's end
    threshold = rng.exponential(1.0, draws.size)
    hit = cum >= threshold[:, None]
    month = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
    out = np.full(draws.size, np.inf)
    rows = np.flatnonzero(month >= 0)
    t = month[rows]
    before = np.where(t > 0, cum[rows, np.maximum(t - 1, 0)], 0.0)
    start = np.maximum(design.risk_start, t)  # where exposure begins inside month t
    out[rows] = start + (threshold[rows] - before) / rate[rows, t]
    return out


def history_data(design: Design, event_u: float, evidence_value: np.ndarray, u_origin: float | None = None,
                 in_scope: np.ndarray | None = None, masked_sd: float = MASKED_SD) -> dict[str, np.ndarray]:
    """``pm.Data`` values of one simulated history seen at ``u_origin`` (default: the as-of date).

    Survival runs to the origin or the event, whichever is first; the event is counted when it
    happened by the origin; items not in scope (``in_scope`` False) get an SD of ``masked_sd``, a
    likelihood flat to 1e-12, so the data keep the shape of ``design`` (one compiled model serves
    every history and origin, as in :mod:`forecast.runs.replay`).

    Parameters
    ----------
    design : Design
    event_u : float
        Month coordinate of the simulated event (``inf``: none).
    evidence_value : (N,) array
        Simulated values of the design's items.
    u_origin : float, optional
        Month coordinate the history is seen at.
    in_scope : (N,) bool array, optional
        Items published by the origin (default all).
    masked_sd : float
        SD given to items not in scope.

    Returns
    -------
    dict of str to numpy.ndarray
        ``exposure``, ``counts``, ``evidence_value`` and ``evidence_sd``.
    """
    u_origin = design.u_as_of if u_origin is None else u_origin
    u_end = min(u_origin, event_u)
    exposure = timegrid.exposure(design.n_months, design.risk_start, u_end)
    counts = np.zeros(design.n_months, dtype=np.int64)
    if event_u <= u_origin:
        counts[min(int(np.floor(event_u)), design.n_months - 1)] = 1
    sd = np.asarray(design.evidence_sd, dtype=float)
    if in_scope is not None:
        sd = np.where(in_scope, sd, masked_sd)
    return {"exposure": exposure, "counts": counts, "evidence_value": np.asarray(evidence_value, dtype=float), "evidence_sd": sd}


def headline_probability(design: Design, draws: Draws, u_target: float, n_paths: int, seed: int) -> np.ndarray:
    """P(event by a date | no event by as-of) for each draw, exactly as the forecast computes it.

    Parameters
    ----------
    design : Design
    draws : Draws
    u_target : float
        Month coordinate of the date.
    n_paths, seed : int
        Future paths per draw and their seed.

    Returns
    -------
    (S,) array
    """
    eta_now = draws.log_rate[:, design.n_months - 1]
    return prob_by(eta_now, draws.log_rate_step_sd, design.u_as_of, design.n_months - 1, np.array([u_target]), n_paths, seed)[:, 0]


def window_probability(log_rate: np.ndarray, n_months: int, u_from: float, u_to: float) -> np.ndarray:
    """P(event in (u_from, u_to] | no event by u_from) for each draw, on the fitted months only.

    Parameters
    ----------
    log_rate : (S, T) array
        Monthly log rates (log events per month).
    n_months : int
        ``T``.
    u_from, u_to : float
        Month coordinates of the window.

    Returns
    -------
    (S,) array
    """
    window = timegrid.exposure(n_months, u_from, u_to)
    return -np.expm1(-(np.exp(np.minimum(log_rate, 30.0)) * window).sum(axis=-1))
