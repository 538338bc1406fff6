"""Tests for mediasearch.core.media.images: formats, reduction, orientation, modes, bad files."""

from __future__ import annotations

import errno
import io
import os
import random
import struct
import subprocess
import sys
import zlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, features

from mediasearch.core.media import images as images_module
from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.images import (
    IMAGE_EXTENSIONS,
    DecodedImage,
    decode_image,
    decode_image_bytes,
    is_image_path,
)

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


# ---------------------------------------------------------------- helpers


def quadrants(width: int = 64, height: int = 48) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, white bottom-right."""
    image = Image.new("RGB", (width, height), WHITE)
    half_w, half_h = width // 2, height // 2
    image.paste(RED, (0, 0, half_w, half_h))
    image.paste(GREEN, (half_w, 0, width, half_h))
    image.paste(BLUE, (0, half_h, half_w, height))
    return image


def assert_colour(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 0) -> None:
    assert len(actual) == 3, actual
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), (
        f"{actual} != {expected} (tolerance {tolerance})"
    )


def pixel(decoded: DecodedImage, x: int, y: int) -> tuple[int, ...]:
    value = decoded.image.getpixel((x, y))
    assert isinstance(value, tuple)
    return value


def corners(decoded: DecodedImage) -> dict[str, tuple[int, ...]]:
    """Colours sampled a few pixels in from each corner (away from JPEG edge ringing)."""
    width, height = decoded.image.size
    dx, dy = max(1, width // 8), max(1, height // 8)
    return {
        "top_left": pixel(decoded, dx, dy),
        "top_right": pixel(decoded, width - 1 - dx, dy),
        "bottom_left": pixel(decoded, dx, height - 1 - dy),
        "bottom_right": pixel(decoded, width - 1 - dx, height - 1 - dy),
    }


def save(image: Image.Image, path: Path, fmt: str | None = None, **params: object) -> Path:
    image.save(path, fmt, **params)
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_header_only(width: int, height: int) -> bytes:
    """A syntactically valid PNG claiming width x height, with a tiny bogus IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def exif_with(
    orientation: int | None = None,
    original: str | None = None,
    plain: str | None = None,
) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if plain is not None:
        exif[0x0132] = plain
    if original is not None:
        exif.get_ifd(0x8769)[0x9003] = original
    return exif.tobytes()


def error_reason(path: Path | str, min_side: int | None = None) -> str:
    with pytest.raises(MediaError) as caught:
        decode_image(path, min_side=min_side)
    return str(caught.value)


# ---------------------------------------------------------------- extensions


def test_image_extensions_are_lowercase_with_dot() -> None:
    base = {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
    assert base <= IMAGE_EXTENSIONS
    assert all(ext.startswith(".") and ext == ext.lower() for ext in IMAGE_EXTENSIONS)


def test_heif_extensions_follow_pillow_heif() -> None:
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        assert ".heic" not in IMAGE_EXTENSIONS
    else:
        assert {".heic", ".heif"} <= IMAGE_EXTENSIONS


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("photo.jpg", True),
        ("PHOTO.JPG", True),
        ("scan.TiFf", True),
        ("dir.jpg/notes.txt", False),
        ("archive.jpg.zip", False),
        ("README", False),
        ("movie.mp4", False),
    ],
)
def test_is_image_path(name: str, expected: bool) -> None:
    assert is_image_path(name) is expected
    assert is_image_path(Path("/some/folder") / name) is expected


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("suffix", "params", "tolerance"),
    [
        (".jpg", {"quality": 95}, 12),
        (".png", {}, 0),
        (".webp", {"lossless": True}, 0),
        (".gif", {}, 0),
        (".bmp", {}, 0),
        (".tif", {}, 0),
        (".tiff", {"compression": "tiff_lzw"}, 0),
    ],
)
def test_round_trip(tmp_path: Path, suffix: str, params: dict[str, object], tolerance: int) -> None:
    path = save(quadrants(), tmp_path / f"q{suffix}", **params)
    decoded = decode_image(path)
    assert decoded.image.mode == "RGB"
    assert decoded.image.size == (64, 48)
    assert (decoded.info.width, decoded.info.height) == (64, 48)
    assert decoded.info.captured_at is None
    got = corners(decoded)
    assert_colour(got["top_left"], RED, tolerance)
    assert_colour(got["top_right"], GREEN, tolerance)
    assert_colour(got["bottom_left"], BLUE, tolerance)
    assert_colour(got["bottom_right"], WHITE, tolerance)


