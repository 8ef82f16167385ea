"""Time a full `forecast update` against a bare PyMC script of the same model, in one process.

    uv run python benchmarks/bench_update.py [--question belarus-entry] [--as-of 2024-09-30] [--repeats 2]

"forecast" is the whole pipeline a user runs: load and validate every file (with prior elicitation;
its cache is cleared before each run), build the model, NUTS, prior sampling, the forecast over 200
future paths per draw, diagnostics and the summary table. "bare PyMC" is the same model written
directly in PyMC with the priors' parameters typed in, the same data arrays, the same sampler
settings, and the headline computed with the same numpy formula. Both sides sample through
:func:`forecast.inference.sampling.nuts` (``pm.sample`` with the same chains, cores, tuning, target
acceptance and compile flags, printed below); the bare model is built afresh each time, as a script
would, while the toolkit reuses its compiled model. Both run once to warm the compilation cache
before timing; timings alternate. Prints the ratio (target <= 1.2x), the headline MCSE and
divergences of each, and the difference between the two headlines.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def bare_pymc(design, horizon_u: float, draws: int, tune: int, chains: int, cores: int, target_accept: float, seed: int):
    """The model as an analyst would write it by hand in PyMC (numbers typed in, no toolkit)."""
    import pymc as pm
    import pytensor.tensor as pt

    from forecast.inference.sampling import nuts

    K, T = len(design.indicator_ids), design.n_months
    base = design.baseline.resolved_params()
    lvl = [p.resolved_params() for p in design.level_priors]
    vol = [p.resolved_params() for p in design.volatility_priors]
    eff = [p.resolved_params() for p in design.effect_priors]
    with pm.Model() as model:
        p = pm.Beta("p", base["alpha"], base["beta"])
        alpha = pt.log(-pt.log1p(-p) / design.months_per_period)
        x0 = pm.Normal("x0", np.array([d["mu"] for d in lvl]), np.array([d["sigma"] for d in lvl]), shape=K)
        # the shipped specs give volatility and effect sizes gamma priors (elicited from intervals)
        sigma = pm.Gamma("sigma", np.array([d["alpha"] for d in vol]), np.array([d["beta"] for d in vol]), shape=K)
        size = pm.Gamma("size", np.array([d["alpha"] for d in eff]), np.array([d["beta"] for d in eff]), shape=K)
        z = pm.Normal("z", 0, 1, shape=(K, T - 1))
        x = x0[:, None] + pt.concatenate([pt.zeros((K, 1)), pt.cumsum(sigma[:, None] * z, axis=1)], axis=1)
        eta = pm.Deterministic("eta", alpha + pt.dot(size * design.signs, x))
        pm.Poisson("y", mu=design.exposure * pt.exp(eta), observed=design.counts)
        is_change = design.evidence_base_month >= 0
        mu = x[design.evidence_indicator, design.evidence_month] - is_change * x[design.evidence_indicator, np.maximum(design.evidence_base_month, 0)]
        pm.Normal("ev", mu=mu, sigma=design.evidence_sd, observed=design.evidence_value)
    idata = nuts(model, draws=draws, tune=tune, chains=chains, cores=cores, target_accept=target_accept, seed=seed)
    post = idata["posterior"]
    n = chains * draws
    eta_now = post["eta"].values[..., T - 1].reshape(n)
    step_sd = np.sqrt(((post["size"].values.reshape(n, K) * design.signs * post["sigma"].values.reshape(n, K)) ** 2).sum(axis=1))
    # the same future-path average as the toolkit, written out
    cur = T - 1
    J = int(np.ceil(horizon_u)) - cur
    t = cur + np.arange(J)
    expo = np.clip(np.minimum(horizon_u, t + 1.0) - np.maximum(design.u_as_of, t), 0, 1)
    # 200 paths per draw, each draw its own stream (as the toolkit draws them)
    zz = np.stack([np.random.default_rng([seed, i]).standard_normal((200, J)) for i in range(n)])
    zz[..., 0] = 0
    walk = np.cumsum(zz, axis=-1)
    rate = np.exp(np.minimum(eta_now[:, None, None] + step_sd[:, None, None] * walk, 30))
    p_by = (1 - np.exp(-(rate @ expo)).mean(axis=1)).reshape(chains, draws)
    import arviz as az

    mcse = float(az.mcse(np.asarray(p_by)))
    return float(p_by.mean()), mcse, int(idata["sample_stats"]["diverging"].values.sum())


def run_forecast(question: str, as_of: str, seed: int):
    import forecast
    from forecast.inputs.priors import elicit

    elicit.cache_clear()
    q = forecast.load(question)
    r = q.fit(as_of=as_of, seed=seed)
    row = r.summary().set_index("horizon").loc[r.headline]
    return r, float(row["mean"]), float(row["mcse"]), r.diagnostics.divergences


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--question", default="belarus-entry")
    ap.add_argument("--as-of", default="2024-09-30")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    print("warming up (compilation, imports)...", flush=True)
    r, *_ = run_forecast(args.question, args.as_of, args.seed)
    import os

    s = r.spec.sampler
    # the same settings for both sides, and the cores `forecast update` uses
    settings = dict(draws=s.draws, tune=s.tune, chains=s.chains, cores=min(s.chains, os.cpu_count() or 1), target_accept=s.target_accept)
    print(f"both sides: {settings}, numba fastmath off", flush=True)
    horizon_u = r.design.u(r.headline)
    bare_pymc(r.design, horizon_u, seed=args.seed, **settings)

    t_fc, t_bare = [], []
    for i in range(args.repeats):
        t0 = time.perf_counter()
        _, fc_mean, fc_mcse, fc_div = run_forecast(args.question, args.as_of, args.seed + i)
        t_fc.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b_mean, b_mcse, b_div = bare_pymc(r.design, horizon_u, seed=args.seed + i, **settings)
        t_bare.append(time.perf_counter() - t0)
        print(f"run {i + 1}: forecast {t_fc[-1]:.1f}s (headline {fc_mean:.4f}, MCSE {fc_mcse:.4f}, {fc_div} divergences) | "
              f"bare PyMC {t_bare[-1]:.1f}s (headline {b_mean:.4f}, MCSE {b_mcse:.4f}, {b_div} divergences)", flush=True)
    ratio = np.median(t_fc) / np.median(t_bare)
    print(f"\n{args.question} as of {args.as_of}, {settings['chains']} chains x {settings['draws']} draws")
    print(f"median time: forecast update {np.median(t_fc):.1f}s, bare PyMC {np.median(t_bare):.1f}s")
    print(f"ratio forecast / bare PyMC = {ratio:.2f}x (target <= 1.2x)")
    print(f"headline difference (last run) = {abs(fc_mean - b_mean):.4f} (combined MCSE {np.hypot(fc_mcse, b_mcse):.4f})")


if __name__ == "__main__":
    main()
