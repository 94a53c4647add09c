"""The case-level results of ``hemoscope analyze``: differential, smear estimates, table.

All the maths is the core's: `Tally` (counts, percentages, Clopper-Pearson intervals,
NRBC per 100 WBC) and `smear_estimates` (platelets and WBC per field x a factor).
Estimates are marked as such in the JSON (``"is_estimate": true``) and in the table.
"""

from __future__ import annotations

from typing import Any

from hemoscope.core import (
    DEFAULT_TAXONOMY,
    RED_CELL_ESTIMATE_LABEL,
    STANDARD_SENSITIVITY,
    Case,
    Cell,
    CellKind,
    Field,
    FlagCounts,
    RedCellSummary,
    SmearEstimate,
    Tally,
    Taxonomy,
    count_flags,
    effective_kind,
    reported_class,
    round_half_up,
    smear_estimates,
)
from hemoscope.core.unusual import unfamiliar_count, unusual

__all__ = [
    "ESTIMATE_NOTE",
    "case_flags",
    "cell_row",
    "differential_json",
    "estimates_json",
    "field_counts",
    "flags_json",
    "red_cells_json",
    "red_cells_line",
    "summary_rows",
    "table",
    "unusual_json",
]

ESTIMATE_NOTE = (
    "Smear estimates from cells per field, not counts: the factors depend on the microscope "
    "and must be checked by the laboratory against analyser counts."
)


def cell_row(cell: Cell, taxonomy: Taxonomy = DEFAULT_TAXONOMY) -> dict[str, Any]:
    """One cell for the JSON: ``kind`` is what it counts as, ``detected_kind`` the detector's.

    ``class`` is the taxonomy id: the white cell's class, ``"platelet"`` for a detected
    platelet, null for a red cell (and for a white cell the models could not classify).
    ``review_reason``: why the cell is flagged (reasons joined by "; "), "" when it is not.
    ``uncounted``: why a white cell found is not counted ("already counted": an earlier
    image of the run showed it; "cut by the edge"), "" when it is counted.
    """
    return {
        "box": [round(v, 1) for v in cell.box.as_tuple()],
        "kind": effective_kind(cell, taxonomy).value,
        "detected_kind": cell.kind.value,
        "class": reported_class(cell, taxonomy),
        "score": round(cell.score, 4),
        "probability": None if cell.probability is None else round(cell.probability, 4),
        "review": cell.review,
        "review_reason": cell.review_reason,
        "uncounted": cell.uncounted,
    }


def case_flags(case: Case) -> FlagCounts:
    """The case's cells flagged for review, by reason."""
    return count_flags(c for _, c in case.iter_cells())


def flags_json(flags: FlagCounts) -> dict[str, Any]:
    """``{"total": cells flagged for review, "by_reason": {reason: cells}}``; a cell
    with two reasons counts under both, one without under "reason not recorded"."""
    return {"total": flags.flagged, "by_reason": flags.by_reason}


def field_counts(field: Field, taxonomy: Taxonomy = DEFAULT_TAXONOMY) -> dict[str, int]:
    """Cells per effective kind (a WBC detection classified as platelet is a platelet)."""
    counts = dict.fromkeys((k.value for k in CellKind), 0)
    for cell in field.cells:
        counts[effective_kind(cell, taxonomy).value] += 1
    return {"wbc": counts["wbc"], "rbc": counts["rbc"], "platelet": counts["platelet"]}


def differential_json(tally: Tally) -> dict[str, Any]:
    """``{"total", "classes": {id: {"count", "percent", "ci95"...}}, ...}``."""
    classes: dict[str, Any] = {}
    for row in tally.rows:
        ci = row.ci_percent
        classes[row.class_id] = {
            "count": row.count,
            "percent": None if row.percent is None else round(row.percent, 2),
            "ci95": None if ci is None else [round(ci[0], 2), round(ci[1], 2)],
            "in_differential": row.in_differential,
            "per_100_wbc": None if row.per_100_wbc is None else round(row.per_100_wbc, 2),
        }
    return {
        "total": tally.denominator,
        "classes": classes,
        "target": tally.target,
        "target_reached": tally.target_reached,
        "unclassified": tally.unclassified,
        "review": tally.pending_review,
        "confidence": tally.confidence,
    }


