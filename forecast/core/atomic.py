"""Writing files atomically: a crash never leaves a half-written file behind."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

# Below this much free space, a writer's failure is put down to a full disk. netCDF-C reports a
# full disk as ``RuntimeError: NetCDF: HDF error`` with no errno, so the free space is the only way
# to tell it from a damaged library.
LOW_SPACE_BYTES = 1024 * 1024


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def atomic_write(path: Path, write) -> Path:
    """Call ``write(tmp_path)`` then rename the temp file over ``path`` (same folder, so the rename is atomic).

    Parameters
    ----------
    path : path
        The file to write; its folder is created when missing.
    write : callable
        ``write(tmp_path)`` writes the whole file to ``tmp_path``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    IsADirectoryError
        ``path`` is an existing folder (nothing is written).
    OSError
        With ``errno.ENOSPC`` when the disk is full, including a writer that reports it in its own
        way (netCDF's ``RuntimeError: NetCDF: HDF error``) while less than 1 MiB is free; any other
        ``OSError`` of the file system as raised. The temp file is removed in every case, so
        ``path`` is either the old file or the complete new one.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None or str(exc.filename) == str(tmp):  # name the file the user asked for
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    except Exception as exc:
        free = _free_bytes(path.parent)
        Path(tmp).unlink(missing_ok=True)
        if free is not None and free < LOW_SPACE_BYTES:
            raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} ({type(exc).__name__}: {exc})", str(path)) from exc
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
