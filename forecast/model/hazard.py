r"""Discrete-time hazard with latent random-walk indicators.

Time runs in months :math:`t = 0, \dots, T-1` from the indicator library's reference date. For each
indicator :math:`k`

.. math::

    x_{k,0} \sim \mathcal N(\mu_k, s_k), \qquad
    x_{k,t} = x_{k,t-1} + \sigma_k z_{k,t}, \quad z_{k,t} \sim \mathcal N(0, 1)

(non-centred, so NUTS sees independent standard normals). The monthly hazard uses the
complementary log-log link, i.e. a piecewise-constant continuous-time rate

.. math::

    \lambda_t = \exp\Big(\alpha + \sum_k d_k\, b_k\, x_{k,t}\Big), \qquad
    h_t = 1 - \exp(-\lambda_t),

with :math:`d_k = \pm 1` the declared direction and :math:`b_k > 0` the effect size
(|log hazard ratio| per +1 of the indicator). The baseline rate comes from the elicited baseline
probability :math:`p` per period of :math:`m` months: :math:`\alpha = \log(-\log(1 - p) / m)`, so that
with every indicator at 0 the probability of the event within one period is exactly :math:`p`.

Likelihood:

* **survival**: months at risk with exposure :math:`e_t \in [0, 1]` contribute
  :math:`\exp(-e_t \lambda_t)`; the month of a resolution contributes :math:`e_t \lambda_t
  \exp(-e_t\lambda_t)` (event observed). This is a Poisson likelihood of the monthly event count with
  mean :math:`e_t \lambda_t`, the standard piecewise-exponential trick.
* **evidence**: item :math:`i` observes indicator :math:`k_i` at month :math:`t_i`, either its level
  or its change over the preceding months (:math:`x_{k_i,t_i} - x_{k_i,t_i-3}`):
  :math:`y_i \sim \mathcal N(\cdot, \tau / \sqrt{w_i})` where :math:`w_i` is the Admiralty-grade
  weight (see :mod:`forecast.inputs.grading`), which tempers the item's likelihood to the power :math:`w_i`.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from forecast.inputs.priors import Prior
from forecast.model.design import Design

DISTRIBUTIONS = {
    "normal": pm.Normal,
    "halfnormal": pm.HalfNormal,
    "lognormal": pm.LogNormal,
    "beta": pm.Beta,
    "gamma": pm.Gamma,
    "exponential": pm.Exponential,
}


def prior_rv(name: str, prior: Prior, **kwargs):
    """One PyMC random variable from a :class:`Prior`."""
    return DISTRIBUTIONS[prior.dist](name, **prior.resolved_params(), **kwargs)


def vector_rv(name: str, priors: tuple[Prior, ...], dim: str):
    """A vector of random variables along ``dim``, one prior per element.

    When every element has the same family (the usual case) this is one vectorised PyMC variable;
    otherwise one scalar per element, stacked in a Deterministic with the same name and dim.
    """
    families = {p.dist for p in priors}
    if len(families) == 1:
        dist = priors[0].dist
        params = [p.resolved_params() for p in priors]
        stacked = {k: np.array([p[k] for p in params]) for k in params[0]}
        return DISTRIBUTIONS[dist](name, **stacked, dims=dim)
    model = pm.modelcontext(None)
    labels = model.coords[dim]
    parts = [prior_rv(f"{name}[{label}]", p) for label, p in zip(labels, priors)]
    return pm.Deterministic(name, pt.stack(parts), dims=dim)


def build_model(design: Design) -> pm.Model:
    """The PyMC model of one question at one as-of date.

    Observations enter as ``pm.Data`` (shared variables), not constants: the graph, and so the
    compiled C code PyTensor caches on disk, is then the same for every as-of date and evidence set
    of a question, and a new fit does not pay for a new compilation.
    """
    d = design
    coords = {
        "indicator": list(d.indicator_ids),
        "month": d.month_labels,
        "step": d.month_labels[1:],
        "item": list(d.evidence_ids),
    }
    with pm.Model(coords=coords) as model:
        exposure = pm.Data("exposure", d.exposure, dims="month")
        p = prior_rv("baseline_probability", d.baseline)
        log_rate0 = pm.Deterministic("log_baseline_rate", pt.log(-pt.log1p(-p) / d.months_per_period))
        eta = pt.zeros(d.n_months) + log_rate0
        if d.indicator_ids:
            level_start = vector_rv("level_start", d.level_priors, "indicator")
            volatility = vector_rv("volatility", d.volatility_priors, "indicator")
            effect_size = vector_rv("effect_size", d.effect_priors, "indicator")
            effect = pm.Deterministic("effect", effect_size * d.signs, dims="indicator")
            if d.n_months > 1:
                innovation = pm.Normal("innovation", 0.0, 1.0, dims=("indicator", "step"))
                steps = pt.cumsum(volatility[:, None] * innovation, axis=1)
                path = level_start[:, None] + pt.concatenate([pt.zeros((len(d.indicator_ids), 1)), steps], axis=1)
            else:
                path = level_start[:, None]
            level = pm.Deterministic("level", path, dims=("indicator", "month"))
            # The level in the as-of month is its own node, and the as-of month's log rate (where the
            # forecast starts) reads it from there: a what-if scenario intervenes on this node with
            # pm.do (forecast.analysis.scenarios). In the fitted model it equals level[:, -1], so log_rate is
            # unchanged.
            level_now = pm.Deterministic("level_now", level[:, -1], dims="indicator")
            eta = eta + pt.concatenate([pt.dot(effect, level[:, :-1]), pt.dot(effect, level_now)[None]])
            if len(d.evidence_ids):
                ind = pm.Data("evidence_indicator", d.evidence_indicator, dims="item")
                month = pm.Data("evidence_month", d.evidence_month, dims="item")
                base = pm.Data("evidence_base_month", d.evidence_base_month, dims="item")
                sd = pm.Data("evidence_sd", d.evidence_sd, dims="item")
                # a change item observes x[t] - x[t - window]; a level item (base = -1) observes x[t]
                observed = level[ind, month] - pt.switch(pt.ge(base, 0), level[ind, pt.maximum(base, 0)], 0.0)
                value = pm.Data("evidence_value", d.evidence_value, dims="item")
                pm.Normal("evidence", mu=observed, sigma=sd, observed=value, dims="item")
        log_rate = pm.Deterministic("log_rate", eta, dims="month")
        # months outside the risk window have exposure 0: Poisson(0) at 0 adds exactly nothing
        counts = pm.Data("counts", d.counts, dims="month")
        pm.Poisson("event_count", mu=exposure * pt.exp(log_rate), observed=counts, dims="month")
    return model
