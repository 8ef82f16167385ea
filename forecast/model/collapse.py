r"""Sufficient statistics of the evidence: Normal observations of one functional combine exactly.

Every evidence item :math:`i` observes a linear functional of the latent paths, the level
:math:`x_{k_i,t_i}` or the 3-month change :math:`x_{k_i,t_i} - x_{k_i,b_i}`, with Normal noise of
known SD :math:`s_i` (:mod:`forecast.model.hazard`). Items with the same key

.. math::

    g = (k_i, t_i, b_i, n_i)

(indicator, month, base month or -1 for a level, noise group :math:`n_i`) share the mean
:math:`\mu_g(\theta)`, and the product of their likelihoods is, as a function of :math:`\theta`,
one Normal likelihood of their precision-weighted mean:

.. math::

    \prod_{i \in g} \mathcal N(y_i \mid \mu_g, s_i)
    = \mathcal N(\bar y_g \mid \mu_g, S_g)\; C_g, \qquad
    P_g = \sum_{i \in g} s_i^{-2}, \quad
    \bar y_g = P_g^{-1} \sum_{i \in g} s_i^{-2} y_i, \quad
    S_g = P_g^{-1/2},

with the constant (free of :math:`\theta`; :func:`log_constant`)

.. math::

    \log C_g = -\tfrac{n_g - 1}{2}\log 2\pi - \sum_{i \in g} \log s_i + \log S_g
               - \tfrac12 \Big(\sum_{i \in g} s_i^{-2} y_i^2 - P_g \bar y_g^2\Big),

where :math:`n_g` is the number of items in the group. (Expand the squares: the terms in
:math:`\mu_g` are :math:`-\tfrac12 P_g \mu_g^2 + \mu_g \sum_i s_i^{-2} y_i`, the same on both
sides.) The posterior is therefore unchanged when the model sees one observation per group in
place of the items, and the sampler's cost no longer grows with the number of items, only with the
number of distinct (functional, noise group) keys (at most indicators x months x 2 x noise groups).

**Noise groups.** The key holds one design column, ``Design.evidence_noise_group``: 0 for every
item with fixed grade weights; with learned source weights (``sources: learned``) the item's source
index + 1. A source weight scales every SD of one source by the same factor :math:`r`, which
scales :math:`S_g` by :math:`r` because the group has one source: it applies to the collapsed
observation exactly (``group_source``) in its Normal term; but then the constant
:math:`C_g` depends on the weight. With every item's precision multiplied by :math:`m` the items'
log density is the group's plus

.. math::

    \log C_g(m) = \log C_g(1) - \tfrac12 (m - 1) W_g + \tfrac{n_g - 1}{2} \log m,
    \qquad W_g = \sum_{i \in g} s_i^{-2} y_i^2 - P_g \bar y_g^2 ,

so the collapsed model adds :math:`\sum_g [-\tfrac12 (m_g - 1) W_g + \tfrac{n_g-1}{2}\log m_g]` as a
potential (``evidence_group_dispersion``): the dispersion of a source's reports around each other
informs its weight exactly as the items would, and the two models again differ by :math:`\sum_g
\log C_g(1)` at every parameter value, weights included.

Only the evidence term is collapsed: every evidence item is Normal. The survival term (Poisson
event counts, one per month) is not Normal and is left as it is (it has one term per month anyway).
Per-item quantities (the ``log_likelihood`` group, influence, change attribution, predictive draws)
are computed per item from the draws of the functional, never from the collapsed node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# the collapsed model's data (the ``pm.Data`` of :func:`forecast.model.hazard.build_model` with
# ``collapsed=True``; ``group_source``, ``group_within`` and ``group_count`` only with learned
# source weights), each (G,)
GROUP_DATA_NAMES = ("group_indicator", "group_month", "group_base_month", "group_sd", "group_value", "group_source", "group_within",
                    "group_count")


@dataclass(frozen=True)
class Collapsed:
    """Evidence items combined by key (see the module docstring).

    Attributes
    ----------
    indicator, month, base_month, noise_group : numpy.ndarray
        (G,) int: the key of each group (``base_month`` -1 for a level), sorted by key.
    sd : numpy.ndarray
        (G,) :math:`S_g = P_g^{-1/2}`, standardized units.
    value : numpy.ndarray
        (G,) :math:`\\bar y_g`, the precision-weighted mean, standardized units.
    count : numpy.ndarray
        (G,) int :math:`n_g`, items per group.
    within : numpy.ndarray
        (G,) :math:`W_g = \\sum_{i\\in g} s_i^{-2} y_i^2 - P_g \\bar y_g^2 \\ge 0`, the
        precision-weighted dispersion of the items around their mean (the term a learned source
        weight needs, see the module docstring).
    group_of_item : numpy.ndarray
        (N,) int: the group of each item.
    """

    indicator: np.ndarray
    month: np.ndarray
    base_month: np.ndarray
    noise_group: np.ndarray
    sd: np.ndarray
    value: np.ndarray
    count: np.ndarray
    group_of_item: np.ndarray
    within: np.ndarray

    @property
    def n_groups(self) -> int:
        """G, the number of groups."""
        return int(self.sd.size)

    def data(self) -> dict[str, np.ndarray]:
        """The collapsed model's ``pm.Data`` values by name (:data:`GROUP_DATA_NAMES`)."""
        return {
            "group_indicator": self.indicator,
            "group_month": self.month,
            "group_base_month": self.base_month,
            "group_sd": self.sd,
            "group_value": self.value,
            # with learned source weights the noise group is the source index + 1 (-1: no source)
            "group_source": self.noise_group - 1,
            "group_within": self.within,
            "group_count": self.count,
        }


