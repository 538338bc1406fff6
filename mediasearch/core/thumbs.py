"""Disk thumbnail cache: small upright JPEGs keyed by a file's content hash and a pixel size."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

from mediasearch.core.fingerprint import content_hash
from mediasearch.core.media.images import decode_image

THUMBS_DIR = "thumbs"
JPEG_QUALITY = 85  # thumbnails are viewed small; 85 keeps them crisp at a third of q95's bytes
# Cached thumbnails come in a few fixed sizes so that dragging the size slider reuses files
# instead of writing one per pixel step; each request is served by the next size up.
SIZE_STEPS: tuple[int, ...] = (128, 192, 256, 384, 512, 768)


def cache_size_for(size: int) -> int:
    """The stored size that serves a request for `size` pixels (the next step up)."""
    for step in SIZE_STEPS:
        if step >= size:
            return step
    return SIZE_STEPS[-1]


class ThumbnailCache:
    """Makes and keeps thumbnails under `root`; safe to use from many threads at once.

    Two threads making the same thumbnail both write it; the atomic rename makes the last one
    win with identical bytes, which is cheaper than locking.
    """

    def __init__(self, root: Path) -> None:
        self.root = root / THUMBS_DIR

    def path_for(self, digest: str, size: int) -> Path:
        """Where the thumbnail of content `digest` at stored size `size` lives."""
        return self.root / str(size) / digest[:2] / f"{digest}.jpg"

    def get(self, path: str | os.PathLike[str], size: int, digest: str | None = None) -> Path:
        """The cached thumbnail file of image `path`, fitting in `size` x `size`, made if need be.

        Args:
            path: the image file.
            size: the largest side wanted, in pixels; rounded up to a cached size step.
            digest: the file's content hash when already known (saves reading the file).

        Raises:
            MediaError: the image cannot be decoded.
            OSError: the file cannot be read or the cache cannot be written.
        """
        stored = cache_size_for(size)
        target = self.path_for(digest or content_hash(path), stored)
        if target.is_file():
            return target
        image = make_thumbnail(path, stored)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
            os.replace(temp, target)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        return target


def make_thumbnail(path: str | os.PathLike[str], size: int) -> Image.Image:
    """Decode `path` upright and scale it to fit in `size` x `size` (never enlarged).

    Raises:
        MediaError: the image cannot be decoded.
    """
    # min_side lets the decoder use JPEG draft mode: a 24 MP photo decodes at 1/8 scale.
    image = decode_image(path, min_side=size).image
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return image