def test_result_is_loaded_plain_image(tmp_path: Path) -> None:
    # Even when no conversion is needed, we must not hand out the lazy file-backed object.
    path = save(quadrants(), tmp_path / "q.png")
    for min_side in (None, 8):
        image = decode_image(path, min_side=min_side).image
        assert not isinstance(image, ImageFile.ImageFile)
        assert image.getpixel((1, 1)) == RED


@pytest.mark.parametrize(("suffix", "tolerance"), [(".gif", 0), (".webp", 8), (".png", 0)])
def test_animation_first_frame(tmp_path: Path, suffix: str, tolerance: int) -> None:
    frames = [Image.new("RGB", (40, 30), colour) for colour in (RED, BLUE, GREEN)]
    path = tmp_path / f"anim{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(path) as stored:
        assert getattr(stored, "n_frames", 1) == 3
    decoded = decode_image(path)
    assert decoded.image.size == (40, 30)
    assert_colour(pixel(decoded, 20, 15), RED, tolerance)


@pytest.mark.skipif(
    not ("avif" in features.modules and features.check_module("avif")),
    reason="Pillow built without AVIF",
)
def test_avif_round_trip(tmp_path: Path) -> None:
    assert ".avif" in IMAGE_EXTENSIONS
    path = save(quadrants(128, 96), tmp_path / "q.avif", quality=90)
    decoded = decode_image(path)
    assert decoded.image.size == (128, 96)
    assert_colour(corners(decoded)["top_left"], RED, 30)


def test_heif_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("pillow_heif")
    assert {".heic", ".heif"} <= IMAGE_EXTENSIONS
    path = tmp_path / "q.heic"
    exif = exif_with(6, original="2022:03:04 05:06:07")
    quadrants(160, 80).save(path, quality=90, exif=exif)  # saver registered with the opener
    decoded = decode_image(path, min_side=40)
    # pillow-heif applies the rotation itself and resets the tag: we must not rotate twice.
    assert decoded.image.size == (40, 80)
    assert (decoded.info.width, decoded.info.height) == (80, 160)
    assert decoded.info.captured_at == datetime(2022, 3, 4, 5, 6, 7).timestamp()
    assert_colour(corners(decoded)["top_right"], RED, 30)


# ---------------------------------------------------------------- reduction


def test_draft_reduces_big_jpeg(tmp_path: Path) -> None:
    path = save(quadrants(4000, 3000), tmp_path / "big.jpg", quality=90)
    decoded = decode_image(path, min_side=224)
    width, height = decoded.image.size
    # libjpeg's 1/8 scale: 500x375. Shorter side must never drop below min_side.
    assert (width, height) == (500, 375)
    assert 224 <= min(width, height) < 2 * 224
    assert (decoded.info.width, decoded.info.height) == (4000, 3000)
    assert_colour(corners(decoded)["top_left"], RED, 12)
    assert_colour(corners(decoded)["bottom_right"], WHITE, 12)


def test_draft_on_jpeg_that_is_just_big_enough(tmp_path: Path) -> None:
    path = save(quadrants(900, 600), tmp_path / "mid.jpg", quality=90)
    decoded = decode_image(path, min_side=224)
    # 600 // 224 = 2 -> half-scale decode; a quarter (150) would be too small.
    assert decoded.image.size == (450, 300)


def test_draft_then_further_reduction_when_eighth_is_not_enough(tmp_path: Path) -> None:
    path = save(quadrants(4000, 3000), tmp_path / "big.jpg", quality=90)
    decoded = decode_image(path, min_side=64)
    # 1/8 scale gives 500x375, then reduce(5) -> 100x75; still >= 64 and < 128.
    assert 64 <= min(decoded.image.size) < 128
    assert (decoded.info.width, decoded.info.height) == (4000, 3000)


