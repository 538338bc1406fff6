"""Stills of timed media: a video's frame at a moment, a sound's waveform, and their thumbnails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.stills import (
    WAVEFORM_ASPECT,
    draw_waveform,
    media_duration_s,
    video_frame_at,
    waveform_image,
)
from mediasearch.core.thumbs import ThumbnailCache
from tests.support.sounds import write_sound, write_two_part_sound
from tests.support.videos import write_video


def redness(image: Image.Image) -> float:
    """Mean red minus mean blue: positive for the red circle, negative for the blue square."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    return float(pixels[..., 0].mean() - pixels[..., 2].mean())


@pytest.fixture
def red_then_blue(tmp_path: Path) -> Path:
    """6 s of a red circle, then 6 s of a blue square (a keyframe every second)."""
    return write_video(
        tmp_path / "clip.mp4", [("circle", "red", 6.0), ("square", "blue", 6.0)], fps=10
    )


def test_frame_at_a_moment_shows_that_moment(red_then_blue: Path) -> None:
    early = video_frame_at(str(red_then_blue), 1.5, 64)
    late = video_frame_at(str(red_then_blue), 7.0, 64)
    assert early.mode == "RGB" and early.size == (64, 64)
    assert redness(early) > 30 and redness(late) < -30
    # Between keyframes: decoded forward from the keyframe before, to the first frame at or
    # after the moment (6.0 s is the first blue frame).
    assert redness(video_frame_at(str(red_then_blue), 5.95, 64)) < -30
    assert redness(video_frame_at(str(red_then_blue), 5.8, 64)) > 30


def test_frame_past_the_end_is_the_last_and_size_is_never_enlarged(red_then_blue: Path) -> None:
    last = video_frame_at(str(red_then_blue), 600.0, 512)
    assert redness(last) < -30
    assert last.size == (96, 96)  # the video is 96 px: fitted, not blown up


def test_wide_video_fits_the_box(tmp_path: Path) -> None:
    wide = write_video(tmp_path / "wide.mp4", [("star", "green", 2.0)], size=64, width=128)
    assert video_frame_at(str(wide), 1.0, 100).size == (100, 50)


def test_duration_of_video_and_sound(red_then_blue: Path, tmp_path: Path) -> None:
    assert media_duration_s(str(red_then_blue)) == pytest.approx(12.0, abs=0.2)
    wav = write_sound(tmp_path / "beep.wav", "high", seconds=3.0)
    assert media_duration_s(str(wav)) == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty"), (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "corrupt")],
)
def test_unreadable_video_raises_media_error(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(MediaError, match=reason):
        video_frame_at(str(path), 1.0, 64)


def test_sound_only_file_has_no_frame(tmp_path: Path) -> None:
    wav = write_sound(tmp_path / "hum.wav", "low")
    with pytest.raises(MediaError, match="no video stream"):
        video_frame_at(str(wav), 0.0, 64)


def test_waveform_is_a_dark_picture_of_the_sound(tmp_path: Path) -> None:
    wav = write_two_part_sound(tmp_path / "two.wav", "high", "noise", seconds_each=4.0)
    image = waveform_image(str(wav), 256)
    assert image.mode == "RGB" and image.size == (256, round(256 * WAVEFORM_ASPECT))
    pixels = np.asarray(image, dtype=np.float32)
    corner = pixels[:6, :6].mean(axis=(0, 1))
    assert corner.max() < 60  # a dark background...
    middle_row = pixels[image.height // 2]
    assert (middle_row[:, 2] > 120).mean() > 0.3  # ...crossed by blue bars at the centre line
    # The steady tone fills its half; the noise bursts leave gaps in theirs.
    top_row = pixels[image.height // 4]
    bright = top_row[:, 2] > 120
    assert bright[: image.width // 2].mean() > bright[image.width // 2 :].mean()


def test_waveform_highlights_the_matching_window(tmp_path: Path) -> None:
    wav = write_sound(tmp_path / "chirp.wav", "chirp", seconds=12.0)
    plain = np.asarray(waveform_image(str(wav), 240), dtype=np.float32)
    marked = np.asarray(waveform_image(str(wav), 240, at_s=6.0, window_s=3.0), dtype=np.float32)
    changed = np.abs(plain - marked).sum(axis=(0, 2)) > 0
    columns = np.flatnonzero(changed)
    # Only [6 s, 9 s] of 12 s is lit: from half-way to three quarters across.
    assert columns.min() == pytest.approx(120, abs=4)
    assert columns.max() == pytest.approx(180, abs=4)
    assert marked[:, 130:170].mean() > plain[:, 130:170].mean()


def test_silence_draws_a_flat_line() -> None:
    image = draw_waveform(np.zeros(8000, np.float32), 1.0, 120)
    pixels = np.asarray(image, dtype=np.float32)
    top = pixels[: image.height // 3]
    assert np.abs(top - pixels[0, 0]).max() < 2  # nothing above the centre line


def test_waveform_of_a_broken_file_raises_media_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(b"RIFF" + b"\x00" * 40)
    with pytest.raises(MediaError):
        waveform_image(str(path), 128)


def test_thumbnails_of_moments_are_kept_apart(red_then_blue: Path, tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "cache")
    first = cache.get(red_then_blue, 128, at_s=1.0)
    second = cache.get(red_then_blue, 128, at_s=9.0)
    poster = cache.get(red_then_blue, 128)
    assert len({first, second, poster}) == 3
    assert first.name.endswith("@1000.jpg") and second.name.endswith("@9000.jpg")
    with Image.open(first) as a, Image.open(second) as b, Image.open(poster) as c:
        assert redness(a) > 30 and redness(b) < -30
        assert redness(c) > 30  # a tenth of the way in: still the red circle
    assert cache.get(red_then_blue, 128, at_s=1.0) == first  # made once


def test_sound_thumbnail_is_a_waveform(tmp_path: Path) -> None:
    wav = write_sound(tmp_path / "clicks.wav", "clicks", seconds=20.0)
    cache = ThumbnailCache(tmp_path / "cache")
    whole = cache.get(wav, 150)
    found = cache.get(wav, 150, at_s=10.0)
    assert whole.suffix == ".png" and whole != found
    with Image.open(whole) as image:
        assert image.size == (192, round(192 * WAVEFORM_ASPECT))  # the 192 px step, 4:3
