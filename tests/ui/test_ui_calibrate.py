"""Settings ▸ Models: "Calibrate colours to this microscope…" on a small case database (the
tiny models, their classifier card given a colour reference): what it found, accept or
discard, too few cells, the work off the GUI thread, the Models page naming the kind of
the profile in use, and the profile's identity on fields and in the audit trail."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "commands"))
from adapt_db import case_database, field_of
from tiny_models import smear_field, tiny_models

from hemoscope.core import CaseInfo
from hemoscope.store import CaseStore
from hemoscope.ui.settings.adapt_model import ModelsContext
from hemoscope.ui.settings.calibrate_dialog import CalibrateDialog
from hemoscope.ui.settings.calibrate_model import hex_colour
from hemoscope.ui.settings.settings_dialog import SettingsDialog
from hemoscope.ui.settings.settings_model import StationSettings
from hemoscope.vision.classifier import colour_average
from hemoscope.vision.lab_profile import LabProfile

REFERENCE = {"mean": [200.0, 180.0, 190.0], "std": [40.0, 50.0, 30.0]}
CELLS = 28  # white cells in the tally: 4 fields of the signed-off case, 3 of the open one


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The tiny detector, the tiny classifier, and a copy of it whose card has a colour
    reference (the tiny models have none)."""
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("tiny-models")
    det, clf = tiny_models(folder)
    (folder / "ref").mkdir()
    for suffix in (".onnx", ".json"):
        shutil.copy(clf.with_suffix(suffix), folder / "ref" / f"classifier{suffix}")
    card = json.loads((folder / "ref" / "classifier.json").read_text())
    card["colour_reference"] = REFERENCE
    (folder / "ref" / "classifier.json").write_text(json.dumps(card))
    return det, folder / "ref" / "classifier.onnx", clf


def make_context(
    models: tuple[Path, Path, Path], db: Path | None, tmp_path: Path, *, reference: bool = True
) -> ModelsContext:
    from hemoscope.vision.pipeline import Pipeline

    det, clf = models[0], models[1] if reference else models[2]
    threads: list[threading.Thread] = []

    def load() -> Pipeline:
        threads.append(threading.current_thread())
        return Pipeline.load(det, clf, threads=1)

    context = ModelsContext(
        cards=Pipeline.load(det, clf, threads=1).model_cards,
        db_path=db,
        profiles_dir=tmp_path / "lab-profiles",
        load_pipeline=load,
    )
    context.loaded_on = threads  # type: ignore[attr-defined]
    return context


@pytest.fixture
def context(tmp_path: Path, models: tuple[Path, Path, Path]) -> ModelsContext:
    db, _ = case_database(tmp_path / "cases.db")
    return make_context(models, db, tmp_path)


def calibrate_and_wait(qtbot: QtBot, dialog: CalibrateDialog) -> None:
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert dialog.running or dialog.outcome is not None
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=60_000)


