"""Shown when the model's weights are missing: says what is missing and offers a local folder."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mediasearch.core.weights import LOCAL_CONFIG_NAME, LOCAL_WEIGHT_NAMES
from mediasearch.ui.icons import icon


class MissingModelDialog(QDialog):
    """Non-blocking: emits `folderChosen(path)` when the user picks a model folder."""

    folderChosen = Signal(str)

    def __init__(self, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("missingModelDialog")
        self.setWindowTitle("Search model not available")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        top = QHBoxLayout()
        badge = QLabel()
        badge.setPixmap(icon("warning", "#d08a00").pixmap(40))
        badge.setAlignment(Qt.AlignmentFlag.AlignTop)
        top.addWidget(badge)
        text = QVBoxLayout()
        title = QLabel("mediasearch needs its search model")
        title.setObjectName("dialogTitle")
        self.details = QLabel(message)
        self.details.setObjectName("missingModelMessage")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hint = QLabel(
            "Your photos and any existing index are untouched. Connect to the internet and "
            "restart, or choose a folder holding an open_clip model "
            f"({LOCAL_CONFIG_NAME} and {LOCAL_WEIGHT_NAMES[0]})."
        )
        hint.setWordWrap(True)
        text.addWidget(title)
        text.addWidget(self.details)
        text.addWidget(hint)
        top.addLayout(text, 1)
        layout.addLayout(top)
        buttons = QDialogButtonBox()
        self.choose_button = QPushButton(icon("folder"), "Choose model folder…")
        self.choose_button.setDefault(True)
        buttons.addButton(self.choose_button, QDialogButtonBox.ButtonRole.AcceptRole)
        later = buttons.addButton("Not now", QDialogButtonBox.ButtonRole.RejectRole)
        later.setToolTip("Keep the window open; search stays off until a model is chosen")
        self.choose_button.clicked.connect(self._choose)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose an open_clip model folder")
        if folder:
            self.folderChosen.emit(folder)
            self.accept()
