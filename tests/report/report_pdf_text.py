"""Reading a PDF's text back for the report tests (pypdf)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from pypdf import PdfReader


def pdf_pages(path: Path) -> list[list[str]]:
    """Each page's text lines, tabs as spaces, ligatures and compatibility forms folded."""
    pages = []
    for page in PdfReader(path).pages:
        text = unicodedata.normalize("NFKC", page.extract_text()).replace("\t", " ")
        pages.append([" ".join(line.split()) for line in text.splitlines() if line.strip()])
    return pages


def row_after(lines: list[str], label: str, n: int) -> list[str]:
    """The ``n`` table cells that follow the cell ``label`` (one cell per line)."""
    i = lines.index(label)
    return lines[i + 1 : i + 1 + n]
