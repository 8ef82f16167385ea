r"""Simulation-based calibration (SBC): does the fit recover what the model simulates?

For each simulation :math:`s = 1..N`:

1. draw parameters and indicator paths from the priors, :math:`\tilde\theta \sim p(\theta)`, with the
   independent numpy simulator (:mod:`forecast.model.simulate`);
2. simulate the data the question would have: the event time in the risk window (survival up to the
   as-of date, or the event), and a value for every evidence item in scope (its month, indicator,
   level or change, grade SD);
3. fit those data with NUTS on the question's compiled model (data swapped in, no recompilation);
4. for each quantity :math:`f` (the baseline probability, each indicator's effect size, volatility
   and starting level, and the headline P(event by the headline horizon | no event by as-of) as a
   function of the parameters) record the rank of :math:`f(\tilde\theta)` among ``L`` thinned
   posterior draws, and its randomised PIT :math:`(r + U)/(L + 1)`, :math:`U \sim U(0, 1)`.

If the fit is right, :math:`\tilde\theta` is a draw from the posterior of its own data, so every PIT is
exactly Uniform(0, 1) (Talts et al. 2018). Uniformity is tested per quantity with ArviZ's
``uniformity_test`` (the POT-C test: pointwise order-statistic Beta tests combined by a Cauchy
combination, ``arviz_stats``) and drawn as a Δ-ECDF with its simultaneous bands
(``arviz_plots.plot_ecdf_pit``). With :math:`m` quantities the check **fails** when any p-value is
below :math:`0.01/m` (Bonferroni, family-wise 1%) and warns below :math:`0.05/m`; the failing
quantities are named with the direction of the miscalibration (truth above or below the posterior,
posterior too narrow or too wide).

Each simulation is one task (:mod:`forecast.checks.parallel`): in this process, or on a Dask cluster
with ``forecast check --workers N`` / ``--scheduler ADDRESS``; the records are the same wherever they
ran (each is seeded by its index). They are stored as they finish in
``<out>/sbc-<fingerprint>.jsonl`` (the fingerprint covers the design, the sizes, the seed and the
code), so a rerun resumes. ``simulate_from`` draws the truth from another question of the same
structure: fitting with priors other than those simulated from is a deliberately mis-specified fit,
which the check must catch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.checks.base import CheckResult, add_figure, worst
from forecast.checks.parallel import JsonlStore, run_plan
from forecast.model.design import Design
from forecast.model.simulate import Draws, draw_parameters, headline_probability, history_data, simulate_event_time, simulate_evidence

NAME = "sbc"
STREAM = 202
FAIL_ALPHA = 0.01  # family-wise, over all quantities
WARN_ALPHA = 0.05
DIVERGENT_SHARE = 0.1  # warn when more fits than this had divergences


def quantities(design: Design, draws: Draws, u_headline: float | None, n_paths: int, seed: int) -> dict[str, np.ndarray]:
    """The quantities SBC ranks, each an (S,) array: the elicited parameters and the headline."""
    out = {"baseline_probability": draws.baseline_probability}
    for k, ind in enumerate(design.indicator_ids):
        out[f"effect_size[{ind}]"] = draws.effect_size[:, k]
        out[f"volatility[{ind}]"] = draws.volatility[:, k]
        out[f"level_start[{ind}]"] = draws.level_start[:, k]
    if u_headline is not None:
        out["headline"] = headline_probability(design, draws, u_headline, n_paths, seed)
    return out


def same_structure(a: Design, b: Design) -> None:
    """Raise ValueError unless two designs have the same grid, indicators and items (SBC fits ``a``'s model
    to data simulated from ``b``)."""
    problems = []
    if a.n_months != b.n_months or a.risk_start != b.risk_start or a.u_as_of != b.u_as_of:
        problems.append("month grid, risk window or as-of date")
    if a.indicator_ids != b.indicator_ids:
        problems.append(f"indicators {a.indicator_ids} vs {b.indicator_ids}")
    if a.evidence_ids != b.evidence_ids:
        problems.append("evidence items in scope")
    if problems:
        raise ValueError(f"simulate_from must have the structure of the fitted question; differs in: {', '.join(problems)}")


@dataclass
class SbcPlan:
    """One SBC simulation per index (see the module docstring); picklable, for Dask workers."""

    design: Design
    simulate_from: Design
    draws: int
    tune: int
    rank_draws: int
    seed: int
    n_paths: int
    u_headline: float | None
    target_accept: float

    def prepare(self) -> None:
        """Compile the model of the design's structure in this process (once)."""
        from forecast.inference.sampling import compiled_model

        compiled_model(self.design)

    def run(self, index: int) -> dict:
        """Simulation ``index``: draw a truth, simulate its data, fit them, rank the truth."""
        from forecast.inference.sampling import sample_posterior

        t0, cpu0 = time.perf_counter(), time.process_time()
        rng = np.random.default_rng([self.seed, STREAM, index])
        truth = draw_parameters(self.simulate_from, 1, rng)
        event_u = float(simulate_event_time(self.simulate_from, truth, rng)[0])
        values = simulate_evidence(self.simulate_from, truth, rng)[0]
        idata = sample_posterior(self.design, data=history_data(self.design, event_u, values), draws=self.draws, tune=self.tune, chains=1,
                                 seed=[self.seed, STREAM, index, 1], target_accept=self.target_accept)
        post = Draws.from_posterior(idata["posterior"].to_dataset(), self.design)
        keep = np.unique(np.linspace(0, post.size - 1, min(self.rank_draws, post.size)).round().astype(int))
        post = post.take(keep)
        # the truth's future paths from a stream no posterior draw reads (draw 0 reads (seed, 0))
        true_q = quantities(self.design, truth, self.u_headline, self.n_paths, self.seed + 1)
        post_q = quantities(self.design, post, self.u_headline, self.n_paths, self.seed)
        ranks = {name: int((post_q[name] < true_q[name][0]).sum()) for name in true_q}
        jitter = rng.random(len(ranks))
        return {
            "rank": ranks,
            "pit": {name: (r + u) / (post.size + 1) for (name, r), u in zip(ranks.items(), jitter)},
            "rank_draws": int(post.size),
            "divergences": int(np.asarray(idata["sample_stats"]["diverging"].values).sum()),
            "event_before_as_of": bool(event_u <= self.design.u_as_of),
            "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - cpu0,  # below "seconds" when other processes share the cores
        }


