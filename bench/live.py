"""Benchmark sections for live use: new photo -> searchable, memory, keystroke -> thumbnails."""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import CAMERA_SIZE, QUERIES, Section, draw_camera_jpeg, median, percentile, report

if TYPE_CHECKING:
    from mediasearch.core.indexer import Progress
    from mediasearch.core.library import Library

MODEL = "ViT-B-32:random"  # random weights cost what trained ones do, and need no download
DEVICE = "cpu"
SMALL_SIZE = (1024, 768)  # for photos whose pixel count the section does not measure
REPO = Path(__file__).resolve().parent.parent
# The app's watcher -> index hand-off (mediasearch/ui/controller.py, _apply_timer): changes
# reach the GUI thread, wait out a 100 ms single-shot timer, then go to the worker thread.
APP_MERGE_DELAY_S = 0.100
POLL_S = 0.005  # how often the watch section looks for the new photo in catalog and index
PHOTO_TIMEOUT_S = 60.0

Row = tuple[str, str, float | int | str, str]  # Section.add's key, label, value, unit


def _command(quick: bool) -> str:
    return "python -m bench.live" + (" --quick" if quick else "")


def _engine(library: Library) -> str:
    """What runs the model (the encoder may pick ONNX Runtime or torch on a CPU)."""
    encoder = library.encoder
    return f"{MODEL} on {encoder.device}, {getattr(encoder, 'backend', 'torch')}"


def _fresh_dir(path: Path) -> Path:
    """An empty folder: runs must not find the catalog or index of an earlier run."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _photo_set(
    folder: Path, count: int, seed: int, size: tuple[int, int] = CAMERA_SIZE
) -> list[Path]:
    """`count` drawn photos, kept between runs: a 12 MP one takes about 2 s to draw."""
    paths = []
    for i in range(count):
        path = folder / f"IMG_{seed + i:04d}.jpg"
        if not path.exists():
            # Draw beside it and rename, so an interrupted run never leaves half a photo.
            part = path.with_name(f".{path.stem}.part.jpg")
            draw_camera_jpeg(part, seed + i, size)
            os.replace(part, path)
        paths.append(path)
    return paths


def _folder_of(paths: list[Path], folder: Path) -> Path:
    """A fresh folder holding exactly `paths` (hard links: no copying, no redrawing), so an
    index of it takes these photos and not whatever else an earlier run drew."""
    _fresh_dir(folder)
    for path in paths:
        try:
            os.link(path, folder / path.name)
        except OSError:  # another file system, or no hard links there
            shutil.copy(path, folder / path.name)
    return folder


# -- 1. watch latency ----------------------------------------------------------------------


@dataclass
class _Timeline:
    """perf_counter() moments in one new photo's way from copy to search results."""

    copy_start: float
    copy_end: float = math.nan
    first_event: float = math.nan  # the OS told watchdog about the new file
    last_event: float = math.nan  # its last create/write/close event (not chmod's "attrib")
    handed_on: float = math.nan  # FolderWatcher called back: the file has settled
    apply_start: float = math.nan  # Library.apply_changes began on the worker thread
    encoded: float = math.nan  # its batch was embedded, stored and added to the index
    searchable: float = math.nan  # seen from outside: catalog says ok and index holds its id
    applied: float = math.nan  # apply_changes returned (after saving the index)


class _EventClock:
    """A second, plain watchdog observer on the same folder, only to timestamp raw events;
    it keeps the benchmark off FolderWatcher's internals."""

    def __init__(self, root: str, timelines: dict[str, _Timeline]) -> None:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        changes = {"created", "modified", "closed", "moved"}

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                timeline = timelines.get(os.fsdecode(event.src_path))
                if timeline is None or event.is_directory or event.event_type not in changes:
                    return
                now = time.perf_counter()
                if math.isnan(timeline.first_event):
                    timeline.first_event = now
                timeline.last_event = now

        self.observer = Observer()
        self.observer.schedule(Handler(), root, recursive=True)
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)


