"""Entry point of the frozen application (the same `hemoscope` command).

The spec puts build_info.json (version, build date, commit) in the bundle. The version
HemoScope reports is set from it before anything else is imported, so `hemoscope
--version`, the About box, the window's application version, the reports and
`analyze --json` all name this build (a PEP 440 local version, 0.1.0+20261122.f4d0f3fd5f).
"""

import json
import sys
from pathlib import Path

import hemoscope


def _build_info() -> dict:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is None:  # run from the source tree: nothing to add
        return {}
    try:
        return json.loads((Path(bundle) / "build_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


BUILD_INFO = _build_info()
if BUILD_INFO.get("full_version"):
    hemoscope.__version__ = BUILD_INFO["full_version"]
hemoscope.BUILD_INFO = BUILD_INFO  # type: ignore[attr-defined]

from hemoscope.cli import main  # noqa: E402 (after the version is set)

raise SystemExit(main())
