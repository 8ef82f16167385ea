"""SHA-256 checksums of files (the ledger records one per run artefact; every reader verifies it)."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path) -> str:
    """The SHA-256 of a file's bytes.

    Parameters
    ----------
    path : path
        A regular file.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    digest = hashlib.sha256()
    with open(Path(path), "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 of ``data`` (64 lowercase hex digits)."""
    return hashlib.sha256(data).hexdigest()
