"""Saving a fit (NetCDF posterior + JSON summary) and rebuilding it from a ledger row."""

from __future__ import annotations

import json
from pathlib import Path

from forecast.core.atomic import atomic_write


def save_result(result, folder: Path, stem: str | None = None) -> dict[str, Path]:
    """Save ``<stem>.nc`` (the DataTree) and ``<stem>.json`` (the summary) into ``folder``.

    The default stem is ``<question>_<as-of>``.
    """
    folder = Path(folder)
    stem = stem or f"{result.spec.id}_{result.as_of.isoformat()}"
    nc = atomic_write(folder / f"{stem}.nc", lambda p: result.idata.to_netcdf(p, engine="netcdf4"))
    summary = json.dumps(result.to_summary_dict(), indent=2, default=str)
    js = atomic_write(folder / f"{stem}.json", lambda p: p.write_text(summary))
    return {"posterior": nc, "summary": js}


def load_result(run_row: dict, question):
    """Rebuild the :class:`~forecast.inference.result.FitResult` of a ledger run from its saved posterior.

    Parameters
    ----------
    run_row : dict
        A ledger row (:meth:`forecast.runs.ledger.Ledger.get`): ``posterior_path`` (the NetCDF
        DataTree), ``as_of``, ``seed``, fingerprints, versions, headline horizon and diagnostics.
    question : forecast.inputs.project.Question
        The question as loaded now; its design at the run's as-of date is rebuilt. When the spec
        or the evidence changed since the run, the posterior still reflects the run's inputs: see
        :func:`inputs_changed_since`.

    Raises
    ------
    ValueError
        The row is not a succeeded run of this question, or its posterior file is missing.
    """
    import xarray as xr

    from forecast.core.timegrid import to_date
    from forecast.inference.diagnostics import SamplingDiagnostics, check_sampling
    from forecast.inference.result import FitResult

    if run_row is None:
        raise ValueError("no run given")
    if run_row.get("question") != question.id:
        raise ValueError(f"run {run_row.get('id')} is a run of {run_row.get('question')!r}, not of {question.id!r}")
    if run_row.get("status") != "succeeded":
        raise ValueError(f"run {run_row.get('id')} of {question.id} did not succeed (status {run_row.get('status')!r})")
    path = Path(run_row.get("posterior_path") or "")
    if not path.is_file():
        raise ValueError(f"run {run_row.get('id')}: posterior file {str(path)!r} (posterior_path) not found")
    with xr.open_datatree(path, engine="netcdf4") as tree:
        idata = tree.load()
    as_of = to_date(run_row["as_of"])
    design = question.design(as_of)
    # horizons and headline as the run had them (the spec may have changed since)
    horizons = [to_date(h) for h in idata["posterior"]["horizon"].values] if "horizon" in idata["posterior"].coords else []
    headline = to_date(run_row["headline_horizon"]) if run_row.get("headline_horizon") else None
    recorded = dict(run_row.get("diagnostics") or {})
    fields = set(SamplingDiagnostics.__dataclass_fields__) - {"table"}
    diagnostics = SamplingDiagnostics(**{k: v for k, v in recorded.items() if k in fields})
    if not recorded.get("importance") and "level" in idata["posterior"].data_vars:
        # the per-parameter table is not stored in the ledger; a NUTS posterior recomputes it
        # (a reweighted replay point's draws are resampled, so its r_hat would mean nothing)
        head_index = horizons.index(headline) if headline in horizons else None
        diagnostics.table = check_sampling(idata, head_index, question.spec.thresholds).table
    fingerprints = {
        "spec": run_row.get("spec_fingerprint"),
        "evidence": run_row.get("evidence_fingerprint"),
        "code": run_row.get("code_fingerprint"),
        "sampler": run_row.get("sampler_fingerprint"),
        "combined": run_row.get("fingerprint"),
    }
    return FitResult(
        spec=question.spec,
        design=design,
        idata=idata,
        horizons=horizons,
        headline=headline,
        diagnostics=diagnostics,
        seed=int(run_row.get("seed") or 0),
        n_paths=question.spec.sampler.future_paths,
        fingerprints=fingerprints,
        versions=dict(run_row.get("versions") or {}),
        sampling_seconds=float(run_row.get("wall_seconds") or float("nan")),
    )


def inputs_changed_since(run_row: dict, question) -> list[str]:
    """Which inputs of ``question`` differ from those of the run (``"spec"``, ``"evidence"``).

    The saved posterior reflects the run's inputs; analyses that combine it with the current files
    (evidence influence, scenarios) are only valid when this list is empty.
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