def test_mpo_from_camera_is_drafted_like_jpeg(tmp_path: Path) -> None:
    # Some cameras write MPO (JPEG + extra pictures); Pillow names it MPO, users call it JPEG.
    frames = [quadrants(1600, 1200), Image.new("RGB", (1600, 1200), BLUE)]
    path = tmp_path / "camera.jpg"
    frames[0].save(path, "MPO", save_all=True, append_images=frames[1:], quality=90)
    with Image.open(path) as stored:
        assert stored.format == "MPO"
    decoded = decode_image(path, min_side=224)
    assert decoded.image.size == (400, 300)  # quarter-scale draft of the first picture
    assert_colour(corners(decoded)["top_left"], RED, 12)
    path.write_bytes(path.read_bytes()[:5000])
    assert error_reason(path) == "truncated or corrupt JPEG"


def test_png_is_reduced_but_not_below_min_side(tmp_path: Path) -> None:
    path = save(quadrants(1000, 800), tmp_path / "big.png")
    decoded = decode_image(path, min_side=100)
    assert decoded.image.size == (125, 100)
    assert (decoded.info.width, decoded.info.height) == (1000, 800)
    assert_colour(corners(decoded)["top_left"], RED, 0)


def test_min_side_larger_than_image_keeps_full_size(tmp_path: Path) -> None:
    path = save(quadrants(120, 90), tmp_path / "small.jpg")
    assert decode_image(path, min_side=224).image.size == (120, 90)
    assert decode_image(path, min_side=None).image.size == (120, 90)


def test_min_side_must_be_positive(tmp_path: Path) -> None:
    path = save(quadrants(), tmp_path / "q.png")
    with pytest.raises(ValueError, match="min_side"):
        decode_image(path, min_side=0)


# ---------------------------------------------------------------- orientation


@pytest.mark.parametrize(
    ("orientation", "red_corner", "swapped"),
    [
        (1, "top_left", False),
        (3, "bottom_right", False),
        (6, "top_right", True),  # stored sideways; display = rotate 90 degrees clockwise
        (8, "bottom_left", True),  # rotate 90 degrees counter-clockwise
    ],
)
def test_exif_orientation(tmp_path: Path, orientation: int, red_corner: str, swapped: bool) -> None:
    path = save(quadrants(80, 40), tmp_path / "o.jpg", quality=95, exif=exif_with(orientation))
    decoded = decode_image(path)
    expected_size = (40, 80) if swapped else (80, 40)
    assert decoded.image.size == expected_size
    assert (decoded.info.width, decoded.info.height) == expected_size
    got = corners(decoded)
    assert_colour(got[red_corner], RED, 12)
    others = [name for name in got if name != red_corner]
    assert all(got[name][1] > 100 or got[name][2] > 100 for name in others)


def test_orientation_with_draft_reports_full_rotated_size(tmp_path: Path) -> None:
    path = save(quadrants(4000, 3000), tmp_path / "o.jpg", quality=85, exif=exif_with(6))
    decoded = decode_image(path, min_side=224)
    assert decoded.image.size == (375, 500)
    assert (decoded.info.width, decoded.info.height) == (3000, 4000)
    assert_colour(corners(decoded)["top_right"], RED, 12)


def test_orientation_in_tiff(tmp_path: Path) -> None:
    image = quadrants(80, 40)
    path = save(image, tmp_path / "o.tif", exif=exif_with(6))
    decoded = decode_image(path)
    assert decoded.image.size == (40, 80)
    assert_colour(corners(decoded)["top_right"], RED, 0)


def test_garbled_orientation_is_ignored(tmp_path: Path) -> None:
    path = save(quadrants(80, 40), tmp_path / "o.jpg", exif=exif_with(orientation=99))
    decoded = decode_image(path)
    assert decoded.image.size == (80, 40)


# ---------------------------------------------------------------- colour modes


def test_palette_with_transparency_becomes_white(tmp_path: Path) -> None:
    image = Image.new("P", (20, 10), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (10, 0, 20, 10))  # right half red, left half palette index 0 (transparent)
    for suffix in (".png", ".gif"):
        path = save(image, tmp_path / f"p{suffix}", transparency=0)
        decoded = decode_image(path)
        assert_colour(pixel(decoded, 2, 5), WHITE)  # transparent black -> white, not black
        assert_colour(pixel(decoded, 15, 5), RED)


