"""Command line: mirrors the Python API one to one.

==========================================  ==========================================
``forecast update ID [--as-of D] [--seed]``  ``forecast.load(ID).fit(as_of=D, seed=S)``
``forecast validate``                       ``forecast.validate()``
``forecast schema evidence|question|...``   ``forecast.inputs.schemas.schema(NAME)``
``forecast brief ID [--run N] [--out DIR]``  ``forecast.brief(ID, run=N, out=DIR)``
``forecast check ID [--only C] [--quick]``   ``forecast.check(ID, only=[C], quick=True)``
``forecast intake REPORT -q ID --published``  ``forecast.intake(REPORT, question=ID, ...)``
==========================================  ==========================================

Exit codes: 0 ok; 1 bad input (every problem printed, nothing written); 2 usage error;
4 the fit was flagged by its sampling diagnostics and ``--strict`` was given; 7 ``forecast check``
found a failing check.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from forecast.runs.changes import describe_changes

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Bayesian forecasts from question specs and graded evidence.")
# Wide enough for the horizon table when output goes to a file or a pipe (cron, CI logs).
console = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

EXIT_INPUT = 1


def _print_problems(problems) -> None:
    for p in problems:
        style = "red" if p.severity == "error" else "yellow"
        # escape: problem text quotes untrusted input and fields look like [markup]
        err.print(f"[{style}]{p.severity}[/{style}] {escape(str(p))}", markup=True, highlight=False, soft_wrap=True)


def _parse_date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]error[/red] {name}: not a valid date (YYYY-MM-DD): {value!r}")
        raise typer.Exit(EXIT_INPUT)


WORKERS_HELP = "Run the fits on a local Dask cluster of this many worker processes (one task per question / simulation)."
SCHEDULER_HELP = "Run on the Dask cluster of this scheduler (tcp://host:8786); default $FORECAST_SCHEDULER."


def _print_cluster(client) -> None:
    """Where the tasks run and the Dask dashboard's address (stderr: stdout stays for results)."""
    from forecast.core.cluster import dashboard_link, describe

    if client is None:
        return
    link = dashboard_link(client)
    err.print(f"running {escape(describe(client))}" + (f"; Dask dashboard: {escape(link)}" if link else " (no dashboard)"), highlight=False)


