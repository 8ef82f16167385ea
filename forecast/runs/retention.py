"""Retention of run files: ``forecast prune`` (and ``forecast update --keep``).

The ledger keeps every run's numbers for ever (history, trajectories, change reports read them);
only the posterior and summary files of a run take space. :func:`prune` deletes the files of a
question's older succeeded runs beyond the newest ``keep`` and marks those runs pruned in the
ledger (``pruned_at``): they stay ``succeeded`` with all their numbers, and a reader of their files
is told they were pruned. Never pruned: the last successful update (the last good forecast, and the
base whose posterior the next change report reweights). See
:meth:`Ledger.prune <forecast.runs.ledger.Ledger.prune>` for the order of the steps.
"""

from __future__ import annotations

from pathlib import Path

from forecast.runs.ledger import Ledger, PruneResult, default_path


def prune(
    question_id: str | None = None,
    *,
    keep: int,
    all_questions: bool = False,
    root=None,
    ledger_path=None,
    lock_timeout: float = 600.0,
    dry_run: bool = False,
) -> list[PruneResult]:
    """Delete the files of older runs, keeping the newest ``keep`` runs' files of each question.

    Parameters
    ----------
    question_id : str, optional
        The question; or ``all_questions``.
    keep : int
        Runs with files to keep per question, 0 or more (the last successful update is always kept).
    all_questions : bool
        Every question with runs in the ledger.
    root : path, optional
        The project folder (to find the default ledger).
    ledger_path : path, optional
        Default ``runs/ledger.sqlite`` in the project, or ``$FORECAST_LEDGER``.
    lock_timeout : float
        Seconds to wait for a running update (the lock it holds).
    dry_run : bool
        Only say what would be deleted.

    Returns
    -------
    list of PruneResult
        One per question.

    Raises
    ------
    ValueError
        Neither or both of ``question_id`` and ``all_questions``, or ``keep`` below 0.
    forecast.runs.update.LockTimeout
        Another update held the lock for ``lock_timeout`` seconds.
    """
    from forecast.runs.update import project_lock

    if bool(question_id) == bool(all_questions):
        raise ValueError("give a question or all_questions, not both or neither")
    if keep is None or int(keep) != keep or keep < 0:
        raise ValueError(f"keep must be a whole number, 0 or more, not {keep!r}")
    if ledger_path is None:
        from forecast.inputs.project import Project

        ledger_path = default_path(Project.find(root).root)
    ledger_path = Path(ledger_path)
    ledger = Ledger(ledger_path)
    with project_lock(ledger_path, lock_timeout):
        if not dry_run:
            ledger.recover()
        questions = ledger.questions() if all_questions else [question_id]
        return [ledger.prune(q, int(keep), dry_run=dry_run) for q in questions]
