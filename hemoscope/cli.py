"""The `hemoscope` command: starts the GUI, or runs a sub-command.

    hemoscope [--log-level LEVEL] [--smoke-test] [IMAGE ...]   start the GUI
    hemoscope [--log-level LEVEL] COMMAND [...]                 run a sub-command
    hemoscope --version

Sub-commands are registered, not written here. A module that provides commands exposes
one function ``register(subparsers)`` that adds its parsers and sets a handler::

    # hemoscope/training/cli.py  (import nothing heavy at module level)
    def register(subparsers: Subparsers) -> None:
        train = subparsers.add_parser("train", help="train a model")
        train.add_argument("--epochs", type=int, default=30)
        train.set_defaults(handler=_train)

    def _train(args: argparse.Namespace) -> int:
        from hemoscope.training.run import train   # heavy imports here, only when run
        return train(epochs=args.epochs)

and one line is added to `COMMAND_REGISTRARS` below. `main` calls the handler with the
parsed arguments and returns its result as the exit status.

The image paths of the GUI and the sub-command names share the first positional slot;
a first positional argument that names a registered command is that command (an image
file that happens to have a command's name can be opened as ``./name``).

Nothing from Qt is imported unless the GUI starts, so ``--version`` and sub-commands stay
fast and work without a display.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TypeAlias

from hemoscope import __version__
from hemoscope.commands import adapt, analyze, classify, evaluate, train

__all__ = ["COMMAND_REGISTRARS", "Registrar", "Subparsers", "build_parsers", "main"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Registrar: TypeAlias = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
Handler: TypeAlias = Callable[[argparse.Namespace], int]

COMMAND_REGISTRARS: list[Registrar] = [
    adapt.register,
    analyze.register,
    classify.register,
    evaluate.register,
    train.register,
]
"""Functions that add sub-commands; see the module documentation."""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
PROG = "hemoscope"
DESCRIPTION = "HemoScope: blood-smear differential station (offline, on the CPU)."


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: ``sys.argv[1:]``); return the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_logging(args.log_level)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is not None:
        return int(handler(args))
    return _start_gui(args)


def parse_args(
    argv: Sequence[str], registrars: Sequence[Registrar] | None = None
) -> argparse.Namespace:
    """Parse `argv` with the command parser if it names a command, else the GUI parser."""
    gui, commands = build_parsers(COMMAND_REGISTRARS if registrars is None else registrars)
    argv = list(argv)
    if commands is not None and _names_command(argv, commands):
        return commands.parse_args(argv)
    return gui.parse_intermixed_args(argv)  # options may come between image paths


def build_parsers(
    registrars: Sequence[Registrar],
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser | None]:
    """The GUI parser, and the sub-command parser (None when no command is registered)."""
    commands: argparse.ArgumentParser | None = None
    usage = f"{PROG} [options] [IMAGE ...]"
    epilog = None
    if registrars:
        parser: argparse.ArgumentParser = _CommandParser(prog=PROG, description=DESCRIPTION)
        commands = parser
        _add_global_options(commands)
        subparsers = commands.add_subparsers(title="commands", metavar="COMMAND", required=True)
        for register in registrars:
            register(subparsers)
        usage += f"\n       {PROG} [--log-level LEVEL] COMMAND ..."
        epilog = "commands (see `hemoscope COMMAND --help`):\n" + _command_list(subparsers)
    gui = argparse.ArgumentParser(
        prog=PROG,
        usage=usage,
        description=DESCRIPTION + " Without a command, starts the application.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(gui)
    gui.add_argument(
        "images",
        nargs="*",
        type=Path,
        metavar="IMAGE",
        help="image files or folders to open at start",
    )
    gui.add_argument(
        "--db",
        type=Path,
        metavar="FILE",
        help="case database (default: hemoscope-cases.db in the user's data folder)",
    )
    gui.add_argument(
        "--no-camera",
        action="store_true",
        help="start on the simulated microscope even when a camera is connected",
    )
    gui.add_argument(
        "--smoke-test",
        action="store_true",
        help="start the application, quit as soon as the main window has been painted "
        "(and the IMAGEs opened); the exit status is 0 only if all went well",
    )
    return gui, commands


class _CommandParser(argparse.ArgumentParser):
    """Sub-commands exit with 1 on wrong arguments (2 means "some inputs failed")."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def configure_logging(level: str) -> None:
    """Send log records of `level` and above to stderr."""
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="WARNING",
        type=str.upper,
        help="how much to log on stderr (default: WARNING)",
    )


class _OptionsOnly(argparse.ArgumentParser):
    """Finds the global options; raises instead of printing on a malformed one."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def _names_command(argv: list[str], commands: argparse.ArgumentParser) -> bool:
    """Whether the first positional argument, after the global options, is a command."""
    options = _OptionsOnly(add_help=False, allow_abbrev=False)
    options.add_argument("--log-level")
    try:
        _, rest = options.parse_known_args(argv)
    except ValueError:  # let the parser that is chosen report it
        return False
    first = next((arg for arg in rest if not arg.startswith("-")), None)
    return first is not None and first in _command_names(commands)


def _subparsers(parser: argparse.ArgumentParser) -> list[Subparsers]:
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]


def _command_names(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in _subparsers(parser) for name in action.choices}


def _command_list(subparsers: Subparsers) -> str:
    helps = {a.dest: a.help or "" for a in subparsers._choices_actions}
    return "\n".join(f"  {name:<16} {helps.get(name, '')}" for name in subparsers.choices)


def _start_gui(args: argparse.Namespace) -> int:
    from hemoscope.ui.app import run  # Qt is imported only when the GUI starts

    return run(
        args.images, smoke_test=args.smoke_test, db=args.db, prefer_camera=not args.no_camera
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
