"""The CLAP sound encoder: real loading code, windows and texts to vectors, clear failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mediasearch.core.audio_encoder import AudioEncoder
from mediasearch.core.library import Library
from mediasearch.core.weights import ModelUnavailableError
from tests.support.sounds import SOUNDS, synthesize, write_sound


def test_windows_and_texts_become_unit_vectors_in_one_space(
    tiny_clap_spec: str, tmp_path: Path
) -> None:
    encoder = AudioEncoder(tiny_clap_spec, device="cpu", cache_dir=tmp_path)
    assert not encoder.loaded and encoder.identity().startswith("clap:local-dir:")
    rate, window = encoder.sample_rate, encoder.window_s
    clips = [synthesize(name, window, rate, np.random.default_rng(3)) for name in SOUNDS]
    sounds = encoder.encode_audio(clips)
    texts = encoder.encode_texts([*SOUNDS.values(), "a caption far longer than " * 20])
    assert sounds.shape == (len(SOUNDS), encoder.dim) and texts.shape[1] == encoder.dim
    assert np.allclose(np.linalg.norm(sounds, axis=1), 1, atol=1e-5)
    # Each caption is nearest its own sound.
    assert (np.argmax(texts[: len(SOUNDS)] @ sounds.T, axis=1) == np.arange(len(SOUNDS))).all()


def test_a_missing_sound_model_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no network in tests, and none needed here
    encoder = AudioEncoder("laion/clap-htsat-unfused", device="cpu", cache_dir=tmp_path)
    with pytest.raises(ModelUnavailableError, match="could not be downloaded") as raised:
        encoder.load()
    assert "pick a local model folder" in str(raised.value)
    folder = AudioEncoder(f"local-dir:{tmp_path / 'nothing'}", device="cpu", cache_dir=tmp_path)
    with pytest.raises(ModelUnavailableError, match=r"has no config\.json"):
        folder.load()


def test_photos_are_indexed_and_found_while_the_sound_model_is_missing(
    make_library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from mediasearch.selftest.shapes import write_shape_images

    folder = tmp_path / "mixed"
    write_shape_images(folder, 12, seed=2)
    memo = write_sound(folder / "memo.wav", "high")
    library: Library = make_library(audio_model="laion/clap-htsat-unfused")
    summary = library.index([str(folder)])
    assert summary.indexed == 12 and summary.skipped == []
    assert summary.warnings and "waiting for their model" in summary.warnings[0]
    record = library.catalog.file_by_path(str(memo))
    assert record is not None and record.status == "pending"  # waits, not failed
    assert library.search("a red circle", 3)[0].kind == "image"
