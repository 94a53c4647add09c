"""Where the open case lives: in the case database, or only in memory. No Qt here.

The station changes the case only through a `CaseBackend`, one user action per call:

- `StoreBackend` saves every action in the case database (`hemoscope.store.CaseStore`,
  one transaction each, with its audit records) before it returns, so a crash or a power
  cut loses nothing that was on screen. Field images are written by `store_image`, which
  touches no database and may run on a worker thread.
- `MemoryBackend` keeps the case in memory only; ``saves`` is False and the window says
  so ("not saved"). It is what the station uses when no database could be opened, and
  what many tests use.

Undo is not kept here: the window's QUndoStack holds the bound commands and calls
`revert` and `apply(..., redo=True)`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from hemoscope.core import AddField, Case, CaseInfo, Correction, Field
from hemoscope.store import CaseStore, ImageRef

__all__ = ["CaseBackend", "MemoryBackend", "StoreBackend", "StoredImage"]

Image = npt.NDArray[np.uint8]
StoredImage = Image | ImageRef


class CaseBackend(Protocol):
    saves: bool
    description: str

    def create_case(self, info: CaseInfo) -> Case: ...

    def store_image(self, image: Image) -> StoredImage:
        """Make the image durable; thread-safe (called on a worker thread)."""
        ...

    def add_field(self, case: Case, field: Field, image: StoredImage) -> tuple[Case, AddField]: ...

    def apply(
        self, case: Case, command: Correction, *, redo: bool = False
    ) -> tuple[Case, Correction]: ...

    def revert(self, case: Case, command: Correction) -> Case: ...

    def update_info(self, case: Case, info: CaseInfo) -> Case: ...

    def field_image(self, case: Case, field_id: str) -> Image | None: ...


class MemoryBackend:
    """The case in memory only (nothing is written anywhere)."""

    saves = False
    description = "not saved (no case database)"

    def __init__(self) -> None:
        self._images: dict[str, Image] = {}

    def create_case(self, info: CaseInfo) -> Case:
        return Case(info)

    def store_image(self, image: Image) -> StoredImage:
        return image

    def add_field(self, case: Case, field: Field, image: StoredImage) -> tuple[Case, AddField]:
        if isinstance(image, ImageRef):
            raise TypeError("the memory backend keeps pixels, not references")
        command = AddField(field)
        after = command.apply(case)
        self._images[field.id] = image
        return after, command

    def apply(
        self, case: Case, command: Correction, *, redo: bool = False
    ) -> tuple[Case, Correction]:
        bound = command.bind(case)
        return bound.apply(case), bound

    def revert(self, case: Case, command: Correction) -> Case:
        return command.revert(case)

    def update_info(self, case: Case, info: CaseInfo) -> Case:
        return case.with_info(info)

    def field_image(self, case: Case, field_id: str) -> Image | None:
        return self._images.get(field_id)


class StoreBackend:
    """The case in the case database; every action is one audited transaction."""

    saves = True

    def __init__(self, store: CaseStore, *, operator: str) -> None:
        self.store = store
        self.operator = operator
        self.description = f"saved in {store.path}"

    def create_case(self, info: CaseInfo) -> Case:
        return self.store.create_case(info, operator=self.operator)

    def store_image(self, image: Image) -> StoredImage:
        return self.store.images.put(image)

    def add_field(self, case: Case, field: Field, image: StoredImage) -> tuple[Case, AddField]:
        return self.store.add_field(case, field, image, operator=self.operator)

    def apply(
        self, case: Case, command: Correction, *, redo: bool = False
    ) -> tuple[Case, Correction]:
        return self.store.apply(case, command, operator=self.operator, redo=redo)

    def revert(self, case: Case, command: Correction) -> Case:
        return self.store.revert(case, command, operator=self.operator)

    def update_info(self, case: Case, info: CaseInfo) -> Case:
        return self.store.update_info(case, info, operator=self.operator)

    def field_image(self, case: Case, field_id: str) -> Image | None:
        return self.store.field_image(case.id, field_id)
