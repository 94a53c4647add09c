"""Settings ▸ Models: "Adapt to this microscope…" on a small case database (the tiny
models), the before/after table, accept or discard, "Use shipped model", and the worker
taking the profile from the next frame on."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget
from pytestqt.qtbot import QtBot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "commands"))
from adapt_db import case_database
from tiny_models import smear_field, tiny_models

from hemoscope.ui.live.frames import StampedFrame
from hemoscope.ui.live.inference import InferenceWorker
from hemoscope.ui.settings.adapt_dialog import AdaptDialog
from hemoscope.ui.settings.adapt_model import ModelsContext
from hemoscope.ui.settings.settings_dialog import SettingsDialog
from hemoscope.ui.settings.settings_model import StationSettings
from hemoscope.vision.lab_profile import LabProfile


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("torch")
    return tiny_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture
def context(tmp_path: Path, models: tuple[Path, Path]) -> ModelsContext:
    from hemoscope.vision.pipeline import Pipeline

    det, clf = models
    db, _ = case_database(tmp_path / "cases.db")
    shipped = Pipeline.load(det, clf, threads=1)
    return ModelsContext(
        cards=shipped.model_cards,
        db_path=db,
        profiles_dir=tmp_path / "lab-profiles",
        load_pipeline=lambda: Pipeline.load(det, clf, threads=1),
    )


def cells(table: QTableWidget) -> list[list[str]]:
    return [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def adapt_and_wait(qtbot: QtBot, dialog: AdaptDialog) -> None:
    qtbot.mouseClick(dialog.adapt_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=60_000)


def test_adapt_dialog_learns_from_the_verified_cells_and_keeps_the_profile(
    qtbot: QtBot, context: ModelsContext
) -> None:
    dialog = AdaptDialog(context)
    qtbot.addWidget(dialog)
    # 12 verified cells of the signed-off case (+1 smudge the classifier has no class
    # for); the open case's cells are not offered.
    counts = {row[0]: int(row[1]) for row in cells(dialog.counts)}
    assert sum(counts.values()) == 13 and counts["Smudge cell"] == 1
    assert "1 signed-off case" in dialog.intro.text()
    assert not dialog.use_button.isEnabled()

    adapt_and_wait(qtbot, dialog)
    assert dialog.outcome is not None and dialog.outcome.adaptation is not None
    rows = cells(dialog.results)
    assert rows[-2][0] == "Accuracy" and rows[-2][1] == "12"
    assert rows[-1][0] == "Balanced accuracy"
    assert dialog.results.isVisible() or not dialog.isVisible()
    assert "cross-validation" in dialog.status.text()
    note = dialog.outcome.adaptation.profile.review_note()  # how many it would flag
    assert note.startswith("Flags for review") and note in dialog.status.text()
    assert "smudge" in dialog.status.text()  # the skipped cell is named
    assert dialog.use_button.isEnabled() == (not dialog.outcome.adaptation.refusal)
    if dialog.outcome.adaptation.refusal:
        pytest.skip("the tiny models' profile came out worse; refusal is tested elsewhere")

    with qtbot.waitSignal(dialog.accepted):
        qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert dialog.profile_path is not None and dialog.profile_path.parent == context.profiles_dir
    profile = LabProfile.load(dialog.profile_path)
    assert profile.cells == 12 and profile.sha256[:12] in dialog.profile_path.name


def test_a_refused_profile_cannot_be_used(
    qtbot: QtBot, context: ModelsContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hemoscope.vision.lab_adapt import Adaptation

    monkeypatch.setattr(Adaptation, "refusal", property(lambda self: "worse than shipped"))
    dialog = AdaptDialog(context)
    qtbot.addWidget(dialog)
    adapt_and_wait(qtbot, dialog)
    assert "cannot be used: worse than shipped" in dialog.status.text()
    assert not dialog.use_button.isEnabled()
    with qtbot.waitSignal(dialog.rejected):
        qtbot.mouseClick(dialog.discard_button, Qt.MouseButton.LeftButton)
    assert not context.profiles_dir.exists()


def test_settings_models_page_adapts_and_reverts(
    qtbot: QtBot, context: ModelsContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hemoscope.vision.lab_adapt import Adaptation

    monkeypatch.setattr(Adaptation, "refusal", property(lambda self: ""))
    dialog = SettingsDialog(StationSettings(), models=context)
    qtbot.addWidget(dialog)
    page = dialog.models
    assert "tiny-classifier" in " ".join(w.text() for w in page.findChildren(type(page.profile)))
    assert page.profile.text().startswith("None")
    assert not page.shipped.isEnabled()

    qtbot.mouseClick(page.adapt, Qt.MouseButton.LeftButton)
    adapt = page.dialog
    assert isinstance(adapt, AdaptDialog)
    adapt_and_wait(qtbot, adapt)
    with qtbot.waitSignal(adapt.accepted):
        qtbot.mouseClick(adapt.use_button, Qt.MouseButton.LeftButton)
    chosen = dialog.settings()
    assert chosen is not None and chosen.lab_profile == str(adapt.profile_path)
    profile = LabProfile.load(chosen.lab_profile)
    assert profile.sha256[:12] in page.profile.text() and "12 verified cells" in page.profile.text()
    assert page.shipped.isEnabled()

    qtbot.mouseClick(page.shipped, Qt.MouseButton.LeftButton)
    reverted = dialog.settings()
    assert reverted is not None and reverted.lab_profile == ""
    assert page.profile.text().startswith("None")
    # The choice is kept with the station's settings.
    again, problems = StationSettings.from_dict(chosen.to_dict())
    assert again.lab_profile == chosen.lab_profile and not problems


def test_the_worker_uses_a_profile_from_the_next_frame_on(
    qtbot: QtBot, context: ModelsContext, tmp_path: Path
) -> None:
    from hemoscope.ui.settings.adapt_model import run_adaptation

    outcome = run_adaptation(context.db_path, context.load_pipeline, lambda *a: None)  # type: ignore[arg-type]
    assert outcome.adaptation is not None
    profile = outcome.adaptation.profile.save(tmp_path / "p.json")
    worker = InferenceWorker(pipeline=context.load_pipeline(), force_sync=True)
    worker.start()
    frame = StampedFrame(smear_field(3), 1, 0.0, "sim")
    results = []
    worker.result.connect(results.append)
    with qtbot.waitSignal(worker.ready) as ready:
        worker.set_lab_profile(profile)
    assert "lab profile" in worker.cards and profile.name in ready.args[0]
    worker.submit(frame)
    assert profile.stamp() in results[-1].field.models
    worker.set_lab_profile(None)
    worker.submit(frame)
    assert profile.stamp() not in results[-1].field.models
    assert "lab profile" not in worker.cards
    worker.shutdown()
    assert np.isfinite(profile.temperature)


def test_the_station_starts_with_the_profile_of_its_settings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from hemoscope.ui.app import load_pipeline
    from hemoscope.vision.lab_profile import model_identity

    shipped = load_pipeline(1)
    cards = shipped.model_cards()  # type: ignore[attr-defined]
    crop = np.zeros((1, 128, 128, 3), np.uint8)
    logits, emb = shipped.classifier.logits_and_embedding(crop)  # type: ignore[attr-defined]
    c, d = logits.shape[1], emb.shape[1]

    def profile(models: dict[str, dict[str, str]], name: str) -> Path:
        made = LabProfile(
            name=name, created="2026-12-05T06:00:00+00:00",
            classes=tuple(cards["classifier"]["classes"]), delta_weight=np.zeros((c, d)),
            delta_bias=np.zeros(c), base_temperature=1.0, temperature=1.0, models=models,
            cells_per_class={"neutrophil": 20},
        )  # fmt: skip
        made.save(tmp_path / f"{name}.json")
        return tmp_path / f"{name}.json"

    mine = profile({r: model_identity(cards[r]) for r in ("classifier", "detector")}, "ours")
    pipeline = load_pipeline(1, str(mine))
    assert pipeline.profile is not None and pipeline.profile.sha256 == LabProfile.load(mine).sha256  # type: ignore[attr-defined]
    assert any("lab profile 'ours'" in s.name for s in pipeline.stamps)  # type: ignore[attr-defined]

    other = dict(model_identity(cards["classifier"]), sha256="0" * 64)
    foreign = profile({"classifier": other}, "theirs")
    with caplog.at_level("WARNING"):
        pipeline = load_pipeline(1, str(foreign))
    assert pipeline.profile is None  # type: ignore[attr-defined]
    assert "laboratory profile not used" in caplog.text and "was made for" in caplog.text


def test_the_window_applies_and_reverts_the_profile_chosen_in_settings(
    qtbot: QtBot, context: ModelsContext, tmp_path: Path
) -> None:
    from dataclasses import replace

    from hemoscope.ui.main_window import MainWindow
    from hemoscope.ui.settings.adapt_model import run_adaptation
    from hemoscope.ui.settings.settings_store import SettingsStore

    outcome = run_adaptation(context.db_path, context.load_pipeline, lambda *a: None)  # type: ignore[arg-type]
    assert outcome.adaptation is not None
    profile = outcome.adaptation.profile.save(tmp_path / "p.json")
    store = SettingsStore.at(tmp_path / "settings.ini")
    win = MainWindow(pipeline=context.load_pipeline(), force_sync=True, settings=store)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.worker.state == "ready")
    win.apply_settings(replace(win.settings, lab_profile=str(tmp_path / "p.json")))
    assert "lab profile" in win.worker.cards and win.settings.lab_profile.endswith("p.json")
    assert store.load().lab_profile == win.settings.lab_profile
    assert "Classifying with laboratory profile" in win.notice.text.text()
    assert f"({profile.kind})" in win.notice.text.text()
    # A profile that does not fit these models is not applied; the one in use stays.
    (tmp_path / "bad.json").write_text('{"format": "hemoscope-lab-profile"}')
    win.apply_settings(replace(win.settings, lab_profile=str(tmp_path / "bad.json")))
    assert win.settings.lab_profile.endswith("p.json")
    assert "not applied" in win.notice.text.text()
    assert win.worker.cards["lab profile"]["sha256"] == profile.sha256
    win.apply_settings(replace(win.settings, lab_profile=""))
    assert "lab profile" not in win.worker.cards and store.load().lab_profile == ""
    win.close()
