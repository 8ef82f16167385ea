"""Bounds of every number a user can set, shared by the file formats and the command line.

A value outside these bounds is refused when a file is validated or an option is parsed, before
anything is sampled or written: ``--chains 0`` would divide by zero, ``--tune -1`` would record a
"succeeded" run from unadapted draws, and a horizon in the year 2500 would allocate gigabytes of
simulated paths before failing.

The memory bounds follow from the two largest arrays of a fit:

* the posterior holds the latent paths, ``chains * draws * indicators * months`` float64 values,
  so ``chains * draws`` is capped at :data:`MAX_TOTAL_DRAWS`;
* the forecast simulates ``future_paths`` random walks to the last horizon for each block of 16
  draws (:func:`forecast.model.prediction.prob_by`), a few arrays of ``16 * future_paths * months``
  float64 values; ``future_paths * months`` to the last horizon is capped at
  :data:`MAX_PATH_MONTHS`, which also bounds the work of simulating those paths for every draw.
"""

from __future__ import annotations

# sampler settings (spec ``sampler:`` block and ``--draws/--tune/--chains``)
DRAWS = (10, 20_000)
TUNE = (10, 20_000)
CHAINS = (1, 16)
CORES = (1, 64)
FUTURE_PATHS = (1, 1_000)
MAX_TOTAL_DRAWS = 100_000  # chains * draws
PRIOR_DRAWS = (10, 20_000)

# random seeds: numpy and PyMC take any non-negative integer; 2**31 - 1 keeps seed + offsets an int32
SEED = (0, 2**31 - 1)

# question spec
HORIZON_YEARS = 50  # no horizon more than 50 years after the risk window start
MAX_HORIZONS = 240
LEAD_MONTHS = (0, 600)
MAX_PATH_MONTHS = 200 * 600  # future_paths * months from the risk window start to the last horizon

# command-line options of scheduled updates, briefs and checks
ALERT_THRESHOLD = (0.0, 1.0)  # a move of the headline probability
LOCK_TIMEOUT = (0.0, 7 * 24 * 3600.0)  # seconds
KEEP_RUNS = (0, 100_000)  # runs whose files `forecast prune --keep` / `forecast update --keep` keep
INFLUENCE_REFITS = (0, 100)
SIMS = (1, 10_000)
WORKERS = (1, 64)

# CSV evidence files (forecast.inputs.evidence.read_csv_evidence): automated event exports of
# 100,000 rows are a supported use. A CSV file is read as a stream, one row at a time, so its
# memory is that of its items (about 2.4 kB each, held until the fit, benchmarks/bench_load.py):
# the row limit bounds it near 0.6 GB; the byte limit leaves room for long quotes. YAML files keep
# the 2 MiB of forecast.inputs.yamlio.MAX_FILE_BYTES (parsed whole, with a node tree for lines).
CSV_EVIDENCE_BYTES = 64 * 1024 * 1024  # 64 MiB
CSV_EVIDENCE_ROWS = 250_000
