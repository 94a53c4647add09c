"""The report as a QTextDocument, rendered page by page onto a PDF or a printer.

One HTML document (see :mod:`.html`) is laid out once and painted onto any
`QPagedPaintDevice`: a `QPdfWriter` for PDF files, or the `QPrinter` a print dialog or
a print-preview dialog hands over (``preview.paintRequested.connect(report.render)``).
Each page gets a footer with the sample id and "page n of m". No widgets are used;
:func:`ensure_gui_application` makes the `QGuiApplication` that fonts and images need,
headless (``offscreen``) when there is no display.
"""

from __future__ import annotations

import logging
import os
import sys

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QCoreApplication, QMarginsF, QPointF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QTextDocument,
)

from .chart import differential_chart
from .content import ReportContent
from .crops import CropFunction, FieldImages
from .html import report_html
from .html_red_cells import report_red_cells
from .html_util import map_name, thumbnail_name
from .red_cell_chart import RED_CELL_CHART, red_cell_chart
from .settings import PageSize, ReportSettings
from .signoff import SignOff
from .thumbnails import CellMapImages, ClassThumbnails, class_thumbnails

__all__ = ["ReportDocument", "configure_page", "ensure_gui_application", "to_qimage"]

logger = logging.getLogger(__name__)

_LAYOUT_DPI = 96.0  # document units: CSS pixels, 96 per inch
_FOOTER = 30.0
_MARGIN_MM = 15.0
_FONTS = ["Helvetica", "Arial", "DejaVu Sans", "Liberation Sans"]
_PAGE_IDS = {"A4": QPageSize.PageSizeId.A4, "Letter": QPageSize.PageSizeId.Letter}
_app: QGuiApplication | None = None


def ensure_gui_application() -> QGuiApplication:
    """The running `QGuiApplication`, or a new one (offscreen when there is no display).

    Raises ``RuntimeError`` when a non-GUI `QCoreApplication` already runs.
    """
    global _app
    existing = QCoreApplication.instance()
    if existing is not None:
        if not isinstance(existing, QGuiApplication):
            raise RuntimeError(
                "a QCoreApplication is running; the report needs a QGuiApplication (fonts, images)"
            )
        return existing
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and headless and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        logger.info("no display: rendering the report with the offscreen platform")
    _app = QGuiApplication([sys.argv[0] if sys.argv and sys.argv[0] else "hemoscope"])
    return _app


def configure_page(device: QPagedPaintDevice, page_size: PageSize = "A4") -> None:
    """Set the paper size and 15 mm margins on a PDF writer or printer."""
    device.setPageSize(QPageSize(_PAGE_IDS[page_size]))
    device.setPageMargins(
        QMarginsF(_MARGIN_MM, _MARGIN_MM, _MARGIN_MM, _MARGIN_MM), QPageLayout.Unit.Millimeter
    )


def to_qimage(image: npt.NDArray[np.uint8]) -> QImage:
    """A QImage copy of a BGR (or grey) uint8 array."""
    array = np.ascontiguousarray(image)
    h, w = array.shape[:2]
    if array.ndim == 2 or array.shape[2] == 1:
        fmt = QImage.Format.Format_Grayscale8
    elif array.shape[2] == 3:
        fmt = QImage.Format.Format_BGR888
    else:
        raise ValueError(f"expected a grey or BGR image, got shape {array.shape}")
    return QImage(array.data, w, h, array.strides[0], fmt).copy()


