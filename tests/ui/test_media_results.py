"""Videos and sounds in the results: time badges, the kind filter, moment thumbnails, the player."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRect, QSize, Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QStyleOptionViewItem

from mediasearch.core.media.kinds import KIND_VIDEO, clock
from mediasearch.core.search import Hit
from mediasearch.core.thumbs import ThumbnailCache
from mediasearch.selftest.shapes import write_shape_images
from mediasearch.ui import preview as preview_module
from mediasearch.ui.preview import PreviewPane
from mediasearch.ui.results_model import (
    BadgeRole,
    KindRole,
    MomentRole,
    PathRole,
    ResultsModel,
)
from mediasearch.ui.results_view import ThumbnailDelegate
from mediasearch.ui.settings_dialog import SettingsDialog
from mediasearch.ui.thumbnails import ThumbnailLoader
from tests.support.sounds import SOUNDS, write_sound, write_sound_files, write_two_part_sound
from tests.support.videos import write_video
from tests.ui.conftest import InlinePool, result_paths, search_for, wait_model_ready

CELL = 200


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """12 s: a red circle for 6 s, then a blue square."""
    return write_video(
        tmp_path / "media" / "clip.mp4", [("circle", "red", 6.0), ("square", "blue", 6.0)]
    )


@pytest.fixture
def loader(qtbot, tmp_path: Path) -> ThumbnailLoader:
    return ThumbnailLoader(ThumbnailCache(tmp_path / "cache"), InlinePool())  # type: ignore[arg-type]


def video_hit(path: str = "/videos/holiday.mp4", at_s: float | None = 7.0) -> Hit:
    return Hit(1, path, 0.61, KIND_VIDEO, at_s=at_s, duration_s=125.0)


def paint_cell(model: ResultsModel, row: int) -> QImage:
    """What the grid's delegate draws for one row, on a plain white cell."""
    delegate = ThumbnailDelegate()
    delegate.cell_size = QSize(CELL, CELL)
    image = QImage(CELL, CELL, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, CELL, CELL)  # type: ignore[attr-defined]
    painter = QPainter(image)
    delegate.paint(painter, option, model.index(row))
    painter.end()
    return image


def as_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    data = bytes(image.constBits())  # type: ignore[call-overload]
    rows = np.frombuffer(data, np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).astype(float)


def test_video_hit_shows_its_moment_as_a_badge(qtbot) -> None:
    model = ResultsModel()
    photo = Hit(2, "/photos/beach.jpg", 0.61, "image")  # as strong: the same score bar
    sound = Hit(3, "/sounds/waves.wav", 0.61, "audio", at_s=83.2, space="sound", duration_s=300)
    model.set_hits([video_hit(), photo, sound])
    first = model.index(0)
    assert first.data(KindRole) == "video"
    assert first.data(MomentRole) == 7.0
    assert first.data(BadgeRole) == "0:07"
    assert model.index(1).data(BadgeRole) is None  # photos carry no badge
    assert model.index(2).data(BadgeRole) == "1:23"
    tooltip = first.data(Qt.ItemDataRole.ToolTipRole)
    assert "Best match at 0:07" in tooltip and "Length: 2:05" in tooltip
    assert "best match at 0:07" in first.data(Qt.ItemDataRole.AccessibleTextRole)

    # The delegate paints a dark pill in the bottom-left corner of video and sound cells only.
    video_cell, photo_cell = as_array(paint_cell(model, 0)), as_array(paint_cell(model, 1))
    changed = np.abs(video_cell - photo_cell).sum(axis=2) > 30
    ys, xs = np.nonzero(changed)
    assert xs.size > 100
    assert xs.max() < CELL / 2 and ys.min() > CELL / 2
    assert video_cell[ys, xs].mean() < 120  # dark, with white text and glyph on it
    sound_cell = as_array(paint_cell(model, 2))
    assert np.abs(sound_cell - video_cell).sum() > 0  # another glyph and time


def test_removing_rows_keeps_moments(qtbot) -> None:
    model = ResultsModel()
    model.set_hits([Hit(5, "/p.jpg", 0.9, "image"), video_hit()])
    model.remove_ids([5])
    assert model.index(0).data(BadgeRole) == "0:07"


