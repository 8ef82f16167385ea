r"""Prior predictive check: what the priors alone say, before any evidence or survival is used.

From ``S`` prior draws (the independent numpy simulator, :mod:`forecast.model.simulate`):

* **the forecast under the priors**: P(event by each horizon | no event by the as-of date) for each
  draw, the same computation as the forecast (:func:`forecast.model.prediction.prob_by`). Priors that put
  much of this distribution within 0.1 percentage points of 0 or of 1 (``EXTREME``) claim a
  certainty no analyst has; the check warns when that share exceeds ``EXTREME_SHARE`` at the headline
  horizon (nearer horizons are shown too, but a month ahead a tiny P can be a sober prior).
* **the past under the priors**: the share of simulated histories in which the event already
  happened in the risk window before the as-of date. When the priors make the observed past (no event
  yet, or an event) very unlikely (< 1%), they conflict with what we know and the check warns.
* **simulated evidence**: for each evidence item in scope, the prior predictive distribution of its
  value (the indicator path plus the grade's observation noise) and where the reported value falls in
  it (the prior PIT, :math:`P(\tilde y_i \le y_i)`); an item outside the central 99% is listed with
  its quote: the priors did not expect it.

The check warns and never fails: priors are a judgement, and this check shows its consequences.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.checks.base import CheckResult, add_figure, figure_of, pct, worst
from forecast.model.prediction import prob_by
from forecast.model.simulate import draw_parameters, simulate_event_time, simulate_evidence

NAME = "prior-predictive"
EXTREME = 0.001  # P below 0.1% or above 99.9% counts as "at 0" or "at 1"
EXTREME_SHARE = 0.25
ITEM_TAIL = 0.005  # two-sided 1%: items outside the central 99% of their prior predictive
PAST_TAIL = 0.01
STREAM = 101  # random stream of this check: rng([seed, STREAM])


def prior_forecast(design, future, n: int, n_paths: int, seed: int, rng: np.random.Generator):
    """Prior draws, their P(event by each future horizon), event times and simulated evidence."""
    draws = draw_parameters(design, n, rng)
    targets = np.array([design.u(h) for h in future], dtype=float)
    p = prob_by(draws.log_rate[:, design.n_months - 1], draws.log_rate_step_sd, design.u_as_of, design.n_months - 1, targets, n_paths, seed)
    event_u = simulate_event_time(design, draws, rng)
    evidence = simulate_evidence(design, draws, rng)
    return draws, p, event_u, evidence


def run(ctx) -> CheckResult:
    """Run the prior predictive check on a :class:`~forecast.checks.context.CheckContext`."""
    import xarray as xr

    d, s = ctx.design, ctx.sizes
    rng = np.random.default_rng([ctx.seed, STREAM])
    ctx.progress(NAME, 0, 1, "sampling the priors")
    _, p, event_u, evidence = prior_forecast(d, ctx.future, s.prior_draws, s.n_paths, ctx.seed, rng)

    rows = []
    for j, h in enumerate(ctx.future):
        q = np.quantile(p[:, j], [0.05, 0.5, 0.95])
        rows.append({"horizon": h.isoformat(), "headline": h == ctx.headline, "mean": float(p[:, j].mean()), "q05": q[0], "median": q[1], "q95": q[2],
                     "share_at_0": float(np.mean(p[:, j] < EXTREME)), "share_at_1": float(np.mean(p[:, j] > 1 - EXTREME))})
    table = pd.DataFrame(rows, columns=["horizon", "headline", "mean", "q05", "median", "q95", "share_at_0", "share_at_1"])

    notes, statuses = [], ["pass"]
    for r in rows:
        # judged at the headline horizon: a month ahead, P < 0.1% can be a sober prior for a rare event
        if r["headline"] and r["share_at_0"] + r["share_at_1"] > EXTREME_SHARE:
            statuses.append("warn")
            notes.append(f"by {r['horizon']} the priors put {r['share_at_0']:.0%} of their mass below {EXTREME:.1%} and "
                         f"{r['share_at_1']:.0%} above {1 - EXTREME:.1%}, more certainty than a source usually supports")

    happened = event_u <= d.u_as_of
    p_past = float(happened.mean())
    resolved = d.resolved_on is not None
    p_observed_past = p_past if resolved else 1.0 - p_past
    if p_observed_past < PAST_TAIL:
        statuses.append("warn")
        notes.append(f"the priors give the observed past ({'the event happened' if resolved else 'no event'} by {d.as_of}) "
                     f"a probability of only {p_observed_past:.1%}")

    items = ctx.item_table()
    if len(items):
        pit = (evidence <= d.evidence_value).mean(axis=0)
        lo, hi = np.quantile(evidence, [0.05, 0.95], axis=0)
        items["prior_q05"], items["prior_q95"], items["prior_pit"] = lo, hi, pit
        items["surprising"] = (pit < ITEM_TAIL) | (pit > 1 - ITEM_TAIL)
        flagged = items[items["surprising"]]
        if len(flagged):
            statuses.append("warn")
            notes.append("items the priors did not expect (outside their central 99%): "
                         + "; ".join(f"{r.id} ({r.indicator} = {r.value:+.2f}): \"{r.quote}\"" for r in flagged.itertuples()))

    status = worst(*statuses)
    head = table[table["headline"]]
    summary = "no horizon after the as-of date"
    if len(head):
        r = head.iloc[0]
        summary = (f"Under the priors alone, P({ctx.spec.event} by {r.horizon}) has mean {pct(r['mean'])} "
                   f"(90%: {pct(r.q05)}-{pct(r.q95)})")
    text = f"{summary}; the priors give the event a {pct(p_past)} chance of having happened before {d.as_of}."
    text += (" " + " ".join(n[0].upper() + n[1:] + "." for n in notes)) if notes else " Nothing implausible."

    import arviz_plots as azp

    figures, figure_errors = {}, []
    if ctx.future:
        dt_prior = xr.DataTree.from_dict({"prior": xr.Dataset(
            {"p_event_by": (("chain", "draw", "horizon"), p[None])}, coords={"horizon": [h.isoformat() for h in ctx.future]})})
        add_figure(figures, figure_errors, "prior_p_event_by", lambda: figure_of(
            azp.plot_dist(dt_prior, group="prior", backend="matplotlib"), f"{ctx.spec.id}: P(event by horizon) under the priors"))
    if len(items):
        dt_items = xr.DataTree.from_dict({
            "prior_predictive": xr.Dataset({"evidence": (("chain", "draw", "item"), evidence[None])}, coords={"item": list(d.evidence_ids)}),
            "observed_data": xr.Dataset({"evidence": (("item",), np.asarray(d.evidence_value))}, coords={"item": list(d.evidence_ids)}),
        })
        from forecast.checks.figures import evidence_figure

        add_figure(figures, figure_errors, "prior_evidence", lambda: evidence_figure(
            dt_items, d.evidence_ids, f"{ctx.spec.id}: evidence values under the priors (points: as reported)", group="prior_predictive",
            what="the priors alone"))
    ctx.progress(NAME, 1, 1, "done")
    return CheckResult(NAME, status, table, text, figures=figures, tables={"items": items},
                       metrics={"p_event_before_as_of": p_past, "notes": notes, "draws": s.prior_draws, "figure_errors": figure_errors})
