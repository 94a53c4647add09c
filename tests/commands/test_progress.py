"""The plain-text progress bar: redrawn in place on a terminal, a line per tenth otherwise."""

from __future__ import annotations

import io

import pytest

import hemoscope.commands.progress as progress_module
from hemoscope.commands.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_output_gets_a_line_per_tenth() -> None:
    out = io.StringIO()
    p = Progress(250, label="analysing", stream=out)
    for i in range(250):
        p.advance(failed=i % 50 == 0)
    p.close()
    lines = out.getvalue().splitlines()
    assert 10 <= len(lines) <= 11 and "\r" not in out.getvalue()
    assert lines[-1].startswith("analysing [" + "#" * 28 + "] 250/250 (100%), 5 failed")


def test_terminal_bar_is_redrawn_and_messages_go_above_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = Terminal()
    monkeypatch.setattr(progress_module, "REDRAW_S", 0.0)  # draw on every step
    p = Progress(4, stream=out)
    p.advance()
    p.message("hemoscope: bad.png: corrupt")
    p.advance()
    p.close()
    text = out.getvalue()
    assert text.startswith("\r[#######-") and "1/4" in text
    assert "\r\033[Khemoscope: bad.png: corrupt\n\r[" in text and text.endswith("\n")
    assert "2/4" in text.splitlines()[-1]


def test_disabled_bar_still_writes_messages() -> None:
    out = Terminal()
    p = Progress(3, enabled=False, stream=out)
    p.advance()
    p.message("hemoscope: x: empty")
    p.close()
    assert out.getvalue() == "hemoscope: x: empty\n"
    assert Progress(0, stream=out).enabled is False