def test_thumbnails_of_one_video_at_two_moments_differ(qtbot, clip: Path, loader) -> None:
    path = str(clip)
    with qtbot.waitSignal(loader.ready):
        assert loader.pixmap(path, 128, None, 1.0) is None
    with qtbot.waitSignal(loader.ready):
        loader.pixmap(path, 128, None, 9.0)
    early, late = loader.pixmap(path, 128, None, 1.0), loader.pixmap(path, 128, None, 9.0)
    assert isinstance(early, QPixmap) and isinstance(late, QPixmap)
    red, blue = as_array(early.toImage()), as_array(late.toImage())
    assert (red[..., 0] - red[..., 2]).mean() > 30
    assert (blue[..., 2] - blue[..., 0]).mean() > 30


def test_waveform_thumbnail_for_a_sound(qtbot, tmp_path: Path, loader) -> None:
    wav = str(write_sound(tmp_path / "beep.wav", "high", seconds=30.0))
    with qtbot.waitSignal(loader.ready):
        loader.pixmap(wav, 128, None, 12.0)
    pixmap = loader.pixmap(wav, 128, None, 12.0)
    assert isinstance(pixmap, QPixmap)
    assert (pixmap.width(), pixmap.height()) == (128, 96)  # 4:3, like a photo
    assert not loader.failed(wav, 128, 12.0)


def test_kind_filter_restricts_results(qtbot, make_window, tmp_path: Path) -> None:
    library_root = tmp_path / "library"
    write_shape_images(library_root / "photos", 32)
    video = write_video(
        library_root / "clips" / "clip.mp4", [("circle", "red", 6.0), ("square", "blue", 6.0)]
    )
    window = make_window()
    controller = window.controller
    wait_model_ready(qtbot, window)
    with qtbot.waitSignal(controller.indexFinished, timeout=120_000):
        controller.add_folder(str(library_root))

    search_for(qtbot, window, "a red circle")
    everything = result_paths(window)
    assert str(video) in everything and len(everything) > 1

    with qtbot.waitSignal(window.resultsShown, timeout=20_000):
        qtbot.mouseClick(window.kind_filter.buttons[2], Qt.MouseButton.LeftButton)  # Videos
    assert controller.request.kinds == ("video",)
    assert result_paths(window) == [str(video)]
    row = window.model.index(0)
    moment = row.data(MomentRole)
    assert isinstance(moment, float) and 0.0 <= moment < 6.0  # within the red circle's part
    assert row.data(BadgeRole) == clock(moment)

    with qtbot.waitSignal(window.resultsShown, timeout=20_000):
        qtbot.mouseClick(window.kind_filter.buttons[1], Qt.MouseButton.LeftButton)  # Photos
    photos = result_paths(window)
    assert photos and str(video) not in photos

    with qtbot.waitSignal(window.resultsShown, timeout=20_000):
        window.kind_filter.set_kinds(None)
    assert controller.request.kinds is None
    assert str(video) in result_paths(window)


def show_in_preview(qtbot, clip: Path, loader) -> tuple[PreviewPane, ResultsModel]:
    model = ResultsModel(loader)
    model.set_hits([video_hit(str(clip), at_s=7.0)])
    pane = PreviewPane(loader)
    qtbot.addWidget(pane)
    pane.resize(320, 600)
    pane.show()
    pane.show_index(model.index(0))
    return pane, model


def test_preview_plays_a_video_from_its_moment(qtbot, clip: Path, loader) -> None:
    pane, _model = show_in_preview(qtbot, clip, loader)
    if not pane.can_play():
        assert pane.open_button.isVisible()  # QtMultimedia missing: the fallback below
        return
    player = pane.player
    assert player is not None and player.isVisible() and not pane.open_button.isVisible()
    qtbot.waitUntil(lambda: player._loaded, timeout=20_000)
    qtbot.waitUntil(lambda: abs(player.player.position() - 7000) < 300, timeout=10_000)
    assert not player.playing  # selecting a result shows it paused at the match
    assert isinstance(pane.image.pixmap(), QPixmap) and not pane.image.pixmap().isNull()
    pane.play_index(pane._index)
    qtbot.waitUntil(lambda: player.playing, timeout=10_000)
    assert player.video.isVisible()  # the poster still gave way to the moving picture
    assert player.player.position() >= 7000
    pane.play_index(pane._index)  # Enter again pauses
    qtbot.waitUntil(lambda: not player.playing, timeout=10_000)


