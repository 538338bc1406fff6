"""Robust, fast decoding of still images into upright RGB pixels plus size and capture time."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Final

import numpy as np
from PIL import Image, UnidentifiedImageError, features

from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.files import check_regular_file, describe_os_error

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_PIXELS",
    "DecodedImage",
    "ImageInfo",
    "decode_image",
    "decode_image_bytes",
    "is_image_path",
]

# Pillow's default hard limit (2 x Image.MAX_IMAGE_PIXELS, about 179 Mpx), enforced by us from the
# header size before any pixel buffer is allocated, so it holds even if an application sets
# Image.MAX_IMAGE_PIXELS = None. It leaves room for real 100-150 Mpx medium-format photos, for
# which Pillow merely warns (DecompressionBombWarning, above ~89 Mpx); we leave that warning alone
# rather than change the process-wide warning filters, which is not thread-safe.
MAX_IMAGE_PIXELS: int = 178_956_970

_BASE_EXTENSIONS: Final = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
)
_HEIF_EXTENSIONS: Final = frozenset({".heic", ".heif"})
# Pillow identifies files by content, not name. Only let it try photo formats: a file named
# .jpg holding EPS would otherwise run Ghostscript, and PSD/ICO/FITS/... are no photos anyway.
# (JPEG covers MPO; HEIF/AVIF count only when their plugin is registered.)
_DECODABLE_FORMATS: Final = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "HEIF", "AVIF")
_SNIFF_BYTES: Final = 16
_WHITE: Final = (255, 255, 255)

# EXIF tags we read (numbers rather than ExifTags enums: fewer moving parts across Pillow versions).
_TAG_ORIENTATION: Final = 0x0112
_TAG_DATETIME: Final = 0x0132
_TAG_DATETIME_ORIGINAL: Final = 0x9003
_TAG_EXIF_IFD: Final = 0x8769

# Same table as ImageOps.exif_transpose; we apply it ourselves so that a garbled EXIF block can
# never fail the decode (exif_transpose re-serialises the metadata, which can raise).
_ORIENTATION_TRANSPOSE: Final[dict[int, Image.Transpose]] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES: Final = frozenset({5, 6, 7, 8})

_ALPHA_MODES: Final = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# EXIF says "YYYY:MM:DD HH:MM:SS"; some writers use dashes, slashes or an ISO "T".
_EXIF_DATETIME: Final = re.compile(r"(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")

# Pillow's format names -> what a user would call the file.
_FORMAT_NAMES: Final = {"MPO": "JPEG", "WEBP": "WebP"}
_HEIF_BRANDS: Final = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1"})
_AVIF_BRANDS: Final = frozenset({b"avif", b"avis"})


@dataclass(frozen=True)
class ImageInfo:
    """Full-size dimensions after EXIF orientation, and when the photo was taken."""

    width: int
    height: int
    captured_at: float | None  # EXIF DateTimeOriginal/DateTime as local time -> POSIX seconds


@dataclass(frozen=True)
class DecodedImage:
    """Upright, fully loaded RGB pixels (possibly reduced, see ``min_side``) and their info."""

    image: Image.Image
    info: ImageInfo


def _register_optional_formats() -> frozenset[str]:
    """Register pillow-heif when installed; return the extra extensions we can now decode."""
    extra: set[str] = set()
    # Pillow >= 11.3 decodes AVIF itself; older Pillow does not know the "avif" module name.
    native_avif = "avif" in features.modules and features.check_module("avif")
    if native_avif:
        extra.add(".avif")
    try:
        import pillow_heif  # optional dependency: mediasearch[heif]
    except (ImportError, OSError):  # OSError: installed but its native library fails to load
        return frozenset(extra)
    pillow_heif.register_heif_opener()
    extra |= _HEIF_EXTENSIONS
    register_avif = getattr(pillow_heif, "register_avif_opener", None)  # gone in pillow-heif 1.0
    if not native_avif and register_avif is not None:
        register_avif()
        extra.add(".avif")
    return frozenset(extra)


IMAGE_EXTENSIONS: frozenset[str] = _BASE_EXTENSIONS | _register_optional_formats()


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True when the file name has an image extension we decode (case-insensitive)."""
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def decode_image(path: str | os.PathLike[str], min_side: int | None = None) -> DecodedImage:
    """Decode an image file to upright RGB; raise MediaError with a readable reason on failure.

    With ``min_side`` the result's shorter side is at least ``min_side`` pixels but otherwise
    reduced as cheaply as possible (JPEG is decoded straight at 1/2, 1/4 or 1/8 scale).
    ``None`` decodes at full size. ``info`` always describes the full-size image.
    """
    _check_min_side(min_side)
    name = os.fspath(path)
    try:
        check_regular_file(name)
        with open(name, "rb") as fp:
            return _decode_stream(fp, min_side, empty_reason="file is empty")
    except OSError as error:  # from stat/open/close; read errors are handled in _decode_stream
        raise MediaError(describe_os_error(error, name)) from error
    except ValueError as error:  # e.g. a NUL character in the file name
        raise MediaError(f"cannot open this file name ({error})") from error


