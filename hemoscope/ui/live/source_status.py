"""What the station says about its source: status-bar text, and the banner when the camera
is lost. No Qt here.

A lost camera never loses the case: the banner says how many fields are safe, that the
station is trying to reconnect (and how often it tried), and offers Reconnect.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hemoscope.ui.live.source_runner import SourceState, SourceStatus

__all__ = ["SourceBannerText", "SourceText"]


@dataclass(frozen=True)
class SourceText:
    status: str  # the status bar's source field
    tip: str
    banner: str  # "" for no banner
    level: str  # banner level: "warning", "error", "info"
    button: str  # banner button text ("" for none)


class SourceBannerText:
    def describe(self, status: object, still_name: str, fields: int) -> SourceText:
        """Text for a `SourceStatus` (or None: no streaming source; `still_name` is the
        opened image shown, if any)."""
        if not isinstance(status, SourceStatus):
            if still_name:
                name = Path(still_name).name
                return SourceText(f"Image: {name}", still_name, "", "", "")
            return SourceText("No source", "Choose a source in the Source menu", "", "", "")
        info = status.info
        name = info.name if info is not None else status.name
        size = f" · {info.width}×{info.height}" if info is not None else ""
        safe = f"The case is safe ({fields} field{'s' if fields != 1 else ''} captured)."
        state = status.state
        if state is SourceState.RUNNING:
            return SourceText(f"{name}{size}", _tip(status), "", "", "")
        if state is SourceState.OPENING:
            return SourceText(f"{name}: opening…", _tip(status), "", "", "")
        if state is SourceState.LOST:
            tries = f" (attempt {status.attempts})" if status.attempts else ""
            banner = (
                f"Camera lost: {_sentence(status.message) or 'no frames.'} Trying to "
                f"reconnect{tries}… {safe} Check the cable, or press Reconnect (Ctrl+R)."
            )
            return SourceText(f"{name}: LOST", _tip(status), banner, "error", "Reconnect")
        if state is SourceState.FAILED:
            banner = (
                f"The source could not be opened: {_sentence(status.message)} Trying again… "
                f"{safe} Choose another source in the Source menu, or press Retry."
            )
            return SourceText(f"{name}: not available", _tip(status), banner, "error", "Retry")
        return SourceText(f"{name}: stopped", _tip(status), "", "", "")


def _sentence(text: str) -> str:
    """`text` ending with one full stop."""
    text = text.strip().rstrip(".")
    return f"{text}." if text else ""


def _tip(status: SourceStatus) -> str:
    info = status.info
    if info is None:
        return status.message
    return f"{info.kind}: {info.name}, {info.width}×{info.height}, nominal {info.fps:g} FPS"
