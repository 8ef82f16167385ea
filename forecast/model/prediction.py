r"""P(event by date | no event by as-of) from draws of the hazard model.

For one draw of the parameters, the future of the linear predictor is a Gaussian random walk: the
indicators keep moving as :math:`x_{k,t} = x_{k,t-1} + \sigma_k z_{k,t}`, so

.. math::

    \eta_{T-1+j} = \eta_{T-1} + s\, W_j, \qquad s = \Big(\sum_k (b_k \sigma_k)^2\Big)^{1/2},

with :math:`W` a standard random walk (:math:`W_0 = 0`). The probability of the event by a date
with month coordinate :math:`u` is

.. math::

    P(u) = 1 - \mathbb E_W\Big[\exp\Big(-\sum_j e_j(u)\, e^{\eta_{T-1+j}}\Big)\Big],

where :math:`e_j(u)` is the exposure of future month :math:`j` between the as-of date and :math:`u`.
The expectation over future paths is taken per draw with ``n_paths`` simulated paths (the same
paths for every draw: common random numbers keep the result smooth and reproducible), so the
spread of :math:`P` across draws is the *epistemic* uncertainty about the probability.
"""

from __future__ import annotations

import numpy as np

from forecast.core import timegrid


def exposure_matrix(u_as_of: float, first_month: int, n_future: int, targets: np.ndarray) -> np.ndarray:
    """(n_targets, n_future) exposure of future months ``first_month + j`` between as-of and each target."""
    t = first_month + np.arange(n_future, dtype=float)
    hi = np.minimum(targets[:, None], t[None, :] + 1.0)
    lo = np.maximum(u_as_of, t)[None, :]
    return np.clip(hi - lo, 0.0, 1.0)


def prob_by(
    eta_now: np.ndarray,
    drift_sd: np.ndarray,
    u_as_of: float,
    current_month: int,
    targets: np.ndarray,
    n_paths: int,
    seed: int,
    chunk: int = 256,
) -> np.ndarray:
    """P(event by each target | no event by as-of) for each draw.

    Parameters
    ----------
    eta_now : (S,) log rate in the month holding the as-of date.
    drift_sd : (S,) SD of the monthly change of the log rate, ``s`` above.
    targets : (H,) month coordinates of the target dates (after the as-of date).

    Returns
    -------
    (S, H) array of probabilities.
    """
    targets = np.asarray(targets, dtype=float)
    if targets.size == 0:
        return np.zeros((eta_now.size, 0))
    n_future = max(1, int(np.ceil(targets.max())) - current_month)
    expo = exposure_matrix(u_as_of, current_month, n_future, targets)  # (H, J)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_paths, n_future))
    z[:, 0] = 0.0  # the current month's rate is the one the model estimated
    walk = np.cumsum(z, axis=1)  # (M, J)
    out = np.empty((eta_now.size, targets.size))
    for a in range(0, eta_now.size, chunk):
        b = min(a + chunk, eta_now.size)
        eta = eta_now[a:b, None, None] + drift_sd[a:b, None, None] * walk[None]  # (s, M, J)
        rate = np.exp(np.minimum(eta, 30.0))
        cumhaz = rate @ expo.T  # (s, M, H)
        out[a:b] = 1.0 - np.exp(-cumhaz).mean(axis=1)
    return out


def monthly_targets(grid_start, u_as_of: float, last: float) -> tuple[list[str], np.ndarray]:
    """Month boundaries after the as-of date up to ``last`` (for the cumulative curve)."""
    first = int(np.floor(u_as_of)) + 1
    us = np.arange(first, int(np.floor(last)) + 1, dtype=float)
    labels = [timegrid.month_start(grid_start, int(u)).isoformat() for u in us]
    return labels, us