def _task_bar(disable: bool):
    """The rich progress bar of finished tasks (stderr, removed when done)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True, disable=disable)


@app.command()
def update(
    question: Annotated[Optional[str], typer.Argument(help="Question id (a file models/<id>.yaml).")] = None,
    all_questions: Annotated[bool, typer.Option("--all", help="Update every question in models/.")] = False,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Use only evidence known by this date (default: today).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same files + same seed = same numbers.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Fit even when nothing changed since the last run.")] = False,
    draws: Annotated[Optional[int], typer.Option(help="Posterior draws per chain (default: the spec's sampler settings).")] = None,
    tune: Annotated[Optional[int], typer.Option(help="Tuning steps per chain.")] = None,
    chains: Annotated[Optional[int], typer.Option(help="Number of chains.")] = None,
    alert_threshold: Annotated[Optional[float], typer.Option(help="Exit 3 when the headline moved more than this (0.05 = 5 points).")] = None,
    alert_band: Annotated[bool, typer.Option("--alert-band", help="Exit 5 when the headline crossed an ICD 203 band.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 4 when the sampling diagnostics flag the fit.")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the posterior (NetCDF) and summary (JSON) to this folder.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON line per question instead of tables.")] = False,
    ledger: Annotated[Optional[Path], typer.Option(help="Ledger database (default: runs/ledger.sqlite, or $FORECAST_LEDGER).")] = None,
    lock_timeout: Annotated[float, typer.Option(help="Seconds to wait for another update to finish before giving up (exit 6).")] = 600.0,
    workers: Annotated[Optional[int], typer.Option(help=WORKERS_HELP, min=1)] = None,
    scheduler: Annotated[Optional[str], typer.Option(help=SCHEDULER_HELP)] = None,
    root: Annotated[Optional[Path], typer.Option(help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Fit QUESTION with the evidence known at --as-of, record the run in the ledger, print the headline.

    An update whose inputs (spec, evidence in scope, code, sampler settings, seed, as-of) match the
    last successful update does not sample again ("up to date, run N"); --force re-runs.
    With --workers or --scheduler each question's fit is a Dask task; this process alone writes the
    ledger and the artefacts. A question that fails does not stop the others.
    """
    from forecast.core.cluster import ClusterError
    from forecast.core.errors import InputError
    from forecast.inputs.project import Project
    from forecast.runs.update import EXIT_LOCKED, LockTimeout, update_all

    if bool(question) == all_questions:
        err.print("[red]error[/red] give a QUESTION or --all")
        raise typer.Exit(2)
    as_of_date = _parse_date(as_of, "--as-of")
    try:
        project = Project.find(root)
    except InputError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(EXIT_INPUT)
    ids = project.question_ids() if all_questions else [question]
    overrides = {k: v for k, v in dict(draws=draws, tune=tune, chains=chains).items() if v is not None}
    codes = []
    interactive_terminal = not json_out and console.is_terminal
    one_here = len(ids) == 1 and workers is None and not scheduler  # (or $FORECAST_SCHEDULER): decided once connected
    bar = _task_bar(disable=not interactive_terminal)
    state = {"task": None, "client": None}

    def connected(client) -> None:
        state["client"] = client
        _print_cluster(client)
        if client is not None or not one_here:
            bar.start()

    def progress(done: int, total: int) -> None:
        if state["task"] is None:
            state["task"] = bar.add_task("fits", total=total)
        bar.update(state["task"], completed=done, total=total, description=f"fits ({'on the cluster' if state['client'] is not None else 'here'})")

    def report(outcome) -> None:
        codes.append(_print_update_outcome(outcome, json_out, output))

    try:
        with console.status(f"updating {ids[0]}...", spinner="dots") if interactive_terminal and one_here and not _scheduler_from_env() else _nullcontext():
            update_all(ids, as_of=as_of_date, seed=seed, force=force, root=project.root, ledger_path=ledger, alert_threshold=alert_threshold,
                       alert_band=alert_band, alert_diagnostics=strict, lock_timeout=lock_timeout, progressbar=interactive_terminal and one_here,
                       client=None, scheduler=scheduler, workers=workers, progress=progress, on_outcome=report, on_connect=connected, **overrides)
    except LockTimeout as exc:
        err.print(f"[red]error[/red] {exc}")
        if json_out:
            for qid in ids:
                print(json.dumps({"question": qid, "status": "locked", "message": str(exc), "exit_code": EXIT_LOCKED}))
        codes.append(EXIT_LOCKED)
    except (ValueError, ClusterError) as exc:  # a damaged ledger, an unreachable scheduler
        err.print(f"[red]error[/red] {escape(str(exc))}", highlight=False)
        if json_out:
            print(json.dumps({"status": "failed", "message": str(exc), "exit_code": EXIT_INPUT}))
        codes.append(EXIT_INPUT)
    finally:
        if bar.live.is_started:
            bar.stop()
    nonzero = [c for c in codes if c]
    if nonzero:
        raise typer.Exit(min(nonzero))


def _scheduler_from_env() -> bool:
    from forecast.core.cluster import scheduler_address

    return scheduler_address() is not None


def _print_update_outcome(outcome, json_out: bool, output: Path | None) -> int:
    """Print one question's outcome of ``forecast update`` as it arrives; returns its exit code."""
    from forecast.core.errors import InputError

    if outcome.status == "failed":
        exc = outcome.error
        if isinstance(exc, InputError):
            _print_problems(exc.problems)
            if json_out:
                print(json.dumps({"question": outcome.question, "status": "failed", "message": "bad input", "problems": [p.to_dict() for p in exc.problems], "exit_code": EXIT_INPUT}))
            return EXIT_INPUT
        err.print(f"[red]failed[/red] {escape(outcome.question)}: {escape(outcome.message)}", highlight=False)
        if json_out:
            print(json.dumps({"question": outcome.question, "status": "failed", "message": outcome.message, "exit_code": EXIT_INPUT}))
        return EXIT_INPUT
    if output is not None and outcome.result is not None:
        from forecast.inference.store import save_result

        save_result(outcome.result, output)
    if json_out:
        print(json.dumps(outcome.to_dict(), default=str))
    else:
        print_outcome(outcome)
    return outcome.exit_code