def _estimate(est: SmearEstimate | None) -> dict[str, Any] | None:
    if est is None:
        return None
    return {
        "value": round(est.value, 1),
        "unit": est.unit,
        "mean_per_field": round(est.mean_per_field, 4),
        "fields": est.n_fields,
        "factor": est.factor,
        "is_estimate": True,
    }


def estimates_json(
    case: Case,
    tally: Tally,
    *,
    platelet_factor: float,
    wbc_factor: float | None,
    taxonomy: Taxonomy = DEFAULT_TAXONOMY,
) -> dict[str, Any]:
    est = smear_estimates(case, taxonomy, platelet_factor=platelet_factor, wbc_factor=wbc_factor)
    nrbc = tally.nrbc_per_100
    return {
        "is_estimate": True,
        "note": ESTIMATE_NOTE,
        "fields": len(case.fields),
        "platelets": _estimate(est.platelets),
        "wbc": _estimate(est.wbc),
        "nrbc_per_100_wbc": None if nrbc is None else round(nrbc, 2),
    }


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def red_cells_json(red: RedCellSummary) -> dict[str, Any]:
    """The red-cell figures: red cells per field, the whole cells' diameters (median,
    interquartile range, histogram; in µm too when ``um_per_px`` is given) and the
    red-cell estimate, marked ``"is_estimate": true``."""
    hist = red.histogram()
    iqr_px, iqr_um = red.iqr_px, red.iqr_um
    return {
        "per_field": list(red.per_field),
        "total": red.total,
        "measured": red.n_measured,
        "um_per_px": red.um_per_px,
        "diameter_px": {
            "median": _r(red.median_px),
            "iqr": None if iqr_px is None else [_r(iqr_px[0]), _r(iqr_px[1])],
        },
        "diameter_um": None
        if red.um_per_px is None
        else {
            "median": _r(red.median_um),
            "iqr": None if iqr_um is None else [_r(iqr_um[0]), _r(iqr_um[1])],
        },
        "histogram": {"unit": hist.unit, "edges": list(hist.edges), "counts": list(hist.counts)},
        "estimate": {
            "is_estimate": True,
            "note": RED_CELL_ESTIMATE_LABEL,
            "mean_per_field": _r(red.mean_per_field, 4),
            "per_1000_um2": _r(red.per_1000_um2, 4),
        },
    }


def red_cells_line(red: dict[str, Any]) -> str:
    """The red cells for the table on stdout."""
    est, px, um = red["estimate"], red["diameter_px"], red["diameter_um"]
    if est["mean_per_field"] is None:
        return "red cells: no fields"
    text = f"red cells: ~{est['mean_per_field']:.1f} per field (estimate)"
    if px["median"] is not None:
        size = f"{px['median']:.1f} px"
        if um is not None and um["median"] is not None:
            size = f"{um['median']:.2f} µm ({size})"
        text += f"; median diameter {size} of {red['measured']} whole cells"
    return text


def summary_rows(tally: Tally) -> list[dict[str, object]]:
    """One row per class for ``--summary``."""
    rows: list[dict[str, object]] = []
    for r in tally.rows:
        ci = r.ci_percent
        rows.append(
            {
                "class": r.class_id,
                "name": r.display_name,
                "in_differential": r.in_differential,
                "count": r.count,
                "percent": None if r.percent is None else round(r.percent, 2),
                "ci95_low": None if ci is None else round(ci[0], 2),
                "ci95_high": None if ci is None else round(ci[1], 2),
                "per_100_wbc": None if r.per_100_wbc is None else round(r.per_100_wbc, 2),
            }
        )
    return rows


