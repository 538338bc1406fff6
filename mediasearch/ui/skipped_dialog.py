"""Lists the files the indexer skipped, each with the reason, on request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from mediasearch.core.catalog import FileRecord


class SkippedFilesDialog(QDialog):
    """The skipped files and why, with a way to try them again once the cause is fixed."""

    retryRequested = Signal()

    def __init__(self, records: list[FileRecord], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Skipped files")
        self.resize(760, 420)
        layout = QVBoxLayout(self)
        if records:
            note = (
                f"{len(records):,} files could not be indexed. They are tried again when they "
                "change, or now with Try again (after fixing permissions, say)."
            )
        else:
            note = "No files were skipped."
        layout.addWidget(QLabel(note))
        table = QTableWidget(len(records), 2)
        table.setHorizontalHeaderLabels(["File", "Reason"])
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for row, record in enumerate(records):
            table.setItem(row, 0, QTableWidgetItem(record.path))
            table.setItem(row, 1, QTableWidgetItem(record.error or "unknown reason"))
        layout.addWidget(table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        if records:
            self.retry_button = buttons.addButton(
                "Try again", QDialogButtonBox.ButtonRole.ActionRole
            )
            self.retry_button.clicked.connect(self.retryRequested)
            self.retry_button.clicked.connect(self.accept)
        layout.addWidget(buttons)
