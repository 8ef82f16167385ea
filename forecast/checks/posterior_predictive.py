r"""Posterior predictive check of the evidence items, and Pareto :math:`\hat k` per item.

For each evidence item in scope the fitted model predicts its value: the indicator's level (or change)
at the item's month plus the grade's observation noise, :math:`\tilde y_i \sim \mathcal N(\mu_i^{(s)},
\tau/\sqrt{w_i})` for posterior draws :math:`s` (PyMC's posterior predictive of the model's ``evidence``).
Two comparisons per item:

* the **posterior predictive p-value** :math:`P(\tilde y_i \le y_i)` with the item in the fit (two-sided
  tail :math:`2\min(p, 1-p)`): conservative, since the fit has already bent towards the item; a tail
  below 0.001 means the model cannot reproduce the item even after seeing it;
* the **LOO-PIT** :math:`P(\tilde y_i \le y_i \mid y_{-i})`, the item predicted from all the others, by
  Pareto-smoothed importance sampling (``arviz_stats.loo_pit``), with the Pareto :math:`\hat k` of each
  item (``arviz_stats.loo(pointwise=True)``). :math:`\hat k > 0.7` marks an item so influential that
  the fit without it differs a lot from the fit with it (and its LOO-PIT is unreliable).

An item is **listed with its quote** when its LOO-PIT tail is below 0.01, its posterior predictive tail
below 0.01, or its :math:`\hat k` above 0.7 (warn). The check **fails** when an item's posterior
predictive tail is below 0.001, or its LOO-PIT tail is below 0.001 with a reliable :math:`\hat k`: the
evidence contains something the model cannot explain (a mis-coded value or direction, a wrong grade,
or two items that contradict each other).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from forecast.checks.base import CheckResult, add_figure, worst

NAME = "posterior-predictive"
STREAM = 404
K_WARN = 0.7
TAIL_WARN = 0.01
TAIL_FAIL = 0.001


def predictive_tree(ctx):
    """DataTree with posterior, log_likelihood, posterior_predictive and observed_data of the items."""
    import xarray as xr

    from forecast.inference.sampling import sample_posterior_predictive

    d = ctx.design
    idata = ctx.posterior()
    post = idata["posterior"].to_dataset()
    predictive = sample_posterior_predictive(d, post, seed=[ctx.seed, STREAM], var_names=["evidence"])
    coords = {"item": list(d.evidence_ids)}
    return xr.DataTree.from_dict({
        "posterior": post,
        "log_likelihood": idata["log_likelihood"].to_dataset()[["evidence"]],
        "posterior_predictive": predictive[["evidence"]],
        "observed_data": xr.Dataset({"evidence": (("item",), np.asarray(d.evidence_value, dtype=float))}, coords=coords),
    })


def run(ctx) -> CheckResult:
    """Run the posterior predictive check on a :class:`~forecast.checks.context.CheckContext`."""
    import arviz_stats

    d = ctx.design
    if not len(d.evidence_ids):
        return CheckResult(NAME, "pass", pd.DataFrame(), "No evidence items in scope: nothing to predict.")
    ctx.progress(NAME, 0, 1, "predicting the evidence items")
    tree = predictive_tree(ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ warns about high k-hat; the table reports every k-hat
        elpd = arviz_stats.loo(tree, pointwise=True, var_name="evidence")
        loo_pit = np.asarray(arviz_stats.loo_pit(tree, var_names="evidence")["evidence"].values, dtype=float).reshape(-1)
    khat = np.asarray(elpd.pareto_k.values, dtype=float).reshape(-1)
    y_rep = np.asarray(tree["posterior_predictive"]["evidence"].values).reshape(-1, len(d.evidence_ids))
    ppc = (y_rep <= d.evidence_value).mean(axis=0)
    lo, hi = np.quantile(y_rep, [0.05, 0.95], axis=0)

    table = ctx.item_table()
    table["predicted_q05"], table["predicted_q95"] = lo, hi
    table["ppc_tail"] = 2 * np.minimum(ppc, 1 - ppc)
    table["loo_pit"] = loo_pit
    table["loo_tail"] = 2 * np.minimum(loo_pit, 1 - loo_pit)
    table["pareto_k"] = khat
    reliable = khat <= K_WARN
    fail = (table["ppc_tail"] < TAIL_FAIL) | ((table["loo_tail"] < TAIL_FAIL) & reliable)
    warn = (table["ppc_tail"] < TAIL_WARN) | (table["loo_tail"] < TAIL_WARN) | ~reliable
    table["status"] = np.where(fail, "fail", np.where(warn, "warn", "pass"))
    table = table[["id", "indicator", "event_date", "grade", "value", "predicted_q05", "predicted_q95", "ppc_tail", "loo_pit", "loo_tail",
                   "pareto_k", "status", "quote"]]

    flagged = table[table["status"] != "pass"].sort_values(["status", "loo_tail"], ascending=[True, True])
    if len(flagged):
        lines = []
        for r in flagged.itertuples():
            why = []
            if r.ppc_tail < TAIL_WARN:
                why.append(f"outside what the fit predicts (tail {r.ppc_tail:.2g})")
            if r.loo_tail < TAIL_WARN:
                why.append(f"unexpected given the other items (LOO-PIT {r.loo_pit:.3f})")
            if r.pareto_k > K_WARN:
                why.append(f"highly influential (Pareto k {r.pareto_k:.2f})")
            lines.append(f"{r.id} ({r.indicator} = {r.value:+.2f}, {r.grade}; predicted {r.predicted_q05:+.2f} to {r.predicted_q95:+.2f}): "
                         f"{' and '.join(why)}: \"{r.quote}\"")
        text = f"{len(flagged)} of {len(table)} evidence items the model cannot explain well: " + "; ".join(lines) + "."
    else:
        text = (f"All {len(table)} evidence items are within what the model predicts (smallest LOO-PIT tail "
                f"{table['loo_tail'].min():.2g}, largest Pareto k {khat.max():.2f}).")

    from forecast.checks.figures import evidence_figure, khat_figure

    figures, figure_errors = {}, []
    add_figure(figures, figure_errors, "evidence_intervals", lambda: evidence_figure(
        tree, d.evidence_ids, f"{ctx.spec.id}: evidence items, predicted (intervals) and reported (points)"))
    add_figure(figures, figure_errors, "pareto_k", lambda: khat_figure(elpd, d.evidence_ids, K_WARN, f"{ctx.spec.id}: Pareto k per evidence item"))
    ctx.progress(NAME, 1, 1, "done")
    metrics = {"items": len(table), "flagged": list(flagged["id"]), "max_pareto_k": float(khat.max()),
               "elpd_loo": float(elpd.elpd), "figure_errors": figure_errors}
    return CheckResult(NAME, worst("pass", *table["status"]), table, text, figures=figures, metrics=metrics)