def test_calibrate_dialog_fits_the_microscope_off_the_gui_thread_and_keeps_the_profile(
    qtbot: QtBot, context: ModelsContext
) -> None:
    from hemoscope.commands.adapt_colour import _from_database
    from hemoscope.vision.colour_calibration import pooled_stats

    dialog = CalibrateDialog(context)
    qtbot.addWidget(dialog)
    assert "trained on" in dialog.intro.text() and "changes no labels" in dialog.intro.text()
    assert dialog.run_button.isEnabled() and not dialog.use_button.isEnabled()
    progress: list[tuple[str, int, int]] = []
    dialog._job.progress.connect(lambda *a: progress.append(a))

    calibrate_and_wait(qtbot, dialog)
    # The models were loaded, and the cells read, on a thread that is not the GUI's.
    (loaded_on,) = context.loaded_on  # type: ignore[attr-defined]
    assert loaded_on is not threading.main_thread() and loaded_on.name == "hemoscope-calibrate"
    assert ("Reading the white cells of the cases…", 2, 2) in progress
    outcome = dialog.outcome
    assert outcome is not None and outcome.error == "" and outcome.profile is not None
    assert outcome.cells == CELLS and outcome.cases == 2
    assert f"Found {CELLS} white cells in 2 case(s)" in dialog.status.text()
    cal = outcome.calibration
    assert cal is not None and cal.reference.mean == tuple(REFERENCE["mean"])
    # The same cells, and so the same colours, as `hemoscope adapt --colour-only --db`.
    crops, _, _ = _from_database(context.db_path, context.load_pipeline().classifier)  # type: ignore[arg-type]
    mean, std = pooled_stats(crops)
    assert np.allclose(cal.lab_mean, mean) and np.allclose(cal.lab_std, std)
    # Two swatches (this microscope's mean colour, the training crops') and the gains.
    assert hex_colour(cal.lab_mean) in dialog.lab_swatch.styleSheet()
    assert hex_colour((200.0, 180.0, 190.0)) == "#c8b4be" in dialog.ref_swatch.styleSheet()
    gains = [f"{g:.2f}" for g in cal.gains()]
    assert dialog.gains.text().startswith("R G B " + " ".join(gains))
    # Too few cells for neighbours here: the dialog says so (the profile has none).
    assert outcome.profile.neighbours is None
    assert dialog.neighbours.text().startswith(
        f"none yet: {CELLS} white cells, at least 50 are needed; calibrate again"
    )
    assert "neighbours" in dialog.intro.text()
    assert not dialog.found.isHidden() and dialog.use_button.isEnabled()
    assert not context.profiles_dir.exists()  # nothing is saved before it is accepted

    with qtbot.waitSignal(dialog.accepted):
        qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert dialog.profile_path is not None and dialog.profile_path.parent == context.profiles_dir
    saved = LabProfile.load(dialog.profile_path)
    assert saved.kind == "colour calibration" and saved.cells == CELLS
    assert saved.colour == cal and not saved.delta_weight.any() and not saved.cells_per_class
    assert saved.sha256[:12] in dialog.profile_path.name


def test_discard_changes_nothing(
    qtbot: QtBot, context: ModelsContext, tmp_path: Path, models: tuple[Path, Path, Path]
) -> None:
    before = str(tmp_path / "in-use.json")
    dialog = SettingsDialog(StationSettings(lab_profile=before), models=context)
    qtbot.addWidget(dialog)
    page = dialog.models
    qtbot.mouseClick(page.calibrate, Qt.MouseButton.LeftButton)
    calibrate = page.dialog
    assert isinstance(calibrate, CalibrateDialog)
    calibrate_and_wait(qtbot, calibrate)
    assert calibrate.use_button.isEnabled()
    with qtbot.waitSignal(calibrate.rejected):
        qtbot.mouseClick(calibrate.discard_button, Qt.MouseButton.LeftButton)
    assert calibrate.profile_path is None and not context.profiles_dir.exists()
    chosen = dialog.settings()
    assert chosen is not None and chosen.lab_profile == before == page.lab_profile


def test_too_few_cells_no_database_or_no_colour_reference_say_so(
    qtbot: QtBot, tmp_path: Path, models: tuple[Path, Path, Path]
) -> None:
    db = tmp_path / "few.db"
    with CaseStore.open(db) as store:  # one field: 4 white cells
        case = store.create_case(CaseInfo(sample_id="S-9"), operator="ana")
        fld, img = field_of(0, 0)
        store.add_field(case, fld, img[:, :, ::-1].copy(), operator="ana")
    few = make_context(models, db, tmp_path)
    dialog = CalibrateDialog(few)
    qtbot.addWidget(dialog)
    calibrate_and_wait(qtbot, dialog)
    assert dialog.outcome is not None and dialog.outcome.cells == 4
    text = dialog.status.text()
    assert text.startswith("No calibration:") and "4 white cell(s)" in text and "10" in text
    assert not dialog.use_button.isEnabled() and dialog.found.isHidden()
    assert dialog.run_button.isEnabled()  # more cases may be captured and it tried again
    assert not few.profiles_dir.exists()

    for ctx, words in (
        (make_context(models, None, tmp_path), "not being saved in a case database"),
        (make_context(models, tmp_path / "none.db", tmp_path), "not being saved"),
        (make_context(models, db, tmp_path, reference=False), "no colour reference"),
    ):
        dialog = CalibrateDialog(ctx)
        qtbot.addWidget(dialog)
        assert words in dialog.status.text() and not dialog.run_button.isEnabled()
        dialog.start()  # even when asked, nothing runs without a database
        assert dialog.outcome is None or dialog.outcome.profile is None
    assert not (tmp_path / "none.db").exists()


