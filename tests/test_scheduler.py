"""Scheduled updates: crash safety, locking, no-op reruns, change reports, alerts and the recipes.

Every test works in a throw-away copy of one tiny project (one indicator, two evidence items,
2 chains x 200 draws) whose first update, run 1, is fitted once per module (``baseline``); a test
copies its files, ledger and artefacts (``workspace``) so the tests do not depend on each other's
order. The crash tests start a real ``forecast update`` in its own process group, stop it at a
named stage with the runner's testing hook (``FORECAST_PAUSE_AT``, see :mod:`forecast.runs.update`) or
while its NUTS chain workers run, SIGKILL the whole group and check what a scheduler would find:
an intact SQLite ledger, the last good run and its files byte-identical, no temp files, and a next
update that marks the dead run ``failed`` ("interrupted") on its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from forecast.cli import app
from forecast.core import icd203
from forecast.inference.question import Question
from forecast.runs import update as runner
from forecast.runs.changes import describe_changes
from forecast.runs.ledger import Ledger

from .conftest import ROOT

AS_OF = "2024-12-31"
QID = "tiny"

SOURCE_TEXT = "The border stayed quiet all year. Officials said the pressure was rising.\n"

LIBRARY = """\
reference_date: 2024-01-01
source: sources/source.txt
source_title: Test source
indicators:
  - id: pressure
    name: Pressure
    description: Pressure to act.
    scale: "0 = as described; +1 = clearly higher"
    level:
      dist: normal
      params: {mu: 0.0, sigma: 1.0}
      source: {quote: "Officials said the pressure was rising.", reasoning: test}
    volatility:
      dist: gamma
      params: {alpha: 4.0, beta: 20.0}
      source: {quote: "The border stayed quiet all year.", reasoning: test}
"""

SPEC = """\
id: tiny
question: Will the tiny event happen?
event: the tiny event happens
resolution_criteria: test
risk_window_start: 2024-01-01
horizons: [2025-06-30, 2025-12-31]
headline_lead_months: 6
baseline:
  per: year
  probability:
    dist: beta
    params: {alpha: 2.0, beta: 20.0}
    source: {quote: "The border stayed quiet all year.", reasoning: test}
indicators:
  pressure:
    direction: toward
    size:
      dist: gamma
      params: {alpha: 4.0, beta: 4.0}
      source: {quote: "Officials said the pressure was rising.", reasoning: test}
sampler: {draws: 200, tune: 200, chains: 2, future_paths: 20}
"""

EVIDENCE = """\
items:
  - id: pressure-up
    event_date: 2024-06-15
    published: 2024-06-20
    indicator: pressure
    value: 1.0
    source: test
    grade: A1
    quote: "Officials said the pressure was rising."
  - id: pressure-later
    event_date: 2024-10-15
    published: 2024-10-20
    indicator: pressure
    value: 1.5
    source: test
    grade: B2
    quote: more pressure
