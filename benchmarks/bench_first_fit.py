"""A first fit on a fresh machine against a warm one, per PyTensor backend, each in its own process.

    uv run python benchmarks/bench_first_fit.py [--question belarus-entry] [--as-of 2024-09-30] [--backends numba c]

"Fresh machine": a new process whose PyTensor compile directory (``PYTENSOR_FLAGS=compiledir=...``)
and numba cache (``NUMBA_CACHE_DIR``) are empty temp folders. "Warm": a second new process with the
same, now filled, folders (nothing kept in memory: what a scheduled run or the next test worker
sees). Each process imports forecast, loads the question and runs one ``Question.fit`` at the
spec's default settings (chains on ``min(chains, CPUs)`` cores), and reports the import time, the fit's
wall time, the NUTS time PyMC records (``sampling_time``) and the rest (building and compiling the
model, prior draws, forecast), plus the headline, so backends can be checked to give the same numbers.

Backends: ``numba`` (PyTensor's default linker) and ``c`` (``linker=cvm``, PyTensor's C backend,
compiled by the system's C++ compiler). Prints one row per backend and state, the ratio first /
warm fit (target <= 2x), and the load average at the start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKENDS = {"numba": "", "c": "linker=cvm"}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} CPUs"


def child(question: str, as_of: str) -> None:
    t0 = time.perf_counter()
    import forecast

    t_import = time.perf_counter() - t0
    q = forecast.load(question)
    t0 = time.perf_counter()
    r = q.fit(as_of=as_of, seed=1)
    t_fit = time.perf_counter() - t0
    sampling = float(r.idata["sample_stats"].attrs.get("sampling_time", float("nan")))
    row = r.summary().set_index("horizon").loc[r.headline]
    print(json.dumps({"import": t_import, "fit": t_fit, "nuts": sampling, "headline": float(row["mean"]), "mcse": float(row["mcse"]),
                      "divergences": r.diagnostics.divergences, "chains": int(r.idata["posterior"].sizes["chain"]),
                      "draws": int(r.idata["posterior"].sizes["draw"])}))


def run(question: str, as_of: str, flags: str, compiledir: Path, numba_dir: Path) -> dict:
    env = dict(os.environ)
    env["PYTENSOR_FLAGS"] = ",".join(f for f in (f"compiledir={compiledir}", flags) if f)
    env["NUMBA_CACHE_DIR"] = str(numba_dir)
    out = subprocess.run([sys.executable, __file__, "--child", "--question", question, "--as-of", as_of], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--question", default="belarus-entry")
    ap.add_argument("--as-of", default="2024-09-30")
    ap.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.question, args.as_of)
        return

    print(f"start: {load()}", flush=True)
    rows = []
    for backend in args.backends:
        with tempfile.TemporaryDirectory() as tmp:
            compiledir, numba_dir = Path(tmp) / "pytensor", Path(tmp) / "numba"
            for state in ("first", "warm"):
                r = run(args.question, args.as_of, BACKENDS[backend], compiledir, numba_dir)
                r.update(backend=backend, state=state, other=r["fit"] - r["nuts"])
                rows.append(r)
                print(f"{backend:5s} {state:5s}: import {r['import']:5.1f}s  fit {r['fit']:6.1f}s  (NUTS {r['nuts']:5.1f}s, compile and "
                      f"the rest {r['other']:5.1f}s)  headline {r['headline']:.4f} (MCSE {r['mcse']:.4f}), {r['divergences']} divergences; "
                      f"{load()}", flush=True)
    chains, draws = rows[0]["chains"], rows[0]["draws"]
    cores = min(chains, os.cpu_count() or 1)
    print(f"\n{args.question} as of {args.as_of}: {chains} chains x {draws} draws on {cores} cores; end: {load()}")
    for backend in args.backends:
        first, warm = (next(r for r in rows if r["backend"] == backend and r["state"] == s) for s in ("first", "warm"))
        print(f"{backend:5s}: first fit {first['fit']:.1f}s, warm {warm['fit']:.1f}s, ratio {first['fit'] / warm['fit']:.2f}x (target <= 2x); "
              f"first process incl. import {first['fit'] + first['import']:.1f}s")


if __name__ == "__main__":
    main()
