"""The run ledger: one SQLite row per run, a file any SQLite tool can open.

Default path ``runs/ledger.sqlite`` under the project (``runs/`` is git-ignored); set
``FORECAST_LEDGER`` or pass ``--ledger`` to put it elsewhere.

Artefacts
---------
The artefacts of a run (posterior NetCDF and summary JSON) live in a folder of their own next to
the ledger, named after the ledger file and its id (a random id the ledger gets when it is
created): ``runs/ledger.sqlite.artefacts-<id>/<question>/run-NNNNNN.nc`` and ``.json``. Two
ledgers in one folder therefore never write the same file, a copy of a ledger under another name
writes its new runs to its own folder, and a new ledger started where a damaged one was moved
aside never touches the old one's files. The ledger stores each path relative to its own folder
(``posterior_path``, ``summary_path``) and every read returns it resolved against the ledger's
folder, so the paths work from any working directory and after the folder is moved or restored
elsewhere (rows written before this rule hold absolute paths, which are used as they are). With
each path the ledger records the SHA-256 of the file (``posterior_sha256``, ``summary_sha256``),
which every reader checks (:func:`forecast.inference.store.verify_artefact`). ``pruned_at`` is set
when ``forecast prune`` deleted a run's files; the run keeps its numbers and stays ``succeeded``.


Crash safety: a run is inserted as ``running`` before sampling and becomes ``succeeded`` only after
its artefacts are written (atomically, temp file + rename) in the same transaction that records its
numbers; SQLite's journal makes each transaction all-or-nothing, so a run killed at any point (even
SIGKILL) leaves at worst a ``running`` row, which the next run marks ``failed`` ("interrupted"),
and the previous good artefacts untouched; the next run, holding the lock, also deletes the files
in the ledger's artefact folder that no succeeded run references (a run killed after renaming its
files into place but before it was recorded).

A ledger written before the artefact columns existed gets them when it is opened for writing
(``ALTER TABLE ... ADD COLUMN``, :data:`ARTEFACT_COLUMNS`) and an id in the table ``meta``.

A ledger that cannot be used raises :class:`LedgerError` (a ``ValueError``) naming the file and
the kind of trouble, each with its own advice: damaged (not a usable SQLite database: move it
aside or restore it), read-only (file, folder or file system: make it writable or give another
``--ledger``), the disk full, a folder where the file is expected, or locked by another process.
Readers (``forecast history``, ``forecast show``) open the ledger read-only, so a healthy ledger
in a read-only folder can still be read, and a missing one reads as empty.

The headline columns
--------------------
``headline_*`` hold P(event by the headline horizon), a fixed date that comes closer with every
month and jumps to the next horizon every so often: two runs' ``headline_mean`` are comparable only
when their ``headline_horizon`` is the same. ``rolling_*`` hold the **rolling headline**,
P(event within ``rolling_months`` months of the run's as-of date | no event by then), which asks
the same question on every date; trajectories, replays, the change report and alerts compare it:

==================  =====================================================================
``rolling_months``  L, the spec's ``headline_lead_months`` (NULL when it is 0)
``rolling_until``   the window's end, L calendar months after the as-of date (ISO date)
``rolling_mean``    posterior mean (probability)
``rolling_lower_50``, ``rolling_upper_50``, ``rolling_lower_90``, ``rolling_upper_90``
                    equal-tailed 50% and 90% intervals
``rolling_mcse``    Monte Carlo SE of the mean
``rolling_term``    ICD 203 term of the mean as printed
==================  =====================================================================

``backdated`` is 1 for an ad-hoc update whose as-of date is before the day it ran (``forecast
update --as-of 2024-09-30`` run today): such a run is not part of the scheduled series, so it is
never the previous run of a later one (:meth:`Ledger.previous_in_series`).

A ledger written before these columns existed is migrated in place when it is opened (``ALTER
TABLE ... ADD COLUMN``; old rows keep NULL rolling numbers, and their ``backdated`` is inferred
from their as-of and start dates).
A ledger opened read-only is not migrated: its old rows read without the new columns.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from forecast.core.errors import os_error_message

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    question TEXT NOT NULL,
    as_of TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'update',          -- 'update' or 'replay'
    status TEXT NOT NULL,                         -- 'running', 'succeeded', 'failed'
    started_at TEXT NOT NULL,
    finished_at TEXT,
    wall_seconds REAL,
    pid INTEGER,
    seed INTEGER,
    fingerprint TEXT,                             -- hash of the four below + as-of
    spec_fingerprint TEXT,
    evidence_fingerprint TEXT,
    code_fingerprint TEXT,
    sampler_fingerprint TEXT,
    versions TEXT,                                -- JSON: package -> version
    headline_horizon TEXT,
    headline_mean REAL,
    headline_lower_90 REAL,
    headline_upper_90 REAL,
    headline_term TEXT,
    horizons TEXT,                                -- JSON: the summary table
    diagnostics_passed INTEGER,
    diagnostics TEXT,                             -- JSON
    evidence_items TEXT,                          -- JSON: item id -> item digest (what was in scope)
    spec_snapshot TEXT,                           -- JSON of the spec (to describe edits)
    changes TEXT,                                 -- JSON change report against the previous run
    posterior_path TEXT,
    summary_path TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_question ON runs (question, kind, status, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Artefact columns added to the runs table after its first release; a ledger missing any of them
# gets it when it is opened (see the module docstring).
ARTEFACT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("posterior_sha256", "TEXT"),  # SHA-256 of the posterior file as written
    ("summary_sha256", "TEXT"),  # SHA-256 of the summary file as written
    ("pruned_at", "TEXT"),  # when `forecast prune` deleted the run's files (UTC), else NULL
)
ARTEFACT_PATHS = ("posterior_path", "summary_path")
# the files a run writes in its question's artefact folder, and the temp files of a killed write
ARTEFACT_NAME = re.compile(r"^(run-\d{6,}\.(nc|json)|\.run-\d{6,}\..*\.tmp)$")

# Columns added after the first release of the ledger: a ledger missing any of them gets it on open
# (in this order). See the module docstring.
ADDED_COLUMNS: tuple[tuple[str, str], ...] = (
    *ARTEFACT_COLUMNS,
    ("backdated", "INTEGER"),
    ("rolling_months", "INTEGER"),
    ("rolling_until", "TEXT"),
    ("rolling_mean", "REAL"),
    ("rolling_lower_50", "REAL"),
    ("rolling_upper_50", "REAL"),
    ("rolling_lower_90", "REAL"),
    ("rolling_upper_90", "REAL"),
    ("rolling_mcse", "REAL"),
    ("rolling_term", "TEXT"),
)

# what `ADD COLUMN backdated` fills in for old update rows: as-of more than a day before the start
# (a day of slack: `started_at` is UTC, the default as-of the local date)
INFER_BACKDATED = (
    "UPDATE runs SET backdated = CASE WHEN as_of < date(started_at, '-1 day') THEN 1 ELSE 0 END "
    "WHERE backdated IS NULL AND kind = 'update'"
)

COLUMNS_SHOWN = [
    "id", "kind", "status", "as_of", "started_at", "rolling_months", "rolling_mean", "rolling_lower_90",
    "rolling_upper_90", "rolling_term", "headline_horizon", "headline_mean", "headline_lower_90",
    "headline_upper_90", "headline_term", "diagnostics_passed", "wall_seconds", "fingerprint",
]


def default_path(root: Path) -> Path:
    """The ledger file: ``$FORECAST_LEDGER`` if set, else ``<root>/runs/ledger.sqlite``."""
    env = os.environ.get("FORECAST_LEDGER")
    return Path(env) if env else Path(root) / "runs" / "ledger.sqlite"


def now() -> str:
    """The current UTC time, ISO 8601 to the second (the ledger's timestamps)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class LedgerError(ValueError):
    """The ledger cannot be used; ``kind`` says why and the message what to do.

    Kinds: ``"damaged"`` (not a usable SQLite database), ``"read-only"``, ``"disk-full"``,
    ``"folder"`` (a folder where the file is expected), ``"locked"``, ``"io"`` (any other failure of
    the file system).
    """

    def __init__(self, message: str, kind: str = "damaged"):
        super().__init__(message)
        self.kind = kind


LOW_SPACE_BYTES = 1024 * 1024


@dataclass
class Ledger:
    """Access to the ledger database; every write is one transaction.

    Parameters
    ----------
    path : path
        The SQLite file (created with its folder when missing, unless ``readonly``).
    readonly : bool
        Open for reading only: nothing is created or written, a missing ledger reads as empty, and a
        healthy ledger in a read-only folder can be read.

    Raises
    ------
    LedgerError
        The ledger cannot be used (see :class:`LedgerError` for the kinds).
    """

    path: Path
    readonly: bool = False
    ledger_id: str = field(init=False, default="")

    def __post_init__(self):
        self.path = Path(self.path).absolute()  # a relative --ledger names the same file from any folder
        if self.path.is_dir():
            raise LedgerError(
                f"ledger {self.path} is a folder, where the ledger file is expected; give the path of a file, "
                f"e.g. {self.path / 'ledger.sqlite'}",
                "folder",
            )
        self._missing = False
        if self.readonly:
            if not self.path.exists():
                self._missing = True
                return
            with self._open("read") as con:
                check = con.execute("PRAGMA quick_check").fetchone()[0]
                self.ledger_id = self._read_id(con)
                # an empty database (a 0-byte file, or one no run was ever written to) reads as empty
                self._missing = check == "ok" and con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='runs'").fetchone() is None
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LedgerError(f"cannot create the folder of the ledger: {os_error_message(exc, self.path.parent)}", self._kind_of(exc)) from exc
            # A damaged ledger must stop the run with a message naming the file, not a bare
            # "file is not a database" traceback halfway through an update.
            with self._open("write") as con:
                con.executescript(SCHEMA)
                self._migrate(con)
                self.ledger_id = self._identify(con)
                check = con.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise LedgerError(self._damaged(f"integrity check: {check}"))

    @staticmethod
    def _migrate(con: sqlite3.Connection) -> list[str]:
        """Add the columns of :data:`ADDED_COLUMNS` a ledger lacks, in one transaction; returns their names."""
        have = {r["name"] for r in con.execute("PRAGMA table_info(runs)").fetchall()}
        missing = [(name, kind) for name, kind in ADDED_COLUMNS if name not in have]
        if not missing:
            return []
        con.execute("BEGIN IMMEDIATE")
        try:
            have = {r["name"] for r in con.execute("PRAGMA table_info(runs)").fetchall()}  # another process may have won
            for name, kind in missing:
                if name not in have:
                    con.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
            con.execute(INFER_BACKDATED)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return [name for name, _ in missing]

    @staticmethod
    def _identify(con: sqlite3.Connection) -> str:
        """The ledger's id, drawn and stored on first use (the first writer wins a race)."""
        row = con.execute("SELECT value FROM meta WHERE key = 'ledger_id'").fetchone()
        if row is None:
            con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('ledger_id', ?)", (secrets.token_hex(4),))
            row = con.execute("SELECT value FROM meta WHERE key = 'ledger_id'").fetchone()
        return row["value"]

    @staticmethod
    def _read_id(con: sqlite3.Connection) -> str:
        """The ledger's id, or "" for a ledger not yet opened for writing by this version (read-only)."""
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'ledger_id'").fetchone()
        except sqlite3.OperationalError:  # no table meta
            return ""
        return row["value"] if row else ""

    # -- artefact paths ---------------------------------------------------------------------------
    @property
    def artefact_root(self) -> Path:
        """This ledger's artefact folder: ``<ledger file>.artefacts-<id>`` next to the ledger."""
        if not self.ledger_id:
            raise LedgerError(f"ledger {self.path} was opened read-only before it had an id: open it for writing to write runs", "read-only")
        return self.path.parent / f"{self.path.name}.artefacts-{self.ledger_id}"

    def artefact_dir(self, question: str) -> Path:
        """Where the runs of ``question`` recorded in this ledger write their files."""
        return self.artefact_root / question

    def _stored_path(self, value):
        """A path as the ledger stores it: relative to the ledger's folder when it lies inside it."""
        if value is None:
            return None
        path = Path(value)
        if path.is_absolute():
            try:
                return path.relative_to(self.path.parent).as_posix()
            except ValueError:
                return str(path)
        return path.as_posix()

    def _resolve(self, row: dict | None) -> dict | None:
        """A row with its artefact paths resolved against the ledger's folder (absolute)."""
        if row is None:
            return None
        for key in ARTEFACT_PATHS:
            value = row.get(key)
            if not value or Path(value).is_absolute():
                continue
            path = self.path.parent / value
            legacy = self.path.parent / row.get("question", "") / Path(value).name
            if not path.exists() and not row.get(key.replace("_path", "_sha256")) and legacy.exists():
                # written before paths were stored relative to the ledger: relative to the working
                # directory of that run, in the ledger's folder under <question>/
                path = legacy
            row[key] = str(path)
        return row

    def _read(self, row) -> dict | None:
        return self._resolve(_row(row))

    def _damaged(self, reason: str) -> str:
        return (
            f"ledger {self.path} is not a usable SQLite database ({reason}); move it aside to start a "
            "new ledger, or restore it from a backup"
        )

    @staticmethod
    def _kind_of(exc: OSError) -> str:
        import errno

        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            return "disk-full"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return "read-only"
        return "io"

    def _writable(self) -> bool:
        """Whether the ledger file (when it exists) and its folder can be written (SQLite writes a journal there)."""
        folder = self.path.parent
        return os.access(folder, os.W_OK) and (not self.path.exists() or os.access(self.path, os.W_OK))

    def _low_space(self) -> bool:
        try:
            return shutil.disk_usage(self.path.parent).free < LOW_SPACE_BYTES
        except OSError:
            return False

    def _error(self, exc: Exception, action: str) -> LedgerError:
        """The :class:`LedgerError` for an ``sqlite3`` or file-system error met while using the ledger."""
        text = str(exc)
        low = text.lower()
        if isinstance(exc, OSError):
            return LedgerError(f"ledger: {os_error_message(exc, self.path, action)}", self._kind_of(exc))
        if "database or disk is full" in low or (("disk i/o error" in low or "unable to open" in low) and self._low_space()):
            return LedgerError(
                f"the disk is full: no space left on the device holding the ledger {self.path}; free some space or give --ledger another disk",
                "disk-full",
            )
        if "readonly" in low or "read-only" in low or (("unable to open" in low or "disk i/o error" in low) and not self._writable()):
            where = "the file" if self.path.exists() and not os.access(self.path, os.W_OK) else f"its folder {self.path.parent}"
            return LedgerError(
                f"ledger {self.path} is read-only ({where} cannot be written; SQLite also writes a journal next to the file): "
                "make it writable, or give --ledger a writable location; `forecast history` and `forecast show` can still read it",
                "read-only",
            )
        if "locked" in low or "busy" in low:
            return LedgerError(f"ledger {self.path} is locked by another process ({text}); try again when it has finished", "locked")
        if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in low or "malformed" in low or "corrupt" in low):
            return LedgerError(self._damaged(text))
        if "unable to open" in low:
            return LedgerError(f"cannot open the ledger {self.path} ({text})", "io")
        if isinstance(exc, sqlite3.DatabaseError):
            return LedgerError(self._damaged(text))
        return LedgerError(f"ledger {self.path}: {text}", "io")

    @contextmanager
    def _guard(self, action: str):
        """Turn ``sqlite3`` and file-system errors inside the block into a :class:`LedgerError`."""
        try:
            yield
        except LedgerError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise self._error(exc, action) from exc

    @contextmanager
    def _open(self, action: str):
        """A connection for one transaction, closed after it (so no file stays open), errors as :class:`LedgerError`."""
        with self._guard(action):
            con = self.connect()
            try:
                with con:
                    yield con
            finally:
                con.close()

    def connect(self) -> sqlite3.Connection:
        """A new connection (the caller closes it); read-only when the ledger was opened ``readonly``."""
        if self.readonly:
            return self._connect_readonly()
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        return con

    def _connect_readonly(self) -> sqlite3.Connection:
        uri = self.path.resolve().as_uri()
        con = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60, isolation_level=None)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            con.close()
            if "unable to open" not in str(exc).lower() and "readonly" not in str(exc).lower():
                raise
            # a WAL ledger in a read-only folder: SQLite cannot create its shared-memory file there;
            # read the file as it stands (nobody can be writing to it: the folder is read-only)
            con = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=60, isolation_level=None)
        con.row_factory = sqlite3.Row
        return con

    # -- writes -----------------------------------------------------------------------------------
    def recover(self) -> list[int]:
        """Mark runs left ``running`` as failed ("interrupted"); returns their ids.

        Call with the project lock held (:func:`forecast.runs.update.project_lock`). Every writer of runs
        holds that lock, so a row still ``running`` then belongs to a process that died. The row's
        pid is not consulted: after a reboot, or with a ledger restored on another machine (CI), a
        dead run's pid can belong to an unrelated live process, and the row would stay ``running``
        for ever.
        """
        with self._open("write") as con:
            rows = con.execute("SELECT id FROM runs WHERE status = 'running'").fetchall()
            dead = [r["id"] for r in rows]
            for run_id in dead:
                con.execute(
                    "UPDATE runs SET status='failed', finished_at=?, error=? WHERE id=? AND status='running'",
                    (now(), "interrupted: the process stopped before the run finished", run_id),
                )
        self.remove_unreferenced()
        return dead

    def referenced_files(self) -> set[Path]:
        """The artefact files the ledger still needs: those of succeeded runs not pruned (resolved)."""
        if self._missing:
            return set()
        with self._open("read") as con:
            rows = con.execute(
                "SELECT question, posterior_path, summary_path, posterior_sha256, summary_sha256 FROM runs "
                "WHERE status = 'succeeded' AND pruned_at IS NULL"
            ).fetchall()
        out = set()
        for row in rows:
            resolved = self._resolve(dict(row))
            out |= {Path(resolved[k]) for k in ARTEFACT_PATHS if resolved.get(k)}
        return out

    def remove_unreferenced(self) -> list[Path]:
        """Delete the files in this ledger's artefact folder that no succeeded run references.

        What a run leaves that was killed after renaming its files into place but before it was
        recorded (or a run that failed after writing them), and half-written temp files. Only
        ``run-NNNNNN.nc``/``.json`` and ``.run-*.tmp`` files inside :attr:`artefact_root` are
        considered: another ledger's files, and anything else, are left alone. Call with the
        project lock held (every writer of artefacts holds it).

        Returns
        -------
        list of pathlib.Path
            The files deleted.
        """
        root = self.artefact_root
        if not root.is_dir():
            return []
        keep = {p.absolute() for p in self.referenced_files()}
        removed = []
        for folder in [root, *(p for p in root.iterdir() if p.is_dir())]:
            for path in folder.iterdir():
                if path.is_file() and ARTEFACT_NAME.match(path.name) and path.absolute() not in keep:
                    try:
                        path.unlink()
                        removed.append(path)
                    except FileNotFoundError:
                        pass
        return removed

    def start(self, question: str, as_of: dt.date, kind: str, seed: int, fingerprints: dict, fingerprint: str,
              backdated: bool = False) -> int:
        """Insert a ``running`` row; returns its id.

        Parameters
        ----------
        question : str
        as_of : datetime.date
        kind : {"update", "replay"}
        seed : int
        fingerprints : dict
            ``spec``, ``evidence``, ``code`` and ``sampler``.
        fingerprint : str
            The combined fingerprint (with the as-of date).
        backdated : bool
            An ad-hoc update with an as-of date before the day it runs (see the module docstring).

        Returns
        -------
        int
        """
        with self._open("write") as con:
            cur = con.execute(
                """INSERT INTO runs (question, as_of, kind, status, started_at, pid, seed, fingerprint,
                   spec_fingerprint, evidence_fingerprint, code_fingerprint, sampler_fingerprint, backdated)
                   VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (question, as_of.isoformat(), kind, now(), os.getpid(), seed, fingerprint,
                 fingerprints.get("spec"), fingerprints.get("evidence"), fingerprints.get("code"), fingerprints.get("sampler"),
                 int(bool(backdated))),
            )
            return int(cur.lastrowid)

    def succeed(self, run_id: int, record: dict) -> None:
        """Mark a run ``succeeded`` with its numbers, artefact paths and checksums, in one transaction.

        Parameters
        ----------
        run_id : int
        record : dict
            Column -> value; ``posterior_path`` and ``summary_path`` are stored relative to the
            ledger's folder when they lie inside it.
        """
        record = {k: (self._stored_path(v) if k in ARTEFACT_PATHS else v) for k, v in record.items()}
        cols = ", ".join(f"{k} = ?" for k in record)
        with self._open("write") as con:
            con.execute(
                f"UPDATE runs SET status='succeeded', finished_at=?, {cols} WHERE id=?",
                (now(), *[_sql(v) for v in record.values()], run_id),
            )

    def mark_pruned(self, run_ids: list[int]) -> list[int]:
        """Record that the files of these succeeded runs are deleted, in one transaction.

        Parameters
        ----------
        run_ids : list of int

        Returns
        -------
        list of int
            The runs marked (succeeded and not already pruned).
        """
        if not run_ids:
            return []
        marks = ",".join("?" * len(run_ids))
        with self._open("write") as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                rows = con.execute(f"SELECT id FROM runs WHERE id IN ({marks}) AND status = 'succeeded' AND pruned_at IS NULL", run_ids).fetchall()
                marked = [r["id"] for r in rows]
                if marked:
                    con.execute(f"UPDATE runs SET pruned_at = ? WHERE id IN ({','.join('?' * len(marked))})", (now(), *marked))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return marked

    def protected_runs(self, question: str) -> set[int]:
        """Runs of ``question`` whose files are never pruned.

        The last successful update (the last good forecast) and the current forecast
        (:meth:`current`), the run the next scheduled update compares with and whose posterior its
        change report reweights (its attribution).

        Returns
        -------
        set of int
        """
        runs = [self.last_success(question, kind="update"), self.current(question)]
        return {r["id"] for r in runs if r}

    def prunable(self, question: str, keep: int) -> list[dict]:
        """Succeeded runs of ``question`` whose files ``forecast prune --keep keep`` deletes, oldest first.

        Every succeeded run with files, except the newest ``keep`` of them (by run id, updates and
        replay points alike) and :meth:`protected_runs`.

        Parameters
        ----------
        question : str
        keep : int
            0 or more.

        Returns
        -------
        list of dict
            Ledger rows (paths resolved).
        """
        if keep < 0:
            raise ValueError(f"keep must be 0 or more, not {keep}")
        if self._missing:
            return []
        with self._open("read") as con:
            rows = [self._read(r) for r in con.execute(
                "SELECT * FROM runs WHERE question = ? AND status = 'succeeded' AND pruned_at IS NULL "
                "AND (posterior_path IS NOT NULL OR summary_path IS NOT NULL) ORDER BY id DESC",
                (question,),
            ).fetchall()]
        protected = self.protected_runs(question)
        return [r for r in reversed(rows[keep:]) if r["id"] not in protected]

    def prune(self, question: str, keep: int, dry_run: bool = False) -> "PruneResult":
        """Delete the files of ``question``'s older runs beyond the newest ``keep``; mark them pruned.

        The runs are those of :meth:`prunable`; they are marked pruned in one transaction first,
        then their files are deleted, so a run killed in between leaves files no run references,
        which the next :meth:`recover` deletes, never a run that claims files it lost. A file
        outside this ledger's artefact folder is deleted only for a run recorded before checksums
        (a file of the shared ``<question>/`` folder of that time); any other (a file of the ledger
        this one was copied from) is left in place. Call with the project lock held.

        Parameters
        ----------
        question : str
        keep : int
            Runs with files to keep, 0 or more (:meth:`protected_runs` are kept on top).
        dry_run : bool
            Only say what would be deleted.

        Returns
        -------
        PruneResult
        """
        rows = self.prunable(question, keep)
        pruned = [r["id"] for r in rows] if dry_run else self.mark_pruned([r["id"] for r in rows])
        result = PruneResult(question=question, keep=keep, pruned=pruned, dry_run=dry_run)
        root = self.artefact_root.absolute()
        for row in rows:
            if row["id"] not in pruned:
                continue
            for key in ARTEFACT_PATHS:
                if not row.get(key):
                    continue
                path = Path(row[key])
                ours = path.absolute().is_relative_to(root) or not row.get(key.replace("_path", "_sha256"))
                if not ours:
                    result.left.append(path)
                    continue
                try:
                    size = path.stat().st_size
                    if not dry_run:
                        path.unlink()
                except FileNotFoundError:
                    continue
                result.deleted.append(path)
                result.freed_bytes += size
        return result

    def questions(self) -> list[str]:
        """Every question with a run in the ledger, sorted."""
        if self._missing:
            return []
        with self._open("read") as con:
            return [r["question"] for r in con.execute("SELECT DISTINCT question FROM runs ORDER BY question").fetchall()]


    def fail(self, run_id: int, error: str, wall_seconds: float | None = None) -> None:
        """Mark run ``run_id`` ``failed`` with its reason (the last good run is untouched)."""
        with self._open("write") as con:
            con.execute(
                "UPDATE runs SET status='failed', finished_at=?, error=?, wall_seconds=? WHERE id=?",
                (now(), error[:4000], wall_seconds, run_id),
            )

    # -- reads ------------------------------------------------------------------------------------
    def last_success(self, question: str, kind: str | None = "update") -> dict | None:
        """The latest succeeded run of ``question`` (of ``kind``; None: any kind), or None."""
        sql = "SELECT * FROM runs WHERE question=? AND status='succeeded'"
        args: list = [question]
        if kind:
            sql += " AND kind=?"
            args.append(kind)
        if self._missing:
            return None
        with self._open("read") as con:
            row = con.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
        return self._read(row)

    def current(self, question: str) -> dict | None:
        """The question's current forecast: what the brief, ``show`` and the dashboard present.

        The succeeded ``update`` of the scheduled series with the latest as-of date (then the
        latest run): an ad-hoc backdated update (``--as-of`` before the day it ran) is a look at
        the past, not the current forecast. When every update is backdated, the latest of them.

        Parameters
        ----------
        question : str

        Returns
        -------
        dict or None
            The ledger row; None when the question has no succeeded update.
        """
        if self._missing:
            return None
        with self._open("read") as con:
            row = con.execute(
                "SELECT * FROM runs WHERE question=? AND kind='update' AND status='succeeded' AND COALESCE(backdated, 0) = 0 "
                "ORDER BY as_of DESC, id DESC LIMIT 1", (question,)).fetchone()
        return self._read(row) if row is not None else self.last_success(question, kind="update")

    def previous_in_series(self, question: str, as_of: dt.date, backdated: bool = False, before: int | None = None) -> dict | None:
        """The run a new update of ``question`` as of ``as_of`` is compared with.

        The last succeeded ``update`` whose as-of date is not later than ``as_of`` (the latest
        as-of, then the latest run) and that was not an ad-hoc backdated run. A backdated run may
        also be compared with an earlier backdated run of the *same* as-of date (a rerun of that
        date with edited evidence).

        Parameters
        ----------
        question : str
        as_of : datetime.date
            The new run's as-of date.
        backdated : bool
            The new run is itself backdated.
        before : int, optional
            Only runs with a smaller id (the previous run of a recorded run).

        Returns
        -------
        dict or None
            The ledger row; None for the first run of the series.
        """
        sql = ("SELECT * FROM runs WHERE question=? AND kind='update' AND status='succeeded' AND as_of <= ? "
               "AND (COALESCE(backdated, 0) = 0 OR (? AND as_of = ?))")
        args: list = [question, as_of.isoformat(), int(bool(backdated)), as_of.isoformat()]
        if before is not None:
            sql += " AND id < ?"
            args.append(int(before))
        if self._missing:
            return None
        with self._open("read") as con:
            row = con.execute(sql + " ORDER BY as_of DESC, id DESC LIMIT 1", args).fetchone()
        return self._read(row)

    def find(self, question: str, fingerprint: str, kind: str | None = None) -> dict | None:
        """The latest succeeded run with this fingerprint: any stored run, not only the last.

        Parameters
        ----------
        question : str
        fingerprint : str
            The combined fingerprint (inputs, code, sampler settings, seed and as-of date).
        kind : {"update", "replay"}, optional
            Only runs of this kind (an update is answered by an earlier update, not by a replay
            point, so that the update series stays a series of updates); None: any kind.

        Returns
        -------
        dict or None
            The ledger row.
        """
        if self._missing:
            return None
        sql, args = "SELECT * FROM runs WHERE question=? AND fingerprint=? AND status='succeeded'", [question, fingerprint]
        if kind is not None:
            sql += " AND kind=?"
            args.append(kind)
        with self._open("read") as con:
            row = con.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
        return self._read(row)

    def get(self, run_id: int) -> dict | None:
        """The ledger row of run ``run_id`` with its artefact paths resolved, or None."""
        if self._missing:
            return None
        with self._open("read") as con:
            return self._read(con.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone())

    def history(self, question: str | None = None, kind: str | None = None):
        """Runs as a pandas DataFrame, oldest first."""
        import pandas as pd

        sql, args = "SELECT * FROM runs WHERE 1=1", []
        if question:
            sql += " AND question=?"
            args.append(question)
        if kind:
            sql += " AND kind=?"
            args.append(kind)
        if self._missing:
            return pd.DataFrame([])
        with self._open("read") as con:
            rows = [self._read(r) for r in con.execute(sql + " ORDER BY id", args).fetchall()]
        return pd.DataFrame(rows)


@dataclass
class PruneResult:
    """What :meth:`Ledger.prune` did for one question.

    Attributes
    ----------
    question : str
    keep : int
    pruned : list of int
        Runs marked pruned (with ``dry_run``: that would be).
    deleted : list of pathlib.Path
        Files deleted (would be).
    freed_bytes : int
    left : list of pathlib.Path
        Files of pruned runs left in place (outside this ledger's artefact folder).
    dry_run : bool
    """

    question: str
    keep: int
    pruned: list[int] = field(default_factory=list)
    deleted: list[Path] = field(default_factory=list)
    freed_bytes: int = 0
    left: list[Path] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict:
        """JSON-ready: paths as strings (one line of ``forecast prune --json``)."""
        return {"question": self.question, "keep": self.keep, "pruned": self.pruned, "deleted": [str(p) for p in self.deleted],
                "freed_bytes": self.freed_bytes, "left": [str(p) for p in self.left], "dry_run": self.dry_run}


def _sql(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, sort_keys=True)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


JSON_COLUMNS = ("versions", "horizons", "diagnostics", "evidence_items", "spec_snapshot", "changes")


def _row(row) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for key in JSON_COLUMNS:
        if out.get(key):
            try:
                out[key] = json.loads(out[key])
            except ValueError:  # a damaged cell: shown as stored rather than failing the whole listing
                pass
    return out
