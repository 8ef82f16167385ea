r"""What-if scenarios: the forecast with indicators held at set levels, made with PyMC's ``do``.

A scenario (declared under ``scenarios:`` in a question spec, :class:`forecast.inputs.spec.Scenario`)
sets indicators :math:`k \in S` to levels :math:`v_k` on the standardized scale *from the as-of
date on*. For each posterior draw :math:`\theta` (the posterior itself is not changed: a scenario
is an intervention on the future, not an observation of it):

.. math::

    \operatorname{do}\big(x_{k,T-1} := v_k\big), \qquad x_{k,T-1+j} = v_k \ (j \ge 0), \qquad k \in S,

where :math:`T-1` is the month holding the as-of date. The log rate of the as-of month becomes

.. math::

    \eta'_{T-1} = \eta_{T-1} + \sum_{k \in S} d_k b_k \,(v_k - x_{k,T-1}),

i.e. the hazard is multiplied by :math:`\exp(d_k b_k (v_k - x_{k,T-1}))` for each held indicator,
and the held indicators stop moving, so the future log rate is a random walk driven by the other
indicators only:

.. math::

    \eta'_{T-1+j} = \eta'_{T-1} + s' W_j, \qquad s' = \Big(\sum_{k \notin S} (b_k \sigma_k)^2\Big)^{1/2}.

P(event by :math:`u` | no event by as-of, do(...)) then follows exactly as the forecast does
(:func:`forecast.model.prediction.prob_by`), with the same simulated paths (same seed), so the gap
between a scenario and the forecast as fitted is the scenario's effect, not simulation noise.
Holding a push-toward indicator (:math:`d_k = +1`) below its current level lowers the curve;
holding a push-against one (:math:`d_k = -1`) low raises it. When every indicator of a question is
held, :math:`s' = 0` and :math:`P(u) = 1 - \exp(-(u - u_{\text{as-of}})\, e^{\eta'_{T-1}})` in closed
form.

**How.** The model (:func:`forecast.model.hazard.build_model`) has a node
``level_now`` (the indicators' levels in the as-of month) from which the as-of month's log rate is
computed. ``pm.do`` replaces it by ``switch(held, v, level[:, -1])``; the intervened model's
``log_rate`` is then evaluated on the posterior draws of the free parameters (the graph vectorised
over draws, one call for all of them, as ``pm.sample_posterior_predictive(var_names=["log_rate"])``
would do draw by draw), and the held indicators' volatility is set to 0 for the forward simulation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core.errors import nearest
from forecast.inputs.spec import Scenario

BASELINE = "baseline"
COLUMNS = ["scenario", "name", "description", "date", "mean", "lower_90", "upper_90", "headline"]


def _as_scenarios(scenarios) -> list[Scenario]:
    return [s if isinstance(s, Scenario) else Scenario.model_validate(s) for s in scenarios]


def _held(result, scenario: Scenario) -> dict[int, float]:
    """Indicator index -> held level; an indicator the question does not have is an error."""
    ids = list(result.design.indicator_ids)
    held = {}
    for ind_id, value in scenario.set.items():
        if ind_id not in ids:
            hint = nearest(ind_id, ids)
            raise ValueError(
                f"scenario '{scenario.id}' [set.{ind_id}]: '{ind_id}' is not an indicator of question '{result.spec.id}'"
                + (f" (did you mean '{hint}'?)" if hint else "")
            )
        held[ids.index(ind_id)] = float(value)
    return held


class Intervention:
    """The question's model under ``pm.do`` on ``level_now``, evaluated on a result's draws.

    Built once per result and reused for every scenario: which indicators are held, and at what
    level, are shared variables of the intervened graph, so a new scenario needs no new graph.
    """

    def __init__(self, result):
        import pymc as pm
        import pytensor
        import pytensor.tensor as pt
        from pytensor.graph.replace import vectorize_graph

        from forecast.model.hazard import build_model

        design = result.design
        model = build_model(design)
        k = len(design.indicator_ids)
        self.held_mask = pytensor.shared(np.zeros(k, dtype=bool), name="held_mask")
        self.held_level = pytensor.shared(np.zeros(k), name="held_level")
        if k:
            model = pm.do(model, {"level_now": pt.switch(self.held_mask, self.held_level, model["level"][:, -1])})
        post = result.idata["posterior"].to_dataset()
        missing = [rv.name for rv in model.free_RVs if rv.name not in post.data_vars]
        if missing:
            raise ValueError(
                f"the posterior of {result.spec.id} as of {result.as_of} lacks the draws of {', '.join(missing)} "
                "(a reweighted replay point?): scenarios need the posterior of a full fit"
            )
        # The as-of month's log rate as a function of the free parameters, vectorised over draws
        # (a leading batch axis): one call evaluates every draw. Only the free parameters go in,
        # never the stored Deterministics (level_now, log_rate), which hold the values as fitted.
        inputs = {rv: pt.tensor(name=rv.name, shape=(None, *rv.type.shape), dtype=rv.dtype) for rv in model.free_RVs}
        log_rate_now = vectorize_graph(model["log_rate"][design.n_months - 1], replace=inputs)
        # FAST_COMPILE: a small graph evaluated once per scenario on arrays; a numba compilation
        # would cost a minute on a fresh machine and save nothing here
        self._fn = pytensor.function(list(inputs.values()), log_rate_now, mode="FAST_COMPILE", on_unused_input="ignore")
        self._args = [np.asarray(post[rv.name].values).reshape(-1, *post[rv.name].shape[2:]) for rv in model.free_RVs]
        self._shape = (post.sizes["chain"], post.sizes["draw"])

    def log_rate_now(self, held: dict[int, float]) -> np.ndarray:
        r"""Draws of the as-of month's log rate :math:`\eta'_{T-1}` under an intervention.

        Parameters
        ----------
        held : dict of int to float
            Indicator index -> level held (standardized units); empty: as fitted.

        Returns
        -------
        (chain, draw) array
            Log events per month.
        """
        mask = np.zeros(self.held_mask.get_value().shape, dtype=bool)
        level = np.zeros(mask.shape)
        for k, v in held.items():
            mask[k], level[k] = True, v
        self.held_mask.set_value(mask)
        self.held_level.set_value(level)
        return np.asarray(self._fn(*self._args)).reshape(self._shape)


def intervened_log_rate(result, held: dict[int, float]) -> np.ndarray:
    """Posterior draws of the as-of month's log rate under ``do(level_now[k] := v_k)``.

    Parameters
    ----------
    result : FitResult
    held : dict
        Indicator index (into ``result.design.indicator_ids``) -> held level. Empty: no
        intervention (the log rate as fitted).

    Returns
    -------
    numpy.ndarray
        (chain, draw) array.
    """
    return Intervention(result).log_rate_now(held)


def scenario_probabilities(result, held: dict[int, float], intervention: Intervention | None = None) -> tuple[list[str], np.ndarray]:
    """Draws of P(event by each curve date | no event by as-of) under a scenario.

    Parameters
    ----------
    result : FitResult
    held : dict of int to float
        Indicator index -> level held from the as-of date on (standardized units).
    intervention : Intervention, optional
        An :class:`Intervention` of ``result`` (saves rebuilding the graph).

    Returns
    -------
    (labels, p)
        The curve dates (ISO strings, those of ``result.curve()``) and a (chain, draw, date) array.
        With ``held`` empty this reproduces the fitted ``p_event_curve`` exactly.
    """
    labels, p = _scenario_draws(result, [held], intervention or Intervention(result))
    return labels, p[0]


def _scenario_group(result, held: dict[int, float], intervention: Intervention) -> xr.Dataset:
    """The draws the forecast reads under a scenario: the as-of month's log rate, effects and
    volatilities, a held indicator's volatility 0 (it stops moving)."""
    design = result.design
    post = result.idata["posterior"]
    log_rate = np.zeros((post.sizes["chain"], post.sizes["draw"], design.n_months))
    log_rate[..., -1] = intervention.log_rate_now(held)  # the forecast reads only the as-of month
    group = xr.Dataset({"log_rate": (("chain", "draw", "month"), log_rate)})
    if design.indicator_ids:
        volatility = np.array(post["volatility"].values, dtype=float)
        volatility[..., list(held)] = 0.0
        group["volatility"] = (("chain", "draw", "indicator"), volatility)
        group["effect"] = (("chain", "draw", "indicator"), np.asarray(post["effect"].values, dtype=float))
    return group


def _scenario_draws(result, helds: list[dict[int, float]], intervention: Intervention) -> tuple[list[str], np.ndarray]:
    """Curve draws of several scenarios, over the same future paths generated once: (labels, (G, chain, draw, date))."""
    from forecast.model.prediction import forecast_draws_batch, forecast_targets

    future, u_h, labels, u_curve = forecast_targets(result.design, result.spec.horizons)
    groups = [_scenario_group(result, held, intervention) for held in helds]
    # the same targets (horizons, then curve points) as add_forecast: same simulated paths
    p = forecast_draws_batch(groups, result.design, np.concatenate([u_h, u_curve]), result.n_paths, result.seed)
    return labels, p[..., len(future):]


def _summarise(labels, draws: np.ndarray) -> pd.DataFrame:
    flat = draws.reshape(-1, draws.shape[-1])
    q = np.quantile(flat, [0.05, 0.95], axis=0)
    return pd.DataFrame({"date": pd.to_datetime(labels), "mean": flat.mean(axis=0), "lower_90": q[0], "upper_90": q[1]})


def scenario_curves(result, question=None, scenarios=None) -> pd.DataFrame:
    """What-if curves: P(event by date) under each scenario, plus the forecast as fitted.

    Parameters
    ----------
    result : FitResult
    question : Question, optional
        Its spec's ``scenarios`` are used when ``scenarios`` is not given (else ``result.spec``'s).
    scenarios : list of Scenario or dict, optional
        Scenarios to compute instead of the declared ones.

    Returns
    -------
    pandas.DataFrame
        Long format, columns ``scenario, name, description, date, mean, lower_90, upper_90,
        headline``: one row per scenario and date of ``result.curve()``, first the rows with
        ``scenario == "baseline"`` (the forecast as fitted). ``headline`` marks the row at
        ``result.headline`` (the curve passes through every horizon), i.e. each scenario's headline.
    """
    spec = question.spec if question is not None else result.spec
    scenarios = _as_scenarios(spec.scenarios if scenarios is None else scenarios)
    held = {s.id: _held(result, s) for s in scenarios}  # every scenario checked before any work
    base = result.curve()[["date", "mean", "lower_90", "upper_90"]]
    frames = [base.assign(scenario=BASELINE, name="As forecast", description="The forecast as fitted: every indicator keeps moving.")]
    if scenarios:  # every scenario over the same paths, generated once
        labels, draws = _scenario_draws(result, [held[s.id] for s in scenarios], Intervention(result))
        for s, p in zip(scenarios, draws):
            frames.append(_summarise(labels, p).assign(scenario=s.id, name=s.name, description=s.description))
    out = pd.concat(frames, ignore_index=True)
    out["headline"] = out["date"] == pd.Timestamp(result.headline) if result.headline else False
    return out[COLUMNS]
