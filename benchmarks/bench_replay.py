"""A 24-point monthly replay against one update and against cold refits, in one process.

    uv run python benchmarks/bench_replay.py [--question belarus-entry] [--from 2022-10] [--to 2024-09] [--check 4]

Prints: the time of one full update (default settings), the time of the replay (every point
computed again, ``--force``: NUTS anchors plus PSIS-reweighted points), their ratio (target <= 4x),
how many points needed a NUTS fit, and the largest headline disagreement between replay points and
cold refits of the same as-of dates (``--check`` points, each a fresh model and compile at the
update's default settings; target <= 0.02). ``--no-reweight`` times the NUTS-at-every-point
replay instead, for comparison.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    import forecast
    from forecast.runs.replay import replay

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--question", default="belarus-entry")
    ap.add_argument("--from", dest="start", default="2022-10")
    ap.add_argument("--to", dest="end", default="2024-09")
    ap.add_argument("--check", type=int, default=4, help="cold refits to compare with")
    ap.add_argument("--no-reweight", dest="reweight", action="store_false")
    args = ap.parse_args()
    ledger = Path(tempfile.mkdtemp()) / "ledger.sqlite"

    q = forecast.load(args.question)
    print("warming up (compilation of both graphs)...", flush=True)
    end = args.end + "-28" if len(args.end) == 7 else args.end
    q.fit(as_of=end, draws=50, tune=50)
    replay(args.question, args.end, args.end, ledger_path=ledger, force=True, draws=50, tune=50)

    t0 = time.perf_counter()
    one = q.fit(as_of=end)
    t_update = time.perf_counter() - t0

    t0 = time.perf_counter()
    df = replay(args.question, args.start, args.end, ledger_path=ledger, force=True, reweight=args.reweight)
    t_replay = time.perf_counter() - t0

    step = max(1, len(df) // args.check)
    worst = 0.0
    for row in df.iloc[::step].head(args.check).itertuples():
        cold = q.fit(as_of=row.as_of, seed=101)
        mean = float(cold.summary().set_index("horizon").loc[cold.headline]["mean"])
        worst = max(worst, abs(mean - row.headline_mean))
        print(f"  {row.as_of} ({row.method}): replay {row.headline_mean:.4f}, cold refit {mean:.4f}, diff {abs(mean - row.headline_mean):.4f}", flush=True)
    print(f"\n{len(df)} replay points: {int((df.method == 'nuts').sum())} NUTS anchors, {int((df.method == 'reweighted').sum())} reweighted; "
          f"{int(df.diagnostics_passed.sum())} passing diagnostics")
    print(f"one update (default settings): {t_update:.1f}s (headline {one.summary().set_index('horizon').loc[one.headline]['mean']:.4f})")
    print(f"replay: {t_replay:.1f}s, {t_replay / len(df):.1f}s per point")
    print(f"ratio replay / update = {t_replay / t_update:.2f}x (target <= 4x)")
    print(f"largest |replay - cold refit| on the headline = {worst:.4f} (target <= 0.02)")


if __name__ == "__main__":
    main()
