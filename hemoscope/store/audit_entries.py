"""Audit entries the store writes itself: automatic calls and request-form edits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from hemoscope.core import SENSITIVITY_STAMP, AuditEntry, CaseInfo, Field

__all__ = ["auto_entries", "field_entry", "info_change_entry"]

_INFO_FIELDS = (
    "sample_id",
    "patient_id",
    "patient_name",
    "specimen_date",
    "operator",
    "wbc_count",
    "comments",
)


def auto_entries(field: Field) -> Iterator[AuditEntry]:
    """One ``"auto"`` entry per cell the classifier called in a new field.

    Detections without a class (red cells and platelets counted per field) are summed up
    in the field's ``"add-field"`` entry instead of one row each.
    """
    for cell in field.cells:
        if cell.auto_class is None:
            continue
        prob = "" if cell.probability is None else f"p {cell.probability:.2f}, "
        flag = ", flagged for review" if cell.review else ""
        if cell.review_reason:
            flag += f": {cell.review_reason}"
        yield AuditEntry(
            "auto",
            field.id,
            cell.id,
            None,
            cell.auto_class,
            f"Automatic call {cell.auto_class} ({prob}detector {cell.score:.2f}{flag})",
        )


def info_change_entry(old: CaseInfo, new: CaseInfo) -> AuditEntry:
    """An ``"edit-info"`` entry listing each changed item as ``name: old → new``."""
    changes = [
        f"{name}: {getattr(old, name)!r} → {getattr(new, name)!r}"
        for name in _INFO_FIELDS
        if getattr(old, name) != getattr(new, name)
    ]
    return AuditEntry(
        "edit-info", None, None, None, None, "Edit case information: " + "; ".join(changes)
    )


def field_entry(field: Field) -> AuditEntry:
    """The ``"add-field"`` entry of a new field, with what the detector found in it."""
    found = f"{field.n_wbc} WBC, {field.n_rbc} RBC, {field.n_platelets} platelets"
    out = Counter(c.uncounted for c in field.cells if c.uncounted)
    if out:
        found += "; not counted: " + ", ".join(f"{n} {why}" for why, n in sorted(out.items()))
    # A laboratory profile (`hemoscope.vision.lab_profile`, stamped "lab profile 'NAME'")
    # changed what the classifier called the cells, a stricter review sensitivity which
    # were flagged: the trail names them.
    for m in field.models:
        if m.name.startswith("lab profile"):
            found += f"; classified with {m.label()}"
        elif m.name == SENSITIVITY_STAMP:
            found += f"; flagged at {m.label()}"
    return AuditEntry(
        "add-field",
        field.id,
        None,
        None,
        None,
        f"Add field {field.id[:8]} from {field.source or 'camera'}: {found}",
    )
