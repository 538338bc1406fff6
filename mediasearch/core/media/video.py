"""Sampling a few representative, upright RGB frames from a video file with PyAV."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Final

import av
import av.error
import numpy as np
from av.container import InputContainer
from av.video.frame import VideoFrame as AvFrame
from av.video.stream import VideoStream
from PIL import Image

from mediasearch.core.media.containers import open_container
from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.files import describe_os_error, read_head
from mediasearch.core.media.kinds import VIDEO_EXTENSIONS

__all__ = [
    "INTERVAL_S",
    "MAX_FRAMES",
    "NO_VIDEO_STREAM",
    "VIDEO_EXTENSIONS",
    "DecodedVideo",
    "VideoFrame",
    "is_video_path",
    "sample_video",
]


# At most this many frames per video: enough to cover every scene of a home video, while a
# two-hour film costs the index (and the image encoder) no more than ~64 photos.
MAX_FRAMES: Final = 64
# Keep at least one frame every INTERVAL_S seconds even when nothing changes, so that a slow
# pan or a long static shot is still represented; scene changes add frames in between.
INTERVAL_S: Final = 4.0
# The reason sample_video gives for a file with sound but no picture; decode_job matches it.
NO_VIDEO_STREAM: Final = "no video stream"

# Scene-change test: mean absolute difference of TINY x TINY RGB versions (0..255 per channel)
# against the last kept frame. A cut between two shots typically scores 30-80, compression noise
# and camera shake stay under 10, a fast pan lands in between. RGB rather than grey, so that a
# cut between two scenes of equal brightness but different colours still counts.
_TINY: Final = 32
_SCENE_CHANGE_MAD: Final = 24.0
# A flash, a strobe or a shaky pan must not turn into a burst of near-identical frames.
_MIN_GAP_S: Final = 1.0
# Looking at every frame of a 60 fps clip tells nothing more than 2 looks per second (a cut
# is placed within half a second); each look costs a small RGB conversion.
_ANALYSIS_STEP_S: Final = 0.5
# Blank frames (fades to black, title cards of one colour) are useless for search: a frame is
# blank when its tiny greyscale is darker than this mean (video black is 16 in limited range,
# 0 after conversion; a night scene with lights stays above) or when every colour channel is
# flatter than this deviation.
_DARK_MEAN: Final = 16.0
_FLAT_STD: Final = 4.0

# Decoding every frame costs time in proportion to pixels: this is about one minute of 1080p at
# 30 fps, a few seconds on two cores. Longer or larger videos are sampled by seeking to evenly
# spaced keyframes instead, which costs one keyframe decode per sample whatever the length.
_FULL_DECODE_PIXELS: Final = 1920 * 1080 * 30 * 60
# Beyond MAX_FRAMES * INTERVAL_S even the interval frames alone would exceed the cap, so
# decoding everything buys nothing over seeking.
_FULL_DECODE_MAX_S: Final = MAX_FRAMES * INTERVAL_S
# When seeking, aim for a sample every this many seconds (fewer for long videos, see max_frames).
_SEEK_SPACING_S: Final = INTERVAL_S / 2
# After a seek, give up looking for a keyframe after this many packets (a broken index).
_MAX_PACKETS_PER_SEEK: Final = 2_000
# Unknown frame rate: assume the common phone rate when estimating decode cost.
_DEFAULT_FPS: Final = 30.0
# Slice threads help only streams encoded in slices; several workers decode at once anyway.
_DECODE_THREADS: Final = min(4, os.cpu_count() or 1)
# Cameras with an unset clock write 1904-01-01 or 1970-01-01; nothing before this is believable.
_EARLIEST_CAPTURE: Final = datetime(1980, 1, 1, tzinfo=UTC).timestamp()
# Metadata keys holding the capture time, best first: Apple's has the local UTC offset.
_CREATION_KEYS: Final = ("com.apple.quicktime.creationdate", "creation_time", "date")

# frame.rotation is counter-clockwise degrees; PIL's ROTATE_90 is counter-clockwise too.
_ROTATIONS: Final[dict[int, Image.Transpose]] = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}
# Greyscale weights (ITU-R BT.601), as Pillow's convert("L").
_GREY_WEIGHTS: Final = np.array([0.299, 0.587, 0.114], dtype=np.float32)

_SNIFF_BYTES: Final = 16


@dataclass(frozen=True)
class VideoFrame:
    """One sampled frame: seconds from the start of the video and upright RGB pixels."""

    at_s: float
    image: Image.Image


@dataclass(frozen=True)
class DecodedVideo:
    """Sampled frames in time order plus what the container says about the whole video."""

    frames: list[VideoFrame]
    duration_s: float | None
    width: int | None  # full-size display width (after rotation and pixel aspect ratio)
    height: int | None
    captured_at: float | None  # container creation_time -> POSIX seconds
    has_audio: bool


def is_video_path(path: str | os.PathLike[str]) -> bool:
    """True when the file name has a video extension we decode (case-insensitive)."""
    return os.path.splitext(os.fspath(path))[1].lower() in VIDEO_EXTENSIONS


def sample_video(
    path: str | os.PathLike[str], *, min_side: int = 224, max_frames: int = MAX_FRAMES
) -> DecodedVideo:
    """Decode representative frames of a video; raise MediaError with a readable reason.

    Frames are kept where the picture changes and at least every INTERVAL_S seconds, blank
    frames are skipped (unless all are blank: then the first is kept), at most ``max_frames``.
    Short videos are decoded in full; long ones are sampled at evenly spaced keyframes. Each
    frame's shorter side is ``min_side`` pixels (never upscaled).
    """
    if min_side < 1:
        raise ValueError(f"min_side must be a positive number of pixels, got {min_side}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")
    name = os.fspath(path)
    sniffed = _check_file(name)
    container = open_container(
        name,
        unreadable="truncated or corrupt video"
        if sniffed
        else "not a video file or unsupported format",
        what="video",
    )
    try:
        return _sample(container, min_side, max_frames)
    except MediaError:
        raise
    except MemoryError as error:
        raise MediaError("not enough memory to decode this video") from error
    except OSError as error:  # a real read error (EIO), or the file deleted while we read
        raise MediaError(describe_os_error(error, name)) from error
    except (av.error.FFmpegError, ValueError) as error:  # e.g. a pixel format swscale refuses
        raise MediaError("truncated or corrupt video") from error
    finally:
        container.close()


def _check_file(name: str) -> bool:
    """Stat and sniff the file; True when its first bytes look like a video container."""
    return _looks_like_container(read_head(name, _SNIFF_BYTES))


def _looks_like_container(prefix: bytes) -> bool:
    return (
        prefix[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")  # MP4 / QuickTime
        or prefix.startswith(b"\x1a\x45\xdf\xa3")  # Matroska / WebM (EBML)
        or (prefix.startswith(b"RIFF") and prefix[8:12] == b"AVI ")
        or prefix.startswith((b"\x00\x00\x01\xba", b"OggS", b"FLV", b"\x30\x26\xb2\x75"))
    )


def _sample(container: InputContainer, min_side: int, max_frames: int) -> DecodedVideo:
    if not container.streams.video:
        raise MediaError(NO_VIDEO_STREAM)
    stream = container.streams.video[0]
    context = stream.codec_context
    if context is None:  # FFmpeg has no decoder for it (or the codec tag is garbage)
        raise MediaError("unsupported video codec")
    # Slice threads only (set before the first decode): frame threads made 720p and 360p H.264
    # decode 25-40 % slower on two cores (bench.media), and throughput comes from running
    # several worker processes side by side, not from threads inside one.
    context.thread_type = "SLICE"
    context.thread_count = _DECODE_THREADS
    duration = _duration_s(container, stream)
    sampler = _Sampler(stream, min_side, max_frames)
    seek = duration is not None and _should_seek(stream, duration)
    if seek and duration is not None:
        sampler.run(_seek_keyframes(container, stream, duration, max_frames))
    if not seek or sampler.empty:
        if seek:  # seeking got nothing (a file without an index?): read it from the start
            _rewind(container, stream)
        sampler.run(_all_frames(container, stream))
    frames = sampler.result()
    if not frames:
        raise MediaError(sampler.failure or "no decodable frames")
    width, height = sampler.display_size or (None, None)
    return DecodedVideo(
        frames=frames,
        duration_s=duration,
        width=width,
        height=height,
        captured_at=_captured_at(container, stream),
        has_audio=bool(container.streams.audio),
    )


def _duration_s(container: InputContainer, stream: VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def _should_seek(stream: VideoStream, duration: float) -> bool:
    # Without a duration there is nowhere to seek to: everything is decoded and thinned out.
    if duration > _FULL_DECODE_MAX_S:
        return True
    rate = float(stream.average_rate or stream.base_rate or _DEFAULT_FPS)
    context = stream.codec_context
    return duration * rate * max(1, context.width) * max(1, context.height) > _FULL_DECODE_PIXELS


def _rewind(container: InputContainer, stream: VideoStream) -> None:
    # On failure decode on from wherever the demuxer is; the sampler copes with what comes.
    with contextlib.suppress(av.error.FFmpegError, ValueError, EOFError):
        container.seek(stream.start_time or 0, stream=stream)


def _all_frames(container: InputContainer, stream: VideoStream) -> Iterator[AvFrame | None]:
    # Yields None in place of a frame when decoding fails, then stops: a damaged tail still
    # leaves the frames before it.
    try:
        yield from container.decode(stream)
    except (av.error.FFmpegError, ValueError, EOFError):
        yield None


def _seek_keyframes(
    container: InputContainer, stream: VideoStream, duration: float, max_frames: int
) -> Iterator[AvFrame | None]:
    count = max(1, min(max_frames, math.ceil(duration / _SEEK_SPACING_S)))
    time_base = stream.time_base or Fraction(1, 1_000_000)
    start = stream.start_time or 0
    for index in range(count):
        target = duration * (index + 0.5) / count  # middle of each of `count` equal spans
        try:
            container.seek(start + int(target / time_base), stream=stream)
            frame = _next_keyframe(container, stream)
        except (av.error.FFmpegError, ValueError, EOFError):
            frame = None
        if frame is not None:
            yield frame


def _next_keyframe(container: InputContainer, stream: VideoStream) -> AvFrame | None:
    """Decode just the first keyframe after the seek point (drained, so no thread delay)."""
    for count, packet in enumerate(container.demux(stream)):
        if count >= _MAX_PACKETS_PER_SEEK:
            return None
        if packet.size == 0 or not packet.is_keyframe:
            continue
        frames = stream.decode(packet) or stream.decode(None)
        return frames[0] if frames else None
    return None


@dataclass
class _Kept:
    at_s: float
    tiny: np.ndarray
    frame: VideoFrame


class _Sampler:
    """Picks frames from a stream of decoded frames: scene changes, intervals, no blanks."""

    def __init__(self, stream: VideoStream, min_side: int, max_frames: int) -> None:
        self._stream = stream
        self._min_side = min_side
        self._max_frames = max_frames
        self._time_base = stream.time_base
        self._aspect = stream.codec_context.sample_aspect_ratio
        self._start = float((stream.start_time or 0) * (stream.time_base or 0))
        self._interval = INTERVAL_S
        self._min_gap = _MIN_GAP_S
        self._kept: list[_Kept] = []
        self._first: VideoFrame | None = None  # fallback when every frame is blank
        self._last_analysed: float | None = None
        self._last_pts: int | None = None
        self.display_size: tuple[int, int] | None = None
        self.failure: str | None = None

    @property
    def empty(self) -> bool:
        return self._first is None

    def run(self, frames: Iterator[AvFrame | None]) -> None:
        for index, frame in enumerate(frames):
            if frame is None:
                if self._first is None:
                    self.failure = "truncated or corrupt video"
                return
            self._offer(frame, index)

    def result(self) -> list[VideoFrame]:
        frames = [kept.frame for kept in self._kept]
        if not frames:
            return [self._first] if self._first is not None else []
        if len(frames) > self._max_frames:
            picks = np.linspace(0, len(frames) - 1, self._max_frames).round().astype(int)
            frames = [frames[i] for i in sorted(set(picks.tolist()))]
        return frames

    def _offer(self, frame: AvFrame, index: int) -> None:
        at_s = self._time_of(frame, index)
        if self._last_pts is not None and frame.pts is not None and frame.pts <= self._last_pts:
            return  # a seek landed on a keyframe we already have
        if self._last_analysed is not None and at_s - self._last_analysed < _ANALYSIS_STEP_S:
            return
        self._last_analysed = at_s
        if frame.pts is not None:
            self._last_pts = frame.pts
        tiny = _tiny_rgb(frame)
        picture: VideoFrame | None = None
        if self._first is None:
            self.display_size = _display_size(frame, self._aspect)
            picture = self._first = self._picture(frame, at_s)
        if _is_blank(tiny):
            return
        last = self._kept[-1] if self._kept else None
        if last is not None:
            gap = at_s - last.at_s
            changed = gap >= self._min_gap and _mad(tiny, last.tiny) > _SCENE_CHANGE_MAD
            # Due when waiting for the next analysed frame would overshoot the interval.
            due = gap > self._interval - _ANALYSIS_STEP_S
            if not due and not changed:
                return
        self._kept.append(_Kept(at_s, tiny, picture or self._picture(frame, at_s)))
        if len(self._kept) >= 2 * self._max_frames:
            self._thin(at_s)

    def _thin(self, now_s: float) -> None:
        """Too many frames (a video of unknown length): keep them evenly spread over time.

        One frame per 1/max_frames of the time so far stays, and from now on frames are kept no
        more often than that, by scene change or interval alike.
        """
        span = max(now_s, _ANALYSIS_STEP_S) / self._max_frames
        buckets: dict[int, _Kept] = {}
        for kept in self._kept:
            buckets.setdefault(int(kept.at_s // span), kept)
        self._kept = list(buckets.values())
        self._interval = max(self._interval, span)
        self._min_gap = max(self._min_gap, span)

    def _time_of(self, frame: AvFrame, index: int) -> float:
        if frame.pts is not None and self._time_base is not None:
            return max(0.0, float(frame.pts * self._time_base) - self._start)
        rate = float(self._stream.average_rate or _DEFAULT_FPS)
        return index / rate

    def _picture(self, frame: AvFrame, at_s: float) -> VideoFrame:
        return VideoFrame(at_s, _to_upright_rgb(frame, self._aspect, self._min_side))


def _tiny_rgb(frame: AvFrame) -> np.ndarray:
    # RGB also serves the blank test, rather than format="gray": the conversion to RGB maps
    # limited-range video black (16) to 0 for sure.
    rgb = frame.reformat(width=_TINY, height=_TINY, format="rgb24", interpolation="AREA")
    return rgb.to_ndarray().astype(np.float32)


def _is_blank(tiny: np.ndarray) -> bool:
    grey = tiny @ _GREY_WEIGHTS
    # Flat in every colour channel, not just in grey: a green ball on a grey lawn of the
    # same brightness is flat in grey and still a picture.
    flat = float(tiny.reshape(-1, 3).std(axis=0).max()) < _FLAT_STD
    return float(grey.mean()) < _DARK_MEAN or flat


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def _rotation(frame: AvFrame) -> int:
    """Counter-clockwise display rotation snapped to 0/90/180/270."""
    degrees = getattr(frame, "rotation", 0) or 0  # av >= 14; older PyAV ignores rotation
    return (round(degrees / 90) * 90) % 360


def _stored_display_size(frame: AvFrame, aspect: Fraction | None) -> tuple[int, int]:
    """Width and height as displayed before rotation: non-square pixels (anamorphic) widened."""
    width, height = frame.width, frame.height
    if aspect is not None and aspect > 0 and aspect != 1:
        width = max(1, round(width * aspect))
    return width, height


def _display_size(frame: AvFrame, aspect: Fraction | None) -> tuple[int, int]:
    width, height = _stored_display_size(frame, aspect)
    return (height, width) if _rotation(frame) in (90, 270) else (width, height)


def _to_upright_rgb(frame: AvFrame, aspect: Fraction | None, min_side: int) -> Image.Image:
    width, height = _stored_display_size(frame, aspect)
    scale = min(1.0, min_side / min(width, height))
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    rgb = frame.reformat(width=target[0], height=target[1], format="rgb24", interpolation="AREA")
    # From the packed RGB plane (PyAV's to_image() is untyped); width*3 may be padded per row.
    plane = rgb.planes[0]
    image = Image.frombytes(
        "RGB", (rgb.width, rgb.height), bytes(plane), "raw", "RGB", plane.line_size
    )
    method = _ROTATIONS.get(_rotation(frame))
    return image.transpose(method) if method is not None else image


def _captured_at(container: InputContainer, stream: VideoStream) -> float | None:
    for metadata in (container.metadata, stream.metadata):
        lowered = {key.lower(): value for key, value in metadata.items()}
        for key in _CREATION_KEYS:
            value = _parse_creation_time(lowered.get(key))
            if value is not None:
                return value
    return None


def _parse_creation_time(value: str | None) -> float | None:
    """ISO 8601 (QuickTime/Matroska store UTC; Apple's key adds an offset) -> POSIX seconds."""
    if not value:
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the QuickTime and Matroska specs say UTC
    try:
        seconds = moment.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return seconds if seconds >= _EARLIEST_CAPTURE else None