def test_accepted_calibration_is_used_stamped_and_reverted(
    qtbot: QtBot, context: ModelsContext, tmp_path: Path
) -> None:
    from hemoscope.store.audit_entries import field_entry
    from hemoscope.ui.main_window import MainWindow
    from hemoscope.ui.settings.settings_store import SettingsStore

    dialog = SettingsDialog(StationSettings(), models=context)
    qtbot.addWidget(dialog)
    page = dialog.models
    assert page.profile.text().startswith("None")
    qtbot.mouseClick(page.calibrate, Qt.MouseButton.LeftButton)
    calibrate = page.dialog
    assert isinstance(calibrate, CalibrateDialog)
    calibrate_and_wait(qtbot, calibrate)
    with qtbot.waitSignal(calibrate.accepted):
        qtbot.mouseClick(calibrate.use_button, Qt.MouseButton.LeftButton)
    chosen = dialog.settings()
    assert chosen is not None and chosen.lab_profile == str(calibrate.profile_path)
    profile = LabProfile.load(chosen.lab_profile)
    shown = page.profile.text()
    assert f"colour calibration from {CELLS} white cells" in shown and profile.date in shown
    assert profile.sha256[:12] in shown and "gains" in shown and page.shipped.isEnabled()

    # The station puts it in use: the classifier maps every crop's colours.
    store = SettingsStore.at(tmp_path / "settings.ini")
    win = MainWindow(pipeline=context.load_pipeline(), force_sync=True, settings=store)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.worker.state == "ready")
    win.apply_settings(chosen)
    clf = win.worker.classifier
    assert clf is not None and clf.profile is not None and clf.profile.colour == profile.colour
    assert "colour calibration" in win.worker.cards["lab profile"]["version"]
    crops = np.random.default_rng(0).integers(60, 230, (2, clf.input_size, clf.input_size, 3))
    crops = crops.astype(np.uint8)
    with_colour = clf.classify_crops(crops).embedding
    assert profile.colour is not None
    assert np.array_equal(clf._calibrated(crops), profile.colour.apply(crops))
    camera = clf.logits_and_embedding(crops)  # the shipped graph
    mapped = clf.logits_and_embedding(profile.colour.apply(crops))
    assert np.allclose(with_colour, colour_average(camera, mapped)[1], atol=1e-5)

    # Fields analysed with it name it, its kind included, and so does the audit trail.
    pipeline = context.load_pipeline()
    pipeline.set_profile(profile)
    fld = pipeline.analyze(smear_field(3))
    assert profile.stamp() in fld.models
    assert "colour calibration" in profile.stamp().label()
    assert "classified with lab profile 'this microscope'" in field_entry(fld).detail
    assert f"{CELLS} cells, colour calibration" in field_entry(fld).detail

    # "Use shipped model" reverts.
    qtbot.mouseClick(page.shipped, Qt.MouseButton.LeftButton)
    reverted = dialog.settings()
    assert reverted is not None and reverted.lab_profile == ""
    win.apply_settings(replace(win.settings, lab_profile=reverted.lab_profile))
    clf = win.worker.classifier
    assert clf is not None and clf.profile is None and "lab profile" not in win.worker.cards
    without = clf.classify_crops(crops).embedding
    assert not np.allclose(with_colour, without, atol=1e-5)
    win.close()