class _AppWiring:
    """FolderWatcher -> Library.apply_changes as controller.py wires them: batches merged by
    a 100 ms single-shot timer, then applied one at a time on a single worker thread. A queue
    stands in for Qt's queued signals; the delays are the app's."""

    def __init__(self, library: Library, timelines: dict[str, _Timeline]) -> None:
        from mediasearch.core.watcher import FolderWatcher

        self.library = library
        self.timelines = timelines
        self.stopping = threading.Event()
        self.applied = threading.Condition()
        self._changes: queue.Queue[set[str]] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="bench-worker", daemon=True)
        self._thread.start()
        self.watcher = FolderWatcher(self._on_changes)

    def _on_changes(self, paths: set[str]) -> None:  # on the watcher's thread
        now = time.perf_counter()
        for path in paths:
            self._mark(path, "handed_on", now)
        self._changes.put(paths)

    def _work(self) -> None:
        while not self.stopping.is_set():
            try:
                paths = self._changes.get(timeout=0.2)
            except queue.Empty:
                continue
            paths = self._merge(paths)
            now = time.perf_counter()
            for path in paths:
                self._mark(path, "apply_start", now)
            try:
                self.library.apply_changes(
                    sorted(paths), progress=self._on_progress, cancel=self.stopping
                )
            except Exception:  # as the app's worker does: report, keep the thread alive
                traceback.print_exc()
            now = time.perf_counter()
            with self.applied:
                for path in paths:
                    self._mark(path, "applied", now)
                self.applied.notify_all()

    def _merge(self, paths: set[str]) -> set[str]:
        # Like QTimer.start() on a running single-shot timer: each batch restarts the wait.
        while True:
            try:
                paths |= self._changes.get(timeout=APP_MERGE_DELAY_S)
            except queue.Empty:
                return paths

    def _on_progress(self, progress: Progress) -> None:
        # Called after each encoded batch (one file here), once it is in the index.
        self._mark(progress.current, "encoded", time.perf_counter())

    def _mark(self, path: str, moment: str, when: float) -> None:
        timeline = self.timelines.get(path)
        if timeline is not None and math.isnan(getattr(timeline, moment)):
            setattr(timeline, moment, when)

    def stop(self) -> None:
        self.watcher.stop()
        self.stopping.set()
        self._thread.join(timeout=30)


def _wait_searchable(library: Library, reader: Any, path: str) -> float:
    """perf_counter() when `path` is catalogued as ok and its id is in the live index."""
    from mediasearch.core.catalog import STATUS_OK

    opened = library.open_index(False)
    assert opened is not None
    index = opened[1]
    deadline = time.perf_counter() + PHOTO_TIMEOUT_S
    while time.perf_counter() < deadline:
        # A read-only connection, as the app's readers use: never waits on the writer.
        record = reader.file_by_path(path)
        if record is not None and record.status == STATUS_OK and record.id in index:
            return time.perf_counter()
        time.sleep(POLL_S)
    raise TimeoutError(f"{path} was not searchable after {PHOTO_TIMEOUT_S:.0f} s")


def _finds_itself(library: Library, path: Path) -> bool:
    """Whether the photo, as a query image, brings back itself first (the real search path;
    a query by file path would leave the file itself out of its results)."""
    from mediasearch.core.media.images import decode_image

    image = decode_image(str(path), min_side=library.encoder.image_size).image
    hits = library.search("", 1, images=[image])
    return bool(hits) and hits[0].path == str(path)


def _copy_and_time(
    library: Library, wiring: _AppWiring, reader: Any, source: Path, root: Path
) -> _Timeline:
    target = str(root / source.name)
    timeline = _Timeline(copy_start=time.perf_counter())
    wiring.timelines[target] = timeline
    shutil.copy(source, target)  # as a file manager drops a file: data, then permissions
    timeline.copy_end = time.perf_counter()
    timeline.searchable = _wait_searchable(library, reader, target)
    # Let the index save finish before the next photo, so each is timed on an idle library.
    with wiring.applied:
        wiring.applied.wait_for(lambda: not math.isnan(timeline.applied), PHOTO_TIMEOUT_S)
    return timeline