def collapse(indicator, month, base_month, sd, value, noise_group=None) -> Collapsed:
    """Combine items that observe the same functional with the same noise group.

    Parameters
    ----------
    indicator, month, base_month : array_like of int
        (N,) index of the indicator, grid month, and the month a change is measured from (-1 for a level).
    sd : array_like of float
        (N,) observation SD :math:`s_i > 0`, standardized units.
    value : array_like of float
        (N,) observed value :math:`y_i`, standardized units.
    noise_group : array_like of int, optional
        (N,) the noise group of each item (default all 0).

    Returns
    -------
    Collapsed
        One group per distinct key (G <= N), in key order.

    Raises
    ------
    ValueError
        The arrays differ in length, or an SD is not positive and finite.
    """
    indicator = np.asarray(indicator, dtype=np.int64).reshape(-1)
    month = np.asarray(month, dtype=np.int64).reshape(-1)
    base_month = np.asarray(base_month, dtype=np.int64).reshape(-1)
    sd = np.asarray(sd, dtype=float).reshape(-1)
    value = np.asarray(value, dtype=float).reshape(-1)
    noise_group = np.zeros_like(indicator) if noise_group is None else np.asarray(noise_group, dtype=np.int64).reshape(-1)
    n = indicator.size
    if not all(a.size == n for a in (month, base_month, sd, value, noise_group)):
        raise ValueError("evidence arrays of different lengths")
    if n and not (np.all(np.isfinite(sd)) and np.all(sd > 0)):
        raise ValueError("an observation SD is not positive and finite")
    keys = np.stack([indicator, month, base_month, noise_group], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    g = unique.shape[0]
    precision = sd**-2.0
    total = np.bincount(inverse, weights=precision, minlength=g)
    weighted = np.bincount(inverse, weights=precision * value, minlength=g)
    return Collapsed(
        indicator=unique[:, 0].copy(), month=unique[:, 1].copy(), base_month=unique[:, 2].copy(), noise_group=unique[:, 3].copy(),
        sd=total**-0.5, value=weighted / total, count=np.bincount(inverse, minlength=g), group_of_item=inverse,
        within=np.maximum(np.bincount(inverse, weights=precision * value**2, minlength=g) - weighted**2 / total, 0.0),
    )


def log_constant(sd, value, collapsed: Collapsed) -> float:
    r"""The constant :math:`\sum_g \log C_g` between the items' and the groups' log densities (nats).

    :math:`\sum_i \log\mathcal N(y_i \mid \mu_{g(i)}, s_i) = \sum_g \log\mathcal N(\bar y_g \mid \mu_g, S_g) + \sum_g \log C_g`
    for every value of the parameters (the module docstring gives :math:`\log C_g`).

    Parameters
    ----------
    sd, value : array_like
        (N,) the items' SDs and values, as given to :func:`collapse`.
    collapsed : Collapsed
        Their groups.

    Returns
    -------
    float
    """
    sd = np.asarray(sd, dtype=float).reshape(-1)
    value = np.asarray(value, dtype=float).reshape(-1)
    inv = collapsed.group_of_item
    g = collapsed.n_groups
    p = sd**-2.0
    sum_py2 = np.bincount(inv, weights=p * value**2, minlength=g)
    big_p = collapsed.sd**-2.0
    per_group = (-(collapsed.count - 1) / 2 * np.log(2 * np.pi) - np.bincount(inv, weights=np.log(sd), minlength=g)
                 + np.log(collapsed.sd) - 0.5 * (sum_py2 - big_p * collapsed.value**2))
    return float(per_group.sum())
