r"""Prior and likelihood sensitivity by power-scaling (Kallioinen et al. 2024).

The posterior is perturbed by raising the prior, or the likelihood, to a power :math:`\alpha` near 1,
:math:`p_\alpha(\theta \mid y) \propto p(\theta)^\alpha p(y \mid \theta)`, without refitting: the
perturbed posteriors are the fitted draws with Pareto-smoothed importance weights. The sensitivity of
a quantity is how fast its distribution moves (the derivative of the cumulative Jensen-Shannon
distance at :math:`\alpha = 1`), computed by ArviZ (``arviz_stats.psense_summary``) from the
``log_prior`` and ``log_likelihood`` groups PyMC adds to the fit
(:meth:`~forecast.checks.context.CheckContext.posterior_with_log_densities`).

Only the elicited priors are scaled (baseline probability, starting levels, volatilities, effect
sizes): the random walk's standard-normal steps are structure, not a judgement. The likelihood is the
evidence items and the months of survival together. Every elicited parameter and the forecast at each
horizon is diagnosed, with ArviZ's threshold 0.05:

* **prior-dominated** (prior sensitivity >= 0.05, likelihood sensitivity < 0.05): the data barely
  inform the quantity; its value is the priors' (for a rare event with thin evidence, expected for the
  effect sizes, and worth knowing for the headline);
* **prior-data conflict** (both >= 0.05): prior and data pull the quantity different ways.

The check warns when the headline is prior-dominated or any quantity shows a prior-data conflict;
it never fails.
"""

from __future__ import annotations

import pandas as pd

from forecast.checks.base import CheckResult, add_figure, figure_of, worst
from forecast.checks.context import PRIOR_VARIABLES

NAME = "sensitivity"
THRESHOLD = 0.05
DIAGNOSES = {
    "potential prior-data conflict": "prior-data conflict",
    "potential strong prior / weak likelihood": "prior-dominated",
}


def sensitivity_table(idata, headline: str | None) -> pd.DataFrame:
    """One row per quantity: prior and likelihood power-scaling sensitivity and the diagnosis."""
    import logging

    from arviz_stats import psense_summary

    post = idata["posterior"]
    var_names = [v for v in PRIOR_VARIABLES if v in post.data_vars]
    if "p_event_by" in post.data_vars and post.sizes.get("horizon", 0):
        var_names.append("p_event_by")
    prior_vars = [v for v in PRIOR_VARIABLES if v in idata["log_prior"].data_vars]
    logger = logging.getLogger("arviz_stats.psense")
    level = logger.level
    logger.setLevel(logging.ERROR)  # psense_summary logs a link on every flag; the table says it
    try:
        summary = psense_summary(idata, var_names=var_names, prior_var_names=prior_vars, threshold=THRESHOLD, round_to=4)
    finally:
        logger.setLevel(level)
    table = summary.reset_index().rename(columns={"index": "quantity", "prior": "prior_sensitivity", "likelihood": "likelihood_sensitivity"})
    table["diagnosis"] = table["diagnosis"].map(lambda d: DIAGNOSES.get(d, ""))
    head = f"p_event_by[{headline}]" if headline else None
    table.insert(1, "headline", table["quantity"] == head)
    return table[["quantity", "headline", "prior_sensitivity", "likelihood_sensitivity", "diagnosis"]]


def run(ctx) -> CheckResult:
    """Run the power-scaling check on a :class:`~forecast.checks.context.CheckContext`."""
    ctx.progress(NAME, 0, 1, "fitting and computing log densities")
    idata = ctx.posterior_with_log_densities()
    headline = ctx.headline.isoformat() if ctx.headline else None
    table = sensitivity_table(idata, headline)
    conflict = table[table["diagnosis"] == "prior-data conflict"]
    dominated = table[table["diagnosis"] == "prior-dominated"]
    head = table[table["headline"]]
    statuses = ["pass"]
    parts = []
    if len(head):
        h = head.iloc[0]
        if h.diagnosis == "prior-dominated":
            statuses.append("warn")
            parts.append(f"The headline P({ctx.spec.event} by {headline}) is prior-dominated (prior sensitivity {h.prior_sensitivity:.3f}, "
                         f"likelihood {h.likelihood_sensitivity:.3f}): the evidence and survival barely move it; the priors decide it.")
        elif h.diagnosis == "prior-data conflict":
            parts.append(f"The headline shows a prior-data conflict (prior sensitivity {h.prior_sensitivity:.3f}, likelihood "
                         f"{h.likelihood_sensitivity:.3f}): priors and data pull it different ways.")
        else:
            parts.append(f"The headline is informed by the data (likelihood sensitivity {h.likelihood_sensitivity:.3f}) and not dominated by "
                         f"the priors (prior sensitivity {h.prior_sensitivity:.3f}).")
    if len(conflict):
        statuses.append("warn")
        parts.append("Prior-data conflict: " + _listing(conflict["quantity"]) + ".")
    others = dominated[~dominated["headline"]]
    if len(others):
        parts.append("Prior-dominated: " + _listing(others["quantity"]) + ".")
    if not parts:
        parts.append("No quantity is prior-dominated or in conflict with the data.")

    import arviz_plots as azp

    figures, figure_errors = {}, []
    if headline:
        add_figure(figures, figure_errors, "psense_headline", lambda: figure_of(
            azp.plot_psense_dist(idata, var_names=["p_event_by"], coords={"horizon": [headline]},
                                 prior_var_names=[v for v in PRIOR_VARIABLES if v in idata["log_prior"].data_vars], backend="matplotlib"),
            f"{ctx.spec.id}: the headline under power-scaled prior and likelihood"))
    ctx.progress(NAME, 1, 1, "done")
    metrics = {"prior_dominated": list(dominated["quantity"]), "conflict": list(conflict["quantity"]), "threshold": THRESHOLD,
               "headline_prior_sensitivity": float(head.iloc[0].prior_sensitivity) if len(head) else None,
               "headline_likelihood_sensitivity": float(head.iloc[0].likelihood_sensitivity) if len(head) else None,
               "figure_errors": figure_errors}
    return CheckResult(NAME, worst(*statuses), table, " ".join(parts), figures=figures, metrics=metrics)


def _listing(names, at_most: int = 5) -> str:
    """``a, b, c`` or ``a, b, c, d, e and 14 more (all in the table)``: the check's table, saved as
    ``sensitivity.csv`` beside its figures."""
    names = list(names)
    if len(names) <= at_most:
        return ", ".join(names)
    return ", ".join(names[:at_most]) + f" and {len(names) - at_most} more (all in the table)"
