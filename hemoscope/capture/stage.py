"""A stage the station can move: the simulated microscope's (a motorised stage would be
another). The arrow keys of the live picture move it, as a technician moves the slide
between fields; sources without one simply do not implement it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["MovableStage", "stage_step"]


@runtime_checkable
class MovableStage(Protocol):
    def move_stage(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) frame pixels (right and down positive)."""


def stage_step(
    direction: str, width: int, height: int, *, whole: bool = False
) -> tuple[float, float]:
    """The stage move of one arrow key: half a field (consecutive fields overlap, as at
    the microscope), or a whole field (`whole`: a fresh field)."""
    fraction = 1.0 if whole else 0.5
    dx, dy = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}[direction]
    return dx * fraction * width, dy * fraction * height