def decode_image_bytes(data: bytes, min_side: int | None = None) -> DecodedImage:
    """Decode in-memory image data (pasted or dropped) like :func:`decode_image`."""
    _check_min_side(min_side)
    return _decode_stream(io.BytesIO(data), min_side, empty_reason="no image data (empty)")


def _check_min_side(min_side: int | None) -> None:
    # A bad min_side is a programming error, not a bad file, so it is not a MediaError.
    if min_side is not None and min_side < 1:
        raise ValueError(f"min_side must be a positive number of pixels, got {min_side}")


def _decode_stream(fp: IO[bytes], min_side: int | None, *, empty_reason: str) -> DecodedImage:
    try:
        prefix = fp.read(_SNIFF_BYTES)
        fp.seek(0)
    except OSError as error:
        raise MediaError(describe_os_error(error, None)) from error
    if not prefix:
        raise MediaError(empty_reason)
    sniffed = _sniff_format(prefix)
    image = _open(fp, sniffed)
    fmt = _FORMAT_NAMES.get(image.format or "", image.format or sniffed or "image")
    try:
        return _decode_opened(image, min_side, fmt)
    except MediaError:
        raise
    except Exception as error:  # Pillow signals bad data with many types; all mean "bad file"
        raise MediaError(_describe_decode_error(error, fmt)) from error


def _open(fp: IO[bytes], sniffed: str | None) -> Image.Image:
    """Identify the file and read its header (Pillow's Image.open), mapping every failure."""
    try:
        return Image.open(fp, formats=_registered_photo_formats())
    except UnidentifiedImageError as error:
        raise MediaError(_unidentified_reason(sniffed)) from error
    except Exception as error:
        raise MediaError(_describe_decode_error(error, sniffed or "image")) from error


def _registered_photo_formats() -> tuple[str, ...]:
    # Image.open raises KeyError for a named format with no plugin (HEIF without pillow-heif).
    # init() loads Pillow's bundled plugins once; later calls return at once.
    Image.init()
    return tuple(name for name in _DECODABLE_FORMATS if name in Image.OPEN)


def _decode_opened(image: Image.Image, min_side: int | None, fmt: str) -> DecodedImage:
    width, height = image.size
    _check_pixel_count(width, height)
    if min_side is not None:
        # Must happen before load(): libjpeg then decodes at 1/2, 1/4 or 1/8 scale directly.
        # Pillow picks the largest scale that keeps both sides >= the requested size.
        image.draft("RGB", (min_side, min_side))
    image.load()
    orientation, captured_at = _read_exif(image)
    pixels = _reduce(_to_rgb(image, fmt), min_side)
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    if method is not None:
        pixels = pixels.transpose(method)
    if pixels is image:
        # Hand back a plain in-memory image, not the lazy file object tied to a closed file.
        pixels = pixels.copy()
    if orientation in _SWAPS_AXES:
        width, height = height, width
    return DecodedImage(pixels, ImageInfo(width, height, captured_at))


