"""Pure domain layer of HemoScope: taxonomy, cells, cases, tally maths, corrections.

Depends on the standard library and numpy only (no Qt, OpenCV, ONNX Runtime or torch).
"""

from .case import Case, CaseCommand, CaseInfo, SignOff
from .case_edits import AddField, DeleteField, ManualIncrement
from .cells import Cell, Field, ModelStamp
from .corrections import (
    AddCell,
    AuditEntry,
    Confirm,
    Correction,
    CorrectionError,
    Delete,
    Relabel,
)
from .counts import Counts
from .estimates import (
    DEFAULT_PLATELET_FACTOR,
    PLATELET_FACTOR_RANGE,
    SmearEstimate,
    SmearEstimates,
    corrected_wbc_count,
    effective_kind,
    nrbc_per_100_wbc,
    platelet_estimate,
    platelets_per_field,
    reported_class,
    smear_estimates,
    wbc_estimate,
    wbc_per_field,
)
from .geometry import Box, boxes_to_array
from .history import UndoHistory
from .ids import new_id
from .reference import DEFAULT_REFERENCE, Flag, ReferenceRange, ReferenceSet
from .review import (
    REASON_DISAGREE,
    REASON_LOW_CONFIDENCE,
    REASON_NO_CELL,
    REASON_NO_WHITE_CELL,
    REASON_NOT_RECORDED,
    REASON_SEPARATOR,
    REASON_UNFAMILIAR,
    REVIEW_REASONS,
    FlagCounts,
    ReviewReason,
    count_flags,
    join_reasons,
    reason_description,
    reason_label,
    split_reasons,
)
from .serialize import SCHEMA_VERSION, case_from_dict, case_to_dict
from .stats import Interval, clopper_pearson, inverse_regularized_beta, regularized_beta
from .tally import FIVE_PART_IDS, ClassTally, FivePart, Tally, five_part, round_half_up
from .taxonomy import DEFAULT_TAXONOMY, NRBC_ID, CellClass, CellKind, Taxonomy, TaxonomyError

__all__ = [
    "DEFAULT_PLATELET_FACTOR",
    "DEFAULT_REFERENCE",
    "DEFAULT_TAXONOMY",
    "FIVE_PART_IDS",
    "NRBC_ID",
    "PLATELET_FACTOR_RANGE",
    "REASON_DISAGREE",
    "REASON_LOW_CONFIDENCE",
    "REASON_NOT_RECORDED",
    "REASON_NO_CELL",
    "REASON_NO_WHITE_CELL",
    "REASON_SEPARATOR",
    "REASON_UNFAMILIAR",
    "REVIEW_REASONS",
    "SCHEMA_VERSION",
    "AddCell",
    "AddField",
    "AuditEntry",
    "Box",
    "Case",
    "CaseCommand",
    "CaseInfo",
    "Cell",
    "CellClass",
    "CellKind",
    "ClassTally",
    "Confirm",
    "Correction",
    "CorrectionError",
    "Counts",
    "Delete",
    "DeleteField",
    "Field",
    "FivePart",
    "Flag",
    "FlagCounts",
    "Interval",
    "ManualIncrement",
    "ModelStamp",
    "ReferenceRange",
    "ReferenceSet",
    "Relabel",
    "ReviewReason",
    "SignOff",
    "SmearEstimate",
    "SmearEstimates",
    "Tally",
    "Taxonomy",
    "TaxonomyError",
    "UndoHistory",
    "boxes_to_array",
    "case_from_dict",
    "case_to_dict",
    "clopper_pearson",
    "corrected_wbc_count",
    "count_flags",
    "effective_kind",
    "five_part",
    "inverse_regularized_beta",
    "join_reasons",
    "new_id",
    "nrbc_per_100_wbc",
    "platelet_estimate",
    "platelets_per_field",
    "reason_description",
    "reason_label",
    "regularized_beta",
    "reported_class",
    "round_half_up",
    "smear_estimates",
    "split_reasons",
    "wbc_estimate",
    "wbc_per_field",
]
