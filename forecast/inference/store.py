r"""Saving a fit (NetCDF posterior tree + JSON summary), loading it back, and verifying stored files.

The NetCDF file is the whole record: :meth:`FitResult.from_tree <forecast.inference.result.FitResult.from_tree>`
rebuilds the result from the tree alone (its attrs hold the spec, the person-period data, the
settings and the diagnostics), never from the project's files as they are today. Whether today's
files still match a run is a separate question, :func:`inputs_changed_since`.

What is stored (format 2)
-------------------------
A fit at the default settings (4 chains x 1500 draws) holds about 90 MB of float64 draws, most of
them the latent paths of the indicators. The file keeps what rebuilds every number and figure, at
the precision each needs, compressed (netCDF4 zlib with byte shuffle, readable by any netCDF tool):

* **Recomputed on load, not stored**: the deterministic quantities of the model, each a function
  of the stored free parameters and the design in the attrs (:func:`recompute_draws`): ``level``,
  ``level_now``, ``log_rate``, ``effect`` and ``log_baseline_rate`` in ``posterior`` and
  ``prior``, and the ``event_count`` term of ``log_likelihood`` (the Poisson log density of the
  month's count given ``log_rate``). A quantity is dropped only when recomputing it from the
  fit's own draws reproduces it (relative difference below 1e-9); otherwise it is stored, so a
  changed model never makes a file silently wrong. The attr ``forecast_storage`` lists what was
  recomputed.
* **Random-walk innovations** (``innovation``, the one large free parameter, indicator x month
  for every draw) are stored as integers on a grid of :data:`INNOVATION_STEP` standard deviations
  (netCDF ``scale_factor``, so any reader sees floats). They are rounded one month after the
  other with the rounding error carried into the next month, so the level rebuilt from them stays
  within ``volatility * INNOVATION_STEP / 2`` of the fitted level in every month (the error does not
  accumulate along the path). For belarus-entry the error's RMS is 0.004, about 1% of the smallest
  posterior SD of a level (0.31); it moves a level's posterior mean by about 1e-4 and the mean of
  P(event by a date) recomputed from the draws by about 1e-5, far less than their Monte Carlo
  errors. The prior's innovations (draws of the random walk the model starts from, read by no
  figure or number) are not stored, nor therefore are the prior's paths.
* **Headline draws** ``p_event_by`` are float32 as computed (relative error below 6e-8).
* **Every other float** (the scalar parameters, ``p_event_curve``, the ``evidence``
  log-likelihood, sampler statistics, prior predictive draws) is float32 with the mantissa
  rounded to :data:`FLOAT_BITS` significant bits (relative error at most :math:`2^{-17}`,
  7.6e-6); integers take the smallest integer type that holds them.

:func:`load_tree` undoes all this: the tree it returns has every group and variable a fit has
(float64), except the prior's latent paths.

Checksums
---------
:func:`save_result` returns the SHA-256 of both files, which the ledger records;
:func:`verify_artefact` checks a ledger row's file against it (and reports a pruned or missing
file) and :func:`load_result` calls it before reading, so a damaged file is refused with a message
that names the file, the run and what to do, never read as if it were a posterior.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from forecast.core.atomic import atomic_write
from forecast.core.checksum import sha256_bytes, sha256_file

STORAGE_FORMAT = 2
ATTR_STORAGE = "forecast_storage"  # JSON: format, recomputed variables per group, precisions
INNOVATION_STEP = 1 / 16  # grid of the stored innovations, in standard deviations of their N(0, 1) prior
FLOAT_BITS = 16  # significant bits kept of a float32 mantissa (of 23)
EXACT_FLOAT32 = {"posterior": ("p_event_by",), "prior": ("p_event_by",)}
EXACT_GROUPS = ("observed_data", "constant_data")  # the data, stored as they are
WALL_CLOCK = ("perf_counter_start", "perf_counter_diff", "process_time_diff")  # sampler timings, not stored
COMPRESSION = {"zlib": True, "complevel": 6, "shuffle": True}
DETERMINISTIC = ("level", "level_now", "log_rate", "effect", "log_baseline_rate")
RECOMPUTE_RTOL = 1e-9
ARTEFACTS = ("posterior", "summary")  # ledger columns <kind>_path and <kind>_sha256


class ArtefactError(ValueError):
    """A run's stored file cannot be used; ``kind`` says why and the message what to do.

    Kinds: ``"pruned"`` (deleted by ``forecast prune``), ``"missing"``, ``"damaged"`` (its bytes
    differ from those recorded, or netCDF cannot read them), ``"none"`` (the run recorded no file).
    """

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


# --------------------------------------------------------------------------------------------------
# precision


def bitround(values, keepbits: int = FLOAT_BITS) -> np.ndarray:
    """Values as float32 with the mantissa rounded (to nearest, ties to even) to ``keepbits`` bits.

    The dropped low bits are zeros, which zlib compresses to almost nothing (the BitRound of
    Klöwer et al. 2021, as netCDF's ``quantize_mode="BitRound"`` does, but here so the stored values
    are known before the file is written).

    Parameters
    ----------
    values : array_like
        Finite or not; NaN and infinities are kept.
    keepbits : int
        Significant mantissa bits kept, 1-23.

    Returns
    -------
    numpy.ndarray
        float32; the relative error is at most ``2 ** -(keepbits + 1)``.
    """
    a = np.ascontiguousarray(values, dtype=np.float32)
    if keepbits >= 23:
        return a
    bits = a.view(np.uint32).copy()
    drop = np.uint32(23 - keepbits)
    finite = np.isfinite(a)
    half = np.uint32((1 << (23 - keepbits - 1)) - 1)
    rounded = bits + ((bits >> drop) & np.uint32(1)) + half
    rounded &= ~np.uint32((1 << (23 - keepbits)) - 1)
    bits[finite] = rounded[finite]
    return bits.view(np.float32)


def _int_dtype(values: np.ndarray) -> np.dtype:
    """The smallest signed integer type holding ``values`` with one value to spare for _FillValue."""
    if values.size == 0:
        return np.dtype(np.int8)
    low, high = int(values.min()), int(values.max())
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min < low and high <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


# --------------------------------------------------------------------------------------------------
# the model's deterministic quantities, from the free parameters


def recompute_draws(ds, design) -> dict:
    """The model's deterministic quantities computed from a group's free parameters.

    The same arithmetic as :func:`forecast.model.hazard.build_model` (in float64): the baseline's
    monthly log rate, each indicator's signed effect, the random-walk levels, the level in the
    as-of month and the monthly log rate.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``posterior`` or ``prior`` group (chain, draw): ``baseline_probability`` and, for a
        question with indicators, ``level_start``, ``volatility``, ``effect_size`` and (with more
        than one month) ``innovation``.
    design : Design
        The design of the fit (months per period, signs, months).

    Returns
    -------
    dict
        Name -> xarray.DataArray, for each of ``log_baseline_rate``, ``effect``, ``level``,
        ``level_now``, ``log_rate`` whose inputs ``ds`` holds.
    """
    import xarray as xr

    from forecast.model.simulate import log_baseline_rate, walk_levels

    out = {}
    have = set(ds.data_vars)
    k = len(design.indicator_ids)
    base = ("chain", "draw")
    coords = {"chain": ds["chain"].values, "draw": ds["draw"].values}
    ind = {"indicator": list(design.indicator_ids)}
    months = {"month": design.month_labels}

    def values(name, *dims):
        return np.asarray(ds[name].transpose(*base, *dims).values, dtype=np.float64)

    lbr = effect = level = None
    if "baseline_probability" in have:
        lbr = log_baseline_rate(values("baseline_probability"), design.months_per_period)
        out["log_baseline_rate"] = xr.DataArray(lbr, dims=base, coords=coords)
    if k and "effect_size" in have:
        effect = values("effect_size", "indicator") * np.asarray(design.signs, dtype=np.float64)
        out["effect"] = xr.DataArray(effect, dims=(*base, "indicator"), coords={**coords, **ind})
    if k and {"level_start", "volatility"} <= have and (design.n_months == 1 or "innovation" in have):
        start = values("level_start", "indicator")
        if design.n_months > 1:
            level = walk_levels(start, values("volatility", "indicator"), values("innovation", "indicator", "step"))
        else:
            level = start[..., None]
        out["level"] = xr.DataArray(level, dims=(*base, "indicator", "month"), coords={**coords, **ind, **months})
        out["level_now"] = xr.DataArray(level[..., -1], dims=(*base, "indicator"), coords={**coords, **ind})
    if lbr is not None and (not k or (effect is not None and level is not None)):
        eta = np.zeros(lbr.shape + (design.n_months,)) + lbr[..., None]
        if k:
            eta = eta + np.concatenate(
                [np.einsum("cdk,cdkt->cdt", effect, level[..., :-1]), np.einsum("cdk,cdk->cd", effect, level[..., -1])[..., None]], axis=-1
            )
        out["log_rate"] = xr.DataArray(eta, dims=(*base, "month"), coords={**coords, **months})
    return out


def event_count_log_likelihood(log_rate, design):
    """The ``event_count`` term of the pointwise log-likelihood: Poisson(count | exposure * exp(log_rate)).

    Parameters
    ----------
    log_rate : xarray.DataArray
        (chain, draw, month) draws.
    design : Design
        Its ``counts`` and ``exposure`` per month.

    Returns
    -------
    xarray.DataArray
        (chain, draw, month), nats; 0 in a month without exposure and no event.
    """
    from scipy.special import gammaln, xlogy

    counts = np.asarray(design.counts, dtype=np.float64)
    mu = np.asarray(design.exposure, dtype=np.float64) * np.exp(log_rate.transpose("chain", "draw", "month"))
    return xlogy(counts, mu) - mu - gammaln(counts + 1.0)


def _matches(recomputed, stored) -> bool:
    a = np.asarray(recomputed.transpose(*stored.dims).values, dtype=np.float64) if set(recomputed.dims) == set(stored.dims) else None
    if a is None or a.shape != stored.shape:
        return False
    b = np.asarray(stored.values, dtype=np.float64)
    return bool(np.all(np.abs(a - b) <= RECOMPUTE_RTOL * np.maximum(1.0, np.abs(b))))


def _quantized_innovation(level: np.ndarray, start: np.ndarray, volatility: np.ndarray, step: float) -> np.ndarray:
    """Integer innovations whose rebuilt path follows ``level``: (chain, draw, indicator, month - 1).

    Month by month, the innovation is rounded so the rebuilt level lands as close as the grid
    allows to the fitted one; the rounding error is carried into the next month instead of adding up.
    ``start`` and ``volatility`` are the values as stored (so the rebuild on load matches).
    """
    n_steps = level.shape[-1] - 1
    q = np.empty(level.shape[:-1] + (n_steps,), dtype=np.int64)
    rebuilt = start.copy()
    scale = volatility * step
    for t in range(n_steps):
        q[..., t] = np.rint((level[..., t + 1] - rebuilt) / scale)
        rebuilt = rebuilt + volatility * (q[..., t] * step)
    return q


# --------------------------------------------------------------------------------------------------
# encode / decode


def encode_tree(tree):
    """The tree as it is written to disk, and its netCDF encoding (see the module docstring).

    Parameters
    ----------
    tree : xarray.DataTree
        A fit's tree, with the design in its attrs.

    Returns
    -------
    (xarray.DataTree, dict)
        The tree to write (root attrs plus ``forecast_storage``) and the ``encoding`` argument of
        ``DataTree.to_netcdf`` (group path -> variable -> settings).
    """
    import xarray as xr

    from forecast.inference.result import ATTR_DESIGN
    from forecast.model.design import Design

    design = Design.from_dict(json.loads(tree.attrs[ATTR_DESIGN])) if ATTR_DESIGN in tree.attrs else None
    info = {"format": STORAGE_FORMAT, "recomputed": {}, "innovation_step": INNOVATION_STEP, "float_bits": FLOAT_BITS, "not_stored": {}}
    groups, encoding = {}, {}
    fitted_log_rate = None
    for name, node in tree.children.items():
        ds = node.to_dataset()
        stored = {}  # name -> (DataArray, encoding)
        recomputed = []
        if name in ("posterior", "prior") and design is not None:
            expected = recompute_draws(ds, design)
            recomputed = [v for v in DETERMINISTIC if v in ds.data_vars and v in expected and _matches(expected[v], ds[v])]
            if name == "posterior" and "log_rate" in ds.data_vars:
                fitted_log_rate = ds["log_rate"]
        if name == "log_likelihood" and design is not None and fitted_log_rate is not None and "event_count" in ds.data_vars:
            if _matches(event_count_log_likelihood(fitted_log_rate, design), ds["event_count"]):
                recomputed = ["event_count"]
        dropped = list(recomputed)
        if name == "prior" and "innovation" in ds.data_vars:
            # the prior's random-walk paths: read by no figure or number, not stored
            paths = ["innovation", *(v for v in ("level", "level_now", "log_rate") if v in ds.data_vars)]
            dropped = sorted(set(dropped) | set(paths))
            recomputed = [v for v in recomputed if v not in paths]
            info["not_stored"][name] = paths
        if name == "sample_stats":
            timings = [v for v in WALL_CLOCK if v in ds.data_vars]
            if timings:
                dropped, info["not_stored"][name] = timings, timings
        exact = EXACT_FLOAT32.get(name, ())
        for var, da in ds.data_vars.items():
            if var in dropped:
                continue
            enc = dict(COMPRESSION)
            if name in EXACT_GROUPS:
                stored[var] = (da, enc)
                continue
            if var == "innovation" and name == "posterior" and "level" in recomputed:
                start = bitround(ds["level_start"].transpose("chain", "draw", "indicator").values).astype(np.float64)
                volatility = bitround(ds["volatility"].transpose("chain", "draw", "indicator").values).astype(np.float64)
                level = np.asarray(ds["level"].transpose("chain", "draw", "indicator", "month").values, dtype=np.float64)
                q = _quantized_innovation(level, start, volatility, INNOVATION_STEP)
                dtype = _int_dtype(q)
                dims = ("chain", "draw", "indicator", "step")
                da = xr.DataArray(q * INNOVATION_STEP, dims=dims, coords={d: ds[d] for d in dims if d in ds.coords}, attrs=da.attrs).transpose(*da.dims)
                enc.update(dtype=dtype, scale_factor=INNOVATION_STEP, _FillValue=np.iinfo(dtype).min)
            elif da.dtype.kind == "f":
                da = da.copy(data=bitround(da.values, 23 if var in exact else FLOAT_BITS))
                enc.update(dtype="float32")
            elif da.dtype.kind in "iu":
                enc.update(dtype=_int_dtype(np.asarray(da.values)))
            stored[var] = (da, enc)
        out = xr.Dataset({v: da for v, (da, _) in stored.items()}, coords=ds.coords, attrs=ds.attrs)
        groups[f"/{name}"] = out
        encoding[f"/{name}"] = {v: enc for v, (_, enc) in stored.items()}
        if recomputed:
            info["recomputed"][name] = recomputed
    written = xr.DataTree.from_dict(groups)
    written.attrs.update(tree.attrs)
    written.attrs[ATTR_STORAGE] = json.dumps(info, sort_keys=True)
    return written, encoding


def decode_tree(tree):
    """A tree as written by :func:`encode_tree`, with every recomputed quantity back (float64).

    Parameters
    ----------
    tree : xarray.DataTree
        Loaded from a file. A file without the ``forecast_storage`` attr (written before format
        2, or not by this package) is returned as it is, and so is one without the design attr
        (:meth:`FitResult.from_tree <forecast.inference.result.FitResult.from_tree>` refuses it).

    Returns
    -------
    xarray.DataTree
        Without the ``forecast_storage`` attr: a full tree again, as a fit makes it.
    """
    import xarray as xr

    from forecast.inference.result import ATTR_DESIGN
    from forecast.model.design import Design

    if ATTR_STORAGE not in tree.attrs or ATTR_DESIGN not in tree.attrs:
        return tree
    info = json.loads(tree.attrs[ATTR_STORAGE])
    design = Design.from_dict(json.loads(tree.attrs[ATTR_DESIGN]))
    step = float(info.get("innovation_step", INNOVATION_STEP))
    groups = {}
    log_rate = None
    for name, node in tree.children.items():
        ds = node.to_dataset()
        for var, da in ds.data_vars.items():
            if da.dtype == np.float32:
                ds[var] = da.astype(np.float64)
        if name == "posterior" and "innovation" in ds.data_vars and ds["innovation"].encoding.get("scale_factor") is not None:
            ds["innovation"] = np.rint(ds["innovation"] / step) * step  # exactly the stored grid points
        wanted = info.get("recomputed", {}).get(name, [])
        if name in ("posterior", "prior") and wanted:
            values = recompute_draws(ds, design)
            missing = [v for v in wanted if v not in values]
            if missing:
                raise ValueError(f"the file records {', '.join(missing)} of the {name} as recomputed, but lacks their inputs")
            for var in wanted:
                ds[var] = values[var]
        if name == "posterior" and "log_rate" in ds.data_vars:
            log_rate = ds["log_rate"]  # stored or recomputed: the event_count term reads it
        if name == "log_likelihood" and "event_count" in wanted:
            if log_rate is None:
                raise ValueError("the file records the event_count log-likelihood as recomputed, but the posterior has no log_rate")
            ds["event_count"] = event_count_log_likelihood(log_rate, design)
        groups[f"/{name}"] = ds
    out = xr.DataTree.from_dict(groups)
    out.attrs.update({k: v for k, v in tree.attrs.items() if k != ATTR_STORAGE})
    return out


# --------------------------------------------------------------------------------------------------
# files


def save_result(result, folder: Path, stem: str | None = None) -> dict:
    """Save ``<stem>.nc`` (the posterior tree, see the module docstring) and ``<stem>.json`` (the summary).

    Both are written to a temp file and renamed into place.

    Parameters
    ----------
    result : FitResult
    folder : path
        Created if missing.
    stem : str, optional
        Default ``<question>_<as-of>``.

    Returns
    -------
    dict
        ``{"posterior": path of the .nc, "summary": path of the .json, "posterior_sha256": ...,
        "summary_sha256": ...}``; each checksum is of the bytes renamed into place.
    """
    folder = Path(folder)
    stem = stem or f"{result.spec.id}_{result.as_of.isoformat()}"
    tree, encoding = encode_tree(result.idata)
    digests = {}

    def write_posterior(path: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)  # netCDF4's note on packed integers
            tree.to_netcdf(path, engine="netcdf4", encoding=encoding)
        digests["posterior"] = sha256_file(path)

    nc = atomic_write(folder / f"{stem}.nc", write_posterior)
    summary = json.dumps(result.to_summary_dict(), indent=2, default=str).encode()
    js = atomic_write(folder / f"{stem}.json", lambda p: p.write_bytes(summary))
    return {"posterior": nc, "summary": js, "posterior_sha256": digests["posterior"], "summary_sha256": sha256_bytes(summary)}


def load_tree(path):
    """A saved posterior tree, loaded into memory (the file is closed), recomputed quantities restored.

    Parameters
    ----------
    path : path
        A ``.nc`` written by :func:`save_result` (any format: older files hold every variable).

    Returns
    -------
    xarray.DataTree
    """
    import xarray as xr

    with xr.open_datatree(path, engine="netcdf4") as tree:
        loaded = tree.load()
    return decode_tree(loaded)


def _run_name(row: dict) -> str:
    return f"run {row.get('id')} of {row.get('question')}"


def _refit_hint(row: dict) -> str:
    return f"refit it with `forecast update {row.get('question')} --as-of {row.get('as_of')} --force`"


def verify_artefact(row: dict, kind: str = "posterior") -> Path:
    """The path of a run's stored file, after checking it against the checksum in the ledger.

    Parameters
    ----------
    row : dict
        A ledger row (:meth:`forecast.runs.ledger.Ledger.get`): ``<kind>_path``, ``<kind>_sha256``
        (None for a run recorded before checksums, whose file is then only checked to exist) and
        ``pruned_at``.
    kind : {"posterior", "summary"}

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ArtefactError
        The run has no such file, its files were pruned, the file is missing, or its bytes differ
        from those recorded (damaged, truncated or replaced); the message names the file, the run
        and what to do.
    """
    if kind not in ARTEFACTS:
        raise ValueError(f"kind must be one of {', '.join(ARTEFACTS)}, not {kind!r}")
    what = {"posterior": "posterior file", "summary": "summary file"}[kind]
    if row.get("pruned_at"):
        raise ArtefactError(f"{_run_name(row)}: its files were pruned on {row['pruned_at']} (`forecast prune`); its numbers "
                            f"are still in the ledger (`forecast show {row.get('question')} --run {row.get('id')}`), and {_refit_hint(row)}", "pruned")
    stored = row.get(f"{kind}_path")
    if not stored:
        raise ArtefactError(f"{_run_name(row)} has no {what} (status {row.get('status')!r})", "none")
    path = Path(stored)
    if not path.is_file():
        raise ArtefactError(f"{_run_name(row)}: {what} {path} is missing (deleted or moved); restore it from a backup, "
                            f"or {_refit_hint(row)}", "missing")
    expected = row.get(f"{kind}_sha256")
    if expected:
        actual = sha256_file(path)
        if actual != expected:
            raise ArtefactError(
                f"{_run_name(row)}: {what} {path} is damaged: its SHA-256 is {actual[:16]}..., the ledger recorded "
                f"{expected[:16]}... for it; do not use it. Restore it from a backup, or {_refit_hint(row)}",
                "damaged",
            )
    return path


def load_result(run_row: dict, question=None):
    """The :class:`~forecast.inference.result.FitResult` of a ledger run, from its verified posterior tree.

    Parameters
    ----------
    run_row : dict
        A ledger row (:meth:`forecast.runs.ledger.Ledger.get`) of a succeeded run, with its
        ``posterior_path`` and ``posterior_sha256``.
    question : Question, optional
        When given, the run must be of this question (its files are not otherwise used).

    Returns
    -------
    FitResult

    Raises
    ------
    ArtefactError
        The posterior file was pruned, is missing or fails its checksum (see :func:`verify_artefact`).
    ValueError
        The row is not a succeeded run (of ``question``), or the file was written without the
        provenance attrs.
    """
    from forecast.inference.result import FitResult

    if run_row is None:
        raise ValueError("no run given")
    if question is not None and run_row.get("question") != question.id:
        raise ValueError(f"run {run_row.get('id')} is a run of {run_row.get('question')!r}, not of {question.id!r}")
    if run_row.get("status") != "succeeded":
        raise ValueError(f"run {run_row.get('id')} of {run_row.get('question')} did not succeed (status {run_row.get('status')!r})")
    path = verify_artefact(run_row, "posterior")
    try:
        tree = load_tree(path)
    except OSError as exc:  # the bytes match the ledger, yet netCDF cannot read them
        raise ArtefactError(f"{_run_name(run_row)}: posterior file {path} cannot be read ({exc}); {_refit_hint(run_row)}", "damaged") from exc
    try:
        return FitResult.from_tree(tree)
    except ValueError as exc:
        raise ValueError(f"run {run_row.get('id')} ({path}): {exc}") from exc


def copy_artefacts(run_row: dict, folder, stem: str | None = None) -> dict[str, Path]:
    """Copy a run's verified posterior and summary into ``folder`` (what ``forecast update -o`` writes).

    Parameters
    ----------
    run_row : dict
        A ledger row of a succeeded run.
    folder : path
        Created if missing.
    stem : str, optional
        Default ``<question>_<as-of>``, the names :func:`save_result` gives.

    Returns
    -------
    dict
        ``{"posterior": path, "summary": path}`` of the copies (each written to a temp file, then
        renamed).

    Raises
    ------
    ArtefactError
        A file of the run was pruned, is missing or fails its checksum.
    """
    import shutil

    sources = {kind: verify_artefact(run_row, kind) for kind in ARTEFACTS}
    stem = stem or f"{run_row['question']}_{run_row['as_of']}"
    out = {}
    for kind, suffix in (("posterior", ".nc"), ("summary", ".json")):
        out[kind] = atomic_write(Path(folder) / f"{stem}{suffix}", lambda p, src=sources[kind]: shutil.copyfile(src, p))
    return out


def inputs_changed_since(run_row: dict, question) -> list[str]:
    """Which inputs of a question, as loaded now, differ from those of a run.

    The saved posterior reflects the run's inputs; analyses that combine it with the current files
    (evidence influence, scenarios) are only valid when this list is empty.

    Parameters
    ----------
    run_row : dict
        A ledger row (its spec and evidence fingerprints and as-of date).
    question : Question

    Returns
    -------
    list of str
        ``"spec"`` and/or ``"evidence"``.
    """
    from forecast.core.timegrid import to_date
    from forecast.inference.fingerprint import digest, item_digests, spec_digest

    changed = []
    spec_now = spec_digest(question)  # exactly as the run's fingerprint was computed
    if run_row.get("spec_fingerprint") and run_row["spec_fingerprint"] != spec_now:
        changed.append("spec")
    evidence_now = digest(sorted(item_digests(question, to_date(run_row["as_of"])).items()))
    if run_row.get("evidence_fingerprint") and run_row["evidence_fingerprint"] != evidence_now:
        changed.append("evidence")
    return changed
