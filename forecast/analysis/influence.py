r"""Evidence influence: how far each evidence item moves the headline, and in which direction.

The influence of item :math:`i` on the headline :math:`P` (P(event by the headline horizon | no
event by the as-of date)) is

.. math::

    \Delta_i = \mathbb E[P \mid y] - \mathbb E[P \mid y_{-i}],

the posterior mean with every in-scope item minus the posterior mean without item :math:`i`;
positive means the item pushes toward the event.

**Without refitting** (Pareto-smoothed importance sampling, PSIS). The posterior without item
:math:`i` is the full posterior reweighted by :math:`1 / p(y_i \mid \theta)`: for posterior draws
:math:`\theta^s` with raw weights :math:`r_s = 1 / p(y_i \mid \theta^s)`,

.. math::

    \mathbb E[P \mid y_{-i}] \approx \sum_s \tilde w_s P(\theta^s), \qquad
    \tilde w = \text{normalise}(\text{pareto\_smooth}(r)).

An item's likelihood is a Normal observation of its indicator (level :math:`x_{k,t}`, or change
:math:`x_{k,t} - x_{k,t-3}`) with the grade's SD, evaluated on the stored draws of ``level``
exactly as the model writes it (:func:`item_log_likelihood`). The smoothing and the Pareto
:math:`\hat k` diagnostic come from ``arviz_stats`` (``psislw``, the PSIS-LOO machinery). The Monte
Carlo SE of the reweighted mean :math:`\hat\mu` is, by the delta method, the MCSE of the mean of
:math:`z_s = S \tilde w_s (P_s - \hat\mu)` over the :math:`S` draws (autocorrelation included).

**Where PSIS is unreliable** (:math:`\hat k` above ``k_threshold``, 0.7 by default, or above
:math:`1 - 1/\log_{10} S` when the :math:`S` draws are too few for 0.7 (0.64 for 600 draws): the
item carries so much information the full posterior has too few draws where it is absent), the question
is refitted without the item with the same as-of date, seed and sampler settings, and the exact
difference is reported (``method == "refit"``). Refits are the expensive part: at most
``max_refits``, the largest :math:`\hat k` first; an item above the threshold that is not refitted
keeps its PSIS estimate and its :math:`\hat k`, so a reader can see it is unreliable.

A **resolution item** (``resolves: true``) is not an indicator observation and never enters this
table: it ends the risk window and fixes the headline at 1, and a resolved question (or one with no
horizon after the as-of date) gets an empty table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import timegrid

COLUMNS = ["id", "indicator", "grade", "quote", "influence", "pareto_k", "method"]


def item_log_likelihood(result) -> xr.DataArray:
    """log p(y_i | theta) of every in-scope evidence item for every posterior draw.

    Parameters
    ----------
    result : FitResult

    Returns
    -------
    xarray.DataArray
        Dims (chain, draw, item), item labelled by evidence id; the Normal log density of each
        item's observed value given the draw's indicator level (or 3-month change), with the
        item's grade SD: the ``evidence`` term of the PyMC model, term by term.
    """
    d = result.design
    post = result.idata["posterior"]
    if "level" not in post.data_vars:
        raise ValueError(
            f"the posterior of {result.spec.id} as of {result.as_of} holds no draws of the indicator levels "
            "(a reweighted replay point?): evidence influence needs the posterior of a full fit"
        )
    level = np.asarray(post["level"].values)  # (chain, draw, indicator, month)
    ind, month, base = d.evidence_indicator, d.evidence_month, d.evidence_base_month
    # a change item (base >= 0) observes x[t] - x[t - window]; a level item (base = -1) observes x[t]
    observed = level[..., ind, month] - np.where(base >= 0, level[..., ind, np.maximum(base, 0)], 0.0)
    z = (d.evidence_value - observed) / d.evidence_sd
    loglik = -0.5 * z**2 - np.log(d.evidence_sd) - 0.5 * np.log(2 * np.pi)
    return xr.DataArray(
        loglik,
        dims=("chain", "draw", "item"),
        coords={"chain": post["chain"].values, "draw": post["draw"].values, "item": list(d.evidence_ids)},
    )


def _headline_date(result, horizon) -> dt.date | None:
    if horizon is None:
        return result.headline
    return timegrid.to_date(horizon)


def leave_one_out_means(result, horizon=None) -> pd.DataFrame:
    """PSIS estimates of the headline mean without each in-scope evidence item.

    Parameters
    ----------
    result : FitResult
    horizon : date or str, optional
        The date of P(event by date); defaults to ``result.headline``.

    Returns
    -------
    pandas.DataFrame
        One row per item in ``result.design.evidence_ids`` order: ``id``, ``full_mean`` (the
        posterior mean with every item), ``loo_mean`` (the PSIS mean without the item), ``mcse``
        (Monte Carlo SE of ``loo_mean``), ``pareto_k`` and ``r_eff`` (relative efficiency of the
        item's likelihood draws, which sets the length of the smoothed tail).
    """
    import arviz_stats

    horizon = _headline_date(result, horizon)
    post = result.idata["posterior"]
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    p = result.p_by(horizon).reshape(chains, draws)
    loglik = item_log_likelihood(result)
    n = chains * draws
    # relative efficiency of each item's likelihood values, as the loo package computes it
    # (ESS of exp(log lik), rescaled so the largest value is 1 to stay in range)
    likelihood = np.exp(loglik - loglik.max(dim=("chain", "draw")))
    r_eff = np.clip(np.asarray(arviz_stats.ess(likelihood, method="mean").values, dtype=float) / n, 1e-3, 1.0)
    rows = []
    for i, item_id in enumerate(result.design.evidence_ids):
        ll = loglik.isel(item=i)
        # psislw smooths log weights proportional to exp(-ll), i.e. 1 / p(y_i | theta): leave-one-out
        log_w, khat = ll.azstats.psislw(dim=["chain", "draw"], r_eff=float(r_eff[i]))
        w = np.exp(np.asarray(log_w.values, dtype=float) - float(log_w.max()))
        w = (w / w.sum()).reshape(chains, draws)
        mean = float((w * p).sum())
        # delta method for a self-normalised importance-sampling mean: its error is the mean of
        # z_s = n w_s (p_s - mean), whose MCSE (arviz, autocorrelation included) is the SE
        z = xr.DataArray(n * w * (p - mean), dims=("chain", "draw"))
        mcse = float(arviz_stats.mcse(z, method="mean"))
        rows.append({"id": item_id, "full_mean": float(p.mean()), "loo_mean": mean, "mcse": mcse, "pareto_k": float(khat), "r_eff": float(r_eff[i])})
    return pd.DataFrame(rows, columns=["id", "full_mean", "loo_mean", "mcse", "pareto_k", "r_eff"])


def reliable_k(result, k_threshold: float = 0.7) -> float:
    r"""Largest Pareto k at which PSIS is trusted: ``k_threshold``, or ``1 - 1/log10(S)`` if lower.

    With :math:`S` draws the PSIS error of a mean shrinks usefully only below :math:`1 - 1/\log_{10} S`
    (Vehtari et al., "Pareto smoothed importance sampling", JMLR 2024): 0.64 for 600 draws, 0.7
    from about 2200 draws up.
    """
    post = result.idata["posterior"]
    n = post.sizes["chain"] * post.sizes["draw"]
    return float(min(k_threshold, 1.0 - 1.0 / np.log10(n)))


def refit_settings(result) -> dict:
    """Sampler settings of ``result`` as keyword arguments of :meth:`Question.fit`.

    Chains and draws are read off the posterior, tuning steps off ``sample_stats`` (PyMC records
    them), future paths and seed off the result; target acceptance comes from the spec, which the
    refit shares.
    """
    post = result.idata["posterior"]
    tune = result.idata["sample_stats"].attrs.get("tuning_steps", result.spec.sampler.tune)
    return {
        "as_of": result.as_of,
        "seed": result.seed,
        "chains": int(post.sizes["chain"]),
        "draws": int(post.sizes["draw"]),
        "tune": int(tune),
        "future_paths": int(result.n_paths),
    }


def refit_without(result, question, item_id: str, horizon=None) -> tuple[float, object]:
    """Exact headline mean without ``item_id``: refit the question with the result's settings.

    Returns
    -------
    (mean, FitResult)
        The posterior mean of P(event by ``horizon``) without the item, and the refit itself.
    """
    horizon = _headline_date(result, horizon)
    kept = [li for li in question.evidence if li.item.id != item_id]
    if len(kept) == len(question.evidence):
        raise ValueError(f"evidence item '{item_id}' is not in question '{question.id}'")
    refit = dataclasses.replace(question, evidence=kept).fit(**refit_settings(result))
    return float(refit.p_by(horizon).mean()), refit


def evidence_influence(result, question, horizon=None, k_threshold: float = 0.7, refit: bool = True, max_refits: int = 3) -> pd.DataFrame:
    """Which evidence items moved the headline most, and in which direction.

    Parameters
    ----------
    result : FitResult
        The fit to explain.
    question : Question
        The question ``result`` was fitted from (its evidence is what a refit leaves an item out of).
    horizon : date or str, optional
        The date of P(event by date); defaults to ``result.headline``.
    k_threshold : float
        Pareto k above which the PSIS estimate is not trusted (0.7, the usual PSIS limit; lower
        for fewer than about 2200 draws, see :func:`reliable_k`).
    refit : bool
        Refit without the item where k exceeds ``k_threshold``.
    max_refits : int
        At most this many refits, the items with the largest k first.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, indicator, grade, quote, influence, pareto_k, method``: ``influence`` is the
        headline mean with the item minus without it (positive = the item pushes toward the event),
        ``method`` is ``"psis"`` or ``"refit"``; sorted by ``|influence|``, largest first. Empty
        for a resolved question, one without a horizon after the as-of date, or no items in scope.
    """
    if result.spec.id != question.id:
        raise ValueError(f"result is of question '{result.spec.id}', not '{question.id}'")
    horizon = _headline_date(result, horizon)
    if horizon is None or result.design.resolved_on is not None or not result.design.evidence_ids:
        return pd.DataFrame(columns=COLUMNS)
    # the source-picture items are generated by the design, not read from the question's evidence
    items = {li.item.id: li.item for li in [*question.evidence, *result.design.generated]}
    missing = [i for i in result.design.evidence_ids if i not in items]
    if missing:
        raise ValueError(f"evidence item(s) {', '.join(missing)} of the fit are not in question '{question.id}'")

    loo = leave_one_out_means(result, horizon)
    loo["influence"] = loo["full_mean"] - loo["loo_mean"]
    loo["method"] = "psis"
    if refit and max_refits > 0:
        refittable = ~loo["id"].isin(result.design.generated_ids)  # a generated item cannot be left out of the files
        flagged = loo[(loo["pareto_k"] > reliable_k(result, k_threshold)) & refittable].sort_values("pareto_k", ascending=False).head(max_refits)
        for idx, row in flagged.iterrows():
            mean_without, _ = refit_without(result, question, row["id"], horizon)
            loo.loc[idx, "influence"] = row["full_mean"] - mean_without
            loo.loc[idx, "method"] = "refit"

    loo["indicator"] = [items[i].indicator for i in loo["id"]]
    loo["grade"] = [items[i].grade for i in loo["id"]]
    loo["quote"] = [items[i].quote for i in loo["id"]]
    order = loo["influence"].abs().sort_values(ascending=False, kind="stable").index
    return loo.loc[order, COLUMNS].reset_index(drop=True)
