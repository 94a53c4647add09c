"""The database schema as a list of migrations, and the code that applies them.

Each migration is a list of SQL statements that takes the schema from version ``n`` to
``n + 1`` (``MIGRATIONS[0]`` creates version 1 from an empty file). A migration runs in
one transaction together with its ``schema_version`` row, so a crash leaves the database
at the old or the new version, never between. Migrations are append-only: never edit a
released step, add a new one.

Version 1: cases, manual counts, fields, cells, images, field images, the audit trail
(append-only, enforced by triggers). Version 2: the sign-off record on cases, and
indexes for the case list's search. Version 3: the models that analysed each field
(JSON list of name, version, sha256; empty for fields saved before). Version 4: why each
cell is flagged for review (``review_reason``, reasons joined by "; "; empty for cells
saved before). Version 5: why a found cell is out of the tally (``uncounted``: "already
counted" in an earlier, overlapping field, or "cut by the edge"; empty for a cell that
counts, and for cells saved before). Version 6: each classified cell's classifier
embedding (``embedding``, little-endian float16 bytes, `core.Embedding`; NULL for cells
not classified and for cells saved before, which the cell map leaves out).
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "current_version", "migrate"]

logger = logging.getLogger(__name__)

_V1 = [
    """CREATE TABLE schema_version (
        version INTEGER PRIMARY KEY,
        applied_at TEXT NOT NULL)""",
    """CREATE TABLE cases (
        id TEXT PRIMARY KEY,
        sample_id TEXT NOT NULL CHECK (length(trim(sample_id)) > 0),
        patient_id TEXT NOT NULL DEFAULT '',
        patient_name TEXT NOT NULL DEFAULT '',
        specimen_date TEXT,
        operator TEXT NOT NULL DEFAULT '',
        wbc_count REAL CHECK (wbc_count IS NULL OR wbc_count > 0),
        comments TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        revision INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE manual_counts (
        case_id TEXT NOT NULL REFERENCES cases(id),
        class_id TEXT NOT NULL,
        count INTEGER NOT NULL CHECK (count > 0),
        PRIMARY KEY (case_id, class_id)) WITHOUT ROWID""",
    """CREATE TABLE fields (
        case_id TEXT NOT NULL REFERENCES cases(id),
        id TEXT NOT NULL,
        position INTEGER NOT NULL,
        width INTEGER NOT NULL CHECK (width > 0),
        height INTEGER NOT NULL CHECK (height > 0),
        source TEXT NOT NULL,
        captured_at TEXT NOT NULL,
        PRIMARY KEY (case_id, id))""",
    """CREATE TABLE cells (
        case_id TEXT NOT NULL,
        field_id TEXT NOT NULL,
        id TEXT NOT NULL,
        position INTEGER NOT NULL,
        x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
        kind TEXT NOT NULL,
        auto_class TEXT,
        final_class TEXT,
        score REAL NOT NULL,
        probability REAL,
        review INTEGER NOT NULL,
        manual INTEGER NOT NULL,
        PRIMARY KEY (case_id, field_id, id),
        FOREIGN KEY (case_id, field_id) REFERENCES fields(case_id, id) ON DELETE CASCADE)""",
    """CREATE TABLE images (
        sha256 TEXT PRIMARY KEY,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        channels INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL,
        stored_at TEXT NOT NULL)""",
    # A field keeps its image when it is removed from the case (undo brings it back).
    """CREATE TABLE field_images (
        case_id TEXT NOT NULL REFERENCES cases(id),
        field_id TEXT NOT NULL,
        image_sha256 TEXT NOT NULL REFERENCES images(sha256),
        PRIMARY KEY (case_id, field_id))""",
    """CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        case_id TEXT NOT NULL REFERENCES cases(id),
        at TEXT NOT NULL,
        operator TEXT NOT NULL,
        action TEXT NOT NULL,
        field_id TEXT,
        cell_id TEXT,
        old_class TEXT,
        new_class TEXT,
        detail TEXT NOT NULL)""",
    "CREATE INDEX audit_by_case ON audit(case_id, seq)",
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
]

_V2 = [
    "ALTER TABLE cases ADD COLUMN performed_by TEXT",
    "ALTER TABLE cases ADD COLUMN reviewed_by TEXT",
    "ALTER TABLE cases ADD COLUMN signed_off_at TEXT",
    "CREATE INDEX cases_by_sample ON cases(sample_id COLLATE NOCASE)",
    "CREATE INDEX cases_by_patient ON cases(patient_id COLLATE NOCASE)",
    "CREATE INDEX cases_by_created ON cases(created_at)",
]

_V3 = [
    "ALTER TABLE fields ADD COLUMN models TEXT NOT NULL DEFAULT '[]'",
]

_V4 = [
    "ALTER TABLE cells ADD COLUMN review_reason TEXT NOT NULL DEFAULT ''",
]

_V5 = [
    "ALTER TABLE cells ADD COLUMN uncounted TEXT NOT NULL DEFAULT ''",
]

_V6 = [
    "ALTER TABLE cells ADD COLUMN embedding BLOB",
]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    tuple(_V1),
    tuple(_V2),
    tuple(_V3),
    tuple(_V4),
    tuple(_V5),
    tuple(_V6),
)
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version of an open database; 0 for an empty file."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if row is None:
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables:
            raise sqlite3.DatabaseError("the file holds tables but no schema_version table")
        return 0
    version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    return int(version or 0)


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> list[int]:
    """Apply the missing migrations up to ``target``, one transaction each.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Returns the versions
    applied. Raises ``ValueError`` when the database is newer than ``target``.
    """
    start = current_version(conn)
    if start > target:
        raise ValueError(f"database schema {start} is newer than {target}")
    applied: list[int] = []
    for version in range(start + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (version, datetime.now(UTC).isoformat()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        logger.info("case database migrated to schema version %d", version)
        applied.append(version)
    return applied