def test_palette_without_transparency(tmp_path: Path) -> None:
    image = quadrants().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    decoded = decode_image(save(image, tmp_path / "p.png"))
    assert_colour(corners(decoded)["bottom_left"], BLUE)


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    image = Image.new("RGBA", (30, 10), (0, 0, 0, 0))  # fully transparent black
    image.paste((255, 0, 0, 255), (10, 0, 20, 10))  # opaque red
    image.paste((0, 0, 0, 128), (20, 0, 30, 10))  # half-transparent black
    for suffix in (".png", ".webp"):
        params = {"lossless": True} if suffix == ".webp" else {}
        decoded = decode_image(save(image, tmp_path / f"a{suffix}", **params))
        assert decoded.image.mode == "RGB"
        assert_colour(pixel(decoded, 5, 5), WHITE)
        assert_colour(pixel(decoded, 15, 5), RED)
        assert_colour(pixel(decoded, 25, 5), (127, 127, 127), 2)


def test_la_is_composited_on_white(tmp_path: Path) -> None:
    image = Image.new("LA", (20, 10), (0, 0))
    image.paste((50, 255), (10, 0, 20, 10))
    decoded = decode_image(save(image, tmp_path / "la.png"))
    assert_colour(pixel(decoded, 5, 5), WHITE)
    assert_colour(pixel(decoded, 15, 5), (50, 50, 50))


def test_rgb_png_with_transparent_colour_key(tmp_path: Path) -> None:
    image = Image.new("RGB", (20, 10), (0, 0, 0))
    image.paste(RED, (10, 0, 20, 10))
    decoded = decode_image(save(image, tmp_path / "trns.png", transparency=(0, 0, 0)))
    assert_colour(pixel(decoded, 5, 5), WHITE)
    assert_colour(pixel(decoded, 15, 5), RED)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = save(quadrants().convert("CMYK"), tmp_path / "cmyk.jpg", quality=95)
    assert b"Adobe" in path.read_bytes()  # Pillow writes Adobe's inverted CMYK convention
    with Image.open(path) as stored:
        assert stored.mode == "CMYK"
    decoded = decode_image(path)
    got = corners(decoded)
    assert_colour(got["top_left"], RED, 12)
    assert_colour(got["bottom_left"], BLUE, 12)
    assert_colour(got["bottom_right"], WHITE, 12)


def test_cmyk_tiff(tmp_path: Path) -> None:
    decoded = decode_image(save(quadrants().convert("CMYK"), tmp_path / "cmyk.tif"))
    assert_colour(corners(decoded)["top_right"], GREEN)


def sixteen_bit_ramp(mode: str) -> Image.Image:
    """Columns of 0, 32896 (= 128 * 257, mid grey) and 65535."""
    values = np.zeros((6, 9), dtype=np.uint16)
    values[:, 3:6] = 32896
    values[:, 6:] = 65535
    if mode == "I;16B":  # Pillow's convert() to I;16B clips, so build it from big-endian bytes
        return Image.frombytes("I;16B", (9, 6), values.astype(">u2").tobytes())
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    return image


@pytest.mark.parametrize(
    ("mode", "suffix"), [("I;16", ".png"), ("I;16", ".tif"), ("I;16B", ".tif")]
)
def test_sixteen_bit_greyscale_is_scaled_not_clipped(
    tmp_path: Path, mode: str, suffix: str
) -> None:
    path = save(sixteen_bit_ramp(mode), tmp_path / f"g16{suffix}")
    with Image.open(path) as stored:
        assert stored.mode == mode  # really stored as 16 bit
    decoded = decode_image(path)
    assert_colour(pixel(decoded, 1, 1), (0, 0, 0))
    assert_colour(pixel(decoded, 4, 1), (128, 128, 128))  # Pillow's own convert gives 255 here
    assert_colour(pixel(decoded, 7, 1), WHITE)


def test_sixteen_bit_png_is_reduced(tmp_path: Path) -> None:
    values = np.full((400, 600), 32896, dtype=np.uint16)
    path = save(Image.fromarray(values), tmp_path / "g16.png")
    decoded = decode_image(path, min_side=100)
    assert decoded.image.size == (150, 100)
    assert_colour(pixel(decoded, 50, 50), (128, 128, 128))


