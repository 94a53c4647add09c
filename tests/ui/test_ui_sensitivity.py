"""Settings ▸ Models ▸ Review sensitivity: the choice, kept with the station's settings,
applied to the loaded models (announced with them, stamped on each field), and refused
with the reason for a classifier without unfamiliar-cell thresholds."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "commands"))
from tiny_models import smear_field, tiny_models

from hemoscope.core import SENSITIVITY_STAMP
from hemoscope.ui.live.frames import StampedFrame
from hemoscope.ui.settings.settings_dialog import SettingsDialog
from hemoscope.ui.settings.settings_model import StationSettings
from hemoscope.ui.settings.settings_store import SettingsStore


def test_the_models_page_offers_the_levels_and_the_choice_is_kept(qtbot: QtBot) -> None:
    dialog = SettingsDialog(StationSettings(review_sensitivity="high"))
    qtbot.addWidget(dialog)
    combo = dialog.models.sensitivity
    assert [combo.itemData(i) for i in range(combo.count())] == ["standard", "high", "highest"]
    assert combo.currentData() == "high" and "blasts" in combo.currentText()
    assert "10%" in str(combo.itemData(1, 3))  # ToolTipRole: what the level flags
    combo.setCurrentIndex(2)
    chosen = dialog.settings()
    assert chosen is not None and chosen.review_sensitivity == "highest"
    again, problems = StationSettings.from_dict(chosen.to_dict())
    assert again.review_sensitivity == "highest" and not problems
    damaged, problems = StationSettings.from_dict({"review_sensitivity": "paranoid"})
    assert damaged.review_sensitivity == "standard" and "review_sensitivity" in problems[0]
    with pytest.raises(ValueError, match="review sensitivity must be one of"):
        StationSettings(review_sensitivity="paranoid")


def test_the_window_applies_a_stricter_sensitivity_to_the_next_frame(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from hemoscope.ui.app import load_pipeline
    from hemoscope.ui.main_window import MainWindow

    store = SettingsStore.at(tmp_path / "settings.ini")
    win = MainWindow(pipeline=load_pipeline(1), force_sync=True, settings=store)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.worker.state == "ready")
    results = []
    win.worker.result.connect(results.append)
    with qtbot.waitSignal(win.worker.ready) as ready:
        win.apply_settings(replace(win.settings, review_sensitivity="high"))
    assert "review sensitivity high" in ready.args[0]
    assert store.load().review_sensitivity == "high"
    assert "high review sensitivity" in win.notice.text.text()
    win.worker.submit(StampedFrame(smear_field(3), 1, 0.0, "sim"))
    stamps = [m for m in results[-1].field.models if m.name == SENSITIVITY_STAMP]
    assert len(stamps) == 1 and stamps[0].version.startswith("high")
    blasts = win.window_actions.blasts_suspected  # Count ▸ Blasts Suspected: ticked
    assert blasts.isChecked() and blasts.shortcut().toString() == "Ctrl+Shift+B"
    win.apply_settings(replace(win.settings, review_sensitivity="standard"))
    assert not blasts.isChecked()
    win.worker.submit(StampedFrame(smear_field(3), 2, 0.0, "sim"))
    assert all(m.name != SENSITIVITY_STAMP for m in results[-1].field.models)
    # The menu's one key: high on, standard off; a stricter level set in Settings stays.
    blasts.trigger()
    assert win.settings.review_sensitivity == "high" and store.load().review_sensitivity == "high"
    win.apply_settings(replace(win.settings, review_sensitivity="highest"))
    assert blasts.isChecked()
    blasts.trigger()
    assert win.settings.review_sensitivity == "standard" and not blasts.isChecked()
    win.close()
    # The station starts with the level of its settings.
    assert load_pipeline(1, "", "highest").sensitivity == "highest"  # type: ignore[attr-defined]


def test_a_classifier_without_thresholds_keeps_the_standard_sensitivity(
    qtbot: QtBot, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    from hemoscope.ui.main_window import MainWindow
    from hemoscope.vision.pipeline import Pipeline

    det, clf = tiny_models(tmp_path / "tiny")  # no unfamiliar-cell statistics
    store = SettingsStore.at(tmp_path / "settings.ini")
    win = MainWindow(pipeline=Pipeline.load(det, clf, threads=1), force_sync=True, settings=store)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.worker.state == "ready")
    win.apply_settings(replace(win.settings, review_sensitivity="highest"))
    assert win.settings.review_sensitivity == "standard"
    assert store.load().review_sensitivity == "standard"
    text = win.notice.text.text()
    assert "Review sensitivity not changed" in text and "no unfamiliar-cell statistics" in text
    win.window_actions.blasts_suspected.trigger()  # refused the same way: left unticked
    assert not win.window_actions.blasts_suspected.isChecked()
    assert win.settings.review_sensitivity == "standard"
    win.close()


def test_the_station_starts_at_the_standard_level_when_the_classifier_has_no_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Settings that ask for High with models replaced by ones without unfamiliar-cell
    thresholds: the models still load (the station starts), at the standard level."""
    pytest.importorskip("torch")
    from hemoscope.ui.app import load_pipeline
    from hemoscope.vision.pipeline import Pipeline

    det, clf = tiny_models(tmp_path / "tiny")
    tiny = Pipeline.load(det, clf, threads=1)
    monkeypatch.setattr(Pipeline, "load", classmethod(lambda cls, **_kw: tiny))
    with caplog.at_level("WARNING"):
        pipeline = load_pipeline(1, "", "high")
    assert pipeline is tiny and tiny.sensitivity == "standard"
    assert "review sensitivity 'high' not used" in caplog.text


