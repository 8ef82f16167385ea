"""Command line: mirrors the Python API one to one.

==========================================  ==========================================
``forecast update ID [--as-of D] [--seed]``  ``forecast.load(ID).fit(as_of=D, seed=S)``
``forecast validate``                       ``forecast.validate()``
``forecast schema evidence|question|...``   ``forecast.schemas.schema(NAME)``
==========================================  ==========================================

Exit codes: 0 ok; 1 bad input (every problem printed, nothing written); 2 usage error;
4 the fit was flagged by its sampling diagnostics and ``--strict`` was given.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Bayesian forecasts from question specs and graded evidence.")
# Wide enough for the horizon table when output goes to a file or a pipe (cron, CI logs).
console = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

EXIT_INPUT = 1
EXIT_DIAGNOSTICS = 4


def _print_problems(problems) -> None:
    for p in problems:
        style = "red" if p.severity == "error" else "yellow"
        err.print(f"[{style}]{p.severity}[/{style}] {p}", markup=True, highlight=False, soft_wrap=True)


def _parse_date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]error[/red] {name}: not a valid date (YYYY-MM-DD): {value!r}")
        raise typer.Exit(EXIT_INPUT)


@app.command()
def update(
    question: Annotated[str, typer.Argument(help="Question id (a file models/<id>.yaml).")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Use only evidence known by this date (default: today).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same files + same seed = same numbers.")] = 1,
    draws: Annotated[Optional[int], typer.Option(help="Posterior draws per chain (default: the spec's sampler settings).")] = None,
    tune: Annotated[Optional[int], typer.Option(help="Tuning steps per chain.")] = None,
    chains: Annotated[Optional[int], typer.Option(help="Number of chains.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 4 when the sampling diagnostics flag the fit.")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the posterior (NetCDF) and summary (JSON) to this folder.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON instead of tables.")] = False,
    root: Annotated[Optional[Path], typer.Option(help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Fit QUESTION with the evidence known at --as-of and print the headline."""
    from .errors import InputError
    from .project import Project

    as_of_date = _parse_date(as_of, "--as-of")
    try:
        q = Project.find(root).load(question)
        q.design(as_of_date)  # fail fast on as-of problems before sampling
    except InputError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(EXIT_INPUT)
    except ValueError as exc:
        err.print(f"[red]error[/red] {exc}")
        raise typer.Exit(EXIT_INPUT)
    _print_problems(q.warnings)
    with console.status(f"sampling {question}...", spinner="dots") if not json_out else _nullcontext():
        result = q.fit(as_of=as_of_date, seed=seed, draws=draws, tune=tune, chains=chains, progressbar=not json_out and console.is_terminal)
    if output is not None:
        from .store import save_result

        paths = save_result(result, output)
        if not json_out:
            console.print(f"wrote {paths['posterior']} and {paths['summary']}")
    if json_out:
        print(json.dumps(result.to_summary_dict(), indent=2, default=str))
    else:
        print_result(result)
    if strict and not result.passed:
        raise typer.Exit(EXIT_DIAGNOSTICS)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def print_result(result) -> None:
    from .result import percent

    console.print(result.headline_sentence(), style="bold" if result.passed else "bold red", highlight=False, soft_wrap=True)
    table = Table(title=f"{result.spec.id} as of {result.as_of} (seed {result.seed})")
    for col in ("horizon", "mean", "median", "50% interval", "90% interval", "MCSE", "ICD 203"):
        table.add_column(col, justify="right" if col not in ("horizon", "ICD 203") else "left")
    for row in result.summary().itertuples():
        table.add_row(
            ("* " if row.headline else "  ") + row.horizon.isoformat(),
            percent(row.mean),
            percent(row.median),
            f"{percent(row.lower_50)}-{percent(row.upper_50)}",
            f"{percent(row.lower_90)}-{percent(row.upper_90)}",
            f"{row.mcse:.4f}",
            row.icd203,
        )
    console.print(table)
    d = result.design
    console.print(
        f"evidence: {len(d.evidence_ids)} items used, {len(d.excluded)} excluded"
        + "".join(f"\n  excluded {e.id}: {e.reason}" for e in d.excluded),
        highlight=False,
    )
    diag = result.diagnostics
    console.print(diag.line(), style="green" if diag.passed else "red", highlight=False)
    for problem in diag.problems:
        console.print(f"  - {problem}", style="red", highlight=False)


@app.command()
def validate(
    root: Annotated[Optional[Path], typer.Option(help="Project folder (default: found from the current folder).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print problems as JSON.")] = False,
) -> None:
    """Check every file in models/ and evidence/; report all problems at once."""
    from .errors import InputError
    from .project import Project

    try:
        problems = Project.find(root).validate()
    except InputError as exc:
        problems = exc.problems
    errors = [p for p in problems if p.severity == "error"]
    if json_out:
        print(json.dumps([p.to_dict() for p in problems], indent=2))
    else:
        _print_problems(problems)
        if not errors:
            console.print(f"[green]valid[/green] ({len(problems)} warnings)")
        else:
            err.print(f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
    if errors:
        raise typer.Exit(EXIT_INPUT)


@app.command()
def schema(
    name: Annotated[str, typer.Argument(help="evidence | evidence-item | question | indicators | grading | prior")],
) -> None:
    """Print the JSON Schema of a file format."""
    from .schemas import SCHEMAS, schema as get_schema
    from .errors import nearest

    if name not in SCHEMAS:
        hint = nearest(name, SCHEMAS)
        err.print(f"[red]error[/red] unknown schema {name!r}" + (f" (did you mean '{hint}'?)" if hint else "") + f"; choose from {', '.join(SCHEMAS)}")
        raise typer.Exit(2)
    print(json.dumps(get_schema(name), indent=2))


def main() -> None:  # pragma: no cover
    app()
