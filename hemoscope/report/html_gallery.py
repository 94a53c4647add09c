"""The optional gallery page: thumbnails of the counted cells, class by class."""

from __future__ import annotations

from collections.abc import Sequence

from .html_util import e, heading, thumbnail_name
from .thumbnails import ClassThumbnails

__all__ = ["THUMBS_PER_ROW", "gallery_html"]

THUMBS_PER_ROW = 6


def gallery_html(groups: Sequence[ClassThumbnails], sample_id: str) -> str:
    parts = [heading(f"Cells by class — sample {e(sample_id)}", "page-break-before: always")]
    n = 0
    for g in groups:
        shown = len(g.items)
        parts.append(
            f"<p><b>{e(g.display_name)}</b> <span class=muted>({g.total} counted"
            f"{f', {shown} shown' if shown < g.total else ''})</span></p>"
        )
        if not g.items:
            continue
        parts.append('<table cellspacing="4" cellpadding="0"><tr>')
        for i, item in enumerate(g.items):
            note = (
                "relabelled"
                if item.corrected
                else ("" if item.probability is None else f"p {item.probability:.2f}")
            )
            parts.append(
                f'<td align=center><img src="{thumbnail_name(n)}" width="96" '
                f'height="96"><br><span class="small muted">{note}</span></td>'
            )
            n += 1
            if (i + 1) % THUMBS_PER_ROW == 0 and i + 1 < len(g.items):
                parts.append("</tr><tr>")
        parts.append("</tr></table>")
    return "".join(parts)
