"""Secrets and private folders on disk: folders 0700, files 0600, created so that no moment exists
in which another user of the machine could read them.

A generated secret (the store endpoint's bearer token, Kafka Connect's REST password) is made once,
on the first start, and read from its file by every client of this product; it is never printed,
logged or passed on a command line.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from atp.errors import ServiceError

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# The umask of every process the product starts (services, supervisor, dataflow): what they create is theirs alone.
PRIVATE_UMASK = 0o077


def open_private_log(path: Path) -> int:
    """A descriptor appending to ``path``, created 0600 (an existing looser file is made 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
    os.fchmod(descriptor, PRIVATE_FILE_MODE)
    return descriptor


def private_dir(path: Path) -> Path:
    """``path`` and any missing parents, each created 0700; ``path`` itself made 0700 if it existed looser."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if path.stat().st_mode & 0o077:
        path.chmod(PRIVATE_DIR_MODE)
    return path


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (0600 from its creation on; a looser existing file is made 0600 first)."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.fchmod(descriptor, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    return path


def ensure_secret(path: Path, nbytes: int = 32) -> str:
    """The secret in ``path``; generated (URL-safe, ``nbytes`` random bytes) into a new 0600 file if missing."""
    private_dir(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        path.chmod(PRIVATE_FILE_MODE)
        existing = path.read_text().strip()
        if existing:
            return existing
        write_private(path, secrets.token_urlsafe(nbytes) + "\n")
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as out:
        value = secrets.token_urlsafe(nbytes)
        out.write(value + "\n")
    return value


def read_secret(path: Path, what: str) -> str:
    """The secret in ``path``, or one ServiceError line naming ``what`` and the file (never the value)."""
    try:
        value = path.read_text().strip()
    except OSError as exc:
        raise ServiceError(f"{what}: no credential in {path} ({exc.strerror}); start the stack with atp up") from exc
    if not value:
        raise ServiceError(f"{what}: the credential file {path} is empty")
    return value
