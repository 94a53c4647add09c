"""Everything Qt: the microscope station's windows, widgets, controllers and workers.

Importing this package checks the installed PySide6 for a reference-count bug that
aborts Python 3.11 after a few thousand Qt calls, and neutralises it (see
`hemoscope.ui.pyside_guard`).
"""

from hemoscope.ui.pyside_guard import protect_singletons

protect_singletons()
