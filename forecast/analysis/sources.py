r"""Each source's weight before and after the evidence: the table of ``forecast sources`` and the brief.

With learned source weights (``sources: learned``, :mod:`forecast.model.hazard`) a source
:math:`s` has a latent weight :math:`w_s` with prior
:math:`\log w_s \sim \mathcal N(\log\rho_{L_s}, \sigma^2)` (median :math:`\rho_{L_s}`, the weight
of its reliability letter, :func:`forecast.model.design.source_weight_prior`); the table compares
that prior with the posterior. A source whose reports disagree with the rest of the evidence ends
with a posterior well below its prior median (``p_below`` near 1); one that agrees keeps it.

In the fixed mode (the default) each source weighs its letter's weight, before and after: the
table shows that, so the command answers for every question.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

COLUMNS = ["source", "name", "kind", "letter", "items", "mode", "prior_median", "prior_lower_90", "prior_upper_90",
           "posterior_mean", "posterior_median", "posterior_lower_90", "posterior_upper_90", "ratio", "p_below", "mcse"]


def source_weights(result, question=None) -> pd.DataFrame:
    """The prior and posterior weight of each source with items in a fit.

    Parameters
    ----------
    result : forecast.inference.result.FitResult
        A fit; its design names the sources (``design.source_ids``) and says the mode.
    question : forecast.inference.question.Question, optional
        Gives each source's name, kind and letter from the registry (``question.sources``);
        without it the name and kind are left empty.

    Returns
    -------
    pandas.DataFrame
        One row per source (registry order), columns :data:`COLUMNS`: ``items`` in scope;
        ``mode`` (``learned`` or ``fixed``); the prior's median and 90% interval of :math:`w_s`
        (a tempering weight, 1 = an A-graded source); the posterior's mean, median and 90%
        equal-tailed interval; ``ratio`` = posterior mean / prior median (the multiplier
        :math:`m_s` the source's items end with, on average); ``p_below`` = posterior
        P(:math:`w_s` < prior median); ``mcse`` the Monte Carlo SE of the posterior mean
        (ArviZ ``mcse``). In the fixed mode posterior = prior = the letter's weight, ``mcse`` 0.
        Empty when the fit had no source registry.
    """
    design = result.design
    registry = getattr(question, "sources", None) if question is not None else None
    counts = np.bincount(design.item_source[design.item_source >= 0], minlength=len(design.source_ids)) if len(design.source_ids) else []
    post = result.idata["posterior"] if design.learned_sources else None
    rows = []
    for i, sid in enumerate(design.source_ids):
        src = None
        if registry is not None:
            try:
                src = registry.get(sid)
            except KeyError:
                src = None
        rho = float(design.source_letter_weight[i])
        row = {"source": sid, "name": src.name if src else "", "kind": src.kind if src else "", "letter": src.reliability if src else "",
               "items": int(counts[i]), "prior_median": rho}
        if post is not None:
            prior = design.source_priors[i].resolved_params()
            mu, sigma = prior["mu"], prior["sigma"]
            if not row["letter"]:
                row["letter"] = design.source_priors[i].source.quote.split()[-1]
            draws = post["source_weight"].sel(source=sid)
            values = np.asarray(draws.values, dtype=float).ravel()
            row.update(
                mode="learned",
                prior_lower_90=math.exp(mu - 1.6448536269514722 * sigma),
                prior_upper_90=math.exp(mu + 1.6448536269514722 * sigma),
                posterior_mean=float(values.mean()),
                posterior_median=float(np.median(values)),
                posterior_lower_90=float(np.quantile(values, 0.05)),
                posterior_upper_90=float(np.quantile(values, 0.95)),
                p_below=float((values < rho).mean()),
                mcse=_mcse(draws),
            )
        else:
            row.update(mode="fixed", prior_lower_90=rho, prior_upper_90=rho, posterior_mean=rho, posterior_median=rho,
                       posterior_lower_90=rho, posterior_upper_90=rho, p_below=0.0, mcse=0.0)
        row["ratio"] = row["posterior_mean"] / rho
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _mcse(draws) -> float:
    """Monte Carlo SE of the mean of a (chain, draw) DataArray (ArviZ)."""
    import arviz_stats
    import xarray as xr

    da = xr.DataArray(np.asarray(draws.transpose("chain", "draw").values, dtype=float), dims=("chain", "draw"))
    return float(arviz_stats.mcse(da, method="mean").values)
