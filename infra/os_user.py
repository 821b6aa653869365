"""Database servers refuse to run as root: when we are root, they run as their Debian system user."""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path


def as_user(os_user: str, argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", os_user, "--", *argv]


def own(path: Path, os_user: str) -> None:
    """Give ``path`` (recursively) to ``os_user`` when we are root; otherwise it is ours already."""
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(os_user)
    shutil.chown(path, entry.pw_uid, entry.pw_gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)
