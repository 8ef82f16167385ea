"""Time to build the dashboard (``forecast site``) from a ledger, in this process.

    uv run python benchmarks/bench_site.py [--ledger runs/ledger.sqlite] [--briefs briefs] [--repeat 3]

Builds the site ``--repeat`` times into a temporary folder (the first build includes importing the
plotting stack and compiling the scenario model; later ones reuse both, as a long-lived process
would) and prints each build's wall time, the number of questions and pages, and what the site
holds. Nothing is sampled: the site reads the ledger and the runs' stored posteriors.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    import forecast

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ledger", default=None, help="ledger database (default: runs/ledger.sqlite or $FORECAST_LEDGER)")
    ap.add_argument("--briefs", default=None, help="folder of briefs to link (default: briefs/)")
    ap.add_argument("--root", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "site"
        for i in range(args.repeat):
            t0 = time.perf_counter()
            built = forecast.site(out=out, root=args.root, ledger_path=args.ledger, briefs=args.briefs)
            wall = time.perf_counter() - t0
            heads = ", ".join(f"{q['id']} run {q['run']['id']}" if q["run"] else f"{q['id']} (no run)" for q in built.questions)
            print(f"build {i + 1}: {wall:.1f} s for {len(built.questions)} questions, {len(built.pages)} pages ({heads})")
        files = [p for p in out.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        print(f"site: {len(files)} files, {size / 1e6:.1f} MB, {sum(p.suffix == '.png' for p in files)} figures, "
              f"{sum(p.suffix == '.pdf' for p in files)} brief PDFs")


if __name__ == "__main__":
    main()
