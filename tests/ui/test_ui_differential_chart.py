"""The live differential chart: bars in the class colours, at the right length, over the
reference bands, and a scale that follows the largest value."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor

from hemoscope.core import DEFAULT_REFERENCE, DEFAULT_TAXONOMY, Case, CaseInfo, Tally
from hemoscope.ui.differential.differential_chart import DifferentialChart, tick_step


def tally(**manual: int) -> Tally:
    return Tally.from_case(Case(CaseInfo("S-1"), (), manual, id="c"), DEFAULT_TAXONOMY)


@pytest.fixture
def chart(qtbot):
    widget = DifferentialChart()
    qtbot.addWidget(widget)
    widget.resize(400, 260)
    return widget


def colour_columns(image, colour: QColor) -> list[int]:
    """x of every column holding a pixel of exactly ``colour``."""
    rgb = colour.rgb()
    rows = range(image.height())
    return [x for x in range(image.width()) if any(image.pixel(x, y) == rgb for y in rows)]


def test_values_and_scale_follow_the_tally(chart):
    counted = tally(neutrophil=60, lymphocyte=30, monocyte=10)
    chart.show_tally(counted, DEFAULT_TAXONOMY, DEFAULT_REFERENCE)
    assert chart.values["neutrophil"] == pytest.approx(60.0)
    assert chart.values["lymphocyte"] == pytest.approx(30.0)
    assert chart.values["eosinophil"] == 0.0
    # the scale reaches past the largest value and the largest reference band end (72 %)
    assert chart.x_max == pytest.approx(72.0 * 1.1)
    assert "Neutrophil 60.0 %" in chart.accessibleDescription()


def test_bars_are_drawn_in_class_colours_at_their_length(chart):
    chart.show_tally(tally(neutrophil=80, lymphocyte=20), DEFAULT_TAXONOMY, DEFAULT_REFERENCE)
    image = chart.grab().toImage()
    neutrophil = colour_columns(image, QColor(DEFAULT_TAXONOMY["neutrophil"].colour))
    lymphocyte = colour_columns(image, QColor(DEFAULT_TAXONOMY["lymphocyte"].colour))
    assert neutrophil and lymphocyte
    # both bars start at the axis; the neutrophil bar is four times as long
    assert abs(neutrophil[0] - lymphocyte[0]) <= 2
    long, short = neutrophil[-1] - neutrophil[0], lymphocyte[-1] - lymphocyte[0]
    assert long == pytest.approx(4 * short, rel=0.1)
    # a class with no cells has no bar
    assert not colour_columns(image, QColor(DEFAULT_TAXONOMY["basophil"].colour))


def test_an_empty_tally_and_a_tiny_widget_paint_without_error(chart):
    chart.show_tally(tally(), DEFAULT_TAXONOMY, DEFAULT_REFERENCE)
    assert chart.accessibleDescription() != ""
    chart.resize(30, 20)
    assert not chart.grab().isNull()


@pytest.mark.parametrize(
    ("x_max", "step"), [(11.0, 2.0), (30.0, 5.0), (79.2, 20.0), (100.0, 20.0), (5.0, 1.0)]
)
def test_tick_step_keeps_at_most_six_intervals(x_max, step):
    assert tick_step(x_max) == step
    assert x_max / step <= 6
