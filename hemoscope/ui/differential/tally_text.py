"""The running differential as text for the panel's table. No Qt here.

One `TallyLine` per class with a count or in the differential (the finer manual classes
only when counted), and one per group total (immature granulocytes of every stage): its
key, name, count,
percentage with its 95% Clopper-Pearson interval (differential classes) or its value per
100 WBC (the others: NRBC, smudge, artefact, platelet), its reference range and flag.
"""

from __future__ import annotations

from dataclasses import dataclass

from hemoscope.core import NRBC_ID, ReferenceSet, Tally, Taxonomy, round_half_up
from hemoscope.core.stats import clopper_pearson

__all__ = [
    "SUBTOTAL_COLOUR",
    "TallyLine",
    "interval_width",
    "progress_text",
    "shortfall_text",
    "summary_text",
    "tally_lines",
]


#: The key cell's colour on a group total's line.
SUBTOTAL_COLOUR = "#ffffff"


@dataclass(frozen=True)
class TallyLine:
    class_id: str
    key: str
    name: str
    colour: str
    count: str
    percent: str  # "23.0 %" or "4.0 /100 WBC"; "" when nothing counted
    ci: str  # "15.2–32.3" (percent) or ""
    reference: str  # "18–43" or ""
    flag: str  # "H", "L" or ""
    in_differential: bool


def _num(value: float) -> str:
    return f"{round_half_up(value, 1):.1f}"


def _range(low: float, high: float) -> str:
    return f"{low:g}–{high:g}"


def tally_lines(tally: Tally, taxonomy: Taxonomy, reference: ReferenceSet) -> list[TallyLine]:
    """Differential classes always, but for the finer manual classes (promyelocyte, plasma
    cell...); those and the others only when counted. A group's total (immature
    granulocytes of every stage) follows the group, without a key or colour."""
    lines = []
    for row, total in tally.listed_with_subtotals():
        cls = taxonomy.get(row.class_id)
        if cls is None or (not row.in_differential and row.count == 0):
            continue
        percent = ci = ""
        if row.percent is not None:
            percent = f"{_num(row.percent)} %"
        elif row.per_100_wbc is not None:
            percent = f"{_num(row.per_100_wbc)} /100 WBC"
        if row.ci_percent is not None:
            low, high = row.ci_percent
            ci = f"{_num(low)}–{_num(high)}"
        rng = reference.get(row.class_id)
        lines.append(
            TallyLine(
                class_id=row.class_id,
                key="" if total else taxonomy.key_for(row.class_id),
                name=row.display_name if total else cls.display_name,
                colour=SUBTOTAL_COLOUR if total else cls.colour,
                count=str(row.count),
                percent=percent,
                ci=ci,
                reference="" if rng is None else _range(rng.low, rng.high),
                flag=row.flag or "",
                in_differential=row.in_differential,
            )
        )
    return lines


def progress_text(tally: Tally) -> str:
    """ "87 / 100 WBC", "100 / 100 WBC: target reached" or "103 / 100 WBC: 3 over the
    target"."""
    text = f"{tally.denominator} / {tally.target} WBC"
    over = tally.denominator - tally.target
    if over > 0:
        return f"{text}: {over} over the target"
    return f"{text}: target reached" if tally.target_reached else text


def summary_text(tally: Tally) -> str:
    """NRBC per 100 WBC, fields, cells awaiting review, corrections, manual counts."""
    parts = []
    if tally.nrbc_per_100 is not None and tally.count(NRBC_ID) > 0:
        parts.append(f"NRBC {_num(tally.nrbc_per_100)} /100 WBC")
    else:
        parts.append("NRBC 0 /100 WBC")
    parts.append(f"{tally.n_fields} field{'s' if tally.n_fields != 1 else ''}")
    if tally.pending_review:
        parts.append(f"{tally.pending_review} to review")
    if tally.corrected:
        parts.append(f"{tally.corrected} corrected")
    if tally.manual_total:
        parts.append(f"{tally.manual_total} counted by hand")
    if tally.unclassified:
        parts.append(f"{tally.unclassified} unclassified")
    return "  ·  ".join(parts)


def interval_width(n: int, confidence: float = 0.95) -> float | None:
    """The width, in percentage points, of the widest interval `n` counted cells give (a
    class at half of them); None when nothing was counted."""
    ci = clopper_pearson(n // 2, n, confidence) if n > 0 else None
    return None if ci is None else 100.0 * (ci.high - ci.low)


def shortfall_text(tally: Tally) -> str:
    """What signing off below the target means, plainly; "" when the target is reached."""
    if tally.target_reached:
        return ""
    n, target = tally.denominator, tally.target
    now, full = interval_width(n, tally.confidence), interval_width(target, tally.confidence)
    text = f"Below the target: {n} of {target} white cells counted."
    if now is not None and full is not None:
        text += (
            f" Each percentage is uncertain by up to {_num(now)} points"
            f" (the width of its 95 % interval; {_num(full)} at {target} cells)."
        )
    return text
