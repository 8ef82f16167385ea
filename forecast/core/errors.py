"""Input problems and the error that carries them.

Every problem names the file, the line (when the format has lines) and the field, and may carry a
suggestion (the near-miss for a typo). Loaders collect *all* problems of a file before raising, so
``forecast validate`` can report everything at once.
"""

from __future__ import annotations

import difflib
import errno
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input file."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None
    suggestion: str | None = None
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = f" [{self.field}]" if self.field else ""
        hint = f" (did you mean '{self.suggestion}'?)" if self.suggestion else ""
        return f"{where}{what}: {self.message}{hint}"

    def to_dict(self) -> dict:
        """The problem as a JSON-ready dict (file, line, field, message, suggestion, severity)."""
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "suggestion": self.suggestion,
            "severity": self.severity,
        }


class InputError(ValueError):
    """Raised when input files are invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid input")


@dataclass
class ProblemList:
    """Accumulates problems; ``raise_if_any`` turns errors into an :class:`InputError`."""

    items: list[Problem] = field(default_factory=list)

    def add(self, file: str | Path, message: str, **kwargs) -> None:
        """Add a problem in ``file`` with ``message``; keyword arguments are :class:`Problem` fields (line, field, ...)."""
        self.items.append(Problem(file=str(file), message=message, **kwargs))

    def extend(self, problems: Iterable[Problem]) -> None:
        """Add several problems."""
        self.items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity ``error`` (warnings excluded)."""
        return [p for p in self.items if p.severity == "error"]

    def raise_if_any(self) -> None:
        """Raise :class:`InputError` with every error, if there is one.

        Raises
        ------
        InputError
            When at least one problem has severity ``error`` (the errors in file and line order).
        """
        if self.errors:
            raise InputError(by_place(self.errors))


def by_place(problems: Iterable[Problem]) -> list[Problem]:
    """``problems`` ordered by file, then line (a problem without a line last in its file); stable otherwise."""
    return sorted(problems, key=lambda p: (p.file, p.line if p.line is not None else float("inf")))


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The closest valid name to a misspelt one, or None when nothing is close."""
    matches = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


# --------------------------------------------------------------------------------------------------
# file-system errors in words


DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)


def os_error_message(exc: OSError, path: str | Path | None = None, action: str = "write") -> str:
    """What went wrong with a file, in words, for each kind of ``OSError``.

    Parameters
    ----------
    exc : OSError
        The error; its ``errno`` picks the kind (disk full, read-only, a folder where a file is
        expected, a file where a folder is expected, missing).
    path : path, optional
        The file concerned (default: ``exc.filename``).
    action : str
        ``"read"`` or ``"write"``: what was being done.

    Returns
    -------
    str
        One sentence naming the file (never its content) and what to do.
    """
    where = str(path if path is not None else (exc.filename or "the file"))
    code = exc.errno
    if code in DISK_FULL:
        folder = Path(where).parent if path is not None or exc.filename else Path(".")
        return f"the disk is full: no space left on the device holding {folder} while writing {where}; free some space or write elsewhere"
    if code == errno.EROFS:
        return f"{where} is on a read-only file system: cannot {action} it; give a writable location"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied: cannot {action} {where} (read-only for this user); change its permissions or give another location"
    if code == errno.EISDIR:
        return f"{where} is a folder, where a file is expected; give the path of a file"
    if code == errno.ENOTDIR:
        return f"{where}: a part of this path is a file, where a folder is expected"
    if code == errno.ENOENT:
        return f"{where} does not exist"
    if code == errno.ELOOP:
        return f"{where}: too many levels of symbolic links"
    if code == errno.ENAMETOOLONG:
        return f"{where}: the file name is too long"
    return f"cannot {action} {where}: {exc.strerror or exc}"
