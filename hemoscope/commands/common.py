"""Helpers shared by the model commands: JSON output and exit statuses."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1  # nothing could be processed, or bad arguments
EXIT_PARTIAL = 2  # some inputs failed, the rest were processed


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (temp file + rename) so a failure never leaves half a file."""
    path = Path(path)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def error(message: str) -> None:
    sys.stderr.write(f"hemoscope: {message}\n")


def model_info(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": card.get("name"),
        "version": card.get("version"),
        "sha256": card.get("sha256"),
    }


def add_sensitivity_arg(p: argparse.ArgumentParser) -> None:
    from hemoscope.vision.unfamiliar import SENSITIVITIES, STANDARD

    p.add_argument(
        "--sensitivity",
        choices=tuple(SENSITIVITIES),
        default=STANDARD,
        help="review sensitivity to cells unlike any class the classifier knows: standard "
        "flags 1 %% of the training laboratory's own cells as unfamiliar, high 10 %%, "
        "highest 20 %%; use high or highest for samples where blasts are suspected "
        "(default: standard)",
    )