def watch_section(work: Path, quick: bool) -> Section:
    from mediasearch.core.catalog import Catalog
    from mediasearch.core.library import Library

    base = work / "live"
    incoming = _photo_set(base / "incoming", 5 if quick else 20, seed=1000)
    root = _fresh_dir(base / "watch-root").resolve()
    home = _fresh_dir(base / "watch-home")
    _photo_set(root, 3, seed=3000, size=SMALL_SIZE)  # the library's first few photos

    library = Library(home, model=MODEL, device=DEVICE)
    library.index([str(root)])  # loads the model too
    reader = Catalog(library.catalog.db_path, readonly=True)
    timelines: dict[str, _Timeline] = {}
    clock = _EventClock(str(root), timelines)
    wiring = _AppWiring(library, timelines)
    wiring.watcher.watch(str(root))
    try:
        runs = [_copy_and_time(library, wiring, reader, p, root) for p in incoming]
        found = sum(_finds_itself(library, root / p.name) for p in incoming)
        engine = _engine(library)
    finally:
        wiring.stop()
        clock.stop()
        reader.close()
        library.close()
    return _watch_report(runs, found, _quiet_times(wiring.watcher), engine, quick)


def _quiet_times(watcher: Any) -> tuple[float, float | str]:
    """The watcher's quiet time after any event, and after a writer closes the file (where
    the watcher knows that shortcut)."""
    from mediasearch.core import watcher as watcher_module

    settled = getattr(watcher_module, "SETTLED_S", None)
    return watcher.debounce_s, "none" if settled is None else min(settled, watcher.debounce_s)


def _watch_report(
    runs: list[_Timeline], found: int, quiet: tuple[float, float | str], engine: str, quick: bool
) -> Section:
    def p50(start: str, end: str) -> float:
        return median([getattr(t, end) - getattr(t, start) for t in runs])

    total = [t.searchable - t.copy_start for t in runs]
    section = Section("Watch latency", _command(quick))
    rows: list[Row] = [
        ("watch_engine", "model", engine, ""),
        ("watch_photos", "new 12 MP photos copied in, one at a time", len(runs), ""),
        ("watch_latency_p50_s", "copy start -> searchable, p50", percentile(total, 50), "s"),
        ("watch_latency_p95_s", "copy start -> searchable, p95", percentile(total, 95), "s"),
        ("watch_latency_max_s", "copy start -> searchable, max", max(total), "s"),
        ("watch_target_p50_s", "target p50", 2.0, "s"),
        ("watch_debounce_s", "watcher quiet time after an event", quiet[0], "s"),
        ("watch_settled_s", "  after the writer closes the file", quiet[1], "s"),
        ("watch_merge_delay_s", "app's merge timer (controller.py)", APP_MERGE_DELAY_S, "s"),
        ("watch_copy_p50_s", "  copy (shutil.copy)", p50("copy_start", "copy_end"), "s"),
        ("watch_event_p50_s", "  copy start -> first event", p50("copy_start", "first_event"), "s"),
        ("watch_settle_p50_s", "  last event -> handed on", p50("last_event", "handed_on"), "s"),
        ("watch_merge_p50_s", "  handed on -> apply starts", p50("handed_on", "apply_start"), "s"),
        ("watch_encode_p50_s", "  apply starts -> in index", p50("apply_start", "encoded"), "s"),
        ("watch_seen_p50_s", "  in index -> seen searchable", p50("encoded", "searchable"), "s"),
        ("watch_save_p50_s", "  in index -> apply returns (save)", p50("encoded", "applied"), "s"),
        (
            "watch_found_by_image_query",
            "find themselves as query image",
            f"{found}/{len(runs)}",
            "",
        ),
    ]
    for row in rows:
        section.add(*row)
    return section


# -- 2. memory -----------------------------------------------------------------------------

