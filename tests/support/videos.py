"""Test videos and sounds made with PyAV: a coloured shape per segment, sine tones, bad files."""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import soundfile
from PIL import Image

from mediasearch.selftest.shapes import COLORS, draw_shape

# Solid colours a "blank" segment can use besides the shape colours.
BLANK_COLORS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "grey": (128, 128, 128),
    **COLORS,
}

# (video codec, audio codec) per container; libx264 when PyAV's ffmpeg has it.
_H264 = "libx264" if "libx264" in av.codecs_available else "mpeg4"
_CODECS: dict[str, tuple[str, str]] = {
    ".mp4": (_H264, "aac"),
    ".m4v": (_H264, "aac"),
    ".mov": (_H264, "aac"),
    ".mkv": (_H264, "aac"),
    ".webm": ("libvpx-vp9", "libopus"),
    ".avi": ("mpeg4", "libmp3lame"),
}
_AUDIO_RATE = {"aac": 44_100, "libopus": 48_000, "libmp3lame": 44_100}
TONE_HZ = 440.0
_WRITE_BLOCK = 8192
# Suffix -> (container format, codec) for sound files written through PyAV.
_AV_SOUND_FORMATS: dict[str, tuple[str, str]] = {
    ".m4a": ("mp4", "aac"),
    ".mp4": ("mp4", "aac"),
    ".aac": ("adts", "aac"),
    ".opus": ("ogg", "libopus"),
}


def write_video(
    path: Path,
    segments: list[tuple[str, str, float]],
    *,
    fps: int = 10,
    size: int = 96,
    with_audio: bool = False,
    width: int | None = None,
    seed: int = 0,
    **options: Any,
) -> Path:
    """Write a video of (shape, colour, seconds) segments, e.g. ``[("circle", "red", 6.0)]``.

    Each segment shows one ``draw_shape`` picture (fixed position) for its duration; shape
    ``"blank"`` is a solid frame of the colour (also "black", "white", "grey"). ``width`` makes
    the picture ``width x size`` instead of square. The container follows the suffix; the other
    options are write_frames'.
    """
    rng = random.Random(seed)
    frame_width = width or size
    pictures: list[Image.Image] = []
    for shape, color, seconds in segments:
        picture = _segment_picture(shape, color, rng, frame_width, size)
        pictures += [picture] * round(seconds * fps)
    return write_frames(path, pictures, fps=fps, with_audio=with_audio, **options)


def write_frames(
    path: Path,
    pictures: Iterable[Image.Image],
    *,
    fps: int = 10,
    with_audio: bool = False,
    keyframe_s: float = 1.0,
    rotation: int = 0,
    creation_time: str | None = None,
) -> Path:
    """Encode RGB pictures (all one even size) as a video; the container follows the suffix.

    ``with_audio`` adds a TONE_HZ sine track as long as the video; ``keyframe_s`` is the
    keyframe spacing; ``rotation`` is stored as display-matrix metadata (counter-clockwise
    degrees, as PyAV reads it back); ``creation_time`` is the container's metadata.
    """
    video_codec, audio_codec = _CODECS[path.suffix.lower()]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        if creation_time is not None:
            container.metadata["creation_time"] = creation_time
        video = container.add_stream(video_codec, rate=fps)
        video.pix_fmt = "yuv420p"
        video.codec_context.gop_size = max(1, round(fps * keyframe_s))
        if video_codec == "libx264":
            video.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency"}
        if rotation:
            video.set_display_rotation(rotation)
        audio = None
        if with_audio:
            audio = container.add_stream(audio_codec, rate=_AUDIO_RATE[audio_codec])
            audio.layout = "stereo"
        count = 0
        for index, picture in enumerate(pictures):
            if index == 0:
                video.width, video.height = picture.size
            frame = av.VideoFrame.from_image(picture)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
            count = index + 1
        container.mux(video.encode(None))
        if audio is not None:
            _encode_tone(container, audio, count / fps)
    return path


