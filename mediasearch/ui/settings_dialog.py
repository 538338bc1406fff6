"""Settings: image and sound models (names or local folders), device, thumbnails, exclusions."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
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
from mediasearch.core.audio_encoder import DEFAULT_AUDIO_MODEL, transformers_available
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

    aboutRequested = Signal()  # the About button: the window opens About over this dialog

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

        self.sound_check = QCheckBox("Find sounds by describing them")
        self.sound_check.setChecked(settings.sound_search)
        self.sound_check.setToolTip(
            "Index sound files and the soundtracks of videos with a sound model, so that "
            "“a dog barking” finds the moment it barks"
        )
        form.addRow("Sound search:", self.sound_check)
        self.audio_model_edit = QLineEdit(settings.audio_model)
        self.audio_model_edit.setPlaceholderText(DEFAULT_AUDIO_MODEL)
        self.audio_model_edit.setToolTip(
            "A CLAP model on Hugging Face (like laion/clap-htsat-unfused), or a local folder"
        )
        self.audio_browse = QPushButton("Folder…")
        self.audio_browse.setToolTip("Use a CLAP model folder on this computer")
        self.audio_browse.clicked.connect(self._browse_audio_model)
        audio_row = QHBoxLayout()
        audio_row.addWidget(self.audio_model_edit, 1)
        audio_row.addWidget(self.audio_browse)
        form.addRow("Sound model:", audio_row)
        if transformers_available():
            sound_note = "Changing sound search indexes sounds in the background."
        else:
            sound_note = (
                "Sound search needs the optional audio package: "
                "pip install 'mediasearch[audio]'. Videos are still searched by their pictures."
            )
        self.sound_note = QLabel(sound_note)
        self.sound_note.setObjectName("hint")
        self.sound_note.setWordWrap(True)
        form.addRow("", self.sound_note)
        self.sound_check.toggled.connect(self._sync_sound)
        self._sync_sound(settings.sound_search)

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
        # Apart from OK and Cancel, on the left, wherever the platform puts those two.
        self.about_button = QPushButton("About mediasearch…")
        self.about_button.setToolTip("Version, your models' licences and what is included (F1)")
        self.about_button.setAutoDefault(False)
        self.about_button.clicked.connect(self.aboutRequested)
        bottom = QHBoxLayout()
        bottom.addWidget(self.about_button)
        bottom.addStretch(1)
        bottom.addWidget(buttons)
        layout.addLayout(bottom)

    def settings(self) -> Settings:
        return replace(
            self._original,
            model=self.model_edit.text().strip() or self._original.model,
            sound_search=self.sound_check.isChecked(),
            audio_model=self.audio_model_edit.text().strip() or self._original.audio_model,
            device=str(self.device_combo.currentData()),
            backend=str(self.backend_combo.currentData()),
            thumbnail_size=self.thumb_spin.value(),
            excluded_folders=[self.excluded.item(i).text() for i in range(self.excluded.count())],
        )

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose an open_clip model folder")
        if folder:
            self.model_edit.setText(LOCAL_DIR_PREFIX + folder)

    def _browse_audio_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a CLAP model folder")
        if folder:
            self.audio_model_edit.setText(LOCAL_DIR_PREFIX + folder)

    def _sync_sound(self, enabled: bool) -> None:
        self.audio_model_edit.setEnabled(enabled)
        self.audio_browse.setEnabled(enabled)

    def _add_excluded(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Exclude a folder from indexing")
        if folder:
            self.excluded.addItem(folder)

    def _remove_excluded(self) -> None:
        for item in self.excluded.selectedItems():
            self.excluded.takeItem(self.excluded.row(item))
