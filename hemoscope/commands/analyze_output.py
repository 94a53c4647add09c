"""Output files of ``hemoscope analyze``, written as the images are processed.

Each file is written to a temporary file beside its destination and renamed into place
only when the run completes (`commit`), so an interrupted or failed run never leaves half
a file and never replaces a previous result with one. Nothing but the current image's
rows is held in memory: the JSON ``images`` array and the CSV rows are streamed.

CSV cells are protected against formula injection: a text value that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'``, so that a
spreadsheet shows it as text instead of evaluating it (a file named ``=cmd|...jpg``).
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "CELL_COLUMNS",
    "SUMMARY_COLUMNS",
    "CsvStream",
    "JsonStream",
    "OutputFile",
    "json_head",
    "printable_path",
    "safe_cell",
    "write_stdout",
]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CELL_COLUMNS = (
    "file", "cell", "kind", "detected_kind", "class", "score", "probability", "review",
    "x1", "y1", "x2", "y2", "review_reason", "uncounted",
)  # fmt: skip
SUMMARY_COLUMNS = (
    "class", "name", "in_differential", "count", "percent", "ci95_low", "ci95_high",
    "per_100_wbc",
)  # fmt: skip


def safe_cell(value: object) -> object:
    """A CSV value that no spreadsheet evaluates as a formula (``None`` -> empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class OutputFile:
    """A text file written to a temporary name, renamed into place by :meth:`commit`."""

    def __init__(self, path: Path, *, newline: str | None = None) -> None:
        self.path = Path(path)
        folder = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        self._tmp = Path(tmp)
        self.stream: TextIO = os.fdopen(fd, "w", encoding="utf-8", newline=newline)

    def commit(self) -> None:
        self.stream.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        if not self.stream.closed:
            self.stream.close()
        self._tmp.unlink(missing_ok=True)


class JsonStream(OutputFile):
    """``{"version": 2, "images": [...], <tail keys>}``, one image object per line."""

    def __init__(self, path: Path, head: Mapping[str, Any]) -> None:
        super().__init__(path)
        body = json.dumps(dict(head), ensure_ascii=False, indent=2)
        self.stream.write(body[:-1].rstrip() + (',\n  "images": [' if head else '"images": ['))
        self._count = 0

    def add_image(self, image: Mapping[str, Any]) -> None:
        sep = "," if self._count else ""
        self.stream.write(f"{sep}\n    " + json.dumps(image, ensure_ascii=False))
        self._count += 1

    def finish(self, tail: Mapping[str, Any]) -> None:
        self.stream.write("\n  ]" if self._count else "]")
        for key, value in tail.items():
            text = json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            self.stream.write(f",\n  {json.dumps(key)}: {text}")
        self.stream.write("\n}\n")
        self.commit()


class CsvStream(OutputFile):
    """A CSV file with a header row; every value goes through :func:`safe_cell`."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        super().__init__(path, newline="")
        self.columns = tuple(columns)
        self._writer = csv.writer(self.stream)
        self._writer.writerow(self.columns)

    def add_rows(self, rows: Iterable[Mapping[str, object]]) -> None:
        self._writer.writerows([safe_cell(row.get(c)) for c in self.columns] for row in rows)


def write_stdout(text: str) -> None:
    """Write to stdout; characters the console cannot show are replaced, never fatal."""
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:
        enc = sys.stdout.encoding or "ascii"
        sys.stdout.write(text.encode(enc, "replace").decode(enc))
    sys.stdout.flush()


def printable_path(path: Path | str) -> str:
    """A path as valid Unicode (undecodable bytes of a file name become U+FFFD)."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def json_head() -> dict[str, Any]:
    from hemoscope import __version__

    return {"version": 2, "software": f"hemoscope {__version__}"}
