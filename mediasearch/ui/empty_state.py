"""A friendly centred message (with an optional action) shown where results would be."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from mediasearch.ui.icons import icon


class EmptyState(QWidget):
    actionTriggered = Signal(str)  # the action key given to `show_message`

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        layout = QVBoxLayout(self)
        layout.addStretch(3)
        self.badge = QLabel()
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel()
        self.title.setObjectName("emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body = QLabel()
        self.body.setObjectName("emptyBody")
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        self.body.setFixedWidth(480)
        self.button = QPushButton()
        self.button.setObjectName("emptyAction")
        self.button.clicked.connect(lambda: self.actionTriggered.emit(self._action))
        layout.addWidget(self.badge)
        layout.addSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.body, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(10)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(4)
        self._action = ""

    def show_message(
        self, icon_name: str, title: str, body: str, action: str = "", action_text: str = ""
    ) -> None:
        self.badge.setPixmap(icon(icon_name, "#8a94a6").pixmap(56))
        self.title.setText(title)
        self.body.setText(body)
        self._action = action
        self.button.setText(action_text)
        self.button.setVisible(bool(action))
        # A word-wrapped label in a box layout does not get its wrapped height on its own.
        self.body.setMinimumHeight(self.body.heightForWidth(self.body.width()))
