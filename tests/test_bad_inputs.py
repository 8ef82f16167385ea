"""The bad-input suite: one table of cases, each a file as someone might write it or a command line.

Every case runs the real command line (``forecast validate``, ``update``, ``replay``, ``check``,
``brief``, ``history``, ``show``, ``new``) on a copy of the shipped project and asserts

* the exit code (1 bad input or an unusable store, 2 a bad option value, 0 when the file is read
  as its author meant it);
* where the problem is: the file, the line (found independently, as the line of the file holding a
  marker text) and the field, in the message or in ``validate --json``;
* what the message says (the fix: "write 2024-06-15", the bound, the kind of trouble);
* that nothing was written: the project's files are unchanged, and no ledger row is ``succeeded``
  and no artefact exists.

No case samples: every one is refused (or read) before NUTS would start. The kinds are those of
the hardening issue: dates, numbers, spreadsheet CSVs, files and paths, YAML shape, untrusted text,
damaged or unusual stores.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from forecast.cli import app
from forecast.runs.ledger import Ledger

from .conftest import ROOT

QID = "belarus-entry"
SPEC = f"models/{QID}.yaml"
LIBRARY = "models/indicators.yaml"
TODAY = dt.date.today()
TOMORROW = TODAY + dt.timedelta(days=1)
NEXT_YEAR_MONTH = f"{TODAY.year + 1}-{TODAY.month:02d}"

ITEM = """  - id: {id}
    event_date: 2024-05-01
    published: 2024-05-02
    indicator: unrest-risk
    direction: down
    strength: weak
    source: test
    grade: B2
    quote: test quote
"""
CSV_HEADER = "id,event_date,published,indicator,value,source,grade,quote"
CSV_ROW = "row-a,2024-05-01,2024-05-02,unrest-risk,0.5,test,B2,test quote"


# --------------------------------------------------------------------------------------------------
# edits of the project copy


def items(*edits: tuple[str, str], body: str | None = None, name: str = "extra.yaml") -> Callable[[Path], None]:
    """Write ``evidence/<name>``: one good item with each (old, new) replacement applied."""

    def setup(root: Path) -> None:
        text = body if body is not None else ITEM.format(id="item-a")
        for old, new in edits:
            assert old in text, old
            text = text.replace(old, new, 1)
        (root / "evidence" / name).write_text("items:\n" + text)

    return setup


def raw(name: str, content: str | bytes, where: str = "evidence") -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / where / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    return setup


def csv_rows(*rows: str, header: str = CSV_HEADER, name: str = "extra.csv", encoding: str = "utf-8") -> Callable[[Path], None]:
    return raw(name, ("\n".join((header, *rows)) + "\n").encode(encoding))


def edit(path: str, old: str, new: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        text = (root / path).read_text()
        assert old in text, old
        (root / path).write_text(text.replace(old, new, 1))

    return setup


def append(path: str, text: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        with open(root / path, "a") as fh:
            fh.write(text)

    return setup


def both(*setups) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for s in setups:
            s(root)

    return setup


def symlink(name: str, target: Callable[[Path], Path], where: str = "evidence") -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        (root / where / name).symlink_to(target(root))

    return setup


def outside_file(content: str, name: str = "outside.yaml") -> Callable[[Path], Path]:
    """A file next to the project folder (not inside it)."""

    def make(root: Path) -> Path:
        path = root.parent / name
        path.write_text(content)
        return path

    return make


def laughs(levels: int = 9) -> str:
    """The "billion laughs": each alias list repeats the previous one 9 times (9**levels values)."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + f"\nitems: *a{levels - 1}\n"


SECRET = "SECRET-CONTENT-OF-ANOTHER-FILE"


def healthy_ledger(root: Path) -> Path:
    """A ledger holding one succeeded update of the question (written directly: nothing sampled)."""
    import gc

    path = root / "runs" / "ledger.sqlite"
    ledger = Ledger(path)
    run_id = ledger.start(QID, dt.date(2024, 12, 31), "update", 1, {}, "f" * 16)
    ledger.succeed(run_id, {"headline_horizon": "2025-12-31", "headline_mean": 0.2, "headline_lower_90": 0.1, "headline_upper_90": 0.3, "diagnostics_passed": True})
    del ledger
    gc.collect()  # close the connections: SQLite folds its journal back into the file
    return path