"""

# the README documents the keys of `forecast update --json`
JSON_KEYS_SENTENCE = re.compile(r"`--json` prints one line with\s+`([^`]+)`")


def flat(text: str) -> str:
    """Text with every run of whitespace made one space (the console wraps long messages)."""
    return " ".join(text.split())


def write_project(root: Path) -> None:
    (root / "models" / "sources").mkdir(parents=True)
    (root / "evidence").mkdir()
    (root / "models" / "sources" / "source.txt").write_text(SOURCE_TEXT)
    (root / "models" / "indicators.yaml").write_text(LIBRARY)
    (root / "models" / f"{QID}.yaml").write_text(SPEC)
    (root / "evidence" / "items.yaml").write_text(EVIDENCE)


@dataclass
class Workspace:
    root: Path
    ledger: Path
    good_run: int  # the last successful update when the workspace was made

    @property
    def artefacts(self) -> Path:
        return Ledger(self.ledger).artefact_dir(QID)

    @property
    def evidence(self) -> Path:
        return self.root / "evidence" / "items.yaml"

    def rows(self) -> list[dict]:
        with closing(sqlite3.connect(self.ledger)) as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute("SELECT id, status, pid, error, fingerprint FROM runs ORDER BY id")]

    def integrity(self) -> str:
        with closing(sqlite3.connect(self.ledger)) as con:
            return con.execute("PRAGMA integrity_check").fetchone()[0]

    def files(self) -> dict[str, str]:
        """Every file under the artefact folder (temp files included) -> SHA-256 of its bytes."""
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(self.artefacts.iterdir()) if p.is_file()}

    def cli_args(self, *args: str) -> list[str]:
        return [*args, "--as-of", AS_OF, "--root", str(self.root), "--ledger", str(self.ledger)]

    def update(self, **kw):
        return runner.update(QID, as_of=AS_OF, root=self.root, ledger_path=self.ledger, **kw)


@contextmanager
def shared_bytecode(cache_dir: Path):
    """Let this process write the bytecode of what it imports where our subprocesses can read it.

    Where bytecode may not be written (``PYTHONDONTWRITEBYTECODE=1``) every ``forecast update``
    subprocess would compile PyMC, PyTensor, NumPy... from source again: about 2000 modules, 15 s
    of CPU each. While this context is open, imports write their bytecode under ``cache_dir`` (a
    temp folder: the project and its environment are untouched). Yields what to add to a
    subprocess's environment to read it ({} where bytecode is written or shipped as usual).
    """
    pymc = importlib.util.find_spec("pymc")
    shipped = pymc is not None and Path(importlib.util.cache_from_source(pymc.origin)).exists()
    if not sys.dont_write_bytecode or sys.pycache_prefix or shipped or "pymc" in sys.modules:
        yield {}
        return
    saved = sys.pycache_prefix, sys.dont_write_bytecode
    sys.pycache_prefix, sys.dont_write_bytecode = str(cache_dir), False
    try:
        yield {"PYTHONPYCACHEPREFIX": str(cache_dir)}
    finally:
        sys.pycache_prefix, sys.dont_write_bytecode = saved


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The tiny project with one successful update (run 1), fitted once for the whole module.

    ``env`` is the environment for the ``forecast`` subprocesses (see :func:`shared_bytecode`).
    """
    root = tmp_path_factory.mktemp("scheduler-baseline")
    write_project(root)
    ledger = root / "runs" / "ledger.sqlite"
    with shared_bytecode(tmp_path_factory.mktemp("bytecode")) as env_extra:
        outcome = runner.update(QID, as_of=AS_OF, root=root, ledger_path=ledger)
    assert outcome.status == "succeeded" and outcome.run_id == 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORECAST_")}  # --root/--ledger decide
    return {"root": root, "ledger": ledger, "outcome": outcome, "env": {**env, **env_extra}}


@pytest.fixture
def make_workspace(baseline, tmp_path):
    """Private copies of the baseline project: files, ledger (via SQLite's backup API) and artefacts."""

    def make(name: str = "project") -> Workspace:
        root = tmp_path / name
        for part in ("models", "evidence"):
            shutil.copytree(baseline["root"] / part, root / part)
        ledger = root / "runs" / "ledger.sqlite"
        ledger.parent.mkdir(parents=True)
        with closing(sqlite3.connect(baseline["ledger"])) as src, closing(sqlite3.connect(ledger)) as dst:
            src.backup(dst)
        # the rows hold paths relative to the ledger's folder: the copy's rows find the copy's files
        old_dir = Ledger(baseline["ledger"]).artefact_root
        shutil.copytree(old_dir, ledger.parent / old_dir.name)
        return Workspace(root, ledger, baseline["outcome"].run_id)

    return make


@pytest.fixture
def workspace(make_workspace) -> Workspace:
    return make_workspace()


def edit_evidence(ws: Workspace, old: str, new: str) -> None:
    text = ws.evidence.read_text()
    assert text.count(old) == 1, old
    ws.evidence.write_text(text.replace(old, new))


def forbid_sampling(monkeypatch) -> None:
    def fit(self, *a, **k):
        raise AssertionError("the update sampled")

    monkeypatch.setattr(Question, "fit", fit)


