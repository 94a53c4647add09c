"""The optional gallery page: thumbnails of the counted cells, class by class."""

from __future__ import annotations

from collections.abc import Sequence

from .html_util import e, heading, map_name, thumbnail_name
from .thumbnails import ClassThumbnails

__all__ = ["MAPS_PER_ROW", "THUMBS_PER_ROW", "gallery_html"]

THUMBS_PER_ROW = 6
MAPS_PER_ROW = 3  # cells per row when each has its heat map beside it


def gallery_html(groups: Sequence[ClassThumbnails], sample_id: str) -> str:
    parts = [heading(f"Cells by class — sample {e(sample_id)}", "page-break-before: always")]
    with_maps = any(item.class_map is not None for g in groups for item in g.items)
    if with_maps:
        parts.append(
            '<p class="small muted">Beside each cell, the heat map of its class: where the '
            "classifier saw the evidence for it (class activation map; red the strongest). "
            "It explains the classifier's call; it does not confirm it.</p>"
        )
    per_row = MAPS_PER_ROW if with_maps else THUMBS_PER_ROW
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
            heat = (
                f'&nbsp;<img src="{map_name(n)}" width="96" height="96">'
                if item.class_map is not None
                else ""
            )
            if item.map_label:
                note = f"{note} · map: {e(item.map_label)}" if note else f"map: {e(item.map_label)}"
            parts.append(
                f'<td align=center><img src="{thumbnail_name(n)}" width="96" '
                f'height="96">{heat}<br><span class="small muted">{note}</span></td>'
            )
            n += 1
            if (i + 1) % per_row == 0 and i + 1 < len(g.items):
                parts.append("</tr><tr>")
        parts.append("</tr></table>")
    return "".join(parts)