def print_outcome(outcome) -> None:
    if outcome.result is not None:
        print_result(outcome.result)
        changes = (outcome.record or {}).get("changes") or {}
        if changes and not changes.get("first_run"):
            console.print(describe_changes(changes), highlight=False)
        console.print(f"recorded as run {outcome.run_id}", style="dim")
    else:
        rec = outcome.record or {}
        console.print(f"{outcome.question}: {outcome.message}", highlight=False)
        if rec.get("headline_mean") is not None:
            console.print(f"  headline P(by {rec['headline_horizon']}) = {rec['headline_mean']:.1%} (90%: {rec['headline_lower_90']:.1%}-{rec['headline_upper_90']:.1%}), as of {rec['as_of']}", highlight=False)
    for alert in outcome.alerts:
        err.print(f"[red]ALERT[/red] {alert.rule}: {alert.message}", highlight=False)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def print_result(result) -> None:
    from forecast.core.fmt import percent

    console.print(escape(result.headline_sentence()), style="bold" if result.passed else "bold red", highlight=False, soft_wrap=True)
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
        f"evidence: {len(d.evidence_ids)} items used"
        + (f" ({len(d.generated)} of them the source's picture)" if d.generated else "")
        + f", {len(d.excluded)} excluded"
        + "".join(f"\n  excluded {e.id}: {e.reason}" for e in d.excluded),
        highlight=False,
    )
    diag = result.diagnostics
    console.print(diag.line(), style="green" if diag.passed else "red", highlight=False)
    for problem in diag.problems:
        console.print(f"  - {problem}", style="red", highlight=False)


@app.command()
def history(
    question: Annotated[str, typer.Argument(help="Question id.")],
    kind: Annotated[Optional[str], typer.Option(help="Only 'update' or 'replay' runs.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the runs as JSON lines.")] = False,
    ledger: Annotated[Optional[Path], typer.Option(help="Ledger database (default: runs/ledger.sqlite).")] = None,
    root: Annotated[Optional[Path], typer.Option(help="Project folder.")] = None,
) -> None:
    """Table of past runs: time, as-of, fingerprint, headline, interval, diagnostics, what changed."""
    from forecast.runs.update import history as get_history

    df = get_history(question, root=root, ledger_path=ledger, kind=kind)
    if json_out:
        for rec in df.to_dict(orient="records"):
            print(json.dumps({k: rec.get(k) for k in ("id", "kind", "status", "as_of", "started_at", "fingerprint", "headline_horizon", "headline_mean", "headline_lower_90", "headline_upper_90", "headline_term", "diagnostics_passed", "wall_seconds", "error")}, default=str))
        return
    table = Table(title=f"runs of {question}")
    for col in ("run", "kind", "status", "started (UTC)", "as-of", "fingerprint", "headline", "90%", "diag", "s", "what changed"):
        table.add_column(col)
    for rec in df.to_dict(orient="records") if len(df) else []:
        head = "" if rec.get("headline_mean") is None or rec["headline_mean"] != rec["headline_mean"] else f"{rec['headline_mean']:.1%} by {rec['headline_horizon']}"
        interval = "" if not head else f"{rec['headline_lower_90']:.1%}-{rec['headline_upper_90']:.1%}"
        diag = "" if rec.get("diagnostics_passed") is None or rec["diagnostics_passed"] != rec["diagnostics_passed"] else ("ok" if rec["diagnostics_passed"] else "FLAGGED")
        changes = rec.get("changes") if isinstance(rec.get("changes"), dict) else None
        what = (rec.get("error") or "").splitlines()[0][:60] if rec["status"] == "failed" else ("first run" if changes and changes.get("first_run") else (describe_changes(changes) if changes else ""))
        table.add_row(str(rec["id"]), rec["kind"], rec["status"], str(rec["started_at"]), str(rec["as_of"]), str(rec.get("fingerprint") or "")[:8], head, interval, diag, f"{rec['wall_seconds']:.0f}" if rec.get("wall_seconds") == rec.get("wall_seconds") and rec.get("wall_seconds") is not None else "", what)
    console.print(table)


