"""Directories and files the product makes on disk, private to the account it runs as.

What the embedded default keeps under ``var/`` (the SQLite stores, the signing key, the intake
client's queue, nats-server's JetStream data and log) is personal data or a key: each directory
the product makes is 0700 and each file 0600, whatever the umask. Explicit modes, not a umask:
the umask is the whole process's (and its threads'), and a library's file would follow it too.

SQLite makes a store's ``-wal`` and ``-shm`` files with the mode of the store file itself, so
making that file 0600 before SQLite opens it (SQLite takes an empty file for a new store)
covers all three.

A directory or file that already exists is left as it is: it may be one the deployment made and
set up itself (``SAFEGUARD_VAR_DIR`` pointed at a volume).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` as a directory: made, with each missing parent, with mode 0700."""
    missing = []
    for directory in (path, *path.parents):
        if directory.is_dir():
            break
        missing.append(directory)
    for directory in reversed(missing):
        # Another process (the three services start at once) may make it first.
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=PRIVATE_DIR)
            os.chmod(directory, PRIVATE_DIR)  # exactly 0700, whatever the umask took away
    return path


def private_file(path: Path) -> Path:
    """``path`` as a file: made empty, with mode 0600, unless it exists; its directory with
    :func:`private_dir`."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return path
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path