def test_a_stricter_sensitivity_mid_case_flags_the_earlier_cells_it_finds_unfamiliar(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Blasts Suspected after cells were captured: the earlier cells are scored again at
    the high level from their stored embeddings; those now unfamiliar are flagged (each in
    the audit trail, one undo step); cells a person decided, and cells already flagged
    unfamiliar, are left."""
    import numpy as np

    from hemoscope.core import REASON_UNFAMILIAR, Box, Cell, CellKind, Embedding, Field
    from hemoscope.ui.app import load_pipeline
    from hemoscope.ui.main_window import MainWindow

    store = SettingsStore.at(tmp_path / "settings.ini")
    win = MainWindow(pipeline=load_pipeline(1), force_sync=True, settings=store)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.worker.state == "ready")
    model = win.worker.classifier.unfamiliar  # type: ignore[union-attr]
    high = model.at("high")
    # Embeddings near training cells (the reference is their direction; the scale of the
    # class means), moved off them until the high level (not the standard one) finds
    # them unfamiliar; and training cells' own, familiar at both.
    rng = np.random.default_rng(0)
    scale = float(np.linalg.norm(model.means, axis=1).mean())
    reference = scale * np.asarray(model.reference, np.float32)
    between, familiar = [], []
    for row in reference[rng.choice(len(reference), 400, replace=False)]:
        noise = rng.normal(size=row.shape).astype(np.float32)
        for amount in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3):
            v = row + amount * scale * noise / np.linalg.norm(noise)
            if high.flags(v[None])[0] and not model.flags(v[None])[0]:
                between.append(v)
                break
            if amount == 0.0 and not high.flags(v[None])[0]:
                familiar.append(v)
        if len(between) >= 4 and len(familiar) >= 3:
            break
    assert len(between) >= 4 and len(familiar) >= 3

    def cell(v: np.ndarray, **extra: object) -> Cell:
        return Cell.create(Box(10, 10, 50, 50), CellKind.WBC, auto_class="lymphocyte",
                           probability=0.97, embedding=Embedding.from_vector(v), **extra)  # type: ignore[arg-type]  # fmt: skip

    decided = cell(between[3], final_class="monocyte")
    cells = [cell(v) for v in between[:3]] + [cell(v) for v in familiar[:3]] + [decided]
    cells.append(cell(between[0], review=True, review_reason=REASON_UNFAMILIAR))
    cells.append(cell(between[1], uncounted="cut by the edge"))  # out of the tally
    win.cases.capture(np.zeros((64, 64, 3), np.uint8), Field.create(cells, 64, 64))
    win.apply_settings(replace(win.settings, review_sensitivity="high"))
    qtbot.waitUntil(lambda: "captured before" in win.notice.text.text(), timeout=10_000)
    assert "Of the 6 white cells captured before, 3 are now flagged" in win.notice.text.text()
    case = win.workspace.case
    assert case is not None
    after = {c.id: c for c in case.fields[0].cells}
    assert all(after[c.id].review_reason == REASON_UNFAMILIAR for c in cells[:3])
    assert not any(after[c.id].review for c in cells[3:6])
    assert after[decided.id] == decided
    assert after[cells[-2].id] == cells[-2] and after[cells[-1].id] == cells[-1]
    assert all(after[c.id].auto_class == "lymphocyte" for c in cells[:3])
    # One undo step takes the three flags back.
    win.cases.undo_stack.undo()
    case = win.workspace.case
    assert case is not None and all(not c.review for c in case.fields[0].cells[:6])
    win.close()
