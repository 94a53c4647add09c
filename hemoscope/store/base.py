"""The store's foundation: opening, closing, transactions, revision and lock checks."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from hemoscope.core import AuditEntry, Case

from .connection import IntegrityLevel, backup_before_migration, check_integrity, connect
from .errors import (
    CaseLockedError,
    CaseNotFoundError,
    StaleCaseError,
    StoreCorruptError,
    StoreError,
    StoreVersionError,
)
from .images import ImageStore, MemoryImageStore
from .rows import write_change
from .schema import SCHEMA_VERSION, current_version, migrate

__all__ = ["StoreBase", "now_utc"]

logger = logging.getLogger(__name__)


def now_utc() -> datetime:
    return datetime.now(UTC)


class StoreBase:
    """Connection, transactions and the revision/lock/audit checks of every change."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, images: ImageStore | None = None
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self.path = path
        self.images = images or ImageStore(path.with_name(f"{path.stem}-images"))
        self._known: dict[str, tuple[Case, int]] = {}

    @classmethod
    def in_memory(cls) -> Self:
        """A store that keeps everything in memory (SQLite's ``:memory:`` database and
        the field images): the same rules, audit trail and sign-off, nothing on disk."""
        conn = sqlite3.connect(":memory:", isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn)
        return cls(conn, Path(":memory:"), MemoryImageStore())

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, integrity: IntegrityLevel = "quick") -> Self:
        """Open or create the database, check it, migrate it to the current schema.

        Raises:
            StoreCorruptError: it fails the integrity check or is not a database.
            StoreVersionError: it was written by a newer HemoScope.
        """
        db = Path(path)
        conn = connect(db)
        try:
            problems = check_integrity(conn, integrity)
            if problems:
                raise StoreCorruptError(db, problems)
            try:
                version = current_version(conn)
            except sqlite3.DatabaseError as exc:
                raise StoreCorruptError(db, [str(exc)]) from exc
            if version > SCHEMA_VERSION:
                raise StoreVersionError(db, version, SCHEMA_VERSION)
            if 0 < version < SCHEMA_VERSION:
                backup_before_migration(conn, db, version)
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        return cls(conn, db)

    # -- lifetime ------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the case store is closed")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute("PRAGMA optimize")
            finally:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return current_version(self.conn)

    def integrity_check(self, level: IntegrityLevel = "full") -> list[str]:
        """Problems found in the database now; empty when it is sound."""
        return check_integrity(self.conn, level)

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several queries see one consistent state, no lock taken."""
        conn = self.conn
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(
                    f"the change could not be saved to {self.path}: {exc}. Nothing was changed."
                ) from exc
            raise

    def _revision(self, case: Case) -> int:
        known = self._known.get(case.id)
        if known is None or (known[0] is not case and known[0] != case):
            raise StaleCaseError(
                f"case {case.info.sample_id!r} is not the version last saved "
                "by this store; reload it before changing it"
            )
        return known[1]

    def _bump(self, conn: sqlite3.Connection, case: Case, revision: int) -> None:
        row = conn.execute(
            "SELECT revision, signed_off_at, reviewed_by FROM cases WHERE id = ?", (case.id,)
        ).fetchone()
        if row is None:
            raise CaseNotFoundError(f"no case {case.id!r} in {self.path}")
        if row[0] != revision:
            raise StaleCaseError(
                f"case {case.info.sample_id!r} was changed elsewhere since it was loaded; reload it"
            )
        if row[1] is not None:
            raise CaseLockedError(
                f"case {case.info.sample_id!r} was signed off by {row[2]} "
                f"on {row[1][:16]}; reopen it to amend it"
            )
        conn.execute(
            "UPDATE cases SET revision = ?, updated_at = ? WHERE id = ?",
            (revision + 1, now_utc().isoformat(), case.id),
        )

    def _audit(
        self, conn: sqlite3.Connection, case_id: str, operator: str, entries: Sequence[AuditEntry]
    ) -> None:
        at = now_utc().isoformat()
        conn.executemany(
            "INSERT INTO audit (case_id, at, operator, action, field_id, cell_id, old_class, "
            "new_class, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    case_id,
                    at,
                    operator,
                    e.action,
                    e.field_id,
                    e.cell_id,
                    e.old_class,
                    e.new_class,
                    e.detail,
                )
                for e in entries
            ],
        )

    def _commit(
        self,
        before: Case,
        after: Case,
        entries: Sequence[AuditEntry],
        operator: str,
        extra: Callable[[sqlite3.Connection], None] | None = None,
    ) -> Case:
        revision = self._revision(before)
        with self._transaction() as conn:
            self._bump(conn, before, revision)
            write_change(conn, before, after)
            if extra is not None:
                extra(conn)
            self._audit(conn, after.id, operator, entries)
        self._known[after.id] = (after, revision + 1)
        return after
