"""``hemoscope train classifier|detector`` when the training extra is installed."""

from __future__ import annotations

import argparse
import importlib
import logging

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``train`` if this installation has ``hemoscope.training``.

    The offline bundle leaves training (and PyTorch) out, so there the command does not
    exist rather than failing when run. The module is imported by name so the import
    contracts keep PyTorch's optional extra out of the application's import graph.
    """
    try:
        training_cli = importlib.import_module("hemoscope.training.cli")
    except ImportError:
        log.debug("hemoscope.training is not installed; no train command")
        return
    training_cli.register_train(subparsers)
