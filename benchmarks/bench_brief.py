"""`forecast brief` of a recorded run against one default update, and a no-op update, in one process.

    uv run python benchmarks/bench_brief.py [--question belarus-entry] [--as-of 2024-09-30]

In a throw-away ledger: one warm-up fit (compilation), then ``forecast update`` at the spec's
default settings (timed), ``forecast brief`` of that run (timed, with the default refit budget:
refits only where PSIS is unreliable and the item's estimated influence is above half a point;
each refit's settings, time and headline MCSE are printed), and the same update again, which finds
its fingerprint in the ledger and samples nothing (timed). Prints the sampler settings and cores of
the update and of the refits (warm-started from the update's draws, same chains, seed and cores:
:func:`forecast.analysis.influence.headline_without`), the ratio brief / update (target <= 1.5x),
the no-op time (target < 2 s), and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} CPUs"


def main() -> None:
    import forecast
    from forecast.inputs.settings import SampleConfig
    from forecast.reports.brief import brief
    from forecast.runs.update import update

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--question", default="belarus-entry")
    ap.add_argument("--as-of", default="2024-09-30")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    ledger = tmp / "ledger.sqlite"

    q = forecast.load(args.question)
    cfg = SampleConfig.from_settings(q.spec.sampler)
    cores = cfg.cores or min(cfg.chains, os.cpu_count() or 1)
    print(f"start: {load()}", flush=True)
    print("warming up (compilation)...", flush=True)
    q.fit(as_of=args.as_of, draws=50, tune=50)

    t0 = time.perf_counter()
    outcome = update(args.question, as_of=args.as_of, ledger_path=ledger)
    t_update = time.perf_counter() - t0
    print(f"update: {t_update:.1f}s, run {outcome.run_id} ({load()})", flush=True)

    stages: dict[str, list[float]] = {}  # stage -> [first, last] progress time

    def tick(stage, done, total):
        now = time.perf_counter() - t0
        stages.setdefault(stage, [now, now])[1] = now

    t0 = time.perf_counter()
    pack = brief(args.question, run=outcome.run_id, out=tmp / "brief", ledger_path=ledger, progress=tick)
    t_brief = time.perf_counter() - t0
    table = pack.content.influence
    refits = int((table["method"] == "refit").sum()) if table is not None else 0
    print(f"brief: {t_brief:.1f}s, {refits} refits ({load()})", flush=True)
    for stage, (first, last) in stages.items():
        print(f"  {stage}: progress from {first:.1f}s to {last:.1f}s into the brief")
    for r in (table.attrs.get("refits", []) if table is not None else []):
        print(f"  refit without {r['id']}: {r['chains']} chains x {r['draws']} draws, tune {r['tune']}, "
              f"{'warm-started' if r['warm'] else 'default start'}, {r['seconds']:.1f}s, headline MCSE {r['mcse']:.4f}, "
              f"{'diagnostics OK' if r['passed'] else 'FLAGGED: ' + '; '.join(r['problems'])}")

    t0 = time.perf_counter()
    again = update(args.question, as_of=args.as_of, ledger_path=ledger)
    t_noop = time.perf_counter() - t0
    assert again.status == "up-to-date", again.status

    print(f"\n{args.question} as of {args.as_of}: update at {cfg.chains} chains x {cfg.draws} draws "
          f"(tune {cfg.tune}, target_accept {cfg.target_accept}) on {cores} cores, refits as listed; end: {load()}")
    print(f"update {t_update:.1f}s, brief {t_brief:.1f}s ({refits} refits of {len(table) if table is not None else 0} items): "
          f"ratio brief / update = {t_brief / t_update:.2f}x (target <= 1.5x)")
    print(f"no-op update (fingerprint found): {t_noop:.2f}s (target < 2 s)")


if __name__ == "__main__":
    main()
