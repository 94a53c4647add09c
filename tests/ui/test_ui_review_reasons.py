"""Why a cell is flagged for review, where the station shows it: the overlay label, the
caption over a field under review, the gallery's tooltip (the logic is Qt-free and
tested first without a window, then on the real station)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from station_fixtures import Station, capture

from hemoscope.core import (
    DEFAULT_TAXONOMY,
    REASON_DISAGREE,
    REASON_LOW_CONFIDENCE,
    REASON_UNFAMILIAR,
    Box,
    Cell,
    CellKind,
    Field,
    join_reasons,
)
from hemoscope.ui.review.gallery import ROLE_KEY
from hemoscope.ui.review.gallery_model import cell_tooltip
from hemoscope.ui.review.review_model import flag_labels, review_caption
from hemoscope.ui.shared.overlay import label_text

BOTH = join_reasons([REASON_LOW_CONFIDENCE, REASON_UNFAMILIAR])


def cell(reason: str = "", *, review: bool = True, final: str | None = None) -> Cell:
    return Cell.create(Box(0, 0, 40, 40), CellKind.WBC, auto_class="monocyte", final_class=final,
                       probability=0.41, review=review, review_reason=reason)  # fmt: skip


def test_flag_labels_and_overlay_label() -> None:
    assert flag_labels(cell(BOTH)) == "Low confidence, Unfamiliar cell"
    assert flag_labels(cell()) == "" and flag_labels(cell(review=False)) == ""
    assert label_text(cell(REASON_LOW_CONFIDENCE), DEFAULT_TAXONOMY) == (
        "Monocyte 41% · Low confidence"
    )
    assert label_text(cell(), DEFAULT_TAXONOMY) == "Monocyte 41%"  # old data: no reason
    # Once decided the label shows the decision, not the reason.
    assert label_text(cell(BOTH, final="blast"), DEFAULT_TAXONOMY).startswith("✎ ")
    assert "Low" not in label_text(cell(BOTH, final="monocyte"), DEFAULT_TAXONOMY)


def test_review_caption_names_the_selected_cells_reasons() -> None:
    flagged, other = cell(REASON_DISAGREE), cell(review=False)
    field = Field.create([flagged, other], 100, 100)
    assert review_caption(2, 3, field, flagged) == (
        "REVIEW  field 2 of 3  ·  1 to review  ·  selected: Detector and classifier disagree"
    )
    assert review_caption(2, 3, field, other) == "REVIEW  field 2 of 3  ·  1 to review"
    assert review_caption(1, 1, field, None) == "REVIEW  field 1 of 1  ·  1 to review"
    done = replace(flagged, final_class="lymphocyte")
    assert review_caption(1, 1, Field.create([done], 9, 9), done) == "REVIEW  field 1 of 1"


def test_gallery_tooltip_explains_the_reasons() -> None:
    tip = cell_tooltip(cell(BOTH), 4, DEFAULT_TAXONOMY).splitlines()
    assert tip[:3] == ["Field 4", "Classifier: Monocyte (41%)", "Flagged for review:"]
    assert tip[3] == "  Low confidence: the classifier is unsure of the class"
    assert tip[4].startswith("  Unfamiliar cell: the cell looks unlike any class")
    assert "Flagged for review" in cell_tooltip(cell(), 1, DEFAULT_TAXONOMY).splitlines()
    decided = cell_tooltip(cell(BOTH, final="blast"), 1, DEFAULT_TAXONOMY).splitlines()
    assert "Was flagged: Low confidence, Unfamiliar cell" in decided
    assert not any(line.startswith("Flagged") for line in decided)
    plain = cell_tooltip(cell(review=False), 1, DEFAULT_TAXONOMY)
    assert "lagged" not in plain


def test_station_shows_why_the_selected_cell_is_flagged(qtbot: QtBot, station: Station) -> None:
    win = station.window
    field_id = capture(qtbot, win)
    field = win.workspace.field(field_id)
    assert field is not None
    flagged = field.get(win.review.cell_id or "")
    assert flagged is not None and flagged.review_reason == REASON_LOW_CONFIDENCE  # saved
    assert win.view.caption.endswith("1 to review  ·  selected: Low confidence")
    assert label_text(flagged, win.workspace.taxonomy).endswith("· Low confidence")
    # The gallery's thumbnail of the flagged cell says why.
    win.gallery.flush()
    section = win.gallery.sections["monocyte"]
    item = section.item(0)
    assert item is not None and tuple(item.data(ROLE_KEY)) == (field_id, flagged.id)
    assert "Low confidence: the classifier is unsure of the class" in item.toolTip()
    # Another cell selected: the caption no longer names a reason.
    qtbot.keyClick(win.view, Qt.Key.Key_Left)
    assert win.review.cell_id != flagged.id and "selected:" not in win.view.caption
    # Confirmed: no longer awaiting review, but the reason is kept and shown as past.
    win.review.select(flagged.id)
    assert "selected: Low confidence" in win.view.caption
    qtbot.keyClick(win.view, Qt.Key.Key_Return)
    done = win.workspace.field(field_id).get(flagged.id)  # type: ignore[union-attr]
    assert done is not None and done.final_class == "monocyte" and not done.pending_review
    assert done.review_reason == REASON_LOW_CONFIDENCE
    assert "selected:" not in win.view.caption and "to review" not in win.view.caption
    win.gallery.flush()
    tip = win.gallery.sections["monocyte"].item(0).toolTip()  # type: ignore[union-attr]
    assert "Was flagged: Low confidence" in tip
