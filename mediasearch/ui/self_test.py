"""`mediasearch --self-test`: the real window indexes drawn photos and answers two queries."""

from __future__ import annotations

import logging
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtWidgets import QApplication

from mediasearch import __version__
from mediasearch.config import Settings
from mediasearch.core.indexer import IndexSummary
from mediasearch.core.media.kinds import KIND_VIDEO, clock
from mediasearch.selftest.shapes import all_combinations, caption, draw_shape
from mediasearch.selftest.tiny_clip import train_tiny_model
from mediasearch.selftest.video import write_shape_video
from mediasearch.ui.controller import MODEL_FAILED, MODEL_READY, Controller, default_library
from mediasearch.ui.main_window import MainWindow
from mediasearch.ui.results_model import MomentRole, PathRole

# One photo of each of the 16 shape-and-colour pairs, twice: enough that a wrong model or a
# broken decoder cannot land on the right photo by luck (1 in 16), small enough to index in
# a second or two.
PHOTOS_PER_PAIR = 2
PHOTO_SIZE_PX = 96
TEXT_QUERY = ("circle", "red")  # "a red circle"
SIMILAR_QUERY = ("star", "blue")  # a freshly drawn blue star, not in the library
# A video of two shapes no query above asks for, so it never outranks the photos there; a
# search among videos for the second must land in its second half. This also runs the
# decoder's worker processes, which a bundle must be able to start.
VIDEO_SEGMENTS = (("triangle", "green", 3.0), ("star", "yellow", 3.0))
VIDEO_QUERY = ("star", "yellow")
# Generous: a first start on a slow machine exports the model for ONNX Runtime.
MODEL_TIMEOUT_S = 300.0
INDEX_TIMEOUT_S = 120.0
SEARCH_TIMEOUT_S = 30.0
POLL_S = 0.01


class SelfTestFailed(Exception):
    """A step of the self-test did not give the answer it must."""


def print_now(line: str) -> None:
    """Print a line at once, even into a pipe, so progress shows while a step runs."""
    print(line, flush=True)


@dataclass
class Report:
    """The steps run so far, printed as they finish."""

    write: Callable[[str], object]
    started: float = field(default_factory=time.monotonic)

    def step(self, text: str) -> None:
        self.write(f"  {text}")

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def run_self_test(app: QApplication, *, write: Callable[[str], object] = print_now) -> int:
    """Run every step in a throwaway folder; returns 0 only if every answer was right.

    Nothing of the user's is read or written: the library, the model, the photos and the
    window's preferences all live in a temporary folder removed at the end.
    """
    report = Report(write)
    # Training an untrained model and exporting it log warnings that are expected here;
    # some libraries set their loggers' own levels, so quieten the handlers too.
    root = logging.getLogger()
    root.setLevel(logging.ERROR)
    for handler in root.handlers:
        handler.setLevel(logging.ERROR)
    report.write(f"mediasearch {__version__} self-test (Python {sys.version.split()[0]})")
    workspace = Path(tempfile.mkdtemp(prefix="mediasearch-self-test-"))
    try:
        _check(app, workspace, report)
    except SelfTestFailed as failure:
        report.write(f"FAILED after {report.elapsed():.0f} s: {failure}")
        return 1
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    report.write(f"passed in {report.elapsed():.0f} s")
    return 0