def assert_last_good_intact(ws: Workspace, files_before: dict[str, str]) -> None:
    """The ledger is consistent, the last good run is still the reference and its files are unchanged."""
    assert ws.integrity() == "ok"
    good = Ledger(ws.ledger).last_success(QID)
    assert good["id"] == ws.good_run
    for path in (good["posterior_path"], good["summary_path"]):
        assert files_before[Path(path).name] == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert not [n for n in ws.files() if n.endswith(".tmp")]


# --------------------------------------------------------------------------------------------------
# real processes


def forecast_command() -> list[str]:
    """The installed ``forecast`` entry point (what cron and systemd call)."""
    script = Path(sys.executable).with_name("forecast")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from forecast.cli import app; sys.argv[0] = 'forecast'; app()"]


def process_group(pgid: int) -> dict[int, str]:
    """Live (non-zombie) processes of a process group: pid -> command line."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] not in "ZX":
                out[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return out


@pytest.fixture
def spawn(baseline, tmp_path):
    """Start ``forecast ...`` in a new process group; every group still alive at the end is SIGKILLed."""
    started: list[subprocess.Popen] = []

    def start(ws: Workspace, *args: str, pause: str | None = None, name: str = "p") -> subprocess.Popen:
        env = {**baseline["env"], **({"FORECAST_PAUSE_AT": pause, "FORECAST_PAUSE_FILE": str(tmp_path / name)} if pause else {})}
        with open(tmp_path / f"{name}.out", "w") as out, open(tmp_path / f"{name}.err", "w") as err:
            # a new session: the process and the chain workers it forks share a group we can kill
            proc = subprocess.Popen(forecast_command() + ws.cli_args(*args), env=env, start_new_session=True, stdout=out, stderr=err)
        proc.name = name
        started.append(proc)
        return proc

    yield start
    for proc in started:  # also after a failed assertion: no fit may outlive its test
        kill_group(proc)


def kill_group(proc: subprocess.Popen) -> dict[int, str]:
    """SIGKILL the process group of ``proc``; returns the members still alive 10 s later (none)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)
    # the kernel tears the other members down asynchronously (a dying process can still be listed)
    deadline = time.monotonic() + 10
    while (left := process_group(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def output(proc: subprocess.Popen, tmp_path: Path) -> tuple[str, str]:
    return (tmp_path / f"{proc.name}.out").read_text(), (tmp_path / f"{proc.name}.err").read_text()


def wait_for(condition, what: str, procs: list[subprocess.Popen], tmp_path: Path, timeout: float = 300.0):
    """Poll ``condition`` until it returns something truthy; fail early if a process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = condition()
        if got:
            return got
        for proc in procs:
            if proc.poll() is not None:
                out, err = output(proc, tmp_path)
                pytest.fail(f"{proc.name} exited {proc.returncode} before {what}:\n{out}\n{err[-3000:]}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def marker(tmp_path: Path, name: str, stage: str) -> Path:
    return tmp_path / f"{name}.{stage}"


def test_lock_serializes_updates_times_out_and_survives_a_kill_after_start(workspace, baseline, spawn, tmp_path):
    ws = workspace
    files_before, rows_before = ws.files(), ws.rows()

    # 1. the first update holds the lock, its 'running' row inserted, and is stopped there
    first = spawn(ws, "update", QID, "--force", "--json", pause="started", name="first")
    wait_for(marker(tmp_path, "first", "started").exists, "the first update started", [first], tmp_path)
    orphan = ws.rows()[-1]
    assert (orphan["status"], orphan["pid"]) == ("running", first.pid) and len(ws.rows()) == len(rows_before) + 1

    # 2. a third update with the default timeout queues behind the first (started now, checked below)
    third = spawn(ws, "update", QID, "--json", pause="lock-wait", name="third")

    # 3. a second update with a short lock timeout gives up: exit 6, a message naming the holder
    second = subprocess.run(forecast_command() + ws.cli_args("update", QID, "--json", "--lock-timeout", "0.5"), env=baseline["env"], capture_output=True, text=True, timeout=120)
    assert second.returncode == runner.EXIT_LOCKED == 6, second.stderr
    assert json.loads(second.stdout.strip().splitlines()[-1]) | {"message": None} == {"question": QID, "status": "locked", "message": None, "exit_code": 6}
    assert "holds the lock" in flat(second.stderr) and f"(pid {first.pid}); gave up after 0.5s" in flat(second.stderr)

    waiting = marker(tmp_path, "third", "lock-wait")
    wait_for(waiting.exists, "the third update to find the lock taken", [first, third], tmp_path)
    waiting.unlink()  # let it go on waiting
    time.sleep(0.5)
    assert third.poll() is None and ws.rows()[-1] == orphan  # waiting: nothing recorded, nothing recovered
    assert len(ws.rows()) == len(rows_before) + 1

    # 4. SIGKILL the first (its whole process group): the kernel drops its lock, the third goes on,
    #    marks the dead run failed and finds the last good run up to date: no manual step
    assert kill_group(first) == {}
    third.wait(timeout=300)
    out, err = output(third, tmp_path)
    assert third.returncode == 0, err
    line = json.loads(out.strip().splitlines()[-1])
    assert (line["status"], line["run_id"]) == ("up-to-date", ws.good_run)
    after = ws.rows()
    assert len(after) == len(rows_before) + 1  # neither the second nor the third added a run
    assert after[-1]["id"] == orphan["id"] and after[-1]["status"] == "failed" and after[-1]["error"].startswith("interrupted")
    assert_last_good_intact(ws, files_before)
    assert ws.files() == files_before


def assert_recovered_by_next_update(ws: Workspace, killed: dict) -> None:
    """The next update marks the killed run failed on its own and, inputs unchanged, samples nothing."""
    outcome = ws.update()
    assert (outcome.status, outcome.run_id, outcome.exit_code) == ("up-to-date", ws.good_run, 0)
    row = ws.rows()[-1]
    assert row["id"] == killed["id"] and row["status"] == "failed" and row["error"].startswith("interrupted")


def test_sigkill_while_sampling_and_after_saving_keeps_the_last_good_run(make_workspace, spawn, tmp_path):
    # Two independent projects, so both updates run at once (the test's wall time is the slower one).
    sampling_ws, saved_ws = make_workspace("sampling"), make_workspace("saved")
    sampling_files, saved_files = sampling_ws.files(), saved_ws.files()
    sampling = spawn(sampling_ws, "update", QID, "--force", "--json", pause="fitted", name="sampling")
    saved = spawn(saved_ws, "update", QID, "--force", "--json", pause="saved", name="saved")

    # 1. while the NUTS chains run
    fitted = marker(tmp_path, "sampling", "fitted")

    def forked_workers() -> set[int]:
        # PyMC forks one worker per chain: processes of the group with the parent's command line
        group = process_group(sampling.pid)
        return {pid for pid, cmd in group.items() if pid != sampling.pid and cmd == group.get(sampling.pid)}

    def chain_workers():
        first = forked_workers()
        if first:
            time.sleep(0.2)  # still there: not the instant between a fork and an exec
            return first & forked_workers()
        return fitted.exists()  # one CPU: PyMC samples in-process; we stop right after sampling

    seen = wait_for(chain_workers, "NUTS chain workers", [sampling, saved], tmp_path)
    if seen is True and (os.cpu_count() or 1) > 1:
        pytest.fail("sampling finished without chain worker processes")
    assert kill_group(sampling) == {}, "chain workers outlived the kill"
    killed = sampling_ws.rows()[-1]
    assert killed["pid"] == sampling.pid and killed["status"] == "running"
    assert sampling_ws.files() == sampling_files  # nothing written, not even a temp file
    assert_last_good_intact(sampling_ws, sampling_files)
    assert_recovered_by_next_update(sampling_ws, killed)

    # 2. after the artefacts are renamed into place, before the ledger says succeeded
    wait_for(marker(tmp_path, "saved", "saved").exists, "the artefacts to be written", [saved], tmp_path)
    killed = saved_ws.rows()[-1]
    assert killed["pid"] == saved.pid
    stem = f"run-{killed['id']:06d}"
    assert {f"{stem}.nc", f"{stem}.json"} <= set(saved_ws.files())  # complete files of the new run
    assert json.loads((saved_ws.artefacts / f"{stem}.json").read_text())["question"] == QID
    assert kill_group(saved) == {}
    assert saved_ws.rows()[-1] == killed and killed["status"] == "running"
    assert_last_good_intact(saved_ws, saved_files)
    assert {k: v for k, v in saved_ws.files().items() if not k.startswith(stem)} == saved_files
    assert_recovered_by_next_update(saved_ws, killed)
    # the complete files of the killed run are referenced by no succeeded run: the recovery deleted them
    assert saved_ws.files() == saved_files


# --------------------------------------------------------------------------------------------------
# in-process: no-op, change report, alerts, failed runs


def test_identical_update_is_a_no_op_that_does_not_sample(workspace, monkeypatch):
    ws = workspace
    forbid_sampling(monkeypatch)
    rows, files = ws.rows(), ws.files()
    outcome = ws.update()
    assert (outcome.status, outcome.run_id, outcome.message, outcome.exit_code) == ("up-to-date", ws.good_run, f"up to date, run {ws.good_run}", 0)
    assert ws.rows() == rows and ws.files() == files

    # the same through the command line, for every question, as one JSON line with the documented keys
    documented = [k.strip() for k in JSON_KEYS_SENTENCE.search((ROOT / "README.md").read_text()).group(1).split(",")]
    res = CliRunner().invoke(app, ws.cli_args("update", "--all", "--json"))
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.strip().splitlines()]
    assert len(lines) == 1 and list(lines[0]) == documented
    assert lines[0]["status"] == "up-to-date" and lines[0]["run_id"] == ws.good_run and lines[0]["alerts"] == []
    assert ws.rows() == rows and ws.files() == files


def test_edited_item_refits_names_the_item_and_raises_alerts(workspace, baseline):
    ws = workspace
    edit_evidence(ws, "    value: 1.0\n", "    value: 3.0\n")  # pressure-up: a much higher level
    # a later run of the question (as if scheduled on 2025-03-31): never the previous run of an
    # update as of 2024-12-31, which compares with the last run not later than itself
    ledger = Ledger(ws.ledger)
    later = ledger.start(QID, dt.date(2025, 3, 31), "update", 1, {}, "a-later-run")
    ledger.succeed(later, {"rolling_months": 6, "rolling_mean": 0.9, "rolling_mcse": 0.001, "headline_mean": 0.9, "diagnostics_passed": True})
    threshold = 0.01
    res = CliRunner().invoke(app, ws.cli_args("update", QID, "--json", "--alert-threshold", str(threshold), "--alert-band", "--strict"))
    line = json.loads(res.stdout.strip().splitlines()[-1])
    base = baseline["outcome"].record
    old = base["rolling_mean"]
    assert line["status"] == "succeeded" and line["run_id"] > later
    assert (line["previous_run_id"], line["previous_as_of"], line["previous_rolling"]) == (ws.good_run, AS_OF, old)
    assert (line["rolling_months"], line["rolling_until"]) == (6, "2025-06-30")
    assert line["rolling_interval_90"][0] < line["rolling"] < line["rolling_interval_90"][1] and line["rolling_mcse"] > 0

    changes = Ledger(ws.ledger).get(line["run_id"])["changes"]
    assert changes["edited"] == ["pressure-up"]
    assert changes["added"] == changes["removed"] == changes["not_yet_published"] == changes["spec"] == []
    assert not changes["code"] and not changes["sampler"] and changes["as_of"] is None
    compared = changes["compared"]
    assert compared["quantity"] == "P(event within 6 months of the as-of date)" and compared["previous_run"] == ws.good_run
    assert compared["move"] == pytest.approx(line["rolling"] - old)
    assert compared["move_mcse"] == pytest.approx(np.hypot(line["rolling_mcse"], base["rolling_mcse"]))
    assert "P(event within 6 months of the as-of date) moved" in describe_changes(changes)
    # the attribution (previous posterior reweighted by the edited item) ranks that item and gets
    # the sign of the move: a higher observed pressure on a `toward` indicator raises the hazard
    top = changes["attribution"][0]
    assert top["id"] == "pressure-up" and top["change"] == "edited"
    assert compared["move"] > threshold + 2 * compared["move_mcse"] and top["estimated_move"] > 0

    # the alerts that fired are exactly those the rules give for these numbers; the smallest code wins
    new = line["rolling"]
    crossed = icd203.band(round(new, 2)) != icd203.band(round(old, 2)) and runner.band_settled(new, line["rolling_mcse"])
    expected = {"move"} | ({"band"} if crossed else set()) | ({"diagnostics"} if not line["diagnostics_passed"] else set())
    codes = {"move": 3, "diagnostics": 4, "band": 5}
    assert {a["rule"]: a["exit_code"] for a in line["alerts"]} == {r: codes[r] for r in expected}
    assert res.exit_code == line["exit_code"] == min(codes[r] for r in expected)


def test_up_to_date_means_any_stored_run_with_the_same_fingerprint(workspace, monkeypatch):
    """Another run recorded after run 1 (another as-of date) does not make run 1's inputs stale."""
    ws = workspace
    ledger = Ledger(ws.ledger)
    other = ledger.start(QID, dt.date(2024, 11, 30), "update", 1, {}, "another-fingerprint")
    ledger.succeed(other, {"rolling_months": 6, "rolling_mean": 0.1, "diagnostics_passed": True})
    forbid_sampling(monkeypatch)
    outcome = ws.update()
    assert (outcome.status, outcome.run_id) == ("up-to-date", ws.good_run)


def test_an_item_published_after_the_as_of_date_is_not_yet_published(workspace):
    ws = workspace
    edit_evidence(ws, "    published: 2024-10-20\n", "    published: 2025-01-20\n")  # pressure-later, now after the as-of date
    outcome = ws.update()
    changes = Ledger(ws.ledger).get(outcome.run_id)["changes"]
    assert changes["previous_run"] == ws.good_run
    assert changes["not_yet_published"] == ["pressure-later"] and changes["removed"] == [] and changes["edited"] == []
    assert "not yet published pressure-later" in describe_changes(changes) and "removed" not in describe_changes(changes)
    assert [a["change"] for a in changes["attribution"] if a["id"] == "pressure-later"] == ["not_yet_published"]


@pytest.mark.parametrize(
    "old, new, threshold, band, diagnostics_passed, strict, rules",
    [
        (0.10, 0.16, 0.05, False, True, False, {"move"}),  # moved 6 points > 5
        (0.10, 0.14, 0.05, False, True, False, set()),  # moved 4 points
        (0.10, 0.04, 0.05, False, True, False, {"move"}),  # down 6 points
        (0.10, 0.21, None, True, True, False, {"band"}),  # very unlikely -> unlikely
        (0.10, 0.19, None, True, True, False, set()),  # still very unlikely
        (0.044, 0.046, None, True, True, False, {"band"}),  # printed 4% -> 5%: almost no chance -> very unlikely
        (0.10, 0.10, None, False, False, True, {"diagnostics"}),
        (0.10, 0.10, None, False, False, False, set()),  # flagged, but no --strict
        (0.10, 0.30, 0.05, True, False, True, {"move", "band", "diagnostics"}),
    ],
)
def test_alert_rules_and_exit_codes(old, new, threshold, band, diagnostics_passed, strict, rules):
    record = {"id": 2, "rolling_months": 6, "rolling_mean": new, "rolling_mcse": 0.0, "diagnostics_passed": diagnostics_passed,
              "diagnostics": {"problems": ["r_hat 1.05 > 1.01"]}}
    alerts = runner.alerts_for(record, {"id": 1, "as_of": AS_OF, "rolling_months": 6, "rolling_mean": old, "rolling_mcse": 0.0}, threshold, band, strict)
    assert {a.rule for a in alerts} == rules
    codes = {"move": runner.EXIT_MOVE, "diagnostics": runner.EXIT_DIAGNOSTICS, "band": runner.EXIT_BAND}
    assert (runner.EXIT_MOVE, runner.EXIT_DIAGNOSTICS, runner.EXIT_BAND) == (3, 4, 5)
    assert all(a.exit_code == codes[a.rule] for a in alerts)
    outcome = runner.UpdateOutcome(QID, "succeeded", 2, "", record=record, alerts=alerts)
    assert outcome.exit_code == min((codes[r] for r in rules), default=0)
    assert runner.UpdateOutcome(QID, "failed", None, "bad input", alerts=alerts).exit_code == 1


def test_failed_runs_are_recorded_and_never_replace_the_last_good_forecast(workspace, monkeypatch):
    ws = workspace
    files = ws.files()
    good = Ledger(ws.ledger).last_success(QID)

    # a corrupted evidence file: exit 1, the error names file, line and field; a failed run with the reason
    edit_evidence(ws, "    grade: B2\n", "    grade: Z9\n")
    line_no = ws.evidence.read_text().splitlines().index("    grade: Z9") + 1
    res = CliRunner().invoke(app, ws.cli_args("update", QID))
    assert res.exit_code == 1
    assert f"{ws.evidence}:{line_no} [items.1.grade]" in flat(res.stderr) and "Traceback" not in res.output
    bad = ws.rows()[-1]
    assert bad["status"] == "failed" and bad["error"].startswith("bad input") and str(ws.evidence) in bad["error"] and "Z9" in bad["error"]
    ws.evidence.write_text(EVIDENCE)

    # a sampling failure (forced re-run): recorded with its reason, nothing written
    def broken_fit(self, *a, **k):
        raise RuntimeError("NUTS could not initialise: test")

    monkeypatch.setattr(Question, "fit", broken_fit)
    with pytest.raises(RuntimeError, match="could not initialise"):
        ws.update(force=True)
    failed = ws.rows()[-1]
    assert failed["id"] == bad["id"] + 1 and failed["status"] == "failed" and "RuntimeError: NUTS could not initialise: test" in failed["error"]

    assert Ledger(ws.ledger).last_success(QID) == good and ws.files() == files
    # the failed runs are not the reference of the next update: still up to date with the good one
    forbid_sampling(monkeypatch)
    outcome = ws.update()
    assert (outcome.status, outcome.run_id) == ("up-to-date", ws.good_run)


def test_damaged_ledger_gives_a_clear_error(workspace):
    ws = workspace
    ws.ledger.write_bytes(b"SQLite format 3\x00" + b"\xff" * 2048)  # the right magic, an impossible header
    for p in ws.ledger.parent.glob("ledger.sqlite-*"):  # WAL / shared-memory files of the copy
        p.unlink()
    res = CliRunner().invoke(app, ws.cli_args("update", QID, "--json"))
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)
    assert f"ledger {ws.ledger} is not a usable SQLite database" in flat(res.stderr)


def test_unreadable_previous_posterior_does_not_block_the_next_update(workspace, baseline, monkeypatch):
    # A damaged posterior of the last good run must not fail the update (it would stay the base of
    # every later update). Sampling is not under test here: the fit returns run 1's result.
    ws = workspace
    good = Ledger(ws.ledger).last_success(QID)
    post = Path(good["posterior_path"])
    post.write_bytes(post.read_bytes()[: post.stat().st_size // 3])
    edit_evidence(ws, "    value: 1.5\n", "    value: 0.5\n")
    monkeypatch.setattr(Question, "fit", lambda self, *a, **k: baseline["outcome"].result)
    outcome = ws.update()
    assert outcome.status == "succeeded"
    changes = Ledger(ws.ledger).get(outcome.run_id)["changes"]
    assert changes["edited"] == ["pressure-later"] and changes["attribution"] == []
    assert str(post) in changes["attribution_error"]


def test_recovery_ignores_reused_pids_and_removes_stale_temp_files(workspace, monkeypatch):
    ws = workspace
    ledger = Ledger(ws.ledger)
    orphan = ledger.start(QID, dt.date.fromisoformat(AS_OF), "update", 1, {}, "x")
    # after a reboot, or with a ledger restored on another machine, the dead run's pid can belong
    # to a live process: here our parent
    with closing(sqlite3.connect(ws.ledger)) as con, con:
        con.execute("UPDATE runs SET pid = ? WHERE id = ?", (os.getppid(), orphan))
    # what a run SIGKILLed in the middle of writing its posterior leaves (store.atomic_write's temp name)
    stale = ws.artefacts / f".run-{orphan:06d}.nc.k3j2h1.tmp"
    stale.write_bytes(b"\x89HDF\r\n half a file")
    forbid_sampling(monkeypatch)
    outcome = ws.update()
    assert (outcome.status, outcome.run_id) == ("up-to-date", ws.good_run)
    row = ledger.get(orphan)
    assert row["status"] == "failed" and row["error"].startswith("interrupted")
    assert not stale.exists() and all(not n.endswith(".tmp") for n in ws.files())


# --------------------------------------------------------------------------------------------------
# scheduling recipes


DEPLOY = ROOT / "deploy"
WORKFLOW = ROOT / ".github" / "workflows" / "forecast-update.yml"


def forecast_invocations(text: str) -> list[list[str]]:
    """Every ``forecast <command> <args>`` in shell-like text, cut at the first shell operator."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or not re.search(r"(^|\s)forecast\s+[a-z]", line):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        # the program itself, not a word inside a quoted message or a path like /srv/forecast
        start = next((i for i, t in enumerate(tokens) if t == "forecast" or t.endswith("/bin/forecast")), None)
        if start is None:
            continue
        args = []
        for tok in tokens[start + 1:]:
            if set(tok) <= set("|&;<>()"):
                break
            args.append(tok)
        out.append(args)
    return out


def recipe_texts() -> dict[str, str]:
    """The shell text of each recipe: crontab lines, systemd Exec*= lines, the workflow's run steps."""
    texts = {}
    for path in sorted(DEPLOY.iterdir()):
        if path.suffix in (".service", ".timer"):
            texts[path.name] = "\n".join(x for x in path.read_text().splitlines() if x.startswith("Exec"))
        elif path.is_file() and path.suffix != ".md":
            texts[path.name] = path.read_text()
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["update"]["steps"]
    texts[WORKFLOW.name] = "\n".join(s["run"] for s in steps if "run" in s)
    return texts


def test_workflow_runs_daily_and_keeps_the_ledger():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert len(triggers["schedule"][0]["cron"].split()) == 5 and "workflow_dispatch" in triggers
    steps = workflow["jobs"]["update"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert "actions/setup-python" in uses and "actions/upload-artifact" in uses
    restore = uses.index("actions/cache/restore")
    run_step = next(i for i, s in enumerate(steps) if "forecast update --all" in s.get("run", ""))
    save = uses.index("actions/cache/save")
    assert restore < run_step < save
    # the ledger is kept even when the update step exits with an alert code
    for i in (save, uses.index("actions/upload-artifact")):
        assert "always()" in steps[i].get("if", "")
        assert "runs" in str(steps[i]["with"]["path"])


def test_recipes_call_only_documented_commands_and_options():
    import typer

    commands = typer.main.get_command(app).commands
    seen = []
    for name, text in recipe_texts().items():
        for args in forecast_invocations(text):
            assert args and args[0] in commands, f"{name}: unknown command forecast {' '.join(args)}"
            # click parses the arguments exactly as the command line would: unknown options fail
            commands[args[0]].make_context(f"forecast {args[0]}", args[1:])
            seen.append((name, args[0]))
    names = {n for n, _ in seen}
    assert {"crontab", "forecast-update.service", WORKFLOW.name} <= names
    assert all(cmd in commands for _, cmd in seen)
    readme = (ROOT / "README.md").read_text()
    assert all(f"forecast {cmd}" in readme for _, cmd in seen)