@app.command()
def show(
    question: Annotated[str, typer.Argument(help="Question id.")],
    run: Annotated[Optional[int], typer.Option("--run", help="Run id (default: the last successful update).")] = None,
    ledger: Annotated[Optional[Path], typer.Option(help="Ledger database (default: runs/ledger.sqlite).")] = None,
    root: Annotated[Optional[Path], typer.Option(help="Project folder.")] = None,
) -> None:
    """One run in full (JSON): fingerprints, versions, headline, horizons, diagnostics, changes."""
    from forecast.inputs.project import Project
    from forecast.runs.ledger import Ledger, default_path

    project = Project.find(root)
    store = Ledger(ledger or default_path(project.root))
    rec = store.get(run) if run is not None else store.last_success(question)
    if rec is None or rec["question"] != question:
        err.print(f"[red]error[/red] no run {run if run is not None else '(successful update)'} of {question} in {store.path}")
        raise typer.Exit(EXIT_INPUT)
    rec.pop("spec_snapshot", None)
    print(json.dumps(rec, indent=2, default=str))


@app.command()
def replay(
    question: Annotated[Optional[str], typer.Argument(help="Question id.")] = None,
    all_questions: Annotated[bool, typer.Option("--all", help="Replay every question in models/ (one task per question).")] = False,
    from_: Annotated[str, typer.Option("--from", help="First month (YYYY-MM) or date.")] = ...,
    to: Annotated[str, typer.Option("--to", help="Last month (YYYY-MM) or date.")] = ...,
    every: Annotated[str, typer.Option(help="Spacing of the points (month).")] = "month",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Refit points already stored with the same fingerprint.")] = False,
    draws: Annotated[Optional[int], typer.Option(help="Draws per chain of each NUTS fit (default 1000).")] = None,
    reweight: Annotated[bool, typer.Option("--reweight/--no-reweight", help="Reweight an earlier fit where PSIS allows (default) or run NUTS at every point.")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the trajectory as JSON lines.")] = False,
    workers: Annotated[Optional[int], typer.Option(help="Run the replays on a local Dask cluster of this many worker processes (one task per question).", min=1)] = None,
    scheduler: Annotated[Optional[str], typer.Option(help=SCHEDULER_HELP)] = None,
    ledger: Annotated[Optional[Path], typer.Option(help="Ledger database (default: runs/ledger.sqlite).")] = None,
    root: Annotated[Optional[Path], typer.Option(help="Project folder.")] = None,
) -> None:
    """The forecast as it would have been made at the end of each past month (stored as replay runs)."""
    from rich.progress import Progress

    from forecast.core.cluster import ClusterError, scheduler_address
    from forecast.core.errors import InputError
    from forecast.runs.replay import replay as run_replay
    from forecast.runs.replay import replay_all

    if bool(question) == all_questions:
        err.print("[red]error[/red] give a QUESTION or --all")
        raise typer.Exit(2)
    extra = {"draws": draws} if draws else {}
    if all_questions or workers is not None or scheduler_address(scheduler) is not None:
        from forecast.inputs.project import Project

        try:
            ids = Project.find(root).question_ids() if all_questions else [question]
        except InputError as exc:
            _print_problems(exc.problems)
            raise typer.Exit(EXIT_INPUT)
        codes = []
        bar = _task_bar(disable=json_out or not console.is_terminal)
        state = {"task": None}

        def progress(done: int, total: int) -> None:
            if state["task"] is None:
                state["task"] = bar.add_task("replays", total=total)
            bar.update(state["task"], completed=done, total=total)

        def report(outcome) -> None:
            if outcome.status == "failed":
                if isinstance(outcome.error, InputError):
                    _print_problems(outcome.error.problems)
                else:
                    err.print(f"[red]failed[/red] {escape(outcome.question)}: {escape(outcome.message)}", highlight=False)
                if json_out:
                    print(json.dumps({"question": outcome.question, "status": "failed", "message": outcome.message}))
                codes.append(EXIT_INPUT)
            if outcome.table is not None and len(outcome.table):
                _print_replay(outcome.question, outcome.table, json_out)

        def connected(client) -> None:
            _print_cluster(client)
            bar.start()

        try:
            replay_all(ids, from_, to, every=every, seed=seed, root=root, ledger_path=ledger, force=force, reweight=reweight,
                       scheduler=scheduler, workers=workers, progress=progress, on_outcome=report, on_connect=connected, **extra)
        except (ValueError, ClusterError) as exc:
            err.print(f"[red]error[/red] {escape(str(exc))}", highlight=False)
            codes.append(EXIT_INPUT)
        finally:
            if bar.live.is_started:
                bar.stop()
        if codes:
            raise typer.Exit(min(codes))
        return
    try:
        with Progress(console=err, transient=True, disable=json_out) as bar:
            task = bar.add_task(f"replaying {question}", total=None)

            def tick(i, n, point):
                bar.update(task, completed=i, total=n, description=f"replaying {question}: {point.as_of}")

            df = run_replay(question, from_, to, every=every, seed=seed, root=root, ledger_path=ledger, force=force, progress=tick, reweight=reweight, **extra)
    except InputError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(EXIT_INPUT)
    except ValueError as exc:
        err.print(f"[red]error[/red] {exc}")
        raise typer.Exit(EXIT_INPUT)
    _print_replay(question, df, json_out, with_question=False)


def _print_replay(question: str, df, json_out: bool, with_question: bool = True) -> None:
    """The trajectory of one replay: a table and a summary line, or JSON lines."""
    if json_out:
        for rec in df.to_dict(orient="records"):
            print(json.dumps({"question": question, **rec} if with_question else rec, default=str))
        return
    table = Table(title=f"replay of {escape(question)}")
    for col in ("as-of", "run", "headline", "90%", "how", "diag", "s"):
        table.add_column(col)
    for r in df.itertuples():
        how = {"nuts": "NUTS (anchor)", "reweighted": "reweighted", "stored": "stored"}[r.method]
        table.add_row(str(r.as_of), str(r.run_id), f"{r.headline_mean:.1%} by {r.headline_horizon}", f"{r.lower_90:.1%}-{r.upper_90:.1%}", how, "ok" if r.diagnostics_passed else "FLAGGED", f"{r.seconds:.1f}")
    console.print(table)
    anchors = int((df["method"] == "nuts").sum())
    console.print(f"{len(df)} points: {anchors} NUTS fits (anchors), {int((df['method'] == 'reweighted').sum())} reweighted, {int(df['reused'].sum())} stored")


@app.command()
def validate(
    root: Annotated[Optional[Path], typer.Option(help="Project folder (default: found from the current folder).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print problems as JSON.")] = False,
) -> None:
    """Check every file in models/ and evidence/; report all problems at once."""
    from forecast.core.errors import InputError
    from forecast.inputs.project import Project

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
    from forecast.core.errors import nearest
    from forecast.inputs.schemas import SCHEMAS
    from forecast.inputs.schemas import schema as get_schema

    if name not in SCHEMAS:
        hint = nearest(name, SCHEMAS)
        err.print(f"[red]error[/red] unknown schema {name!r}" + (f" (did you mean '{hint}'?)" if hint else "") + f"; choose from {', '.join(SCHEMAS)}")
        raise typer.Exit(2)
    print(json.dumps(get_schema(name), indent=2))


@app.command()
def new(
    question: Annotated[str, typer.Argument(help="Id of the new question (kebab-case, e.g. border-closure).")],
    indicator: Annotated[Optional[list[str]], typer.Option("--indicator", "-i", help="A library indicator the question uses (repeat for several).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    root: Annotated[Optional[Path], typer.Option(help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Start a question: a commented models/QUESTION.yaml and an empty evidence/QUESTION.yaml, both valid."""
    from forecast.core.errors import InputError
    from forecast.inputs.scaffold import new as scaffold

    try:
        paths = scaffold(question, root=root, indicators=indicator, force=force)
    except InputError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(EXIT_INPUT)
    except FileExistsError as exc:
        err.print(f"[red]error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_INPUT)
    console.print(f"wrote {escape(str(paths['spec']))} and {escape(str(paths['evidence']))}", highlight=False)
    console.print(f"next: replace the TODO placeholders, then `forecast validate` and `forecast update {question}`", highlight=False)


@app.command()
def brief(
    question: Annotated[str, typer.Argument(help="Question id.")],
    run: Annotated[Optional[int], typer.Option("--run", help="Ledger run to brief (default: the last successful update; fits one if there is none).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default: briefs/<question>-<as-of> in the project).")] = None,
    paper: Annotated[str, typer.Option("--paper", help="Page size of the PDF: a4 or letter.")] = "a4",
    influence_refits: Annotated[int, typer.Option(help="At most this many exact refits where PSIS influence is unreliable (0: none).")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the update run when the ledger has none.")] = 1,
    ledger: Annotated[Optional[Path], typer.Option(help="Ledger database (default: runs/ledger.sqlite, or $FORECAST_LEDGER).")] = None,
    root: Annotated[Optional[Path], typer.Option(help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Write the briefing pack of a run: one-page PDF, self-contained HTML, figures as PNG and SVG."""
    from forecast.core.errors import InputError
    from forecast.reports.brief import PAPER_INCHES
    from forecast.reports.brief import brief as write_pack
    from forecast.runs.update import LockTimeout

    if paper not in PAPER_INCHES:
        err.print(f"[red]error[/red] --paper must be one of {', '.join(PAPER_INCHES)}, not {escape(paper)!r}")
        raise typer.Exit(2)
    try:
        with console.status(f"writing the brief of {question}...", spinner="dots") if console.is_terminal else _nullcontext():
            pack = write_pack(question, run=run, out=out, paper=paper, ledger_path=ledger, root=root, seed=seed, influence_refits=influence_refits)
    except InputError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(EXIT_INPUT)
    except (ValueError, LockTimeout) as exc:
        err.print(f"[red]error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_INPUT)
    content = pack.content
    console.print(escape(content.headline["sentence"]), style="bold" if content.passed else "bold red", highlight=False, soft_wrap=True)
    if not content.passed:
        err.print("[red]WARNING[/red] the fit's sampling diagnostics are flagged; the brief says so on every page", highlight=False)
    console.print(f"wrote {escape(str(pack.pdf))}, {escape(str(pack.html))} and {len(pack.figures)} figures in {escape(str(pack.folder / 'figures'))}", highlight=False)


@app.command()
def check(
    question: Annotated[str, typer.Argument(help="Question id.")],
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Run only this check (repeat for several): prior-predictive, sbc, sensitivity, posterior-predictive, scoring, value-of-information.")] = None,
    sims: Annotated[Optional[int], typer.Option(help="Simulations for SBC and histories for scoring (default 100 / 40; --quick 20 / 20).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Run the SBC simulations and scored histories on a local Dask cluster of this many worker processes.", min=1)] = None,
    scheduler: Annotated[Optional[str], typer.Option(help=SCHEDULER_HELP)] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Small sizes: a first look in a few minutes.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed: same files + same seed = same results, whatever --workers / --scheduler.")] = 1,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Use only evidence known by this date (default: today).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for figures and stored simulations (default: runs/checks/<question>/).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as one JSON object.")] = False,
    root: Annotated[Optional[Path], typer.Option(help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Check the model of QUESTION: priors, calibration (SBC), sensitivity, evidence fit, scoring, what to watch.

    Exit code 7 when any check fails (so it can gate CI); warnings exit 0.

    SBC and scoring store each simulation under --out as it finishes: a rerun resumes. With
    --workers or --scheduler each simulation is a Dask task (the same numbers as in this process).
    """
    from contextlib import nullcontext

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from forecast.checks import EXIT_FAILED, FANS_OUT, normalize_names
    from forecast.checks import check as run_checks
    from forecast.core.cluster import ClusterError, connect
    from forecast.core.errors import InputError

    try:
        names = normalize_names(only)
    except ValueError as exc:
        err.print(f"[red]error[/red] --only: {escape(str(exc))}", highlight=False)
        raise typer.Exit(2)
    when = _parse_date(as_of, "--as-of")
    try:
        # a cluster only for the checks that run one task per simulation
        with connect(workers=workers, scheduler=scheduler) if any(n in FANS_OUT for n in names) else nullcontext(None) as client:
            _print_cluster(client)
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=err, transient=True, disable=json_out) as bar:
                tasks: dict[str, int] = {}

                def tick(name, done, total, message=""):
                    if name not in tasks:
                        tasks[name] = bar.add_task(name, total=total)
                    bar.update(tasks[name], completed=done, total=total, description=f"{name}: {escape(message)}")

                results = run_checks(question, only=only, quick=quick, sims=sims, seed=seed, out=out, progress=tick, as_of=when, root=root, client=client)
    except InputError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(EXIT_INPUT)
    except (ValueError, ClusterError, RuntimeError) as exc:  # bad options, an unreachable cluster, a failed simulation
        err.print(f"[red]error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_INPUT)
    failed = [r.name for r in results if r.status == "fail"]
    code = EXIT_FAILED if failed else 0
    if json_out:
        status = "fail" if failed else "warn" if any(r.status == "warn" for r in results) else "pass"
        print(json.dumps({"question": question, "status": status, "exit_code": code, "checks": [r.to_dict() for r in results]}, default=str))
        raise typer.Exit(code)
    colours = {"pass": "green", "warn": "yellow", "fail": "bold red"}
    table = Table(title=f"model checks of {escape(question)}", show_lines=True)
    for col in ("check", "status", "summary", "s"):
        table.add_column(col, overflow="fold")
    for r in results:
        table.add_row(r.name, f"[{colours[r.status]}]{r.status.upper()}[/{colours[r.status]}]", escape(r.text), f"{r.seconds:.0f}")
    console.print(table)
    files = [f for r in results for f in r.metrics.get("figure_files", [])]
    if files:
        console.print(f"figures: {len(files)} PNG files in {escape(str(Path(files[0]).parent))}", highlight=False)
    if failed:
        err.print(f"[red]FAILED[/red]: {', '.join(failed)} (exit {code})", highlight=False)
    raise typer.Exit(code)


@app.command()
def intake(
    report: Annotated[Optional[Path], typer.Argument(help="The report: a plain-text file, or HTML (.html/.htm).")] = None,
    question: Annotated[Optional[str], typer.Option("--question", "-q", help="Question id: the report is read for its indicators.")] = None,
    published: Annotated[Optional[str], typer.Option("--published", help="When the report was published (YYYY-MM-DD): the base of relative dates such as 'last June'.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Who published the report (each draft's `source`).")] = None,
    url: Annotated[Optional[str], typer.Option("--url", help="The report's address (each draft's `url`).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Drafts file to write (default: evidence/drafts/<published>-<report name>.yaml).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the drafts file if it exists.")] = False,
    review: Annotated[Optional[Path], typer.Option("--review", help="Show the items of a drafts file as a table (instead of drafting).")] = None,
    root: Annotated[Optional[Path], typer.Option(help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Draft evidence from a report: one draft item per sentence that bears on an indicator of the question.

    Drafts have no grade and are marked `draft: true`; `forecast validate` and `forecast update`
    refuse them until each is graded and confirmed (set `grade:`, remove `draft: true`).
    """
    from forecast.core.errors import InputError
    from forecast.inputs.project import DRAFTS_DIR, Project

    if review is not None:
        if report is not None:
            err.print("[red]error[/red] give a REPORT to draft from, or --review FILE, not both")
            raise typer.Exit(2)
        _review_drafts(review)
        return
    missing = [name for name, value in (("REPORT", report), ("--question", question), ("--published", published), ("--source", source)) if not value]
    if missing:
        err.print(f"[red]error[/red] missing {', '.join(missing)}: forecast intake REPORT --question ID --published YYYY-MM-DD --source NAME")
        raise typer.Exit(2)
    published_on = _parse_date(published, "--published")
    from forecast.inputs.intake import intake as draft_from

    try:
        project = Project.find(root)
        drafts = draft_from(report, question=question, published=published_on, source=source, url=url, root=project.root)
    except InputError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(EXIT_INPUT)
    for warning in drafts.warnings:
        err.print(f"[yellow]warning[/yellow] {escape(warning)}", highlight=False)
    if not len(drafts):
        console.print(f"no sentence of {escape(drafts.report)} ({len(drafts.passages)} read) bears on an indicator of {escape(drafts.question)}; nothing written", highlight=False)
        return
    out = output if output is not None else project.evidence_dir / DRAFTS_DIR / f"{drafts.id_prefix}.yaml"
    try:
        written = drafts.to_yaml(out, overwrite=force)
    except FileExistsError as exc:
        err.print(f"[red]error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_INPUT)
    counts: dict[str, int] = {}
    for item in drafts.items:
        counts[item.indicator] = counts.get(item.indicator, 0) + 1
    console.print(f"wrote {len(drafts)} draft items ({len(drafts.passages)} sentences read) to {escape(str(written))}", highlight=False)
    console.print("  " + ", ".join(f"{k}: {v}" for k, v in counts.items()), highlight=False)
    folders = {project.evidence_dir.resolve(), (project.evidence_dir / DRAFTS_DIR).resolve()}
    if written.resolve().parent not in folders:
        err.print(f"[yellow]note[/yellow] forecast validate reads evidence/ and evidence/{DRAFTS_DIR}/ only; {escape(str(written))} is outside them", highlight=False)
    console.print(f"next: forecast intake --review {escape(str(written))}; grade and confirm each item (set `grade:`, remove `draft: true`), delete those that do not bear on the question", highlight=False)


def _review_drafts(path: Path) -> None:
    """``forecast intake --review FILE``: the items of an evidence file as a table (file text shown as text)."""
    from rich.text import Text

    from forecast.core.errors import Problem, nearest
    from forecast.inputs.evidence import read_yaml_evidence
    from forecast.inputs.intake import review_rows

    if not path.is_file():
        folder = path.parent if path.parent.is_dir() else None
        hint = nearest(path.name, [p.name for p in folder.iterdir() if p.is_file()]) if folder else None
        _print_problems([Problem(str(path), "no such drafts file", None, None, str(path.parent / hint) if hint else None)])
        raise typer.Exit(EXIT_INPUT)
    items, problems = read_yaml_evidence(path)
    if any(p.severity == "error" for p in problems):
        _print_problems(problems)
        raise typer.Exit(EXIT_INPUT)
    rows = review_rows(items)
    n_drafts = sum(li.item.draft for li in items)
    table = Table(title=Text(f"{path}: {n_drafts} drafts, {len(items) - n_drafts} confirmed"), show_lines=True, expand=True)
    table.add_column("line", justify="right")
    table.add_column("item", min_width=16, overflow="fold")
    table.add_column("suggests", min_width=14, overflow="fold")
    table.add_column("matched", ratio=1, overflow="fold")
    table.add_column("quote", ratio=3, overflow="fold")
    table.add_column("notes", ratio=2, overflow="fold")
    for row in rows:  # Text cells: file content is shown as text, never read as markup
        table.add_row(
            Text(row["line"]),
            Text("\n".join((row["id"], row["event date"], row["status"]))),
            Text("\n".join(v for v in (row["indicator"], row["direction"], row["confidence"] and f"confidence {row['confidence']}") if v)),
            Text(row["matched"]),
            Text(row["quote"]),
            Text(row["notes"]),
        )
    console.print(table)
    if n_drafts:
        console.print(f"{n_drafts} drafts to grade and confirm: set `grade:` and remove `draft: true` on each (or delete it)", highlight=False)


def main() -> None:  # pragma: no cover
    app()