def test_thirty_two_bit_int_tiff(tmp_path: Path) -> None:
    values = np.array([[0, 32896, 65535]], dtype=np.int32).repeat(4, axis=0)
    path = save(Image.fromarray(values, "I"), tmp_path / "i32.tif")
    decoded = decode_image(path)
    assert [pixel(decoded, x, 0)[0] for x in range(3)] == [0, 128, 255]


def test_float_tiff(tmp_path: Path) -> None:
    values = np.array([[0.0, 0.5, 1.0]], dtype=np.float32).repeat(4, axis=0)
    path = save(Image.fromarray(values, "F"), tmp_path / "f.tif")
    decoded = decode_image(path)
    assert [pixel(decoded, x, 0)[0] for x in range(3)] == [0, 128, 255]


def test_float_tiff_with_odd_range_and_nan(tmp_path: Path) -> None:
    values = np.array([[-10.0, 5.0, 20.0, np.nan]], dtype=np.float32).repeat(4, axis=0)
    path = save(Image.fromarray(values, "F"), tmp_path / "f.tif")
    decoded = decode_image(path)
    assert [pixel(decoded, x, 0)[0] for x in range(4)] == [0, 128, 255, 0]


@pytest.mark.parametrize(("mode", "suffix"), [("1", ".png"), ("1", ".tif"), ("L", ".png")])
def test_bilevel_and_greyscale(tmp_path: Path, mode: str, suffix: str) -> None:
    image = Image.new("L", (20, 10), 0)
    image.paste(255, (10, 0, 20, 10))
    path = save(image.convert(mode), tmp_path / f"g{suffix}")
    decoded = decode_image(path)
    assert decoded.image.mode == "RGB"
    assert_colour(pixel(decoded, 5, 5), (0, 0, 0))
    assert_colour(pixel(decoded, 15, 5), WHITE)


def test_greyscale_jpeg(tmp_path: Path) -> None:
    path = save(Image.new("L", (64, 48), 90), tmp_path / "g.jpg", quality=95)
    decoded = decode_image(path, min_side=16)
    assert decoded.image.mode == "RGB"
    assert_colour(pixel(decoded, 3, 3), (90, 90, 90), 2)


# ---------------------------------------------------------------- capture time


def test_exif_datetime_original(tmp_path: Path) -> None:
    exif = exif_with(original="2021:06:15 14:30:05", plain="2001:01:01 00:00:00")
    path = save(quadrants(), tmp_path / "dated.jpg", exif=exif)
    expected = datetime(2021, 6, 15, 14, 30, 5).timestamp()
    assert decode_image(path).info.captured_at == expected


def test_exif_datetime_fallback_to_datetime(tmp_path: Path) -> None:
    path = save(quadrants(), tmp_path / "dated.jpg", exif=exif_with(plain="2019:12:31 23:59:59"))
    expected = datetime(2019, 12, 31, 23, 59, 59).timestamp()
    assert decode_image(path).info.captured_at == expected


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif"])
def test_exif_datetime_in_other_formats(tmp_path: Path, suffix: str) -> None:
    exif = exif_with(original="2020:02:29 08:00:00")
    path = save(quadrants(), tmp_path / f"dated{suffix}", exif=exif)
    assert decode_image(path).info.captured_at == datetime(2020, 2, 29, 8, 0, 0).timestamp()


@pytest.mark.parametrize(
    "garbled", ["0000:00:00 00:00:00", "    :  :     :  :  ", "2021:13:45 99:00:00", "soon"]
)
def test_garbled_exif_datetime_is_none(tmp_path: Path, garbled: str) -> None:
    path = save(quadrants(), tmp_path / "garbled.jpg", exif=exif_with(original=garbled))
    decoded = decode_image(path)
    assert decoded.info.captured_at is None
    assert decoded.image.size == (64, 48)


def test_broken_exif_block_does_not_fail_decode(tmp_path: Path) -> None:
    path = save(quadrants(), tmp_path / "badexif.jpg", exif=b"Exif\x00\x00MM\x00*\xff\xff")
    decoded = decode_image(path)
    assert decoded.info.captured_at is None
    assert_colour(corners(decoded)["top_left"], RED, 12)


