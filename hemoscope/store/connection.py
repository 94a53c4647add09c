"""Opening the database file: owner-only permissions, WAL, integrity check, quarantine.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL``. In WAL mode, NORMAL only
loses the last transactions on a power cut (not on an application crash), but the
design promises that a power cut loses nothing that was on screen, and FULL costs one
fsync of the WAL per user action (a few milliseconds), so FULL it is.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from .errors import StoreCorruptError, StoreOpenError

__all__ = ["IntegrityLevel", "check_integrity", "connect", "create_private_file", "quarantine"]

logger = logging.getLogger(__name__)

IntegrityLevel = Literal["quick", "full", "none"]
_COMPANIONS = ("-wal", "-shm", "-journal")


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists; True when created.

    The parent directory is created with mode 0700 when missing. SQLite gives its
    ``-wal`` and ``-shm`` files the permissions of the database file.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating owner-only) the database with the pragmas every connection needs.

    The connection is in autocommit mode: callers open their own transactions.
    """
    created = create_private_file(path)
    if created:
        logger.info("created case database %s", path)
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        conn.execute("PRAGMA foreign_keys = ON")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"WAL journal mode refused (got {mode!r})")
        conn.execute("PRAGMA synchronous = FULL")
    except sqlite3.OperationalError as exc:  # permissions, locks, not a file...
        if conn is not None:
            conn.close()
        raise StoreOpenError(path, str(exc)) from exc
    except sqlite3.DatabaseError as exc:  # not a database, malformed
        if conn is not None:
            conn.close()
        raise StoreCorruptError(path, [str(exc)]) from exc
    return conn


def check_integrity(conn: sqlite3.Connection, level: IntegrityLevel = "quick") -> list[str]:
    """Problems found by ``PRAGMA quick_check`` / ``integrity_check`` and the foreign-key
    check; an empty list when the database is sound (or ``level`` is ``"none"``).

    ``quick`` checks the page structure and record format but not that indexes match
    their tables; it is O(size) like ``full`` but several times faster.
    """
    if level == "none":
        return []
    pragma = "quick_check" if level == "quick" else "integrity_check"
    try:
        rows = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}").fetchall()]
        problems = [] if rows == ["ok"] else rows
        for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
            problems.append(f"row {rowid} of {table} refers to a missing {parent} row")
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return problems


def quarantine(path: str | os.PathLike[str]) -> Path:
    """Move a damaged database and its WAL/SHM files aside; returns the new path.

    The files are renamed ``<name>.damaged-<UTC time>`` in the same directory, so that
    nothing is lost and a new database can be created at ``path``. Field images are
    left in place: they are content-addressed and a new database reuses them.
    """
    src = Path(path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    dest = src.with_name(f"{src.name}.damaged-{stamp}")
    n = 1
    while dest.exists():
        n += 1
        dest = src.with_name(f"{src.name}.damaged-{stamp}-{n}")
    for suffix in _COMPANIONS:
        companion = src.with_name(src.name + suffix)
        if companion.exists():
            os.replace(companion, dest.with_name(dest.name + suffix))
    if src.exists():
        os.replace(src, dest)
    logger.warning("damaged case database %s moved to %s", src, dest)
    return dest


def backup_before_migration(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    """Copy the database (consistently, via SQLite's backup API) before migrating it."""
    dest = path.with_name(f"{path.name}.v{version}.bak")
    if dest.exists():
        dest.unlink()
    create_private_file(dest)
    target = sqlite3.connect(dest)
    try:
        conn.backup(target)
    finally:
        target.close()
    logger.info("case database backed up to %s before migration", dest)
    return dest