def uniformity(pit: pd.DataFrame) -> pd.DataFrame:
    """Per quantity (column of ``pit``, one row per simulation): POT-C p-value and where the PITs lie."""
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)
    import xarray as xr

    da = xr.DataArray(pit.to_numpy().T[:, None, :], dims=("quantity", "chain", "draw"), coords={"quantity": list(pit.columns)})
    p_value = np.asarray(da.azstats.uniformity_test(dim=["chain", "draw"])[0].values, dtype=float)
    values = pit.to_numpy()
    return pd.DataFrame({
        "quantity": list(pit.columns),
        "p_value": p_value,
        "mean_pit": values.mean(axis=0),
        "share_below_5pct": (values < 0.05).mean(axis=0),
        "share_above_95pct": (values > 0.95).mean(axis=0),
    })


def _direction(row) -> str:
    """Plain words for how a non-uniform PIT distribution departs from uniform."""
    if row.mean_pit > 0.6:
        return "the truth sits above the posterior (the fit underestimates it)"
    if row.mean_pit < 0.4:
        return "the truth sits below the posterior (the fit overestimates it)"
    tails = row.share_below_5pct + row.share_above_95pct
    if tails > 0.2:
        return "the truth falls in the posterior's tails too often (posterior too narrow)"
    if tails < 0.03:
        return "the truth falls in the posterior's middle too often (posterior too wide)"
    return "the ranks are not uniform"


