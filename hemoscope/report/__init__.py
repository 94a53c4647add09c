"""Reports and exports of a case.

- PDF and printing, one HTML document rendered with Qt's GUI module (never widgets):
  :func:`write_pdf`, :func:`build_report` then :meth:`ReportDocument.render` onto a
  `QPdfWriter` or the `QPrinter` of a print or preview dialog, :func:`print_report`.
  Headless when needed (:func:`ensure_gui_application`).
- Sign-off: :func:`pending_review_cells` (and :func:`pending_flags`, by reason),
  :func:`confirm_pending`, :func:`sign_off`.
- CSV / JSON: :func:`write_cells_csv`, :func:`write_summary_csv`, :func:`write_json`
  (formula-safe, atomic, `ExportError` on failure); :func:`standing_decisions` turns an
  audit trail into "corrected by / at".
- Retraining: :func:`export_crops` (ImageFolder), :func:`export_yolo` (detector).
"""

from .atomic import ExportError, atomic_write_bytes, atomic_write_text
from .content import ReportContent, ReviewCounts, report_content
from .crops import CROP_SCALE, CropFunction, FieldImages, square_crop
from .decisions import AuditLike, Decision, Decisions, standing_decisions
from .document import ReportDocument, configure_page, ensure_gui_application, to_qimage
from .export import (
    cells_csv,
    export_dict,
    neutralise_formula,
    summary_csv,
    write_cells_csv,
    write_json,
    write_summary_csv,
)
from .pdf import build_report, pdf_bytes, print_report, write_pdf
from .retrain import YOLO_CLASSES, RetrainExport, export_crops, export_yolo
from .settings import (
    LabInfo,
    PageSize,
    ReportSettings,
    SoftwareInfo,
    with_case_models,
)
from .signoff import (
    PendingCell,
    PendingReviewError,
    SignOff,
    confirm_pending,
    pending_flags,
    pending_review_cells,
    sign_off,
)
from .thumbnails import CellMapImages, thumbnail_cells

__all__ = [
    "CROP_SCALE",
    "YOLO_CLASSES",
    "AuditLike",
    "CellMapImages",
    "CropFunction",
    "Decision",
    "Decisions",
    "ExportError",
    "FieldImages",
    "LabInfo",
    "PageSize",
    "PendingCell",
    "PendingReviewError",
    "ReportContent",
    "ReportDocument",
    "ReportSettings",
    "RetrainExport",
    "ReviewCounts",
    "SignOff",
    "SoftwareInfo",
    "atomic_write_bytes",
    "atomic_write_text",
    "build_report",
    "cells_csv",
    "configure_page",
    "confirm_pending",
    "ensure_gui_application",
    "export_crops",
    "export_dict",
    "export_yolo",
    "neutralise_formula",
    "pdf_bytes",
    "pending_flags",
    "pending_review_cells",
    "print_report",
    "report_content",
    "sign_off",
    "square_crop",
    "standing_decisions",
    "summary_csv",
    "thumbnail_cells",
    "to_qimage",
    "with_case_models",
    "write_cells_csv",
    "write_json",
    "write_pdf",
    "write_summary_csv",
]
