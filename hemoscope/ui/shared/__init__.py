"""Pieces the other ui sub-packages share: the picture's image view and cell overlay, the
banner, key legend and status bar, numpy-to-QImage conversion, pool tasks and deferred
refreshes, error reporting, the resources finder, the About box, and the guard against
the installed PySide6's reference-count bug.
"""
