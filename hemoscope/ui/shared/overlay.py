"""Boxes, labels and review marks drawn over a field, in one QGraphicsItem.

One item paints every cell (hundreds of red cells included) in a single `paint` call,
which is much cheaper than an item per cell at camera rate. Sizes of lines and text are
in screen pixels, whatever the zoom.

White cells get a box in their class colour and a label ("Neutrophil 93%"); red cells
and platelets a thin, faint outline (they are counted, not labelled; hidden with
`show_minor`). A cell flagged for review and not decided yet has a dashed box, an
amber "?" badge and its reason in the label; a cell the technician decided gets a "✓"
(or "✎" when changed). Red cells and platelets are hidden unless `show_minor` (View ▸
Show Red Cells and Platelets). The selected cell has a white halo. While a box is being
drawn its outline follows the mouse. A white cell out of the tally (already counted in an
earlier field, or cut by the field's edge: `hemoscope.core.overlap`) has a dotted grey box
and says why in its label; on the live picture the edge rule is shown as the capture will
apply it.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from hemoscope.core import DEFAULT_TAXONOMY, Box, Cell, CellKind, Field, Taxonomy
from hemoscope.core.overlap import UNCOUNTED_EDGE, cut_by_edge
from hemoscope.ui.review.review_model import flag_labels, reviewable

__all__ = ["REVIEW_COLOUR", "CellOverlay", "label_text"]

REVIEW_COLOUR = QColor("#ffab00")
UNCLASSIFIED = QColor("#ffffff")
UNCOUNTED_COLOUR = QColor("#cbd2d9")
MINOR = {CellKind.RBC: QColor(255, 138, 128, 120), CellKind.PLATELET: QColor(0, 229, 255, 150)}
LABEL_BG = QColor(20, 24, 28, 200)
FONT_PX = 12.0
MARGIN = 400.0  # scene units around the field where labels may be painted


def label_text(cell: Cell, taxonomy: Taxonomy, mark: str = "") -> str:
    """The label over a box: class name, probability, and a mark for human decisions;
    a cell awaiting review adds why it is flagged ("Monocyte 41% · Low confidence"), a
    cell out of the tally why (`mark`, default its own: "Lymphocyte · already counted")."""
    mark = mark or cell.uncounted
    if mark:  # out of the tally: why, instead of why it was flagged
        plain = replace(cell, uncounted="", review=False, review_reason="")
        return f"{label_text(plain, taxonomy)} · {mark}"
    class_id = cell.effective_class
    cls = taxonomy.get(class_id) if class_id is not None else None
    name = cls.display_name.split(" (")[0] if cls is not None else (class_id or "Unclassified")
    if cell.manual:
        return f"✎ {name}"
    if cell.corrected:
        return f"✎ {name}"
    if cell.final_class is not None:
        return f"✓ {name}"
    if cell.probability is not None:
        name = f"{name} {cell.probability * 100:.0f}%"
    why = flag_labels(cell) if cell.pending_review else ""
    return f"{name} · {why}" if why else name


class CellOverlay(QGraphicsItem):
    def __init__(self, taxonomy: Taxonomy = DEFAULT_TAXONOMY) -> None:
        super().__init__()
        self.taxonomy = taxonomy
        self.field: Field | None = None
        self.selected_id: str | None = None
        self.show_minor = False  # red cells and platelets: off for a calm picture
        self.show_labels = True
        self.live = False  # a live picture: the edge rule is shown as it will apply
        self.draft: Box | None = None
        self._rect = QRectF()
        self.setZValue(1)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_field(self, field: Field | None, selected_id: str | None = None) -> None:
        self.prepareGeometryChange()
        self.field = field
        self.selected_id = selected_id
        self._rect = (
            QRectF()
            if field is None
            else QRectF(0, 0, field.width, field.height).adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
        )
        self.update()

    def set_selected(self, cell_id: str | None) -> None:
        self.selected_id = cell_id
        self.update()

    def set_draft(self, box: Box | None) -> None:
        self.draft = box
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        if self.field is None and self.draft is None:
            return
        scale = painter.worldTransform().m11() or 1.0
        # Boxes are axis-aligned: no antialiasing (it costs ~10x with hundreds of red
        # cells); labels and badges turn it on for themselves.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        selected: Cell | None = None
        if self.field is not None:
            if self.show_minor:
                self._paint_minor(painter, self.field)
            for cell in self.field.cells:
                if cell.id == self.selected_id:
                    selected = cell
                elif reviewable(cell):
                    self._paint_major(painter, cell, scale, selected=False)
            if selected is not None:
                self._paint_major(painter, selected, scale, selected=True)
        if self.draft is not None:
            pen = QPen(QColor("#ffffff"), 2, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(_rect(self.draft))

    def _paint_minor(self, painter: QPainter, field: Field) -> None:
        for kind, colour in MINOR.items():
            pen = QPen(colour, 1)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRects(
                [_rect(c.box) for c in field.cells if c.kind is kind and not reviewable(c)]
            )

    def mark(self, cell: Cell) -> str:
        """Why the cell is out of the tally: its mark, or on a live picture the edge rule
        that its capture will apply; "" when it counts."""
        field = self.field
        if cell.uncounted or not self.live or field is None or cell.kind is not CellKind.WBC:
            return cell.uncounted
        return UNCOUNTED_EDGE if cut_by_edge(cell, field.width, field.height) else ""

    def _paint_major(self, painter: QPainter, cell: Cell, scale: float, *, selected: bool) -> None:
        rect = _rect(cell.box)
        mark = self.mark(cell)
        colour = UNCOUNTED_COLOUR if mark else self._colour(cell)
        if selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for colour_, width in (("#1f2933", 11), ("#ffffff", 7)):
                halo = QPen(QColor(colour_), width)
                halo.setCosmetic(True)
                halo.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
                painter.setPen(halo)
                painter.drawRect(rect)
        pen = QPen(colour, 3.5 if selected else 2.5)
        pen.setCosmetic(True)
        if mark:
            pen.setStyle(Qt.PenStyle.DotLine)
        elif cell.pending_review:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)
        if self.show_labels or selected:
            self._paint_label(painter, cell, rect, colour, scale, bold=selected, mark=mark)
        if cell.pending_review:
            self._paint_badge(painter, rect, scale)

    def _paint_label(
        self,
        painter: QPainter,
        cell: Cell,
        rect: QRectF,
        colour: QColor,
        scale: float,
        *,
        bold: bool,
        mark: str = "",
    ) -> None:
        font = QFont(painter.font())
        font.setPixelSize(max(1, round(FONT_PX)))
        font.setBold(bold)
        text = label_text(cell, self.taxonomy, mark)
        metrics = QFontMetricsF(font)
        w = (metrics.horizontalAdvance(text) + 10) / scale
        h = (metrics.height() + 4) / scale
        top = rect.top() - h if rect.top() - h >= 0 else rect.top()
        back = QRectF(rect.left(), top, w, h)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(LABEL_BG))
        painter.drawRect(back)
        painter.setBrush(QBrush(colour))
        painter.drawRect(QRectF(back.left(), back.top(), 3 / scale, h))
        # Text is drawn unscaled, so that it stays crisp at any zoom.
        painter.translate(back.topLeft())
        painter.scale(1 / scale, 1 / scale)
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(QRectF(6, 0, w * scale, h * scale), Qt.AlignmentFlag.AlignVCenter, text)
        painter.restore()

    def _paint_badge(self, painter: QPainter, rect: QRectF, scale: float) -> None:
        radius = 8 / scale
        centre = QPointF(rect.right(), rect.top())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor("#1f2933"), 1 / scale))
        painter.setBrush(QBrush(REVIEW_COLOUR))
        painter.drawEllipse(centre, radius, radius)
        painter.translate(centre)
        painter.scale(1 / scale, 1 / scale)
        font = QFont(painter.font())
        font.setPixelSize(12)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#1f2933"))
        painter.drawText(QRectF(-8, -8, 16, 16), Qt.AlignmentFlag.AlignCenter, "?")
        painter.restore()

    def _colour(self, cell: Cell) -> QColor:
        class_id = cell.effective_class
        cls = self.taxonomy.get(class_id) if class_id is not None else None
        return QColor(cls.colour) if cls is not None else UNCLASSIFIED


def _rect(box: Box) -> QRectF:
    return QRectF(box.x1, box.y1, box.width, box.height)
