"""Help ▸ About HemoScope: version and credits for the data the models learnt from."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from hemoscope import __version__

__all__ = ["about_html", "show_about"]


def about_html(version: str = __version__) -> str:
    return f"""
<h2>HemoScope {version}</h2>
<p>Blood-smear differential station: finds and classifies blood cells in
microscope images, offline, on this computer.</p>
<p><b>Credits.</b> HemoScope's models were trained with these public datasets:</p>
<ul>
<li><b>PBC dataset</b> — Acevedo A., Merino A., Alférez S., Molina Á., Boldú L.,
Rodellar J. “A dataset of microscopic peripheral blood cell images for development of
automatic recognition systems.” <i>Data in Brief</i> 30, 105474 (2020).
Licence: CC BY 4.0.</li>
<li><b>TXL-PBC dataset</b> — Gan and Li. “TXL-PBC: a freely accessible labeled
peripheral blood cell dataset.” arXiv:2407.13214 (2024). Licence: MIT.</li>
<li><b>Jiangxi white-cell images</b> (unlabelled, to learn other laboratories' cameras)
— Zheng X. et al. “Fast and robust segmentation of white blood cell
images by self-supervised learning.” <i>Micron</i> 107 (2018); Jiangxi Tecom Science
Corporation. Licence: GPL-3.0.</li>
</ul>
<p>Built with Qt for Python (PySide6), OpenCV, NumPy and ONNX Runtime.</p>
<p><i>Results must be reviewed by qualified laboratory staff.</i></p>
"""


def show_about(parent: QWidget | None) -> None:
    QMessageBox.about(parent, "About HemoScope", about_html())
