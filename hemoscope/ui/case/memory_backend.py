"""Cases kept in memory only: the station's fallback when there is no case database.

`MemoryBackend` is a `StoreBackend` over `CaseStore.in_memory()`: the very store, with
its audit trail, case list, sign-off and lock, kept in SQLite's memory database and the
field images in memory, so nothing is written anywhere (a full disk cannot stop it).
``saves`` is False and the window says "not saved". It is what the smoke test and most
GUI tests run on, and what the station runs on when the database cannot be opened.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from hemoscope.store import CaseStore
from hemoscope.ui.case.case_backend import ErrorCallback, StoreBackend

__all__ = ["MemoryBackend", "login_name"]


class MemoryBackend(StoreBackend):
    """The cases of this session, in memory."""

    saves = False

    def __init__(self, operator: str | None = None, on_error: ErrorCallback | None = None):
        super().__init__(
            Path(":memory:"),
            operator=operator if operator is not None else login_name(),
            on_error=on_error,
            open_store=CaseStore.in_memory,
        )
        self.description = "not saved (no case database)"


def login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment (a service account)
        return "unknown"
