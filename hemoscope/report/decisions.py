"""Who made the standing human decision on each cell, from an audit trail.

Report does not import the store: it reads any records with the attributes of
``hemoscope.store.AuditRecord`` (``action``, ``field_id``, ``cell_id``, ``operator``,
``at``), e.g. ``store.audit_trail(case.id)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["DECISION_ACTIONS", "AuditLike", "Decision", "Decisions", "standing_decisions"]

#: Actions by which a human sets a cell's class.
DECISION_ACTIONS = frozenset({"relabel", "confirm", "add-cell"})


class AuditLike(Protocol):
    @property
    def action(self) -> str: ...
    @property
    def field_id(self) -> str | None: ...
    @property
    def cell_id(self) -> str | None: ...
    @property
    def operator(self) -> str: ...
    @property
    def at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """The operator and time of the human decision that stands on a cell."""

    operator: str
    at: datetime


Decisions = Mapping[tuple[str, str], Decision]


def standing_decisions(records: Iterable[AuditLike]) -> dict[tuple[str, str], Decision]:
    """``(field_id, cell_id) -> Decision`` replaying decisions, undos and redos in order.

    An undone decision no longer stands (the one before it does again); a redo makes it
    stand again.
    """
    stacks: dict[tuple[str, str], list[Decision]] = {}
    for r in records:
        if r.field_id is None or r.cell_id is None:
            continue
        prefix, _, base = r.action.rpartition(":")
        if base not in DECISION_ACTIONS:
            continue
        stack = stacks.setdefault((r.field_id, r.cell_id), [])
        if prefix == "undo":
            if stack:
                stack.pop()
        else:  # the action itself, or "redo:"
            stack.append(Decision(r.operator, r.at))
    return {key: stack[-1] for key, stack in stacks.items() if stack}
