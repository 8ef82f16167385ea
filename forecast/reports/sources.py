"""``forecast sources QUESTION``: each source's prior and posterior weight in a recorded run.

The numbers are :func:`forecast.analysis.sources.source_weights` of the run's saved posterior
(the latest successful update, or ``run``; an update is run when the ledger has none), with the
registry's names, kinds and letters. The brief shows the same table when the question learns its
source weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


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


HEADER = ["source", "kind", "letter", "items", "prior weight (90%)", "posterior weight (90%)", "posterior / prior", "P(below prior)"]


def rows(table: pd.DataFrame) -> list[list[str]]:
    """The table as text rows (:data:`HEADER`), as the CLI, the notebook and the brief show it."""
    out = []
    for r in table.itertuples():
        fixed = r.mode == "fixed"
        prior = f"{r.prior_median:.2f}" + ("" if fixed else f" ({r.prior_lower_90:.2f}-{r.prior_upper_90:.2f})")
        post = f"{r.posterior_mean:.2f}" + (" (fixed)" if fixed else f" ({r.posterior_lower_90:.2f}-{r.posterior_upper_90:.2f})")
        out.append([r.source, r.kind, r.letter, str(r.items), prior, post, f"{r.ratio:.2f}", "" if fixed else f"{r.p_below:.0%}"])
    return out


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
