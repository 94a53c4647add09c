"""Every capture test fails if it leaves threads running."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _threads_checked(no_thread_leaks: None) -> None:
    pass
