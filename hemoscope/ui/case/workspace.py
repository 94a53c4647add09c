"""The open case and what the station computes from it. No Qt here.

`CaseWorkspace` holds the current case (made on the first capture or count, so an idle
station leaves no empty cases behind), the counting settings (taxonomy with its keymap,
target, reference ranges), and a bounded cache of field images for review and the
gallery. Every change goes through its `backend` (`case_backend`) and returns the new
case; undo is the caller's (the window's QUndoStack holds the bound commands).

Changes return at once: a `StoreBackend` writes them on its own thread.

A signed-off case is locked: every change is refused here (`CaseLockedError`) before it
reaches the backend, until `reopen` (with a reason, audited). `open_case` makes a saved
case the open one again (the case list); `record_sign_off` signs the open case off.

`TargetWatch` says when the count *reaches* the target: once when it gets there, again
only after it fell below (an undo) and came back.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

import numpy as np
import numpy.typing as npt

from hemoscope.core import (
    DEFAULT_REFERENCE,
    DEFAULT_TAXONOMY,
    AddField,
    Case,
    CaseInfo,
    Correction,
    Field,
    ReferenceSet,
    SignOff,
    Tally,
    Taxonomy,
)
from hemoscope.store import CaseLockedError
from hemoscope.ui.case.case_backend import CaseBackend
from hemoscope.ui.case.memory_backend import MemoryBackend

__all__ = [
    "IMAGE_CACHE_BYTES",
    "PROVISIONAL_PREFIX",
    "CaseWorkspace",
    "TargetWatch",
    "is_provisional",
    "provisional_sample_id",
]

Image = npt.NDArray[np.uint8]
IMAGE_CACHE_BYTES = 512 * 1024 * 1024


PROVISIONAL_PREFIX = "Unnamed "


def provisional_sample_id(now: datetime | None = None) -> str:
    """The sample id of a case started before one was typed in (editable later)."""
    return f"{PROVISIONAL_PREFIX}{(now or datetime.now()):%Y-%m-%d %H:%M:%S}"


def is_provisional(info: CaseInfo | None) -> bool:
    """The case still has the sample id made up on its first capture (or no case)."""
    return info is None or info.sample_id.startswith(PROVISIONAL_PREFIX)


class TargetWatch:
    """Edge detector for "the target was just reached"."""

    def __init__(self) -> None:
        self._reached = False

    def update(self, tally: Tally) -> bool:
        """True only on the update where the count goes from below to at/over target."""
        reached = tally.target_reached
        just_now = reached and not self._reached
        self._reached = reached
        return just_now

    def reset(self, tally: Tally | None = None) -> None:
        """Re-arm (a new case, or a changed target): no alert for a count already there."""
        self._reached = bool(tally is not None and tally.target_reached)


class CaseWorkspace:
    def __init__(
        self,
        *,
        backend: CaseBackend | None = None,
        taxonomy: Taxonomy = DEFAULT_TAXONOMY,
        target: int = 100,
        reference: ReferenceSet = DEFAULT_REFERENCE,
        cache_bytes: int = IMAGE_CACHE_BYTES,
    ) -> None:
        self.backend: CaseBackend = backend if backend is not None else MemoryBackend()
        self.taxonomy = taxonomy
        self.target = target
        self.reference = reference
        self.case: Case | None = None
        self.sign_off: SignOff | None = None
        self._images: OrderedDict[str, Image] = OrderedDict()
        self._cache_bytes = cache_bytes

    # -- the case ------------------------------------------------------------------------
    def ensure_case(self) -> Case:
        """The open case, created (and saved) now if there is none yet."""
        if self.case is None:
            self.case = self.backend.create_case(CaseInfo(provisional_sample_id()))
        return self.case

    def new_case(self, info: CaseInfo | None = None) -> Case | None:
        """Close the current case (it is saved already) and start another.

        With `info` the case is created now; without, on the first capture or count.
        """
        self._leave()
        self.case = None if info is None else self.backend.create_case(info)
        return self.case

    def open_case(self, case_id: str) -> Case:
        """Make the saved case `case_id` the open one (the current one is saved already)."""
        case, sign_off = self.backend.open_case(case_id)
        self._leave()
        self.case, self.sign_off = case, sign_off
        return case

    def _leave(self) -> None:
        if self.case is not None:
            self.backend.close_case(self.case)
        self.case = None
        self.sign_off = None
        self._images.clear()

    # -- sign-off ------------------------------------------------------------------------
    @property
    def locked(self) -> bool:
        """The open case is signed off: it cannot change until reopened."""
        return self.sign_off is not None

    def record_sign_off(self, *, performed_by: str, reviewed_by: str, note: str = "") -> SignOff:
        """Sign the open case off (raises `SignOffError` while cells await review);
        `note` goes on the audit trail with it."""
        case = self._current()  # the backend signs off after every write queued before
        self.sign_off = self.backend.record_sign_off(
            case, performed_by=performed_by, reviewed_by=reviewed_by, note=note
        )
        return self.sign_off

    def reopen(self, reason: str) -> None:
        """Lift the sign-off of the open case so that it can be amended (audited)."""
        self.backend.reopen(self._current(), reason=reason)
        self.sign_off = None

    def check_unlocked(self) -> None:
        if self.sign_off is not None and self.case is not None:
            raise CaseLockedError(
                f"case {self.case.info.sample_id} is signed off (by "
                f"{self.sign_off.reviewed_by}); reopen it to change it"
            )

    def set_info(self, info: CaseInfo) -> Case:
        self.check_unlocked()
        case = self.ensure_case()
        self.case = self.backend.update_info(case, info)
        return self.case

    # -- actions (one user action each) ----------------------------------------------------
    def add_field(self, field: Field, image: Image) -> AddField:
        """Add a captured field and its image."""
        self.check_unlocked()
        case = self.ensure_case()
        self.case, command = self.backend.add_field(case, field, image)
        self._remember(field.id, image)
        return command

    def apply(self, command: Correction) -> Correction:
        """Apply a new correction; returns it bound (what `revert` needs)."""
        self.check_unlocked()
        case = self.ensure_case()
        self.case, bound = self.backend.apply(case, command)
        return bound

    def reapply(self, bound: Correction) -> None:
        """Redo a correction that was undone."""
        self.check_unlocked()
        self.case, _ = self.backend.apply(self._current(), bound, redo=True)

    def revert(self, bound: Correction) -> None:
        self.check_unlocked()
        self.case = self.backend.revert(self._current(), bound)

    def reload(self) -> Case | None:
        """Read the case (and its sign-off) back from where it is kept (after a save
        failed)."""
        if self.case is not None:
            self.case, self.sign_off = self.backend.open_case(self.case.id)
        return self.case

    # -- derived -------------------------------------------------------------------------
    def tally(self) -> Tally:
        case = self.case if self.case is not None else Case(CaseInfo("none"), id="none")
        return Tally.from_case(case, self.taxonomy, self.target, self.reference)

    def field(self, field_id: str) -> Field | None:
        return None if self.case is None else self.case.get_field(field_id)

    def field_image(self, field_id: str) -> Image | None:
        """The field's image from the cache, else from the backend (and cached)."""
        image = self._images.get(field_id)
        if image is not None:
            self._images.move_to_end(field_id)
            return image
        if self.case is None:
            return None
        image = self.backend.field_image(self.case, field_id)
        if image is not None:
            self._remember(field_id, image)
        return image

    def _remember(self, field_id: str, image: Image) -> None:
        self._images[field_id] = image
        self._images.move_to_end(field_id)
        total = sum(i.nbytes for i in self._images.values())
        while total > self._cache_bytes and len(self._images) > 1:
            _, dropped = self._images.popitem(last=False)
            total -= dropped.nbytes

    def _current(self) -> Case:
        if self.case is None:
            raise RuntimeError("no case is open")
        return self.case
