r"""P(event by date | no event by as-of) from draws of the hazard model.

For one draw of the parameters, the future of the linear predictor is a Gaussian random walk: the
indicators keep moving as :math:`x_{k,t} = x_{k,t-1} + \sigma_k z_{k,t}`, so

.. math::

    \eta_{T-1+j} = \eta_{T-1} + s\, W_j, \qquad s = \Big(\sum_k (b_k \sigma_k)^2\Big)^{1/2},

with :math:`W` a standard random walk (:math:`W_0 = 0`) and :math:`s` the standard deviation of one
monthly step of the log rate (``step_sd``; the walk has no drift). The probability of the event by a date
with month coordinate :math:`u` is

.. math::

    P(u) = 1 - \mathbb E_W\Big[\exp\Big(-\sum_j e_j(u)\, e^{\eta_{T-1+j}}\Big)\Big],

where :math:`e_j(u)` is the exposure of future month :math:`j` between the as-of date and :math:`u`.
The expectation over future paths is taken per draw with ``n_paths`` simulated paths, drawn
afresh for every draw from a stream keyed by the seed and the draw's index (:func:`path_steps`;
draws resampled from another posterior keep their source draw's stream, ``path_stream``).
Each draw's :math:`P` then carries its own, independent simulation error, which the Monte Carlo
standard error of the mean over draws (ArviZ's ``mcse``) counts. Paths shared by every draw (common
random numbers, as this module once did) put one error into every draw alike, which no MCSE over
draws can see: with 200 shared paths, belarus-entry's headline moved by 0.009 (SD over path seeds)
against a reported MCSE of 0.001. Within a draw, every target reads the same paths (a call that
reaches fewer months reads their first months), so each draw's curve rises with the date and a
date computed alone gets the number it gets among others (to the last bit's rounding); two groups of the same draws (a fit and
a scenario of it, given the same seed) read the same paths, so their gap is not simulation noise.

:func:`add_forecast` attaches these probabilities to a fit's ``posterior`` and ``prior`` groups as

* ``p_event_by`` (chain, draw, horizon): P(event by horizon | no event by as-of);
* ``p_event_curve`` (chain, draw, forecast_month): the same at each month boundary up to the last
  horizon (the cumulative curve), which also passes through every horizon;
* ``p_event_within`` (chain, draw), given a lead of :math:`L \ge 1` months: the **rolling
  headline**, P(event within :math:`L` months of the as-of date | no event by as-of), i.e. by the
  date :math:`L` calendar months after the as-of date (:func:`rolling_until`; attrs ``months`` and
  ``until``). A fixed horizon comes closer with every month, so P(by a fixed date) answers a
  different question on every as-of date; the rolling headline answers the same one, and is what
  replays, trajectories, change reports and alerts compare. It is computed alone, with the same
  seed (it leaves the horizons' numbers untouched), unless ``until`` is a horizon, whose draws it
  then takes: either way it equals ``FitResult.p_by(until)`` bit for bit.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import xarray as xr

from forecast.core import timegrid
from forecast.model.design import Design


def exposure_matrix(u_as_of: float, first_month: int, n_future: int, targets: np.ndarray) -> np.ndarray:
    """Exposure of each future month between the as-of date and each target.

    Parameters
    ----------
    u_as_of : float
        Month coordinate of the as-of date.
    first_month : int
        Index of the first future month (the one holding the as-of date).
    n_future : int
        Number of future months ``J``.
    targets : (H,) array
        Month coordinates of the target dates.

    Returns
    -------
    (H, J) array
        Fraction of month ``first_month + j`` (in [0, 1]) lying between ``u_as_of`` and target ``h``.
    """
    t = first_month + np.arange(n_future, dtype=float)
    hi = np.minimum(targets[:, None], t[None, :] + 1.0)
    lo = np.maximum(u_as_of, t)[None, :]
    return np.clip(hi - lo, 0.0, 1.0)


STREAM_VARIABLE = "path_stream"  # a group's (chain, draw) stream numbers, where they are not the draws' positions


def path_steps(seed: int, streams: np.ndarray, n_paths: int, n_future: int) -> np.ndarray:
    """The standard-normal monthly steps of the future random walks of draws with the given streams.

    The draw of stream ``i`` reads ``numpy.random.default_rng([seed, i])``, month after month (all
    paths of month 1, then of month 2...), so its paths do not depend on how many draws there are,
    how they are split into chunks, or how far the targets reach: a call with fewer future months
    reads the first months of the same paths.

    Parameters
    ----------
    seed : int
    streams : (S,) array of int
        Non-negative stream numbers, usually the draws' positions ``0..S-1``.
    n_paths, n_future : int
        Paths per draw and future months ``J``.

    Returns
    -------
    (S, n_paths, J) array
        Step ``[.., 0]`` is 0: the as-of month's rate is the one the model estimated.
    """
    z = np.empty((len(streams), n_paths, n_future))
    for row, i in enumerate(streams):
        z[row] = np.random.default_rng([seed, int(i)]).standard_normal((n_future, n_paths)).T
    z[..., 0] = 0.0
    return z


def prob_by(
    eta_now: np.ndarray,
    step_sd: np.ndarray,
    u_as_of: float,
    current_month: int,
    targets: np.ndarray,
    n_paths: int,
    seed: int,
    chunk: int = 16,
    streams: np.ndarray | None = None,
) -> np.ndarray:
    """P(event by each target | no event by as-of) for each draw.

    The cumulative hazard up to a target is the exposure-weighted sum of the monthly rates
    (:func:`exposure_matrix`): every month between the as-of month and the target's month with its
    full exposure, plus the elapsed fraction of the target's own month. It is read off one running
    sum over the months per path (O(J + H) per path, not the O(J x H) of a product with the
    exposure matrix, which dominated the forecast of early as-of dates: five years of monthly curve
    points over five years of months).

    Parameters
    ----------
    eta_now : (S,) or (G, S) array
        Log rate (log events per month) in the month holding the as-of date, per draw; with a
        leading axis, ``G`` versions of the draws (scenarios) read the same paths, generated once.
    step_sd : (S,) or (G, S) array
        Standard deviation of one monthly step of the log rate's random walk, ``s`` above (the
        shape of ``eta_now``).
    u_as_of : float
        Month coordinate of the as-of date.
    current_month : int
        Index of the month holding the as-of date.
    targets : (H,) array
        Month coordinates of the target dates (after the as-of date).
    n_paths : int
        Simulated future paths per draw.
    seed : int
        Seed of the paths; draw ``i`` reads the paths of ``(seed, streams[i])`` (:func:`path_steps`).
    chunk : int
        Draws evaluated at once (bounds memory: chunk x n_paths x J floats; small chunks stay in
        the CPU's cache).
    streams : (S,) array of int, optional
        Each draw's stream (default its position). Draws resampled from another posterior keep
        their source's stream (``path_stream``, see :func:`forecast_draws`); all zeros gives every
        draw the same paths (common random numbers, for a difference between draws whose path
        noise should cancel).

    Returns
    -------
    (S, H) or (G, S, H) array
        P(event by each target | no event by as-of) for each draw (of each version); a version's
        numbers are those of a call with its draws alone, bit for bit.
    """
    targets = np.asarray(targets, dtype=float)
    batched = np.ndim(eta_now) == 2
    eta_now, step_sd = np.atleast_2d(eta_now), np.atleast_2d(step_sd)
    n_versions, n_draws = eta_now.shape
    if targets.size == 0:
        out = np.zeros((n_versions, n_draws, 0))
        return out if batched else out[0]
    n_future = max(1, int(np.ceil(targets.max())) - current_month)
    expo = exposure_matrix(u_as_of, current_month, n_future, targets)  # (H, J)
    full = exposure_matrix(u_as_of, current_month, n_future, np.array([np.inf]))[0]  # (J,) each month's whole exposure
    # row h of `expo` is `full` before month k_h (the month holding target h), a fraction of month
    # k_h, and 0 after it: cumulative hazard = running sum up to month k_h + that fraction of its rate
    month = np.clip(np.floor(targets).astype(np.int64) - current_month, 0, n_future)
    fraction = np.where(month < n_future, expo[np.arange(targets.size), np.minimum(month, n_future - 1)], 0.0)
    partial = np.flatnonzero(fraction > 0)  # targets inside a month (the rest lie on month boundaries)
    streams = np.arange(n_draws) if streams is None else np.asarray(streams, dtype=np.int64)
    out = np.empty((n_versions, n_draws, targets.size))
    running = np.zeros((min(chunk, n_draws), n_paths, n_future + 1))  # [..., j]: hazard of the months before j
    for a in range(0, n_draws, chunk):
        b = min(a + chunk, n_draws)
        walk = np.cumsum(path_steps(seed, streams[a:b], n_paths, n_future), axis=-1)  # (s, M, J)
        for g in range(n_versions):
            eta = eta_now[g, a:b, None, None] + step_sd[g, a:b, None, None] * walk  # (s, M, J)
            rate = np.exp(np.minimum(eta, 30.0))
            before = running[: b - a]
            np.cumsum(rate * full, axis=-1, out=before[..., 1:])
            cumhaz = np.take(before, month, axis=-1)  # (s, M, H)
            if partial.size:
                cumhaz[..., partial] += rate[..., month[partial]] * fraction[partial]
            out[g, a:b] = 1.0 - np.exp(-cumhaz).mean(axis=1)
    return out if batched else out[0]


def monthly_targets(grid_start, u_as_of: float, last: float) -> tuple[list[str], np.ndarray]:
    """Month boundaries after the as-of date up to ``last`` (for the cumulative curve).

    Parameters
    ----------
    grid_start : datetime.date
        Start of the month grid.
    u_as_of : float
        Month coordinate of the as-of date.
    last : float
        Month coordinate of the last date wanted (the last horizon).

    Returns
    -------
    (labels, u)
        ISO dates of the boundaries and their (M,) month coordinates.
    """
    first = int(np.floor(u_as_of)) + 1
    us = np.arange(first, int(np.floor(last)) + 1, dtype=float)
    labels = [timegrid.month_start(grid_start, int(u)).isoformat() for u in us]
    return labels, us


def forecast_targets(design: Design, horizons: list[dt.date]) -> tuple[list[dt.date], np.ndarray, list[str], np.ndarray]:
    """Horizons after the as-of date and the monthly curve points, with their month coordinates.

    Parameters
    ----------
    design : Design
    horizons : list of datetime.date
        The spec's horizons.

    Returns
    -------
    (future, u_h, labels, u_curve)
        The horizons after ``design.as_of``, their (H,) month coordinates, the ISO labels of the
        curve points (month boundaries up to the last horizon, and every horizon) and their (M,)
        month coordinates.
    """
    future = [h for h in horizons if h > design.as_of]
    u_h = np.array([design.u(h) for h in future], dtype=float)
    last = u_h.max() if u_h.size else design.u_as_of
    labels, u_curve = monthly_targets(design.grid_start, design.u_as_of, last)
    # the curve also passes through every horizon, so it agrees exactly with the horizon table
    points = sorted({**dict(zip(labels, u_curve)), **{h.isoformat(): u for h, u in zip(future, u_h)}}.items(), key=lambda kv: kv[1])
    labels = [k for k, _ in points]
    u_curve = np.array([u for _, u in points], dtype=float)
    return future, u_h, labels, u_curve


def log_rate_step_sd(effect: np.ndarray, volatility: np.ndarray) -> np.ndarray:
    """(S,) standard deviation of one monthly step of the log rate, ``sqrt(sum_k (b_k sigma_k)^2)``.

    Parameters
    ----------
    effect, volatility : (S, K) arrays
        Signed log hazard ratio per standardized unit, and the SD of an indicator's monthly step
        (standardized units).

    Returns
    -------
    (S,) array
        In log events per month; 0 without indicators.
    """
    if effect.shape[-1] == 0:
        return np.zeros(effect.shape[0])
    return np.sqrt(((effect * volatility) ** 2).sum(axis=-1))


def forecast_draws(group: xr.Dataset, design: Design, targets: np.ndarray, n_paths: int, seed: int) -> np.ndarray:
    """P(event by each target | no event by as-of) for every draw of one group: :func:`forecast_draws_batch` of ``[group]``."""
    return forecast_draws_batch([group], design, targets, n_paths, seed)[0]


def forecast_draws_batch(groups: list[xr.Dataset], design: Design, targets: np.ndarray, n_paths: int, seed: int) -> np.ndarray:
    """P(event by each target | no event by as-of) for every draw of posterior or prior groups.

    Several groups of the same draws (the scenarios of :mod:`forecast.analysis.scenarios`: other
    as-of rates and step SDs) read the same future paths, generated once (:func:`prob_by`).

    Parameters
    ----------
    groups : list of xarray.Dataset
        Each: draws (chain, draw) of ``log_rate`` and, for a question with indicators, ``effect``
        and ``volatility``; with ``path_stream`` (chain, draw), the draws' path streams (a replay
        point's draws resampled from its anchor keep the anchor's streams, so a number recomputed
        from the stored draws is the number the point recorded). All of the same (chain, draw)
        sizes; the first group's streams serve all.
    design : Design
        The design the draws are of (as-of date, grid, resolution).
    targets : (H,) array
        Month coordinates of the target dates.
    n_paths, seed : int
        Future paths per draw and their seed (see :func:`prob_by`).

    Returns
    -------
    (G, chain, draw, H) array
        For a resolved question, 1 at targets on or after the resolution and 0 before.
    """
    chains, draws = groups[0].sizes["chain"], groups[0].sizes["draw"]
    current = design.n_months - 1
    eta_now = np.stack([np.asarray(g["log_rate"].values)[..., current].reshape(-1) for g in groups])
    if design.indicator_ids:
        step_sd = np.stack([log_rate_step_sd(np.asarray(g["effect"].values).reshape(chains * draws, -1),
                                             np.asarray(g["volatility"].values).reshape(chains * draws, -1)) for g in groups])
    else:
        step_sd = np.zeros_like(eta_now)
    if design.resolved_on is not None:
        u_r = design.u(design.resolved_on)
        p = np.broadcast_to((targets >= u_r).astype(float), (*eta_now.shape, targets.size)).copy()
    else:
        group = groups[0]
        streams = np.asarray(group[STREAM_VARIABLE].values).reshape(-1) if STREAM_VARIABLE in group.data_vars else None
        p = prob_by(eta_now, step_sd, design.u_as_of, current, targets, n_paths, seed, streams=streams)
    return p.reshape(len(groups), chains, draws, targets.size)


def rolling_until(as_of: dt.date, months: int) -> dt.date:
    """The end of the rolling headline's window: ``months`` calendar months after ``as_of``.

    Parameters
    ----------
    as_of : datetime.date
    months : int
        The lead :math:`L` (the spec's ``headline_lead_months``), at least 1.

    Returns
    -------
    datetime.date
        The same day of the month ``months`` later, clipped to that month's end; a month's last
        day goes to the last day of the month ``months`` later (2024-02-29 + 6 -> 2024-08-31, not
        the 29th), so that month-end as-of dates (every replay point) get windows of the same
        length on the month grid.

    Raises
    ------
    ValueError
        ``months`` is below 1: "within 0 months" is no forecast.
    """
    if months < 1:
        raise ValueError(f"the rolling headline needs a lead of at least 1 month, not {months}")
    if (as_of + dt.timedelta(days=1)).day == 1:  # a month's last day: the last day L months later
        return timegrid.month_start(as_of.replace(day=1), months + 1) - dt.timedelta(days=1)
    return timegrid.month_start(as_of, months)


def add_forecast(idata, design: Design, horizons: list[dt.date], n_paths: int, seed: int, lead_months: int | None = None) -> list[dt.date]:
    """Attach ``p_event_by``, ``p_event_curve`` and ``p_event_within`` to the ``posterior`` and ``prior`` groups (in place).

    Parameters
    ----------
    idata : xarray.DataTree
        A fit; groups other than ``posterior`` and ``prior`` are left alone, a missing one skipped.
    design : Design
    horizons : list of datetime.date
        The spec's horizons; those after the as-of date get a ``horizon`` coordinate.
    n_paths, seed : int
        Future paths per draw and their seed.
    lead_months : int, optional
        The rolling headline's lead :math:`L` (the spec's ``headline_lead_months``); with None or 0
        no ``p_event_within`` is added (a window of 0 months holds no forecast).

    Returns
    -------
    list of datetime.date
        The horizons after the as-of date.
    """
    future, u_h, labels, u_curve = forecast_targets(design, horizons)
    until = rolling_until(design.as_of, lead_months) if lead_months else None
    # the rolling window's end is one more target of the same pass over the same paths (a target's
    # number does not depend on the others: :func:`path_steps`); on a horizon it is that row
    rolling = [] if until is None or until in future else [design.u(until)]
    targets = np.concatenate([u_h, u_curve, rolling])
    n_h, n_c = len(future), len(labels)
    for group in ("posterior", "prior"):
        if group not in idata.children:
            continue
        ds = idata[group].to_dataset()
        p = forecast_draws(ds, design, targets, n_paths, seed)
        ds["p_event_by"] = xr.DataArray(
            p[..., :n_h], dims=("chain", "draw", "horizon"), coords={"horizon": [h.isoformat() for h in future]}
        )
        ds["p_event_curve"] = xr.DataArray(
            p[..., n_h:n_h + n_c], dims=("chain", "draw", "forecast_month"), coords={"forecast_month": labels}
        )
        if until is not None:
            within = p[..., n_h + n_c] if rolling else p[..., future.index(until)]
            ds["p_event_within"] = xr.DataArray(within, dims=("chain", "draw"), name="p_event_within",
                                                attrs={"months": int(lead_months), "until": until.isoformat()})
        idata[group] = xr.DataTree(ds)
    return future
