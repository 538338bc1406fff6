"""Settings: model (name + pretrained tag, or a local folder), device, thumbnails, exclusions."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mediasearch.config import Settings
from mediasearch.core.weights import LOCAL_DIR_PREFIX
from mediasearch.ui.results_view import MAX_THUMB, MIN_THUMB

BACKENDS = (
    ("fast", "Fast (recommended)"),
    ("exact", "Exact (slower)"),
)
DEVICES = (
    ("auto", "Automatic (GPU when available)"),
    ("cpu", "CPU"),
    ("cuda", "GPU (CUDA)"),
    ("mps", "GPU (Apple)"),
)


class SettingsDialog(QDialog):
    """Edits a copy of the settings; `settings()` returns the result after `accept`."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._original = settings
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setSpacing(10)

        self.model_edit = QLineEdit(settings.model)
        self.model_edit.setPlaceholderText("ViT-B-32:laion2b_s34b_b79k")
        self.model_edit.setToolTip(
            "An open_clip model name and pretrained tag, or a local model folder"
        )
        browse = QPushButton("Folder…")
        browse.setToolTip("Use an open_clip model folder on this computer")
        browse.clicked.connect(self._browse_model)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_edit, 1)
        model_row.addWidget(browse)
        form.addRow("Model:", model_row)
        note = QLabel("Changing the model re-indexes in the background; search keeps working.")
        note.setObjectName("hint")
        note.setWordWrap(True)
        form.addRow("", note)

        self.device_combo = QComboBox()
        for value, label in DEVICES:
            self.device_combo.addItem(label, value)
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(settings.device)))
        form.addRow("Run the model on:", self.device_combo)

        self.backend_combo = QComboBox()
        for value, label in BACKENDS:
            self.backend_combo.addItem(label, value)
        self.backend_combo.setCurrentIndex(max(0, self.backend_combo.findData(settings.backend)))
        self.backend_combo.setToolTip(
            "Fast runs the image model in 8-bit on the CPU: about 1.6x quicker, with results "
            "all but identical to Exact. GPUs always run in 16-bit."
        )
        form.addRow("On the CPU:", self.backend_combo)

        self.thumb_spin = QSpinBox()
        self.thumb_spin.setRange(MIN_THUMB, MAX_THUMB)
        self.thumb_spin.setSingleStep(16)
        self.thumb_spin.setSuffix(" px")
        self.thumb_spin.setValue(settings.thumbnail_size)
        form.addRow("Thumbnail size:", self.thumb_spin)

        self.excluded = QListWidget()
        self.excluded.addItems(settings.excluded_folders)
        self.excluded.setMaximumHeight(110)
        add = QPushButton("Add…")
        add.clicked.connect(self._add_excluded)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove_excluded)
        side = QVBoxLayout()
        side.addWidget(add)
        side.addWidget(remove)
        side.addStretch(1)
        excluded_row = QHBoxLayout()
        excluded_row.addWidget(self.excluded, 1)
        excluded_row.addLayout(side)
        form.addRow("Excluded folders:", excluded_row)

        layout.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def settings(self) -> Settings:
        return replace(
            self._original,
            model=self.model_edit.text().strip() or self._original.model,
            device=str(self.device_combo.currentData()),
            backend=str(self.backend_combo.currentData()),
            thumbnail_size=self.thumb_spin.value(),
            excluded_folders=[self.excluded.item(i).text() for i in range(self.excluded.count())],
        )

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose an open_clip model folder")
        if folder:
            self.model_edit.setText(LOCAL_DIR_PREFIX + folder)

    def _add_excluded(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Exclude a folder from indexing")
        if folder:
            self.excluded.addItem(folder)

    def _remove_excluded(self) -> None:
        for item in self.excluded.selectedItems():
            self.excluded.takeItem(self.excluded.row(item))
