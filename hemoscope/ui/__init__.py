"""Everything Qt: the microscope station's windows, widgets, controllers and workers.

The entry points sit here (app, main_window, actions, station_view, smoke); the rest is
in sub-packages: live, review, case, images, differential, report, settings and shared.

Importing this package checks the installed PySide6 for a reference-count bug that
aborts Python 3.11 after a few thousand Qt calls, and neutralises it (see
`hemoscope.ui.shared.pyside_guard`).
"""

from hemoscope.ui.shared.pyside_guard import protect_singletons

protect_singletons()
