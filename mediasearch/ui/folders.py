"""The sidebar of watched folders: add, remove, and how each one is being watched."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mediasearch.ui.icons import icon

WATCH_TOOLTIPS = {
    "native": "Watched live: changes show up within seconds",
    "polling": "Checked every few seconds (the system could not watch this folder live)",
    "off": "Not watched (folder unavailable); rescanned at start-up",
    "": "Rescanned at start-up",
}


class FoldersPanel(QWidget):
    """Emits `addRequested(path)` and `removeRequested(root)`; shows what the controller says."""

    addRequested = Signal(str)
    removeRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 12, 10, 10)
        layout.setSpacing(8)
        title = QLabel("Folders")
        title.setObjectName("sidebarTitle")
        layout.addWidget(title)
        self.list = QListWidget()
        self.list.setObjectName("folderList")
        self.list.setIconSize(QSize(16, 16))
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.setAccessibleName("Watched folders")
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        layout.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self.add_button = QPushButton(icon("folder-plus"), "Add folder…")
        self.add_button.setToolTip("Add a folder of photos to search (Ctrl+O)")
        self.add_button.clicked.connect(self.choose_folder)
        self.remove_button = QToolButton()
        self.remove_button.setIcon(icon("remove"))
        self.remove_button.setToolTip("Stop watching the selected folder and forget its photos")
        self.remove_button.setAccessibleName("Remove folder")
        self.remove_button.clicked.connect(self._remove_current)
        buttons.addWidget(self.add_button, 1)
        buttons.addWidget(self.remove_button)
        layout.addLayout(buttons)
        self.summary = QLabel()
        self.summary.setObjectName("sidebarNote")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self._update_buttons()

    def set_folders(self, folders: list[tuple[str, str]]) -> None:
        current = self.current_root()
        self.list.clear()
        for root, mode in folders:
            name = os.path.basename(root.rstrip(os.sep)) or root
            item = QListWidgetItem(icon("folder"), name)
            item.setData(Qt.ItemDataRole.UserRole, root)
            item.setToolTip(f"{root}\n{WATCH_TOOLTIPS.get(mode, '')}")
            if mode in ("polling", "off"):
                item.setIcon(icon("poll" if mode == "polling" else "warning"))
            self.list.addItem(item)
            if root == current:
                self.list.setCurrentItem(item)
        self._update_buttons()

    def roots(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def current_root(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if path:
            self.addRequested.emit(path)

    def _remove_current(self) -> None:
        root = self.current_root()
        if root:
            self.removeRequested.emit(root)

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.current_root() is not None)

    def _menu(self, position: object) -> None:
        item = self.list.itemAt(position)  # type: ignore[arg-type]
        if item is None:
            return
        root = item.data(Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        remove = QAction(icon("remove"), "Remove from library", menu)
        remove.triggered.connect(lambda: self.removeRequested.emit(root))
        menu.addAction(remove)
        menu.exec(self.list.viewport().mapToGlobal(position))  # type: ignore[arg-type]