def test_preview_without_qtmultimedia_offers_the_default_app(
    qtbot, clip: Path, loader, monkeypatch
) -> None:
    monkeypatch.setattr(preview_module, "multimedia_classes", lambda: None)
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    pane, _model = show_in_preview(qtbot, clip, loader)
    assert not pane.can_play() and pane.player is None
    assert pane.open_button.isVisible()
    qtbot.waitUntil(lambda: pane.image.pixmap() is not None and not pane.image.pixmap().isNull())
    still = as_array(pane.image.pixmap().toImage())
    assert (still[..., 2] - still[..., 0]).mean() > 30  # the frame at 0:07: the blue square
    assert "Best match at 0:07" in pane.details.text()
    qtbot.mouseClick(pane.open_button, Qt.MouseButton.LeftButton)
    assert opened == [QUrl.fromLocalFile(str(clip))]


def test_enter_on_a_video_result_plays_it_in_the_preview(
    qtbot, make_window, clip: Path, monkeypatch
) -> None:
    from mediasearch.ui import main_window

    externally: list[str] = []
    monkeypatch.setattr(main_window, "open_path", externally.append)
    window = make_window(watch=False)
    hits = [video_hit(str(clip), at_s=7.0), Hit(9, "/photos/a.jpg", 0.2, "image")]
    window.model.set_hits(hits)
    window.stack.setCurrentWidget(window.view)
    window.view.setFocus()
    window.view.setCurrentIndex(window.model.index(0))
    qtbot.keyClick(window.view, Qt.Key.Key_Return)
    if window.preview.can_play():
        assert window.preview.isVisible() and not externally
        player = window.preview.player
        assert player is not None and player.path == str(clip)
        qtbot.waitUntil(lambda: player.playing, timeout=20_000)
        assert player.player.position() >= 7000
        # While indexing, results are re-run and the current row restored: it plays on.
        window._restore = (str(clip), 0)
        window._on_results(hits, window.controller.request)
        assert player.playing and player.video.isVisible()
    else:
        assert externally == [str(clip)]
    window.view.setCurrentIndex(window.model.index(1))
    qtbot.keyClick(window.view, Qt.Key.Key_Return)  # a photo still opens in its app
    assert externally[-1] == "/photos/a.jpg"
    assert window.model.index(1).data(PathRole) == "/photos/a.jpg"


def test_sound_settings_reopen_the_library(qtbot, make_window, tmp_path: Path) -> None:
    window = make_window(watch=False)
    controller = window.controller
    wait_model_ready(qtbot, window)
    dialog = SettingsDialog(controller.settings)
    qtbot.addWidget(dialog)
    assert dialog.sound_check.isChecked() and dialog.audio_model_edit.isEnabled()
    dialog.sound_check.setChecked(False)
    assert not dialog.audio_model_edit.isEnabled()  # no model to choose with sound search off
    chosen = dialog.settings()
    assert chosen.sound_search is False and chosen.audio_model == controller.settings.audio_model
    if chosen.sound_model() == controller.settings.sound_model():
        pytest.skip("sound search is unavailable here (no transformers): nothing to reopen")
    with qtbot.waitSignal(controller.indexFinished, timeout=60_000):
        controller.apply_settings(chosen)  # a new Library, as for a new image model
    saved = (tmp_path / "home" / "settings.toml").read_text()
    assert "sound_search = false" in saved

    dialog = SettingsDialog(controller.settings)
    qtbot.addWidget(dialog)
    dialog.sound_check.setChecked(True)
    dialog.audio_model_edit.setText("local-dir:/models/clap")
    assert dialog.settings().audio_model == "local-dir:/models/clap"


def test_a_sound_is_found_by_description_and_shown_at_its_moment(
    qtbot, make_window, tmp_path: Path, tiny_clap_spec: str
) -> None:
    folder = tmp_path / "sounds"
    write_sound_files(folder, count_per_sound=1, seed=5)
    memo = write_two_part_sound(folder / "memo.wav", "low", "high", 4.0, 16000)
    window = make_window(watch=False, audio_model=tiny_clap_spec)
    wait_model_ready(qtbot, window)
    with qtbot.waitSignal(window.controller.indexFinished, timeout=120_000):
        window.controller.add_folder(str(folder))
    search_for(qtbot, window, SOUNDS["high"])
    first = window.model.index(0)
    assert first.data(KindRole) == "audio"
    rows = {window.model.index(r).data(PathRole): r for r in range(window.model.rowCount())}
    memo_row = window.model.index(rows[str(memo)])
    assert memo_row.data(BadgeRole) in ("0:04", "0:06"), "the beep is in the memo's second half"
