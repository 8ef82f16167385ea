"""The run ledger: one SQLite row per run, a file any SQLite tool can open.

Default path ``runs/ledger.sqlite`` under the project (``runs/`` is git-ignored); set
``FORECAST_LEDGER`` or pass ``--ledger`` to put it elsewhere. Artefacts of a run (posterior NetCDF
and summary JSON) live next to it in ``runs/<question>/``.

Crash safety: a run is inserted as ``running`` before sampling and becomes ``succeeded`` only after
its artefacts are written (atomically, temp file + rename) in the same transaction that records its
numbers; SQLite's journal makes each transaction all-or-nothing, so a run killed at any point (even
SIGKILL) leaves at worst a ``running`` row, which the next run marks ``failed`` ("interrupted"),
and the previous good artefacts untouched. A ledger file that is not a usable SQLite database
raises :class:`LedgerError` (a ``ValueError``) naming the file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

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
"""

COLUMNS_SHOWN = [
    "id", "kind", "status", "as_of", "started_at", "headline_horizon", "headline_mean",
    "headline_lower_90", "headline_upper_90", "headline_term", "diagnostics_passed", "wall_seconds",
    "fingerprint",
]


def default_path(root: Path) -> Path:
    env = os.environ.get("FORECAST_LEDGER")
    return Path(env) if env else Path(root) / "runs" / "ledger.sqlite"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class LedgerError(ValueError):
    """The ledger file exists but is not a usable SQLite database (damaged, or another file)."""


@dataclass
class Ledger:
    """Access to the ledger database; every write is one transaction."""

    path: Path

    def __post_init__(self):
        self.path = Path(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A damaged ledger must stop the run with a message naming the file, not a bare
        # "file is not a database" traceback halfway through an update.
        try:
            with self.connect() as con:
                con.executescript(SCHEMA)
                check = con.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise LedgerError(self._damaged(str(exc))) from exc
        if check != "ok":
            raise LedgerError(self._damaged(f"integrity check: {check}"))

    def _damaged(self, reason: str) -> str:
        return (
            f"ledger {self.path} is not a usable SQLite database ({reason}); move it aside to start a "
            "new ledger, or restore it from a backup"
        )

    def connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
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
        with self.connect() as con:
            rows = con.execute("SELECT id FROM runs WHERE status = 'running'").fetchall()
            dead = [r["id"] for r in rows]
            for run_id in dead:
                con.execute(
                    "UPDATE runs SET status='failed', finished_at=?, error=? WHERE id=? AND status='running'",
                    (now(), "interrupted: the process stopped before the run finished", run_id),
                )
        return dead

    def start(self, question: str, as_of: dt.date, kind: str, seed: int, fingerprints: dict, fingerprint: str) -> int:
        with self.connect() as con:
            cur = con.execute(
                """INSERT INTO runs (question, as_of, kind, status, started_at, pid, seed, fingerprint,
                   spec_fingerprint, evidence_fingerprint, code_fingerprint, sampler_fingerprint)
                   VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)""",
                (question, as_of.isoformat(), kind, now(), os.getpid(), seed, fingerprint,
                 fingerprints.get("spec"), fingerprints.get("evidence"), fingerprints.get("code"), fingerprints.get("sampler")),
            )
            return int(cur.lastrowid)

    def succeed(self, run_id: int, record: dict) -> None:
        cols = ", ".join(f"{k} = ?" for k in record)
        with self.connect() as con:
            con.execute(
                f"UPDATE runs SET status='succeeded', finished_at=?, {cols} WHERE id=?",
                (now(), *[_sql(v) for v in record.values()], run_id),
            )

    def fail(self, run_id: int, error: str, wall_seconds: float | None = None) -> None:
        with self.connect() as con:
            con.execute(
                "UPDATE runs SET status='failed', finished_at=?, error=?, wall_seconds=? WHERE id=?",
                (now(), error[:4000], wall_seconds, run_id),
            )

    # -- reads ------------------------------------------------------------------------------------
    def last_success(self, question: str, kind: str | None = "update") -> dict | None:
        sql = "SELECT * FROM runs WHERE question=? AND status='succeeded'"
        args: list = [question]
        if kind:
            sql += " AND kind=?"
            args.append(kind)
        with self.connect() as con:
            row = con.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
        return _row(row)

    def find(self, question: str, fingerprint: str) -> dict | None:
        """The latest succeeded run (any kind) with this fingerprint."""
        with self.connect() as con:
            row = con.execute(
                "SELECT * FROM runs WHERE question=? AND fingerprint=? AND status='succeeded' ORDER BY id DESC LIMIT 1",
                (question, fingerprint),
            ).fetchone()
        return _row(row)

    def get(self, run_id: int) -> dict | None:
        with self.connect() as con:
            return _row(con.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone())

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
        with self.connect() as con:
            rows = [_row(r) for r in con.execute(sql + " ORDER BY id", args).fetchall()]
        return pd.DataFrame(rows)


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
            out[key] = json.loads(out[key])
    return out
