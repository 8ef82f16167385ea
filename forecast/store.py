"""Writing run artefacts atomically: a crash never leaves a half-written file behind."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, write) -> Path:
    """Call ``write(tmp_path)`` then rename the temp file over ``path`` (same folder, so the rename is atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_result(result, folder: Path, stem: str | None = None) -> dict[str, Path]:
    """Save ``<stem>.nc`` (the DataTree) and ``<stem>.json`` (the summary) into ``folder``.

    The default stem is ``<question>_<as-of>``.
    """
    folder = Path(folder)
    stem = stem or f"{result.spec.id}_{result.as_of.isoformat()}"
    nc = atomic_write(folder / f"{stem}.nc", lambda p: result.idata.to_netcdf(p, engine="netcdf4"))
    summary = json.dumps(result.to_summary_dict(), indent=2, default=str)
    js = atomic_write(folder / f"{stem}.json", lambda p: p.write_text(summary))
    return {"posterior": nc, "summary": js}