# ---------------------------------------------------------------- bad input


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert error_reason(path) == "file is empty"


@pytest.mark.parametrize(("suffix", "fmt"), [(".jpg", "JPEG"), (".png", "PNG"), (".gif", "GIF")])
def test_truncated_file(tmp_path: Path, suffix: str, fmt: str) -> None:
    data = io.BytesIO()
    Image.effect_noise((300, 200), 60).convert("RGB").save(data, fmt)
    for keep in (len(data.getvalue()) // 2, 30):
        path = tmp_path / f"cut{keep}{suffix}"
        path.write_bytes(data.getvalue()[:keep])
        assert error_reason(path) == f"truncated or corrupt {fmt}"
        assert error_reason(path, min_side=64) == f"truncated or corrupt {fmt}"


def test_load_truncated_images_stays_off(tmp_path: Path) -> None:
    # We must not flip Pillow's global switch that silently accepts broken files.
    data = io.BytesIO()
    quadrants(300, 200).save(data, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data.getvalue()[:-200])
    with pytest.raises(MediaError):
        decode_image(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_random_bytes_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "noise.jpg"
    path.write_bytes(random.Random(1).randbytes(5000))
    assert error_reason(path) == "not an image file"


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("shopping list: eggs, milk\n")
    assert error_reason(path) == "not an image file"


@pytest.mark.parametrize("fmt", ["PPM", "ICO", "TGA", "EPS"])
def test_non_photo_formats_are_not_even_tried(tmp_path: Path, fmt: str) -> None:
    # EPS would start Ghostscript; only photo formats may be identified, whatever the name.
    path = tmp_path / "disguised.jpg"
    if fmt == "EPS":
        path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    else:
        quadrants().save(path, fmt)
    assert error_reason(path) == "not an image file"


def test_other_photo_format_under_wrong_extension_still_decodes(tmp_path: Path) -> None:
    path = save(quadrants(), tmp_path / "download.jpg", "PNG")  # web downloads often lie
    assert_colour(corners(decode_image(path))["top_right"], GREEN)


def test_header_claiming_huge_size_is_refused_by_pillow_check(tmp_path: Path) -> None:
    # 50000 x 50000 = 2.5 gigapixels: Pillow's own error fires inside Image.open.
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(50_000, 50_000))
    assert error_reason(path) == "image too large (2,500 megapixels)"


def test_huge_header_bytes_are_refused() -> None:
    with pytest.raises(MediaError, match=r"^image too large \(400 megapixels\)$"):
        decode_image_bytes(png_header_only(20_000, 20_000))


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_pillow_bomb_warning_raised_as_error_becomes_media_error(tmp_path: Path) -> None:
    # 10000 x 10000 = 100 Mpx: Pillow only warns (limit/2 < size < limit); when the application
    # turns warnings into errors, that error must still come out as a MediaError.
    path = tmp_path / "warn.png"
    path.write_bytes(png_header_only(10_000, 10_000))
    assert error_reason(path) == "image too large (100 megapixels)"


def test_our_limit_applies_from_header_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images_module, "MAX_IMAGE_PIXELS", 100 * 100)

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("decoded pixels of an image that is over the limit")

    with monkeypatch.context() as patch:
        patch.setattr(ImageFile.ImageFile, "load", no_decoding)
        for suffix in (".png", ".jpg"):
            path = save(quadrants(200, 100), tmp_path / f"big{suffix}")
            assert error_reason(path) == "image too large (200x100 pixels)"
            assert error_reason(path, min_side=10) == "image too large (200x100 pixels)"
    assert decode_image(save(quadrants(100, 100), tmp_path / "ok.png")).image.size == (100, 100)


def test_our_limit_holds_when_pillow_limit_is_disabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(50_000, 50_000))
    assert error_reason(path) == "image too large (50000x50000 pixels)"


def test_missing_file(tmp_path: Path) -> None:
    assert error_reason(tmp_path / "gone.jpg") == "file disappeared before it could be read"


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "album.jpg"
    folder.mkdir()
    assert error_reason(folder) == "is a folder, not a file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    assert error_reason(fifo) == "not a regular file"


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root (or Windows) can read anything"
)
def test_permission_denied_for_real(tmp_path: Path) -> None:
    path = save(quadrants(), tmp_path / "secret.png")
    path.chmod(0)
    try:
        assert error_reason(path) == "permission denied"
    finally:
        path.chmod(0o644)