def _check_pixel_count(width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise MediaError(f"image too large ({width}x{height} pixels)")


def _read_exif(image: Image.Image) -> tuple[int, float | None]:
    """Orientation (1 = as stored) and capture time; garbled metadata never fails the decode."""
    try:
        exif = image.getexif()
        orientation = exif.get(_TAG_ORIENTATION, 1)
        try:
            sub_ifd: dict[int, object] = dict(exif.get_ifd(_TAG_EXIF_IFD))
        except Exception:  # a broken Exif sub-IFD pointer; IFD0 may still be fine
            sub_ifd = {}
        candidates = (
            sub_ifd.get(_TAG_DATETIME_ORIGINAL),
            exif.get(_TAG_DATETIME_ORIGINAL),  # some writers put it in IFD0
            exif.get(_TAG_DATETIME),
        )
    except Exception:
        return 1, None
    captured_at = next((t for t in map(_parse_exif_datetime, candidates) if t is not None), None)
    return (orientation if isinstance(orientation, int) else 1), captured_at


def _parse_exif_datetime(value: object) -> float | None:
    """'YYYY:MM:DD HH:MM:SS' as naive local time -> POSIX seconds; None when absent/garbled."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    match = _EXIF_DATETIME.match(value.strip("\x00 \t\r\n"))
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        # Naive datetime: .timestamp() interprets it in the local time zone, as cameras record.
        return datetime(year, month, day, hour, minute, second).timestamp()
    except (ValueError, OverflowError, OSError):  # "0000:00:00 00:00:00", year 1, ...
        return None


def _to_rgb(image: Image.Image, fmt: str) -> Image.Image:
    mode = image.mode
    if mode in ("I", "F") or mode.startswith("I;"):
        return _high_depth_to_rgb(image)
    try:
        if _has_alpha(image):  # before the RGB shortcut: RGB PNGs can carry a transparent colour
            return _flatten_on_white(image.convert("RGBA"))
        if mode == "RGB":
            return image
        # Covers 1, L, P, CMYK (Pillow already undid Adobe's inverted CMYK), YCbCr, LAB, HSV.
        return image.convert("RGB")
    except ValueError as error:  # "conversion from X to Y not supported"
        raise MediaError(f"unsupported colour mode {mode} in {fmt}") from error


def _has_alpha(image: Image.Image) -> bool:
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return True
    palette = image.palette if image.mode == "P" else None
    return palette is not None and palette.mode == "RGBA"


def _flatten_on_white(rgba: Image.Image) -> Image.Image:
    # Transparent areas become white, like a viewer shows them; black would look like content.
    background = Image.new("RGB", rgba.size, _WHITE)
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _high_depth_to_rgb(image: Image.Image) -> Image.Image:
    """16/32-bit integer and float greyscale -> 8-bit, scaled (Pillow's convert clips at 255)."""
    values = np.asarray(image).astype(np.float32)  # exact for 16-bit; plenty for 8-bit output
    if image.mode.startswith("I;16"):
        scaled = values / 257.0  # 65535 -> 255 exactly
    else:
        scaled = _scale_unknown_range(values, image.mode)
    grey = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def _scale_unknown_range(values: np.ndarray, mode: str) -> np.ndarray:
    """Guess the nominal range of 32-bit int ("I") / float ("F") data and map it to 0..255."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros_like(values)
    low, high = float(finite.min()), float(finite.max())
    values = np.nan_to_num(values, nan=low, posinf=high, neginf=low)
    if low >= 0 and mode == "F" and high <= 1.0:
        return values * 255.0  # normalised float data
    if low >= 0 and high <= 255:
        return values  # 8-bit data in a wide container
    if low >= 0 and high <= 65535:
        return values / 257.0  # 16-bit data widened to "I" (older Pillow, PGM, TIFF)
    if high == low:
        return np.full_like(values, 128.0)  # a flat image: mid grey rather than black
    return (values - low) * (255.0 / (high - low))  # anything else: stretch what is there


def _reduce(image: Image.Image, min_side: int | None) -> Image.Image:
    if min_side is None:
        return image
    factor = min(image.size) // min_side
    if factor < 2:
        return image
    # Box-averaging by an integer factor: fast, no aliasing; the shorter side stays >= min_side
    # because reduce() rounds up. The model's preprocess does the exact final resize.
    return image.reduce(factor)


def _sniff_format(prefix: bytes) -> str | None:
    """Name the format from magic bytes, for error messages when Pillow cannot even identify it."""
    if prefix.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if prefix.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if prefix[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if prefix.startswith(b"RIFF") and prefix[8:12] == b"WEBP":
        return "WebP"
    if prefix[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if prefix.startswith(b"BM"):
        return "BMP"
    if prefix[4:8] == b"ftyp":
        if prefix[8:12] in _HEIF_BRANDS:
            return "HEIF"
        if prefix[8:12] in _AVIF_BRANDS:
            return "AVIF"
    return None


def _unidentified_reason(sniffed: str | None) -> str:
    if sniffed is None:
        return "not an image file"
    if sniffed == "HEIF" and ".heic" not in IMAGE_EXTENSIONS:
        return "HEIC/HEIF images need the optional pillow-heif package"
    if sniffed == "AVIF" and ".avif" not in IMAGE_EXTENSIONS:
        return "AVIF images need a newer Pillow or the optional pillow-heif package"
    return f"truncated or corrupt {sniffed}"


def _describe_decode_error(error: Exception, fmt: str) -> str:
    if isinstance(error, Image.DecompressionBombError | Image.DecompressionBombWarning):
        # Raised inside Image.open (the warning only when warnings are made errors), before we
        # see the size; its message only has the pixel count.
        return f"image too large ({_pixel_count_from_message(str(error))})"
    if isinstance(error, MemoryError):
        return "not enough memory to decode this image"
    if isinstance(error, OSError) and error.errno is not None:
        return describe_os_error(error, None)  # a real read error, e.g. EIO on a failing disk
    message = str(error).lower()
    if "not available" in message or "not supported" in message or "unsupported" in message:
        return f"unsupported kind of {fmt} image"
    return f"truncated or corrupt {fmt}"


def _pixel_count_from_message(message: str) -> str:
    match = re.search(r"\((\d+) pixels\)", message)
    if match is None:
        return "possible decompression bomb"
    pixels = int(match.group(1))
    return f"{pixels / 1e6:,.0f} megapixels" if pixels >= 10_000_000 else f"{pixels:,} pixels"