def make_read_only(folder: Path) -> Callable[[], None]:
    """Make ``folder`` read-only for this process; returns the undo.

    An ordinary user loses write permission; root, whom permissions do not stop, gets a read-only
    bind mount of the folder instead (skipped where mounting is not allowed).
    """
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        return lambda: [p.chmod(m) for p, m in modes.items()]
    for cmd in (["mount", "--bind", str(folder), str(folder)], ["mount", "-o", "remount,bind,ro", str(folder)]):
        done = subprocess.run(cmd, capture_output=True)
        if done.returncode != 0:
            subprocess.run(["umount", str(folder)], capture_output=True)
            pytest.skip(f"cannot make a read-only folder here: {done.stderr.decode().strip()}")
    return lambda: _umount(folder)


def _umount(folder: Path) -> None:
    import gc

    gc.collect()  # files the command left open (none should be) would keep the mount busy
    if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], check=True)
        raise AssertionError(f"{folder} was still in use after the command: a file was left open")


def full_disk(folder: Path, keep: Callable[[Path], None] | None = None) -> Callable[[], None]:
    """Mount a 64 KiB file system on ``folder`` (after ``keep`` puts files there) and fill it; returns the undo.

    A real full disk: writes fail with ENOSPC, netCDF with "HDF error". Needs root (else skipped).
    """
    if os.geteuid() != 0:
        pytest.skip("a full disk is made with a small tmpfs mount, which needs root")
    saved = None
    if folder.exists():
        saved = folder.with_name(folder.name + ".saved")
        folder.rename(saved)
    folder.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system: {done.stderr.decode().strip()}")

    def undo():
        _umount(folder)
        folder.rmdir()
        if saved is not None:
            saved.rename(folder)

    try:
        if saved is not None:
            for path in saved.iterdir():
                (shutil.copytree if path.is_dir() else shutil.copy2)(path, folder / path.name)
        if keep is not None:
            keep(folder)
        with contextlib.suppress(OSError):
            with open(folder / ".filler", "wb") as fh:
                while True:
                    fh.write(b"\0" * 4096)
                    fh.flush()
    except BaseException:
        undo()
        raise
    return undo


def read_only_ledger(root: Path) -> Callable[[], None]:
    healthy_ledger(root)
    return make_read_only(root / "runs")


# --------------------------------------------------------------------------------------------------
# the table


@dataclass
class Case:
    """One bad input.

    ``file``/``line``/``field``: where the message must point. ``line`` is a marker: the expected line
    is the first line of ``file`` (after the setup) that contains it. ``needle``: text the message
    must hold. ``severity``: ``warning`` for files validate reports but does not refuse.
    """

    id: str
    kind: str
    setup: Callable[[Path], None] | None
    args: tuple[str, ...]
    code: int
    needle: str
    file: str | None = None
    line: str | None = None
    field: str | None = None
    severity: str = "error"
    forbid: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    check: Callable[[Path], None] | None = None


V = ("validate", "--json")


def accepted(n_items: int, value: float | None = None):
    """The file is read as meant: the question loads with its extra rows."""

    def check(root: Path) -> None:
        from forecast.inputs.project import Project

        q = Project(root).load(QID)
        extra = [li.item for li in q.evidence if Path(li.file).name.startswith("extra")]
        assert len(extra) == n_items
        if value is not None:
            assert extra[0].value == value

    return check


