"""A drawn video for the self-test: one coloured shape per segment, encoded with PyAV."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import av

from mediasearch.selftest.shapes import draw_shape

# MPEG-4 Part 2 is in every FFmpeg build (no GPL encoder needed) and every decoder reads it.
CODEC = "mpeg4"
FPS = 10


def write_shape_video(
    path: Path, segments: Sequence[tuple[str, str, float]], *, size: int = 96, seed: int = 0
) -> Path:
    """Write (shape, colour, seconds) segments, e.g. ``[("circle", "red", 3.0)]``, as a video:
    each segment holds one drawn picture still for its duration."""
    rng = random.Random(seed)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(CODEC, rate=FPS)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = FPS  # a keyframe a second, as cameras write them
        for shape, color, seconds in segments:
            frame = av.VideoFrame.from_image(draw_shape(shape, color, rng, size))
            for _ in range(round(seconds * FPS)):
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
