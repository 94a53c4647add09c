"""Report tests run with a QApplication (pytest-qt's), as the GUI would: a bare
QGuiApplication made here would keep later widget tests from getting theirs."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication


@pytest.fixture(autouse=True)
def _qt_app(qapp: QApplication) -> QApplication:
    return qapp
