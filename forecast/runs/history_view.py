"""The run ledger as a notebook display (built with :mod:`forecast.core.html`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from forecast.core.html import Cell, page, pct, table

# --------------------------------------------------------------------------------------------------
# run ledger


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def forecast_cells(rec: dict) -> tuple[Cell | str, str, str]:
    """The forecast of a ledger row as (mean cell, 90% interval, ICD 203 term).

    The rolling headline, P(event within L months of the run's as-of date), the quantity runs are
    compared on; a row recorded before it existed shows its fixed-date headline, labelled with its
    date ("by 2025-12-31"), which is not comparable with the other rows.
    """
    if _present(rec.get("rolling_mean")):
        return (Cell(f"{pct(rec['rolling_mean'])} within {int(rec['rolling_months'])} months", sort=rec["rolling_mean"],
                     title=f"P(event by {rec.get('rolling_until')})"),
                f"{pct(rec['rolling_lower_90'])}-{pct(rec['rolling_upper_90'])}", rec.get("rolling_term") or "")
    if _present(rec.get("headline_mean")):
        return (Cell(f"{pct(rec['headline_mean'])} by {rec['headline_horizon']}", sort=rec["headline_mean"],
                     title="recorded before the rolling headline: a fixed date, not comparable with the other rows"),
                f"{pct(rec['headline_lower_90'])}-{pct(rec['headline_upper_90'])}", rec.get("headline_term") or "")
    return "", "", ""


def history_html(df) -> str:
    """The ledger's runs (a ``forecast.history()`` DataFrame) as a compact sortable table."""
    from forecast.runs.changes import describe_changes

    rows = []
    for rec in df.to_dict(orient="records") if len(df) else []:
        mean, interval, term = forecast_cells(rec)
        changes = rec.get("changes") if isinstance(rec.get("changes"), dict) else None
        if rec.get("status") == "failed":
            what = (rec.get("error") or "").splitlines()[0][:120] if rec.get("error") else "failed"
        elif changes and changes.get("first_run"):
            what = "first run"
        else:
            what = describe_changes(changes) if changes else ""
        passed = rec.get("diagnostics_passed")
        rows.append(
            (
                Cell(rec["id"], sort=rec["id"]),
                rec.get("question", ""),
                rec.get("kind", ""),
                rec.get("status", ""),
                rec.get("started_at", ""),
                rec.get("as_of", ""),
                Cell(str(rec.get("fingerprint") or "")[:8], title=rec.get("fingerprint")),
                mean,
                interval,
                term,
                "" if not _present(passed) else ("ok" if passed else "FLAGGED"),
                Cell(f"{rec['wall_seconds']:.0f}" if _present(rec.get("wall_seconds")) else "", sort=rec.get("wall_seconds") if _present(rec.get("wall_seconds")) else ""),
                Cell(what, css="quote"),
            )
        )
    columns = ("run", "question", "kind", "status", "started (UTC)", "as-of", "fingerprint", "forecast", "90%", "ICD 203", "diagnostics", "seconds", "what changed")
    return page(table(columns, rows, caption=f"{len(rows)} runs"))


@dataclass
class HistoryView:
    """The ledger's runs for display: ``.df`` is the DataFrame that ``forecast.history()`` returns."""

    df: Any

    def _repr_html_(self) -> str:
        return history_html(self.df)

    def __len__(self) -> int:
        return len(self.df)

    def __repr__(self) -> str:
        if not len(self.df):
            return "<HistoryView: no runs>"
        last = self.df.iloc[-1]
        head = (f", P(within {int(last['rolling_months'])} months) {pct(last['rolling_mean'])}" if _present(last.get("rolling_mean"))
                else f", headline {pct(last['headline_mean'])} by {last['headline_horizon']}" if _present(last.get("headline_mean")) else "")
        return f"<HistoryView: {len(self.df)} runs; last run {last['id']} ({last['kind']}, {last['status']}, as of {last['as_of']}{head})>"


def history_view(question_id: str | None = None, root=None, ledger_path=None, kind: str | None = None) -> HistoryView:
    """``forecast.history(...)`` wrapped for display in a notebook (the DataFrame is ``.df``)."""
    from forecast.runs.update import history

    return HistoryView(history(question_id, root=root, ledger_path=ledger_path, kind=kind))
