"""Errors raised by the case store; each message says what happened and what to do."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CaseLockedError",
    "CaseNotFoundError",
    "ImageStoreError",
    "SignOffError",
    "StaleCaseError",
    "StoreCorruptError",
    "StoreError",
    "StoreOpenError",
    "StoreVersionError",
]


class StoreError(RuntimeError):
    """Base of every case-store error."""


class StoreCorruptError(StoreError):
    """The database failed its integrity check or is not a HemoScope database.

    Nothing was written to it. The way out: :func:`hemoscope.store.quarantine` moves the
    damaged file (and its ``-wal``/``-shm`` companions) aside, keeping it for recovery,
    so that a new, empty database can be opened at the same path.
    """

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        shown = "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else "")
        super().__init__(
            f"The case database {path} is damaged ({shown}). HemoScope has not written to "
            "it. Either quit and restore the file from a backup, or move the damaged file "
            "aside (it is kept, renamed, for recovery) and start a new, empty database."
        )


class StoreOpenError(StoreError):
    """The database file cannot be opened or written (permissions, a lock, a folder)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"The case database {path} cannot be opened ({reason}). Check that the file and "
            "its folder exist and are writable, and that no other program holds it locked."
        )


class StoreVersionError(StoreError):
    """The database was written by a newer HemoScope (a schema this version cannot read)."""

    def __init__(self, path: Path, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"The case database {path} has schema version {found}; this HemoScope reads up "
            f"to version {supported}. Update HemoScope, or open another database."
        )


class CaseNotFoundError(StoreError, KeyError):
    """No case with this id in the database."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "case not found"


class StaleCaseError(StoreError):
    """The case given is not the latest version in the database (changed elsewhere)."""


class CaseLockedError(StoreError):
    """The case was signed off; reopen it (audited) before changing it."""


class SignOffError(StoreError):
    """Sign-off refused: cells flagged for review have no human decision yet."""

    def __init__(self, sample_id: str, cells: list[tuple[str, str]]) -> None:
        self.cells = cells
        super().__init__(
            f"Case {sample_id!r} cannot be signed off: {len(cells)} cell(s) flagged for review "
            "are not confirmed or relabelled yet. Review them first."
        )


class ImageStoreError(StoreError):
    """A field image cannot be written or read (disk full, permissions, damaged file)."""
