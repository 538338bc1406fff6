"""Stills of timed media: a video's frame at a moment, and a sound's waveform picture."""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from typing import Final

import av
import av.error
import numpy as np
import numpy.typing as npt
from av.container import InputContainer
from av.video.frame import VideoFrame
from PIL import Image, ImageDraw

from mediasearch.core.media.audio import decode_audio
from mediasearch.core.media.containers import open_container
from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.files import describe_os_error, read_head

__all__ = [
    "WAVEFORM_ASPECT",
    "media_duration_s",
    "video_frame_at",
    "waveform_image",
]

# After seeking to the keyframe before the moment, decode at most this many frames looking for
# it: a keyframe every 10 s at 60 fps is 600; more means a broken index, so take what we have.
_MAX_FRAMES_AFTER_SEEK: Final = 1_200
# Frame threads speed up the decode-forward after a seek; a still is one short burst.
_DECODE_THREADS: Final = min(4, os.cpu_count() or 1)
# A frame counts as "at" the moment when it starts within this of it: timestamps are rounded
# to the stream's time base, so the frame the index sampled at 7.0 s may say 6.9999.
_TIME_SLACK_S: Final = 1e-3
# Stills are made of files indexed before, so one that fails now changed or broke since.
_UNREADABLE: Final = "truncated, corrupt or unsupported media file"

# Waveforms are 4:3, like most photos, so they sit in the grid without odd letterboxing.
WAVEFORM_ASPECT: Final = 3 / 4
# Sound is decoded at this rate for the picture: half of it (4 kHz) still holds the energy of
# speech, music and most everyday sounds, at a sixth of the samples of 48 kHz.
_WAVEFORM_RATE: Final = 8_000
# Memory cap for one waveform: 10 minutes at 8 kHz (19 MB of float32). A longer sound is decoded
# at a proportionally lower rate; the envelope stays faithful for all but its highest sounds.
_WAVEFORM_MAX_SAMPLES: Final = _WAVEFORM_RATE * 600
_WAVEFORM_MIN_RATE: Final = 1_000
# Drawn at this multiple and scaled down: smooth bar ends without an anti-aliasing renderer.
_SUPERSAMPLE: Final = 3
# Colours: a calm slate background with a soft blue waveform; the matching window gets a
# lighter band and a brighter blue so it reads at a glance, even at thumbnail size.
_BACKGROUND: Final = (30, 35, 46)
_BAND: Final = (44, 56, 78)
_CENTRE_LINE: Final = (58, 66, 82)
_BARS: Final = (98, 132, 184)
_BARS_MATCH: Final = (140, 190, 255)
# Bars of this width with this gap, in final pixels per bar (at least _MIN_BARS of them).
_BAR_PITCH: Final = 4.0
_MIN_BARS: Final = 24
# Bars use at most this share of the picture's height; the margins keep it calm.
_HEIGHT_USE: Final = 0.66
# Quiet passages stay visible: a bar's height is its peak to this power (1 = linear).
_LOUDNESS_GAMMA: Final = 0.6
# Below this peak (about -54 dBFS) a sound counts as silent: draw flat, do not amplify hiss.
_SILENT_PEAK: Final = 2e-3


def video_frame_at(path: str, at_s: float, size: int) -> Image.Image:
    """The upright RGB frame shown at `at_s` seconds into a video, fitting in `size` x `size`.

    Seeks to the keyframe before the moment and decodes forward to the first frame at or
    after it; past the end, the last frame. Raises MediaError with a readable reason.
    """
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    name = os.fspath(path)
    _check_file(name)
    container = open_container(name, unreadable=_UNREADABLE, what="file")
    try:
        frame = _frame_at(container, max(0.0, at_s))
        aspect = container.streams.video[0].codec_context.sample_aspect_ratio
        return _to_upright_rgb(frame, aspect, size)
    except MediaError:
        raise
    except MemoryError as error:
        raise MediaError("not enough memory to decode this video") from error
    except OSError as error:
        raise MediaError(describe_os_error(error, name)) from error
    finally:
        container.close()


def media_duration_s(path: str) -> float | None:
    """The length of a video or sound in seconds as its container states it (None if unknown).

    Cheap: only the header is read. Raises MediaError when the file cannot be opened.
    """
    name = os.fspath(path)
    _check_file(name)
    container = open_container(name, unreadable=_UNREADABLE, what="file")
    try:
        streams = [*container.streams.video, *container.streams.audio]
        for stream in streams:
            if stream.duration and stream.time_base is not None and stream.duration > 0:
                return float(stream.duration * stream.time_base)
        if container.duration is not None and container.duration > 0:
            return float(container.duration / av.time_base)
        return None
    finally:
        container.close()


def waveform_image(
    path: str, size: int, *, at_s: float | None = None, window_s: float | None = None
) -> Image.Image:
    """A picture of a sound's loudness over time, `size` wide and 3/4 of that high.

    Symmetric bars of each stretch's peak on a dark background; the matching window
    [at_s, at_s + window_s] is highlighted when given. Works for the soundtrack of a video
    too. Raises MediaError with a readable reason.
    """
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    name = os.fspath(path)
    rate = _WAVEFORM_RATE
    with contextlib.suppress(MediaError):  # a header without a length: decode at the full rate
        duration = media_duration_s(name)
        if duration is not None and duration * rate > _WAVEFORM_MAX_SAMPLES:
            rate = max(_WAVEFORM_MIN_RATE, int(_WAVEFORM_MAX_SAMPLES / duration))
    # Never more than the cap, however wrong the header's length was.
    audio = decode_audio(name, sample_rate=rate, max_seconds=_WAVEFORM_MAX_SAMPLES / rate)
    return draw_waveform(audio.samples, audio.duration_s, size, at_s=at_s, window_s=window_s)


