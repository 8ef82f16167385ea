"""Size of a stored run before and after the compact format, and what the compaction costs in precision.

    uv run python benchmarks/bench_storage.py [--question belarus-entry] [--as-of 2026-12-01] [--seed 1]
    uv run python benchmarks/bench_storage.py --tree runs/belarus-entry/run-000001.nc   # a file of the earlier format

Fits the question at its default settings (4 chains x 1500 draws for the shipped questions; as of
today unless ``--as-of``), or reads a full tree written by the earlier format (``--tree``), then
writes the tree twice:

* **before**: as ``forecast update`` wrote it until now (``DataTree.to_netcdf``: float64, every
  deterministic quantity, no compression);
* **after**: :func:`forecast.inference.store.save_result` (see its module docstring).

Prints both sizes (target: after <= 5 MB), the time to write and to read back, the size of each group
in the new file, how many kB a further month of grid adds, and the precision of the reloaded
result: headline, intervals and curve against the fit's, the largest level error against its bound
(volatility x step / 2), and P(event by a date between horizons), recomputed from the stored draws.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

TARGET_MB = 5.0


def megabytes(path: Path) -> float:
    return path.stat().st_size / 1e6


def group_sizes(tree, encoding, folder: Path) -> dict[str, float]:
    """MB of each group written alone with the stored encoding (the file's own overhead left out)."""
    import xarray as xr

    out = {}
    for name, node in tree.children.items():
        path = folder / f"group-{name}.nc"
        ds = node.to_dataset()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xr.Dataset(ds.data_vars, coords=ds.coords).to_netcdf(path, engine="netcdf4", encoding=encoding[f"/{name}"])
        out[name] = megabytes(path)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default="belarus-entry")
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: today)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tree", type=Path, default=None, help="a full posterior tree (.nc of the earlier format) instead of a fit")
    args = parser.parse_args()

    import xarray as xr

    import forecast
    from forecast.inference import store
    from forecast.inference.result import FitResult

    if args.tree is not None:
        with xr.open_datatree(args.tree, engine="netcdf4") as tree:
            result = FitResult.from_tree(tree.load())
        print(f"tree: {args.tree}")
    else:
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else dt.date.today()
        t0 = time.perf_counter()
        result = forecast.load(args.question).fit(as_of=as_of, seed=args.seed)
        print(f"fitted {args.question} as of {as_of} in {time.perf_counter() - t0:.0f} s")
    post = result.idata["posterior"]
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    months = result.design.n_months
    print(f"{result.spec.id} as of {result.as_of}: {chains} chains x {draws} draws, {len(result.design.indicator_ids)} indicators, "
          f"{months} months, {len(result.design.evidence_ids)} evidence items")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        before = folder / "before.nc"
        t0 = time.perf_counter()
        result.idata.to_netcdf(before, engine="netcdf4")
        t_before = time.perf_counter() - t0
        t0 = time.perf_counter()
        paths = store.save_result(result, folder, stem="after")
        t_after = time.perf_counter() - t0
        after = Path(paths["posterior"])
        t0 = time.perf_counter()
        loaded = FitResult.from_tree(store.load_tree(after))
        t_load = time.perf_counter() - t0
        written, encoding = store.encode_tree(result.idata)
        groups = group_sizes(written, encoding, folder)
        info = json.loads(written.attrs[store.ATTR_STORAGE])

        print()
        print(f"before: {megabytes(before):7.2f} MB  (float64, every variable, uncompressed; written in {t_before:.1f} s)")
        print(f"after:  {megabytes(after):7.2f} MB  (written in {t_after:.1f} s, read back in {t_load:.1f} s)"
              f"  = 1/{megabytes(before) / megabytes(after):.0f}; summary JSON {Path(paths['summary']).stat().st_size / 1e3:.1f} kB")
        verdict = "OK" if megabytes(after) <= TARGET_MB else "OVER"
        print(f"target: <= {TARGET_MB:g} MB per run: {verdict}")
        print("groups of the new file (each written alone): " + ", ".join(f"{k} {v:.2f} MB" for k, v in groups.items()))
        innovation = written["posterior"]["innovation"] if "innovation" in written["posterior"].data_vars else None
        if innovation is not None and months > 1:
            path = folder / "innovation.nc"
            xr.Dataset({"innovation": innovation}).to_netcdf(path, engine="netcdf4", encoding={"innovation": encoding["/posterior"]["innovation"]})
            print(f"each further month of grid adds about {path.stat().st_size / (months - 1) / 1e3:.0f} kB "
                  f"(the innovations of {len(result.design.indicator_ids)} indicators x {chains * draws} draws)")
        print(f"recomputed on load: {info['recomputed']}; not stored: {info['not_stored']}")

    print()
    a, b = result.summary().set_index("horizon"), loaded.summary().set_index("horizon")
    cols = ["mean", "median", "lower_50", "upper_50", "lower_90", "upper_90", "mcse"]
    print(f"horizon table, largest difference: {np.abs(a[cols].to_numpy() - b[cols].to_numpy()).max():.2e}")
    ca, cb = result.curve(), loaded.curve()
    cols = ["mean", "median", "lower_50", "upper_50", "lower_90", "upper_90"]
    print(f"curve, largest difference:         {np.abs(ca[cols].to_numpy() - cb[cols].to_numpy()).max():.2e}")
    print(f"headline: {result.headline_sentence()}")
    print(f"reloaded: {loaded.headline_sentence()}")
    if "level" in post.data_vars:
        lv = np.abs(loaded.idata["posterior"]["level"].values - post["level"].values)
        bound = loaded.idata["posterior"]["volatility"].values[..., None] * store.INNOVATION_STEP / 2
        sd = float(post["level"].std(("chain", "draw")).min())
        print(f"level: largest error {lv.max():.4f} (bound volatility x {store.INNOVATION_STEP:g} / 2: {'held' if np.all(lv <= bound * (1 + 1e-9) + 1e-12) else 'BROKEN'}), "
              f"RMS {np.sqrt((lv ** 2).mean()):.4f}; smallest posterior SD of a level {sd:.3f}")
    horizons = [h for h in result.horizons]
    if len(horizons) >= 2:
        between = horizons[0] + (horizons[1] - horizons[0]) / 2
        pa, pb = result.p_by(between), loaded.p_by(between)
        print(f"P(event by {between}), recomputed from the stored draws: mean {pa.mean():.5f} -> {pb.mean():.5f}; "
              f"largest difference of a draw {np.abs(pa - pb).max():.1e}")


if __name__ == "__main__":
    main()
