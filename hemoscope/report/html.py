"""The report as one HTML document (the subset Qt's rich text engine lays out).

Everything from the case or the settings is escaped. Images are referred to by name
(``logo.png``, ``chart.png``, ``thumb-<n>.png``); the document builder supplies them as
resources. No Qt here: the text can be checked without a display.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hemoscope.core import ClassTally, SmearEstimate

from .content import ReportContent
from .html_gallery import gallery_html
from .html_red_cells import red_cells_html
from .html_util import e as _e
from .html_util import heading as _heading
from .html_util import title as _title
from .settings import ReportSettings
from .signoff import SignOff
from .thumbnails import ClassThumbnails

__all__ = ["report_html"]

_PER_L = "×10<sup>9</sup>/L"
_GRID = (
    'border="1" cellspacing="0" cellpadding="2" width="100%" '
    'style="border-collapse: collapse; border-color: #9a9a9a"'
)
_STYLE = """
body { font-size: 9pt; color: #000000; }
p { margin-top: 2px; margin-bottom: 2px; }
th { background-color: #ececec; font-weight: bold; }
.num { text-align: right; }
.flag { color: #b00020; font-weight: bold; }
.muted { color: #505050; }
.small { font-size: 8pt; }
"""


def _local(when: datetime) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _header(c: ReportContent, s: ReportSettings, has_logo: bool) -> str:
    lab = s.lab
    logo = (
        '<td width="64" valign="middle"><img src="logo.png" height="56"></td>' if has_logo else ""
    )
    address = "<br>".join(_e(line) for line in lab.address.splitlines() if line.strip())
    info = c.case.info
    wbc = "not given" if info.wbc_count is None else f"{info.wbc_count:.2f} {_PER_L}"
    pairs = [
        ("Sample ID", f"<b>{_e(info.sample_id)}</b>"),
        ("Patient ID", _e(info.patient_id or "—")),
        ("Patient name", _e(info.patient_name or "—")),
        ("Specimen date", _e(info.specimen_date or "—")),
        ("Operator", _e(info.operator or "—")),
        ("Analyser WBC", wbc),
        ("Report printed", _e(_local(c.generated_at))),
        ("Fields captured", str(c.tally.n_fields)),
    ]
    cells = "".join(
        f'<td class="muted" width="17%">{k}</td><td width="33%">{v}</td>'
        + ("</tr><tr>" if i % 2 else "")
        for i, (k, v) in enumerate(pairs)
    )
    return (
        '<table width="100%" cellspacing="0" cellpadding="0"><tr>'
        f"{logo}"
        f'<td valign="middle">{_title(_e(lab.name or "Haematology laboratory"))}'
        f'<span class="muted small">{address}</span></td>'
        f'<td align="right" valign="middle">{_title("White cell differential")}'
        '<span class="muted">Blood film, computer-assisted manual differential</span></td>'
        "</tr></table><hr>"
        f'<table width="100%" cellspacing="0" cellpadding="1"><tr>{cells}</tr></table>'
    )


def _flag(row: ClassTally) -> str:
    return f'<span class="flag">{row.flag}</span>' if row.flag else ""


def _reference(c: ReportContent, s: ReportSettings, class_id: str) -> str:
    rng = s.reference.get(class_id)
    return "" if rng is None else f"{rng.low:g}–{rng.high:g}"


def _absolute(row: ClassTally) -> str:
    if row.absolute is None:
        return ""
    flag = f' <span class="flag">{row.abs_flag}</span>' if row.abs_flag else ""
    return f"{row.absolute:.2f}{flag}"


def _differential(c: ReportContent, s: ReportSettings) -> str:
    t = c.tally
    show_abs = t.wbc_count is not None
    head = (
        "<tr><th align=left>Cell class</th><th>Count</th><th>%</th><th>95% CI (%)</th>"
        "<th>Reference (%)</th><th>Flag</th>"
        + (f"<th>Absolute {_PER_L}</th>" if show_abs else "")
        + "</tr>"
    )
    body = []
    for r, is_total in c.differential_table:
        ci = "" if r.ci_percent is None else f"{r.ci_percent[0]:.1f}–{r.ci_percent[1]:.1f}"
        name = f"<i>{_e(r.display_name)}</i>" if is_total else _e(r.display_name)
        body.append(
            f"<tr><td>{name}</td><td class=num>{r.count}</td>"
            f"<td class=num>{_num(r.percent_rounded)}</td><td class=num>{ci}</td>"
            f"<td class=num>{_reference(c, s, r.class_id)}</td><td align=center>{_flag(r)}</td>"
            + (f"<td class=num>{_absolute(r)}</td>" if show_abs else "")
            + "</tr>"
        )
    total = (
        f"<tr><td><b>White cells counted</b></td><td class=num><b>{t.denominator}</b></td>"
        f"<td class=num>{'100.0' if t.denominator else ''}</td><td></td>"
        f"<td colspan={3 if show_abs else 2} class=muted>target {t.target}</td></tr>"
    )
    note = ""
    if not t.target_reached:
        note = (
            f'<p class="flag">Only {t.denominator} of the {t.target} white cells '
            "targeted were counted: the percentages are less precise.</p>"
        )
    ref = f'<p class="muted small">Reference ranges: {_e(t.reference_name)}.'
    if show_abs:
        basis = "the WBC corrected for NRBC" if t.nrbc_per_100 else "the analyser WBC"
        ref += f" Absolute count = % × {basis}."
    table = f"<table {_GRID}>{head}{''.join(body)}{total}</table>"
    return f"{_heading('Differential')}{table}{note}{ref}</p>"


def _others(c: ReportContent) -> str:
    t = c.tally
    lines = []
    for r in c.other_rows:
        per100 = "" if r.per_100_wbc is None else f"{r.per_100_wbc:.1f} per 100 WBC"
        absolute = "" if r.absolute is None else f", {r.absolute:.2f} {_PER_L}"
        lines.append(
            f"<tr><td>{_e(r.display_name)}</td><td class=num>{r.count}</td>"
            f"<td>{per100}{absolute}</td></tr>"
        )
    if t.nrbc_per_100 and t.wbc_count is not None:
        corrected = _num(t.corrected_wbc_count, 2)
        lines.append(
            "<tr><td>WBC corrected for NRBC</td><td></td>"
            f"<td><b>{corrected} {_PER_L}</b> (analyser {t.wbc_count:.2f} {_PER_L}, "
            f"{t.nrbc_per_100:.1f} NRBC per 100 WBC)</td></tr>"
        )
    if not lines:
        return ""
    return (
        f"{_heading('Other cells (not in the differential)')}<table {_GRID}>"
        "<tr><th align=left width=30%>Cell class</th><th width=10%>Count</th>"
        "<th align=left>Value</th></tr>"
        f"{''.join(lines)}</table>"
    )


def _estimate(label: str, e: SmearEstimate | None) -> str:
    if e is None:
        return ""
    return (
        f"<tr><td>{label}</td><td class=num>≈ {e.value_1e9_per_l:.0f} {_PER_L}</td>"
        f"<td>ESTIMATE: {e.mean_per_field:.1f} per field × {e.factor:,.0f} /µL, "
        f"{e.n_fields} field(s)</td></tr>"
    )


def _estimates(c: ReportContent) -> str:
    rows = _estimate("Platelets", c.estimates.platelets) + _estimate("White cells", c.estimates.wbc)
    if not rows:
        return ""
    return (
        _heading("Smear estimates")
        + f"<table {_GRID}><tr><th align=left>Estimate</th><th>Value</th>"
        f"<th align=left>How</th></tr>{rows}</table>"
        '<p class="muted small">Estimates from cells per field on the smear, not counts; '
        "check them against the analyser.</p>"
    )


def _review(c: ReportContent) -> str:
    r = c.review
    text = (
        f"Nucleated cells classified in the fields: {r.nucleated}; reviewed by the "
        f"technician: {r.reviewed}; corrected: {r.corrected}; added by hand: {r.added}; "
        f"counted at the eyepiece without images: {r.manual_counts}."
    )
    flagged = f"<p>{_e(c.flags.line())}.</p>"
    warning = ""
    if c.pending:
        why = c.pending_flags.breakdown()
        warning = (
            f'<p class="flag">PRELIMINARY: {len(c.pending)} cell(s) flagged for review '
            f"are not confirmed yet ({_e(why)}). This report cannot be signed off.</p>"
        )
    return f"{_heading('Review')}<p>{text}</p>{flagged}{warning}"


def _banner(c: ReportContent) -> str:
    if not c.pending:
        return ""
    return (
        '<table width="100%" cellpadding="4" cellspacing="0" border="1" '
        'style="border-collapse: collapse; border-color: #b00020; margin-top: 6px">'
        '<tr><td class="flag" align="center">PRELIMINARY: '
        f"{len(c.pending)} cell(s) flagged for review are not confirmed yet</td></tr></table>"
    )


def _signatures(c: ReportContent, sign_off: SignOff | None) -> str:
    performed = sign_off.performed_by if sign_off else c.case.info.operator
    reviewed = sign_off.reviewed_by if sign_off else ""
    when = _local(sign_off.at) if sign_off else ""
    blank = "_" * 26
    return (
        '<table width="100%" cellspacing="0" cellpadding="4" style="margin-top:14px"><tr>'
        f"<td>Performed by: <b>{_e(performed) or blank}</b></td>"
        f"<td>Reviewed by: <b>{_e(reviewed) or blank}</b></td>"
        f"<td>Date: <b>{_e(when) or '_' * 14}</b></td></tr></table>"
    )


def report_html(
    c: ReportContent,
    s: ReportSettings,
    *,
    sign_off: SignOff | None = None,
    has_logo: bool = False,
    has_chart: bool = False,
    has_red_chart: bool = False,
    thumbnails: Sequence[ClassThumbnails] = (),
) -> str:
    """The whole report as HTML; ``has_chart``, ``has_red_chart``: with the images
    ``chart.png`` (the differential) and `RED_CELL_CHART` (red-cell diameters)."""
    chart = '<p align=center><img src="chart.png" width="520"></p>' if has_chart else ""
    comments = (
        f"{_heading('Comments')}<p>{_e(c.case.info.comments).replace(chr(10), '<br>')}</p>"
        if c.case.info.comments.strip()
        else ""
    )
    method = f'<p class="muted small">Method: {_e(s.software.label())}.</p>'
    return (
        f"<html><head><style>{_STYLE}</style></head><body>"
        f"{_header(c, s, has_logo)}{_banner(c)}{_differential(c, s)}{chart}{_others(c)}"
        f"{_estimates(c)}{red_cells_html(c.case, s, chart=has_red_chart)}{_review(c)}"
        f"{comments}{_signatures(c, sign_off)}{method}"
        f"{gallery_html(thumbnails, c.case.info.sample_id) if thumbnails else ''}</body></html>"
    )
