"""Small HTML helpers shared by the report's HTML builders."""

from __future__ import annotations

from html import escape

__all__ = ["e", "heading", "map_name", "thumbnail_name", "title"]


def thumbnail_name(index: int) -> str:
    return f"thumb-{index}.png"


def map_name(index: int) -> str:
    """The resource of thumbnail ``index``'s heat map."""
    return f"map-{index}.png"


def title(text: str) -> str:
    return f'<p style="font-size:14pt; font-weight:bold; margin:0px">{text}</p>'


def heading(text: str, style: str = "") -> str:
    return (
        f'<p style="font-size:10.5pt; font-weight:bold; margin-top:7px; '
        f'margin-bottom:2px; {style}">{text}</p>'
    )


def e(text: object) -> str:
    return escape(str(text), quote=True)
