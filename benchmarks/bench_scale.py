"""Scale: SBC simulations and ``update --all`` in this process against a local Dask cluster of 2 workers.

    uv run python benchmarks/bench_scale.py [--sims 200] [--questions 20] [--workers 2] [--question belarus-entry] [--quick]

Two workloads, each run twice in one invocation, first in this process (what the commands do
without ``--workers``/``--scheduler``), then on a local Dask cluster of ``--workers`` single-threaded
worker processes (``--workers 2``):

* ``forecast check QUESTION --only sbc --sims 200``: ``--sims`` SBC simulations of ``--question``
  (default sizes, ``--quick`` for the small ones), one task per simulation;
* ``forecast update --all``: ``--questions`` generated questions (one indicator, three evidence
  items, 2 chains; four prior variants, so four compiled model structures) in a fresh project on
  each side, one task per question. In this process each fit runs its 2 chains in 2 processes (the
  default ``cores``); on the cluster each task runs its chains one after the other in its worker.

Both sides start from the same state: PyTensor's on-disk compilation cache is warmed once before
timing, and this process's compiled models are dropped before its timed run, so both sides build
and compile every model structure they use (each worker builds its own). The cluster's wall
includes starting the cluster and importing PyMC in every worker. Prints, per workload, the wall
and throughput of both sides, their ratio (target: the cluster at <= 0.6x the time in this process
on 2 cores), the cluster's start-up, and whether both sides gave the same numbers (they must: every
task is seeded by its index or question). Then the scheduler's overhead per task, from 200 tasks
that do nothing. The machine's cores and load are printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

LIBRARY = """\
reference_date: 2022-01-01
source: sources/source.txt
source_title: Generated source
indicators:
  - id: pressure
    name: Pressure
    description: Pressure to act.
    scale: "0 = as described; +1 = clearly higher"
    level:
      dist: normal
      params: {mu: 0.0, sigma: 1.0}
      source: {quote: "Officials said the pressure was rising.", reasoning: generated}
    volatility:
      dist: gamma
      params: {alpha: 4.0, beta: 20.0}
      source: {quote: "The border stayed quiet all year.", reasoning: generated}
"""

SPEC = """\
id: {qid}
question: Will generated event {n} happen?
event: generated event {n} happens
resolution_criteria: generated
risk_window_start: 2022-01-01
horizons: [{first}, 2025-12-31]
headline_lead_months: 0
baseline:
  per: year
  probability:
    dist: beta
    params: {{alpha: {alpha}, beta: 20.0}}
    source: {{quote: "The border stayed quiet all year.", reasoning: generated}}
indicators:
  pressure:
    direction: toward
    size:
      dist: gamma
      params: {{alpha: 4.0, beta: 4.0}}
      source: {{quote: "Officials said the pressure was rising.", reasoning: generated}}
sampler: {{draws: {draws}, tune: {tune}, chains: 2, future_paths: 100}}
"""

EVIDENCE = """\
items:
  - {id: p1, event_date: 2022-06-15, published: 2022-06-20, indicator: pressure, value: 0.5, source: generated, grade: B2, quote: q}
  - {id: p2, event_date: 2023-06-15, published: 2023-06-20, indicator: pressure, value: 1.0, source: generated, grade: A1, quote: q}
  - {id: p3, event_date: 2024-10-15, published: 2024-10-20, indicator: pressure, value: 1.5, source: generated, grade: B2, quote: q}
"""
AS_OF = "2024-12-31"
STRUCTURES = (1.5, 2.0, 2.5, 3.0)  # baseline prior alphas: each its own compiled model


def generated_project(root: Path, n: int, draws: int, tune: int) -> list[str]:
    """A project with ``n`` small questions (four prior variants, so four model structures)."""
    (root / "models" / "sources").mkdir(parents=True)
    (root / "evidence").mkdir()
    (root / "models" / "sources" / "source.txt").write_text("The border stayed quiet all year. Officials said the pressure was rising.\n")
    (root / "models" / "indicators.yaml").write_text(LIBRARY)
    (root / "evidence" / "items.yaml").write_text(EVIDENCE)
    ids = []
    for i in range(n):
        qid = f"generated-{i:02d}"
        first = f"2025-{1 + i % 11:02d}-28"
        (root / "models" / f"{qid}.yaml").write_text(SPEC.format(qid=qid, n=i, first=first, alpha=STRUCTURES[i % len(STRUCTURES)], draws=draws, tune=tune))
        ids.append(qid)
    return ids


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def drop_compiled_models() -> None:
    """Forget this process's compiled models (the on-disk compilation cache stays warm)."""
    from forecast.inference import sampling

    sampling._MODELS.clear()


def noop(i: int) -> int:
    return i