# MB here are 2**20 bytes: /proc reports KiB.


def _proc_status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since start or the last reset) of this process."""
    status = Path("/proc/self/status")
    if not status.exists():  # not Linux: only the lifetime peak is known
        import resource

        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KiB
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    for line in status.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return math.nan


def _reset_peak() -> bool:
    """Restart VmHWM from the current RSS (Linux >= 4.0), so a later peak is the indexing's
    own and not the model load's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _memory_child(mode: str, home: Path, photos: Path) -> dict[str, Any]:
    """Runs in a fresh process: opens the library, loads the model, then per `mode` stops
    ("load"), indexes `photos` ("index") or answers one query ("idle"); RSS figures in MB."""
    from mediasearch.core.library import Library

    library = Library(home, model=MODEL, device=DEVICE)
    gc.collect()
    figures: dict[str, Any] = {"before_model": _proc_status_mb("VmRSS")}
    library.encoder.load()
    library.open_index(True)
    gc.collect()
    figures["loaded"] = _proc_status_mb("VmRSS")
    figures["load_peak"] = _proc_status_mb("VmHWM")
    if mode == "index":
        figures["peak_reset"] = _reset_peak()
        figures["indexed"] = library.index([str(photos)]).indexed
        figures["index_peak"] = _proc_status_mb("VmHWM")
        figures["after_index"] = _proc_status_mb("VmRSS")
    elif mode == "idle":  # an indexed library as the app holds it between searches
        library.search("warm up", 20)  # the first query allocates the text path's buffers
        gc.collect()
        figures["idle"] = _proc_status_mb("VmRSS")
    figures["engine"] = _engine(library)
    library.close()
    return figures


def _run_child(mode: str, home: Path, photos: Path) -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.live",
            "--memory-child",
            mode,
            "--home",
            str(home),
            "--photos",
            str(photos),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"memory child ({mode}) failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def memory_section(work: Path, quick: bool) -> Section:
    drawn = _photo_set(work / "live" / "camera", 16 if quick else 64, seed=0)
    photos = _folder_of(drawn, work / "live" / "memory-photos")
    home = _fresh_dir(work / "live" / "memory-home")
    # Each in a fresh process. The first load of a model may prepare it once (an ONNX
    # export) and keep what that took; later starts, as the app has them, load the result.
    first = _run_child("load", home, photos)
    indexing = _run_child("index", home, photos)
    idle = _run_child("idle", home, photos)
    peak = "peak RSS while indexing" + ("" if indexing["peak_reset"] else " (and loading)")
    above_loaded = indexing["index_peak"] - indexing["loaded"]
    model_share = idle["idle"] - idle["before_model"]
    cores = os.cpu_count() or 0  # the indexer sizes its decode threads by this

    section = Section("Memory", _command(quick))
    rows: list[Row] = [
        ("memory_engine", "model", idle["engine"], ""),
        ("memory_before_model_mb", "RSS, library open, no model", idle["before_model"], "MB"),
        ("memory_idle_mb", "RSS idle: model, index, one query", idle["idle"], "MB"),
        ("memory_model_share_mb", "  of which the model", model_share, "MB"),
        ("memory_load_peak_mb", "peak RSS loading the model", indexing["load_peak"], "MB"),
        ("memory_first_load_peak_mb", "  the first time (fresh cache)", first["load_peak"], "MB"),
        ("memory_first_loaded_mb", "  RSS after that first load", first["loaded"], "MB"),
        ("memory_photos", "12 MP JPEGs indexed", indexing["indexed"], ""),
        ("memory_cpu_cores", "CPU cores (decode threads follow)", cores, ""),
        ("memory_index_peak_mb", peak, indexing["index_peak"], "MB"),
        ("memory_index_above_loaded_mb", "  above RSS with model loaded", above_loaded, "MB"),
        ("memory_after_index_mb", "RSS right after indexing", indexing["after_index"], "MB"),
    ]
    for row in rows:
        section.add(*row)
    return section


