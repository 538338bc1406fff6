"""Which kind of media a file holds, judged by its name: image, video or audio."""

from __future__ import annotations

import os
from typing import Final

from mediasearch.core.media.images import is_image_path

KIND_IMAGE: Final = "image"
KIND_VIDEO: Final = "video"
KIND_AUDIO: Final = "audio"
ALL_KINDS: frozenset[str] = frozenset({KIND_IMAGE, KIND_VIDEO, KIND_AUDIO})

# Containers phones and cameras write; PyAV (FFmpeg) reads them all.
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"})
# libsndfile reads the first four; PyAV the rest (voice memos are usually m4a).
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga", ".mp3", ".opus", ".m4a", ".aac"})


def media_kind(path: str, kinds: frozenset[str] = ALL_KINDS) -> str | None:
    """The kind of media at `path` among `kinds`, or None for anything else."""
    suffix = os.path.splitext(path)[1].lower()
    if KIND_VIDEO in kinds and suffix in VIDEO_EXTENSIONS:
        return KIND_VIDEO
    if KIND_AUDIO in kinds and suffix in AUDIO_EXTENSIONS:
        return KIND_AUDIO
    if KIND_IMAGE in kinds and is_image_path(path):
        return KIND_IMAGE
    return None


def clock(seconds: float) -> str:
    """A moment in a video or sound as people write it: "0:07", "12:34", "1:02:03"."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
