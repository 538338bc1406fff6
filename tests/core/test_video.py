"""Tests for mediasearch.core.media.video: frame sampling, caps, blanks, rotation, bad files."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mediasearch.core.media import files as files_module
from mediasearch.core.media import video as video_module
from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.video import (
    INTERVAL_S,
    MAX_FRAMES,
    VIDEO_EXTENSIONS,
    DecodedVideo,
    VideoFrame,
    is_video_path,
    sample_video,
)
from tests.support.videos import (
    write_audio_only_mp4,
    write_frames,
    write_truncated_video,
    write_video,
    write_video_without_streams,
)

FPS = 10
TWO_SHAPES = [("circle", "red", 6.0), ("square", "blue", 6.0)]


def share(image: Image.Image, colour: str) -> float:
    """Fraction of pixels clearly of one shape colour ("red" or "blue")."""
    rgb = np.asarray(image.convert("RGB")).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    if colour == "red":
        mask = (r > 150) & (g < 100) & (b < 100)
    else:
        mask = (b > 150) & (r < 100) & (g < 130)
    return float(mask.mean())


def reason(path: str | Path) -> str:
    """The MediaError reason sample_video gives for a bad file."""
    with pytest.raises(MediaError) as caught:
        sample_video(str(path))
    return str(caught.value)


def brightness(frame: VideoFrame) -> float:
    return float(np.asarray(frame.image.convert("L")).mean())


@pytest.fixture(scope="module")
def two_shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s: a red circle for 6 s, then a blue square for 6 s (96 px, 10 fps)."""
    return write_video(tmp_path_factory.mktemp("video") / "shapes.mp4", TWO_SHAPES, fps=FPS)


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten minutes at 1 fps, 48 px, a different shape every 20 s, a keyframe every 2 s."""
    shapes = [("circle", "red"), ("square", "blue"), ("star", "green"), ("triangle", "yellow")]
    segments = [(shape, colour, 20.0) for shape, colour in shapes * 8][:30]
    path = tmp_path_factory.mktemp("video") / "long.mp4"
    return write_video(path, segments, fps=1, size=48, keyframe_s=2.0)


# ---------------------------------------------------------------- sampling


def test_frames_from_both_halves_with_timestamps(two_shapes: Path) -> None:
    decoded = sample_video(str(two_shapes))

    times = [frame.at_s for frame in decoded.frames]
    assert times == sorted(times)
    assert times[0] == 0.0
    first_half = [f for f in decoded.frames if f.at_s < 6.0]
    second_half = [f for f in decoded.frames if f.at_s >= 6.0]
    assert first_half and second_half
    assert all(share(f.image, "red") > 0.02 and share(f.image, "blue") < 0.01 for f in first_half)
    assert all(share(f.image, "blue") > 0.02 and share(f.image, "red") < 0.01 for f in second_half)
    # The cut at 6 s is caught as a scene change, not only by the next interval frame.
    assert min(f.at_s for f in second_half) == pytest.approx(6.0, abs=0.35)


def test_at_least_one_frame_per_interval(two_shapes: Path) -> None:
    times = [frame.at_s for frame in sample_video(str(two_shapes)).frames]
    gaps = np.diff([*times, 12.0])
    assert gaps.max() <= INTERVAL_S + 1 / FPS
    assert len(times) <= MAX_FRAMES


def test_static_video_is_not_over_sampled(two_shapes: Path) -> None:
    # Two static shots of 6 s: about one frame per interval plus the cut, not one per frame.
    assert 3 <= len(sample_video(str(two_shapes)).frames) <= 6


def test_video_info(tmp_path: Path) -> None:
    path = write_video(
        tmp_path / "info.mp4",
        [("star", "green", 2.0)],
        width=160,
        with_audio=True,
        creation_time="2021-06-01T10:00:00.000000Z",
    )
    decoded = sample_video(str(path))
    assert isinstance(decoded, DecodedVideo)
    assert decoded.duration_s == pytest.approx(2.0, abs=0.1)
    assert (decoded.width, decoded.height) == (160, 96)
    assert decoded.has_audio
    assert decoded.captured_at == pytest.approx(1622541600.0)
    assert decoded.frames[0].image.mode == "RGB"


def test_no_creation_time_and_no_audio(two_shapes: Path) -> None:
    decoded = sample_video(str(two_shapes))
    assert decoded.captured_at is None
    assert not decoded.has_audio


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-06-01T10:00:00.000000Z", 1622541600.0),
        ("2021-06-01T12:00:00+0200", 1622541600.0),  # Apple's creationdate, with an offset
        ("2021-06-01 10:00:00", 1622541600.0),  # no zone: UTC, as QuickTime stores it
        ("1904-01-01T00:00:00.000000Z", None),  # a camera with an unset clock
        ("1970-01-01T00:00:00Z", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_creation_time_parsing(value: str, expected: float | None) -> None:
    assert video_module._parse_creation_time(value) == expected


def test_frames_reduced_to_min_side_never_upscaled(tmp_path: Path, two_shapes: Path) -> None:
    assert sample_video(str(two_shapes)).frames[0].image.size == (96, 96)  # 96 < 224: as is
    assert sample_video(str(two_shapes), min_side=48).frames[0].image.size == (48, 48)
    wide = write_video(tmp_path / "wide.mp4", [("circle", "red", 1.0)], width=192)
    assert sample_video(str(wide), min_side=48).frames[0].image.size == (96, 48)


def test_max_frames_caps_a_short_video(two_shapes: Path) -> None:
    decoded = sample_video(str(two_shapes), max_frames=2)
    assert 1 <= len(decoded.frames) <= 2
    assert sample_video(str(two_shapes), max_frames=1).frames[0].at_s == 0.0


def test_long_video_is_capped_and_sampled_by_seeking(
    long_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_full_decode(*args: object) -> Iterator[None]:
        raise AssertionError("a ten-minute video must not be decoded frame by frame")

    monkeypatch.setattr(video_module, "_all_frames", no_full_decode)
    decoded = sample_video(str(long_video))

    assert decoded.duration_s == pytest.approx(600.0, abs=1.0)
    assert MAX_FRAMES // 2 <= len(decoded.frames) <= MAX_FRAMES
    times = [frame.at_s for frame in decoded.frames]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert times[0] < 20.0 and times[-1] > 570.0  # spread over the whole film
    assert max(np.diff(times)) < 30.0


def test_long_video_with_a_smaller_cap(long_video: Path) -> None:
    times = [frame.at_s for frame in sample_video(str(long_video), max_frames=6).frames]
    assert len(times) <= 6
    assert times[0] < 100.0 and times[-1] > 500.0


def test_unknown_duration_is_decoded_in_full_and_thinned(
    long_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(video_module, "_duration_s", lambda container, stream: None)
    decoded = sample_video(str(long_video), max_frames=5)
    assert decoded.duration_s is None
    times = [frame.at_s for frame in decoded.frames]
    assert 3 <= len(times) <= 5
    assert times[0] == 0.0 and times[-1] > 300.0


def test_large_short_video_is_sampled_by_seeking(
    two_shapes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 12 s 4K clip costs too much to decode in full: shrink the budget to make ours one.
    monkeypatch.setattr(video_module, "_FULL_DECODE_PIXELS", 1000)
    monkeypatch.setattr(video_module, "_all_frames", None)  # would fail if called
    decoded = sample_video(str(two_shapes))
    assert any(f.at_s < 6.0 for f in decoded.frames) and any(f.at_s >= 6.0 for f in decoded.frames)
    assert share(decoded.frames[0].image, "red") > 0.02
    assert share(decoded.frames[-1].image, "blue") > 0.02


def test_black_frames_are_skipped(tmp_path: Path) -> None:
    path = write_video(
        tmp_path / "fade.mp4",
        [("blank", "black", 3.0), ("circle", "red", 3.0), ("blank", "black", 3.0)],
    )
    decoded = sample_video(str(path))
    assert decoded.frames
    assert all(3.0 <= frame.at_s < 6.0 for frame in decoded.frames)
    assert all(brightness(frame) > 40 for frame in decoded.frames)


def test_flat_colour_frames_are_skipped(tmp_path: Path) -> None:
    path = write_video(tmp_path / "card.mp4", [("blank", "white", 3.0), ("square", "blue", 3.0)])
    assert all(frame.at_s >= 3.0 for frame in sample_video(str(path)).frames)


def test_all_black_video_keeps_its_first_frame(tmp_path: Path) -> None:
    path = write_video(tmp_path / "black.mp4", [("blank", "black", 2.0)])
    decoded = sample_video(str(path))
    assert [frame.at_s for frame in decoded.frames] == [0.0]
    assert brightness(decoded.frames[0]) < 5


@pytest.mark.parametrize("suffix", [".mkv", ".webm", ".avi", ".mov", ".m4v"])
def test_other_containers(tmp_path: Path, suffix: str) -> None:
    path = write_video(tmp_path / f"shapes{suffix}", TWO_SHAPES, with_audio=True)
    decoded = sample_video(str(path))
    assert decoded.has_audio
    assert any(f.at_s < 6.0 for f in decoded.frames) and any(f.at_s >= 6.0 for f in decoded.frames)
    assert share(decoded.frames[-1].image, "blue") > 0.02


@pytest.mark.parametrize(
    ("rotation", "size", "first_half", "colour"),
    [
        (90, (96, 160), (0, 0, 96, 80), "blue"),  # counter-clockwise: the right half goes up
        (-90, (96, 160), (0, 0, 96, 80), "red"),  # clockwise (a phone held upright)
        (180, (160, 96), (0, 0, 80, 96), "blue"),  # upside down: the right half goes left
    ],
)
def test_rotation_metadata_makes_frames_upright(
    tmp_path: Path,
    rotation: int,
    size: tuple[int, int],
    first_half: tuple[int, int, int, int],
    colour: str,
) -> None:
    # Stored landscape: red left half, blue right half.
    picture = Image.new("RGB", (160, 96), (220, 30, 30))
    picture.paste((30, 70, 220), (80, 0, 160, 96))
    path = write_frames(tmp_path / "rotated.mp4", [picture] * 5, rotation=rotation)

    decoded = sample_video(str(path))
    image = decoded.frames[0].image
    assert image.size == size
    assert (decoded.width, decoded.height) == size
    assert share(image.crop(first_half), colour) > 0.9


def test_truncated_matroska_keeps_the_frames_before_the_cut(tmp_path: Path) -> None:
    path = write_video(tmp_path / "cut.mkv", TWO_SHAPES)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    decoded = sample_video(str(path))
    assert decoded.frames
    assert decoded.frames[-1].at_s < 6.0


# ---------------------------------------------------------------- bad files


def test_truncated_mp4(tmp_path: Path) -> None:
    path = write_truncated_video(tmp_path / "cut.mp4")
    assert reason(path) == "truncated or corrupt video"


def test_audio_only_mp4_has_no_video_stream(tmp_path: Path) -> None:
    assert reason(write_audio_only_mp4(tmp_path / "sound.mp4")) == "no video stream"


def test_container_without_any_stream(tmp_path: Path) -> None:
    assert reason(write_video_without_streams(tmp_path / "subtitles.mkv")) == "no video stream"


def test_text_renamed_to_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("shopping list: eggs, milk, a red circle\n" * 20)
    assert reason(path) == "not a video file or unsupported format"


def test_garbage_after_an_mp4_header(tmp_path: Path) -> None:
    path = tmp_path / "garbage.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom" + random.Random(0).randbytes(4000))
    assert reason(path) == "truncated or corrupt video"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    assert reason(path) == "file is empty"


def test_missing_file(tmp_path: Path) -> None:
    assert reason(tmp_path / "gone.mp4") == "file disappeared before it could be read"


def test_folder(tmp_path: Path) -> None:
    folder = tmp_path / "album.mp4"
    folder.mkdir()
    assert reason(folder) == "is a folder, not a file"


def test_permission_denied(two_shapes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files_module, "open", refuse, raising=False)  # shadows the builtin
    assert reason(two_shapes) == "permission denied"


def test_bad_arguments(two_shapes: Path) -> None:
    with pytest.raises(ValueError, match="min_side"):
        sample_video(str(two_shapes), min_side=0)
    with pytest.raises(ValueError, match="max_frames"):
        sample_video(str(two_shapes), max_frames=0)


def test_is_video_path() -> None:
    assert is_video_path("holiday.MP4") and is_video_path("a/b/clip.webm")
    assert not is_video_path("song.mp3") and not is_video_path("photo.jpg")
    assert {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"} == VIDEO_EXTENSIONS


def test_a_shape_as_bright_as_its_background_is_not_blank(tmp_path: Path) -> None:
    # Green (30, 170, 50) is about as bright as the grey backgrounds: flat in grey only.
    clip = write_video(tmp_path / "iso.mp4", [("star", "yellow", 3.0), ("circle", "green", 3.0)])
    times = [frame.at_s for frame in sample_video(str(clip)).frames]
    assert any(t >= 3.0 for t in times), times
