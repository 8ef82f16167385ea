"""``forecast sources QUESTION``: each source's prior and posterior weight in a recorded run.

The numbers are :func:`forecast.analysis.sources.source_weights` of the run's saved posterior
(the latest successful update, or ``run``; an update is run when the ledger has none), with the
registry's names, kinds and letters. The brief shows the same table when the question learns its
source weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from forecast.reports.content import SOURCE_HEADER, source_rows


@dataclass
class SourcesReport:
    """The source weights of one run: ``table`` has the columns of :data:`forecast.analysis.sources.COLUMNS`."""

    question: str
    run_id: int | None
    as_of: str
    mode: str  # "learned" or "fixed"
    table: pd.DataFrame

    def to_dict(self) -> dict:
        """JSON-ready: question, run_id, as_of, mode and one dict per source."""
        rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in rec.items()} for rec in self.table.to_dict(orient="records")]
        return {"question": self.question, "run_id": self.run_id, "as_of": self.as_of, "mode": self.mode, "sources": rows}

    def _repr_html_(self) -> str:
        from forecast.core.html import table

        return table(HEADER, rows(self.table), numeric={3, 4, 5, 6, 7})


HEADER, rows = SOURCE_HEADER, source_rows  # the table as the CLI, the notebook and the brief show it


def sources(question_id: str, run: int | None = None, ledger_path=None, root=None, seed: int = 1, **fit_overrides) -> SourcesReport:
    """Each source's prior and posterior weight in a recorded run of ``question_id``.

    Parameters
    ----------
    question_id : str
    run : int, optional
        A succeeded run in the ledger (default the latest successful update; one is run when there is none).
    ledger_path, root : path, optional
        The ledger and the project folder.
    seed : int
    **fit_overrides
        Passed to the update run when the ledger has none (draws, chains, ...).

    Returns
    -------
    SourcesReport

    Raises
    ------
    ValueError
        ``run`` is not a succeeded run of ``question_id``.
    forecast.InputError
        A file of the project is invalid.
    """
    from forecast.analysis.sources import source_weights
    from forecast.reports.brief import recorded_result

    _, question, _, row, result = recorded_result(question_id, run, ledger_path, root, seed, **fit_overrides)
    return SourcesReport(question=question_id, run_id=row.get("id") if row else None, as_of=result.as_of.isoformat(),
                         mode="learned" if result.design.learned_sources else "fixed", table=source_weights(result, question))