def run(ctx, simulate_from=None, sims: int | None = None) -> CheckResult:
    """Run SBC on a :class:`~forecast.checks.context.CheckContext`.

    Parameters
    ----------
    simulate_from : Question, optional
        Draw the truth from this question's priors instead of the fitted question's (same grid,
        indicators and items): a mis-specified fit, which SBC should reject.
    sims : int, optional
        Number of simulations (default ``ctx.sizes.sbc_sims``).
    """
    s = ctx.sizes
    n = sims or s.sbc_sims
    source = ctx.design if simulate_from is None else simulate_from.design(ctx.as_of)
    same_structure(ctx.design, source)
    plan = SbcPlan(ctx.design, source, s.sbc_draws, s.sbc_tune, s.sbc_rank_draws, ctx.seed, s.n_paths, ctx.headline_u, ctx.target_accept)
    settings = {"draws": s.sbc_draws, "tune": s.sbc_tune, "rank_draws": s.sbc_rank_draws, "n_paths": s.n_paths,
                "headline": ctx.headline, "target_accept": ctx.target_accept}
    if simulate_from is not None:
        from forecast.checks.context import design_digest

        settings["simulate_from"] = design_digest(source)
    store = JsonlStore(ctx.store_path("sbc", settings), header={"check": NAME, "question": ctx.spec.id, "as_of": ctx.as_of, **settings})
    t0 = time.perf_counter()
    records = run_plan(plan, range(n), store, ctx.client, progress=lambda done, total: ctx.progress(NAME, done, total, f"{done}/{total} simulations"),
                       what="SBC simulation")
    ordered = [records[i] for i in range(n)]
    pit = pd.DataFrame([r["pit"] for r in ordered])
    table = uniformity(pit)
    m = len(table)
    table["status"] = np.where(table["p_value"] < FAIL_ALPHA / m, "fail", np.where(table["p_value"] < WARN_ALPHA / m, "warn", "pass"))
    divergent = float(np.mean([r["divergences"] > 0 for r in ordered]))
    statuses = list(table["status"]) + (["warn"] if divergent > DIVERGENT_SHARE else [])
    status = worst(*statuses)

    bad = table[table["status"] != "pass"]
    if len(bad):
        text = (f"SBC on {n} simulated worlds: ranks NOT uniform for " + "; ".join(
            f"{r.quantity} (p = {r.p_value:.2g}: {_direction(r)})" for r in bad.itertuples()) + ".")
    else:
        low = table.loc[table["p_value"].idxmin()]
        text = (f"SBC on {n} simulated worlds: the ranks of all {m} quantities are uniform "
                f"(smallest p = {low.p_value:.2g}, {low.quantity}; fails below {FAIL_ALPHA / m:.1e}).")
    if divergent > DIVERGENT_SHARE:
        text += f" {divergent:.0%} of the fits had divergent transitions."
    seconds = [r["seconds"] for r in ordered]

    from forecast.checks.figures import sbc_figure

    figures, figure_errors = {}, []
    add_figure(figures, figure_errors, "sbc_ecdf", lambda: sbc_figure(
        pit, table, status, FAIL_ALPHA, WARN_ALPHA, f"{ctx.spec.id}: SBC rank Δ-ECDF ({n} simulations)"))
    metrics = {
        "sims": n, "quantities": m, "min_p_value": float(table["p_value"].min()), "failed": list(bad.loc[bad["status"] == "fail", "quantity"]),
        "divergent_share": divergent, "seconds_per_sim": float(np.mean(seconds)), "wall_seconds": time.perf_counter() - t0,
        "stored": str(store.path) if store.path else None, "figure_errors": figure_errors,
    }
    return CheckResult(NAME, status, table, text, figures=figures, tables={"pit": pit}, metrics=metrics)