def test_a_labelled_profile_replaces_the_colour_calibration_on_the_models_page(
    qtbot: QtBot, context: ModelsContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hemoscope.ui.settings.adapt_dialog import AdaptDialog
    from hemoscope.vision.lab_adapt import Adaptation

    monkeypatch.setattr(Adaptation, "refusal", property(lambda self: ""))
    dialog = SettingsDialog(StationSettings(), models=context)
    qtbot.addWidget(dialog)
    page = dialog.models
    assert "replaces the profile in use" in " ".join(w.text() for w in page.findChildren(QLabel))
    qtbot.mouseClick(page.calibrate, Qt.MouseButton.LeftButton)
    calibrate = page.dialog
    assert isinstance(calibrate, CalibrateDialog)
    calibrate_and_wait(qtbot, calibrate)
    with qtbot.waitSignal(calibrate.accepted):
        qtbot.mouseClick(calibrate.use_button, Qt.MouseButton.LeftButton)
    colour_only = page.lab_profile
    assert "'this microscope': colour calibration from 28 white cells" in page.profile.text()

    qtbot.mouseClick(page.adapt, Qt.MouseButton.LeftButton)
    adapt = page.dialog
    assert isinstance(adapt, AdaptDialog)
    assert "replaces the profile in use, a colour calibration included" in adapt.intro.text()
    qtbot.mouseClick(adapt.adapt_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: adapt.outcome is not None, timeout=60_000)
    with qtbot.waitSignal(adapt.accepted):
        qtbot.mouseClick(adapt.use_button, Qt.MouseButton.LeftButton)
    chosen = dialog.settings()
    assert chosen is not None and chosen.lab_profile == str(adapt.profile_path) != colour_only
    labelled = LabProfile.load(chosen.lab_profile)
    assert labelled.cells_per_class and labelled.kind.endswith("head refit")
    assert f"{labelled.kind} from 12 verified cells" in page.profile.text()


def test_the_dialog_names_the_neighbours_a_profile_keeps() -> None:
    from hemoscope.ui.settings.calibrate_dialog import neighbours_text
    from hemoscope.ui.settings.calibrate_model import CalibrationOutcome
    from hemoscope.vision.lab_neighbours import Neighbourhood
    from hemoscope.vision.lab_profile import LabProfile

    rng = np.random.default_rng(0)
    nb = Neighbourhood.fit(rng.normal(size=(60, 5)), rng.dirichlet(np.ones(3), 60))
    profile = LabProfile(
        name="scope",
        created="2026-12-05T00:00:00+00:00",
        classes=("a", "b", "c"),
        delta_weight=np.zeros((3, 5)),
        delta_bias=np.zeros(3),
        base_temperature=1.0,
        temperature=1.0,
        models={"classifier": {"sha256": "x"}},
        neighbours=nb,
    )
    assert neighbours_text(CalibrationOutcome(profile=profile, cells=60)) == (
        "Each new cell's probabilities: 80% the vote of its 20 most similar of these 60 cells, "
        "20% its own"
    )


def test_the_models_page_summary_names_the_neighbours_and_suggests_calibrating_again() -> None:
    from hemoscope.ui.settings.adapt_model import profile_summary
    from hemoscope.vision.lab_neighbours import Neighbourhood
    from hemoscope.vision.lab_profile import LabProfile

    rng = np.random.default_rng(1)
    profile = LabProfile.unlabelled(
        classes=("a", "b", "c"),
        embedding_size=5,
        base_temperature=1.0,
        models={"classifier": {"sha256": "x"}},
        name="scope",
        neighbours=Neighbourhood.fit(rng.normal(size=(60, 5)), rng.dirichlet(np.ones(3), 60)),
    )
    text = profile_summary(profile)
    assert "80% the vote of its 20 most similar of these 60 cells" in text
    assert "Calibrating again as the cases grow keeps more of them (up to 2,000)" in text
