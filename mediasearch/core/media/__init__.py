"""Decoding of media files: still images here; videos, sounds and their worker in submodules."""

from __future__ import annotations

from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.images import (
    IMAGE_EXTENSIONS,
    MAX_IMAGE_PIXELS,
    DecodedImage,
    ImageInfo,
    decode_image,
    decode_image_bytes,
    is_image_path,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_PIXELS",
    "DecodedImage",
    "ImageInfo",
    "MediaError",
    "decode_image",
    "decode_image_bytes",
    "is_image_path",
]
