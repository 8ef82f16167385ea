r"""Scoring on simulated histories: are the model's forecasts sharp and calibrated where truth is known?

**Histories.** ``H`` worlds are simulated from the priors (:mod:`forecast.model.simulate`) on the
question's month grid, with the question's own evidence items (same months, indicators, grades and
publication dates; simulated values) and a simulated event time.

**Forecasts, month by month with as-of semantics.** At forecast origins every ``every`` months (month
ends inside the risk window, leaving ``lead`` months to score before the as-of date) each forecaster
states P(event in the next ``lead`` months | no event by the origin), using only what was known at the
origin: survival up to it and the items *published* by it. A history in which the event has already
happened stops being forecast (the question would be resolved).

* **model**: the question's posterior at the origin. It starts from a large prior sample: the
  posterior is the prior reweighted by the likelihood of the data known at the origin, with
  Pareto-smoothed importance weights (``arviz_stats``, as :mod:`forecast.runs.replay`). Where the weights are
  unreliable (Pareto :math:`\hat k > 0.7`) NUTS fits the origin on the compiled model, and later
  origins reweight that fit (the likelihood ratio of the newer data), until :math:`\hat k` is too high
  again. The forecast is the posterior mean of :math:`1 - \exp(-\sum_t e_t \lambda_t)` over the window,
  the model's own future paths included.
* **climatology**: the priors alone, told only that the question is still open at the origin:
  :math:`\sum_i S_i(o)(1 - S_i(o + \ell)/S_i(o)) / \sum_i S_i(o)` over prior draws (``S`` the survival
  function). It is the model without evidence, so the model's skill over it is what the evidence
  items are worth.
* **oracle** (a reference): knows the history's true hazard path, the best any forecaster can do.

**Scores.** Brier :math:`(p - y)^2` and logarithmic :math:`-\log p` or :math:`-\log(1 - p)` (``p``
clipped to :math:`[10^{-4}, 1 - 10^{-4}]`, so a forecast of exactly 0 or 1 costs 9.2 rather than
infinity), lower is better; skill :math:`1 - \bar S_\text{model} / \bar S_\text{climatology}`. Forecasts of
one history are correlated, so standard errors of score differences are taken over per-history means.
Because the histories are drawn from the same priors the model uses, a correct model cannot be worse
than climatology in expectation: the check **fails** when the model's Brier score is worse by more
than three standard errors, and warns when it is worse by more than one (a skill within 0.5% of zero
counts as equal: with no evidence in scope the model *is* climatology, up to Pareto smoothing).

**Calibration.** A reliability diagram with the PAV (isotonic regression) calibration curve and its
consistency band (``arviz_plots.plot_ppc_pava``), and the CORP decomposition of the Brier score
(Dimitriadis, Gneiting and Jordan 2021): mean score = MCB - DSC + UNC, with PAV(p) the recalibrated
forecast (``scipy.optimize.isotonic_regression``), miscalibration MCB = score(p) - score(PAV(p)),
discrimination DSC = score(base rate) - score(PAV(p)) and uncertainty UNC = score(base rate).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.checks.base import CheckResult, add_figure, figure_of, worst
from forecast.checks.parallel import JsonlStore, run_plan
from forecast.core import timegrid
from forecast.model.design import Design, make_design
from forecast.model.likelihood import design_data
from forecast.model.simulate import Draws, draw_parameters, history_data, simulate_event_time, simulate_evidence, window_probability

NAME = "scoring"
STREAM = 303
PRIOR_STREAM = 304
K_MAX = 0.7
LOG_CLIP = 1e-4
FAIL_SE = 3.0
WARN_SE = 1.0
NOISE_SKILL = 0.005  # a Brier skill this close to 0 is the same score (importance-sampling noise)


@dataclass(frozen=True)
class Origin:
    """A forecast origin: the as-of date, its month coordinate and the items published by then."""

    date: dt.date
    u: float
    in_scope: np.ndarray  # (N,) bool over the full design's items


def forecast_origins(question, design: Design, every: int, lead: int) -> list[Origin]:
    """Month ends in the risk window with ``lead`` months left before the as-of date, every ``every``
    months counted back from the last one."""
    from forecast.core.timegrid import month_ends

    spec = question.spec
    ends = [d for d in month_ends(spec.risk_window_start, design.as_of)
            if d >= spec.risk_window_start and design.u(d) > design.risk_start and design.u(d) + lead <= design.u_as_of]
    chosen = ends[::-1][::max(1, every)][::-1]
    out = []
    for d in chosen:
        point = make_design(spec, question.library, question.evidence, d, sources=getattr(question, "sources", None))
        published = set(point.evidence_ids)
        out.append(Origin(d, design.u(d), np.array([i in published for i in design.evidence_ids], dtype=bool)))
    return out


def prior_sample(design: Design, n: int, seed: int) -> Draws:
    """The prior draws importance sampling and climatology start from (their own random stream)."""
    return draw_parameters(design, n, np.random.default_rng([seed, PRIOR_STREAM]))


def survival_to(design: Design, log_rate: np.ndarray, u: float) -> np.ndarray:
    """(S,) probability of no event from the risk window start to ``u`` for each draw."""
    exposure = timegrid.exposure(design.n_months, design.risk_start, u)
    return np.exp(-(np.exp(np.minimum(log_rate, 30.0)) * exposure).sum(axis=-1))


def climatology(design: Design, prior: Draws, origins: list[Origin], lead: int) -> np.ndarray:
    """(O,) the priors' P(event in the window | no event by the origin) at each origin."""
    out = []
    for o in origins:
        alive = survival_to(design, prior.log_rate, o.u)
        p = window_probability(prior.log_rate, design.n_months, o.u, o.u + lead)
        out.append(float((alive * p).sum() / alive.sum()))
    return np.array(out)


