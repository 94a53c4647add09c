"""The finer manual classes at the station: the laboratory chooses which classes have keys
(Settings ▸ Keys, kept in the station settings), the legend shows the keyed ones, and a
class without a key is chosen from the class menu (right-click a cell)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot
from station_fixtures import TIMEOUT_MS, Station, capture, view_point

from hemoscope.ui.review.class_menu import ClassMenu
from hemoscope.ui.settings.settings_dialog import SettingsDialog
from hemoscope.ui.settings.settings_model import StationSettings
from hemoscope.ui.settings.settings_store import SettingsStore

FINER = ("promyelocyte", "myelocyte", "metamyelocyte", "reactive_lymphocyte", "plasma_cell")


def test_the_keys_page_gives_a_key_to_a_finer_class_and_takes_one_away(qtbot: QtBot) -> None:
    dialog = SettingsDialog(StationSettings())
    qtbot.addWidget(dialog)
    for class_id in FINER:  # listed, without a key until the laboratory gives one
        assert dialog.keys[class_id].text() == ""
        assert dialog.keys[class_id].placeholderText() == "none"
    dialog.keys["myelocyte"].setText("0")  # smudge's key
    assert dialog.settings() is None and "bound to both" in dialog.problem.text()
    dialog.keys["smudge"].setText("")
    edited = dialog.settings()
    assert edited is not None and edited.keymap == {"myelocyte": "0", "smudge": ""}
    assert dialog.problem.text() == ""


def test_a_laboratorys_keys_are_saved_shown_and_unkeyed_classes_stay_reachable(
    qtbot: QtBot, station: Station
) -> None:
    win = station.window
    edited = StationSettings(keymap={"myelocyte": "m", "smudge": ""})
    win.apply_settings(edited)
    assert win.settings_store.load() == edited  # kept in the station settings
    taxonomy = win.workspace.taxonomy
    assert taxonomy.key_for("smudge") == "" and taxonomy.key_for("myelocyte") == "m"

    legend = win.legend.keys.text()
    assert "<b>m</b>&nbsp;Myelocyte" in legend and "Smudge" not in legend
    assert "Plasma" not in legend and "+5&nbsp;more" in legend  # 4 finer classes + smudge
    assert "Smudge cell" in win.legend.keys.toolTip()
    assert "smudge" not in win.class_keys.actions and "myelocyte" in win.class_keys.actions
    assert "smudge" not in win.manual.tiles and "myelocyte" in win.manual.tiles

    field_id = capture(qtbot, win)
    field = win.workspace.field(field_id)
    assert field is not None
    first, second = [c for c in field.cells if c.kind.value == "wbc"][:2]
    win.review.select(first.id)
    qtbot.keyClick(win.view, Qt.Key.Key_M)  # the key the laboratory gave
    assert win.workspace.field(field_id).get(first.id).final_class == "myelocyte"  # type: ignore[union-attr]
    win.review.select(second.id)
    qtbot.keyClick(win.view, Qt.Key.Key_0)  # smudge's old key is free now: nothing
    assert win.workspace.field(field_id).get(second.id).final_class is None  # type: ignore[union-attr]

    station.answer[0] = "smudge"  # what the technician picks in the class menu
    x, y = second.box.centre
    qtbot.mouseClick(win.view.viewport(), Qt.MouseButton.RightButton, pos=view_point(win, x, y))
    qtbot.waitUntil(
        lambda: win.workspace.field(field_id).get(second.id).final_class == "smudge",  # type: ignore[union-attr]
        timeout=TIMEOUT_MS,
    )
    assert station.asked[-1] == second.box

    menu = ClassMenu(taxonomy, lambda _: None, None, preselect="smudge", relabel=True)
    texts = [a.text() for a in menu.actions()]
    assert "Smudge cell" in texts and "Myelocyte\tm" in texts and "Plasma cell" in texts
    assert "Now Smudge cell (Enter keeps it)" in texts[0]
    menu.deleteLater()


def test_settings_saved_before_the_finer_classes_still_load(tmp_path: Path) -> None:
    path = tmp_path / "old.ini"
    old = QSettings(str(path), QSettings.Format.IniFormat)
    old.beginGroup("station")
    old.setValue("keymap", json.dumps({"basophil": "b", "blast": "x", "ig": "i"}))
    old.setValue("target", 200)
    old.endGroup()
    old.sync()
    store = SettingsStore.at(path)
    settings = store.load()
    assert store.problems == []
    assert settings.target == 200 and dict(settings.keymap) == {
        "basophil": "b",
        "blast": "x",
        "ig": "i",
    }
    taxonomy = settings.taxonomy()
    assert taxonomy.by_key("x") is taxonomy["blast"] and taxonomy.by_key("6") is None
    assert all(taxonomy.key_for(c) == "" for c in FINER)
    assert taxonomy["promyelocyte"].counted_as == "ig"
