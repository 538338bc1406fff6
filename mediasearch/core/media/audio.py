"""Decoding sound (audio files and video soundtracks) to mono float32 at a chosen sample rate."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType
from typing import Final, Protocol

import av
import av.error
import numpy as np
import soundfile
from av.audio.stream import AudioStream
from av.container import InputContainer

from mediasearch.core.media.containers import open_container
from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.files import describe_os_error, read_head
from mediasearch.core.media.kinds import AUDIO_EXTENSIONS

__all__ = [
    "AUDIO_EXTENSIONS",
    "MAX_WINDOWS",
    "NO_AUDIO_STREAM",
    "AudioWindow",
    "DecodedAudio",
    "audio_windows",
    "decode_audio",
    "decode_audio_windows",
    "is_audio_path",
]


# At most this many windows per file: a 10 s window covers 5 minutes in full; a two-hour
# recording or film soundtrack is sampled evenly instead of costing the audio encoder hours.
MAX_WINDOWS: Final = 32
# The reason given for a file with no sound in it; decode_job matches it.
NO_AUDIO_STREAM: Final = "no audio stream"

# libsndfile reads these itself (MP3 since libsndfile 1.1); it is faster than FFmpeg for PCM and
# seeks exactly. Everything else, and anything libsndfile refuses, goes through PyAV.
_SOUNDFILE_EXTENSIONS: Final = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3"})
# A window quieter than -60 dBFS RMS is room tone at best: nothing to search for.
_SILENCE_RMS: Final = 10 ** (-60 / 20)
# The last partial window is kept (zero-padded) only when it holds at least this fraction of a
# window: a few trailing seconds can hold a distinct sound, a fraction of one second cannot.
_MIN_TAIL_FRACTION: Final = 0.25
# soundfile input is read in blocks of this many frames (~24 s at 44.1 kHz), so that a long file
# is never held twice (interleaved channels and mono) at once.
_BLOCK_FRAMES: Final = 1 << 20
# Without a known duration, decode_audio_windows reads at most this many windows' worth.
_UNKNOWN_LENGTH_WINDOWS: Final = 4
# After a seek, decode at most this many frames looking for the window's start (a broken index).
_MAX_FRAMES_PER_SEEK: Final = 10_000

_SNIFF_BYTES: Final = 16

# (start second, samples of exactly one window) as audio_windows returns them.
AudioWindow = tuple[float, np.ndarray]


@dataclass(frozen=True)
class DecodedAudio:
    """Mono float32 samples at ``sample_rate``; ``duration_s`` is the length of the samples."""

    samples: np.ndarray
    sample_rate: int
    duration_s: float


def is_audio_path(path: str | os.PathLike[str]) -> bool:
    """True when the file name has an audio extension we decode (case-insensitive)."""
    return os.path.splitext(os.fspath(path))[1].lower() in AUDIO_EXTENSIONS


def decode_audio(
    path: str | os.PathLike[str], *, sample_rate: int, max_seconds: float | None = None
) -> DecodedAudio:
    """Decode the (first) sound track of an audio or video file to mono at ``sample_rate``.

    Reads at most ``max_seconds`` from the start. Raise MediaError with a readable reason.
    A damaged tail keeps what decoded before it.
    """
    _check_rate(sample_rate)
    if max_seconds is not None and max_seconds <= 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    name = os.fspath(path)
    with _reading(name), _open_source(name, sample_rate) as source:
        samples = source.read(0.0, max_seconds)
    if samples.size == 0:
        raise MediaError("truncated or corrupt audio")
    return DecodedAudio(samples, sample_rate, samples.size / sample_rate)


def audio_windows(
    audio: DecodedAudio, window_s: float, *, max_windows: int = MAX_WINDOWS
) -> list[AudioWindow]:
    """Split into back-to-back windows of ``window_s`` (start second, samples of one window).

    No overlap: the audio encoder is the costly part, and overlap would double it for sounds
    that mostly straddle a boundary only partly anyway. The last partial window is zero-padded
    when it is long enough to matter, silent windows are dropped, and when more than
    ``max_windows`` remain an evenly spread subset is kept. Never returns an empty list.
    """
    size = _window_size(window_s, audio.sample_rate, max_windows)
    samples = audio.samples
    windows: list[AudioWindow] = []
    for start in range(0, max(1, samples.size), size):
        piece = samples[start : start + size]
        if piece.size < size:
            if windows and piece.size < _MIN_TAIL_FRACTION * size:
                break
            piece = _pad(piece, size)
        windows.append((start / audio.sample_rate, piece))
    return _select(windows, max_windows)


def decode_audio_windows(
    path: str | os.PathLike[str],
    *,
    sample_rate: int,
    window_s: float,
    max_windows: int = MAX_WINDOWS,
) -> tuple[list[AudioWindow], float | None]:
    """Windows as :func:`audio_windows` gives them, and the whole sound's duration if known.

    A sound longer than ``max_windows`` windows is not decoded in full: only the evenly spread
    windows are, each after a seek, so a two-hour film costs ``max_windows`` short decodes.
    """
    _check_rate(sample_rate)
    size = _window_size(window_s, sample_rate, max_windows)
    name = os.fspath(path)
    with _reading(name), _open_source(name, sample_rate) as source:
        duration = source.duration_s
        if duration is not None and duration > max_windows * window_s:
            windows = _seek_windows(source, duration, window_s, size, max_windows)
        else:
            limit = (
                None if duration is not None else _UNKNOWN_LENGTH_WINDOWS * max_windows * window_s
            )
            samples = source.read(0.0, limit)
            if samples.size == 0:
                raise MediaError("truncated or corrupt audio")
            if duration is None:
                duration = samples.size / sample_rate
            windows = audio_windows(
                DecodedAudio(samples, sample_rate, samples.size / sample_rate),
                window_s,
                max_windows=max_windows,
            )
    return windows, duration


def _seek_windows(
    source: _Source, duration: float, window_s: float, size: int, max_windows: int
) -> list[AudioWindow]:
    windows: list[AudioWindow] = []
    last_start = duration - window_s
    for index in range(max_windows):
        start = last_start * index / max(1, max_windows - 1)
        piece = source.read(start, window_s)
        if piece.size:
            windows.append((start, _pad(piece[:size], size)))
    if not windows:
        raise MediaError("truncated or corrupt audio")
    return _select(windows, max_windows)


def _select(windows: list[AudioWindow], max_windows: int) -> list[AudioWindow]:
    """Drop silent windows (keeping at least one), then spread at most max_windows evenly."""
    audible = [window for window in windows if _rms(window[1]) >= _SILENCE_RMS]
    if not audible:
        return windows[:1]
    if len(audible) > max_windows:
        picks = np.linspace(0, len(audible) - 1, max_windows).round().astype(int)
        audible = [audible[i] for i in sorted(set(picks.tolist()))]
    return audible


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


def _pad(samples: np.ndarray, size: int) -> np.ndarray:
    if samples.size >= size:
        return samples
    return np.concatenate([samples, np.zeros(size - samples.size, dtype=np.float32)])


def _window_size(window_s: float, sample_rate: int, max_windows: int) -> int:
    if not window_s > 0:
        raise ValueError(f"window_s must be positive, got {window_s}")
    if max_windows < 1:
        raise ValueError(f"max_windows must be at least 1, got {max_windows}")
    return max(1, round(window_s * sample_rate))


def _check_rate(sample_rate: int) -> None:
    # A bad rate is a programming error, not a bad file, so it is not a MediaError.
    if sample_rate < 1:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")


@contextlib.contextmanager
def _reading(name: str) -> Iterator[None]:
    """Map what can go wrong while reading (besides bad data) to a MediaError."""
    try:
        yield
    except MemoryError as error:
        raise MediaError("not enough memory to decode this sound") from error
    except OSError as error:  # e.g. EIO from a failing disk, or the file deleted while read
        raise MediaError(describe_os_error(error, name)) from error


# ---------------------------------------------------------------- sources


class _Source(Protocol):
    """An open sound track that reads mono float32 spans at the target rate."""

    duration_s: float | None

    def read(self, start_s: float, seconds: float | None) -> np.ndarray: ...

    def close(self) -> None: ...


class _Opened:
    """Closes a source on leaving the with-block."""

    def __init__(self, source: _Source) -> None:
        self._source = source

    def __enter__(self) -> _Source:
        return self._source

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._source.close()


def _open_source(name: str, sample_rate: int) -> _Opened:
    sniffed = _check_file(name)
    if os.path.splitext(name)[1].lower() in _SOUNDFILE_EXTENSIONS:
        try:
            return _Opened(_SoundFileSource(name, sample_rate))
        except soundfile.LibsndfileError:
            pass  # not for libsndfile (AAC in an .ogg name, a damaged header): try FFmpeg
        except OSError as error:
            raise MediaError(describe_os_error(error, name)) from error
    return _Opened(_AvSource(name, sample_rate, sniffed))


def _check_file(name: str) -> bool:
    """Stat and sniff the file; True when its first bytes look like a sound or video format."""
    return _looks_like_sound(read_head(name, _SNIFF_BYTES))


def _looks_like_sound(prefix: bytes) -> bool:
    return (
        prefix.startswith((b"RIFF", b"RIFX", b"RF64", b"fLaC", b"OggS", b"ID3", b"FORM", b"caff"))
        or prefix.startswith((b"ADIF", b"\x1a\x45\xdf\xa3", b"\x30\x26\xb2\x75"))
        or prefix[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")
        or (len(prefix) >= 2 and prefix[0] == 0xFF and prefix[1] & 0xE0 == 0xE0)  # MPEG/ADTS
    )


class _Resampler:
    """FFmpeg's libswresample to the target rate, then the mean of the channels as mono.

    The mean rather than swresample's own downmix (which weights stereo by 0.707 each), so that
    a file reads equally loud whether libsndfile or FFmpeg decodes it. A stream whose layout or
    rate changes midway gets a fresh converter from that frame on.
    """

    def __init__(self, rate: int) -> None:
        self._rate = rate
        self._resampler: av.AudioResampler | None = None
        self._input: tuple[str, int] | None = None
        self._chunks: list[np.ndarray] = []
        self.size = 0

    def push(self, frame: av.AudioFrame) -> None:
        shape = (frame.layout.name, frame.sample_rate)
        if self._resampler is None or shape != self._input:
            self._drain()
            self._resampler = av.AudioResampler(format="fltp", rate=self._rate)
            self._input = shape
        self._take(self._resampler.resample(frame))

    def result(self) -> np.ndarray:
        self._drain()
        if not self._chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._chunks)

    def _drain(self) -> None:
        if self._resampler is not None:
            self._take(self._resampler.resample(None))  # what the filter still holds
            self._resampler = None

    def _take(self, frames: list[av.AudioFrame]) -> None:
        for out in frames:
            planes = np.asarray(out.to_ndarray(), dtype=np.float32)  # (channels, samples)
            chunk = planes[0] if planes.shape[0] == 1 else planes.mean(axis=0, dtype=np.float32)
            self._chunks.append(np.ascontiguousarray(chunk))
            self.size += chunk.size


class _SoundFileSource:
    def __init__(self, name: str, sample_rate: int) -> None:
        self._file = soundfile.SoundFile(name)
        self._rate = sample_rate
        frames, rate = self._file.frames, self._file.samplerate
        self.duration_s: float | None = frames / rate if frames > 0 and rate > 0 else None

    def read(self, start_s: float, seconds: float | None) -> np.ndarray:
        source_rate = self._file.samplerate
        try:
            if start_s > 0:
                self._file.seek(round(start_s * source_rate))
            elif self._file.tell() != 0:
                self._file.seek(0)
        except (soundfile.LibsndfileError, RuntimeError) as error:
            raise MediaError("truncated or corrupt audio") from error
        remaining = -1 if seconds is None else max(1, round(seconds * source_rate))
        resampler = None if source_rate == self._rate else _Resampler(self._rate)
        pieces: list[np.ndarray] = []
        try:
            while remaining != 0:
                count = _BLOCK_FRAMES if remaining < 0 else min(remaining, _BLOCK_FRAMES)
                block = self._file.read(count, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                if remaining > 0:
                    remaining -= block.shape[0]
                mono = np.ascontiguousarray(block.mean(axis=1, dtype=np.float32))
                if resampler is None:
                    pieces.append(mono)
                else:
                    resampler.push(_mono_frame(mono, source_rate))
        except (soundfile.LibsndfileError, RuntimeError, av.error.FFmpegError, ValueError) as error:
            if not pieces and (resampler is None or resampler.size == 0):
                raise MediaError("truncated or corrupt audio") from error
        if resampler is not None:
            return resampler.result()
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)

    def close(self) -> None:
        self._file.close()


def _mono_frame(samples: np.ndarray, rate: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = rate
    return frame


class _AvSource:
    def __init__(self, name: str, sample_rate: int, sniffed: bool) -> None:
        self._rate = sample_rate
        self._container = open_container(
            name,
            unreadable="truncated or corrupt audio"
            if sniffed
            else "not an audio file or unsupported format",
            what="sound",
        )
        try:
            if not self._container.streams.audio:
                raise MediaError(NO_AUDIO_STREAM)
            self._stream: AudioStream = self._container.streams.audio[0]
            if self._stream.codec_context is None:
                raise MediaError("unsupported audio codec")
        except BaseException:
            self._container.close()
            raise
        self.duration_s = _duration_s(self._container, self._stream)
        self._time_base = self._stream.time_base or Fraction(1, self._stream.rate or 1)
        self._start = self._stream.start_time or 0
        self._at_start = True

    def read(self, start_s: float, seconds: float | None) -> np.ndarray:
        if start_s > 0 or not self._at_start:
            try:
                self._container.seek(
                    self._start + int(start_s / self._time_base), stream=self._stream
                )
            except (av.error.FFmpegError, ValueError, EOFError) as error:
                raise MediaError("truncated or corrupt audio") from error
        self._at_start = False
        wanted = None if seconds is None else max(1, round(seconds * self._rate))
        resampler = _Resampler(self._rate)
        skip = 0  # output samples decoded before start_s (a seek lands on the packet before it)
        first = True
        try:
            for count, frame in enumerate(self._frames()):
                if first:
                    first = False
                    if frame.pts is not None:
                        at = float((frame.pts - self._start) * self._time_base)
                        skip = max(0, round((start_s - at) * self._rate))
                elif count > _MAX_FRAMES_PER_SEEK and resampler.size <= skip:
                    break
                resampler.push(frame)
                if wanted is not None and resampler.size >= skip + wanted:
                    break
        except (av.error.FFmpegError, ValueError, EOFError) as error:
            if resampler.size <= skip:
                raise MediaError("truncated or corrupt audio") from error
        samples = resampler.result()[skip:]
        return samples if wanted is None else samples[:wanted]

    def _frames(self) -> Iterator[av.AudioFrame]:
        yield from self._container.decode(self._stream)

    def close(self) -> None:
        self._container.close()


def _duration_s(container: InputContainer, stream: AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None