def fail_open(error: OSError):
    def fake_open(*args: object, **kwargs: object) -> object:
        raise error

    return fake_open


def test_permission_denied_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(quadrants(), tmp_path / "secret.png")
    denied = PermissionError(errno.EACCES, "Permission denied", str(path))
    monkeypatch.setattr(images_module, "open", fail_open(denied), raising=False)
    assert error_reason(path) == "permission denied"


def test_other_os_error_on_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(quadrants(), tmp_path / "q.png")
    broken = OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(images_module, "open", fail_open(broken), raising=False)
    assert error_reason(path) == "could not read file (Input/output error)"


class FailingReader(io.BytesIO):
    """A file whose disk fails at byte `fail_at`, like a dying USB stick."""

    def __init__(self, data: bytes, fail_at: int) -> None:
        super().__init__(data)
        self.fail_at = fail_at

    def read(self, size: int | None = -1, /) -> bytes:
        end = len(self.getbuffer()) if size is None or size < 0 else self.tell() + size
        if end > self.fail_at:
            raise OSError(errno.EIO, "Input/output error")
        return super().read(size)


@pytest.mark.parametrize("fail_from_end", [None, 100])  # while identifying / while decoding
@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_os_error_while_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, fail_from_end: int | None
) -> None:
    path = save(Image.effect_noise((200, 100), 50), tmp_path / f"q{suffix}")
    data = path.read_bytes()
    fail_at = 40 if fail_from_end is None else len(data) - fail_from_end
    monkeypatch.setattr(
        images_module, "open", lambda *a, **k: FailingReader(data, fail_at), raising=False
    )
    assert error_reason(path) == "could not read file (Input/output error)"


def test_nul_in_file_name() -> None:
    with pytest.raises(MediaError):
        decode_image("bad\x00name.jpg")


def test_corrupted_files_only_ever_raise_media_error() -> None:
    rng = random.Random(7)
    originals = {}
    for fmt in ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"):
        data = io.BytesIO()
        quadrants(96, 64).save(data, fmt)
        originals[fmt] = data.getvalue()
    for fmt, original in originals.items():
        for _ in range(40):
            data = bytearray(original)
            if rng.random() < 0.5:
                del data[rng.randrange(1, len(data)) :]
            else:
                for _ in range(rng.randint(1, 8)):
                    data[rng.randrange(len(data))] = rng.randrange(256)
            try:
                decoded = decode_image_bytes(bytes(data), min_side=rng.choice([None, 16]))
            except MediaError as error:
                assert str(error), fmt
            else:
                assert decoded.image.mode == "RGB", fmt


# ---------------------------------------------------------------- bytes input


def test_decode_image_bytes() -> None:
    data = io.BytesIO()
    quadrants(400, 300).save(data, "JPEG", quality=95, exif=exif_with(6))
    decoded = decode_image_bytes(data.getvalue(), min_side=100)
    assert decoded.image.size == (150, 200)  # half-scale draft, then rotated
    assert (decoded.info.width, decoded.info.height) == (300, 400)
    assert_colour(corners(decoded)["top_right"], RED, 12)


def test_decode_image_bytes_rejects_garbage() -> None:
    with pytest.raises(MediaError, match="not an image file"):
        decode_image_bytes(b"<html><body>not a picture</body></html>")
    with pytest.raises(MediaError, match="empty"):
        decode_image_bytes(b"")


def test_heif_without_pillow_heif_says_what_is_missing() -> None:
    if ".heic" in IMAGE_EXTENSIONS:
        pytest.skip("pillow-heif is installed")
    data = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100)
    with pytest.raises(MediaError, match="pillow-heif"):
        decode_image_bytes(data)


# ---------------------------------------------------------------- hygiene


def test_core_media_does_not_import_qt() -> None:
    code = (
        "import sys, mediasearch.core.media; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6')]; "
        "sys.exit(repr(bad) if bad else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pillow_limits_untouched() -> None:
    assert Image.MAX_IMAGE_PIXELS == 1024 * 1024 * 1024 // 4 // 3  # Pillow default, ~89 Mpx