def outcomes(event_u: float, origins: list[Origin], lead: int) -> np.ndarray:
    """(O,) 1 when the event falls in (origin, origin + lead], 0 when not, NaN when it came before the origin."""
    return np.array([np.nan if event_u <= o.u else float(event_u <= o.u + lead) for o in origins])


def oracle(design: Design, truth: Draws, origins: list[Origin], lead: int) -> np.ndarray:
    """(O,) P(event in the window) from the history's true hazard path."""
    return np.array([float(window_probability(truth.log_rate, design.n_months, o.u, o.u + lead)[0]) for o in origins])


def simulate_history(design: Design, rng: np.random.Generator) -> tuple[Draws, float, np.ndarray]:
    """One world from the priors: (true draws, event month coordinate, evidence values)."""
    truth = draw_parameters(design, 1, rng)
    event_u = float(simulate_event_time(design, truth, rng)[0])
    return truth, event_u, simulate_evidence(design, truth, rng)[0]


@dataclass
class ScoringPlan:
    """One simulated history per index, forecast at every origin; picklable, for Dask workers."""

    design: Design
    origins: list[Origin]
    lead: int
    prior_draws: int
    nuts_draws: int
    nuts_tune: int
    seed: int
    target_accept: float
    prior: Draws | None = field(default=None, repr=False)  # set by prepare()

    def prepare(self) -> None:
        """Draw the prior sample importance sampling starts from (once per process)."""
        if self.prior is None:
            self.prior = prior_sample(self.design, self.prior_draws, self.seed)

    def __getstate__(self):  # workers draw the same prior sample themselves: cheaper than pickling it
        return {**self.__dict__, "prior": None}

    def run(self, index: int) -> dict:
        """History ``index``: simulate it, forecast it at every origin, return outcomes and forecasts."""
        from forecast.inference.importance import psis
        from forecast.inference.sampling import compiled_model, sample_posterior

        self.prepare()
        d = self.design
        loglik = compiled_model(d).log_likelihood
        rng = np.random.default_rng([self.seed, STREAM, index])
        truth, event_u, values = simulate_history(d, rng)
        y = outcomes(event_u, self.origins, self.lead)
        truth_p = oracle(d, truth, self.origins, self.lead)
        model = np.full(len(self.origins), np.nan)
        methods, khats = [None] * len(self.origins), [None] * len(self.origins)
        anchor = self.prior
        anchor_ds = anchor.to_dataset(d)
        data_of = lambda extra: {**design_data(d), **extra}  # noqa: E731
        nothing = history_data(d, np.inf, values, u_origin=d.risk_start, in_scope=np.zeros(len(values), dtype=bool))
        anchor_ll = loglik.total(anchor_ds, data_of(nothing))
        for j, o in enumerate(self.origins):
            if np.isnan(y[j]):
                continue
            data = history_data(d, event_u, values, u_origin=o.u, in_scope=o.in_scope)
            weights = psis(loglik.total(anchor_ds, data_of(data)) - anchor_ll)
            w, khat = weights.weights.reshape(-1), weights.pareto_k
            method = "prior-is" if anchor is self.prior else "reweighted"
            if khat > K_MAX:
                idata = sample_posterior(d, data=data, draws=self.nuts_draws, tune=self.nuts_tune, chains=1,
                                         seed=[self.seed, STREAM, index, j], target_accept=self.target_accept)
                anchor = Draws.from_posterior(idata["posterior"].to_dataset(), d)
                anchor_ds = anchor.to_dataset(d)
                anchor_ll = loglik.total(anchor_ds, data_of(data))
                w = np.full(anchor.size, 1.0 / anchor.size)
                method = "nuts"
            model[j] = float(np.sum(w * window_probability(anchor.log_rate, d.n_months, o.u, o.u + self.lead)))
            methods[j], khats[j] = method, float(khat)
        return {"outcome": y.tolist(), "model": model.tolist(), "oracle": truth_p.tolist(), "method": methods, "khat": khats, "event_u": event_u}


