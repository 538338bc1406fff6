"""About mediasearch: version, your models' licences and the bundled components' licences."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mediasearch.about import (
    APP_DESCRIPTION,
    APP_LICENCE,
    APP_VERSION,
    PRIVACY_NOTE,
    UNKNOWN_VERSION,
    Component,
    ModelLicence,
    components,
    details_text,
    model_licences,
)
from mediasearch.config import APP_NAME, Settings
from mediasearch.ui.icons import app_icon

ICON_SIZE = 64
COPIED_FEEDBACK_MS = 1500
COLUMNS = ("Component", "Version", "Licence", "Website")
WEBSITE_COLUMN = 3
LINK_MARGIN = 3  # lines the link up with the text of the other cells (their padding)
_URL = re.compile(r"https?://[^\s;,)]+[^\s;,).]")


class AboutDialog(QDialog):
    """Shows what mediasearch is, the licences of the models in use and of everything it ships."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {APP_NAME}")
        self.resize(880, 680)
        self._image_model = settings.model
        self._sound_model = settings.sound_model()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 14)
        layout.setSpacing(12)

        header = QHBoxLayout()
        header.setSpacing(16)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(ICON_SIZE))
        logo.setAlignment(Qt.AlignmentFlag.AlignTop)
        header.addWidget(logo)
        identity = QVBoxLayout()
        identity.setSpacing(3)
        name = QLabel(APP_NAME)
        name.setObjectName("aboutName")
        self.version_label = QLabel(f"Version {APP_VERSION}")
        self.version_label.setObjectName("aboutVersion")
        self.version_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        description = QLabel(APP_DESCRIPTION)
        description.setWordWrap(True)
        licence = QLabel(f"Free software under the {APP_LICENCE} licence.")
        licence.setObjectName("hint")
        for widget in (name, self.version_label, description, licence):
            identity.addWidget(widget)
        header.addLayout(identity, 1)
        layout.addLayout(header)

        self.privacy_label = QLabel(PRIVACY_NOTE)
        self.privacy_label.setObjectName("aboutPrivacy")
        self.privacy_label.setWordWrap(True)
        layout.addWidget(self.privacy_label)

        layout.addWidget(_section("Your models"))
        models = QFormLayout()
        models.setHorizontalSpacing(14)
        models.setVerticalSpacing(6)
        self.model_labels: list[QLabel] = []
        for entry in model_licences(self._image_model, self._sound_model):
            label = _model_label(entry)
            self.model_labels.append(label)
            models.addRow(f"{entry.role}:", label)
        layout.addLayout(models)

        layout.addWidget(_section("Included components"))
        self.components = components()
        self.table = self._build_table(self.components)
        layout.addWidget(self.table, 1)
        self.note_label = QLabel()
        self.note_label.setObjectName("hint")
        self.note_label.setWordWrap(True)
        self.note_label.setMinimumHeight(self.fontMetrics().lineSpacing() * 3)
        self.note_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.note_label.setTextFormat(Qt.TextFormat.RichText)
        self.note_label.setOpenExternalLinks(True)
        self.note_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        layout.addWidget(self.note_label)
        self.table.currentCellChanged.connect(lambda row, *_: self._show_note(row))
        # Qt's note first: it says how the LGPL is met, which matters most to someone reading.
        self.table.setCurrentCell(_row_of(self.components, "Qt 6"), 0)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.about_qt_button = QPushButton("About Qt")
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Copy the versions as text, for a bug report")
        buttons.addButton(self.about_qt_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        for button in (self.about_qt_button, self.copy_button):
            button.setAutoDefault(False)  # Enter closes; it never opens About Qt by surprise
        self._close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        self._close_button.setDefault(True)
        self.about_qt_button.clicked.connect(lambda: QMessageBox.aboutQt(self, "About Qt"))
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._close_button.setFocus()  # not the first link, which would draw a focus frame

    def details(self) -> str:
        """The plain-text version of this dialog, with every version."""
        environment = [f"Qt platform: {QGuiApplication.platformName()}"]
        return details_text(self._image_model, self._sound_model, environment)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details())
        self.copy_button.setText("Copied")
        # The button as context: a dialog closed (and deleted) meanwhile cancels the reset.
        button = self.copy_button
        QTimer.singleShot(COPIED_FEEDBACK_MS, button, lambda: button.setText("Copy details"))

    def _build_table(self, listed: tuple[Component, ...]) -> QTableWidget:
        table = QTableWidget(len(listed), len(COLUMNS))
        table.setObjectName("componentTable")
        table.setHorizontalHeaderLabels(list(COLUMNS))
        table.verticalHeader().hide()
        table.setSortingEnabled(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.horizontalHeader().setHighlightSections(False)
        table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)
        for row, component in enumerate(listed):
            version = component.version() or UNKNOWN_VERSION
            for column, text in enumerate((component.name, version, component.licence)):
                item = QTableWidgetItem(text)
                if component.note:
                    item.setToolTip(component.note)
                table.setItem(row, column, item)
            # An empty item under the link keeps the row selectable there too.
            table.setItem(row, WEBSITE_COLUMN, QTableWidgetItem())
            table.setCellWidget(row, WEBSITE_COLUMN, _link_label(component.url))
        header = table.horizontalHeader()
        for column in range(WEBSITE_COLUMN):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(WEBSITE_COLUMN, QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        return table

    def _show_note(self, row: int) -> None:
        if not 0 <= row < len(self.components):
            self.note_label.clear()
            return
        component = self.components[row]
        note = component.note or "No notes."
        self.note_label.setText(f"<b>{html.escape(component.name)}:</b> {_linked(note)}")


def _section(title: str) -> QLabel:
    label = QLabel(title)
    label.setObjectName("aboutSection")
    return label


def _model_label(entry: ModelLicence) -> QLabel:
    # Zero-width spaces after slashes let a long model path wrap instead of widening the box.
    model = html.escape(entry.model).replace("/", "/\u200b")
    licence = f"{html.escape(entry.licence)}, " if entry.licence else ""
    card = f' · <a href="{html.escape(entry.url)}">model card</a>' if entry.url else ""
    label = QLabel(f"<b>{model}</b> — {licence}{html.escape(entry.detail)}{card}")
    label.setObjectName("modelLicence")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setOpenExternalLinks(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    label.setToolTip(entry.line())
    return label


def _link_label(url: str) -> QLabel:
    shown = url.removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")
    label = QLabel(f'<a href="{html.escape(url)}">{html.escape(shown)}</a>')
    label.setObjectName("componentLink")
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setOpenExternalLinks(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
    label.setToolTip(url)
    label.setContentsMargins(LINK_MARGIN, 0, LINK_MARGIN, 0)
    return label


def _linked(text: str) -> str:
    """Plain text as HTML, its web addresses made into links."""
    parts: list[str] = []
    last = 0
    for found in _URL.finditer(text):
        parts.append(html.escape(text[last : found.start()]))
        url = html.escape(found.group(0))
        parts.append(f'<a href="{url}">{url}</a>')
        last = found.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def _row_of(listed: tuple[Component, ...], name: str) -> int:
    return next((row for row, c in enumerate(listed) if c.name == name), 0)
