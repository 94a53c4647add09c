"""The case database: SQLite (stdlib ``sqlite3``) in WAL mode, one transaction per action.

- :class:`CaseStore` opens (creating owner-only), checks and migrates the database and
  saves each change of a case with its audit records.
- Field images are stored once each, lossless and content-addressed
  (:class:`ImageStore`), in ``<db stem>-images/`` beside the database.
- :func:`quarantine` is the way out when the integrity check fails.

The caller chooses where the database lives (the GUI in its user-data folder, the
command line with ``--db``); this package imports no Qt.
"""

from pathlib import Path

from .connection import IntegrityLevel, check_integrity, quarantine
from .errors import (
    CaseLockedError,
    CaseNotFoundError,
    ImageStoreError,
    SignOffError,
    StaleCaseError,
    StoreCorruptError,
    StoreError,
    StoreOpenError,
    StoreVersionError,
)
from .images import ImageRef, ImageStore, image_sha256
from .records import AuditRecord, CaseSummary
from .schema import MIGRATIONS, SCHEMA_VERSION, migrate
from .store import CaseStore

#: The database's file name inside the user-data folder (GUI and command line alike).
DEFAULT_DB_NAME = "hemoscope-cases.db"


def database_path(data_dir: str | Path) -> Path:
    """Where the case database lives in a user-data folder (its images go beside it)."""
    return Path(data_dir) / DEFAULT_DB_NAME


__all__ = [
    "DEFAULT_DB_NAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AuditRecord",
    "CaseLockedError",
    "CaseNotFoundError",
    "CaseStore",
    "CaseSummary",
    "ImageRef",
    "ImageStore",
    "ImageStoreError",
    "IntegrityLevel",
    "SignOffError",
    "StaleCaseError",
    "StoreCorruptError",
    "StoreError",
    "StoreOpenError",
    "StoreVersionError",
    "check_integrity",
    "database_path",
    "image_sha256",
    "migrate",
    "quarantine",
]
