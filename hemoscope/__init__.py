"""HemoScope: blood-smear differential station."""

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["BUILD_INFO", "__version__"]


def _build_info() -> dict[str, Any]:
    """What the offline bundle records of its build (version, date, commit): the
    build_info.json beside the frozen program; empty when run from the source tree."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is None:
        return {}
    try:
        info = json.loads((Path(bundle) / "build_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


__version__ = "0.1.0"
BUILD_INFO = _build_info()
if BUILD_INFO.get("full_version"):
    # A bundle names its build (a PEP 440 local version, e.g. 0.1.0+20261122.f4d0f3fd5f)
    # in --version, the About box, the reports and analyze --json.
    __version__ = str(BUILD_INFO["full_version"])
