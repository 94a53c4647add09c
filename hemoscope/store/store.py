"""`CaseStore`: the case database, one transaction per user action.

Every method that changes a case takes the case as the caller last got it from the
store, writes the difference and the action's audit records in one transaction, and
returns the new case. A case that is not the latest version (changed by another window
or process since) is refused with `StaleCaseError`; a signed-off case with
`CaseLockedError` until it is reopened.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hemoscope.core import AddField, AuditEntry, Case, CaseInfo, Correction, Field, SignOff

from . import queries
from .audit_entries import auto_entries, field_entry, info_change_entry
from .base import StoreBase, now_utc
from .errors import CaseNotFoundError, SignOffError, StoreError
from .images import ImageRef
from .records import AuditRecord, CaseSummary
from .rows import insert_case, read_case

__all__ = ["CaseStore"]

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]


class CaseStore(StoreBase):
    """The case database at ``path`` and its image folder ``<stem>-images`` beside it.

    Open with :meth:`CaseStore.open`; use as a context manager or call :meth:`close`.
    """

    # -- cases ---------------------------------------------------------------------------
    def create_case(self, info: CaseInfo, *, operator: str | None = None) -> Case:
        """A new, empty case (audited ``"create"``)."""
        case = Case(info)
        who = info.operator if operator is None else operator
        with self._transaction() as conn:
            insert_case(conn, case, now_utc().isoformat())
            self._audit(
                conn,
                case.id,
                who,
                [AuditEntry("create", None, None, None, None, f"Create case {info.sample_id}")],
            )
        self._known[case.id] = (case, 0)
        return case

    def load_case(self, case_id: str) -> Case:
        """The case as stored (and the version later changes must start from)."""
        with self._snapshot() as conn:
            case = read_case(conn, case_id)
            row = conn.execute("SELECT revision FROM cases WHERE id = ?", (case_id,)).fetchone()
        if case is None:
            raise CaseNotFoundError(f"no case {case_id!r} in {self.path}")
        self._known[case_id] = (case, int(row[0]))
        return case

    def forget(self, case_id: str) -> None:
        """Drop the store's memory of a case's latest version (when a window closes it);
        the next change must start from :meth:`load_case` again."""
        self._known.pop(case_id, None)

    def update_info(self, case: Case, info: CaseInfo, *, operator: str) -> Case:
        """Change the case's request-form data (audited ``"edit-info"`` with old -> new)."""
        if info == case.info:
            return case
        return self._commit(
            case, case.with_info(info), [info_change_entry(case.info, info)], operator
        )

    def list_cases(
        self,
        query: str = "",
        *,
        date_from: date | None = None,
        date_to: date | None = None,
        limit: int | None = 500,
    ) -> list[CaseSummary]:
        """See :func:`hemoscope.store.queries.list_cases`."""
        return queries.list_cases(
            self.conn, query, date_from=date_from, date_to=date_to, limit=limit
        )

    def audit_trail(self, case_id: str) -> list[AuditRecord]:
        return queries.audit_trail(self.conn, case_id)

    # -- fields and corrections ------------------------------------------------------------
    def add_field(
        self, case: Case, field: Field, image: Image | ImageRef, *, operator: str
    ) -> tuple[Case, AddField]:
        """Add a captured field with its image, and audit every automatic call in it.

        ``image`` is the BGR frame, or the `ImageRef` of one already stored with
        ``store.images.put`` (e.g. on a worker thread). Returns the new case and the
        `AddField` command (for undo). The image file is written before the transaction;
        if the transaction fails the file stays, unreferenced and harmless.
        """
        ref = image if isinstance(image, ImageRef) else self.images.put(image)
        if not self.images.has(ref.sha256):
            raise StoreError(f"image {ref.sha256[:12]} is not in {self.images.root}")
        if (ref.width, ref.height) != (field.width, field.height):
            raise ValueError(
                f"image is {ref.width}x{ref.height} but the field is {field.width}x{field.height}"
            )
        command = AddField(field)
        after = command.apply(case)

        def link(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR IGNORE INTO images (sha256, width, height, channels, "
                "size_bytes, stored_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    ref.sha256,
                    ref.width,
                    ref.height,
                    ref.channels,
                    ref.size_bytes,
                    now_utc().isoformat(),
                ),
            )
            conn.execute(
                "INSERT OR REPLACE INTO field_images (case_id, field_id, "
                "image_sha256) VALUES (?, ?, ?)",
                (case.id, field.id, ref.sha256),
            )

        entries = [field_entry(field), *auto_entries(field)]
        return self._commit(case, after, entries, operator, link), command

    def apply(
        self, case: Case, command: Correction, *, operator: str, redo: bool = False
    ) -> tuple[Case, Correction]:
        """Bind ``command`` to ``case``, apply it and save it with its audit entry.

        Returns the new case and the bound command (what :meth:`revert` needs). With
        ``redo`` the audit action is ``"redo:<action>"``.
        """
        bound = command.bind(case)
        after = bound.apply(case)
        entry = bound.audit()
        if redo:
            entry = AuditEntry(
                f"redo:{entry.action}",
                entry.field_id,
                entry.cell_id,
                entry.old_class,
                entry.new_class,
                f"redo: {entry.detail}",
            )
        return self._commit(case, after, [entry], operator), bound

    def revert(self, case: Case, command: Correction, *, operator: str) -> Case:
        """Undo a bound command (audited ``"undo:<action>"``)."""
        after = command.revert(case)
        return self._commit(case, after, [command.audit().undone()], operator)

    def field_image_sha(self, case_id: str, field_id: str) -> str | None:
        row = self.conn.execute(
            "SELECT image_sha256 FROM field_images WHERE case_id = ? AND field_id = ?",
            (case_id, field_id),
        ).fetchone()
        return None if row is None else str(row[0])

    def field_image(self, case_id: str, field_id: str) -> Image | None:
        """The field's stored BGR image, ``None`` when it has none (``ImageStoreError``
        when its file is missing or damaged)."""
        sha = self.field_image_sha(case_id, field_id)
        return None if sha is None else self.images.get(sha)

    def collect_orphan_images(self, *, older_than_s: float = 3600.0) -> list[Path]:
        """Delete field image files no row refers to (written just before a crash or a
        failed save), once they are ``older_than_s`` old; the files removed.

        Nothing is removed while a damaged database moved aside by `quarantine` lies
        beside this one: its images may be needed to recover it.
        """
        if not self.images.root.is_dir():
            return []  # no image folder (yet, or the images are kept in memory)
        if any(self.path.parent.glob(f"{self.path.name}.damaged-*")):
            logger.info("orphan images kept: a damaged database lies beside %s", self.path)
            return []
        referenced = {
            r[0]
            for r in self.conn.execute(
                "SELECT sha256 FROM images UNION SELECT image_sha256 FROM field_images"
            )
        }
        removed = self.images.remove_unreferenced(referenced, older_than_s=older_than_s)
        if removed:
            logger.info("removed %d orphan field image(s) from %s", len(removed), self.images.root)
        return removed

    def image_provider(self, case_id: str) -> Callable[[str], Image | None]:
        """``field_id -> image`` for one case, as the report and exports take it."""
        return lambda field_id: self.field_image(case_id, field_id)

    # -- sign-off --------------------------------------------------------------------------
    def sign_off_of(self, case_id: str) -> SignOff | None:
        return queries.sign_off_of(self.conn, case_id)

    def record_sign_off(
        self,
        case: Case,
        *,
        performed_by: str,
        reviewed_by: str,
        at: datetime | None = None,
        note: str = "",
    ) -> SignOff:
        """Record the sign-off; refused (`SignOffError`) while cells await review.
        ``note``: what the signer confirmed besides (e.g. a count below the target), kept
        on the audit trail with the sign-off.

        Afterwards the case is locked: changes raise `CaseLockedError` until
        :meth:`reopen`.
        """
        if not reviewed_by.strip():
            raise ValueError("sign-off needs the reviewer's name")
        when = at or now_utc()
        revision = self._revision(case)
        with self._transaction() as conn:
            pending = queries.pending_review_cells(conn, case.id)
            if pending:
                raise SignOffError(case.info.sample_id, pending)
            self._bump(conn, case, revision)
            conn.execute(
                "UPDATE cases SET performed_by = ?, reviewed_by = ?, signed_off_at = ?"
                " WHERE id = ?",
                (performed_by, reviewed_by, when.isoformat(), case.id),
            )
            self._audit(
                conn,
                case.id,
                reviewed_by,
                [
                    AuditEntry(
                        "sign-off",
                        None,
                        None,
                        None,
                        None,
                        f"Signed off: performed by {performed_by}, reviewed by {reviewed_by}"
                        + (f"; {note}" if note else ""),
                    )
                ],
            )
        self._known[case.id] = (case, revision + 1)
        return SignOff(performed_by, reviewed_by, when)

    def reopen(self, case: Case, *, operator: str, reason: str) -> None:
        """Clear a sign-off so the case can be amended (audited with the reason)."""
        if not reason.strip():
            raise ValueError("reopening a signed-off case needs a reason")
        revision = self._revision(case)
        previous = self.sign_off_of(case.id)
        if previous is None:
            return
        with self._transaction() as conn:
            conn.execute(
                "UPDATE cases SET performed_by = NULL, reviewed_by = NULL, "
                "signed_off_at = NULL WHERE id = ?",
                (case.id,),
            )
            self._bump(conn, case, revision)
            self._audit(
                conn,
                case.id,
                operator,
                [
                    AuditEntry(
                        "reopen",
                        None,
                        None,
                        None,
                        None,
                        f"Reopened (signed off by {previous.reviewed_by} on "
                        f"{previous.at:%Y-%m-%d %H:%M}): {reason}",
                    )
                ],
            )
        self._known[case.id] = (case, revision + 1)
