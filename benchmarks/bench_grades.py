"""What one evidence item of each strength and grade does to its indicator and to the headline, by refits.

The README's table "What one report does" is this script's output. Settings: ``belarus-entry`` with
the shipped evidence, as of 2025-10-31, the spec's sampler settings (4 chains x 1500 draws after
1000 tuning steps), seed 1. One fit without the item, then one refit per row, each adding one item
on ``military-integration`` dated 2025-09-12 (published 2025-09-15): ``up`` with strength weak
(+0.25), moderate (+0.5) or strong (+1.0), or a level of +1.0, at grades A1, B2, C3 and F6.

Columns: for a change item, the move of the posterior mean of the indicator's 3-month change
(2025-06 to 2025-09) and that move as a share of the reported change; for a level item, the move of
the posterior mean level in 2025-09 and its share of the distance from the mean without the item to
the reported level; the headline move (points of P(entry by the headline horizon)) with its Monte
Carlo SE (the two fits' MCSEs combined).

    uv run python benchmarks/bench_grades.py            # the README table (17 fits: 28 minutes on 2 busy cores)
    uv run python benchmarks/bench_grades.py --quick    # 2 chains x 500 draws: a first look
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import arviz_stats
import numpy as np
import xarray as xr

import forecast
from forecast.core import timegrid
from forecast.inputs.evidence import STRENGTH_VALUE, EvidenceItem, LocatedItem

QUESTION = "belarus-entry"
AS_OF = "2025-10-31"
INDICATOR = "military-integration"
EVENT_DATE = "2025-09-12"
PUBLISHED = "2025-09-15"
GRADES = ("A1", "B2", "C3", "F6")
KINDS = ("weak", "moderate", "strong", "level +1")


def report(kind: str, grade: str) -> LocatedItem:
    fields = {"value": 1.0} if kind.startswith("level") else {"direction": "up", "strength": kind}
    item = EvidenceItem.model_validate({"id": "one-report", "event_date": EVENT_DATE, "published": PUBLISHED, "indicator": INDICATOR,
                                        "source": "benchmark", "grade": grade, "quote": "one report", **fields})
    return LocatedItem(item=item, file="<benchmark>")


def measures(result) -> dict:
    d = result.design
    k = list(d.indicator_ids).index(INDICATOR)
    t = timegrid.month_index(d.grid_start, timegrid.to_date(EVENT_DATE))
    level = result.idata["posterior"]["level"].isel(indicator=k)
    p = result.p_by(result.headline)
    chains = result.idata["posterior"].sizes["chain"]
    mcse = float(arviz_stats.mcse(xr.DataArray(p.reshape(chains, -1), dims=("chain", "draw")), method="mean"))
    return {
        "change": float((level.isel(month=t) - level.isel(month=t - 3)).mean()),
        "level": float(level.isel(month=t).mean()),
        "headline": float(p.mean()),
        "mcse": mcse,
        "passed": result.passed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 chains x 500 draws after 500 tuning steps")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    settings = dict(as_of=AS_OF, seed=args.seed)
    if args.quick:
        settings |= dict(draws=500, tune=500, chains=2)
    q = forecast.load(QUESTION)
    t0 = time.perf_counter()
    base_fit = q.fit(**settings)
    base = measures(base_fit)
    print(f"{QUESTION} as of {AS_OF}, {settings}; headline horizon {base_fit.headline}")
    print(f"without the item: 3-month change {base['change']:+.3f}, level {base['level']:+.3f}, "
          f"headline {100 * base['headline']:.2f}% (MCSE {100 * base['mcse']:.2f} points), diagnostics {'ok' if base['passed'] else 'FLAGGED'}")
    print()
    print("| item | grade | indicator move | share of reported | headline move (points) | MCSE | diagnostics |")
    print("|---|---|---|---|---|---|---|")
    for kind in KINDS:
        for grade in GRADES:
            fit = dataclasses.replace(q, evidence=[*q.evidence, report(kind, grade)]).fit(**settings)
            m = measures(fit)
            if kind.startswith("level"):
                move, reported, what = m["level"] - base["level"], 1.0 - base["level"], "level"
            else:
                move, reported, what = m["change"] - base["change"], STRENGTH_VALUE[kind], "3-month change"
            mcse = np.hypot(m["mcse"], base["mcse"])
            label = "level +1.0" if kind.startswith("level") else f"up, {kind} (+{STRENGTH_VALUE[kind]:g})"
            print(f"| {label} | {grade} | {move:+.2f} ({what}) | {move / reported:.0%} | {100 * (m['headline'] - base['headline']):+.2f} "
                  f"| {100 * mcse:.2f} | {'ok' if m['passed'] else 'flagged'} |", flush=True)
    print(f"\n{1 + len(KINDS) * len(GRADES)} fits in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
