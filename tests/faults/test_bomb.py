"""Decompression bombs: an image whose header claims a huge size is refused before its pixels are
allocated, even when Pillow's own guard is turned off."""

from __future__ import annotations

import io
import json
import random
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mediasearch.core.library import Library
from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.images import MAX_IMAGE_PIXELS, decode_image
from mediasearch.selftest.shapes import draw_shape, write_shape_images
from tests.faults.test_bad_files import assert_consistent, error_reasons, found_paths

LibraryFactory = Callable[..., Library]
CLAIMED_SIDE = 50_000  # 2,500 megapixels: 7.5 GB as RGB
# A real bomb: a valid greyscale PNG just over the limit, all zeros, ~200 KB on disk.
REAL_BOMB_SIDE = 14_500
MIN_SIDE = 224  # what the indexer asks for
# Refusing from the header costs a few buffers; decoding even the real bomb would cost 210 MB.
MAX_PEAK_GROWTH_BYTES = 32 * 1024 * 1024
LARGEST_SMALL_IMAGE = 256 * 256  # pixels: more than any allocation refusing a bomb may make
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START_OF_FRAME = b"\xff\xc0"  # baseline SOF0: precision, then height and width
PHOTOS = 4
# Pillow's allocation functions, each taking (mode, size, ...): any pixel buffer goes through one.
ALLOCATORS = ("new", "fill", "new_block")
# Run in a fresh interpreter so that its peak memory (ru_maxrss) starts near its current use.
PEAK_SCRIPT = """
import json, resource, sys
from PIL import Image
from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.images import decode_image
if sys.argv[1] == "off":
    Image.MAX_IMAGE_PIXELS = None
scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
results = {}
for path in sys.argv[2:]:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        decode_image(path, min_side=224)
        reason = None
    except MediaError as error:
        reason = str(error)
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * scale
    results[path] = [reason, growth]
print(json.dumps(results))
"""


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int, *, real: bool = False) -> bytes:
    """An 8-bit greyscale PNG of this size: all zeros when `real`, else a few bogus bytes."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte, then the row's pixels
    rows = height if real else 1
    data = b"".join(compressor.compress(row) for _ in range(rows)) + compressor.flush()
    return PNG_SIGNATURE + header + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def jpeg_bomb(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header is rewritten to claim this size."""
    buffer = io.BytesIO()
    draw_shape("circle", "red", random.Random(1), 96).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    frame = data.index(JPEG_START_OF_FRAME)
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    contents = {
        "claims.png": png_bomb(CLAIMED_SIDE, CLAIMED_SIDE),
        "claims.jpg": jpeg_bomb(CLAIMED_SIDE, CLAIMED_SIDE),
        "real.png": png_bomb(REAL_BOMB_SIDE, REAL_BOMB_SIDE, real=True),
    }
    paths = {}
    for name, data in contents.items():
        (folder / name).write_bytes(data)
        paths[name] = folder / name
    assert REAL_BOMB_SIDE**2 > MAX_IMAGE_PIXELS
    return paths


@pytest.fixture(params=["pillow guard on", "pillow guard off"])
def pillow_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Pillow's own bomb check as shipped, or disabled as an application may do."""
    if request.param == "pillow guard off":
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    return "off" if request.param == "pillow guard off" else "on"


@pytest.fixture
def allocations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Pixel counts of every image buffer Pillow allocates while the test runs."""
    sizes: list[int] = []
    for name in ALLOCATORS:
        real = getattr(Image.core, name)

        def spy(mode: str, size: tuple[int, int], *args: Any, _real: Any = real) -> Any:
            sizes.append(size[0] * size[1])
            return _real(mode, size, *args)

        monkeypatch.setattr(Image.core, name, spy)
    return sizes


def test_a_bomb_is_refused_before_its_pixels_are_allocated(
    bombs: dict[str, Path], pillow_guard: str, allocations: list[int]
) -> None:
    for path in bombs.values():
        with pytest.raises(MediaError, match=r"^image too large"):
            decode_image(path, min_side=MIN_SIDE)
    assert all(pixels <= LARGEST_SMALL_IMAGE for pixels in allocations)


def test_refusing_a_bomb_keeps_peak_memory_small(bombs: dict[str, Path], pillow_guard: str) -> None:
    repo = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, pillow_guard, *map(str, bombs.values())],
        capture_output=True,
        text=True,
        check=True,
        cwd=repo,
    )
    results: dict[str, list[Any]] = json.loads(run.stdout)
    for path, (reason, growth) in results.items():
        assert reason is not None and reason.startswith("image too large"), path
        assert growth < MAX_PEAK_GROWTH_BYTES, path


def test_bombs_in_a_library_are_listed_and_the_rest_is_indexed(
    make_library: LibraryFactory, bombs: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    good = {str(p) for p, _, _ in write_shape_images(folder, PHOTOS, seed=4)}
    for name, path in bombs.items():
        (folder / name).write_bytes(path.read_bytes())
    library = make_library()

    summary = library.index([str(folder)])

    bomb_paths = {str(folder / name) for name in bombs}
    reasons = dict(summary.skipped)
    assert set(reasons) == bomb_paths
    assert all(reason.startswith("image too large") for reason in reasons.values())
    assert error_reasons(library) == reasons
    assert found_paths(library) == good
    assert_consistent(library)
    again = library.index()
    assert again.skipped == [] and again.indexed == 0
