"""Synthetic sound clips (tones, chirps, noise bursts, clicks) written as audio files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

# Each sound and the text a user would type to find it. The kinds differ in the ways a
# spectrogram shows (pitch, pitch movement, bandwidth, rhythm), so a tiny model can learn them.
SOUNDS: dict[str, str] = {
    "low": "a low hum",
    "high": "a high beep",
    "chirp": "a rising chirp",
    "noise": "bursts of noise",
    "clicks": "fast clicking",
}

# Formats `write_sound_files` cycles through: a lossless pair and a lossy one.
SOUND_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg")

# Fades at both ends, so a clip never starts or stops with a click of its own.
_FADE_SECONDS = 0.01


def synthesize(name: str, seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One `seconds`-long mono clip of sound `name` as float32 in [-1, 1].

    Pitch, timing and loudness vary with `rng`, and a faint noise floor is mixed in, so that a
    model trained on some draws recognises others.
    """
    if name not in SOUNDS:
        raise ValueError(f"unknown sound {name!r}; expected one of {tuple(SOUNDS)}")
    length = max(round(seconds * sample_rate), 1)
    t = np.arange(length) / sample_rate
    if name == "low":
        signal = _hum(t, rng)
    elif name == "high":
        signal = np.sin(2 * np.pi * rng.uniform(1500, 2000) * t + rng.uniform(0, 2 * np.pi))
    elif name == "chirp":
        signal = _rising_chirps(t, rng)
    elif name == "noise":
        signal = _noise_bursts(length, sample_rate, rng)
    else:
        signal = _clicks(length, sample_rate, rng)
    signal = signal / max(float(np.abs(signal).max()), 1e-9) * rng.uniform(0.3, 0.9)
    # The noise floor keeps silent spectrogram cells at a realistic level instead of the
    # log-mel floor (-100 dB), which no recording reaches.
    signal += rng.normal(0.0, rng.uniform(0.001, 0.01), length)
    clip: np.ndarray = np.clip(_fade(signal, sample_rate), -1.0, 1.0).astype(np.float32)
    return clip


def write_sound(
    path: Path, name: str, seconds: float = 3.0, sample_rate: int = 16000, seed: int = 0
) -> Path:
    """Write one clip of sound `name` to `path`, in the format its suffix names."""
    clip = synthesize(name, seconds, sample_rate, np.random.default_rng(seed))
    return _write(path, clip, sample_rate)


def write_sound_files(
    folder: Path, count_per_sound: int = 1, seed: int = 0
) -> list[tuple[Path, str, str]]:
    """Write `count_per_sound` clips of every sound into `folder`, cycling through formats.

    Returns (path, sound name, caption) for each file. Different seeds give different clips.
    """
    written: list[tuple[Path, str, str]] = []
    index = 0
    for name, caption in SOUNDS.items():
        for copy in range(count_per_sound):
            suffix = SOUND_SUFFIXES[index % len(SOUND_SUFFIXES)]
            # Seed from (seed, index) so each file differs and the set is reproducible.
            path = write_sound(
                folder / f"{name}-{copy:02d}{suffix}", name, seed=seed * 100_003 + index
            )
            written.append((path, name, caption))
            index += 1
    return written


def write_two_part_sound(
    path: Path,
    first: str,
    second: str,
    seconds_each: float,
    sample_rate: int = 16000,
    seed: int = 0,
) -> Path:
    """Write a clip whose first `seconds_each` seconds are sound `first`, the rest `second`."""
    rng = np.random.default_rng(seed)
    clip = np.concatenate(
        [
            synthesize(first, seconds_each, sample_rate, rng),
            synthesize(second, seconds_each, sample_rate, rng),
        ]
    )
    return _write(path, clip, sample_rate)


def _write(path: Path, clip: np.ndarray, sample_rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # soundfile picks the container from the suffix (Ogg means Vorbis there).
    sf.write(str(path), clip, sample_rate)
    return path


def _hum(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A low fundamental with weaker harmonics, like mains hum or an engine."""
    frequency = rng.uniform(180, 260)
    signal = np.zeros_like(t)
    for harmonic, weight in ((1, 1.0), (2, 0.4), (3, 0.15)):
        signal += weight * np.sin(2 * np.pi * harmonic * frequency * t + rng.uniform(0, 2 * np.pi))
    return signal


def _rising_chirps(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Repeated sweeps whose pitch rises exponentially from a few hundred Hz to a few kHz."""
    period = rng.uniform(0.4, 0.8)
    low, high = rng.uniform(300, 500), rng.uniform(2500, 4000)
    rate = np.log(high / low) / period
    # Time within the current sweep; the random offset stops every clip starting a sweep at 0.
    local = np.mod(t + rng.uniform(0, period), period)
    phase = 2 * np.pi * low * (np.exp(rate * local) - 1) / rate
    chirps: np.ndarray = np.sin(phase)
    return chirps


def _noise_bursts(length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """White noise switched on and off in bursts of a tenth to a fifth of a second."""
    signal = np.zeros(length)
    start = -round(rng.uniform(0, 0.3) * sample_rate)
    while start < length:
        burst = round(rng.uniform(0.08, 0.2) * sample_rate)
        gap = round(rng.uniform(0.1, 0.3) * sample_rate)
        begin, end = max(start, 0), min(start + burst, length)
        if end > begin:
            signal[begin:end] = rng.normal(0.0, 1.0, end - begin)
        start += burst + gap
    return signal


def _clicks(length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A steady train of short decaying clicks, eight to fifteen a second."""
    signal = np.zeros(length)
    interval = sample_rate / rng.uniform(8, 15)
    click = np.exp(-np.arange(round(0.002 * sample_rate)) / (0.0004 * sample_rate))
    click *= rng.choice([-1.0, 1.0], len(click))
    position = rng.uniform(0, interval)
    while position < length:
        begin = int(position)
        end = min(begin + len(click), length)
        signal[begin:end] += click[: end - begin]
        position += interval
    return signal


def _fade(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    fade = min(round(_FADE_SECONDS * sample_rate), len(signal) // 2)
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade)
        signal[:fade] *= ramp
        signal[-fade:] *= ramp[::-1]
    return signal
