"""The disk thumbnail cache: upright, size-stepped, keyed by content; and the Qt loader on top."""

from __future__ import annotations

from PIL import Image
from PySide6.QtGui import QPixmap

from mediasearch.core.thumbs import ThumbnailCache, cache_size_for
from mediasearch.ui.thumbnails import ThumbnailLoader
from tests.ui.conftest import InlinePool


def test_thumbnail_is_upright_and_cached_by_content(tmp_path):
    photo = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view": a portrait photo stored sideways
    Image.new("RGB", (400, 200), (200, 30, 30)).save(photo, exif=exif.tobytes())
    cache = ThumbnailCache(tmp_path / "cache")
    first = cache.get(photo, 150)
    with Image.open(first) as thumb:
        assert thumb.size == (cache_size_for(150) // 2, cache_size_for(150))  # portrait now
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(photo.read_bytes())
    assert cache.get(copy, 150) == first  # same content, same cached file


def test_loader_hands_out_pixmaps_and_remembers_failures(qtbot, tmp_path):
    good = tmp_path / "good.png"
    Image.new("RGB", (300, 300), (0, 0, 255)).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    loader = ThumbnailLoader(ThumbnailCache(tmp_path / "cache"), InlinePool())  # type: ignore[arg-type]
    with qtbot.waitSignal(loader.ready):
        assert loader.pixmap(str(good), 128) is None
    pixmap = loader.pixmap(str(good), 128)
    assert isinstance(pixmap, QPixmap) and pixmap.width() == 128
    with qtbot.waitSignal(loader.ready):
        loader.pixmap(str(bad), 128)
    assert loader.failed(str(bad), 128)