class ReportDocument:
    """A laid-out report, ready to render onto any number of paged devices."""

    def __init__(
        self,
        content: ReportContent,
        settings: ReportSettings,
        *,
        sign_off: SignOff | None = None,
        images: FieldImages | None = None,
        crop: CropFunction | None = None,
        maps: CellMapImages | None = None,
    ) -> None:
        """``maps``: each cell's heat-map picture, shown when ``settings.class_maps``."""
        ensure_gui_application()
        self.content = content
        self.settings = settings
        self.document = QTextDocument()
        # Lay out at a fixed 96 dpi whatever the screen's (macOS reports 72), so that
        # document units are CSS pixels and render() can scale them to any device.
        self._layout_device = QImage(1, 1, QImage.Format.Format_RGB32)
        dots_per_metre = round(_LAYOUT_DPI / 0.0254)
        self._layout_device.setDotsPerMeterX(dots_per_metre)
        self._layout_device.setDotsPerMeterY(dots_per_metre)
        self.document.documentLayout().setPaintDevice(self._layout_device)
        font = QFont()
        font.setFamilies(_FONTS)
        font.setPointSizeF(9.5)
        # No "fi"/"ff" ligatures: text copied or extracted from the PDF stays searchable.
        font.setFeature(QFont.Tag("liga"), 0)
        self.document.setDefaultFont(font)
        self.document.setDocumentMargin(0)
        self.document.setMetaInformation(QTextDocument.MetaInformation.DocumentTitle, self.title)
        has_logo = self._add_logo()
        has_chart = settings.chart and content.tally.denominator > 0
        if has_chart:
            chart = differential_chart(
                content.differential_rows, settings.taxonomy, settings.reference
            )
            self._add("chart.png", chart)
        red_cells = report_red_cells(content.case, settings).histogram()
        has_red_chart = settings.chart and bool(red_cells.counts)
        if has_red_chart:
            self._add(RED_CELL_CHART, red_cell_chart(red_cells))
        groups: list[ClassThumbnails] = []
        if settings.thumbnails and images is not None:
            groups = class_thumbnails(
                content.case,
                images,
                settings.taxonomy,
                per_class=settings.thumbnails_per_class,
                crop=crop,
                maps=maps if settings.class_maps else None,
            )
            n = 0
            for g in groups:
                for item in g.items:
                    self._add(thumbnail_name(n), to_qimage(item.image))
                    if item.class_map is not None:
                        self._add(map_name(n), to_qimage(item.class_map))
                    n += 1
        self._sign_off = sign_off
        self._has_logo = has_logo
        self._groups = groups
        self._charts_possible = (has_chart, has_red_chart)
        self._fitted: tuple[float, float] | None = None
        self.html = self._set_html((has_chart, has_red_chart), groups)

    def _set_html(self, charts: tuple[bool, bool], groups: list[ClassThumbnails]) -> str:
        """``charts``: with the differential's chart, with the red-cell histogram."""
        html = report_html(
            self.content,
            self.settings,
            sign_off=self._sign_off,
            has_logo=self._has_logo,
            has_chart=charts[0],
            has_red_chart=charts[1],
            thumbnails=groups,
        )
        self.document.setHtml(html)
        return html

    def _fit(self, width: float, height: float) -> None:
        """Lay out for a page size. When the report proper (without the gallery) spills
        onto a second page, drop the red-cell histogram, then the differential's chart too
        (the tables and the counts per bin hold the same numbers), if that keeps results
        and signature lines together on one page."""
        if self._fitted == (width, height):
            return
        self.document.setPageSize(QSizeF(width, height))
        chart, red = self._charts_possible
        charts = (chart, red)
        if chart or red:
            for option in ((chart, red), (chart, False), (False, False)):
                self._set_html(option, [])
                if self.document.pageCount() == 1:
                    charts = option
                    break  # else no better without them: keep them
        self.html = self._set_html(charts, self._groups)
        self._fitted = (width, height)

    @property
    def title(self) -> str:
        return f"Differential {self.content.case.info.sample_id}"

    def _add(self, name: str, image: QImage) -> None:
        self.document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)

    def _add_logo(self) -> bool:
        path = self.settings.lab.logo
        if path is None:
            return False
        logo = QImage(str(path))
        if logo.isNull():
            logger.warning("laboratory logo %s cannot be read; the report has none", path)
            return False
        if logo.height() > 240:
            logo = logo.scaledToHeight(240, Qt.TransformationMode.SmoothTransformation)
        self._add("logo.png", logo)
        return True

    def render(self, device: QPagedPaintDevice) -> int:
        """Paint every page onto ``device`` (page size and margins as set on it);
        returns the number of pages. Connect it to a preview's ``paintRequested``."""
        dpi = float(device.logicalDpiX())
        scale = dpi / _LAYOUT_DPI
        area = device.pageLayout().paintRectPixels(round(dpi))
        width, height = area.width() / scale, area.height() / scale
        body = height - _FOOTER
        self._fit(width, body)
        pages = self.document.pageCount()
        painter = QPainter()
        if not painter.begin(device):
            raise OSError("the printer or PDF file could not be opened for drawing")
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            for page in range(pages):
                if page and not device.newPage():
                    raise OSError("the printer refused a new page")
                painter.save()
                painter.scale(scale, scale)
                painter.save()
                painter.translate(0, -page * body)
                self.document.drawContents(painter, QRectF(0, page * body, width, body))
                painter.restore()
                self._footer(painter, page, pages, width, height)
                painter.restore()
        finally:
            painter.end()
        return pages

    def _footer(
        self, painter: QPainter, page: int, pages: int, width: float, height: float
    ) -> None:
        font = QFont()
        font.setFamilies(_FONTS)
        font.setPixelSize(10)  # layout units (96 per inch): 7.5 pt
        painter.setFont(font)
        painter.setPen(QColor("#808080"))
        top = height - _FOOTER + 8
        painter.drawLine(QPointF(0, top), QPointF(width, top))
        info = self.content.case.info
        sw = self.settings.software
        left = f"Sample {info.sample_id} · {sw.name} {sw.version}"
        rect = QRectF(0, top + 2, width, _FOOTER - 10)
        painter.setPen(QColor("#404040"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, left)
        painter.drawText(
            rect,
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            f"Page {page + 1} of {pages}",
        )