# -- 3. GUI: keystroke -> thumbnails painted -------------------------------------------------


def _qt_app(work: Path) -> Any:
    """The QApplication (offscreen unless told otherwise), with QSettings kept under `work`
    so the benchmark never touches the user's window state or thresholds."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    from mediasearch.ui.style import apply_style

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "live" / "qsettings")
    )
    QCoreApplication.setOrganizationName("mediasearch-bench")
    QCoreApplication.setApplicationName("mediasearch-bench")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    apply_style(app)
    return app


def _spin(seconds: float, until: Callable[[], bool] | None = None) -> bool:
    """Run the Qt event loop for `seconds`, or until `until()` holds (checked every 20 ms);
    returns whether it holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(20)
    if until is not None:

        def check() -> None:
            if until():
                loop.quit()

        poll.timeout.connect(check)
        poll.start()
    _exec(loop, seconds)
    poll.stop()
    return until() if until is not None else True


def _exec(loop: Any, timeout_s: float) -> None:
    """Block in `loop` (in the event dispatcher, as app.exec() does: no busy wait, no sleeps
    that would delay queued signals) until it is quit or `timeout_s` passes."""
    from PySide6.QtCore import QTimer

    # An owned timer, stopped afterwards: a stray single-shot must not quit a later loop.
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    deadline.start(round(timeout_s * 1000))
    loop.exec()
    deadline.stop()


@dataclass
class _QueryTimes:
    """perf_counter() moments of one typed query."""

    key: float  # the last key press was sent
    request: float = math.nan  # the search bar's debounce timer fired: the query is submitted
    results: float = math.nan  # the grid was handed the hits (MainWindow.resultsShown)
    thumbs_ready: float = math.nan  # the last visible cell's thumbnail reached memory
    paint_start: float = math.nan  # a viewport paint began with every visible thumbnail ready
    painted: float = math.nan  # that paint finished
    cells: int = 0  # visible cells in that paint


def _make_probe(window: Any) -> Any:
    """An event filter on the grid's viewport that notices the first paint in which every
    visible cell has its thumbnail; observed from outside, without changing mediasearch/ui."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtGui import QPixmap

    from mediasearch.core.thumbs import cache_size_for
    from mediasearch.ui.results_model import PathRole, ThumbnailRole

    class Probe(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.times: _QueryTimes | None = None
            self.done: Callable[[], None] = lambda: None
            self.viewport = window.view.viewport()
            self.viewport.installEventFilter(self)
            window.search_bar.requestChanged.connect(self._on_request)
            window.resultsShown.connect(self._on_results)
            window.controller.thumbnails.ready.connect(self._on_thumbnail)

        def _on_request(self, _request: object) -> None:
            if self.times is not None and math.isnan(self.times.request):
                self.times.request = time.perf_counter()

        def _on_results(self, rows: int) -> None:
            if self.times is not None and rows and math.isnan(self.times.results):
                self.times.results = time.perf_counter()

        def _on_thumbnail(self, _path: str, _size: int) -> None:
            times = self.times
            # Only those between the hits arriving and the paint that shows them all.
            if times is None or math.isnan(times.results):
                return
            if math.isnan(times.paint_start):
                times.thumbs_ready = time.perf_counter()

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            times = self.times
            if (
                watched is self.viewport
                and event.type() == QEvent.Type.Paint
                and times is not None
                and not math.isnan(times.results)
                and math.isnan(times.paint_start)
                and self._visible_thumbnails_ready()
            ):
                # This paint draws what is in memory now; the zero timer fires once it is done.
                times.paint_start = time.perf_counter()
                QTimer.singleShot(0, lambda: self._painted(times))
            return False

        def _painted(self, times: _QueryTimes) -> None:
            times.painted = time.perf_counter()
            if math.isnan(times.thumbs_ready):
                times.thumbs_ready = times.results  # all were in memory already
            self.done()

        def _visible_thumbnails_ready(self) -> bool:
            view, model = window.view, window.model
            area = self.viewport.rect()
            rows = range(model.rowCount())
            visible = [i for i in map(model.index, rows) if view.visualRect(i).intersects(area)]
            if self.times is not None:
                self.times.cells = len(visible)
            return bool(visible) and all(map(self._cell_ready, visible))

        def _cell_ready(self, index: Any) -> bool:
            # The same call the delegate makes for the cell it is about to draw.
            pixmap = index.data(ThumbnailRole)
            if isinstance(pixmap, QPixmap) and not pixmap.isNull():
                return True
            size = cache_size_for(window.model.thumbnail_size)  # the loader's key, as the model's
            return bool(window.controller.thumbnails.failed(index.data(PathRole), size))

    return Probe()


def _type_query(window: Any, probe: Any, query: str) -> _QueryTimes:
    """Type `query` into the search field and run the event loop until its thumbnails are
    painted; the clock starts at the last key press."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtTest import QTest

    edit = window.search_bar.edit
    loop = QEventLoop()
    QTest.keyClicks(edit, query[:-1])
    probe.times = times = _QueryTimes(key=time.perf_counter())
    probe.done = loop.quit
    QTest.keyClicks(edit, query[-1])
    _exec(loop, PHOTO_TIMEOUT_S)
    probe.times, probe.done = None, lambda: None
    if math.isnan(times.painted):
        raise TimeoutError(f"no thumbnails painted for {query!r}")
    return times