def _check(app: QApplication, workspace: Path, report: Report) -> None:
    photos = workspace / "photos"
    expected = _draw_photos(photos)
    video = write_shape_video(photos / "shapes.mp4", VIDEO_SEGMENTS)
    report.step(f"drew {len(expected)} photos of coloured shapes and a video of two")

    model_dir = train_tiny_model(workspace / "model")
    report.step(f"trained a tiny model ({report.elapsed():.0f} s so far)")

    _isolate_preferences(workspace / "preferences")
    window = _open_window(workspace / "home", model_dir)
    try:
        engine = _wait_for_model(app, window)
        if engine == "CPU":
            # Settings default to the fast CPU engine: landing on plain torch means the
            # ONNX export or ONNX Runtime is broken in this install (the log says why).
            raise SelfTestFailed("the fast CPU engine (ONNX Runtime) could not be used")
        report.step(f"opened the window; the model runs on {engine}")

        summaries: list[IndexSummary] = []
        window.controller.indexFinished.connect(summaries.append)
        window.controller.add_folder(str(photos))
        _wait(app, lambda: bool(summaries), INDEX_TIMEOUT_S, "indexing the photos")
        summary = summaries[0]
        if summary.indexed != len(expected) + 1:
            reasons = "; ".join(f"{Path(p).name}: {why}" for p, why in summary.skipped[:3])
            wanted = len(expected) + 1
            raise SelfTestFailed(f"indexed {summary.indexed} files of {wanted} {reasons}")
        report.step(f"indexed {summary.indexed} files in {summary.elapsed_s:.1f} s")

        text = caption(*TEXT_QUERY)
        best, _ = _search(app, window, lambda: window.search_bar.set_text(text), text)
        _expect(expected, best, TEXT_QUERY, f'"{text}"')
        report.step(f'"{text}" found {Path(best).name}, a {_describe(expected[best])}')

        query_photo = workspace / "query.png"
        draw_shape(*SIMILAR_QUERY, random.Random(99), PHOTO_SIZE_PX).save(query_photo)
        best, _ = _search(
            app, window, lambda: window.find_similar(str(query_photo)), "similar photos"
        )
        _expect(expected, best, SIMILAR_QUERY, "photos like a drawn blue star")
        report.step(f"photos like a blue star: {Path(best).name}, a {_describe(expected[best])}")

        text = caption(*VIDEO_QUERY)

        def search_videos() -> None:
            window.search_bar.clear_images(emit=False)
            window.search_bar.set_text(text)
            window.kind_filter.set_kinds((KIND_VIDEO,))

        best, moment = _search(app, window, search_videos, f'"{text}" among videos')
        second_half = VIDEO_SEGMENTS[0][2]
        if best != str(video) or moment is None or moment < second_half:
            found = f"{Path(best).name} at {clock(moment)}" if moment is not None else best
            raise SelfTestFailed(
                f'"{text}" among videos found {found}, not {video.name} after {clock(second_half)}'
            )
        report.step(f'"{text}" among videos: {video.name} at {clock(moment)}')
    finally:
        window.close()
        window.controller.shutdown()


def _draw_photos(folder: Path) -> dict[str, tuple[str, str]]:
    """One JPEG per shape-and-colour pair, `PHOTOS_PER_PAIR` times; path -> (shape, colour)."""
    folder.mkdir(parents=True)
    rng = random.Random(7)
    drawn: dict[str, tuple[str, str]] = {}
    for copy in range(PHOTOS_PER_PAIR):
        for shape, color in all_combinations():
            path = folder / f"{color}-{shape}-{copy}.jpg"
            draw_shape(shape, color, rng, PHOTO_SIZE_PX).save(path, quality=90)
            drawn[str(path)] = (shape, color)
    return drawn


def _isolate_preferences(folder: Path) -> None:
    # The window keeps its geometry and thresholds in QSettings: a self-test must not
    # change the user's.
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))


def _open_window(home: Path, model_dir: Path) -> MainWindow:
    # The default device and CPU backend, as a user's first start would have them.
    settings = Settings(model=f"local-dir:{model_dir}", sound_search=False)
    controller = Controller(default_library(home, settings), settings, home, watch=False)
    window = MainWindow(controller)
    # The tiny model's scores sit on another scale than a real CLIP's: show every match.
    window.set_threshold(0.0, "text")
    window.set_threshold(0.0, "image")
    window.show()
    controller.start()
    return window


def _wait_for_model(app: QApplication, window: MainWindow) -> str:
    controller = window.controller
    _wait(
        app,
        lambda: controller.model_state in (MODEL_READY, MODEL_FAILED),
        MODEL_TIMEOUT_S,
        "loading the model",
    )
    if controller.model_state == MODEL_FAILED:
        raise SelfTestFailed(f"the model did not load: {controller.model_detail}")
    return controller.model_detail


def _search(
    app: QApplication, window: MainWindow, start: Callable[[], None], what: str
) -> tuple[str, float | None]:
    """Start a search as a user would; the best result's path, and its moment for a video."""
    shown: list[int] = []
    window.resultsShown.connect(shown.append)
    try:
        start()
        _wait(app, lambda: bool(shown), SEARCH_TIMEOUT_S, f"searching for {what}")
    finally:
        window.resultsShown.disconnect(shown.append)
    if window.model.rowCount() == 0:
        raise SelfTestFailed(f"searching for {what} found nothing")
    best = window.model.index(0)
    moment = best.data(MomentRole)
    return str(best.data(PathRole)), float(moment) if moment is not None else None


def _expect(
    expected: dict[str, tuple[str, str]], best: str, wanted: tuple[str, str], query: str
) -> None:
    found = expected.get(best)
    if found != wanted:
        shown = _describe(found) if found else "file the test never drew"
        raise SelfTestFailed(
            f"{query} put {Path(best).name} (a {shown}) first, not a {_describe(wanted)}"
        )


def _describe(pair: tuple[str, str]) -> str:
    shape, color = pair
    return f"{color} {shape}"


def _wait(app: QApplication, done: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise SelfTestFailed(f"{what} took longer than {timeout_s:.0f} s")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(POLL_S)