CASES = [
    # ---- 1. dates are YYYY-MM-DD, in every format ------------------------------------------------
    Case("yaml-unix-timestamp", "dates", items(("event_date: 2024-05-01", "event_date: 1702080000")), V, 1,
         "the number 1702080000 is not a valid date", "evidence/extra.yaml", "event_date", "items.0.event_date"),
    Case("yaml-zero-date", "dates", items(("published: 2024-05-02", "published: 0")), V, 1,
         "the number 0 is not a valid date", "evidence/extra.yaml", "published", "items.0.published"),
    Case("yaml-basic-iso-date", "dates", items(("event_date: 2024-05-01", "event_date: 20240501")), V, 1,
         "write 2024-05-01", "evidence/extra.yaml", "event_date", "items.0.event_date"),
    Case("yaml-iso-week", "dates", items(("published: 2024-05-02", "published: 2024-W40-1")), V, 1,
         "write 2024-09-30", "evidence/extra.yaml", "published", "items.0.published"),
    Case("yaml-date-with-time", "dates", items(("event_date: 2024-05-01", "event_date: 2024-05-01T10:00:00")), V, 1,
         "time of day", "evidence/extra.yaml", "event_date", "items.0.event_date"),
    Case("yaml-date-with-offset", "dates", items(("event_date: 2024-05-01", 'event_date: "2024-05-01+03:00"')), V, 1,
         "time-zone offset; write 2024-05-01", "evidence/extra.yaml", "event_date", "items.0.event_date"),
    Case("yaml-impossible-date", "dates", items(("event_date: 2024-05-01", "event_date: 2023-02-30")), V, 1,
         "day is out of range", "evidence/extra.yaml", "event_date", "items.0.event_date"),
    Case("yaml-boolean-date", "dates", items(("event_date: 2024-05-01", "event_date: yes")), V, 1,
         "the boolean true is not a valid date", "evidence/extra.yaml", "event_date", "items.0.event_date"),
    Case("csv-basic-iso-date", "dates", csv_rows(CSV_ROW.replace("2024-05-01", "20240501")), V, 1,
         "write 2024-05-01", "evidence/extra.csv", "row-a", "event_date"),
    Case("csv-slashes", "dates", csv_rows(CSV_ROW.replace("2024-05-02", "2024/05/02")), V, 1,
         "write 2024-05-02", "evidence/extra.csv", "row-a", "published"),
    Case("csv-day-first", "dates", csv_rows(CSV_ROW.replace("2024-05-02", "02/05/2024")), V, 1,
         "dates are written YYYY-MM-DD", "evidence/extra.csv", "row-a", "published"),
    Case("spec-risk-window-integer", "dates", edit(SPEC, "risk_window_start: 2022-02-24", "risk_window_start: 20220224"), V, 1,
         "write 2022-02-24", SPEC, "risk_window_start:", "risk_window_start"),
    Case("spec-horizon-timestamp", "dates", edit(SPEC, "2027-12-31]", "1830211200]"), V, 1,
         "the number 1830211200 is not a valid date", SPEC, "horizons:", "horizons.6"),
    Case("library-unpadded-date", "dates", edit(LIBRARY, "reference_date: 2020-01-01", "reference_date: 2020-1-1"), V, 1,
         "write 2020-01-01", LIBRARY, "reference_date:", "reference_date"),
    Case("library-picture-date-week", "dates", edit(LIBRARY, "  describes: 2024-09-01", "  describes: 2024-W35-7"), V, 1,
         "write 2024-09-01", LIBRARY, "describes:", "picture.describes"),
    Case("cli-as-of-basic-iso", "dates", None, ("update", QID, "--as-of", "20240615"), 2, "write 2024-06-15", field="--as-of"),
    Case("cli-as-of-iso-week", "dates", None, ("update", QID, "--as-of", "2024-W40-1"), 2, "write 2024-09-30", field="--as-of"),
    Case("cli-as-of-timestamp", "dates", None, ("update", QID, "--as-of", "1702080000"), 2, "dates are written YYYY-MM-DD", field="--as-of"),
    Case("cli-as-of-with-time", "dates", None, ("update", QID, "--as-of", "2024-06-15T00:00"), 2, "time of day", field="--as-of"),
    Case("cli-as-of-with-offset", "dates", None, ("update", QID, "--as-of", "2024-06-15+03:00"), 2, "write 2024-06-15", field="--as-of"),
    Case("cli-check-as-of", "dates", None, ("check", QID, "--as-of", "20240615"), 2, "write 2024-06-15", field="--as-of"),
    Case("cli-replay-from-week", "dates", None, ("replay", QID, "--from", "2024-W40-1", "--to", "2024-12"), 2, "write 2024-09-30", field="--from"),
    Case("cli-replay-to-month-13", "dates", None, ("replay", QID, "--from", "2024-01", "--to", "2024-13"), 2, "month 13 is not 1-12", field="--to"),
    Case("cli-replay-to-integer", "dates", None, ("replay", QID, "--from", "2024-01", "--to", "20241231"), 2, "write 2024-12-31", field="--to"),
    # ---- 2. an as-of date after today; horizons all before the as-of date ----------------------------
    Case("cli-as-of-tomorrow", "as-of", None, ("update", QID, "--as-of", TOMORROW.isoformat()), 2, "is after today", field="--as-of"),
    Case("cli-as-of-far-future", "as-of", None, ("update", QID, "--as-of", "2099-12-31"), 2, "is after today", field="--as-of"),
    Case("cli-check-as-of-future", "as-of", None, ("check", QID, "--as-of", TOMORROW.isoformat()), 2, "is after today", field="--as-of"),
    Case("cli-replay-from-future", "as-of", None, ("replay", QID, "--from", NEXT_YEAR_MONTH, "--to", NEXT_YEAR_MONTH), 2, "is after today", field="--from"),
    Case("horizons-all-before-as-of", "as-of", edit(SPEC, "horizons: [2024-12-31, 2025-06-30, 2025-12-31, 2026-06-30, 2026-12-31, 2027-06-30, 2027-12-31]", "horizons: [2024-12-31, 2025-06-30]"),
         ("update", QID, "--as-of", "2025-07-31"), 1, "every horizon is on or before the as-of date 2025-07-31", SPEC, "horizons:", "horizons"),
    # ---- 3. numbers: no booleans, every value in range -----------------------------------------------
    Case("yaml-value-true", "numbers", items(("    direction: down\n    strength: weak\n", "    value: true\n")), V, 1,
         "true is a yes/no value, not a number", "evidence/extra.yaml", "value: true", "items.0.value"),
    Case("yaml-value-yes", "numbers", items(("    direction: down\n    strength: weak\n", "    value: yes\n")), V, 1,
         "not a number", "evidence/extra.yaml", "value: yes", "items.0.value"),
    Case("yaml-value-out-of-scale", "numbers", items(("    direction: down\n    strength: weak\n", "    value: 7\n")), V, 1,
         "7 is above 5, the largest value allowed", "evidence/extra.yaml", "value: 7", "items.0.value"),
    Case("csv-value-out-of-scale", "numbers", csv_rows(CSV_ROW.replace(",0.5,", ",-7.5,")), V, 1,
         "-7.5 is below -5, the smallest value allowed", "evidence/extra.csv", "row-a", "value"),
    Case("csv-value-true", "numbers", csv_rows(CSV_ROW.replace(",0.5,", ",true,")), V, 1,
         "value 'true' is not a number", "evidence/extra.csv", "row-a", "value"),
    Case("csv-decimal-comma-with-commas", "numbers", csv_rows(CSV_ROW.replace(",0.5,", ',"0,5",')), V, 1,
         "decimal comma: write 0.5", "evidence/extra.csv", "row-a", "value"),
    Case("spec-draws-true", "numbers", append(SPEC, "sampler:\n  draws: true\n"), V, 1,
         "not a number", SPEC, "draws: true", "sampler.draws"),
    Case("spec-chains-zero", "numbers", append(SPEC, "sampler:\n  chains: 0\n"), V, 1,
         "0 is below 1, the smallest value allowed", SPEC, "chains: 0", "sampler.chains"),
    Case("spec-tune-negative", "numbers", append(SPEC, "sampler:\n  tune: -1\n"), V, 1,
         "-1 is below 10, the smallest value allowed", SPEC, "tune: -1", "sampler.tune"),
    Case("spec-future-paths-huge", "numbers", append(SPEC, "sampler:\n  future_paths: 100000\n"), V, 1,
         "100000 is above 1000, the largest value allowed", SPEC, "future_paths:", "sampler.future_paths"),
    Case("spec-total-draws", "numbers", append(SPEC, "sampler:\n  draws: 20000\n  chains: 16\n"), V, 1,
         "chains x draws = 16 x 20000", SPEC, "sampler:", "sampler"),
    Case("spec-horizon-year-2500", "numbers", edit(SPEC, "2027-12-31]", "2500-01-01]"), V, 1,
         "more than 50 years after the risk window start", SPEC, "horizons:", "horizons"),
    Case("spec-lead-months-negative", "numbers", edit(SPEC, "headline_lead_months: 12", "headline_lead_months: -1"), V, 1,
         "-1 is below 0, the smallest value allowed", SPEC, "headline_lead_months", "headline_lead_months"),
    Case("spec-lead-months-true", "numbers", edit(SPEC, "headline_lead_months: 12", "headline_lead_months: true"), V, 1,
         "not a number", SPEC, "headline_lead_months", "headline_lead_months"),
    Case("spec-r-hat-below-one", "numbers", append(SPEC, "thresholds:\n  r_hat: 0.9\n"), V, 1,
         "0.9 is too small: it must be above 1", SPEC, "r_hat: 0.9", "thresholds.r_hat"),
    Case("spec-observation-sd-zero", "numbers", append(SPEC, "grading:\n  observation_sd: 0\n"), V, 1,
         "0 is too small: it must be above 0", SPEC, "observation_sd: 0", "grading.observation_sd"),
    Case("spec-change-sd-true", "numbers", append(SPEC, "grading:\n  change_sd: true\n"), V, 1,
         "not a number", SPEC, "change_sd: true", "grading.change_sd"),
    Case("library-picture-sd-above-two", "numbers", edit(LIBRARY, "  sd: 0.25", "  sd: 20"), V, 1,
         "20 is above 2, the largest value allowed", LIBRARY, "  sd: 20", "picture.sd"),
    Case("spec-prior-mass-above-one", "numbers", edit(SPEC, "mass: 0.9", "mass: 1.5"), V, 1,
         "1.5 is too large: it must be below 1", SPEC, "mass: 1.5", "baseline.probability.mass"),
    Case("library-prior-param-true", "numbers", edit(LIBRARY, "params: {mu: -0.5, sigma: 0.7}", "params: {mu: -0.5, sigma: on}"), V, 1,
         "not a number", LIBRARY, "sigma: on", "indicators.0.level.params.sigma"),
    Case("spec-scenario-level-true", "numbers", edit(SPEC, "set: {unrest-risk: 2.0}", "set: {unrest-risk: true}"), V, 1,
         "not a number", SPEC, "set: {unrest-risk: true}", "scenarios.1.set.unrest-risk"),
    Case("cli-tune-negative", "numbers", None, ("update", QID, "--tune", "-1"), 2, "greater than or equal to 10", field="--tune"),
    Case("cli-chains-zero", "numbers", None, ("update", QID, "--chains", "0"), 2, "greater than or equal to 1", field="--chains"),
    Case("cli-chains-fraction", "numbers", None, ("update", QID, "--chains", "2.5"), 2, "valid integer", field="--chains"),
    Case("cli-draws-too-few", "numbers", None, ("update", QID, "--draws", "5"), 2, "greater than or equal to 10", field="--draws"),
    Case("cli-draws-too-many", "numbers", None, ("update", QID, "--draws", "1000000"), 2, "less than or equal to 20000", field="--draws"),
    Case("cli-seed-negative", "numbers", None, ("update", QID, "--seed", "-1"), 2, "greater than or equal to 0", field="--seed"),
    Case("cli-alert-threshold-above-one", "numbers", None, ("update", QID, "--alert-threshold", "2"), 2, "less than or equal to 1", field="--alert-threshold"),
    Case("cli-lock-timeout-negative", "numbers", None, ("update", QID, "--lock-timeout", "-5"), 2, "greater than or equal to 0", field="--lock-timeout"),
    Case("cli-influence-refits-negative", "numbers", None, ("brief", QID, "--influence-refits", "-1"), 2, "greater than or equal to 0", field="--influence-refits"),
    Case("cli-sims-zero", "numbers", None, ("check", QID, "--sims", "0"), 2, "greater than or equal to 1", field="--sims"),
    Case("cli-workers-zero", "numbers", None, ("check", QID, "--workers", "0"), 2, "greater than or equal to 1", field="--workers"),
    Case("cli-replay-draws-zero", "numbers", None, ("replay", QID, "--from", "2024-01", "--to", "2024-02", "--draws", "0"), 2, "greater than or equal to 10", field="--draws"),
    # ---- 4. CSV as spreadsheets save it --------------------------------------------------------------
    Case("csv-excel-bom", "csv", csv_rows(CSV_ROW, encoding="utf-8-sig"), V, 0, "", check=accepted(1, 0.5)),
    Case("csv-semicolons-decimal-comma", "csv", csv_rows(CSV_ROW.replace(",0.5,", ",0.5;").replace(",", ";").replace("0.5;", "0,5;"), header=CSV_HEADER.replace(",", ";")),
         V, 0, "", check=accepted(1, 0.5)),
    Case("csv-space-after-comma", "csv", csv_rows(CSV_ROW.replace(",", ", "), header=CSV_HEADER.replace(",", ", ")), V, 0, "", check=accepted(1, 0.5)),
    Case("csv-tabs", "csv", csv_rows(CSV_ROW.replace(",", "\t"), header=CSV_HEADER.replace(",", "\t")), V, 0, "", check=accepted(1, 0.5)),
    Case("csv-missing-required-columns", "csv", csv_rows(",".join(CSV_ROW.split(",")[:-1]), header=CSV_HEADER.replace(",quote", "")), V, 1,
         "missing required column 'quote'", "evidence/extra.csv", "id,", "quote"),
    Case("csv-semicolon-misspelt-column", "csv", csv_rows(CSV_ROW.replace(",", ";"), header=CSV_HEADER.replace(",", ";").replace("published", "publshed")), V, 1,
         "unknown column 'publshed'", "evidence/extra.csv", "id;", "publshed"),
    Case("csv-utf16", "csv", csv_rows(CSV_ROW, encoding="utf-16"), V, 1, "save it as UTF-8", "evidence/extra.csv", None, None),
    Case("csv-nul-bytes", "csv", raw("extra.csv", (CSV_HEADER + "\n" + CSV_ROW + "\x00\n").encode()), V, 1, "NUL bytes", "evidence/extra.csv", "row-a", None),
    # ---- 5. files found the way the user means -------------------------------------------------------
    Case("unread-extension", "files", raw("notes.txt", "items: []\n"), V, 0, "not read: only .yaml, .yml and .csv", "evidence/notes.txt", severity="warning"),
    Case("spreadsheet-not-csv", "files", raw("evidence.xlsx", b"PK\x03\x04"), V, 0, "save a spreadsheet as CSV", "evidence/evidence.xlsx", severity="warning"),
    Case("sub-folder", "files", raw("old/items.yaml", "items: []\n"), V, 0, "a folder inside evidence/ is not read", "evidence/old", severity="warning"),
    Case("no-evidence-folder", "files", lambda root: shutil.rmtree(root / "evidence"), V, 0, "no evidence/ folder", "evidence", severity="warning"),
    Case("evidence-is-a-file", "files", lambda root: (shutil.rmtree(root / "evidence"), (root / "evidence").write_text("x"))[0], V, 1,
         "evidence is a file", "evidence"),
    Case("symlink-out-of-project", "files", symlink("linked.yaml", outside_file("items:\n" + ITEM.format(id="from-outside"))), V, 1,
         "leads outside the project folder", "evidence/linked.yaml"),
    Case("symlink-out-does-not-echo", "files", symlink("linked.csv", outside_file(f"id,{SECRET}\n", "secret.csv")), V, 1,
         "leads outside the project folder", "evidence/linked.csv", forbid=(SECRET,)),
    Case("broken-symlink", "files", symlink("gone.yaml", lambda root: root / "evidence" / "no-such-file.yaml"), V, 1,
         "a symbolic link to nothing", "evidence/gone.yaml"),
    Case("fifo-in-evidence", "files", lambda root: os.mkfifo(root / "evidence" / "pipe.yaml"), V, 1,
         "not a regular file", "evidence/pipe.yaml"),
    Case("folder-named-like-a-spec", "files", lambda root: (root / "models" / "extra-question.yaml").mkdir(), V, 1,
         "is a folder, where a file is expected", "models/extra-question.yaml"),
    Case("source-outside-project", "files", both(lambda root: outside_file(SECRET + ". A sentence.\n", "source.txt")(root),
                                                 edit(LIBRARY, "source: sources/lukashenkos-balancing-act.txt", "source: ../../source.txt")), V, 1,
         "leads outside the project folder", LIBRARY, "source:", "source", forbid=(SECRET,)),
    Case("source-symlink-outside", "files", both(lambda root: (root / "models" / "sources" / "lukashenkos-balancing-act.txt").unlink(),
                                                 symlink("lukashenkos-balancing-act.txt", outside_file(SECRET + ".\n", "source.txt"), where="models/sources")), V, 1,
         "through a symbolic link", LIBRARY, "source:", "source", forbid=(SECRET,)),
    # ---- 6. YAML shape: bounded, located, every problem at once -----------------------------------
    Case("billion-laughs", "yaml", raw("extra.yaml", laughs()), V, 1, "aliases expand the document by more than", "evidence/extra.yaml", "a5:"),
    Case("deep-nesting", "yaml", raw("extra.yaml", "items: " + "[" * 20000), V, 1, "nesting deeper than 64 levels", "evidence/extra.yaml", "items"),
    Case("cyclic-alias", "yaml", raw("extra.yaml", "items: &a\n  - *a\n"), V, 1, "cyclic document", "evidence/extra.yaml", "- *a"),
    Case("unclosed-quote", "yaml", items(("quote: test quote", 'quote: "test quote'), body=ITEM.format(id="item-a") + ITEM.format(id="item-b")), V, 1,
         "quoted scalar that starts on this line", "evidence/extra.yaml", 'quote: "test'),
    Case("unclosed-flow-mapping", "yaml", raw("extra.yaml", "items:\n  - {id: a, event_date: 2024-05-01,\n     published: 2024-05-02\n  - id: b\n"), V, 1,
         "flow mapping that starts on this line", "evidence/extra.yaml", "{id: a"),
    Case("impossible-date-and-unknown-indicator", "yaml", items(("2024-05-01", "2024-02-30"), ("indicator: unrest-risk", "indicator: unrest-risks")), V, 1,
         "unknown indicator 'unrest-risks'", "evidence/extra.yaml", "indicator: unrest-risks", "indicator", also=("'2024-02-30' is not a valid date",)),
    Case("bad-grade-and-resolving-with-value", "yaml", items(("grade: B2", "grade: Z9"), ("    direction: down\n    strength: weak\n", "    value: 1.0\n    resolves: true\n    question: belarus-entry\n")), V, 1,
         "a resolving item reports the event itself", "evidence/extra.yaml", "- id: item-a", "items.0", also=("grade 'Z9' is not an Admiralty grade",)),
    Case("duplicate-key", "yaml", items(("grade: B2", "grade: B2\n    grade: C3")), V, 1, "duplicate key 'grade'", "evidence/extra.yaml", "grade: C3", "grade"),
    Case("items-not-a-list", "yaml", raw("extra.yaml", "items:\n  id: a\n"), V, 1, "`items` must be a list", "evidence/extra.yaml", "items:", "items"),
    # ---- 7. untrusted text is printed as text --------------------------------------------------------
    Case("markup-in-column", "text", csv_rows(CSV_ROW, header=CSV_HEADER + ",[red]x[/red]"), ("validate",), 1, "unknown column '[red]x[/red]'", "evidence/extra.csv"),
    Case("link-markup-in-indicator", "text", items(("indicator: unrest-risk", "indicator: '[link=http://evil.example]click[/link]'")), ("validate",), 1,
         "unknown indicator '[link=http://evil.example]click[/link]'", "evidence/extra.yaml"),
    Case("emoji-code-in-field-name", "text", items(("grade: B2", "grade: B2\n    ':smile:': 1")), ("validate",), 1, "unknown field ':smile:'", "evidence/extra.yaml", forbid=("\U0001f604",)),
    Case("markup-in-question-id", "text", None, ("update", "[bold]x[/bold]"), 1, "no question '[bold]x[/bold]'"),
    # ---- 8. damaged or unusual stores ------------------------------------------------------------------
    Case("history-damaged-ledger", "store", raw("ledger.sqlite", b"SQLite format 3\x00" + b"\xff" * 2048, where="runs"), ("history", QID), 1,
         "is not a usable SQLite database", "runs/ledger.sqlite", forbid=("Traceback",)),
    Case("show-damaged-ledger", "store", raw("ledger.sqlite", b"SQLite format 3\x00" + b"\xff" * 2048, where="runs"), ("show", QID), 1,
         "is not a usable SQLite database", "runs/ledger.sqlite", forbid=("Traceback",)),
    Case("show-ledger-is-text", "store", raw("ledger.sqlite", "this is not a database\n" * 100, where="runs"), ("show", QID), 1,
         "is not a usable SQLite database", "runs/ledger.sqlite", forbid=("this is not a database",)),
    Case("update-damaged-ledger", "store", raw("ledger.sqlite", b"SQLite format 3\x00" + b"\xff" * 2048, where="runs"), ("update", QID, "--as-of", "2024-12-31"), 1,
         "is not a usable SQLite database", "runs/ledger.sqlite"),
    Case("ledger-is-a-folder", "store", lambda root: (root / "runs" / "ledger.sqlite").mkdir(parents=True), ("history", QID), 2,
         "is a directory", field="--ledger"),
    Case("output-is-a-file", "store", raw("out", "x", where="."), ("update", QID, "--output", "{root}/out"), 2, "is a file", field="--output"),
    Case("history-read-only-ledger", "store", read_only_ledger, ("history", QID), 0, "succeeded"),
    Case("show-read-only-ledger", "store", read_only_ledger, ("show", QID), 0, '"headline_mean": 0.2'),
    Case("update-read-only-ledger", "store", read_only_ledger, ("update", QID, "--as-of", "2024-12-31"), 1,
         "is read-only", "runs/ledger.sqlite", forbid=("not a usable SQLite database", "move it aside")),
    Case("update-ledger-on-full-disk", "store", lambda root: full_disk(root / "runs"), ("update", QID, "--as-of", "2024-12-31"), 1,
         "the disk is full", "runs/ledger.sqlite"),
    Case("new-question-on-full-disk", "store", lambda root: full_disk(root / "evidence"), ("new", "border-closure"), 1,
         "the disk is full", "evidence/border-closure.yaml"),
]