def _clear_query(window: Any, paths: list[str], forget_thumbnails: bool) -> None:
    """Empty the search (an empty grid) and let stray thumbnail and metadata jobs finish."""
    window.search_bar.clear()
    _spin(0.3)
    if forget_thumbnails:
        # Drop the in-memory pixmaps (the disk cache stays): photos not yet seen this session.
        for path in paths:
            window.controller.thumbnails.forget(path)


def _preload_thumbnails(window: Any, paths: list[str]) -> None:
    """Every photo's thumbnail in memory, as after scrolling through all of them once."""
    from mediasearch.core.thumbs import cache_size_for

    loader = window.controller.thumbnails
    size = cache_size_for(window.model.thumbnail_size)  # the key the grid's cells use

    def all_loaded() -> bool:
        # pixmap() queues a load for a missing one, once; later calls just look.
        missing = [p for p in paths if loader.pixmap(p, size) is None]
        return not [p for p in missing if not loader.failed(p, size)]

    if not _spin(PHOTO_TIMEOUT_S, all_loaded):
        raise TimeoutError("thumbnails did not all load")


def _open_window(home: Path) -> Any:
    """The real MainWindow on the library in `home`, built as mediasearch.app.run_app does."""
    from mediasearch.config import Settings
    from mediasearch.ui.controller import MODEL_READY, Controller, default_library
    from mediasearch.ui.main_window import MainWindow

    settings = Settings(model=MODEL, device=DEVICE)
    controller = Controller(default_library(home, settings), settings, home)
    window = MainWindow(controller)
    # Random weights score text against images nothing like CLIP does: show every hit.
    window.set_threshold(0.0, "text")
    window.set_threshold(0.0, "image")
    window.show()
    controller.start()
    ready = _spin(300, lambda: controller.model_state == MODEL_READY and not controller.indexing)
    if not ready:
        raise TimeoutError(f"the model did not load: {controller.model_detail}")
    return window


