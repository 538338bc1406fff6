"""Disk thumbnail cache: small upright pictures keyed by content hash, moment and pixel size."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

from mediasearch.core.fingerprint import content_hash
from mediasearch.core.media.decode_job import DEFAULT_AUDIO_WINDOW_S
from mediasearch.core.media.images import decode_image
from mediasearch.core.media.kinds import KIND_AUDIO, KIND_VIDEO, media_kind

THUMBS_DIR = "thumbs"
JPEG_QUALITY = 85  # thumbnails are viewed small; 85 keeps them crisp at a third of q95's bytes
# Cached thumbnails come in a few fixed sizes so that dragging the size slider reuses files
# instead of writing one per pixel step; each request is served by the next size up.
SIZE_STEPS: tuple[int, ...] = (128, 192, 256, 384, 512, 768)
# A video without a chosen moment shows the frame this far in: the first frames are often
# black, a fade-in or a shaky start, while a tenth of the way in is usually the subject.
POSTER_FRACTION = 0.1
# The stretch of sound one vector of the sound model describes: a sound's waveform highlights
# this much from the matching moment on.
SOUND_WINDOW_S = DEFAULT_AUDIO_WINDOW_S


def cache_size_for(size: int) -> int:
    """The stored size that serves a request for `size` pixels (the next step up)."""
    for step in SIZE_STEPS:
        if step >= size:
            return step
    return SIZE_STEPS[-1]


def moment_ms(at_s: float | None) -> int | None:
    """A moment as whole milliseconds (how thumbnails of moments are keyed), or None."""
    return None if at_s is None else max(0, round(at_s * 1000))


class ThumbnailCache:
    """Makes and keeps thumbnails under `root`; safe to use from many threads at once.

    Photos get a scaled copy, videos the frame at a moment, sounds a waveform picture with
    the matching moment highlighted. Two threads making the same thumbnail both write it; the
    atomic rename makes the last one win with identical bytes, which is cheaper than locking.
    """

    def __init__(self, root: Path) -> None:
        self.root = root / THUMBS_DIR

    def path_for(
        self, digest: str, size: int, at_s: float | None = None, *, suffix: str = ".jpg"
    ) -> Path:
        """Where the thumbnail of content `digest` (at moment `at_s`) at stored `size` lives."""
        ms = moment_ms(at_s)
        name = digest if ms is None else f"{digest}@{ms}"
        return self.root / str(size) / digest[:2] / f"{name}{suffix}"

    def get(
        self,
        path: str | os.PathLike[str],
        size: int,
        digest: str | None = None,
        at_s: float | None = None,
    ) -> Path:
        """The cached thumbnail file of `path`, fitting in `size` x `size`, made if need be.

        Args:
            path: a photo, video or sound file (told apart by its name).
            size: the largest side wanted, in pixels; rounded up to a cached size step.
            digest: the file's content hash when already known (saves reading the file).
            at_s: for a video, the moment to show (default: a tenth of the way in); for a
                sound, the start of the stretch to highlight (default: none). Ignored for
                photos.

        Raises:
            MediaError: the file cannot be decoded.
            OSError: the file cannot be read or the cache cannot be written.
        """
        stored = cache_size_for(size)
        kind = media_kind(os.fspath(path))
        moment = at_s if kind in (KIND_VIDEO, KIND_AUDIO) else None
        # Waveforms are flat colours and thin lines: PNG keeps them sharp and small.
        suffix = ".png" if kind == KIND_AUDIO else ".jpg"
        target = self.path_for(digest or content_hash(path), stored, moment, suffix=suffix)
        if target.is_file():
            return target
        image = make_thumbnail(path, stored, moment)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                if suffix == ".png":
                    image.save(out, format="PNG", optimize=True)
                else:
                    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
            os.replace(temp, target)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        return target


def make_thumbnail(
    path: str | os.PathLike[str], size: int, at_s: float | None = None
) -> Image.Image:
    """A picture of `path` fitting in `size` x `size`: the photo upright and scaled (never
    enlarged), a video's frame at `at_s`, or a sound's waveform highlighting `at_s`.

    Raises:
        MediaError: the file cannot be decoded.
    """
    name = os.fspath(path)
    kind = media_kind(name)
    if kind == KIND_VIDEO:
        from mediasearch.core.media.stills import media_duration_s, video_frame_at

        if at_s is None:
            duration = media_duration_s(name)
            at_s = duration * POSTER_FRACTION if duration else 0.0
        return video_frame_at(name, at_s, size)
    if kind == KIND_AUDIO:
        from mediasearch.core.media.stills import waveform_image

        return waveform_image(name, size, at_s=at_s, window_s=SOUND_WINDOW_S)
    # min_side lets the decoder use JPEG draft mode: a 24 MP photo decodes at 1/8 scale.
    image = decode_image(path, min_side=size).image
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return image
