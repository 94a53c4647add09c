"""The inference worker (one thread, latest frame only, abort, models missing) and the
settings (QSettings on a temporary file, the dialog, applying a keymap to the station)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot
from station_fixtures import TIMEOUT_MS, Station, capture
from ui_fakes import FakePipeline, smear

from hemoscope.core import ReferenceRange
from hemoscope.ui.live.frames import LatestFrame
from hemoscope.ui.live.inference import InferenceResult, InferenceWorker
from hemoscope.ui.settings.settings_dialog import SettingsDialog
from hemoscope.ui.settings.settings_model import StationSettings
from hemoscope.ui.settings.settings_store import SettingsStore


def test_worker_analyses_on_its_thread_and_drops_stale_frames(qtbot: QtBot) -> None:
    pipeline = FakePipeline(delay_s=0.2)
    worker = InferenceWorker(pipeline=pipeline)
    results: list[InferenceResult] = []
    worker.result.connect(results.append)
    with qtbot.waitSignal(worker.ready, timeout=TIMEOUT_MS) as ready:
        worker.start()
    assert ready.args == ["fake-detector 1, fake-classifier 2"]
    slot = LatestFrame()
    try:
        first = slot.put(smear())
        worker.submit(first)
        qtbot.waitUntil(lambda: pipeline.calls == 1, timeout=TIMEOUT_MS)
        for _ in range(5):  # arrive while the first is being analysed
            worker.submit(slot.put(smear()))
        qtbot.waitUntil(lambda: len(results) == 2, timeout=TIMEOUT_MS)
        assert [r.frame.seq for r in results] == [1, 6]  # the newest, not 2..5
        assert worker.dropped == 4
        assert pipeline.threads and threading.main_thread().name not in pipeline.threads
        assert results[0].elapsed_s >= 0.2
    finally:
        assert worker.shutdown()


def test_abort_discards_the_result_in_flight(qtbot: QtBot) -> None:
    pipeline = FakePipeline(delay_s=0.2)
    worker = InferenceWorker(pipeline=pipeline)
    results: list[InferenceResult] = []
    worker.result.connect(results.append)
    with qtbot.waitSignal(worker.ready, timeout=TIMEOUT_MS):
        worker.start()
    try:
        slot = LatestFrame()
        worker.submit(slot.put(smear()))
        qtbot.waitUntil(lambda: pipeline.calls == 1, timeout=TIMEOUT_MS)
        worker.abort()  # e.g. the technician switched sources
        worker.submit(slot.put(smear()))
        qtbot.waitUntil(lambda: len(results) == 1, timeout=TIMEOUT_MS)
        assert results[0].frame.seq == 2
    finally:
        assert worker.shutdown()


def test_missing_models_are_reported_not_raised(qtbot: QtBot) -> None:
    def load() -> FakePipeline:
        raise FileNotFoundError("models/classifier.onnx")

    worker = InferenceWorker(pipeline_factory=load)
    with qtbot.waitSignal(worker.unavailable, timeout=TIMEOUT_MS) as blocker:
        worker.start()
    assert blocker.args == ["models not available: models/classifier.onnx"]
    worker.submit(LatestFrame().put(np.zeros((8, 8, 3), np.uint8)))  # ignored
    assert worker.shutdown()
    assert worker.state == "unavailable"


def test_force_sync_runs_inline_for_tests(qtbot: QtBot) -> None:
    pipeline = FakePipeline()
    worker = InferenceWorker(pipeline=pipeline, force_sync=True)
    results: list[InferenceResult] = []
    worker.result.connect(results.append)
    worker.start()
    worker.submit(LatestFrame().put(smear()))
    assert len(results) == 1 and results[0].field.n_wbc == 3
    assert worker.shutdown()


def test_settings_are_kept_in_the_given_qsettings_file(tmp_path: Path) -> None:
    path = tmp_path / "station.ini"
    store = SettingsStore.at(path)
    assert store.load() == StationSettings()
    settings = StationSettings(
        keymap={"basophil": "b"},
        target=200,
        reference=StationSettings().reference.with_range("basophil", ReferenceRange(0, 1.5)),
        beep=False,
    )
    store.save(settings)
    assert path.is_file()
    again = SettingsStore(QSettings(str(path), QSettings.Format.IniFormat)).load()
    assert again == settings


def test_the_dialog_edits_keys_and_refuses_a_key_bound_twice(qtbot: QtBot) -> None:
    dialog = SettingsDialog(StationSettings())
    qtbot.addWidget(dialog)
    dialog.keys["basophil"].setText("1")  # neutrophil's key
    assert dialog.settings() is None
    assert "bound to both" in dialog.problem.text()
    dialog.keys["basophil"].setText("b")
    dialog.target.setValue(150)
    edited = dialog.settings()
    assert edited is not None
    assert edited.keymap == {"basophil": "b"} and edited.target == 150


def test_applying_settings_rebinds_keys_and_saves_them(qtbot: QtBot, station: Station) -> None:
    win = station.window
    edited = StationSettings(keymap={"eosinophil": "e", "basophil": "4"}, target=200)
    win.apply_settings(edited)
    assert win.settings_store.load() == edited
    assert win.workspace.target == 200
    assert win.differential.target.currentText() == "200"
    assert "<b>e</b>" in win.legend.keys.text()
    capture(qtbot, win)
    cell_id = win.review.cell_id
    qtbot.keyClick(win.view, Qt.Key.Key_E)
    field = win.workspace.field(win.review.field_id or "")
    assert field is not None and field.get(cell_id or "").final_class == "eosinophil"  # type: ignore[union-attr]
    qtbot.keyClick(win.view, Qt.Key.Key_4)
    assert field is not None
    field = win.workspace.field(field.id)
    assert field.get(cell_id or "").final_class == "basophil"  # type: ignore[union-attr]
