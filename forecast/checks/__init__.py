"""Model checks and forecast quality: ``forecast check`` and :func:`check`.

Each check lives in its own module and returns a :class:`~forecast.checks.base.CheckResult` (name,
status pass / warn / fail, a table, a short text, figures):

==========================  ==================================================================  ============
check                       question it answers                                                 can fail?
==========================  ==================================================================  ============
``prior-predictive``        what do the priors alone say (forecast, past, evidence values)?     no (warns)
``sbc``                     does the fit recover parameters it simulated? (SBC ranks)           yes
``sensitivity``             is the answer prior-dominated, do prior and data conflict?          no (warns)
``posterior-predictive``    which evidence items can the model not explain? (LOO-PIT, k-hat)    yes
``scoring``                 on simulated histories, does the model beat the priors alone?       yes
``value-of-information``    which indicator is most worth watching next?                        no
==========================  ==================================================================  ============

SBC and scoring run one task per simulation, in this process or on a Dask cluster (``workers``,
``scheduler`` or ``client``: :mod:`forecast.core.cluster`), and store them as they come under
``runs/checks/<question>/`` (rerunning resumes); the other checks share one fit of the question.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

from forecast.checks.base import CheckResult, worst
from forecast.core.atomic import atomic_write

CHECKS = ("prior-predictive", "sbc", "sensitivity", "posterior-predictive", "scoring", "value-of-information")
FANS_OUT = ("sbc", "scoring")  # one task per simulation: these run on a Dask cluster when one is given
EXIT_FAILED = 7  # `forecast check` exit code when any check fails

__all__ = ["CHECKS", "FANS_OUT", "EXIT_FAILED", "CheckResult", "check", "worst"]


def _module(name: str):
    import importlib

    return importlib.import_module(f".{name.replace('-', '_')}", __name__)


def normalize_names(only) -> list[str]:
    """Check names in run order; accepts ``_`` for ``-`` and raises ValueError naming an unknown one."""
    if not only:
        return list(CHECKS)
    from forecast.core.errors import nearest

    wanted = []
    for raw in [only] if isinstance(only, str) else only:
        name = str(raw).strip().lower().replace("_", "-")
        if name not in CHECKS:
            hint = nearest(name, CHECKS)
            raise ValueError(f"unknown check {raw!r}" + (f" (did you mean '{hint}'?)" if hint else "") + f"; choose from {', '.join(CHECKS)}")
        wanted.append(name)
    return [c for c in CHECKS if c in wanted]


def check(
    question,
    only=None,
    quick: bool = False,
    workers: int = 1,
    sims: int | None = None,
    seed: int = 1,
    out: str | Path | None = None,
    progress: Callable | None = None,
    as_of=None,
    root=None,
    scheduler: str | None = None,
    client=None,
) -> list[CheckResult]:
    """Run the model checks of a question.

    Parameters
    ----------
    question : str or Question
        A question id (loaded from the project) or a loaded :class:`~forecast.inputs.project.Question`.
    only : str or list of str, optional
        Run only these checks (names in :data:`CHECKS`); default all, in that order.
    quick : bool
        Small sizes (a minute or two for a small question; what the tests use).
    workers : int
        A local Dask cluster of this many worker processes runs the SBC simulations and scored
        histories (each worker compiles the model once); 1 runs them in this process.
    sims : int, optional
        Number of SBC simulations and of scored histories.
    seed : int
        Same inputs and seed give the same results, whatever the number of workers.
    out : path, optional
        Folder for stored simulations (resumable), figures (``<check>-<figure>.png``) and each
        check's whole table (``<check>.csv``, its path in ``result.metrics["table_file"]``). Default
        ``runs/checks/<question>/`` in the project for a question id; a Question object without
        ``out`` writes nothing.
    progress : callable, optional
        ``progress(check, done, total, message)``, called as simulations finish.
    as_of : date or str, optional
        Default today: only evidence published by then.
    root : path, optional
        Project folder (default: found from the current folder).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://10.0.0.5:8786``) instead of a local cluster;
        default ``$FORECAST_SCHEDULER``.
    client : distributed.Client, optional
        An existing Dask client (used as is, not closed).

    Returns
    -------
    list of CheckResult, in run order. ``forecast check`` exits with :data:`EXIT_FAILED` when any has
    status ``"fail"``.
    """
    from forecast.checks.context import CheckContext
    from forecast.core.progress import bar, interactive

    if progress is None and interactive():  # a progress bar in a notebook
        with bar("checking") as tick:
            return check(question, only=only, quick=quick, workers=workers, sims=sims, seed=seed, out=out,
                         progress=lambda name, done, total, message="": tick(done, total, f"{name} {message}".strip()),
                         as_of=as_of, root=root, scheduler=scheduler, client=client)
    names = normalize_names(only)
    if isinstance(question, str):
        from forecast.inference.question import Question
        from forecast.inputs.project import Project

        project = Project.find(root)
        question_obj = Question.from_inputs(project.load(question))
        if out is None:
            out = project.root / "runs" / "checks" / question_obj.id
    else:
        question_obj = question
    from forecast.core.cluster import connect, verify_workers
    from forecast.inference.fingerprint import code_fingerprint

    ctx = CheckContext(question_obj, as_of=as_of, quick=quick, seed=seed, workers=workers, sims=sims,
                       out=Path(out) if out is not None else None, progress=progress)
    fans_out = any(name in FANS_OUT for name in names)
    with connect(workers=workers, scheduler=scheduler, client=client) if fans_out else nullcontext(None) as c:
        if c is not None:
            verify_workers(c, code_fingerprint, "forecast code")
        ctx.client = c
        results = []
        for name in names:
            t0 = time.perf_counter()
            result = _module(name).run(ctx)
            result.seconds = time.perf_counter() - t0
            if ctx.out is not None:
                if result.figures:
                    save_figures(result, ctx.out)
                save_table(result, ctx.out)
            results.append(result)
    return results


def save_table(result: CheckResult, folder: Path) -> Path | None:
    """Write ``result.table`` as ``<folder>/<check>.csv`` (atomically), the whole table the check's
    text summarises ("... and 14 more"); returns the path, or None for a check without a table.

    The path is kept in ``result.metrics["table_file"]``.
    """
    path = Path(folder) / f"{result.name}.csv"
    if result.table is None or not len(result.table):
        if path.is_file():  # a table of an earlier run would read as this run's
            path.unlink()
        return None
    path = atomic_write(path, lambda tmp: result.table.to_csv(tmp, index=False))
    result.metrics["table_file"] = str(path)
    return path


def save_figures(result: CheckResult, folder: Path) -> list[Path]:
    """Write each figure of ``result`` as ``<folder>/<check>-<figure>.png``; returns the paths."""
    import matplotlib.pyplot as plt

    paths = []
    for name, fig in result.figures.items():
        # atomic: a reader never sees half a PNG, and a failed write leaves no temp file
        path = atomic_write(Path(folder) / f"{result.name}-{name}.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
        plt.close(fig)
        paths.append(path)
    result.metrics["figure_files"] = [str(p) for p in paths]
    return paths
