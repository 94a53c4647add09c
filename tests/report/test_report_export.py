"""CSV and JSON exports: every cell, the summary, formula-injection safety, atomic writes."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from report_factories import case_with

from hemoscope.core import (
    AuditEntry,
    CaseInfo,
    Confirm,
    Delete,
    ModelStamp,
    Relabel,
    UndoHistory,
    case_from_dict,
)
from hemoscope.report import (
    Decision,
    ExportError,
    ReportSettings,
    SoftwareInfo,
    atomic_write_text,
    export_dict,
    neutralise_formula,
    report_content,
    standing_decisions,
    write_cells_csv,
    write_json,
    write_summary_csv,
)
from hemoscope.report.tables import CELL_COLUMNS

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Record:
    """An audit record as the store returns it (duck-typed)."""

    def __init__(self, n: int, operator: str, entry: AuditEntry) -> None:
        self.action, self.field_id, self.cell_id = entry.action, entry.field_id, entry.cell_id
        self.operator = operator
        self.at = T0.replace(minute=n)


def _read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # BOM for Excel, CRLF
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.mark.parametrize("text", ["=1+2", "+41 22", "-2", "@SUM(A1)", "\tcmd", "\rcmd",
                                  '=HYPERLINK("http://x","y")'])  # fmt: skip
def test_formula_starts_are_neutralised(text: str) -> None:
    assert neutralise_formula(text) == "'" + text
    assert neutralise_formula("S-1=2") == "S-1=2" and neutralise_formula("") == ""


def test_cell_csv_is_injection_safe_and_complete(tmp_path: Path) -> None:
    info = CaseInfo('=HYPERLINK("http://evil","x")', "+123", "@Doe", operator="-AB")
    case = case_with({"neutrophil": 3, "lymphocyte": 2}, info=info)
    fld = case.fields[0]
    case = case.with_field(0, replace(fld, source="=cmd|' /C calc'!A0"))
    rows = _read_csv(write_cells_csv(tmp_path / "cells.csv", report_content(case)))
    assert list(rows[0]) == list(CELL_COLUMNS)
    assert len(rows) == sum(len(f.cells) for f in case.fields)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    first = rows[0]
    assert first["sample_id"] == "'" + info.sample_id
    assert first["field_source"].startswith("'=cmd")
    assert (first["x1"], first["y1"], first["x2"], first["y2"]) == ("5.0", "10.0", "17.0", "24.0")
    assert first["detector_score"] == "0.9" and first["probability"] == "0.8"
    assert (first["auto_class"], first["final_class"], first["kind"]) == ("neutrophil", "",
                                                                          "wbc")  # fmt: skip


def test_corrected_by_and_at_follow_undo_and_redo(tmp_path: Path) -> None:
    case = case_with({"neutrophil": 4})
    fid = case.fields[0].id
    history = UndoHistory(case)
    records = []
    steps = [("AB", Relabel(fid, "w0", "band")), ("AB", Confirm(fid, "w1")),
             ("CD", Relabel(fid, "w0", "monocyte")), ("AB", Delete(fid, "w3"))]  # fmt: skip
    for n, (who, command) in enumerate(steps):
        history.do(command)
        records.append(Record(n, who, history.done[-1].audit()))
    for n in (10, 11):  # undo the delete, then CD's relabel: AB's relabel of w0 stands
        undone = history.done[-1]
        history.undo()
        records.append(Record(n, "AB", undone.audit().undone()))
    decisions = standing_decisions(records)
    assert decisions[(fid, "w0")] == Decision("AB", T0.replace(minute=0))
    assert decisions[(fid, "w1")] == Decision("AB", T0.replace(minute=1))
    assert (fid, "w2") not in decisions and (fid, "w3") not in decisions
    rows = _read_csv(write_cells_csv(tmp_path / "c.csv", report_content(history.case),
                                     decisions))  # fmt: skip
    by_id = {r["cell_id"]: r for r in rows}
    assert (by_id["w0"]["final_class"], by_id["w0"]["corrected"]) == ("band", "true")
    assert by_id["w0"]["corrected_by"] == "AB"
    assert by_id["w0"]["corrected_at"] == "2026-03-02T10:00:00+00:00"
    assert by_id["w1"]["corrected"] == "false" and by_id["w1"]["corrected_by"] == "AB"
    assert by_id["w2"]["corrected_by"] == "" and "w3" in by_id


def test_summary_csv(tmp_path: Path) -> None:
    case = case_with(
        {"neutrophil": 30, "lymphocyte": 60, "basophil": 10, "erythroblast": 5}, wbc_count=8.0
    )
    rows = _read_csv(write_summary_csv(tmp_path / "s.csv", report_content(case)))
    by_class = {r["class_id"]: r for r in rows}
    lymph = by_class["lymphocyte"]
    assert (lymph["count"], lymph["percent"], lymph["flag"]) == ("60", "60.0", "H")
    assert (lymph["reference_low"], lymph["reference_high"]) == ("18.0", "43.0")
    assert (lymph["ci_low_percent"], lymph["ci_high_percent"]) == ("49.7", "69.7")
    assert by_class["erythroblast"]["per_100_wbc"] == "5.0"
    assert by_class["erythroblast"]["in_differential"] == "false"
    assert by_class["wbc_total"]["count"] == "100"


def test_json_holds_the_case_summary_and_cells(tmp_path: Path) -> None:
    case = case_with({"neutrophil": 7, "eosinophil": 3}, wbc_count=5.0, review=1)
    path = write_json(tmp_path / "case.json", report_content(case))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert case_from_dict(data["case"]) == case
    assert data["summary"]["wbc_counted"] == 10 and data["summary"]["pending_review"] == 1
    assert data["summary"]["estimates"]["platelets"]["is_estimate"] is True
    assert len(data["cells"]) == sum(len(f.cells) for f in case.fields)
    assert export_dict(report_content(case))["software"]["name"] == "HemoScope"


def test_failing_write_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "cells.csv"
    target.write_text("old content")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("hemoscope.report.atomic.os.fsync", disk_full)
    case = case_with({"neutrophil": 2})
    with pytest.raises(ExportError) as info:
        write_cells_csv(target, report_content(case))
    assert info.value.reason == "the disk is full" and info.value.path == target
    assert "disk is full" in str(info.value) and "Nothing was changed" in str(info.value)
    assert target.read_text() == "old content"
    assert [p.name for p in tmp_path.iterdir()] == ["cells.csv"]
    assert case_with({"neutrophil": 2}) == case  # the case is a value: untouched


def test_read_only_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)  # a real read-only folder
    else:  # root ignores permissions: fail as a read-only file system would

        def read_only(*args: object, **kwargs: object) -> tuple[int, str]:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))

        monkeypatch.setattr("hemoscope.report.atomic.tempfile.mkstemp", read_only)
    try:
        with pytest.raises(ExportError) as info:
            atomic_write_text(folder / "x.json", "{}")
    finally:
        folder.chmod(0o700)
    assert info.value.reason in ("permission denied", "the target is on a read-only file system")
    assert list(folder.iterdir()) == []


def test_missing_folder_and_folder_as_target(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="the folder does not exist"):
        atomic_write_text(tmp_path / "nope" / "x.csv", "a")
    with pytest.raises(ExportError, match="the target is a folder"):
        atomic_write_text(tmp_path, "a")


def test_new_file_mode_follows_umask_and_existing_mode_is_kept(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        fresh = atomic_write_text(tmp_path / "a.csv", "x")
    finally:
        os.umask(old)
    assert fresh.stat().st_mode & 0o777 == 0o600
    kept = tmp_path / "b.csv"
    kept.write_text("y")
    kept.chmod(0o640)
    atomic_write_text(kept, "z")
    assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_text() == "z"


def test_redo_makes_a_decision_stand_again() -> None:
    entry = AuditEntry("relabel", "f0", "w0", "neutrophil", "band", "")
    records = [
        Record(0, "AB", entry),
        Record(1, "AB", entry.undone()),
        Record(2, "CD", AuditEntry("redo:relabel", "f0", "w0", "neutrophil", "band", "")),
        Record(3, "CD", AuditEntry("auto", "f0", "w1", None, "monocyte", "")),
    ]
    assert standing_decisions(records) == {("f0", "w0"): Decision("CD", T0.replace(minute=2))}


def test_the_report_names_the_models_each_field_recorded() -> None:
    loaded = ReportSettings(software=SoftwareInfo(models=(ModelStamp("now", "9", "cc" * 32),)))
    case = case_with({"neutrophil": 20})
    assert report_content(case, loaded).settings.software.models == loaded.software.models
    old = ModelStamp("hemoscope-cell-detector", "2026.01.01", "aa" * 32)
    stamped = replace(case.fields[0], models=(old,))
    case = case.with_field(0, stamped)
    models = report_content(case, loaded).settings.software.models
    assert models == (ModelStamp(old.name, old.version, old.sha256),)
