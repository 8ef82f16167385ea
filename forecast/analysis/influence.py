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

An item's likelihood :math:`p(y_i \mid \theta)` is the model's own pointwise log-likelihood of the
item (the ``evidence`` variable of the fit's ``log_likelihood`` group, :func:`item_log_likelihood`).
The smoothing, the Pareto :math:`\hat k` diagnostic and the Monte Carlo SE of the reweighted mean
come from :mod:`forecast.inference.importance` (``arviz_stats``' PSIS).

**Where PSIS is unreliable** (:math:`\hat k` above ``k_threshold``, 0.7 by default, or above
:math:`1 - 1/\log_{10} S` when the :math:`S` draws are too few for 0.7 (0.64 for 600 draws): the
item carries so much information the full posterior has too few draws where it is absent), the question
is refitted without the item with the same as-of date, seed and sampler settings, and the exact
difference is reported (``method == "refit"``). A refit computes only what the table needs
(:func:`headline_without`): NUTS on the question without the item and P(event by the headline
horizon) for each draw, over the same future paths (same seed) as the full fit; no prior draws,
pointwise log-likelihood or curve. It is *warm-started* from the full fit: each chain starts at the
last draw of the full fit's chain (the posterior without one item is close to the posterior with
it: that is what a large k measures the limits of, not a reason to start from nowhere) and tunes for
:data:`REFIT_TUNE` steps, then keeps :data:`REFIT_DRAWS` draws in all, split over the chains
(assumptions, sized on ``belarus-entry`` as of 2024-09-30: tree depth, step size and acceptance
settle within 150 tuning steps from there; 4 x 750 draws give the headline an MCSE near 0.0015,
well inside the spec's 0.005, and passed every threshold in each of three refits, where 4 x 500
missed r_hat <= 1.01 on one of them, at 1.011). The refit is diagnosed like any fit
(:func:`~forecast.inference.diagnostics.check_sampling` against the spec's thresholds: divergences,
E-BFMI, tree depth, the headline's r_hat, ESS and MCSE, and r_hat and ESS of every parameter but
the latent innovations, whose largest per-element r_hat over some 300 elements passed 1.01 by
chance alone at 500 draws a chain, 1.017, while the reported number's was 1.000); one that
misses a threshold is run again with twice the draws from where its chains ended, then with the
full fit's tuning from PyMC's default start, and one that still misses is reported as flagged
(``attrs["refits"]``, :func:`pareto_k_note`).
Refits are the expensive part: an item is refitted only when PSIS is unreliable for it *and* it matters, its estimated
:math:`|\Delta_i|` above ``min_influence`` (half a percentage point by default, the size of the
headline's Monte Carlo error threshold; an item whose absence moves the headline by hundredths of a
point changes no reading of the table, whatever its :math:`\hat k`), and at most ``max_refits``
of them, the largest estimated :math:`|\Delta_i|` first (the PSIS estimate, unreliable as it is,
still ranks an item whose absence moves the headline by points above one that moves it by
hundredths: a refit buys the most where the table would otherwise show a large number it cannot
vouch for). The refits are independent tasks (:func:`forecast.core.cluster.map_tasks`: in this
process, or on a Dask cluster given a client), with a ``progress(done, total)`` callback. An item
above the threshold that is not refitted keeps its PSIS estimate and its :math:`\hat k`, so a
reader can see it is unreliable; :func:`pareto_k_note` is the one line that says so under the table.

A **resolution item** (``resolves: true``) is not an indicator observation and never enters this
table: it ends the risk window and fixes the headline at 1, and a resolved question (or one with no
horizon after the as-of date) gets an empty table.

**Change attribution** (:func:`attribute_changes`, the change report of ``forecast update``) is the
same reweighting applied to the *previous* run's posterior, on the quantity the change report
compares (the rolling headline, P(event within L months of the as-of date); the headline horizon
for a question without one): by the likelihood of an added item, the inverse likelihood of a
removed one (or of one not yet published at the new as-of date), and the ratio new / old of an
edited one, each item alone, with
the Pareto :math:`\hat k` of each estimate reported beside it. An item that moves the posterior far
(an A1 value edited by several SDs) leaves a handful of draws with all the weight (:math:`\hat k > 0.7`),
and the reweighted mean is then noise, of either sign. There the move is estimated to first order
instead: for the tilted posterior :math:`p_\varepsilon \propto p\, e^{\varepsilon g}` with
:math:`g` the log ratio, :math:`\frac{d}{d\varepsilon}\mathbb E_\varepsilon[P] = \operatorname{Cov}_\varepsilon(P, g)`,
so the move from :math:`\varepsilon = 0` to 1 is about :math:`\operatorname{Cov}(P, g)` under the
previous posterior (exact when the posterior is Gaussian, :math:`g` linear and :math:`P` linear in
the parameters; ``method == "linear"``). A cheap ranking for the change report; the exact effect of
one change is a refit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import timegrid

COLUMNS = ["id", "indicator", "grade", "quote", "influence", "pareto_k", "method"]


def pareto_k_note(table: pd.DataFrame) -> str:
    """One line for under an influence table: what Pareto k says about each row.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`evidence_influence` output (its ``attrs["k_limit"]`` is the limit it applied).

    Returns
    -------
    str
        The limit; how many PSIS estimates above it were kept, and why (beyond the refits allowed,
        refits turned off, generated items that cannot be left out, too small to matter); the
        largest MCSE of a refit's headline and the refits whose diagnostics missed a threshold.
    """
    limit = float(table.attrs.get("k_limit", 0.7))
    small_limit = float(table.attrs.get("min_influence", MIN_REFIT_INFLUENCE))
    allowed = table.attrs.get("max_refits")  # None: a table from before the attribute was kept
    kept = small = fixed = 0
    if len(table):
        unreliable = (table["method"] == "psis") & (table["pareto_k"] > limit)
        generated = unreliable & table["id"].isin(list(table.attrs.get("generated", ())))
        too_small = unreliable & ~generated & (table["influence"].abs() <= small_limit) & (table["pareto_k"] <= NO_MEAN_K)
        kept, small, fixed = int((unreliable & ~generated & ~too_small).sum()), int(too_small.sum()), int(generated.sum())

    def n(count):
        return f"{count} estimate{'s' if count > 1 else ''}"

    text = f"Pareto k: how reliable a psis estimate is; up to {limit:.2f} it is"
    if allowed == 0:
        text += ", above it it is not; refits were turned off for this table"
        if kept:
            text += f"; {n(kept)} above it shown with k and not reliable"
    else:
        text += (f", above it an item moving the headline more than {100 * small_limit:.1f} points, or any above "
                 f"{NO_MEAN_K:.0f} (whose estimate says nothing of its size), is refitted (refit)")
        text += f", at most {allowed}" if allowed is not None else ""
        if kept:
            text += f"; {n(kept)} above it, beyond the refits allowed, shown with k and not reliable"
    if fixed:
        text += (f"; {n(fixed)} above it of items generated from the source's picture, which cannot be left out "
                 "(no refit), shown with k and not reliable")
    if small:
        text += (f"; {n(small)} above it but within {100 * small_limit:.1f} points, not refitted "
                 "(too small to change the reading), shown with k")
    refits = table.attrs.get("refits") or []
    if refits:
        mcse = max(r["mcse"] for r in refits)
        text += f"; each refit's headline has an MCSE of at most {100 * mcse:.2f} points"
        flagged = [r["id"] for r in refits if not r["passed"]]
        if flagged:
            text += f" (FLAGGED, its diagnostics miss the spec's thresholds: {', '.join(flagged)})"
    return text + "."


def item_log_likelihood(result) -> xr.DataArray:
    """log p(y_i | theta) of every in-scope evidence item for every posterior draw.

    Parameters
    ----------
    result : FitResult

    Returns
    -------
    xarray.DataArray
        Dims (chain, draw, item), item labelled by evidence id, in nats: the ``evidence`` term of
        the model's pointwise log-likelihood (the fit's ``log_likelihood`` group, or computed from
        the model's graph for a tree saved without it).

    Raises
    ------
    ValueError
        The posterior holds no draws of the indicator levels (a reweighted replay point).
    """
    from forecast.inference.sampling import log_likelihood

    d = result.design
    post = result.idata["posterior"]
    if d.indicator_ids and "level" not in post.data_vars:
        raise ValueError(
            f"the posterior of {result.spec.id} as of {result.as_of} holds no draws of the indicator levels "
            "(a reweighted replay point?): evidence influence needs the posterior of a full fit"
        )
    if not len(d.evidence_ids):
        return xr.DataArray(np.zeros((post.sizes["chain"], post.sizes["draw"], 0)), dims=("chain", "draw", "item"),
                            coords={"chain": post["chain"].values, "draw": post["draw"].values, "item": []})
    if "log_likelihood" in result.idata.children and "evidence" in result.idata["log_likelihood"].data_vars:
        loglik = result.idata["log_likelihood"]["evidence"]
    else:
        loglik = log_likelihood(d, post.to_dataset())["evidence"]
    return loglik.transpose("chain", "draw", "item").assign_coords(item=list(d.evidence_ids))


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

    from forecast.inference.importance import psis

    horizon = _headline_date(result, horizon)
    post = result.idata["posterior"]
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    p = result.p_by(horizon).reshape(chains, draws)
    loglik = item_log_likelihood(result)
    n = chains * draws
    columns = ["id", "full_mean", "loo_mean", "mcse", "pareto_k", "r_eff"]
    if not len(result.design.evidence_ids):
        return pd.DataFrame(columns=columns)
    # relative efficiency of each item's likelihood values, as the loo package computes it
    # (ESS of exp(log lik), rescaled so the largest value is 1 to stay in range)
    likelihood = np.exp(loglik - loglik.max(dim=("chain", "draw")))
    r_eff = np.clip(np.asarray(arviz_stats.ess(likelihood, method="mean").values, dtype=float) / n, 1e-3, 1.0)
    # leaving item i out reweights the posterior by 1 / p(y_i | theta)
    weights = psis(-loglik.transpose("item", "chain", "draw").values, r_eff=r_eff)
    # every item's mean and MCSE at once (one arviz_stats call for 5,000 items, not 5,000 calls)
    return pd.DataFrame({"id": list(result.design.evidence_ids), "full_mean": float(p.mean()), "loo_mean": np.asarray(weights.mean(p), dtype=float),
                         "mcse": np.atleast_1d(weights.mcse(p)), "pareto_k": np.asarray(weights.pareto_k, dtype=float), "r_eff": r_eff.astype(float)},
                        columns=columns)


def reliable_k(result, k_threshold: float = 0.7) -> float:
    r"""Largest Pareto k at which PSIS is trusted: ``k_threshold``, or ``1 - 1/log10(S)`` if lower.

    With :math:`S` draws the PSIS error of a mean shrinks usefully only below :math:`1 - 1/\log_{10} S`
    (Vehtari et al., "Pareto smoothed importance sampling", JMLR 2024): 0.64 for 600 draws, 0.7
    from about 2200 draws up.

    Parameters
    ----------
    result : FitResult
        Its number of draws ``S``.
    k_threshold : float
        The usual limit.

    Returns
    -------
    float
    """
    post = result.idata["posterior"]
    n = post.sizes["chain"] * post.sizes["draw"]
    return float(min(k_threshold, 1.0 - 1.0 / np.log10(n)))


def refit_settings(result) -> dict:
    """Sampler settings of ``result`` as keyword arguments of :meth:`Question.fit`.

    Chains and draws are read off the posterior, tuning steps off ``sample_stats`` (PyMC records
    them), future paths and seed off the result; target acceptance comes from the spec, which the
    refit shares.

    Parameters
    ----------
    result : FitResult

    Returns
    -------
    dict
        ``as_of, seed, chains, draws, tune, future_paths``.
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
    """Headline mean without ``item_id`` from a whole fit with the result's settings.

    The full :meth:`Question.fit` (prior, log-likelihood, curve, all diagnostics), for a reader
    who wants the refit itself; influence tables use the leaner :func:`headline_without`.

    Parameters
    ----------
    result : FitResult
    question : Question
        The question ``result`` was fitted from.
    item_id : str
        The evidence item to leave out.
    horizon : date or str, optional
        Default ``result.headline``.

    Raises
    ------
    ValueError
        ``item_id`` is not an item of ``question``.

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


MIN_REFIT_INFLUENCE = 0.005  # |estimated influence| (probability) below which an unreliable estimate is not refitted
# above this Pareto k the importance ratios have no finite mean, so a PSIS estimate gives no
# reliable size either, small or large (Vehtari, Simpson, Gelman, Yao and Gabry 2024, "Pareto
# smoothed importance sampling", JMLR 25(72), section 3): such an item is refitted whatever its estimate
NO_MEAN_K = 1.0


def refit_candidates(loo: pd.DataFrame, limit: float, generated=(), min_influence: float = MIN_REFIT_INFLUENCE,
                     max_refits: int = 3) -> pd.DataFrame:
    """The rows of a PSIS influence table worth an exact refit, in the order to refit them.

    Parameters
    ----------
    loo : pandas.DataFrame
        :func:`leave_one_out_means` with an ``influence`` column (PSIS estimates).
    limit : float
        Pareto k above which PSIS is unreliable (:func:`reliable_k`).
    generated : collection of str
        Ids of generated items (the source's picture), which cannot be left out of the files.
    min_influence : float
        Refit only estimates with ``|influence|`` above this (probability; 0.005 = half a point).
    max_refits : int
        At most this many.

    Returns
    -------
    pandas.DataFrame
        Rows of ``loo`` with ``pareto_k > limit`` and either ``|influence| > min_influence`` or
        ``pareto_k >`` :data:`NO_MEAN_K` (an estimate that says nothing about its size), not
        generated: those above the threshold first, largest ``|influence|`` first (ties: larger k
        first), then the others by k; at most ``max_refits``.
    """
    size = loo["influence"].abs()
    keep = (loo["pareto_k"] > limit) & ((size > min_influence) | (loo["pareto_k"] > NO_MEAN_K)) & ~loo["id"].isin(list(generated))
    chosen = loo[keep].assign(large=(size > min_influence)[keep], size=size[keep])
    order = chosen.sort_values(["large", "size", "pareto_k"], ascending=False, kind="stable")
    return order.head(max(max_refits, 0)).drop(columns=["large", "size"])


REFIT_TUNE = 200  # tuning steps of a warm-started refit (an assumption, see the module docstring)
REFIT_DRAWS = 3000  # kept draws of a refit in all, split over the full fit's chains (750 each of 4)


def refit_draws(chains: int) -> int:
    """Kept draws per chain of a warm-started refit: :data:`REFIT_DRAWS` over ``chains``, rounded up."""
    return -(-REFIT_DRAWS // max(chains, 1))


@dataclasses.dataclass(frozen=True)
class Refit:
    """The headline of one refit without an item (:func:`headline_without`).

    Attributes
    ----------
    item_id : str
        The item left out.
    mean : float
        Posterior mean of P(event by the headline horizon) without the item (probability).
    diagnostics : forecast.inference.diagnostics.SamplingDiagnostics
        Of the refit that was kept, against the spec's thresholds (its ``headline_mcse`` is the
        Monte Carlo SE of ``mean``).
    chains, draws, tune : int
        Its sampler settings.
    warm : bool
        Whether it started from draws (the full fit's, or for a second try with twice the draws,
        the first try's); False: the full fit's tuning from PyMC's default start, after both
        warm-started tries missed a threshold.
    n_items : int
        Evidence items it was fitted to (one fewer than the full fit's).
    seconds : float
        Wall time of the refit, every try included.
    """

    item_id: str
    mean: float
    diagnostics: object
    chains: int
    draws: int
    tune: int
    warm: bool
    n_items: int
    seconds: float

    def to_dict(self) -> dict:
        """JSON-ready summary (for ``attrs["refits"]`` of an influence table)."""
        d = self.diagnostics
        return {"id": self.item_id, "mean_without": self.mean, "mcse": float(d.headline_mcse), "passed": bool(d.passed),
                "problems": list(d.problems), "divergences": int(d.divergences), "chains": self.chains, "draws": self.draws,
                "tune": self.tune, "warm": self.warm, "seconds": round(self.seconds, 2)}


def warm_start(posterior, chains: int) -> list[dict]:
    """Starting points of a refit's chains: the last draw of each chain of ``posterior`` (cycled).

    Parameters
    ----------
    posterior : xarray.Dataset or DataTree group
        Draws (chain, draw, ...) of the free parameters (a fit's, or a refit's first try).
    chains : int

    Returns
    -------
    list of dict
        ``chains`` dicts of the free parameters' values (constrained space, PyMC's ``initvals``).
    """
    from forecast.model.hazard import FREE_PARAMETERS

    names = [n for n in FREE_PARAMETERS if n in posterior.data_vars]
    n = posterior.sizes["chain"]
    return [{name: np.asarray(posterior[name].isel(chain=c % n, draw=-1).values) for name in names} for c in range(chains)]


def _refit_task(task) -> Refit:
    """One refit without an item (what :func:`headline_without` runs; also a Dask task).

    The task carries the question, the item, the settings (:func:`refit_settings`), the horizon,
    the thresholds and the warm start, not the fit itself; the refit's draws stay where it ran.
    """
    import time

    from forecast.inference.diagnostics import check_sampling, variable_table
    from forecast.inference.sampling import sample_posterior
    from forecast.model.hazard import FREE_PARAMETERS
    from forecast.model.prediction import forecast_draws

    question, item_id, settings, horizon, thresholds, initvals, cores = task
    t0 = time.perf_counter()
    kept = [li for li in question.evidence if li.item.id != item_id]
    q = dataclasses.replace(question, evidence=kept)
    design = q.design(settings["as_of"])
    lean = refit_draws(settings["chains"])
    # warm: REFIT_DRAWS draws; missing a threshold, twice as many from where those chains ended;
    # missing again (or not warm), the full fit's tuning from PyMC's default start
    runs = [(lean, REFIT_TUNE, initvals), (2 * lean, REFIT_TUNE, "continue")] if initvals is not None else []
    runs.append((max(lean, settings["draws"]), settings["tune"], None))
    post = None  # the posterior of the try before
    for draws, tune, start in runs:
        if start == "continue":  # each chain starts at the last draw of the try before
            start = warm_start(post, settings["chains"])
        tree = sample_posterior(design, draws=draws, tune=tune, chains=settings["chains"], seed=settings["seed"],
                                target_accept=q.spec.sampler.target_accept, cores=cores, initvals=start)
        post = tree["posterior"].to_dataset()
        p = forecast_draws(post, design, np.array([design.u(horizon)]), settings["future_paths"], settings["seed"])
        post["p_event_by"] = xr.DataArray(p, dims=("chain", "draw", "horizon"), coords={"horizon": [horizon.isoformat()]})
        tree["posterior"] = xr.DataTree(post)
        # r_hat and ESS of the headline and of every parameter but the latent innovations: the
        # refit reports one number (their many elements' largest r_hat at 500 draws a chain
        # passed 1.01 by chance alone, 1.017, while the headline's was 1.000)
        table = variable_table(post, [n for n in FREE_PARAMETERS if n in post.data_vars and n != "innovation"])
        diagnostics = check_sampling(tree, 0, thresholds, table=table)
        if diagnostics.passed:
            break
    return Refit(item_id=item_id, mean=float(p.mean()), diagnostics=diagnostics, chains=settings["chains"], draws=draws, tune=tune,
                 warm=start is not None, n_items=len(design.evidence_ids), seconds=time.perf_counter() - t0)


def headline_without(result, question, item_id: str, horizon=None, warm: bool = True, cores: int | None = None) -> Refit:
    """The headline mean without ``item_id``, from a lean refit (see the module docstring).

    Parameters
    ----------
    result : FitResult
        The full fit (its seed, chains, future paths, as-of date and thresholds; its last draws
        start the refit's chains).
    question : Question
        The question ``result`` was fitted from.
    item_id : str
        The evidence item to leave out.
    horizon : date or str, optional
        Default ``result.headline``.
    warm : bool
        Start from ``result``'s draws with :data:`REFIT_TUNE` tuning steps and :func:`refit_draws`
        draws per chain, again with twice the draws if that misses a threshold (False: the full
        fit's tuning steps, the larger of its draws and :func:`refit_draws`, from PyMC's default
        start; also the last try of a warm-started refit that misses a threshold twice).
    cores : int, optional
        Processes for the chains (default as many as the chains, capped by the CPU count).

    Returns
    -------
    Refit
        Mean, diagnostics and settings of the refit kept.

    Raises
    ------
    ValueError
        ``item_id`` is not an item of ``question``, or is a generated (source-picture) item.
    """
    horizon = _headline_date(result, horizon)
    if item_id in result.design.generated_ids:
        raise ValueError(f"evidence item '{item_id}' is generated from the source's picture, not read from a file: "
                         "it cannot be left out (its influence stays the PSIS estimate)")
    if not any(li.item.id == item_id for li in question.evidence):
        raise ValueError(f"evidence item '{item_id}' is not in question '{question.id}'")
    from forecast.inference.sampling import chain_cores

    settings = refit_settings(result)
    initvals = warm_start(result.idata["posterior"], settings["chains"]) if warm else None
    return _refit_task((question, item_id, settings, horizon, result.spec.thresholds, initvals, chain_cores(settings["chains"], cores)))


def evidence_influence(result, question, horizon=None, k_threshold: float = 0.7, refit: bool = True, max_refits: int = 3,
                       min_influence: float = MIN_REFIT_INFLUENCE, progress=None, client=None) -> pd.DataFrame:
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
        Refit without the item where k exceeds ``k_threshold`` (:func:`headline_without`).
    max_refits : int
        At most this many refits, spent on the unreliable estimates (k above the limit) with the
        largest estimated ``|influence|`` first.
    min_influence : float
        Refit only unreliable estimates whose ``|influence|`` exceeds this (probability; default
        :data:`MIN_REFIT_INFLUENCE`, half a percentage point); see :func:`refit_candidates`.
    progress : callable, optional
        ``progress(done, total)`` as refits finish (called once with ``(0, total)`` first).
    client : distributed.Client, optional
        Run the refits as tasks on this Dask cluster (one per item; the same numbers, each refit
        has the result's seed, settings and warm start); None refits here, one after another.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, indicator, grade, quote, influence, pareto_k, method``: ``influence`` is the
        headline mean with the item minus without it (positive = the item pushes toward the event),
        ``method`` is ``"psis"`` or ``"refit"``; sorted by ``|influence|``, largest first. Empty
        for a resolved question, one without a horizon after the as-of date, or no items in scope.
        ``attrs["k_limit"]`` is the Pareto k limit applied (:func:`reliable_k`; see
        :func:`pareto_k_note`); ``attrs["refits"]`` one dict per refit (:meth:`Refit.to_dict`:
        mean without the item, its MCSE, whether its diagnostics passed, settings, seconds; and the
        ``psis_influence`` and ``pareto_k`` that chose it); ``attrs["max_refits"]`` the refits
        allowed (0 when ``refit`` is False) and ``attrs["generated"]`` the ids of the generated
        (source-picture) items, which are never refitted.
    """
    if result.spec.id != question.id:
        raise ValueError(f"result is of question '{result.spec.id}', not '{question.id}'")
    horizon = _headline_date(result, horizon)
    limit = reliable_k(result, k_threshold)
    if horizon is None or result.design.resolved_on is not None or not result.design.evidence_ids:
        empty = pd.DataFrame(columns=COLUMNS)
        empty.attrs.update(k_limit=limit, min_influence=min_influence, refits=[], max_refits=max(max_refits, 0) if refit else 0,
                           generated=list(result.design.generated_ids))
        return empty
    # the source-picture items are generated by the design, not read from the question's evidence
    items = {li.item.id: li.item for li in [*question.evidence, *result.design.generated]}
    missing = [i for i in result.design.evidence_ids if i not in items]
    if missing:
        raise ValueError(f"evidence item(s) {', '.join(missing)} of the fit are not in question '{question.id}'")

    loo = leave_one_out_means(result, horizon)
    loo["influence"] = loo["full_mean"] - loo["loo_mean"]
    loo["method"] = "psis"
    if refit and max_refits > 0:
        from forecast.core.cluster import TaskError, TaskFailure, map_tasks

        # the refits go where the table would otherwise print the largest number it cannot vouch for
        chosen = refit_candidates(loo, limit, result.design.generated_ids, min_influence, max_refits)
        if progress is not None:
            progress(0, len(chosen))
        if client is None:
            refits = []
            for item_id in chosen["id"]:
                refits.append(headline_without(result, question, item_id, horizon))
                if progress is not None:
                    progress(len(refits), len(chosen))
        else:  # one task per refit on the Dask cluster, each in one process (the worker is the unit)
            settings = refit_settings(result)
            initvals = warm_start(result.idata["posterior"], settings["chains"])
            tasks = [(question, item_id, settings, horizon, result.spec.thresholds, initvals, 1) for item_id in chosen["id"]]
            refits = map_tasks(_refit_task, tasks, client, progress=progress, name="forecast-refit")
        refit_rows = []
        for (idx, row), refit_ in zip(chosen.iterrows(), refits):
            if isinstance(refit_, TaskFailure):
                raise TaskError(refit_)
            loo.loc[idx, "influence"] = row["full_mean"] - refit_.mean
            loo.loc[idx, "method"] = "refit"
            refit_rows.append({**refit_.to_dict(), "psis_influence": float(row["influence"]), "pareto_k": float(row["pareto_k"])})
    else:
        refit_rows = []

    loo["indicator"] = [items[i].indicator for i in loo["id"]]
    loo["grade"] = [items[i].grade for i in loo["id"]]
    loo["quote"] = [items[i].quote for i in loo["id"]]
    order = loo["influence"].abs().sort_values(ascending=False, kind="stable").index
    table = loo.loc[order, COLUMNS].reset_index(drop=True)
    table.attrs.update(k_limit=limit, min_influence=min_influence, refits=refit_rows, max_refits=max(max_refits, 0) if refit else 0,
                       generated=list(result.design.generated_ids))
    return table


# --------------------------------------------------------------------------------------------------
# change attribution


def _rows(design, index: list[int]) -> dict[str, np.ndarray]:
    """The evidence arrays of items ``index`` of ``design`` (the ``pm.Data`` of those items)."""
    return {
        "evidence_indicator": np.asarray(design.evidence_indicator)[index],
        "evidence_month": np.asarray(design.evidence_month)[index],
        "evidence_base_month": np.asarray(design.evidence_base_month)[index],
        "evidence_sd": np.asarray(design.evidence_sd)[index],
        "evidence_value": np.asarray(design.evidence_value)[index],
    }


def attribute_changes(previous, design, changes: dict, question=None) -> list[dict]:
    r"""How much each added, removed or edited evidence item moves the previous headline.

    The previous run's posterior is importance-reweighted (PSIS, :mod:`forecast.inference.importance`)
    by each item's likelihood (added), its inverse (removed) or the ratio new / old (edited), one item
    at a time; the estimated move is the reweighted minus the plain mean of the previous headline
    draws. Likelihoods are the model's own: the stored ``log_likelihood`` of the previous fit for an
    item it saw, and the model's graph on the previous draws for a new version of an item
    (:func:`forecast.inference.sampling.evidence_log_likelihood`). A new item dated after the previous
    grid's last month is scored at that month (the previous posterior has no later levels).

    Parameters
    ----------
    previous : FitResult
        The previous run, loaded from its tree.
    design : Design
        The person-period data of the new run (its items in scope).
    changes : dict
        ``added``, ``removed``, ``not_yet_published`` and ``edited`` lists of item ids (the change
        report); an item not yet published at the new as-of date leaves the fit like a removed one.
    question : Question, optional
        Supplies each item's grade for the report.

    Returns
    -------
    list of dict
        ``id, change, estimated_move, method`` (``estimated_move``: of the previous run's rolling
        headline, or of its headline horizon when it has none; ``"psis"``, or ``"linear"`` where :math:`\hat k` is
        above :func:`reliable_k`: see the module docstring), ``mcse`` (of a PSIS estimate; None for a
        linear one), ``indicator, grade, pareto_k, importance_ess``, sorted by
        ``|estimated_move|``, largest first. Empty when the previous run has no headline, no latent
        levels (a replay point) or is resolved. Items about a question-level resolution, or on an
        indicator the previous run did not have, are left out.
    """
    from forecast.inference.importance import psis
    from forecast.inference.sampling import evidence_log_likelihood

    post = previous.idata["posterior"]
    old = previous.design
    if previous.headline is None or old.resolved_on is not None or not old.indicator_ids or "level" not in post.data_vars:
        return []
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    # the quantity the change report compares: the rolling headline where there is one
    p = (previous.p_within() if previous.rolling_months else previous.p_by(previous.headline)).reshape(chains, draws)
    level = post["level"].transpose("chain", "draw", "indicator", "month").values
    last = old.n_months - 1
    old_index = {item_id: i for i, item_id in enumerate(old.evidence_ids)}
    new_index = {item_id: i for i, item_id in enumerate(design.evidence_ids)}
    old_loglik = item_log_likelihood(previous) if len(old.evidence_ids) else None
    grades = {li.item.id: li.item.grade for li in question.evidence} if question is not None else {}
    k_max = reliable_k(previous)

    def new_version(item_id):
        """log p(new version of the item | previous draws), or None when it cannot be scored."""
        i = new_index.get(item_id)
        if i is None or design.indicator_ids[design.evidence_indicator[i]] not in old.indicator_ids:
            return None
        rows = _rows(design, [i])
        rows["evidence_indicator"] = np.array([old.indicator_ids.index(design.indicator_ids[design.evidence_indicator[i]])])
        rows["evidence_month"] = np.minimum(rows["evidence_month"], last)
        rows["evidence_base_month"] = np.where(rows["evidence_base_month"] >= 0, np.minimum(rows["evidence_base_month"], last), -1)
        return evidence_log_likelihood(old, level, rows)[..., 0]

    out = []
    for kind in ("added", "removed", "not_yet_published", "edited"):
        for item_id in changes.get(kind, []):
            log_ratio = np.zeros((chains, draws))
            if kind in ("added", "edited"):
                ll = new_version(item_id)
                if ll is None:
                    continue
                log_ratio += ll
            if kind in ("removed", "not_yet_published", "edited"):
                if item_id not in old_index:
                    if kind != "edited":
                        continue
                else:
                    log_ratio -= old_loglik.sel(item=item_id).values
            w = psis(log_ratio)
            if w.pareto_k <= k_max:
                move, method, mcse = float(w.mean(p) - p.mean()), "psis", w.mcse(p)
            else:  # the weights sit on a few draws: first-order (linear-response) estimate
                move, method, mcse = float(np.cov(p.reshape(-1), log_ratio.reshape(-1))[0, 1]), "linear", None
            source = design if item_id in new_index else old
            k = source.evidence_indicator[(new_index if item_id in new_index else old_index)[item_id]]
            out.append({"id": item_id, "change": kind, "estimated_move": move, "method": method, "mcse": mcse,
                        "indicator": source.indicator_ids[k], "grade": grades.get(item_id),
                        "pareto_k": float(w.pareto_k), "importance_ess": float(w.ess)})
    return sorted(out, key=lambda d: -abs(d["estimated_move"]))
