"""The main window: search bar, folders sidebar, result grid, preview pane and status bar."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QByteArray,
    QElapsedTimer,
    QMimeData,
    QModelIndex,
    QPoint,
    QSettings,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QImageReader,
    QKeySequence,
    QPixmap,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QSlider,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mediasearch.config import Settings
from mediasearch.core.media.images import is_image_path
from mediasearch.core.media.kinds import KIND_AUDIO, KIND_VIDEO, clock
from mediasearch.core.weights import LOCAL_DIR_PREFIX
from mediasearch.ui.about_dialog import AboutDialog
from mediasearch.ui.controller import MODEL_FAILED, MODEL_LOADING, MODEL_READY, Controller
from mediasearch.ui.empty_state import EmptyState
from mediasearch.ui.folders import FoldersPanel
from mediasearch.ui.icons import app_icon, icon
from mediasearch.ui.missing_model_dialog import MissingModelDialog
from mediasearch.ui.preview import PreviewPane
from mediasearch.ui.progress import IndexProgress
from mediasearch.ui.results_model import FileIdRole, KindRole, MomentRole, PathRole, ResultsModel
from mediasearch.ui.results_view import MAX_THUMB, MIN_THUMB, ResultsView
from mediasearch.ui.search_bar import KindFilter, QueryImage, SearchBar
from mediasearch.ui.settings_dialog import SettingsDialog
from mediasearch.ui.skipped_dialog import SkippedFilesDialog

if TYPE_CHECKING:
    from PIL import Image

    from mediasearch.core.catalog import FileRecord
    from mediasearch.core.indexer import IndexSummary
    from mediasearch.core.search import Hit
    from mediasearch.ui.workers import SearchRequest

log = logging.getLogger(__name__)

# Cosine scores mean different things for text->image and image->image: CLIP text matches
# rarely pass 0.35, while near-duplicate photos score above 0.9. Each kind gets its own cut.
DEFAULT_TEXT_THRESHOLD = 0.20
DEFAULT_IMAGE_THRESHOLD = 0.60
LIVE_REFRESH_MS = 3000  # while indexing, re-run the query this often so new photos appear
# Files landing in a watched folder re-run the query at most this often: a flood of them
# must not re-run it (and re-lay out the results) after every small update.
LIBRARY_REFRESH_MIN_MS = 1000
CHIP_PREVIEW = 64
PASTE_MAX_SIDE = 1024  # pasted/dropped pixels are scaled to this before encoding


class MainWindow(QMainWindow):
    """Widgets only: everything that does work goes through the controller."""

    resultsShown = Signal(int)  # rows now visible, after each query's results arrive

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("mediasearch")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self._prefs = QSettings()
        self._thresholds = {
            "text": float(self._prefs.value("threshold/text", DEFAULT_TEXT_THRESHOLD)),
            "image": float(self._prefs.value("threshold/image", DEFAULT_IMAGE_THRESHOLD)),
        }
        self._missing_dialog: MissingModelDialog | None = None
        self._about_dialog: AboutDialog | None = None
        self._folders: list[tuple[str, str]] = []
        self._photo_count: int | None = None
        self._searching = False
        self._last_error = ""
        self._restore: tuple[str | None, int] | None = None

        self.model = ResultsModel(controller.thumbnails, controller.metadata, self)
        self._build()
        self._connect()
        self._build_actions()
        self._restore_geometry()
        self.view.set_thumbnail_size(controller.settings.thumbnail_size)
        self._on_thumbnail_size(self.view.thumbnail_size())
        self._sync_threshold_slider()
        self._live_timer = QTimer(self)
        self._live_timer.setInterval(LIVE_REFRESH_MS)
        self._live_timer.timeout.connect(self._refresh_keeping_place)
        self._live_timer.timeout.connect(self._count_photos)
        self._library_timer = QTimer(self)
        self._library_timer.setSingleShot(True)
        self._library_timer.timeout.connect(self._library_changed_now)
        self._library_clock = QElapsedTimer()  # since the last refresh for a library change
        self._update_model_state(controller.model_state, controller.model_detail)
        self._update_empty_state()

    # -- building --------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget()
        central.setObjectName("central")
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)

        top = QWidget()
        top.setObjectName("topBar")
        top.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(12, 10, 12, 10)
        top_layout.setSpacing(14)
        self.search_bar = SearchBar()
        self.search_bar.edit.setAcceptDrops(False)  # a dropped photo searches, not types a path
        top_layout.addWidget(self.search_bar, 1)
        self.kind_filter = KindFilter()
        top_layout.addWidget(self.kind_filter)

        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.setFixedWidth(110)
        self.threshold_slider.setAccessibleName("Minimum match")
        self.threshold_label = QLabel()
        self.threshold_label.setObjectName("controlLabel")
        self.threshold_label.setMinimumWidth(92)
        top_layout.addWidget(self.threshold_label)
        top_layout.addWidget(self.threshold_slider)

        size_label = QLabel()
        size_label.setPixmap(icon("image").pixmap(16))
        size_label.setToolTip("Thumbnail size (Ctrl+wheel)")
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(MIN_THUMB, MAX_THUMB)
        self.size_slider.setSingleStep(16)
        self.size_slider.setPageStep(32)
        self.size_slider.setFixedWidth(110)
        self.size_slider.setToolTip("Thumbnail size (Ctrl+wheel)")
        self.size_slider.setAccessibleName("Thumbnail size")
        top_layout.addWidget(size_label)
        top_layout.addWidget(self.size_slider)

        self.settings_button = QToolButton()
        self.settings_button.setIcon(icon("settings"))
        self.settings_button.setIconSize(QSize(20, 20))
        self.settings_button.setAutoRaise(True)
        self.settings_button.setToolTip("Settings (Ctrl+,)")
        self.settings_button.setAccessibleName("Settings")
        top_layout.addWidget(self.settings_button)
        outer.addWidget(top)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.folders = FoldersPanel()
        self.folders.setMinimumWidth(190)
        self.splitter.addWidget(self.folders)

        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.setSpacing(0)
        self.info = QLabel()
        self.info.setObjectName("resultInfo")
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.linkActivated.connect(self._on_info_link)
        middle_layout.addWidget(self.info)
        self.stack = QStackedWidget()
        self.empty = EmptyState()
        self.view = ResultsView()
        self.view.setModel(self.model)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.view)
        middle_layout.addWidget(self.stack, 1)
        self.splitter.addWidget(middle)

        self.preview = PreviewPane(self.controller.thumbnails)
        self.preview.setMinimumWidth(240)
        self.splitter.addWidget(self.preview)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([220, 760, 300])
        self.preview.hide()
        outer.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        status = self.statusBar()
        status.setSizeGripEnabled(False)
        self.model_label = QLabel()
        self.model_label.setObjectName("modelState")
        status.addWidget(self.model_label)
        self.skipped_button = QToolButton()
        self.skipped_button.setObjectName("skippedLink")
        self.skipped_button.setAutoRaise(True)
        self.skipped_button.setToolTip("Show the files that could not be indexed, with reasons")
        self.skipped_button.hide()
        status.addPermanentWidget(self.skipped_button)
        self.progress = IndexProgress()
        status.addPermanentWidget(self.progress)

    def _connect(self) -> None:
        c = self.controller
        self.search_bar.requestChanged.connect(self._search)
        self.kind_filter.kindsChanged.connect(self.search_bar.set_kinds)
        self.search_bar.escapePressed.connect(self._escape)
        self.search_bar.downPressed.connect(self._focus_results)
        self.search_bar.edit.pasteImage.connect(self.paste_image)
        self.threshold_slider.valueChanged.connect(self._on_threshold_slider)
        self.size_slider.valueChanged.connect(self.view.set_thumbnail_size)
        self.view.thumbnailSizeChanged.connect(self._on_thumbnail_size)
        self.view.activatedPath.connect(self._open_index)
        self.view.previewRequested.connect(self.toggle_preview)
        self.view.contextMenuAt.connect(self._context_menu)
        self.view.selectionModel().currentChanged.connect(self._on_current_changed)
        self.model.hiddenCountChanged.connect(lambda _n: self._update_info())
        self.model.dataChanged.connect(self._on_model_data_changed)
        self.settings_button.clicked.connect(self.open_settings)
        self.folders.addRequested.connect(c.add_folder)
        self.folders.removeRequested.connect(c.remove_folder)
        self.empty.actionTriggered.connect(self._on_empty_action)
        self.progress.pauseRequested.connect(c.pause)
        self.progress.resumeRequested.connect(c.resume)
        self.progress.cancelRequested.connect(c.cancel)
        self.skipped_button.clicked.connect(self.show_skipped)

        c.resultsReady.connect(self._on_results)
        c.searchFailed.connect(self._on_search_failed)
        c.modelStateChanged.connect(self._update_model_state)
        c.modelDownloading.connect(self._show_download)
        c.modelMissing.connect(self.show_missing_model)
        c.indexingChanged.connect(self._on_indexing_changed)
        c.indexProgress.connect(self.progress.update_progress)
        c.indexFinished.connect(self._on_index_finished)
        c.libraryChanged.connect(self._on_library_changed)
        c.foldersChanged.connect(self._on_folders)
        c.filesRemoved.connect(self.model.remove_ids)
        c.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        c.pausedChanged.connect(self.progress.set_paused)

    def _build_actions(self) -> None:
        def add(
            text: str,
            keys: QKeySequence | str,
            slot: object,
            *,
            context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut,
        ) -> QAction:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(context)
            action.triggered.connect(slot)
            self.addAction(action)
            return action

        add("Find", QKeySequence.StandardKey.Find, self.focus_search)
        add("Focus search", "Ctrl+L", self.focus_search)
        add("Add folder", "Ctrl+O", self.folders.choose_folder)
        add("Settings", "Ctrl+,", self.open_settings)
        add("Paste image", QKeySequence.StandardKey.Paste, self.paste_image)
        add("Bigger thumbnails", "Ctrl+=", lambda: self._step_size(1))
        add("Bigger thumbnails", "Ctrl++", lambda: self._step_size(1))
        add("Smaller thumbnails", "Ctrl+-", lambda: self._step_size(-1))
        add("Rescan folders", "F5", self.controller.rescan)
        add("About mediasearch", QKeySequence.StandardKey.HelpContents, lambda: self.show_about())
        add("Quit", QKeySequence.StandardKey.Quit, self.close)
        copy = add(
            "Copy path",
            QKeySequence.StandardKey.Copy,
            self.copy_paths,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )
        self.view.addAction(copy)

    # -- searching -------------------------------------------------------------------------

    def _search(self, request: SearchRequest) -> None:
        self._searching = not request.empty
        self._restore = None
        self.controller.search(request)
        self._sync_threshold_slider()
        self._update_empty_state()

    def _on_results(self, hits: list[Hit], request: SearchRequest) -> None:
        self._searching = False
        self._last_error = ""
        self.model.threshold = self._thresholds[_kind(request)]
        self.controller.thumbnails.cancel_pending()
        restore = self._restore
        self.model.set_hits(hits)
        if restore is not None:
            self._restore_position(*restore)
        self._restore = None
        self._update_empty_state()
        self._update_info()
        self.preview.show_index(self.view.currentIndex())
        self.resultsShown.emit(self.model.rowCount())

    def _on_search_failed(self, message: str) -> None:
        self._searching = False
        self._last_error = message
        self.model.clear()
        self._update_empty_state()
        self._update_info()

    def _on_library_changed(self) -> None:
        if self._library_timer.isActive():
            return  # a refresh is already due: it shows this change too
        since = (
            self._library_clock.elapsed()
            if self._library_clock.isValid()
            else LIBRARY_REFRESH_MIN_MS
        )
        self._library_timer.start(max(0, LIBRARY_REFRESH_MIN_MS - since))

    def _library_changed_now(self) -> None:
        self._library_clock.start()
        self._refresh_keeping_place()
        self._count_photos()

    def _refresh_keeping_place(self) -> None:
        if self.controller.request.empty:
            return
        current = self.view.currentIndex()
        path = current.data(PathRole) if current.isValid() else None
        self._restore = (path, self.view.verticalScrollBar().value())
        self.controller.refresh()

    def _restore_position(self, path: str | None, scroll: int) -> None:
        self.view.doItemsLayout()
        if path is not None:
            for row in range(min(self.model.rowCount(), 5000)):
                index = self.model.index(row)
                if index.data(PathRole) == path:
                    self.view.selectionModel().setCurrentIndex(
                        index, self.view.selectionModel().SelectionFlag.ClearAndSelect
                    )
                    break
        self.view.verticalScrollBar().setValue(scroll)

    def _escape(self) -> None:
        if self.search_bar.text() or self.search_bar.images:
            self.search_bar.clear()

    def focus_search(self) -> None:
        self.search_bar.edit.setFocus()
        self.search_bar.edit.selectAll()

    def _focus_results(self) -> None:
        if self.model.rowCount():
            self.view.setFocus()
            if not self.view.currentIndex().isValid():
                self.view.setCurrentIndex(self.model.index(0))

    # -- relevance threshold ---------------------------------------------------------------

    def set_threshold(self, value: float, kind: str | None = None) -> None:
        """Set the minimum match for the current (or the given) kind of query."""
        kind = kind or _kind(self.controller.request)
        self._thresholds[kind] = value
        self._prefs.setValue(f"threshold/{kind}", value)
        if kind == _kind(self.controller.request):
            self.model.set_threshold(value)
            self._sync_threshold_slider()
            self._update_empty_state()

    def _on_threshold_slider(self, value: int) -> None:
        if abs(value / 100 - self._thresholds[_kind(self.controller.request)]) > 1e-6:
            self.set_threshold(value / 100)

    def _sync_threshold_slider(self) -> None:
        value = self._thresholds[_kind(self.controller.request)]
        self.threshold_slider.blockSignals(True)
        self.threshold_slider.setValue(round(value * 100))
        self.threshold_slider.blockSignals(False)
        self.threshold_label.setText(f"Min. match {value:.2f}" if value > 0 else "Show all")
        tip = (
            "Hide results scoring below this. Text searches rarely score above 0.35; "
            "near-identical photos score above 0.9."
        )
        self.threshold_slider.setToolTip(tip)
        self.threshold_label.setToolTip(tip)

    def _on_info_link(self, link: str) -> None:
        if link == "show-all":
            self.set_threshold(0.0)

    def _update_info(self) -> None:
        request = self.controller.request
        if request.empty or self._last_error:
            self.info.hide()
            return
        shown = self.model.rowCount()
        hidden = self.model.hidden_count
        text = f"{shown:,} match{'es' if shown != 1 else ''}"
        if hidden:
            text += (
                f" · {hidden:,} weaker match{'es' if hidden != 1 else ''} hidden "
                f"(below {self.model.threshold:.2f}) — <a href='show-all'>show all</a>"
            )
        self.info.setText(text)
        self.info.setVisible(shown > 0)

    # -- empty states ----------------------------------------------------------------------

    def _update_empty_state(self) -> None:
        request = self.controller.request
        state = self.controller.model_state
        if self.model.rowCount() and not request.empty:
            self.stack.setCurrentWidget(self.view)
            return
        self.stack.setCurrentWidget(self.empty)
        self.info.setVisible(False)
        if state == MODEL_FAILED:
            self.empty.show_message(
                "warning",
                "The search model is not available",
                "mediasearch needs an open_clip model to understand your photos. "
                "Choose a model folder on this computer to continue.",
                "choose-model",
                "Choose model folder…",
            )
        elif not self._folders:
            self.empty.show_message(
                "folder-plus",
                "Add a folder to start",
                "mediasearch finds photos by what is in them. Everything stays on this "
                "computer: nothing is uploaded.",
                "add-folder",
                "Add folder…",
            )
        elif request.empty:
            count = self._photo_count
            title = f"Search {count:,} files" if count else "Search your library"
            self.empty.show_message(
                "search",
                title,
                "Type what you are looking for, like “kids at the beach at sunset”, "
                "or drop a photo here to find similar ones.",
            )
        elif self._last_error:
            self.empty.show_message("warning", "This search could not run", self._last_error)
        elif self._searching or (state == MODEL_LOADING and not self.model.total_count):
            self.empty.show_message(
                "search",
                "Searching…" if state != MODEL_LOADING else "Loading the search model…",
                "Results appear here as soon as they are ready.",
            )
        elif self.model.hidden_count:
            hidden = self.model.hidden_count
            self.empty.show_message(
                "search",
                "No strong matches",
                f"{hidden:,} weaker match{'es' if hidden != 1 else ''} scored below "
                f"{self.model.threshold:.2f}.",
                "show-all",
                "Show weaker matches",
            )
        else:
            indexing = " Indexing is still running." if self.controller.indexing else ""
            self.empty.show_message(
                "search", "No matches", f"Nothing in your library matches this search.{indexing}"
            )

    def _on_empty_action(self, action: str) -> None:
        if action == "add-folder":
            self.folders.choose_folder()
        elif action == "choose-model":
            self.show_missing_model(self.controller.model_detail)
        elif action == "show-all":
            self.set_threshold(0.0)

    # -- model state, folders, indexing ----------------------------------------------------

    def _update_model_state(self, state: str, detail: str) -> None:
        if state == MODEL_LOADING:
            self.model_label.setText("Loading the search model…")
        elif state == MODEL_READY:
            self.model_label.setText(f"Ready · model on {detail}")
        else:
            self.model_label.setText("Search model not available")
        self.model_label.setToolTip(str(self.controller.settings.model))
        self._update_empty_state()

    def _show_download(self, done: int, total: int) -> None:
        megabytes = f"{done / 1e6:.0f} of {total / 1e6:.0f} MB" if total else f"{done / 1e6:.0f} MB"
        self.model_label.setText(f"Downloading the search model… {megabytes}")

    def _on_folders(self, folders: list[tuple[str, str]]) -> None:
        self._folders = folders
        self.folders.set_folders(folders)
        self._count_photos()
        self._update_empty_state()

    def _count_photos(self) -> None:
        def count(catalog: object) -> int:
            counts = catalog.status_counts()  # type: ignore[attr-defined]
            return int(counts.get("ok", 0))

        self.controller.tasks.run(
            lambda: self.controller._read(count), self._on_photo_count, lambda _e: None
        )

    def _on_photo_count(self, count: int) -> None:
        self._photo_count = count
        self.folders.summary.setText(f"{count:,} files indexed" if count else "")
        self._update_empty_state()

    def _on_indexing_changed(self, active: bool) -> None:
        if active:
            self.progress.start()
            self._live_timer.start()
        else:
            self.progress.finish()
            self._live_timer.stop()

    def _on_index_finished(self, summary: IndexSummary) -> None:
        skipped = len(summary.skipped)
        if summary.cancelled:
            self.statusBar().showMessage("Indexing stopped; what was done is kept", 8000)
        elif summary.warnings:
            self.statusBar().showMessage(" ".join(summary.warnings), 15000)
        self.skipped_button.setText(f"{skipped:,} skipped" if skipped else "")
        self.skipped_button.setVisible(skipped > 0)
        self._count_photos()

    def show_skipped(self) -> None:
        self.controller.skipped_files(self._show_skipped_dialog)

    def _show_skipped_dialog(self, records: list[FileRecord]) -> None:
        dialog = SkippedFilesDialog(records, self)
        dialog.retryRequested.connect(self.controller.retry_skipped)
        dialog.open()

    # -- dialogs ---------------------------------------------------------------------------

    def show_missing_model(self, message: str) -> None:
        if self._missing_dialog is not None and self._missing_dialog.isVisible():
            return
        dialog = MissingModelDialog(message, self)
        dialog.folderChosen.connect(self._use_model_folder)
        self._missing_dialog = dialog
        dialog.open()  # window-modal but not blocking: the event loop keeps running

    @property
    def missing_model_dialog(self) -> MissingModelDialog | None:
        return self._missing_dialog

    def _use_model_folder(self, folder: str) -> None:
        from dataclasses import replace

        self.controller.apply_settings(
            replace(self.controller.settings, model=LOCAL_DIR_PREFIX + folder)
        )

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.controller.settings, self)

        def accepted() -> None:
            settings = dialog.settings()
            self.view.set_thumbnail_size(settings.thumbnail_size)
            self.controller.apply_settings(settings)

        dialog.accepted.connect(accepted)
        dialog.aboutRequested.connect(lambda: self.show_about(dialog))
        dialog.open()

    def show_about(self, parent: QWidget | None = None) -> None:
        """The About box (F1, or About in Settings, over which it then opens); one at a time."""
        if self._about_dialog is not None:
            self._about_dialog.raise_()
            self._about_dialog.activateWindow()
            return
        dialog = AboutDialog(self.controller.settings, parent or self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # Gone once closed, or with the Settings dialog it was opened over.
        dialog.destroyed.connect(self._forget_about)
        self._about_dialog = dialog
        dialog.open()

    def _forget_about(self) -> None:
        self._about_dialog = None

    @property
    def about_dialog(self) -> AboutDialog | None:
        return self._about_dialog

    # -- thumbnails, preview ---------------------------------------------------------------

    def _on_thumbnail_size(self, size: int) -> None:
        self.size_slider.blockSignals(True)
        self.size_slider.setValue(size)
        self.size_slider.blockSignals(False)
        self.controller.settings.thumbnail_size = size

    def _step_size(self, direction: int) -> None:
        self.view.set_thumbnail_size(self.view.thumbnail_size() + 32 * direction)

    def toggle_preview(self) -> None:
        self.preview.setVisible(not self.preview.isVisible())
        if self.preview.isVisible():
            self.preview.show_index(self.view.currentIndex())

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self.preview.isVisible():
            self.preview.show_index(current)

    def _on_model_data_changed(
        self, top: QModelIndex, bottom: QModelIndex, *_roles: object
    ) -> None:
        current = self.view.currentIndex()
        if (
            self.preview.isVisible()
            and current.isValid()
            and top.row() <= current.row() <= bottom.row()
        ):
            self.preview.refresh()

    # -- result actions --------------------------------------------------------------------

    def selected_paths(self) -> list[str]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        paths = [str(self.model.index(r).data(PathRole)) for r in rows]
        if not paths and self.view.currentIndex().isValid():
            paths = [str(self.view.currentIndex().data(PathRole))]
        return paths

    def _open_index(self, index: QModelIndex) -> None:
        """Enter or double-click: a video or sound plays in the preview from its best moment
        when the in-app player is available; anything else opens in its default app."""
        if index.data(KindRole) in (KIND_VIDEO, KIND_AUDIO) and self.preview.can_play():
            if not self.preview.isVisible():
                self.preview.show()
            self.view.setCurrentIndex(index)
            self.preview.play_index(index)
            return
        open_path(str(index.data(PathRole)))

    def _context_menu(self, position: QPoint) -> None:
        index = self.view.indexAt(position)
        if not index.isValid():
            return
        if not self.view.selectionModel().isSelected(index):
            self.view.setCurrentIndex(index)
        path = str(index.data(PathRole))
        paths = self.selected_paths()
        ids = [
            int(self.model.index(i.row()).data(FileIdRole))
            for i in self.view.selectionModel().selectedIndexes()
        ] or [int(index.data(FileIdRole))]
        kind = index.data(KindRole)
        timed = kind in (KIND_VIDEO, KIND_AUDIO)
        menu = QMenu(self)
        if timed and self.preview.can_play():
            moment = index.data(MomentRole)
            where = f" from {clock(moment)}" if isinstance(moment, float) else ""
            menu.addAction(icon("play"), f"Play{where}\tEnter", lambda: self._open_index(index))
        menu.addAction(icon("open"), "Open", lambda: [open_path(p) for p in paths])
        menu.addAction(icon("folder"), "Show in folder", lambda: show_in_folder(path))
        menu.addAction(icon("preview"), "Preview\tSpace", self.toggle_preview)
        menu.addSeparator()
        menu.addAction(icon("copy"), "Copy path", self.copy_paths)
        if not timed:
            menu.addAction(icon("image"), "Copy image", lambda: self.copy_image(path))
        menu.addSeparator()
        menu.addAction(icon("similar"), "Find similar", lambda: self.find_similar(path))
        menu.addSeparator()
        count = len(ids)
        menu.addAction(
            icon("remove"),
            "Remove from index" if count == 1 else f"Remove {count} from index",
            lambda: self._remove_from_index(ids),
        )
        menu.exec(self.view.viewport().mapToGlobal(position))

    def copy_paths(self) -> None:
        paths = self.selected_paths()
        if not paths:
            return
        mime = QMimeData()
        mime.setText("\n".join(paths))
        mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
        QGuiApplication.clipboard().setMimeData(mime)
        self.statusBar().showMessage(
            f"Copied {len(paths)} path{'s' if len(paths) > 1 else ''}", 4000
        )

    def copy_image(self, path: str) -> None:
        def loaded(image: QImage) -> None:
            if image.isNull():
                self.statusBar().showMessage("Could not read this image", 6000)
                return
            QGuiApplication.clipboard().setImage(image)
            self.statusBar().showMessage("Image copied", 4000)

        self.controller.tasks.run(lambda: _read_qimage(path), loaded)

    def _remove_from_index(self, ids: list[int]) -> None:
        self.controller.remove_from_index(ids)
        self.statusBar().showMessage(
            "Removed from the index (the files themselves are untouched)", 6000
        )

    # -- query images: find similar, drop, paste -------------------------------------------

    def find_similar(self, path: str, *, keep_text: bool = False) -> None:
        """Search for photos like `path`: a fresh search from a result's menu; dropped files
        keep the typed text so the two combine."""
        preview = self.controller.thumbnails.pixmap(path, 128)
        if preview is not None:
            item = QueryImage(os.path.basename(path), path, None, preview)
            self.search_bar.add_image(item, keep_text=keep_text)
            return
        self.controller.tasks.run(
            lambda: _read_qimage(path, CHIP_PREVIEW),
            lambda image: self.search_bar.add_image(
                QueryImage(os.path.basename(path), path, None, _pixmap(image)),
                keep_text=keep_text,
            ),
        )

    def add_query_pixels(self, image: QImage, label: str = "Pasted image") -> None:
        """Search with image data (pasted, or dropped from a browser), keeping typed text."""
        if image.isNull():
            self.statusBar().showMessage("The clipboard image could not be read", 6000)
            return
        preview = QPixmap.fromImage(
            image.scaled(CHIP_PREVIEW, CHIP_PREVIEW, Qt.AspectRatioMode.KeepAspectRatio)
        )
        self.controller.tasks.run(
            lambda: qimage_to_pil(image),
            lambda pil: self.search_bar.add_image(QueryImage(label, None, pil, preview)),
        )

    def paste_image(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return
        paths = _image_paths(mime)
        if paths:
            self.find_similar(paths[0], keep_text=True)
        elif mime.hasImage():
            self.add_query_pixels(QImage(mime.imageData()))
        elif mime.hasText() and self.search_bar.edit.hasFocus():
            self.search_bar.edit.paste()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _accepts(event.mimeData()) and event.source() is None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if _accepts(event.mimeData()) and event.source() is None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        paths = _image_paths(mime)
        if paths:
            self.find_similar(paths[0], keep_text=True)
        elif mime.hasImage():
            self.add_query_pixels(QImage(mime.imageData()), "Dropped image")
        else:
            event.ignore()
            return
        event.acceptProposedAction()

    # -- window ----------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        geometry = self._prefs.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        sizes = self._prefs.value("window/splitter")
        if isinstance(sizes, QByteArray):
            self.splitter.restoreState(sizes)
            self.preview.hide()

    def closeEvent(self, event: QCloseEvent) -> None:
        timer = QElapsedTimer()
        timer.start()
        self._live_timer.stop()
        self._prefs.setValue("window/geometry", self.saveGeometry())
        self._prefs.setValue("window/splitter", self.splitter.saveState())
        try:
            # Only the thumbnail size is saved from here: a --model given on the command
            # line is for this run and must not become the saved choice.
            saved = Settings.load(self.controller.home)
            saved.thumbnail_size = self.view.thumbnail_size()
            saved.save(self.controller.home)
        except OSError as error:
            log.warning("could not save settings: %s", error)
        self.hide()  # feels instant even while the worker finishes its batch
        self.controller.shutdown()
        log.debug("shut down in %d ms", timer.elapsed())
        super().closeEvent(event)


def _kind(request: SearchRequest) -> str:
    has_images = bool(request.image_paths or request.images)
    return "image" if has_images and not request.text.strip() else "text"


def _image_paths(mime: QMimeData) -> list[str]:
    if not mime.hasUrls():
        return []
    return [
        url.toLocalFile()
        for url in mime.urls()
        if url.isLocalFile() and is_image_path(url.toLocalFile())
    ]


def _accepts(mime: QMimeData | None) -> bool:
    return mime is not None and (bool(_image_paths(mime)) or mime.hasImage())


def _read_qimage(path: str, size: int | None = None) -> QImage:
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    if size is not None:
        original = reader.size()
        if original.isValid():
            reader.setScaledSize(original.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


def _pixmap(image: QImage) -> QPixmap | None:
    return None if image.isNull() else QPixmap.fromImage(image)


def qimage_to_pil(image: QImage) -> Image.Image:
    """Pixels from Qt as an RGB PIL image, scaled down first (safe off the GUI thread)."""
    from PIL import Image

    if max(image.width(), image.height()) > PASTE_MAX_SIDE:
        image = image.scaled(
            PASTE_MAX_SIDE,
            PASTE_MAX_SIDE,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    data = bytes(rgb.constBits())  # type: ignore[call-overload]
    return Image.frombuffer("RGB", (width, height), data, "raw", "RGB", stride, 1).copy()


def open_path(path: str) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def show_in_folder(path: str) -> None:
    """Reveal the file in the system file manager, selected where the platform allows."""
    try:
        if sys.platform == "win32":
            subprocess.Popen(["explorer", "/select,", os.path.normpath(path)])
            return
        if sys.platform == "darwin":
            subprocess.Popen(["open", "-R", path])
            return
    except OSError:
        pass
    QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))
