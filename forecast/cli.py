"""Command line: mirrors the Python API one to one.

==========================================  ==========================================
``forecast update ID [--as-of D] [--seed]``  ``forecast.load(ID).fit(as_of=D, seed=S)``
``forecast validate``                       ``forecast.validate()``
``forecast schema evidence|question|...``   ``forecast.inputs.schemas.schema(NAME)``
``forecast brief ID [--run N] [--out DIR]``  ``forecast.brief(ID, run=N, out=DIR)``
``forecast check ID [--only C] [--quick]``   ``forecast.check(ID, only=[C], quick=True)``
``forecast intake REPORT -q ID --published``  ``forecast.intake(REPORT, question=ID, ...)``
``forecast site [--out DIR]``                ``forecast.site(out=DIR)``
``forecast prune ID --keep N``               ``forecast.prune(ID, keep=N)``
``forecast sources ID [--run N] [--json]``    ``forecast.sources(ID, run=N)``
==========================================  ==========================================

Exit codes: 0 ok; 1 bad input (every problem printed, nothing written) or a store that cannot be
used (a damaged or read-only ledger, a full disk, a folder where a file is expected: one message
saying which and where); 2 usage error (an option value out of range or a date not written
``YYYY-MM-DD``, an as-of date after today); 4 the fit was flagged by its sampling diagnostics and
``--strict`` was given; 6 another update holds the lock; 7 ``forecast check`` found a failing check.

Every command reports errors through one path, :func:`errors_reported`. Text that comes from files
(quotes, ids, column names, messages quoting them) is printed as text: rich markup such as
``[red]`` or ``[link=...]`` and emoji codes such as ``:smile:`` are shown as written, never
interpreted.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
import typer.core
import typer.rich_utils
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from forecast.core import limits
from forecast.runs.changes import describe_changes


def _untyped(params: list) -> list:
    for param in params:
        if type(param) in _UNTYPED:
            param.__class__ = _UNTYPED[type(param)]
    return params


class _Option(typer.core.TyperOption):
    def display_type_rich(self, ctx):
        return None


class _Argument(typer.core.TyperArgument):
    def display_type_rich(self, ctx):
        return None


class _Command(typer.core.TyperCommand):
    def get_params(self, ctx):
        return _untyped(super().get_params(ctx))


class _HelpGroup(typer.core.TyperGroup):
    """Help without type tags: a flag is a switch and the help text says what a value is, so the
    ``<bool>`` / ``<str>`` / ``<int>`` column Typer adds is left out (the help text gets the width)."""

    def get_params(self, ctx):
        return _untyped(super().get_params(ctx))

    def get_command(self, ctx, cmd_name):
        command = super().get_command(ctx, cmd_name)
        if type(command) is typer.core.TyperCommand:
            command.__class__ = _Command
        return command


_UNTYPED = {typer.core.TyperOption: _Option, typer.core.TyperArgument: _Argument}
# help lines no wider than 100 columns (long lines are hard to read on a wide terminal); narrower
# terminals wrap at their own width
typer.rich_utils.MAX_WIDTH = min(typer.rich_utils.MAX_WIDTH or 100, 100)

app = typer.Typer(add_completion=False, no_args_is_help=True, cls=_HelpGroup, help="Bayesian forecasts from question specs and graded evidence.")
# Wide enough for the horizon table when output goes to a file or a pipe (cron, CI logs).
# emoji=False: an evidence quote or id holding ":smile:" is printed as written.
console = Console(width=None if sys.stdout.isatty() else 120, emoji=False)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160, emoji=False)

EXIT_INPUT = 1
EXIT_USAGE = 2


def _chain_limit_checked() -> None:
    """Refuse a bad ``$FORECAST_CHAIN_PROCESSES`` (exit 2, one line naming it) before a command that
    samples loads anything; commands that never sample do not read it."""
    from forecast.inference.sampling import env_chain_processes

    try:
        env_chain_processes()
    except ValueError as exc:
        _error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None


def _print_problems(problems) -> None:
    for p in problems:
        style = "red" if p.severity == "error" else "yellow"
        # escape: problem text quotes untrusted input and fields look like [markup]
        err.print(f"[{style}]{p.severity}[/{style}] {escape(str(p))}", markup=True, highlight=False, soft_wrap=True)


def _error(message: str) -> None:
    """Print ``error <message>``; the message is text (it may quote a file), never markup."""
    err.print(Text.assemble(("error", "red"), " ", str(message)), highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------------------------------
# the one error path


def error_exit_code(exc: BaseException, question: str | None = None, json_out: bool = False) -> int | None:
    """Report a known kind of error (message on stderr, a JSON line with ``--json``); return its exit code.

    ===========================================  ====  ==========================================
    error                                        exit  printed
    ===========================================  ====  ==========================================
    ``InputError`` (bad files)                   1     every problem: file, line, field
    ``LockTimeout`` (another update runs)        6     who holds the lock, how long we waited
    ``LedgerError`` (damaged, read-only, full)   1     the ledger, the kind of trouble, the fix
    ``OSError`` (disk full, read-only, a         1     the file and the kind, never its content
    folder where a file is expected, ...)
    other ``ValueError`` (as-of outside the      1     the message
    risk window, a run of another question)
    ``ClusterError`` (no scheduler at the        1     the address or the workers, the fix
    address, workers with other code)
    ``SimulationError`` (SBC or scoring          1     how many failed, the first one's error,
    simulations failed on a worker or here)            where the others are stored
    ===========================================  ====  ==========================================

    Returns None for any other exception (a bug or a sampling failure: the caller decides).
    """
    known = _known_error(exc, f"{question}: " if question else "")
    if known is None:
        return None
    code, status, message, extra = known
    if json_out and question is not None:
        print(json.dumps({"question": question, "status": status, "message": message, **extra, "exit_code": code}))
    return code


def _known_error(exc: BaseException, prefix: str = "") -> tuple[int, str, str, dict] | None:
    """Print a known kind of error on stderr; ``(exit code, status, message, extra JSON keys)``, or None."""
    from forecast.checks.parallel import SimulationError
    from forecast.core.cluster import ClusterError
    from forecast.core.errors import InputError, os_error_message
    from forecast.runs.ledger import LedgerError
    from forecast.runs.update import EXIT_LOCKED, LockTimeout

    if isinstance(exc, InputError):
        _print_problems(exc.problems)
        code, status, message = EXIT_INPUT, "failed", "bad input"
        extra = {"problems": [p.to_dict() for p in exc.problems]}
    elif isinstance(exc, LockTimeout):
        code, status, message, extra = EXIT_LOCKED, "locked", str(exc), {}
        _error(message)
    elif isinstance(exc, LedgerError):
        code, status, message, extra = EXIT_INPUT, "failed", str(exc), {"kind": exc.kind}
        _error(prefix + message)
    elif isinstance(exc, OSError):
        message = os_error_message(exc, action="read" if isinstance(exc, FileNotFoundError) else "write") if exc.errno is not None else str(exc)
        code, status, extra = EXIT_INPUT, "failed", {}
        _error(prefix + message)
    elif isinstance(exc, (ValueError, ClusterError, SimulationError)):
        code, status, message, extra = EXIT_INPUT, "failed", str(exc), {}
        _error(prefix + message)
    else:
        return None
    return code, status, message, extra


@contextmanager
def errors_reported(question: str | None = None, json_out: bool = False):
    """Run a command's body; a known kind of error (:func:`error_exit_code`) becomes its message and exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        code = error_exit_code(exc, question, json_out)
        if code is None:
            raise
        raise typer.Exit(code) from None


