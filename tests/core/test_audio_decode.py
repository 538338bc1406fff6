"""Tests for mediasearch.core.media.audio: formats, mono mixdown, resampling, windows, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mediasearch.core.media import audio as audio_module
from mediasearch.core.media import files as files_module
from mediasearch.core.media.audio import (
    AUDIO_EXTENSIONS,
    MAX_WINDOWS,
    DecodedAudio,
    audio_windows,
    decode_audio,
    decode_audio_windows,
    is_audio_path,
)
from mediasearch.core.media.errors import MediaError
from tests.support.videos import (
    TONE_HZ,
    tone,
    write_audio_only_mp4,
    write_broken_wav,
    write_sound,
    write_tone,
    write_video,
)

RATE = 16_000


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum) * rate / samples.size)


def reason(path: Path, **kwargs: object) -> str:
    """The MediaError reason decode_audio gives for a bad file."""
    with pytest.raises(MediaError) as caught:
        decode_audio(str(path), sample_rate=RATE, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


def steps(frequencies: list[float], seconds_each: float, rate: int) -> np.ndarray:
    """A tone that changes pitch every `seconds_each`: where a window came from is audible."""
    return np.concatenate([tone(seconds_each, rate, hz) for hz in frequencies])


# ---------------------------------------------------------------- decoding


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3", ".opus", ".m4a", ".aac"])
@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_formats_decode_to_mono_float_at_the_asked_rate(
    tmp_path: Path, suffix: str, rate: int
) -> None:
    path = write_tone(tmp_path / f"tone{suffix}", 3.0)
    decoded = decode_audio(str(path), sample_rate=rate)

    assert isinstance(decoded, DecodedAudio)
    assert decoded.sample_rate == rate
    assert decoded.samples.dtype == np.float32 and decoded.samples.ndim == 1
    # Lossy codecs add a few milliseconds of padding.
    assert decoded.duration_s == pytest.approx(3.0, abs=0.1)
    assert decoded.samples.size == pytest.approx(decoded.duration_s * rate, abs=1)
    assert peak_hz(decoded.samples, rate) == pytest.approx(TONE_HZ, abs=2.0)
    # Both channels hold the same 0.5 tone: their mean is 0.5 too, whichever library decodes.
    assert float(np.abs(decoded.samples[rate : 2 * rate]).max()) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm", ".avi"])
def test_video_soundtrack(tmp_path: Path, suffix: str) -> None:
    path = write_video(tmp_path / f"clip{suffix}", [("circle", "red", 4.0)], with_audio=True)
    decoded = decode_audio(str(path), sample_rate=RATE)
    assert decoded.duration_s == pytest.approx(4.0, abs=0.1)
    assert peak_hz(decoded.samples, RATE) == pytest.approx(TONE_HZ, abs=2.0)


def test_stereo_is_mixed_to_the_mean(tmp_path: Path) -> None:
    left = tone(1.0, RATE, 1000.0, amplitude=0.8)
    path = write_sound(tmp_path / "left.wav", np.stack([left, np.zeros_like(left)]), RATE)
    samples = decode_audio(str(path), sample_rate=RATE).samples
    np.testing.assert_allclose(samples, left / 2, atol=1e-4)


def test_same_rate_is_not_resampled(tmp_path: Path) -> None:
    original = tone(0.5, RATE, 300.0)
    path = write_sound(tmp_path / "mono.wav", original, RATE)
    np.testing.assert_allclose(
        decode_audio(str(path), sample_rate=RATE).samples, original, atol=1e-4
    )


def test_higher_pitches_survive_downsampling(tmp_path: Path) -> None:
    path = write_sound(tmp_path / "high.flac", tone(2.0, 48_000, 5000.0), 48_000)
    decoded = decode_audio(str(path), sample_rate=RATE)
    assert peak_hz(decoded.samples, RATE) == pytest.approx(5000.0, abs=2.0)
    # Above the new Nyquist frequency (8 kHz) a tone must vanish, not fold back as an alias.
    path = write_sound(tmp_path / "ultra.flac", tone(2.0, 48_000, 12_000.0), 48_000)
    samples = decode_audio(str(path), sample_rate=RATE).samples
    assert float(np.abs(samples[RATE // 4 : -RATE // 4]).max()) < 1e-3  # past the on/off clicks


def test_max_seconds(tmp_path: Path) -> None:
    for suffix in (".wav", ".m4a"):
        path = write_tone(tmp_path / f"long{suffix}", 5.0)
        decoded = decode_audio(str(path), sample_rate=RATE, max_seconds=1.5)
        assert decoded.samples.size == int(1.5 * RATE)
        assert decoded.duration_s == pytest.approx(1.5)


def test_audio_only_mp4(tmp_path: Path) -> None:
    decoded = decode_audio(str(write_audio_only_mp4(tmp_path / "voice.mp4")), sample_rate=RATE)
    assert decoded.duration_s == pytest.approx(3.0, abs=0.1)


# ---------------------------------------------------------------- windows


def decoded(samples: np.ndarray, rate: int = RATE) -> DecodedAudio:
    return DecodedAudio(samples.astype(np.float32), rate, samples.size / rate)


def test_windows_start_times_and_padding() -> None:
    windows = audio_windows(decoded(tone(12.0, RATE)), 5.0)
    assert [start for start, _ in windows] == [0.0, 5.0, 10.0]
    assert all(samples.size == 5 * RATE for _, samples in windows)
    last = windows[-1][1]
    assert np.abs(last[2 * RATE :]).max() == 0.0  # the 2 s tail, zero-padded
    assert np.abs(last[: 2 * RATE]).max() > 0.4


def test_short_tail_is_dropped_but_a_short_sound_is_kept() -> None:
    assert [s for s, _ in audio_windows(decoded(tone(10.5, RATE)), 5.0)] == [0.0, 5.0]
    windows = audio_windows(decoded(tone(0.3, RATE)), 5.0)
    assert len(windows) == 1 and windows[0][1].size == 5 * RATE


def test_windows_are_capped_evenly() -> None:
    windows = audio_windows(decoded(tone(100.0, RATE)), 5.0, max_windows=3)
    assert [start for start, _ in windows] == [0.0, 50.0, 95.0]


def test_silent_windows_are_skipped_but_one_is_always_kept() -> None:
    quiet = np.zeros(5 * RATE, dtype=np.float32)
    samples = np.concatenate([tone(5.0, RATE), quiet, tone(5.0, RATE)])
    assert [start for start, _ in audio_windows(decoded(samples), 5.0)] == [0.0, 10.0]
    assert [start for start, _ in audio_windows(decoded(np.zeros(20 * RATE)), 5.0)] == [0.0]


def test_decode_windows_of_a_short_file(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "short.wav", 7.0)
    windows, duration = decode_audio_windows(str(path), sample_rate=RATE, window_s=2.0)
    assert duration == pytest.approx(7.0)
    assert [start for start, _ in windows] == [0.0, 2.0, 4.0, 6.0]


@pytest.mark.parametrize("suffix", [".wav", ".m4a", ".mp3"])
def test_long_file_decodes_only_spread_windows(
    tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 120 s whose pitch steps every 10 s: each window's pitch tells where it was read from.
    frequencies = [300.0 + 100.0 * i for i in range(12)]
    path = write_sound(tmp_path / f"long{suffix}", steps(frequencies, 10.0, 44_100), 44_100)
    reads: list[float | None] = []
    original = audio_module._Opened.__enter__

    def counting_enter(self: audio_module._Opened) -> audio_module._Source:
        source = original(self)
        read = source.read

        def spy(start_s: float, seconds: float | None) -> np.ndarray:
            reads.append(seconds)
            return read(start_s, seconds)

        source.read = spy  # type: ignore[method-assign]
        return source

    monkeypatch.setattr(audio_module._Opened, "__enter__", counting_enter)
    windows, duration = decode_audio_windows(
        str(path), sample_rate=RATE, window_s=2.0, max_windows=6
    )

    assert duration == pytest.approx(120.0, abs=0.1)
    assert reads == [2.0] * 6  # six short reads, never the whole file
    starts = [start for start, _ in windows]
    assert starts == pytest.approx([0.0, 23.6, 47.2, 70.8, 94.4, 118.0])
    for start, samples in windows:
        assert samples.size == 2 * RATE
        # The middle of the window must carry the pitch of the step it lies in.
        middle = samples[int(0.5 * RATE) : int(1.5 * RATE)]
        expected = frequencies[int((start + 1.0) // 10.0)]
        assert peak_hz(middle, RATE) == pytest.approx(expected, abs=3.0)


def test_soundtrack_windows_of_a_video(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", [("square", "blue", 6.0)], with_audio=True)
    windows, duration = decode_audio_windows(str(path), sample_rate=RATE, window_s=2.0)
    assert duration == pytest.approx(6.0, abs=0.1)
    assert [start for start, _ in windows] == [0.0, 2.0, 4.0]


def test_bad_window_arguments() -> None:
    with pytest.raises(ValueError, match="window_s"):
        audio_windows(decoded(tone(1.0, RATE)), 0.0)
    with pytest.raises(ValueError, match="max_windows"):
        audio_windows(decoded(tone(1.0, RATE)), 1.0, max_windows=0)
    assert MAX_WINDOWS >= 1


# ---------------------------------------------------------------- bad files


def test_broken_wav(tmp_path: Path) -> None:
    assert reason(write_broken_wav(tmp_path / "broken.wav")) == "truncated or corrupt audio"


def test_empty_mp3(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.touch()
    assert reason(path) == "file is empty"


def test_text_renamed_to_mp3(tmp_path: Path) -> None:
    path = tmp_path / "lyrics.mp3"
    path.write_text("la la la\n" * 100)
    assert reason(path) == "not an audio file or unsupported format"


def test_video_without_sound(tmp_path: Path) -> None:
    path = write_video(tmp_path / "silent.mp4", [("circle", "red", 1.0)])
    assert reason(path) == "no audio stream"


def test_missing_file(tmp_path: Path) -> None:
    assert reason(tmp_path / "gone.flac") == "file disappeared before it could be read"


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_tone(tmp_path / "locked.wav", 1.0)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files_module, "open", refuse, raising=False)  # shadows the builtin
    assert reason(path) == "permission denied"


def test_truncated_wav_keeps_what_is_there(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "cut.wav", 4.0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert decode_audio(str(path), sample_rate=RATE).duration_s == pytest.approx(2.0, abs=0.05)


def test_bad_arguments(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "tone.wav", 1.0)
    with pytest.raises(ValueError, match="sample_rate"):
        decode_audio(str(path), sample_rate=0)
    with pytest.raises(ValueError, match="max_seconds"):
        decode_audio(str(path), sample_rate=RATE, max_seconds=0)


def test_is_audio_path() -> None:
    assert is_audio_path("song.MP3") and is_audio_path("a/b/voice.m4a")
    assert not is_audio_path("clip.mp4") and not is_audio_path("photo.jpg")
    assert {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac"} == AUDIO_EXTENSIONS