def gui_section(work: Path, quick: bool) -> Section:
    from mediasearch.config import cache_dir
    from mediasearch.core.library import Library

    app = _qt_app(work)
    from mediasearch.ui.search_bar import DEBOUNCE_MS  # after _qt_app chose the platform

    photos = _photo_set(work / "live" / "small", 20 if quick else 50, 2000, SMALL_SIZE)
    folder = _folder_of(photos, work / "live" / "gui-photos")
    home = _fresh_dir(work / "live" / "gui-home")
    with Library(home, model=MODEL, device=DEVICE, cache_dir=cache_dir(home)) as library:
        library.index([str(folder)])  # an indexed library, as the app finds it
    window = _open_window(home)
    probe = _make_probe(window)
    paths = [str(folder / p.name) for p in photos]
    count = 3 if quick else 10
    try:
        first = _type_query(window, probe, "a photo")  # thumbnail disk cache still empty
        cold, warm = [], []
        for query in QUERIES[:count]:
            _clear_query(window, paths, forget_thumbnails=True)
            cold.append(_type_query(window, probe, query))
        _preload_thumbnails(window, paths)
        for query in QUERIES[count : 2 * count]:
            _clear_query(window, paths, forget_thumbnails=False)
            warm.append(_type_query(window, probe, query))
        extra = {
            "engine": _engine(window.controller.library),
            "photos": len(photos),
            "repaint_ms": _repaint_ms(window, app),
            "debounce_ms": DEBOUNCE_MS,
        }
    finally:
        window.close()
    return _gui_report(first, cold, warm, extra, quick)


def _repaint_ms(window: Any, app: Any) -> float:
    """One full synchronous repaint of the grid, for scale."""
    app.processEvents()
    started = time.perf_counter()
    window.view.viewport().repaint()
    return (time.perf_counter() - started) * 1000


def _gui_report(
    first: _QueryTimes,
    cold: list[_QueryTimes],
    warm: list[_QueryTimes],
    extra: dict[str, Any],
    quick: bool,
) -> Section:
    def p50_ms(runs: list[_QueryTimes], start: str, end: str) -> float:
        return median([(getattr(t, end) - getattr(t, start)) * 1000 for t in runs])

    section = Section("GUI", _command(quick))
    rows: list[Row] = [
        ("gui_engine", "model", extra["engine"], ""),
        ("gui_photos", "indexed photos (1024x768)", extra["photos"], ""),
        ("gui_queries", "distinct queries per pass", len(cold), ""),
        ("gui_visible_cells", "visible cells in the grid", cold[0].cells, ""),
        ("gui_debounce_ms", "search-as-you-type debounce", extra["debounce_ms"], "ms"),
        (
            "gui_first_query_ms",
            "first query, no cached thumbnails",
            (first.painted - first.key) * 1000,
            "ms",
        ),
    ]
    for row in rows:
        section.add(*row)
    for name, runs, label in (
        ("cold", cold, "thumbnails from disk cache"),
        ("warm", warm, "thumbnails in memory"),
    ):
        for key, text, start, end in [
            ("key_to_painted_p50_ms", f"{label}: keystroke -> painted", "key", "painted"),
            ("request_to_painted_p50_ms", "  same without the debounce", "request", "painted"),
            ("debounce_p50_ms", "  keystroke -> query submitted", "key", "request"),
            ("search_p50_ms", "  submitted -> hits in the grid", "request", "results"),
            ("thumbnails_p50_ms", "  hits in grid -> thumbnails ready", "results", "thumbs_ready"),
            ("paint_p50_ms", "  thumbnails ready -> paint done", "thumbs_ready", "painted"),
        ]:
            section.add(f"gui_{name}_{key}", text, p50_ms(runs, start, end), "ms")
    section.add("gui_full_repaint_ms", "one full repaint of the grid", extra["repaint_ms"], "ms")
    return section


# -- running -------------------------------------------------------------------------------


def run(work: Path, quick: bool) -> list[Section]:
    """All three sections; photos drawn under `work` are kept for the next run."""
    work.mkdir(parents=True, exist_ok=True)
    return [watch_section(work, quick), memory_section(work, quick), gui_section(work, quick)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, help="folder for photos and libraries (default: temp)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--quick", action="store_true", help="fewer photos and queries")
    # The memory section re-runs this module in a fresh process with these:
    parser.add_argument("--memory-child", choices=("load", "index", "idle"), help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--photos", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        print(json.dumps(_memory_child(args.memory_child, args.home, args.photos)))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="ms-bench-live-"))
    sections = run(work, args.quick)
    report(sections, args.json)


if __name__ == "__main__":
    main()
