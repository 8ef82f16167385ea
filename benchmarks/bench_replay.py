"""A 24-point monthly replay against one update and against cold refits, in one process.

    uv run python benchmarks/bench_replay.py [--question belarus-entry] [--from 2022-10] [--to 2024-09] [--check 4]

Prints: the time of one full update (default settings; the mean of one before and one after the
replay, as the machine's load drifts), the time of the replay (every point computed again,
``--force``: NUTS anchors plus PSIS-reweighted points, with the time of each kind), their ratio
(target <= 4x)
beside the number of points that pass the update's diagnostics (target: all), the cores each side
ran on and the machine's load average, how many points needed a NUTS fit, and the largest
disagreement between replay points and cold refits of the same as-of dates, on the headline and on
the rolling headline (``--check`` points, each a fresh model and compile at the update's default
settings; target <= 0.02). ``--no-reweight`` times the NUTS-at-every-point replay instead, for
comparison.
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
    from forecast.runs.replay import REPLAY_SETTINGS, replay

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--question", default="belarus-entry")
    ap.add_argument("--from", dest="start", default="2022-10")
    ap.add_argument("--to", dest="end", default="2024-09")
    ap.add_argument("--check", type=int, default=4, help="cold refits to compare with")
    ap.add_argument("--no-reweight", dest="reweight", action="store_false")
    args = ap.parse_args()
    ledger = Path(tempfile.mkdtemp()) / "ledger.sqlite"

    q = forecast.load(args.question)
    update_cfg = SampleConfig.from_settings(q.spec.sampler)
    replay_cfg = SampleConfig.from_settings(q.spec.sampler, **REPLAY_SETTINGS)
    cores = {name: cfg.cores or min(cfg.chains, os.cpu_count() or 1) for name, cfg in (("update", update_cfg), ("replay", replay_cfg))}
    print(f"start: {load()}", flush=True)
    print("warming up (compilation of both graphs)...", flush=True)
    end = args.end + "-28" if len(args.end) == 7 else args.end
    q.fit(as_of=end, draws=50, tune=50)
    replay(args.question, args.end, args.end, ledger_path=ledger, force=True, draws=50, tune=50)

    # one update before and one after the replay: the machine's load drifts, and the ratio is
    # taken against their mean
    t0 = time.perf_counter()
    one = q.fit(as_of=end)
    t_before = time.perf_counter() - t0
    before_replay = load()

    t0 = time.perf_counter()
    df = replay(args.question, args.start, args.end, ledger_path=ledger, force=True, reweight=args.reweight)
    t_replay = time.perf_counter() - t0
    after_replay = load()

    t0 = time.perf_counter()
    q.fit(as_of=end, seed=2)
    t_after = time.perf_counter() - t0
    t_update = (t_before + t_after) / 2

    worst = worst_rolling = float("nan") if args.check <= 0 else 0.0  # --check 0: no cold refits
    checked = df.iloc[:: max(1, len(df) // args.check)].head(args.check) if args.check > 0 else df.iloc[:0]
    for row in checked.itertuples():
        cold = q.fit(as_of=row.as_of, seed=101)
        mean = float(cold.summary().set_index("horizon").loc[cold.headline]["mean"])
        rolling = cold.rolling()["mean"]
        worst = max(worst, abs(mean - row.headline_mean))
        worst_rolling = max(worst_rolling, abs(rolling - row.rolling_mean))
        print(f"  {row.as_of} ({row.method}): headline replay {row.headline_mean:.4f} cold {mean:.4f}; "
              f"P(within {row.rolling_months} months) replay {row.rolling_mean:.4f} cold {rolling:.4f}", flush=True)
    passed = int(df.diagnostics_passed.sum())
    print(f"\n{len(df)} replay points: {int((df.method == 'nuts').sum())} NUTS anchors "
          f"({replay_cfg.chains} chains x {replay_cfg.draws} draws, {replay_cfg.tune} tuning), {int((df.method == 'reweighted').sum())} reweighted")
    if passed < len(df):
        from forecast.runs.ledger import Ledger

        rows = Ledger(ledger)
        for r in df[~df.diagnostics_passed].itertuples():
            print(f"  flagged {r.as_of} ({r.method}): {'; '.join(rows.get(int(r.run_id))['diagnostics']['problems'])}")
    print(f"one update (default settings, {update_cfg.chains} chains x {update_cfg.draws} draws, {cores['update']} cores): {t_update:.1f}s, "
          f"the mean of {t_before:.1f}s before and {t_after:.1f}s after the replay (headline {one.summary().set_index('horizon').loc[one.headline]['mean']:.4f})")
    by_method = df.groupby("method")["seconds"]
    split = ", ".join(f"{m} {n} x {mean:.1f}s" for m, n, mean in zip(by_method.size().index, by_method.size(), by_method.mean()))
    print(f"replay ({cores['replay']} cores): {t_replay:.1f}s, {t_replay / len(df):.1f}s per point ({split})")
    print(f"ratio replay / update = {t_replay / t_update:.2f}x (target <= 4x); {passed}/{len(df)} points pass the diagnostics (target {len(df)}/{len(df)})")
    if args.check > 0:
        print(f"largest |replay - cold refit|: headline {worst:.4f}, rolling headline {worst_rolling:.4f} (target <= 0.02)")
    print(f"before the replay: {before_replay}; after it: {after_replay}; end: {load()}")


if __name__ == "__main__":
    main()