LEDGER_ARGS = {"update", "history", "show", "replay", "brief"}


# --------------------------------------------------------------------------------------------------
# running a case


def flat(text: str) -> str:
    """Output with rich's panel borders removed and whitespace collapsed (panels wrap long lines)."""
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", text)).strip()


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under the project copy (ledger folder excluded): path -> (size, mtime)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or path.is_file():
            rel = str(path.relative_to(root))
            if rel.startswith("runs/"):
                continue
            st = path.lstat()
            out[rel] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One elicitation cache for the module (outside every project copy)."""
    return tmp_path_factory.mktemp("elicitation-cache")


@pytest.fixture
def project_copy(tmp_path, cache_dir, monkeypatch) -> Path:
    monkeypatch.setenv("FORECAST_CACHE", str(cache_dir))
    monkeypatch.delenv("FORECAST_HOME", raising=False)
    monkeypatch.delenv("FORECAST_LEDGER", raising=False)
    root = tmp_path / "project"
    for folder in ("models", "evidence"):
        shutil.copytree(ROOT / folder, root / folder)
    return root


def run(root: Path, args: tuple[str, ...]):
    args = [a.replace("{root}", str(root)) for a in args]
    extra = ["--root", str(root)]
    if args[0] in LEDGER_ARGS:
        extra += ["--ledger", str(root / "runs" / "ledger.sqlite")]
    return CliRunner().invoke(app, [*args, *extra])


def expected_line(root: Path, case: Case) -> int | None:
    if case.line is None or case.file is None:
        return None
    lines = (root / case.file).read_text(errors="replace").splitlines()
    return next(i for i, text in enumerate(lines, start=1) if case.line in text)


def assert_nothing_written(root: Path, before: dict, case: Case) -> None:
    assert snapshot(root) == before, "a bad input must not change the project's files"
    ledger = root / "runs" / "ledger.sqlite"
    if ledger.is_file() and case.kind != "store":
        rows = Ledger(ledger, readonly=True).history()
        assert len(rows) == 0 or "succeeded" not in set(rows["status"])
    artefacts = [p for p in (root / "runs").rglob("*") if p.suffix in (".nc", ".json")] if (root / "runs").is_dir() else []
    assert artefacts == []
    assert not (root / "out").is_dir() and not (root / "briefs").exists()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, project_copy: Path, request):
    root = project_copy
    if case.setup is not None:
        undo = case.setup(root)
        if callable(undo):
            request.addfinalizer(undo)
    before = snapshot(root)
    result = run(root, case.args)
    output = result.output
    assert result.exit_code == case.code, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    for text in case.forbid:
        assert text not in output
    line = expected_line(root, case)
    file = str(root / case.file) if case.file else None
    if case.args[:2] == V:  # structured problems: file, line, field, message
        problems = json.loads(result.stdout)
        found = [
            p for p in problems
            if (file is None or p["file"] == file) and case.needle in p["message"] and p["severity"] == case.severity
            and (line is None or p["line"] == line) and (case.field is None or p["field"] == case.field)
        ]
        if case.code == 0 and case.severity == "error":
            assert [p for p in problems if p["severity"] == "error"] == [], problems
        else:
            assert found, json.dumps(problems, indent=1)
        for text in case.also:  # every problem of the item at once
            assert any(text in p["message"] for p in problems), json.dumps(problems, indent=1)
    else:  # the printed message
        text = flat(output)
        assert flat(case.needle) in text, text
        if file is not None:
            where = file + (f":{line}" if line else "")
            assert where in text, text
        if case.field is not None:
            assert (f"[{case.field}]" if case.field[0] != "-" else case.field) in text, text
    assert_nothing_written(root, before, case)
    if case.check is not None:
        case.check(root)


def test_the_table_covers_every_kind():
    kinds = {}
    for case in CASES:
        kinds[case.kind] = kinds.get(case.kind, 0) + 1
    assert set(kinds) == {"dates", "as-of", "numbers", "csv", "files", "yaml", "text", "store"}
    assert len({c.id for c in CASES}) == len(CASES)


def test_problems_come_in_file_and_line_order(project_copy):
    """A later row's unknown indicator (found by a later check) is listed after an earlier row's bad
    grade and before a later row's bad value, in `validate` and in the error a load raises."""
    from forecast.core.errors import InputError
    from forecast.inputs.project import Project

    csv_rows(CSV_ROW.replace("B2", "Z9"), CSV_ROW.replace("row-a", "row-b").replace("unrest-risk", "unrest-rsik"),
             CSV_ROW.replace("row-a", "row-c").replace(",0.5,", ",9,"))(project_copy)
    found = [(p.line, p.field) for p in Project(project_copy).validate() if p.file.endswith("extra.csv") and p.severity == "error"]
    assert found == [(2, "grade"), (3, "indicator"), (4, "value")]
    with pytest.raises(InputError) as caught:
        Project(project_copy).load(QID)
    assert [(p.line, p.field) for p in caught.value.problems if p.file.endswith("extra.csv")] == found
