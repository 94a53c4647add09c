"""Entry points: build the report of a case, write it as PDF, print it.

All work without widgets (the command line's ``analyze --pdf`` runs them headless).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QPagedPaintDevice, QPdfWriter

from hemoscope.core import Case

from .atomic import atomic_write_bytes
from .content import report_content
from .crops import CropFunction, FieldImages
from .document import ReportDocument, configure_page, ensure_gui_application
from .settings import ReportSettings
from .signoff import SignOff
from .thumbnails import CellMapImages

__all__ = ["build_report", "pdf_bytes", "print_report", "write_pdf"]

logger = logging.getLogger(__name__)

PDF_DPI = 300


def build_report(
    case: Case,
    settings: ReportSettings | None = None,
    *,
    images: FieldImages | None = None,
    sign_off: SignOff | None = None,
    crop: CropFunction | None = None,
    now: datetime | None = None,
    maps: CellMapImages | None = None,
) -> ReportDocument:
    """Lay out the report of ``case``. ``images`` (field id -> BGR image) is needed for
    the thumbnail page; ``crop`` replaces the built-in square crop rule; ``maps`` gives
    the cells' heat maps (`ReportSettings.class_maps`)."""
    ensure_gui_application()
    content = report_content(case, settings or ReportSettings(), now=now)
    return ReportDocument(
        content, content.settings, sign_off=sign_off, images=images, crop=crop, maps=maps
    )


def pdf_bytes(report: ReportDocument) -> bytes:
    """The report as a PDF file's bytes, on the settings' paper size."""
    data = QByteArray()
    buffer = QBuffer(data)
    if not buffer.open(QIODevice.OpenModeFlag.WriteOnly):
        raise OSError("could not open a memory buffer for the PDF")
    writer = QPdfWriter(buffer)
    writer.setResolution(PDF_DPI)
    writer.setTitle(report.title)
    sw = report.settings.software
    writer.setCreator(f"{sw.name} {sw.version}")
    configure_page(writer, report.settings.page_size)
    pages = report.render(writer)
    del writer  # finishes the file
    buffer.close()
    logger.debug("report %s: %d page(s), %d bytes", report.title, pages, data.size())
    return bytes(data.data())


def write_pdf(
    case: Case,
    path: str | os.PathLike[str],
    settings: ReportSettings | None = None,
    *,
    images: FieldImages | None = None,
    sign_off: SignOff | None = None,
    crop: CropFunction | None = None,
    maps: CellMapImages | None = None,
) -> Path:
    """Write the report of ``case`` to ``path`` as PDF, atomically.

    Raises:
        ExportError: the file cannot be written (disk full, read-only, ...); an older
            file at ``path`` is left as it was.
    """
    report = build_report(case, settings, images=images, sign_off=sign_off, crop=crop, maps=maps)
    return atomic_write_bytes(path, pdf_bytes(report))


def print_report(
    case: Case,
    device: QPagedPaintDevice,
    settings: ReportSettings | None = None,
    *,
    images: FieldImages | None = None,
    sign_off: SignOff | None = None,
    crop: CropFunction | None = None,
    set_page: bool = False,
    maps: CellMapImages | None = None,
) -> int:
    """Render the report onto a printer (or any paged device); returns the page count.

    With ``set_page`` the settings' paper size and margins are applied to ``device``
    first; otherwise the device keeps what the print dialog chose.
    """
    report = build_report(case, settings, images=images, sign_off=sign_off, crop=crop, maps=maps)
    if set_page:
        configure_page(device, report.settings.page_size)
    return report.render(device)