def table(
    tally: Tally,
    estimates: dict[str, Any],
    n_ok: int,
    n_failed: int,
    flags: FlagCounts | None = None,
    red_cells: dict[str, Any] | None = None,
    uncounted: dict[str, int] | None = None,
) -> str:
    """The differential as a text table, with the estimates, for stdout; with ``flags``,
    the cells flagged for review by reason; with ``red_cells`` (`red_cells_json`), the
    red cells per field and their median diameter; with ``uncounted``, the white cells
    found but not counted, by reason."""
    failed = f", {n_failed} failed" if n_failed else ""
    reached = "reached" if tally.target_reached else f"not reached, {tally.remaining} to go"
    lines = [
        f"{n_ok} image{'s' if n_ok != 1 else ''} analysed{failed}; "
        f"{tally.denominator} white cells counted (target {tally.target}: {reached})",
        *(
            [
                "white cells found but not counted: "
                + ", ".join(f"{n} {why}" for why, n in sorted(uncounted.items()))
                + " (--count-all counts them)"
            ]
            if uncounted
            else []
        ),
        "",
        f"{'class':<30}{'count':>6}{'%':>8}   95% CI",
    ]
    for r in tally.rows:
        if r.in_differential:
            pct = "" if r.percent is None else f"{round_half_up(r.percent, 1):.1f}"
            ci = r.ci_percent
            ci_text = "" if ci is None else f"{ci[0]:.1f}-{ci[1]:.1f}"
            lines.append(f"{r.display_name:<30}{r.count:>6}{pct:>8}   {ci_text}")
    others = [r for r in tally.rows if not r.in_differential and r.count]
    if others:
        lines.append("not in the differential:")
        for r in others:
            per = "" if r.per_100_wbc is None else f"{r.per_100_wbc:.1f} per 100 WBC"
            lines.append(f"  {r.display_name:<28}{r.count:>6}   {per}")
    if tally.unclassified:
        lines.append(f"unclassified white cells: {tally.unclassified}")
    flagged = str(tally.pending_review) if flags is None else flags.text()
    lines.append(f"cells flagged for review: {flagged}")
    lines += ["", "Estimates (from cells per field; not counts):"]
    lines.append("  " + _estimate_line("platelets", estimates.get("platelets"), None))
    lines.append("  " + _estimate_line("WBC", estimates.get("wbc"), "set --wbc-factor"))
    nrbc = estimates.get("nrbc_per_100_wbc")
    if nrbc is not None:
        lines.append(f"  {'NRBC':<10} {nrbc:.1f} per 100 WBC")
    if red_cells is not None:
        lines.append("  " + red_cells_line(red_cells))
    return "\n".join(lines) + "\n"


def _estimate_line(name: str, est: dict[str, Any] | None, hint: str | None) -> str:
    if est is None:
        why = hint or "no fields"
        return f"{name:<10} not estimated ({why})"
    return (
        f"{name:<10} ~{est['value']:,.0f} {est['unit']} (estimate: "
        f"{est['mean_per_field']:.2f} per field x {est['factor']:,.0f}, {est['fields']} fields)"
    )


def unusual_json(case: Case, pipeline: Any, sensitivity: str) -> dict[str, Any] | None:
    """The case against its microscope's usual unfamiliar share (`core.unusual`), when the
    laboratory profile in use records one and the standard sensitivity is in use."""
    profile = getattr(getattr(pipeline, "classifier", None), "profile", None)
    usual = getattr(profile, "usual_unfamiliar", None)
    if usual is None or sensitivity != STANDARD_SENSITIVITY:
        return None
    classified, odd = unfamiliar_count(case)
    return {
        "classified": classified,
        "unfamiliar": odd,
        "usual_share": usual.share,
        "unusual": unusual(odd, classified, usual.share),
    }
