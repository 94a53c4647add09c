"""The in-memory case backend is the store kept in memory: audit, list, sign-off and lock."""

from __future__ import annotations

from datetime import date

import pytest

from hemoscope.core import Box, CaseInfo, Cell, CellKind, Field, Relabel
from hemoscope.store import CaseLockedError, CaseNotFoundError, SignOffError
from hemoscope.ui.case.memory_backend import MemoryBackend
from hemoscope.ui.case.workspace import CaseWorkspace, is_provisional
from hemoscope.ui.settings.settings_model import StationSettings


def field(review: bool) -> Field:
    cell = Cell.create(
        Box(10, 10, 50, 50), CellKind.WBC, auto_class="neutrophil", score=0.9,
        probability=0.5 if review else 0.99, review=review,
    )  # fmt: skip
    return Field.create([cell], 100, 100, "test")


def image() -> object:
    import numpy as np

    return np.zeros((100, 100, 3), np.uint8)


def test_audit_trail_list_and_search(memory_backend: MemoryBackend) -> None:
    backend = memory_backend
    a = backend.create_case(CaseInfo("A-1", patient_id="P-9", specimen_date=date(2026, 1, 5)))
    b = backend.create_case(CaseInfo("B-2"))
    f = field(review=False)
    a, _ = backend.add_field(a, f, image())  # type: ignore[arg-type]
    a, bound = backend.apply(a, Relabel(f.id, f.cells[0].id, "lymphocyte"))
    a = backend.revert(a, bound)
    actions = [r.action for r in backend.audit_trail(a)]
    assert actions == ["create", "add-field", "auto", "relabel", "undo:relabel"]
    assert {r.operator for r in backend.audit_trail(a)} == {"tech"}
    assert [s.sample_id for s in backend.list_cases()] == ["B-2", "A-1"]
    assert [s.sample_id for s in backend.list_cases("p-9")] == ["A-1"]
    assert backend.list_cases(date_from=date(2026, 1, 6), date_to=date(2026, 1, 6)) == []
    assert backend.list_cases("A-1")[0].n_fields == 1
    assert backend.open_case(b.id) == (b, None)
    with pytest.raises(CaseNotFoundError):
        backend.open_case("nope")


def test_sign_off_is_refused_while_cells_await_review_and_locks_the_case(
    memory_backend: MemoryBackend,
) -> None:
    workspace = CaseWorkspace(backend=memory_backend)
    f = field(review=True)
    workspace.add_field(f, image())  # type: ignore[arg-type]
    assert is_provisional(workspace.case.info)  # type: ignore[union-attr]
    with pytest.raises(SignOffError):
        workspace.record_sign_off(performed_by="tech", reviewed_by="Dr B")
    with pytest.raises(ValueError, match="reviewer"):
        workspace.record_sign_off(performed_by="tech", reviewed_by=" ")
    from hemoscope.core import Confirm

    workspace.apply(Confirm(f.id, f.cells[0].id))
    record = workspace.record_sign_off(performed_by="tech", reviewed_by="Dr B")
    assert record.reviewed_by == "Dr B" and workspace.locked
    with pytest.raises(CaseLockedError):
        workspace.apply(Relabel(f.id, f.cells[0].id, "monocyte"))
    with pytest.raises(CaseLockedError):
        workspace.set_info(CaseInfo("X"))
    with pytest.raises(ValueError, match="reason"):
        workspace.reopen(" ")
    workspace.reopen("count again")
    assert not workspace.locked
    workspace.apply(Relabel(f.id, f.cells[0].id, "monocyte"))
    trail = [r.action for r in workspace.backend.audit_trail(workspace.case)]  # type: ignore[arg-type]
    assert trail[-4:] == ["confirm", "sign-off", "reopen", "relabel"]


def test_report_settings_round_trip_and_bad_values() -> None:
    settings = StationSettings(
        lab_name="[Central] Lab", lab_address="1 Road", page_size="Letter",
        report_thumbnails=False, platelet_factor=20_000.0, wbc_factor=2_000.0,
    )  # fmt: skip
    back, problems = StationSettings.from_dict(settings.to_dict())
    assert (back, problems) == (settings, [])
    bad, problems = StationSettings.from_dict({"page_size": "A3", "wbc_factor": "-1"})
    assert bad == StationSettings()
    assert len(problems) == 2
    with pytest.raises(ValueError):
        StationSettings(platelet_factor=0.0)