# --------------------------------------------------------------------------------------------------
# option values


def _date_option(month: bool = False, end: bool = False, future: bool = False, what: str | None = None):
    """A typer parser: a date written ``YYYY-MM-DD`` (or ``YYYY-MM`` with ``month``), not after today unless ``future``.

    ``what`` names a date that is not an as-of date (a publication date): after today it is refused
    as such, with its own message.
    """

    def parse(value: str) -> dt.date:
        from forecast.core.timegrid import DateFormatError, check_not_future, parse_date

        try:
            date = parse_date(value, month=month, end=end)
            if what is not None and date > dt.date.today():
                raise DateFormatError(f"{what} {date.isoformat()} is after today ({dt.date.today().isoformat()}): nothing is published in the future")
            if not future and what is None:
                check_not_future(date)
        except DateFormatError as exc:
            raise typer.BadParameter(str(exc)) from None
        return date

    return parse


def _int_range(bounds, help: str, *names, default_help: str = ""):
    return typer.Option(*names, min=bounds[0], max=bounds[1], help=f"{help} ({bounds[0]}-{bounds[1]}){default_help}")


AS_OF_HELP = "Use only evidence known by this date, YYYY-MM-DD, not after today (default: today)."


def _ids(ids) -> str:
    """Run ids as short ranges: ``3-7, 9``."""
    ids = sorted(ids)
    parts, start = [], None
    for i, run in enumerate(ids):
        if start is None:
            start = run
        if i + 1 == len(ids) or ids[i + 1] != run + 1:
            parts.append(str(start) if start == run else f"{start}-{run}")
            start = None
    return ", ".join(parts)