def brier(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Brier score ``(p - y)**2`` of forecast probabilities ``p`` for outcomes ``y`` in {0, 1} (same shape; lower is better).

    Brier (1950), *Monthly Weather Review* 78(1).
    """
    return (p - y) ** 2


def log_score(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logarithmic score ``-(y log p + (1 - y) log(1 - p))`` in nats, ``p`` clipped to ``[LOG_CLIP, 1 - LOG_CLIP]`` (lower is better).

    Good (1952), *JRSS B* 14(1); a proper scoring rule (Gneiting & Raftery 2007).
    """
    p = np.clip(p, LOG_CLIP, 1 - LOG_CLIP)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def score_table(forecasts: dict[str, np.ndarray], outcome: np.ndarray, reference: str = "climatology") -> pd.DataFrame:
    """Brier and log scores of each forecaster and their skill over ``reference``.

    Parameters
    ----------
    forecasts : dict of str to (H, O) arrays
        Probabilities per history (rows) and origin (columns).
    outcome : (H, O) array
        1 event in the window, 0 none, NaN not scored (resolved before the origin).

    Returns
    -------
    DataFrame with one row per forecaster: ``forecasts``, ``events``, ``brier``, ``log_score``,
    ``brier_skill`` and ``log_skill`` (1 - score / reference score), ``brier_diff`` (mean Brier minus
    the reference's) and ``brier_diff_se`` (its standard error over per-history means).
    """
    outcome = np.asarray(outcome, dtype=float)
    valid = ~np.isnan(outcome)
    y = np.where(valid, outcome, 0.0)
    per = {}
    for name, p in forecasts.items():
        p = np.where(valid, np.asarray(p, dtype=float), 0.5)
        per[name] = {"brier": np.where(valid, brier(p, y), np.nan), "log_score": np.where(valid, log_score(p, y), np.nan)}
    ref = per[reference]
    scored_histories = valid.any(axis=1)
    rows = []
    for name, s in per.items():
        b, ls = np.nanmean(s["brier"]), np.nanmean(s["log_score"])
        diff = np.nanmean(s["brier"][scored_histories] - ref["brier"][scored_histories], axis=1)
        se = float(np.std(diff, ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("nan")
        rows.append({"forecaster": name, "forecasts": int(valid.sum()), "events": int(y[valid].sum()), "brier": b, "log_score": ls,
                     "brier_skill": 1 - b / np.nanmean(ref["brier"]), "log_skill": 1 - ls / np.nanmean(ref["log_score"]),
                     "brier_diff": float(np.mean(diff)), "brier_diff_se": se})
    return pd.DataFrame(rows)


def _stratified_bernoulli(p: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """(draws, N) 0/1 outcomes, column j with exactly round(p_j * draws) ones in random order: each draw
    is a Bernoulli(p_j) outcome and the column mean is p_j to within 1/(2 draws)."""
    ones = np.rint(p * draws).astype(int)
    out = (np.arange(draws)[:, None] < ones[None, :]).astype(float)
    return rng.permuted(out, axis=0)


def calibration_tree(p: np.ndarray, y: np.ndarray, seed: int, draws: int = 400):
    """DataTree for ArviZ's PAV tools: observed outcomes and outcomes a calibrated forecaster would see."""
    import xarray as xr

    rng = np.random.default_rng([seed, STREAM, 0])
    pp = _stratified_bernoulli(p, draws, rng)
    coords = {"forecast": np.arange(p.size)}
    return xr.DataTree.from_dict({
        "posterior_predictive": xr.Dataset({"event": (("chain", "draw", "forecast"), pp[None])}, coords=coords),
        "observed_data": xr.Dataset({"event": (("forecast",), y.astype(int))}, coords=coords),
    })


def corp_decomposition(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Brier = MCB - DSC + UNC, with the PAV-recalibrated forecast (scipy's isotonic regression, equal
    forecasts pooled into one block as CORP requires)."""
    from scipy.optimize import isotonic_regression

    values, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    block_mean = np.bincount(inverse, weights=y) / counts
    cep = isotonic_regression(block_mean, weights=counts.astype(float), increasing=True).x[inverse]
    base = float(y.mean())
    score = float(brier(p, y).mean())
    score_cep = float(brier(cep, y).mean())
    unc = float(brier(np.full_like(y, base), y).mean())
    return {"brier": score, "miscalibration": score - score_cep, "discrimination": unc - score_cep, "uncertainty": unc}


def run(ctx, sims: int | None = None) -> CheckResult:
    """Run the scoring check on a :class:`~forecast.checks.context.CheckContext`."""
    s, d = ctx.sizes, ctx.design
    n = sims or s.score_histories
    span = d.u_as_of - d.risk_start
    lead = int(min(s.score_lead, np.floor(span / 2)))
    origins = forecast_origins(ctx.question, d, s.score_every, lead) if lead >= 1 else []
    if not origins:
        return CheckResult(NAME, "warn", pd.DataFrame(), f"The risk window ({span:.1f} months to {d.as_of}) is too short to score forecasts.")
    plan = ScoringPlan(d, origins, lead, s.score_prior_draws, s.score_draws, s.score_tune, ctx.seed, ctx.target_accept)
    plan.prepare()
    clim = climatology(d, plan.prior, origins, lead)
    settings = {"lead": lead, "origins": [o.date for o in origins], "prior_draws": s.score_prior_draws, "nuts": [s.score_draws, s.score_tune],
                "target_accept": ctx.target_accept, "k_max": K_MAX}
    store = JsonlStore(ctx.store_path("scoring", settings), header={"check": NAME, "question": ctx.spec.id, "as_of": ctx.as_of, **settings})
    t0 = time.perf_counter()
    records = run_plan(plan, range(n), store, ctx.client, progress=lambda done, total: ctx.progress(NAME, done, total, f"{done}/{total} histories"),
                       what="scored history")
    ordered = [records[i] for i in range(n)]
    y = np.array([r["outcome"] for r in ordered], dtype=float)
    forecasts = {
        "model": np.array([r["model"] for r in ordered], dtype=float),
        "climatology": np.broadcast_to(clim, y.shape).copy(),
        "oracle": np.array([r["oracle"] for r in ordered], dtype=float),
    }
    valid = ~np.isnan(y)
    if not valid.any():
        return CheckResult(NAME, "warn", pd.DataFrame(), f"In all {n} simulated histories the event happened before the first origin: nothing to score.")
    table = score_table(forecasts, y)
    rows = [{"history": h, "origin": o.date.isoformat(), "outcome": y[h, j], **{k: v[h, j] for k, v in forecasts.items()},
             "method": ordered[h]["method"][j], "khat": ordered[h]["khat"][j]}
            for h in range(n) for j, o in enumerate(origins) if valid[h, j]]
    long = pd.DataFrame(rows)
    p_model, y_valid = forecasts["model"][valid], y[valid]
    tree = calibration_tree(p_model, y_valid, ctx.seed)
    corp = corp_decomposition(p_model, y_valid)

    model = table.set_index("forecaster").loc["model"]
    statuses = ["pass"]
    if model.brier_skill < -NOISE_SKILL and model.brier_diff > WARN_SE * model.brier_diff_se:
        statuses.append("fail" if model.brier_diff > FAIL_SE * model.brier_diff_se else "warn")
    status = worst(*statuses)
    methods = long["method"].value_counts().to_dict()
    text = (f"{len(long)} forecasts of the next {lead} months from {n} simulated histories ({int(y_valid.sum())} events): "
            f"the model's Brier score is {model.brier:.3f} against {table.set_index('forecaster').loc['climatology', 'brier']:.3f} for "
            f"climatology (skill {model.brier_skill:+.1%}, log-score skill {model.log_skill:+.1%}); the oracle that knows the true hazard "
            f"reaches {table.set_index('forecaster').loc['oracle', 'brier']:.3f}. Miscalibration (CORP MCB) {corp['miscalibration']:.4f}.")
    if status == "fail":
        text += f" The model scores WORSE than the priors alone by {model.brier_diff / model.brier_diff_se:.1f} standard errors."
    elif status == "warn":
        text += " The model scores worse than the priors alone (by less than three standard errors)."

    import arviz_plots as azp

    figures, figure_errors = {}, []
    add_figure(figures, figure_errors, "reliability", lambda: figure_of(
        azp.plot_ppc_pava(tree, var_names=["event"], backend="matplotlib"),
        f"{ctx.spec.id}: reliability of {lead}-month forecasts on simulated histories (PAV)"))
    metrics = {"histories": n, "origins": len(origins), "lead_months": lead, "forecasts": len(long), "events": int(y_valid.sum()),
               "brier_skill": float(model.brier_skill), "log_skill": float(model.log_skill), "corp": corp, "methods": methods,
               "wall_seconds": time.perf_counter() - t0, "stored": str(store.path) if store.path else None, "figure_errors": figure_errors}
    return CheckResult(NAME, status, table, text, figures=figures, tables={"forecasts": long}, metrics=metrics)
