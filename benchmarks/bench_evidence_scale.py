"""A fit with 200, 10,000 and 100,000 evidence items, in one process.

    uv run python benchmarks/bench_evidence_scale.py [--question belarus-entry] [--as-of 2024-09-30] [--sizes 200 10000 100000]

The question's own evidence plus ``N`` synthetic level observations (ids ``synthetic-<i>``, on the
question's indicators, in months 3..56 of the grid, values drawn around 0 with SD 0.5, grades
A1..C3 in turn) added with ``Question.with_evidence(DataFrame)``. Each size is fitted with the same
sampler settings (the spec's chains, draws, tuning and target acceptance by default, so that the
diagnostics thresholds the fits must pass are the spec's; chains on ``--cores`` processes) after
one warm-up fit of the same structure, so the times compare
sampling and the per-item work (design, pointwise log-likelihood, predictive draws, diagnostics),
not compilation. Prints one row per size: wall time of ``Question.fit``, its ratio to the smallest
size (target <= 1.5x at 100,000), divergences, largest r-hat, smallest bulk ESS, whether the
spec's diagnostic thresholds pass, the number of items and of collapsed observations; with the
cores, chains, draws and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} CPUs"


def synthetic(question, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` level observations of the question's indicators, as an evidence DataFrame."""
    rng = np.random.default_rng(seed)
    indicators = list(question.spec.indicators)
    start = question.library.reference_date
    months = rng.integers(3, 57, n)
    event = pd.to_datetime([start.replace(year=start.year + (m // 12), month=m % 12 + 1, day=1) for m in range(57)])[months] + pd.to_timedelta(
        rng.integers(0, 28, n), unit="D")
    grades = np.array(["A1", "B2", "C3"])[np.arange(n) % 3]
    return pd.DataFrame({
        "id": [f"synthetic-{i}" for i in range(n)],
        "event_date": event,
        "published": event,
        "indicator": np.array(indicators)[rng.integers(0, len(indicators), n)],
        "value": np.round(np.clip(rng.normal(0, 0.5, n), -5, 5), 3),
        "source": "synthetic",
        "grade": grades,
        "quote": "synthetic observation",
    })


def main() -> None:
    import forecast
    from forecast.model.hazard import collapse_design

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--question", default="belarus-entry")
    ap.add_argument("--as-of", default="2024-09-30")
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 10_000, 100_000])
    ap.add_argument("--chains", type=int, default=None, help="default: the spec's")
    ap.add_argument("--draws", type=int, default=None, help="default: the spec's")
    ap.add_argument("--cores", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    base = forecast.load(args.question)
    args.chains = args.chains or base.spec.sampler.chains
    args.draws = args.draws or base.spec.sampler.draws
    settings = dict(chains=args.chains, draws=args.draws, cores=args.cores)
    print(f"start: {load()}", flush=True)
    print(f"settings: {args.chains} chains x {args.draws} draws, tune {base.spec.sampler.tune}, target_accept {base.spec.sampler.target_accept}, "
          f"chains on {args.cores} cores", flush=True)
    rows = []
    for n in args.sizes:
        t0 = time.perf_counter()
        q = base.with_evidence(synthetic(base, n))
        t_load = time.perf_counter() - t0
        design = q.design(args.as_of)
        groups = collapse_design(design).n_groups
        q.fit(as_of=args.as_of, seed=args.seed, draws=50, tune=50, chains=1, cores=1)  # warm-up: compile this structure
        t0 = time.perf_counter()
        r = q.fit(as_of=args.as_of, seed=args.seed, **settings)
        seconds = time.perf_counter() - t0
        d = r.diagnostics
        rows.append({"N": n, "items": len(design.evidence_ids), "observations": groups, "fit s": seconds, "divergences": d.divergences,
                     "r_hat max": d.r_hat_max, "ESS bulk min": d.ess_bulk_min, "passed": d.passed, "with_evidence s": t_load})
        print(f"N={n}: {seconds:.1f}s ({load()})", flush=True)
    table = pd.DataFrame(rows)
    table.insert(4, "ratio", table["fit s"] / table["fit s"].iloc[0])
    print(f"\n{args.question} as of {args.as_of}; {args.chains} chains x {args.draws} draws on {args.cores} cores; end: {load()}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"))
    print(f"ratio {table['N'].iloc[-1]:,} / {table['N'].iloc[0]:,} items = {table['ratio'].iloc[-1]:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
