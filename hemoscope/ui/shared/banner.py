"""A banner across the top of the picture for what the technician must not miss: the
camera was lost (with Reconnect), the models are not available, the target was reached.
It stays until the condition ends; it never steals the keyboard."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

__all__ = ["Banner"]


class Banner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setProperty("level", "warning")
        self.text = QLabel(self)
        self.text.setObjectName("bannerText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.button = QPushButton(self)
        self.button.setObjectName("bannerButton")
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays "capture"
        self.button.clicked.connect(self._clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 8, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.button)
        self._action: Callable[[], object] | None = None
        self.setVisible(False)

    def show_message(
        self,
        text: str,
        *,
        level: str = "warning",
        button: str = "",
        action: Callable[[], object] | None = None,
    ) -> None:
        """Show `text`; with `button` and `action`, a button that calls it."""
        self.text.setText(text)
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self._action = action
        self.button.setText(button)
        self.button.setVisible(bool(button and action))
        self.setVisible(True)

    def dismiss(self) -> None:
        self.setVisible(False)
        self._action = None

    def _clicked(self) -> None:
        if self._action is not None:
            self._action()