def draw_waveform(
    samples: npt.NDArray[np.float32],
    duration_s: float,
    size: int,
    *,
    at_s: float | None = None,
    window_s: float | None = None,
) -> Image.Image:
    """Draw mono `samples` lasting `duration_s` as :func:`waveform_image` does."""
    width, height = size, max(1, round(size * WAVEFORM_ASPECT))
    big_w, big_h = width * _SUPERSAMPLE, height * _SUPERSAMPLE
    image = Image.new("RGB", (big_w, big_h), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    bars = max(_MIN_BARS, int(width / _BAR_PITCH))
    pitch = big_w / bars
    bar_w = max(_SUPERSAMPLE, round(pitch * 0.56))
    centre = big_h / 2

    span: tuple[float, float] | None = None
    if at_s is not None and duration_s > 0:
        length = window_s if window_s is not None and window_s > 0 else duration_s / bars
        start, end = max(0.0, at_s) / duration_s, min(1.0, (at_s + length) / duration_s)
        if end > start:
            span = (start * big_w, max(end * big_w, start * big_w + pitch))
            draw.rectangle((span[0], 0, span[1], big_h), fill=_BAND)

    draw.line((0, centre, big_w, centre), fill=_CENTRE_LINE, width=_SUPERSAMPLE)
    peaks = _bar_peaks(samples, bars)
    half = big_h * _HEIGHT_USE / 2
    for index, peak in enumerate(peaks):
        left = index * pitch + (pitch - bar_w) / 2
        middle = left + bar_w / 2
        inside = span is not None and span[0] <= middle <= span[1]
        reach = max(bar_w / 2, float(peak) * half)  # a dot, never nothing: silence reads as such
        draw.rounded_rectangle(
            (left, centre - reach, left + bar_w, centre + reach),
            radius=bar_w / 2,
            fill=_BARS_MATCH if inside else _BARS,
        )
    return image.resize((width, height), Image.Resampling.LANCZOS)


def _bar_peaks(samples: npt.NDArray[np.float32], bars: int) -> npt.NDArray[np.float64]:
    """Each bar's loudness in 0..1: its stretch's peak, relative to the whole sound's."""
    values = np.abs(np.nan_to_num(np.asarray(samples, dtype=np.float32).ravel()))
    if values.size == 0:
        return np.zeros(bars)
    if values.size < bars:  # a very short sound: fewer samples than bars
        values = np.concatenate([values, np.zeros(bars - values.size, np.float32)])
    # With at least one sample per bar the edges strictly increase, as reduceat needs.
    edges = np.linspace(0, values.size, bars + 1).astype(np.int64)[:-1]
    peaks = np.maximum.reduceat(values, edges).astype(np.float64)
    loudest = float(peaks.max())
    if loudest < _SILENT_PEAK:
        return np.zeros(bars)
    result: npt.NDArray[np.float64] = np.power(peaks / loudest, _LOUDNESS_GAMMA)
    return result


# -- video internals -----------------------------------------------------------------------


def _check_file(name: str) -> None:
    read_head(name, 1)


def _frame_at(container: InputContainer, at_s: float) -> VideoFrame:
    if not container.streams.video:
        raise MediaError("no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise MediaError("unsupported video codec")
    stream.codec_context.thread_type = "AUTO"
    stream.codec_context.thread_count = _DECODE_THREADS
    time_base = stream.time_base or Fraction(1, 1_000_000)
    start = stream.start_time or 0
    # Times in the index count from the stream's first frame, as the sampler does.
    target = start + int(at_s / time_base)
    try:
        container.seek(target, stream=stream, backward=True, any_frame=False)
    except (av.error.FFmpegError, ValueError, EOFError):
        with contextlib.suppress(av.error.FFmpegError, ValueError, EOFError):
            container.seek(start, stream=stream)  # no index: decode forward from the start
    last: VideoFrame | None = None
    try:
        for count, frame in enumerate(container.decode(stream)):
            last = frame
            if frame.pts is None or count >= _MAX_FRAMES_AFTER_SEEK:
                break
            if float((frame.pts - start) * time_base) >= at_s - _TIME_SLACK_S:
                break
    except (av.error.FFmpegError, ValueError, EOFError):
        pass  # a damaged stretch: the last good frame before it will do
    if last is None:
        raise MediaError("truncated or corrupt video")
    return last


def _to_upright_rgb(frame: VideoFrame, aspect: Fraction | None, size: int) -> Image.Image:
    width, height = frame.width, frame.height
    if aspect is not None and aspect > 0 and aspect != 1:
        width = max(1, round(width * aspect))  # non-square (anamorphic) pixels, widened
    rotation = (round((getattr(frame, "rotation", 0) or 0) / 90) * 90) % 360
    scale = min(1.0, size / max(width, height))
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    rgb = frame.reformat(width=target[0], height=target[1], format="rgb24", interpolation="AREA")
    plane = rgb.planes[0]  # rows may be padded past width * 3
    image = Image.frombytes(
        "RGB", (rgb.width, rgb.height), bytes(plane), "raw", "RGB", plane.line_size
    )
    # frame.rotation is counter-clockwise degrees, as PIL's ROTATE_* are.
    turns = {
        90: Image.Transpose.ROTATE_90,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_270,
    }
    method = turns.get(rotation)
    return image.transpose(method) if method is not None else image
