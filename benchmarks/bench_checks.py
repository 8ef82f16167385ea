"""Time per SBC simulation, and the speed-up from worker processes.

    uv run python benchmarks/bench_checks.py [--question belarus-entry] [--sims 16] [--workers 2] [--full]

Runs the same ``--sims`` SBC simulations twice: in this process (after compiling the model once,
timed separately) and on a local Dask cluster of ``--workers`` worker processes (each worker starts
Python, imports PyMC and compiles the model before its first simulation, all inside the timed wall). Prints
the compile time, the time per simulation, both walls, the workers' start-up overhead, the speed-up
(serial compile + simulations over the parallel wall) measured and projected to 100 and 200
simulations (start-up is paid once per worker, so the speed-up grows with the number of simulations)
and whether both runs gave the same ranks (they must: every simulation is seeded by its index, not
by the process that runs it). ``--quick`` sizes unless ``--full``.
"""

from __future__ import annotations

import argparse
import math
import time


def main() -> None:
    import forecast
    from forecast.checks.context import CheckContext
    from forecast.checks.parallel import JsonlStore, run_plan
    from forecast.checks.sbc import SbcPlan
    from forecast.core.cluster import connect
    from forecast.inference.sampling import cache_info, compiled_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--question", default="belarus-entry")
    ap.add_argument("--as-of", default=None)
    ap.add_argument("--sims", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--full", action="store_true", help="default sizes instead of --quick ones")
    args = ap.parse_args()

    ctx = CheckContext(forecast.load(args.question), as_of=args.as_of, quick=not args.full, seed=1)
    s = ctx.sizes
    plan = SbcPlan(ctx.design, ctx.design, s.sbc_draws, s.sbc_tune, s.sbc_rank_draws, ctx.seed, s.n_paths, ctx.headline_u, ctx.target_accept)
    print(f"{args.question} as of {ctx.as_of}: {len(ctx.design.indicator_ids)} indicators, {ctx.design.n_months} months, "
          f"{len(ctx.design.evidence_ids)} items; SBC fits of 1 chain x {s.sbc_tune} tune + {s.sbc_draws} draws", flush=True)

    t0 = time.perf_counter()
    compiled_model(ctx.design)
    t_compile = time.perf_counter() - t0
    print(f"compile (frozen model, in this process): {t_compile:.1f}s", flush=True)

    t0 = time.perf_counter()
    serial = run_plan(plan, range(args.sims), JsonlStore(None))
    t_serial = time.perf_counter() - t0
    per_sim = t_serial / args.sims
    print(f"serial: {args.sims} simulations in {t_serial:.1f}s = {per_sim:.2f}s per simulation", flush=True)

    t0 = time.perf_counter()
    with connect(workers=args.workers) as client:
        parallel = run_plan(plan, range(args.sims), JsonlStore(None), client=client)
    t_parallel = time.perf_counter() - t0
    same = all(serial[i]["rank"] == parallel[i]["rank"] for i in range(args.sims))
    # each record times its own simulation; what the wall holds beyond them is start-up (fork server,
    # PyMC import, compilation in every worker)
    per_sim_workers = sum(parallel[i]["seconds"] for i in range(args.sims)) / args.sims
    cpu_serial = sum(serial[i]["cpu_seconds"] for i in range(args.sims)) / args.sims
    cpu_workers = sum(parallel[i]["cpu_seconds"] for i in range(args.sims)) / args.sims
    overhead = max(0.0, t_parallel - per_sim_workers * math.ceil(args.sims / args.workers))
    print(f"{args.workers} workers: {args.sims} simulations in {t_parallel:.1f}s, about {overhead:.1f}s of it start-up "
          f"(cluster, PyMC import, compilation)")
    print(f"per simulation: {per_sim:.2f}s wall / {cpu_serial:.2f}s CPU serial, {per_sim_workers:.2f}s wall / {cpu_workers:.2f}s CPU "
          f"inside a worker (wall above CPU: the cores were busy with other processes)")
    print(f"speed-up at {args.sims} simulations: (serial compile + simulations) / parallel wall = {(t_compile + t_serial) / t_parallel:.2f}x")
    for n in (100, 200):
        projected = (t_compile + per_sim * n) / (overhead + per_sim_workers * math.ceil(n / args.workers))
        print(f"projected speed-up at {n} simulations (same per-simulation time and start-up): {projected:.2f}x")
    info = cache_info()
    print(f"compiled models in this process: {info.builds} built, reused {info.hits} times")
    print(f"same ranks serial and parallel: {'yes' if same else 'NO'}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
