"""One video or sound file's decoding, as a picklable job and result for the worker process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from mediasearch.core.media.audio import MAX_WINDOWS, NO_AUDIO_STREAM, decode_audio_windows
from mediasearch.core.media.audio import AudioWindow as AudioWindow
from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.video import MAX_FRAMES, NO_VIDEO_STREAM, DecodedVideo, sample_video

__all__ = [
    "DEFAULT_AUDIO_WINDOW_S",
    "NO_STREAMS",
    "AudioWindow",
    "DecodeJob",
    "DecodeResult",
    "decode",
]

# Audio-text models (CLAP and kin) are trained on clips of about ten seconds.
DEFAULT_AUDIO_WINDOW_S: Final = 10.0
# The error for a file with neither picture nor sound.
NO_STREAMS: Final = "no video or audio stream"

MediaKind = Literal["video", "audio"]


@dataclass(frozen=True)
class DecodeJob:
    """What to decode from one file, and how much of it."""

    path: str
    kind: MediaKind
    min_side: int = 224
    max_frames: int = MAX_FRAMES
    audio_sample_rate: int | None = None  # None: leave the sound alone
    max_audio_windows: int = MAX_WINDOWS
    audio_window_s: float = DEFAULT_AUDIO_WINDOW_S

    def __post_init__(self) -> None:
        # Checked here, in the caller's process, rather than failing inside the worker.
        if self.kind not in ("video", "audio"):
            raise ValueError(f"unknown kind of media {self.kind!r}; expected 'video' or 'audio'")
        if self.kind == "audio" and self.audio_sample_rate is None:
            raise ValueError("an audio job needs audio_sample_rate")


@dataclass(frozen=True)
class DecodeResult:
    """Frames and/or sound windows, or the reason the file could not be decoded.

    ``error`` is a MediaError's reason: the file is bad, not the decoder. A video whose picture
    decodes but whose soundtrack does not keeps its frames; ``audio_error`` then says why.
    A video file with sound but no picture comes back with ``video`` None and its windows.
    """

    video: DecodedVideo | None = None
    audio_windows: list[AudioWindow] | None = None
    audio_duration_s: float | None = None
    error: str | None = None
    audio_error: str | None = None


def decode(job: DecodeJob) -> DecodeResult:
    """Decode ``job`` (normally inside the worker process); never raises MediaError."""
    if job.kind == "audio":
        try:
            windows, duration = _sound(job)
        except MediaError as error:
            return DecodeResult(error=str(error))
        return DecodeResult(audio_windows=windows, audio_duration_s=duration)
    return _decode_video(job)


def _decode_video(job: DecodeJob) -> DecodeResult:
    try:
        video = sample_video(job.path, min_side=job.min_side, max_frames=job.max_frames)
    except MediaError as error:
        if str(error) != NO_VIDEO_STREAM:
            return DecodeResult(error=str(error))
        if job.audio_sample_rate is None:
            return DecodeResult(error=NO_VIDEO_STREAM)
        return _sound_only(job)
    if job.audio_sample_rate is None or not video.has_audio:
        return DecodeResult(video=video)
    try:
        windows, duration = _sound(job)
    except MediaError as error:
        return DecodeResult(video=video, audio_error=str(error))
    return DecodeResult(video=video, audio_windows=windows, audio_duration_s=duration)


def _sound_only(job: DecodeJob) -> DecodeResult:
    """A "video" without a picture: its sound, if it has any."""
    try:
        windows, duration = _sound(job)
    except MediaError as error:
        reason = str(error)
        return DecodeResult(error=NO_STREAMS if reason == NO_AUDIO_STREAM else reason)
    return DecodeResult(audio_windows=windows, audio_duration_s=duration)


def _sound(job: DecodeJob) -> tuple[list[AudioWindow], float | None]:
    assert job.audio_sample_rate is not None  # DecodeJob checks this for audio; callers for video
    return decode_audio_windows(
        job.path,
        sample_rate=job.audio_sample_rate,
        window_s=job.audio_window_s,
        max_windows=job.max_audio_windows,
    )
