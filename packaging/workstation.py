"""The libraries a Linux bundle takes from the workstation instead of carrying them.

Like the graphics drivers and libxcb that PyInstaller leaves out itself, each must match
the workstation's own configuration or server (its fonts.conf, its CUPS printers and
their drivers, its X server), and every desktop with a printer has them. Leaving them
out also leaves out what only they need (CUPS: GnuTLS, Kerberos, Avahi ...).

hemoscope.spec leaves them out of the bundle; check_bundle.py requires them on the
machine, except the optional ones, whose absence it reports as what is then missing.
"""

from __future__ import annotations

__all__ = ["FROM_WORKSTATION", "OPTIONAL"]

OPTIONAL = {"libcups.so.2": "printing through CUPS"}
"""Without these the station still runs: without CUPS, Qt does not load its CUPS print
plugin and the station shows no printers (reports are still saved as PDF)."""

FROM_WORKSTATION = frozenset(
    {*OPTIONAL, "libfontconfig.so.1", "libfreetype.so.6", "libX11.so.6", "libX11-xcb.so.1"}
)