WORKERS_HELP = "Run the fits on a local Dask cluster of this many worker processes, one task per question"
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
    as_of: Annotated[Optional[dt.date], typer.Option("--as-of", parser=_date_option(), metavar="YYYY-MM-DD", help=AS_OF_HELP)] = None,
    seed: Annotated[int, _int_range(limits.SEED, "Random seed: same files + same seed = same numbers")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Fit even when nothing changed since the last run.")] = False,
    draws: Annotated[Optional[int], _int_range(limits.DRAWS, "Posterior draws per chain", default_help="; default: the spec's sampler settings")] = None,
    tune: Annotated[Optional[int], _int_range(limits.TUNE, "Tuning steps per chain")] = None,
    chains: Annotated[Optional[int], _int_range(limits.CHAINS, "Number of chains")] = None,
    alert_threshold: Annotated[
        Optional[float],
        typer.Option(min=limits.ALERT_THRESHOLD[0], max=limits.ALERT_THRESHOLD[1], help="Exit 3 when the headline moved more than this (0.05 = 5 points; 0-1)."),
    ] = None,
    alert_band: Annotated[bool, typer.Option("--alert-band", help="Exit 5 when the headline crossed an ICD 203 band.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 4 when the sampling diagnostics flag the fit.")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", file_okay=False, help="Also write the posterior (NetCDF) and summary (JSON) to this folder.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON line per question instead of tables.")] = False,
    ledger: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Ledger database (default: runs/ledger.sqlite, or $FORECAST_LEDGER).")] = None,
    lock_timeout: Annotated[
        float,
        typer.Option(min=limits.LOCK_TIMEOUT[0], max=limits.LOCK_TIMEOUT[1], help="Seconds to wait for another update to finish before giving up (exit 6; at most a week)."),
    ] = 600.0,
    keep: Annotated[
        Optional[int],
        _int_range(limits.KEEP_RUNS, "After the update, delete the files of the question's runs older than the newest N (as `forecast prune --keep N`)"),
    ] = None,
    workers: Annotated[Optional[int], _int_range(limits.WORKERS, WORKERS_HELP)] = None,
    scheduler: Annotated[Optional[str], typer.Option(help=SCHEDULER_HELP)] = None,
    root: Annotated[Optional[Path], typer.Option(file_okay=False, help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Fit QUESTION with the evidence known at --as-of, record the run in the ledger, print the headline.

    An update whose inputs (spec, evidence in scope, code, sampler settings, seed, as-of) match the
    last successful update does not sample again ("up to date, run N"); --force re-runs.
    With --workers or --scheduler each question's fit is a Dask task; this process alone writes the
    ledger and the artefacts. A question that fails does not stop the others.
    """
    _chain_limit_checked()
    from forecast.inputs.project import Project
    from forecast.runs.update import update_all

    if bool(question) == all_questions:
        _error("give a QUESTION or --all")
        raise typer.Exit(EXIT_USAGE)
    with errors_reported():
        project = Project.find(root)
    ids = project.question_ids() if all_questions else [question]
    overrides = {k: v for k, v in dict(draws=draws, tune=tune, chains=chains).items() if v is not None}
    codes = []
    interactive_terminal = not json_out and console.is_terminal
    one_here = len(ids) == 1 and workers is None and not scheduler  # (or $FORECAST_SCHEDULER): decided once connected
    bar = _task_bar(disable=not interactive_terminal)
    state = {"task": None, "client": None}
    reported: set[str] = set()

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
        reported.add(outcome.question)
        codes.append(_print_update_outcome(outcome, json_out, output))

    try:
        with console.status(f"updating {escape(ids[0])}...", spinner="dots") if interactive_terminal and one_here and not _scheduler_from_env() else _nullcontext():
            update_all(ids, as_of=as_of, seed=seed, force=force, root=project.root, ledger_path=ledger, alert_threshold=alert_threshold,
                       alert_band=alert_band, alert_diagnostics=strict, lock_timeout=lock_timeout, progressbar=interactive_terminal and one_here,
                       keep=keep, client=None, scheduler=scheduler, workers=workers, progress=progress, on_outcome=report, on_connect=connected,
                       **overrides)
    except Exception as exc:  # the whole batch stopped: the lock, the ledger, the disk, the scheduler
        code = _batch_error(exc, [qid for qid in ids if qid not in reported], json_out)
        if code is None:
            raise
        codes.append(code)
    finally:
        if bar.live.is_started:
            bar.stop()
    nonzero = [c for c in codes if c]
    if nonzero:
        raise typer.Exit(min(nonzero))


def _scheduler_from_env() -> bool:
    from forecast.core.cluster import scheduler_address

    return scheduler_address() is not None


def _failed_outcome(question: str, exc: BaseException | None, message: str, json_out: bool) -> int:
    """Report one question of a batch that failed (``update --all``, ``replay --all``); returns its exit code.

    A known kind of error goes through :func:`error_exit_code`; any other (a fit that failed, here or
    on a Dask worker) is printed as ``<question>: <error class>: <message>``, as a failed fit always is.
    """
    code = error_exit_code(exc, question, json_out) if exc is not None else None
    if code is None:
        _error(f"{question}: {message}")
        if json_out:
            print(json.dumps({"question": question, "status": "failed", "message": message, "exit_code": EXIT_INPUT}))
        code = EXIT_INPUT
    return code


def _batch_error(exc: BaseException, pending: list[str], json_out: bool) -> int | None:
    """A batch that stopped as a whole (the lock, the ledger, the scheduler): one message, and with
    ``--json`` a line for each question left without an outcome. None for an unknown kind of error."""
    known = _known_error(exc)
    if known is None:
        return None
    code, status, message, extra = known
    if json_out:
        for qid in pending:
            print(json.dumps({"question": qid, "status": status, "message": message, **extra, "exit_code": code}))
    return code


def _print_update_outcome(outcome, json_out: bool, output: Path | None) -> int:
    """Print one question's outcome of ``forecast update`` as it arrives; returns its exit code."""
    if outcome.status == "failed":
        return _failed_outcome(outcome.question, outcome.error, outcome.message, json_out)
    if output is not None and outcome.record is not None:
        # the run's stored files, verified: the same bytes whether it was fitted now or is up
        # to date; a damaged or missing file is an error naming it and the run
        try:
            from forecast.inference.store import copy_artefacts

            copy_artefacts(outcome.record, output)
        except Exception as exc:  # noqa: BLE001  (reported; the other questions go on)
            return _failed_outcome(outcome.question, exc, f"{type(exc).__name__}: {exc}", json_out)
    if json_out:
        print(json.dumps(outcome.to_dict(), default=str))
    else:
        print_outcome(outcome)
    return outcome.exit_code


def print_outcome(outcome) -> None:
    """Print an update's outcome: the result's headline and table, the change report, alerts and pruned runs."""
    if outcome.result is not None:
        print_result(outcome.result)
        changes = (outcome.record or {}).get("changes") or {}
        if changes and not changes.get("first_run"):
            console.print(Text(describe_changes(changes)), highlight=False)
        console.print(f"recorded as run {outcome.run_id}", style="dim")
    else:
        rec = outcome.record or {}
        console.print(Text(f"{outcome.question}: {outcome.message}"), highlight=False)
        if rec.get("rolling_mean") is not None:
            from forecast.core.fmt import percent, percent_range

            console.print(Text(f"  P(within {rec['rolling_months']} months, by {rec['rolling_until']}) = {percent(rec['rolling_mean'])} "
                               f"(90%: {percent_range(rec['rolling_lower_90'], rec['rolling_upper_90'])}), as of {rec['as_of']}"), highlight=False)
        if rec.get("headline_mean") is not None:
            from forecast.core.fmt import percent, percent_range

            console.print(Text(f"  headline P(by {rec['headline_horizon']}) = {percent(rec['headline_mean'])} "
                               f"(90%: {percent_range(rec['headline_lower_90'], rec['headline_upper_90'])}), as of {rec['as_of']}"), highlight=False)
    if outcome.pruned:
        console.print(f"pruned the files of {len(outcome.pruned)} older run(s): {_ids(outcome.pruned)}", style="dim", highlight=False)
    for alert in outcome.alerts:
        err.print(Text.assemble(("ALERT", "red"), f" {alert.rule}: {alert.message}"), highlight=False)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def print_result(result) -> None:
    """Print a fit: the headline sentence (red when diagnostics flag it), the rolling headline, the horizon table and diagnostics."""
    from forecast.core.fmt import percent

    console.print(escape(result.headline_sentence()), style="bold" if result.passed else "bold red", highlight=False, soft_wrap=True)
    if result.rolling_months:
        console.print(escape(result.rolling_sentence()), style="bold" if result.passed else "bold red", highlight=False, soft_wrap=True)
    table = Table(title=Text(f"{result.spec.id} as of {result.as_of} (seed {result.seed})"))
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
        Text(
            f"evidence: {len(d.evidence_ids)} items used"
            + (f" ({len(d.generated)} of them the source's picture)" if d.generated else "")
            + f", {len(d.excluded)} excluded"
            + "".join(f"\n  excluded {e.id}: {e.reason}" for e in d.excluded)
        ),
        highlight=False,
    )
    diag = result.diagnostics
    console.print(Text(diag.line()), style="green" if diag.passed else "red", highlight=False)
    for problem in diag.problems:
        console.print(Text(f"  - {problem}"), style="red", highlight=False)


HISTORY_JSON_KEYS = ("id", "kind", "status", "as_of", "started_at", "fingerprint", "backdated", "rolling_months", "rolling_until", "rolling_mean",
                     "rolling_lower_90", "rolling_upper_90", "rolling_mcse", "rolling_term", "headline_horizon", "headline_mean",
                     "headline_lower_90", "headline_upper_90", "headline_term", "diagnostics_passed", "wall_seconds", "error")


@app.command()
def history(
    question: Annotated[str, typer.Argument(help="Question id.")],
    kind: Annotated[Optional[str], typer.Option(help="Only 'update' or 'replay' runs.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the runs as JSON lines.")] = False,
    ledger: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Ledger database (default: runs/ledger.sqlite).")] = None,
    root: Annotated[Optional[Path], typer.Option(file_okay=False, help="Project folder.")] = None,
) -> None:
    """Table of past runs: time, as-of, fingerprint, P(event within L months of the as-of date), interval, diagnostics, what changed.

    The ledger is opened read-only: a ledger in a read-only folder can be listed.
    """
    from forecast.core.fmt import percent, percent_range
    from forecast.runs.update import history as get_history

    if kind not in (None, "update", "replay"):
        _error(f"--kind must be 'update' or 'replay', not {kind!r}")
        raise typer.Exit(EXIT_USAGE)
    with errors_reported():
        df = get_history(question, root=root, ledger_path=ledger, kind=kind)
    if json_out:
        for rec in df.to_dict(orient="records"):
            print(json.dumps({k: rec.get(k) for k in HISTORY_JSON_KEYS}, default=str))
        return
    table = Table(title=Text(f"runs of {question}"))
    for col in ("run", "kind", "status", "started (UTC)", "as-of", "fingerprint", "forecast", "90%", "diag", "secs", "what changed"):
        table.add_column(col)
    for rec in df.to_dict(orient="records") if len(df) else []:
        head = interval = ""
        if rec.get("rolling_mean") is not None and rec["rolling_mean"] == rec["rolling_mean"]:
            head = f"{percent(rec['rolling_mean'])} within {int(rec['rolling_months'])} months"
            interval = percent_range(rec["rolling_lower_90"], rec["rolling_upper_90"])
        elif rec.get("headline_mean") is not None and rec["headline_mean"] == rec["headline_mean"]:  # recorded before the rolling headline
            head = f"{percent(rec['headline_mean'])} by {rec['headline_horizon']}"
            interval = percent_range(rec["headline_lower_90"], rec["headline_upper_90"])
        diag = "" if rec.get("diagnostics_passed") is None or rec["diagnostics_passed"] != rec["diagnostics_passed"] else ("ok" if rec["diagnostics_passed"] else "FLAGGED")
        changes = rec.get("changes") if isinstance(rec.get("changes"), dict) else None
        what = (rec.get("error") or "").splitlines()[0][:60] if rec["status"] == "failed" else ("first run" if changes and changes.get("first_run") else (describe_changes(changes) if changes else ""))
        seconds = f"{rec['wall_seconds']:.0f}" if rec.get("wall_seconds") == rec.get("wall_seconds") and rec.get("wall_seconds") is not None else ""
        # every cell as Text: an error or a change report quotes file-borne text
        cells = (str(rec["id"]), str(rec["kind"]), str(rec["status"]), str(rec["started_at"]), str(rec["as_of"]), str(rec.get("fingerprint") or "")[:8], head, interval, diag, seconds, what)
        table.add_row(*(Text(c) for c in cells))
    console.print(table)


@app.command()
def show(
    question: Annotated[str, typer.Argument(help="Question id.")],
    run: Annotated[Optional[int], typer.Option("--run", min=1, help="Run id (default: the last successful update).")] = None,
    ledger: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Ledger database (default: runs/ledger.sqlite).")] = None,
    root: Annotated[Optional[Path], typer.Option(file_okay=False, help="Project folder.")] = None,
) -> None:
    """One run in full (JSON): fingerprints, versions, headline, horizons, diagnostics, changes.

    The ledger is opened read-only: a ledger in a read-only folder can be shown.
    """
    from forecast.inputs.project import Project
    from forecast.runs.ledger import Ledger, default_path

    with errors_reported():
        project = Project.find(root)
        store = Ledger(ledger or default_path(project.root), readonly=True)
        rec = store.get(run) if run is not None else store.current(question)
    if rec is None or rec["question"] != question:
        _error(f"no run {run if run is not None else '(successful update)'} of {question} in {store.path}")
        raise typer.Exit(EXIT_INPUT)
    rec.pop("spec_snapshot", None)
    from forecast.inference.store import ARTEFACTS, ArtefactError, verify_artefact

    problems = []
    if rec.get("status") == "succeeded":
        rec["artefacts"] = {}
        for kind in ARTEFACTS:
            if not rec.get(f"{kind}_path"):
                rec["artefacts"][kind] = "none recorded"
                continue
            try:
                verify_artefact(rec, kind)
                rec["artefacts"][kind] = "verified" if rec.get(f"{kind}_sha256") else "present (recorded before checksums)"
            except ArtefactError as exc:
                rec["artefacts"][kind] = exc.kind
                if exc.kind != "pruned":
                    problems.append(str(exc))
    print(json.dumps(rec, indent=2, default=str))
    for problem in problems:
        _error(problem)
    if problems:
        raise typer.Exit(EXIT_INPUT)


@app.command()
def prune(
    question: Annotated[Optional[str], typer.Argument(help="Question id.")] = None,
    keep: Annotated[int, _int_range(limits.KEEP_RUNS, "Keep the files of the newest N runs of each question; the last successful update is always kept", "--keep")] = ...,
    all_questions: Annotated[bool, typer.Option("--all", help="Every question with runs in the ledger.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be deleted.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON line per question.")] = False,
    ledger: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Ledger database (default: runs/ledger.sqlite, or $FORECAST_LEDGER).")] = None,
    lock_timeout: Annotated[
        float,
        typer.Option(min=limits.LOCK_TIMEOUT[0], max=limits.LOCK_TIMEOUT[1], help="Seconds to wait for a running update before giving up (exit 6; at most a week)."),
    ] = 600.0,
    root: Annotated[Optional[Path], typer.Option(file_okay=False, help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Delete the posterior and summary files of older runs, keeping the newest --keep runs' files.

    The ledger keeps every run's numbers (history, show, trajectories); a pruned run is marked
    pruned, and reading its files says so. The last successful update of a question, the base of
    its next change report, is never pruned.
    """
    from forecast.runs.retention import prune as run_prune

    if bool(question) == all_questions:
        _error("give a QUESTION or --all")
        raise typer.Exit(EXIT_USAGE)
    with errors_reported():
        results = run_prune(question, keep=keep, all_questions=all_questions, root=root, ledger_path=ledger, lock_timeout=lock_timeout, dry_run=dry_run)
    for res in results:
        if json_out:
            print(json.dumps(res.to_dict()))
            continue
        verb = "would delete" if dry_run else "deleted"
        if res.pruned:
            console.print(Text(f"{res.question}: {verb} the files of {len(res.pruned)} run(s) ({_ids(res.pruned)}): "
                               f"{len(res.deleted)} files, {res.freed_bytes / 1e6:.1f} MB; the newest {res.keep} run(s) and the last successful "
                               "update keep theirs"), highlight=False)
        else:
            console.print(Text(f"{res.question}: nothing to prune (the files of the newest {res.keep} run(s) and of the last "
                               "successful update are kept)"), highlight=False)
        if res.left:
            err.print(Text(f"note {res.question}: left {len(res.left)} file(s) outside this ledger's folder "
                           "(they belong to the ledger this one was copied from)"), highlight=False)


@app.command()
def replay(
    question: Annotated[Optional[str], typer.Argument(help="Question id.")] = None,
    all_questions: Annotated[bool, typer.Option("--all", help="Replay every question in models/ (one task per question).")] = False,
    from_: Annotated[
        dt.date,
        typer.Option("--from", parser=_date_option(month=True), metavar="YYYY-MM[-DD]", help="First month (YYYY-MM) or date (YYYY-MM-DD), not after today."),
    ] = ...,
    to: Annotated[
        dt.date,
        typer.Option("--to", parser=_date_option(month=True, end=True, future=True), metavar="YYYY-MM[-DD]", help="Last month (YYYY-MM) or date; the replay stops at the last month end on or before today."),
    ] = ...,
    every: Annotated[str, typer.Option(help="Spacing of the points (month).")] = "month",
    seed: Annotated[int, _int_range(limits.SEED, "Random seed")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Refit points already stored with the same fingerprint.")] = False,
    draws: Annotated[Optional[int], _int_range(limits.DRAWS, "Draws per chain of each NUTS fit", default_help="; default 1000")] = None,
    reweight: Annotated[bool, typer.Option("--reweight/--no-reweight", help="Reweight an earlier fit where PSIS allows (default) or run NUTS at every point.")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the trajectory as JSON lines.")] = False,
    workers: Annotated[Optional[int], _int_range(limits.WORKERS, "Run the replays on a local Dask cluster of this many worker processes, one task per question")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help=SCHEDULER_HELP)] = None,
    ledger: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Ledger database (default: runs/ledger.sqlite).")] = None,
    root: Annotated[Optional[Path], typer.Option(file_okay=False, help="Project folder.")] = None,
) -> None:
    """The forecast as it would have been made at the end of each past month (stored as replay runs)."""
    _chain_limit_checked()
    from rich.progress import Progress

    from forecast.core.cluster import scheduler_address
    from forecast.runs.replay import replay as run_replay
    from forecast.runs.replay import replay_all

    if bool(question) == all_questions:
        _error("give a QUESTION or --all")
        raise typer.Exit(EXIT_USAGE)
    if every != "month":
        _error(f"--every supports 'month', not {every!r}")
        raise typer.Exit(EXIT_USAGE)
    if to < from_:
        _error(f"--to {to} is before --from {from_}")
        raise typer.Exit(EXIT_USAGE)
    extra = {"draws": draws} if draws else {}
    if all_questions or workers is not None or scheduler_address(scheduler) is not None:
        from forecast.inputs.project import Project

        with errors_reported():
            ids = Project.find(root).question_ids() if all_questions else [question]
        codes = []
        bar = _task_bar(disable=json_out or not console.is_terminal)
        state = {"task": None}

        def progress(done: int, total: int) -> None:
            if state["task"] is None:
                state["task"] = bar.add_task("replays", total=total)
            bar.update(state["task"], completed=done, total=total)

        def report(outcome) -> None:
            if outcome.status == "failed":
                codes.append(_failed_outcome(outcome.question, outcome.error, outcome.message, json_out))
            if outcome.table is not None and len(outcome.table):
                _print_replay(outcome.question, outcome.table, json_out)

        def connected(client) -> None:
            _print_cluster(client)
            bar.start()

        try:
            with errors_reported():
                replay_all(ids, from_, to, every=every, seed=seed, root=root, ledger_path=ledger, force=force, reweight=reweight,
                           scheduler=scheduler, workers=workers, progress=progress, on_outcome=report, on_connect=connected, **extra)
        finally:
            if bar.live.is_started:
                bar.stop()
        if codes:
            raise typer.Exit(min(codes))
        return
    with errors_reported():
        with Progress(console=err, transient=True, disable=json_out) as bar:
            task = bar.add_task(f"replaying {question}", total=None)

            def tick(i, n, point):
                bar.update(task, completed=i, total=n, description=f"replaying {question}: {point.as_of}")

            df = run_replay(question, from_, to, every=every, seed=seed, root=root, ledger_path=ledger, force=force, progress=tick, reweight=reweight, **extra)
    _print_replay(question, df, json_out, with_question=False)


def _print_replay(question: str, df, json_out: bool, with_question: bool = True) -> None:
    """The trajectory of one replay: a table of the rolling headline and a summary line, or JSON lines."""
    from forecast.core.fmt import percent, percent_range

    if json_out:
        for rec in df.to_dict(orient="records"):
            print(json.dumps({"question": question, **rec} if with_question else rec, default=str))
        return
    months = next((int(m) for m in df["rolling_months"] if m is not None and m == m), None)
    table = Table(title=Text(f"replay of {question}" + (f": P(event within {months} months of each as-of date)" if months else "")))
    for col in ("as-of", "run", f"P(within {months} months)" if months else "P(within L months)", "90%", "MCSE", "ICD 203", "how", "diag", "secs"):
        table.add_column(col)
    for r in df.itertuples():
        how = {"nuts": "NUTS (anchor)", "reweighted": "reweighted", "stored": "stored"}[r.method]
        shown = r.rolling_mean is not None and r.rolling_mean == r.rolling_mean
        table.add_row(str(r.as_of), str(r.run_id), percent(r.rolling_mean) if shown else "",
                      percent_range(r.rolling_lower_90, r.rolling_upper_90) if shown else "", f"{r.rolling_mcse:.4f}" if shown else "",
                      r.rolling_term or "", how, "ok" if r.diagnostics_passed else "FLAGGED", f"{r.seconds:.1f}")
    console.print(table)
    anchors = int((df["method"] == "nuts").sum())
    console.print(f"{len(df)} points: {anchors} NUTS fits (anchors), {int((df['method'] == 'reweighted').sum())} reweighted, {int(df['reused'].sum())} stored; "
                  f"{int(df['diagnostics_passed'].sum())} of {len(df)} pass the diagnostics")


@app.command()
def validate(
    root: Annotated[Optional[Path], typer.Option(file_okay=False, help="Project folder (default: found from the current folder).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print problems as JSON.")] = False,
) -> None:
    """Check every file in models/ and evidence/; report all problems at once (nothing is written)."""
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
        _error(f"unknown schema {name!r}" + (f" (did you mean '{hint}'?)" if hint else "") + f"; choose from {', '.join(SCHEMAS)}")
        raise typer.Exit(EXIT_USAGE)
    print(json.dumps(get_schema(name), indent=2))


@app.command()
def new(
    question: Annotated[str, typer.Argument(help="Id of the new question (kebab-case, e.g. border-closure).")],
    indicator: Annotated[Optional[list[str]], typer.Option("--indicator", "-i", help="A library indicator the question uses (repeat for several).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    root: Annotated[Optional[Path], typer.Option(file_okay=False, help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Start a question: a commented models/QUESTION.yaml and an empty evidence/QUESTION.yaml, both valid."""
    from forecast.inputs.scaffold import new as scaffold

    with errors_reported():
        paths = scaffold(question, root=root, indicators=indicator, force=force)
    console.print(f"wrote {escape(str(paths['spec']))} and {escape(str(paths['evidence']))}", highlight=False)
    console.print(f"next: replace the TODO placeholders, then `forecast validate` and `forecast update {escape(question)}`", highlight=False)


@app.command()
def brief(
    question: Annotated[str, typer.Argument(help="Question id.")],
    run: Annotated[Optional[int], typer.Option("--run", help="Ledger run to brief (default: the last successful update; fits one if there is none).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", file_okay=False, help="Output folder (default: briefs/<question>-<as-of> in the project).")] = None,
    paper: Annotated[str, typer.Option("--paper", help="Page size of the PDF: a4 or letter.")] = "a4",
    influence_refits: Annotated[int, _int_range(limits.INFLUENCE_REFITS, "At most this many refits without an item where its PSIS influence is unreliable; 0: none")] = 3,
    seed: Annotated[int, _int_range(limits.SEED, "Seed of the update run when the ledger has none")] = 1,
    ledger: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Ledger database (default: runs/ledger.sqlite, or $FORECAST_LEDGER).")] = None,
    root: Annotated[Optional[Path], typer.Option(file_okay=False, help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Write the briefing pack of a run: one-page PDF, self-contained HTML, figures as PNG and SVG."""
    _chain_limit_checked()
    from forecast.reports.brief import PAPER_INCHES
    from forecast.reports.brief import brief as write_pack

    if paper not in PAPER_INCHES:
        _error(f"--paper must be one of {', '.join(PAPER_INCHES)}, not {paper!r}")
        raise typer.Exit(EXIT_USAGE)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with errors_reported():
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as bar:
            # the first stage (reading the run, PSIS over every item) until a named stage starts
            stages: dict[str, int] = {"loading": bar.add_task(f"brief of {escape(question)}: run, evidence, PSIS", total=1)}

            def tick(stage, done, total):
                if stage not in stages:
                    for task in stages.values():  # the stages before are done
                        bar.update(task, completed=bar.tasks[task].total)
                    stages[stage] = bar.add_task(stage, total=total)
                bar.update(stages[stage], completed=done, total=total)

            pack = write_pack(question, run=run, out=out, paper=paper, ledger_path=ledger, root=root, seed=seed, influence_refits=influence_refits,
                              progress=tick)
    content = pack.content
    console.print(escape(content.headline["sentence"]), style="bold" if content.passed else "bold red", highlight=False, soft_wrap=True)
    if not content.passed:
        err.print("[red]WARNING[/red] the fit's sampling diagnostics are flagged; the brief says so on every page", highlight=False)
    console.print(f"wrote {escape(str(pack.pdf))}, {escape(str(pack.html))} and {len(pack.figures)} figures in {escape(str(pack.folder / 'figures'))}", highlight=False)


@app.command()
def sources(
    question: Annotated[str, typer.Argument(help="Question id.")],
    run: Annotated[Optional[int], typer.Option("--run", help="Ledger run (default: the last successful update; fits one if there is none).")] = None,
    seed: Annotated[int, _int_range(limits.SEED, "Seed of the update run when the ledger has none")] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="Print the table as one JSON object.")] = False,
    ledger: Annotated[Optional[Path], typer.Option(dir_okay=False, help="Ledger database (default: runs/ledger.sqlite, or $FORECAST_LEDGER).")] = None,
    root: Annotated[Optional[Path], typer.Option(file_okay=False, help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Each source's prior and posterior weight in a run (learned with `sources: learned`, else fixed by its letter)."""
    from forecast.reports.sources import HEADER, rows
    from forecast.reports.sources import sources as source_report

    with errors_reported(question if json_out else None, json_out):
        report = source_report(question, run=run, ledger_path=ledger, root=root, seed=seed)
    if json_out:
        print(json.dumps(report.to_dict(), default=str))
        return
    title = f"sources of {question} as of {report.as_of} (run {report.run_id}): {report.mode} weights"
    table = Table(title=Text(title))
    for i, name in enumerate(HEADER):
        table.add_column(name, justify="right" if i >= 3 else "left")
    for row in rows(report.table):
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)
    if report.mode == "fixed":
        console.print("fixed weights: each source weighs its reliability letter's weight (set `sources: learned` in the spec to learn them)", highlight=False)
    else:
        console.print("weight: the power an item's likelihood is raised to (1 = an A-graded source); posterior / prior: the factor the "
                      "source's items end with; P(below prior): posterior probability that the source lost weight", highlight=False)


@app.command()
def site(
    out: Annotated[Path, typer.Option("--out", help="Folder of the site (replaced as a whole when the new one is complete).")] = Path("site"),
    briefs: Annotated[Optional[Path], typer.Option(help="Folder of briefs to link (default: briefs/ in the project).")] = None,
    ledger: Annotated[Optional[Path], typer.Option(help="Ledger database (default: runs/ledger.sqlite, or $FORECAST_LEDGER).")] = None,
    root: Annotated[Optional[Path], typer.Option(help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Write a static dashboard of every question: an index page and one page per question, from the ledger (no refits).

    Self-contained HTML (no script, nothing loaded from elsewhere): open OUT/index.html from disk or
    serve the folder with any web server.
    """
    from forecast.core.errors import InputError
    from forecast.reports.site import build_site

    try:
        with console.status("writing the site...", spinner="dots") if console.is_terminal else _nullcontext():
            built = build_site(out, root=root, ledger_path=ledger, briefs=briefs)
    except InputError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(EXIT_INPUT)
    except ValueError as exc:
        err.print(f"[red]error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_INPUT)
    for q in built.questions:
        if q.get("error"):
            err.print(f"[yellow]warning[/yellow] {escape(q['error'])}", highlight=False)
    console.print(f"wrote {escape(str(out / 'index.html'))} and {len(built.pages)} question pages in {built.seconds:.1f} s", highlight=False)


@app.command()
def check(
    question: Annotated[str, typer.Argument(help="Question id.")],
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Run only this check (repeat for several): prior-predictive, sbc, sensitivity, posterior-predictive, scoring, value-of-information.")] = None,
    sims: Annotated[Optional[int], _int_range(limits.SIMS, "Simulations for SBC and histories for scoring", default_help="; default 100 / 40; --quick 20 / 20")] = None,
    workers: Annotated[Optional[int], _int_range(limits.WORKERS, "Run the SBC simulations and scored histories on a local Dask cluster of this many worker processes")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help=SCHEDULER_HELP)] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Small sizes: a first look in a few minutes.")] = False,
    seed: Annotated[int, _int_range(limits.SEED, "Random seed: same files + same seed = same results, whatever --workers / --scheduler")] = 1,
    as_of: Annotated[Optional[dt.date], typer.Option("--as-of", parser=_date_option(), metavar="YYYY-MM-DD", help=AS_OF_HELP)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", file_okay=False, help="Folder for figures (PNG), each check's table (CSV) and stored simulations (default: runs/checks/<question>/).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as one JSON object.")] = False,
    root: Annotated[Optional[Path], typer.Option(file_okay=False, help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Check the model of QUESTION: priors, calibration (SBC), sensitivity, evidence fit, scoring, what to watch.

    Exit code 7 when any check fails (so it can gate CI); warnings exit 0.

    SBC and scoring store each simulation under --out as it finishes: a rerun resumes. With
    --workers or --scheduler each simulation is a Dask task (the same numbers as in this process).
    """
    _chain_limit_checked()
    from contextlib import nullcontext

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from forecast.checks import EXIT_FAILED, FANS_OUT, normalize_names
    from forecast.checks import check as run_checks
    from forecast.core.cluster import connect

    try:
        names = normalize_names(only)
    except ValueError as exc:
        _error(f"--only: {exc}")
        raise typer.Exit(EXIT_USAGE)
    with errors_reported():
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

                results = run_checks(question, only=only, quick=quick, sims=sims, seed=seed, out=out, progress=tick, as_of=as_of, root=root, client=client)
    failed = [r.name for r in results if r.status == "fail"]
    code = EXIT_FAILED if failed else 0
    if json_out:
        status = "fail" if failed else "warn" if any(r.status == "warn" for r in results) else "pass"
        print(json.dumps({"question": question, "status": status, "exit_code": code, "checks": [r.to_dict() for r in results]}, default=str))
        raise typer.Exit(code)
    colours = {"pass": "green", "warn": "yellow", "fail": "bold red"}
    table = Table(title=Text(f"model checks of {question}"), show_lines=True)
    for col in ("check", "status", "summary", "secs"):
        table.add_column(col, overflow="fold")
    for r in results:
        table.add_row(r.name, f"[{colours[r.status]}]{r.status.upper()}[/{colours[r.status]}]", escape(r.text), f"{r.seconds:.0f}")
    console.print(table)
    files = [f for r in results for f in r.metrics.get("figure_files", [])]
    if files:
        console.print(f"figures: {len(files)} PNG file{'s' if len(files) != 1 else ''} in {escape(str(Path(files[0]).parent))}", highlight=False)
    tables = [r.metrics["table_file"] for r in results if r.metrics.get("table_file")]
    if tables:
        console.print(f"tables: {', '.join(escape(Path(t).name) for t in tables)} in {escape(str(Path(tables[0]).parent))}", highlight=False)
    if failed:
        err.print(f"[red]FAILED[/red]: {', '.join(failed)} (exit {code})", highlight=False)
    raise typer.Exit(code)


@app.command()
def intake(
    report: Annotated[Optional[Path], typer.Argument(help="The report: a plain-text file, or HTML (.html/.htm).")] = None,
    question: Annotated[Optional[str], typer.Option("--question", "-q", help="Question id: the report is read for its indicators.")] = None,
    published: Annotated[
        Optional[dt.date],
        typer.Option("--published", parser=_date_option(what="publication date"), metavar="YYYY-MM-DD", help="When the report was published (YYYY-MM-DD): the base of relative dates such as 'last June'."),
    ] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Who published the report (each draft's `source`).")] = None,
    url: Annotated[Optional[str], typer.Option("--url", help="The report's address (each draft's `url`).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Drafts file to write (default: evidence/drafts/<published>-<report name>.yaml).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the drafts file if it exists.")] = False,
    review: Annotated[Optional[Path], typer.Option("--review", help="Show the items of a drafts file as a table (instead of drafting).")] = None,
    root: Annotated[Optional[Path], typer.Option(file_okay=False, help="Project folder (default: found from the current folder).")] = None,
) -> None:
    """Draft evidence from a report: one draft item per sentence that bears on an indicator of the question.

    Drafts have no grade and are marked `draft: true`; `forecast validate` and `forecast update`
    refuse them until each is graded and confirmed (set `grade:`, remove `draft: true`).
    """
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
    from forecast.inputs.intake import intake as draft_from

    with errors_reported():
        project = Project.find(root)
        drafts = draft_from(report, question=question, published=published, source=source, url=url, root=project.root)
    for warning in drafts.warnings:
        err.print(f"[yellow]warning[/yellow] {escape(warning)}", highlight=False)
    if not len(drafts):
        console.print(f"no sentence of {escape(drafts.report)} ({len(drafts.passages)} read) bears on an indicator of {escape(drafts.question)}; nothing written", highlight=False)
        return
    out = output if output is not None else project.evidence_dir / DRAFTS_DIR / f"{drafts.id_prefix}.yaml"
    with errors_reported():
        written = drafts.to_yaml(out, overwrite=force)
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
    """Entry point of the ``forecast`` console script."""
    app()
