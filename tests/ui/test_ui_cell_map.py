"""The cell map dock: one point per classified cell with an embedding, a click shows the
cell in its field and the gallery, a rectangle plus a class key relabels all selected
cells as one undo step (saved with its audit trail), and old cells are said to be
missing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from station_fixtures import TIMEOUT_MS, Station, capture, make_station
from ui_fakes import FakePipeline
from ui_helpers import ReportedErrors

from hemoscope.capture.source import Frame
from hemoscope.core import Embedding, Field
from hemoscope.store import CaseStore
from hemoscope.ui.case.case_backend import StoreBackend
from hemoscope.ui.main_window import MainWindow
from hemoscope.ui.review.gallery import ROLE_KEY
from hemoscope.ui.settings.settings_store import SettingsStore
from hemoscope.vision.model_card import models_dir

MEANS = np.load(models_dir() / "classifier.unfamiliar.npz")["means"]
CLASS_ROW = {"neutrophil": 6, "lymphocyte": 4, "monocyte": 5}  # rows of the shipped means


class EmbeddingPipeline(FakePipeline):
    """The fake pipeline's cells with embeddings at their class's training mean (plus a
    little noise); `without` white cells (the last ones) get none, as if saved before."""

    def __init__(self, without: int = 0) -> None:
        super().__init__()
        self.without = without
        self._rng = np.random.default_rng(0)

    def analyze(self, frame: Frame, *, source: str = "") -> Field:
        field = super().analyze(frame, source=source)
        white = [i for i, c in enumerate(field.cells) if c.auto_class is not None]
        keep = white[: len(white) - self.without]
        cells = list(field.cells)
        for i in keep:
            row = MEANS[CLASS_ROW[cells[i].auto_class or ""]]
            vector = row + self._rng.normal(0, 0.002, row.shape)
            cells[i] = replace(cells[i], embedding=Embedding.from_vector(vector))
        return replace(field, cells=tuple(cells))


def _show_map(qtbot: QtBot, win: MainWindow, points: int) -> None:
    win.cell_map_dock.raise_()
    qtbot.waitUntil(win.cell_map.isVisible, timeout=TIMEOUT_MS)
    win.cell_map.flush()
    qtbot.waitUntil(
        lambda: win.cell_map.map is not None and len(win.cell_map.map) == points,
        timeout=TIMEOUT_MS,
    )


def _mouse(widget: QWidget, kind: QEvent.Type, at: QPoint, buttons: Qt.MouseButton) -> None:
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    event = QMouseEvent(
        kind, QPointF(at), QPointF(widget.mapToGlobal(at)), button, buttons,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(widget, event)


def _drag(widget: QWidget, start: QPoint, end: QPoint) -> None:
    """A left-button drag, in steps, as a hand makes it."""
    left = Qt.MouseButton.LeftButton
    _mouse(widget, QEvent.Type.MouseButtonPress, start, left)
    for t in np.linspace(0.1, 1.0, 6):
        step = QPoint(round(start.x() + t * (end.x() - start.x())),
                      round(start.y() + t * (end.y() - start.y())))  # fmt: skip
        _mouse(widget, QEvent.Type.MouseMove, step, left)
    _mouse(widget, QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)


def test_one_point_per_cell_with_an_embedding_and_the_others_said(
    qtbot: QtBot, settings_store: SettingsStore, reported: ReportedErrors
) -> None:
    st = make_station(qtbot, settings_store, reported, pipeline=EmbeddingPipeline(without=1))
    win = st.window
    try:
        field_id = capture(qtbot, win)
        _show_map(qtbot, win, points=2)
        cells_map = win.cell_map.map
        assert cells_map is not None and cells_map.missing == 1
        field = win.workspace.field(field_id)
        assert field is not None
        with_embedding = [c.id for c in field.cells if c.embedding is not None]
        assert [p.cell_id for p in cells_map.points] == with_embedding
        x, _ = win.cell_map.view._dots.getData()
        assert len(x) == 2  # drawn: one dot per cell on the map
        assert "2 cells on the map" in win.cell_map.summary.text()
        assert "1 classified cell saved before embeddings were kept" in win.cell_map.summary.text()
        # The cells sit at their classes' training centres (the map's reference stars).
        proj_centres = win.cell_map.view._centres_xy()
        for point, xy in zip(cells_map.points, cells_map.xy, strict=True):
            centre = proj_centres[CLASS_ROW[point.class_id]]
            assert np.linalg.norm(xy - centre) < 0.5
    finally:
        win.close()


def test_a_click_shows_the_cell_in_its_field_and_in_the_gallery(
    qtbot: QtBot, settings_store: SettingsStore, reported: ReportedErrors
) -> None:
    st = make_station(qtbot, settings_store, reported, pipeline=EmbeddingPipeline())
    win = st.window
    try:
        field_id = capture(qtbot, win)
        qtbot.keyClick(win.view, Qt.Key.Key_Escape)  # back to live
        _show_map(qtbot, win, points=3)
        view = win.cell_map.view
        cells_map = win.cell_map.map
        assert cells_map is not None
        target = cells_map.points[1]
        at = view.view_point(1).toPoint()
        qtbot.mouseMove(view.viewport(), at)
        qtbot.waitUntil(win.cell_map.hover.isVisible, timeout=TIMEOUT_MS)
        assert win.cell_map.hover.key == (field_id, target.cell_id)
        assert not win.cell_map.hover.picture.pixmap().isNull()
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
        assert win.review.mode == "review"
        assert (win.review.field_id, win.review.cell_id) == (field_id, target.cell_id)
        assert win.view.overlay.field is not None and win.view.overlay.field.id == field_id
        assert view.current == 1  # the cell in the picture wears the ring on the map
        win.gallery_dock.raise_()
        qtbot.waitUntil(win.gallery.isVisible, timeout=TIMEOUT_MS)
        chosen = [
            tuple(item.data(ROLE_KEY))
            for section in win.gallery.sections.values()
            for item in section.selectedItems()
        ]
        assert chosen == [(field_id, target.cell_id)]
    finally:
        win.close()


def test_a_rectangle_and_a_class_key_relabel_all_as_one_undo_step(
    qtbot: QtBot, tmp_path: Path, settings_store: SettingsStore, reported: ReportedErrors
) -> None:
    backend = StoreBackend(tmp_path / "cases.db", operator="tech1")
    st = make_station(qtbot, settings_store, reported, backend=backend,
                      pipeline=EmbeddingPipeline())  # fmt: skip
    win = st.window
    try:
        field_id = capture(qtbot, win)
        qtbot.keyClick(win.view, Qt.Key.Key_Escape)
        _show_map(qtbot, win, points=3)
        view = win.cell_map.view
        corners = [view.view_point(i) for i in range(3)]
        xs, ys = [p.x() for p in corners], [p.y() for p in corners]
        start = QPoint(round(min(xs)) - 12, round(min(ys)) - 12)
        end = QPoint(round(max(xs)) + 12, round(max(ys)) + 12)
        _drag(view.viewport(), start, end)
        assert len(win.cell_map.selected_cells()) == 3
        assert "3 selected" in win.cell_map.summary.text()
        assert view.hasFocus()
        qtbot.keyClick(view, Qt.Key.Key_4)  # eosinophil, all three
        assert win.differential.tally.count("eosinophil") == 3  # type: ignore[union-attr]
        assert win.cases.undo_stack.undoText() == "Label 3 cells as Eosinophil"
        win.cell_map.flush()
        qtbot.waitUntil(
            lambda: (
                win.cell_map.map is not None
                and {p.class_id for p in win.cell_map.map.points} == {"eosinophil"}
            ),
            timeout=TIMEOUT_MS,
        )
        assert len(win.cell_map.selected_cells()) == 3  # the selection stays on them
        qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert win.differential.tally.count("eosinophil") == 0  # type: ignore[union-attr]
        field = win.workspace.field(field_id)
        assert field is not None
        assert {c.final_class for c in field.cells if c.auto_class} == {None}
        backend.flush()
        case_id = win.workspace.case.id  # type: ignore[union-attr]
    finally:
        win.close()
    with CaseStore.open(tmp_path / "cases.db") as store:
        trail = store.audit_trail(case_id)
        stored = store.load_case(case_id)
    actions = [r.action for r in trail]
    assert actions.count("relabel") == 3 and actions.count("undo:relabel") == 3
    assert all(c.embedding is not None for c in stored.fields[0].cells if c.auto_class)


def test_a_case_without_embeddings_says_so(qtbot: QtBot, station: Station) -> None:
    win = station.window
    capture(qtbot, win)  # the plain fake pipeline keeps no embeddings
    _show_map(qtbot, win, points=0)
    assert "3 classified cells saved before embeddings were kept" in win.cell_map.summary.text()


def test_close_class_centres_put_their_names_on_opposite_sides() -> None:
    from hemoscope.ui.cellmap.map_view import ABOVE, BELOW, LEFT, RIGHT, label_anchors

    # Two centres one above the other, one pair side by side, and one far away alone.
    xy = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [11.0, 0.2], [0.0, 30.0]])
    anchors = label_anchors(xy)
    assert anchors[0] == BELOW and anchors[1] == ABOVE  # the lower one's name below it
    assert anchors[2] == LEFT and anchors[3] == RIGHT
    assert anchors[4] == ABOVE  # its nearest neighbour lies below it
    assert label_anchors(np.array([[1.0, 2.0]])) == [ABOVE]
