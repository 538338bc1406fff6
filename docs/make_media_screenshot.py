"""Render docs/media-results.png: photos, videos at their moments and sounds in one result grid.

Run: xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python docs/make_media_screenshot.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from make_screenshot import open_searched_window, wait_until  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QPixmap  # noqa: E402

from mediasearch.config import Settings  # noqa: E402
from mediasearch.core.library import Library  # noqa: E402
from mediasearch.selftest.shapes import write_shape_images  # noqa: E402
from mediasearch.ui.results_model import KindRole, PathRole, ThumbnailRole  # noqa: E402
from tests.support.sounds import write_sound, write_two_part_sound  # noqa: E402
from tests.support.tiny_clap import tiny_clap_dir  # noqa: E402
from tests.support.tiny_model import tiny_model_dir  # noqa: E402
from tests.support.videos import write_video  # noqa: E402

# The tiny models know drawn shapes and synthetic sounds; one query of each brings photos,
# videos (at the moment the red circle shows) and a sound (where the chirps start).
QUERY = "a red circle + a rising chirp"
THRESHOLD = 0.2  # the tiny test models' scores; CLIP's own sit lower, see main_window
SELECTED = "garden party.mp4"  # previewed: its frame at the match, with the player below
OUT = ROOT / "docs" / "media-results.png"


def write_library(root: Path) -> list[Path]:
    """Photos, two home videos and a few sounds, like a phone's camera roll and voice memos."""
    photos, videos, sounds = root / "Pictures", root / "Videos", root / "Sounds"
    write_shape_images(photos / "Holidays", 60, seed=1, size=320)
    write_video(
        videos / "garden party.mp4",
        [("square", "blue", 5.0), ("circle", "red", 6.0), ("star", "green", 5.0)],
        size=320,
    )
    write_video(
        videos / "kite.mp4", [("triangle", "yellow", 8.0), ("circle", "red", 4.0)], size=320
    )
    write_two_part_sound(sounds / "dawn chorus.wav", "noise", "chirp", 8.0, seed=3)
    write_sound(sounds / "doorbell.wav", "high", 6.0, seed=4)
    write_sound(sounds / "fridge hum.flac", "low", 12.0, seed=5)
    return [photos, videos, sounds]


def main() -> int:
    cache = Path(os.environ.get("MEDIASEARCH_TEST_MODEL_CACHE", "/tmp/ms-model-cache"))
    model = f"local-dir:{tiny_model_dir(cache)}"
    sound_model = f"local-dir:{tiny_clap_dir(cache)}"
    work = Path(tempfile.gettempdir()) / "mediasearch-media-demo"  # a short path for the preview
    shutil.rmtree(work, ignore_errors=True)
    roots = write_library(work)
    home = work / "home"
    settings = Settings(model=model, device="cpu", thumbnail_size=144, audio_model=sound_model)
    library = Library(home, model=model, device="cpu", audio_model=sound_model)
    library.index([str(root) for root in roots])

    app, window = open_searched_window(library, settings, home, work, QUERY, THRESHOLD)
    rows = [window.model.index(r) for r in range(window.model.rowCount())]
    kinds = {str(index.data(KindRole)) for index in rows}
    if not {"image", "video", "audio"} <= kinds:
        raise RuntimeError(f"the query should find photos, videos and sounds, found {kinds}")
    selected = next(i for i in rows if os.path.basename(str(i.data(PathRole))) == SELECTED)
    window.view.setCurrentIndex(selected)
    window.toggle_preview()
    window.splitter.setSizes([210, 770, 300])
    visible = rows[:24]
    wait_until(app, lambda: all(isinstance(i.data(ThumbnailRole), QPixmap) for i in visible))
    player = window.preview.player
    if player is not None:  # QtMultimedia installed: wait for the player to reach the moment
        wait_until(app, lambda: player.player.duration() > 0)
    for _ in range(20):
        app.processEvents()
    window.search_bar.edit.setCursorPosition(len(QUERY))
    window.view.setFocus(Qt.FocusReason.OtherFocusReason)
    window.grab().save(str(OUT))
    print(f"wrote {OUT}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