def write_tone(path: Path, seconds: float, *, rate: int = 44_100, hz: float = TONE_HZ) -> Path:
    """A stereo sine tone (amplitude 0.5), in the format the suffix names."""
    if path.suffix.lower() == ".opus":
        rate = 48_000  # the only rate of Opus here
    samples = tone(seconds, rate, hz)
    return write_sound(path, np.stack([samples, samples]), rate)


def write_sound(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Write float samples, shape (channels, n) or (n,), in the format the suffix names.

    .wav/.flac/.ogg/.mp3 through soundfile (16-bit PCM for wav); .m4a/.mp4 (AAC), .aac (ADTS)
    and .opus (Ogg Opus, at 48 kHz) through PyAV.
    """
    planes = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix not in _AV_SOUND_FORMATS:
        frames = np.ascontiguousarray(planes.T)
        with soundfile.SoundFile(str(path), "w", rate, frames.shape[1]) as file:
            # In blocks: libsndfile 1.2's Vorbis encoder crashes on one big write (~10 s+).
            for start in range(0, frames.shape[0], _WRITE_BLOCK):
                file.write(frames[start : start + _WRITE_BLOCK])
        return path
    container_format, codec = _AV_SOUND_FORMATS[suffix]
    layout = "mono" if planes.shape[0] == 1 else "stereo"
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = layout
        _encode_planes(container, stream, planes, rate, layout)
    return path


def tone(seconds: float, rate: int, hz: float = TONE_HZ, amplitude: float = 0.5) -> np.ndarray:
    """A float32 mono sine."""
    t = np.arange(round(seconds * rate), dtype=np.float64) / rate
    return (amplitude * np.sin(2 * math.pi * hz * t)).astype(np.float32)


def write_truncated_video(path: Path, fraction: float = 0.5) -> Path:
    """A valid 4 s mp4 cut to ``fraction`` of its bytes (its index, at the end, is lost)."""
    write_video(path, [("circle", "red", 2.0), ("square", "blue", 2.0)])
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def write_audio_only_mp4(path: Path, seconds: float = 3.0) -> Path:
    """An mp4 holding one AAC track and no video stream."""
    return write_tone(path, seconds)


def write_broken_wav(path: Path) -> Path:
    """A wav whose header is garbage after the RIFF tag (fmt chunk destroyed)."""
    write_tone(path, 1.0)
    data = bytearray(path.read_bytes())
    data[8:44] = struct.pack("<9I", *([0xDEADBEEF] * 9))
    path.write_bytes(bytes(data))
    return path


def write_video_without_streams(path: Path) -> Path:
    """A Matroska file with only a subtitle stream: a valid container, nothing to see or hear."""
    path.parent.mkdir(parents=True, exist_ok=True)
    millisecond = Fraction(1, 1000)
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_mux_stream("subrip")
        stream.time_base = millisecond
        container.start_encoding()
        for second in range(3):
            packet = av.Packet(b"hello")
            packet.stream = stream
            packet.pts = packet.dts = second * 1000
            packet.duration = 1000
            packet.time_base = millisecond
            container.mux(packet)
    return path


def _segment_picture(
    shape: str, color: str, rng: random.Random, width: int, height: int
) -> Image.Image:
    if shape == "blank":
        return Image.new("RGB", (width, height), BLANK_COLORS[color])
    square = draw_shape(shape, color, rng, height)
    if width == height:
        return square
    picture = Image.new("RGB", (width, height), square.getpixel((0, 0)))  # type: ignore[arg-type]
    picture.paste(square, ((width - height) // 2, 0))
    return picture


def _encode_tone(
    container: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    seconds: float,
    hz: float = TONE_HZ,
) -> None:
    rate = stream.codec_context.sample_rate
    mono = tone(seconds, rate, hz)
    _encode_planes(container, stream, np.stack([mono, mono]), rate, "stereo")


def _encode_planes(
    container: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    planes: np.ndarray,
    rate: int,
    layout: str,
) -> None:
    chunk = 1024
    for start in range(0, planes.shape[1], chunk):
        piece = np.ascontiguousarray(planes[:, start : start + chunk])
        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
