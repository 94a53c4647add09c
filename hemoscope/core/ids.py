"""Identifiers for cells, fields and cases."""

from __future__ import annotations

import uuid

__all__ = ["new_id"]


def new_id() -> str:
    """Return a new random identifier: 32 lower-case hex digits (uuid4)."""
    return uuid.uuid4().hex
