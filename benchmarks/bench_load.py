"""Reading and validating a 100,000-row CSV evidence file: wall time and peak Python memory.

    uv run python benchmarks/bench_load.py [--rows 100000]

Writes a CSV of ``--rows`` level observations (the columns ``forecast schema evidence`` lists,
as a spreadsheet export has them) to a temp folder and reads it twice with
:func:`forecast.inputs.evidence.read_evidence_file` (the reader ``forecast validate`` and
``forecast.load`` use, with its default limits): once timed (target < 5 s), once under
``tracemalloc`` for the peak memory (tracing every allocation slows that read several times, so
its time is printed apart). Prints the file size, both times, the peak memory traced and the memory
per row, the number of items and problems, and the machine's load before and after.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from pathlib import Path


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} CPUs"


def write_csv(path: Path, rows: int) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    indicators = ["military-integration", "unrest-risk", "economic-dependence", "russian-pressure", "regime-autonomy"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,event_date,published,indicator,value,source,grade,quote\n")
        for i in range(rows):
            month = 1 + i % 12
            f.write(f"row-{i},2023-{month:02d}-15,2023-{month:02d}-20,{indicators[i % 5]},{rng.normal(0, 0.5):.3f},"
                    f"synthetic,{'ABC'[i % 3]}{1 + i % 3},\"synthetic observation {i}\"\n")


def main() -> None:
    from forecast.inputs.evidence import read_evidence_file

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    path = Path(tempfile.mkdtemp()) / "evidence.csv"
    write_csv(path, args.rows)
    size = path.stat().st_size
    print(f"start: {load()}; {args.rows:,} rows, {size / 1e6:.1f} MB", flush=True)
    t0 = time.perf_counter()
    items, problems = read_evidence_file(path)
    seconds = time.perf_counter() - t0
    n_items, n_problems = len(items), len(problems)
    del items, problems
    tracemalloc.start()
    t0 = time.perf_counter()
    traced_items, _ = read_evidence_file(path)
    traced_seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(traced_items) == n_items
    print(f"read and validated {args.rows:,} rows into {n_items:,} items ({n_problems} problems) in {seconds:.1f}s (target < 5 s); "
          f"under tracemalloc {traced_seconds:.1f}s, peak traced memory {peak / 1e6:.0f} MB ({peak / max(args.rows, 1):.0f} bytes per row); "
          f"end: {load()}")


if __name__ == "__main__":
    main()
