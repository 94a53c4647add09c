"""The `hemoscope` command line: version, GUI start-up, errors, sub-command registry."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from hemoscope import __version__, cli

SMOKE_TIMEOUT_S = 120  # a cold start on a busy 2-core machine
REPO = Path(__file__).resolve().parents[1]


def run_hemoscope(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "hemoscope", *args],
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT_S,
        env=env,
        cwd=REPO,
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"hemoscope {__version__}\n"


def test_version_does_not_import_qt() -> None:
    code = (
        "import sys, contextlib\n"
        "from hemoscope import cli\n"
        "with contextlib.suppress(SystemExit):\n"
        "    cli.main(['--version'])\n"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'hemoscope.ui'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"hemoscope {__version__}", "[]"]


def test_unknown_argument_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--no-such-option"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_bad_log_level_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--log-level", "chatty"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_no_command_starts_the_gui_with_images(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[argparse.Namespace] = []
    monkeypatch.setattr(cli, "_start_gui", lambda args: started.append(args) or 0)
    assert cli.main(["a.png", "--log-level", "debug", "some folder"]) == 0
    [args] = started
    assert args.images == [Path("a.png"), Path("some folder")]
    assert args.smoke_test is False
    assert args.log_level == "DEBUG"
    assert cli.main([]) == 0
    assert started[-1].images == []


def test_registered_subcommands() -> None:
    _, commands = cli.build_parsers(cli.COMMAND_REGISTRARS)
    assert commands is not None
    sub = next(a for a in commands._actions if isinstance(a, argparse._SubParsersAction))
    assert {"classify", "evaluate", "train"} <= set(sub.choices)
    _, none = cli.build_parsers([])
    assert none is None


def register_demo(subparsers: cli.Subparsers) -> None:
    """What another module's `register` looks like (see cli's documentation)."""
    demo = subparsers.add_parser("demo", help="a demonstration command")
    demo.add_argument("--times", type=int, default=1)
    demo.add_argument("inputs", nargs="*")
    demo.set_defaults(handler=lambda args: 40 + args.times)


def test_registered_command_runs_its_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_REGISTRARS", [register_demo])
    monkeypatch.setattr(cli, "_start_gui", lambda args: pytest.fail("GUI started"))
    assert cli.main(["demo", "--times", "2"]) == 42
    assert cli.main(["--log-level", "INFO", "demo", "x.png"]) == 41


def test_images_still_work_beside_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    args = cli.parse_args(["field.png", "--smoke-test"], registrars=[register_demo])
    assert args.images == [Path("field.png")] and args.smoke_test
    assert not hasattr(args, "handler")
    args = cli.parse_args(["./demo"], registrars=[register_demo])  # a file named "demo"
    assert args.images == [Path("demo")]


def test_help_lists_registered_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"], registrars=[register_demo])
    out = capsys.readouterr().out
    assert "hemoscope [options] [IMAGE ...]" in out
    assert "demo" in out and "a demonstration command" in out


def test_smoke_test_exits_0() -> None:
    result = run_hemoscope("--smoke-test")
    assert result.returncode == 0, result.stderr


def test_smoke_test_with_images(tmp_path: Path) -> None:
    good = tmp_path / "field.png"
    cv2.imwrite(str(good), np.full((60, 80, 3), 200, np.uint8))
    result = run_hemoscope("--smoke-test", "--log-level", "INFO", str(good))
    assert result.returncode == 0, result.stderr
    assert "smoke test passed" in result.stderr

    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    result = run_hemoscope("--smoke-test", str(good), str(bad))
    assert result.returncode == 4
    assert "broken.jpg" in result.stderr