def line(name: str, n: int, unit: str, here: float, there: float, start: float, same: bool, workers: int) -> None:
    print(f"{name}: {n} {unit}")
    print(f"  this process:      {here:8.1f}s  {n / here:6.3f} {unit}/s")
    print(f"  {workers} Dask workers:    {there:8.1f}s  {n / there:6.3f} {unit}/s  (of which {start:.1f}s starting the cluster)")
    print(f"  ratio cluster / this process: {there / here:.2f}x (target <= 0.60x)   same numbers: {'yes' if same else 'NO'}", flush=True)


def main() -> None:
    import numpy as np

    import forecast
    from forecast.core.cluster import connect, map_tasks
    from forecast.runs.update import update_all

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--question", default="belarus-entry", help="the question of the SBC")
    ap.add_argument("--as-of", default="2024-09-30")
    ap.add_argument("--quick", action="store_true", help="--quick SBC sizes instead of the default ones")
    ap.add_argument("--draws", type=int, default=500, help="draws per chain of the generated questions")
    ap.add_argument("--tune", type=int, default=500)
    args = ap.parse_args()

    from forecast.checks.context import DEFAULT, QUICK

    sizes = QUICK if args.quick else DEFAULT
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {os.cpu_count()} CPUs, {cores} usable by this process; {load()}")
    print(f"this process: SBC fits in this process, one after another; update fits with 2 chains in 2 processes (cores=min(chains, {cores}))")
    print(f"cluster: distributed.LocalCluster of {args.workers} worker processes x 1 thread; every task runs its chains in its worker")
    print(f"SBC: {args.question} as of {args.as_of}, {args.sims} simulations of 1 chain x {sizes.sbc_tune} tune + {sizes.sbc_draws} draws "
          f"({'--quick' if args.quick else 'default'} sizes)")
    print(f"update --all: {args.questions} generated questions ({len(STRUCTURES)} model structures), 2 chains x {args.tune} tune + {args.draws} draws, "
          f"as of {AS_OF}", flush=True)

    question = forecast.load(args.question)
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    warm = work / "warm-up"
    warm.mkdir()
    ids = generated_project(warm, len(STRUCTURES), 20, 20)
    print("warming PyTensor's compilation cache (untimed)...", flush=True)
    forecast.check(question, only="sbc", sims=2, quick=True, as_of=args.as_of)
    update_all(ids, root=warm, as_of=AS_OF)

    # -- SBC --------------------------------------------------------------------------------------
    drop_compiled_models()
    t0 = time.perf_counter()
    (here,) = forecast.check(question, only="sbc", sims=args.sims, quick=args.quick, as_of=args.as_of, seed=1)
    t_here = time.perf_counter() - t0
    print(f"  (this process done; {load()})", flush=True)
    t0 = time.perf_counter()
    with connect(workers=args.workers) as client:
        t_start = time.perf_counter() - t0
        (there,) = forecast.check(question, only="sbc", sims=args.sims, quick=args.quick, as_of=args.as_of, seed=1, client=client)
    t_there = time.perf_counter() - t0
    same_sbc = np.array_equal(here.tables["pit"].to_numpy(), there.tables["pit"].to_numpy())
    line("SBC", args.sims, "simulations", t_here, t_there, t_start, same_sbc, args.workers)
    print(f"  seconds per simulation inside its task: {here.metrics['seconds_per_sim']:.2f}s here, {there.metrics['seconds_per_sim']:.2f}s on a worker; {load()}", flush=True)

    # -- update --all ---------------------------------------------------------------------------------
    roots = {side: work / side for side in ("here", "there")}
    for root in roots.values():
        root.mkdir()
        ids = generated_project(root, args.questions, args.draws, args.tune)
    drop_compiled_models()
    t0 = time.perf_counter()
    seq = update_all(root=roots["here"], as_of=AS_OF)
    u_here = time.perf_counter() - t0
    print(f"  (this process done; {load()})", flush=True)
    t0 = time.perf_counter()
    with connect(workers=args.workers) as client:
        u_start = time.perf_counter() - t0
        par = update_all(root=roots["there"], as_of=AS_OF, client=client)
    u_there = time.perf_counter() - t0
    ok = all(o.status == "succeeded" for o in seq + par)
    same = ok and [o.record["headline_mean"] for o in seq] == [o.record["headline_mean"] for o in par]
    line("update --all", args.questions, "questions", u_here, u_there, u_start, same, args.workers)
    print(f"  {load()}", flush=True)

    # -- scheduler overhead -----------------------------------------------------------------------------
    with connect(workers=args.workers) as client:
        map_tasks(noop, range(20), client)  # workers up and connected
        t0 = time.perf_counter()
        map_tasks(noop, range(200), client)
        per_task = (time.perf_counter() - t0) / 200
    print(f"scheduler overhead: {1000 * per_task:.1f} ms per task (200 tasks that do nothing, {args.workers} workers: submit, run, "
          f"result back, in order); the SBC's {t_there / args.sims * 1000:.0f} ms and the update's {u_there / args.questions * 1000:.0f} ms of wall per task")
    print(f"done; {load()}")
    if not (same and same_sbc):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
