"""Saving a fit (NetCDF posterior tree + JSON summary) and loading it back from a ledger row.

The NetCDF file is the whole record: :meth:`FitResult.from_tree <forecast.inference.result.FitResult.from_tree>`
rebuilds the result from the tree alone (its attrs hold the spec, the person-period data, the
settings and the diagnostics), never from the project's files as they are today. Whether today's
files still match a run is a separate question, :func:`inputs_changed_since`.
"""

from __future__ import annotations

import json
from pathlib import Path

from forecast.core.atomic import atomic_write


def save_result(result, folder: Path, stem: str | None = None) -> dict[str, Path]:
    """Save ``<stem>.nc`` (the posterior tree) and ``<stem>.json`` (the summary) into ``folder``.

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
        ``{"posterior": path of the .nc, "summary": path of the .json}``.
    """
    folder = Path(folder)
    stem = stem or f"{result.spec.id}_{result.as_of.isoformat()}"
    nc = atomic_write(folder / f"{stem}.nc", lambda p: result.idata.to_netcdf(p, engine="netcdf4"))
    summary = json.dumps(result.to_summary_dict(), indent=2, default=str)
    js = atomic_write(folder / f"{stem}.json", lambda p: p.write_text(summary))
    return {"posterior": nc, "summary": js}


def load_tree(path):
    """A saved posterior tree, loaded into memory (the file is closed).

    Parameters
    ----------
    path : path
        A ``.nc`` written by :func:`save_result`.

    Returns
    -------
    xarray.DataTree
    """
    import xarray as xr

    with xr.open_datatree(path, engine="netcdf4") as tree:
        return tree.load()


def load_result(run_row: dict, question=None):
    """The :class:`~forecast.inference.result.FitResult` of a ledger run, from its saved posterior tree.

    Parameters
    ----------
    run_row : dict
        A ledger row (:meth:`forecast.runs.ledger.Ledger.get`) of a succeeded run, with its
        ``posterior_path``.
    question : Question, optional
        When given, the run must be of this question (its files are not otherwise used).

    Returns
    -------
    FitResult

    Raises
    ------
    ValueError
        The row is not a succeeded run (of ``question``), its posterior file is missing, or the
        file was written without the provenance attrs.
    """
    from forecast.inference.result import FitResult

    if run_row is None:
        raise ValueError("no run given")
    if question is not None and run_row.get("question") != question.id:
        raise ValueError(f"run {run_row.get('id')} is a run of {run_row.get('question')!r}, not of {question.id!r}")
    if run_row.get("status") != "succeeded":
        raise ValueError(f"run {run_row.get('id')} of {run_row.get('question')} did not succeed (status {run_row.get('status')!r})")
    path = Path(run_row.get("posterior_path") or "")
    if not path.is_file():
        raise ValueError(f"run {run_row.get('id')}: posterior file {str(path)!r} (posterior_path) not found")
    try:
        return FitResult.from_tree(load_tree(path))
    except ValueError as exc:
        raise ValueError(f"run {run_row.get('id')} ({path}): {exc}") from exc


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
