"""The tiny CLAP test model: trained offline, loaded by transformers, finds synthetic sounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from transformers import ClapModel, ClapProcessor

from tests.support.sounds import SOUNDS, write_sound_files, write_two_part_sound
from tests.support.tiny_clap import is_clap_dir_complete, tiny_clap_dir

CAPTIONS: list[str] = list(SOUNDS.values())
NAMES: list[str] = list(SOUNDS)


@pytest.fixture(scope="module")
def clap(tiny_clap: Path) -> tuple[ClapModel, ClapProcessor]:
    """The model and processor loaded afresh from the folder, as the product loads them.

    `tiny_clap` is the session fixture in tests/conftest.py: it trains the model once per run,
    or reuses the folder under $MEDIASEARCH_TEST_MODEL_CACHE.
    """
    model = ClapModel.from_pretrained(tiny_clap).eval()
    return model, ClapProcessor.from_pretrained(tiny_clap)


def _text_embeddings(clap: tuple[ClapModel, ClapProcessor], texts: list[str]) -> torch.Tensor:
    model, processor = clap
    # truncation=True: without it a query longer than the model's positions fails to index.
    inputs = processor(text=texts, padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        embeddings: torch.Tensor = model.get_text_features(**inputs).pooler_output
    return embeddings


def _window_embeddings(clap: tuple[ClapModel, ClapProcessor], samples: np.ndarray) -> torch.Tensor:
    """One embedding per window of the feature extractor's length, the last one possibly short.

    Feeding a whole longer clip would make "rand_trunc" embed a random crop of it instead.
    """
    model, processor = clap
    extractor = processor.feature_extractor
    window = extractor.nb_max_samples
    windows = [samples[start : start + window] for start in range(0, len(samples), window)]
    inputs = processor(audio=windows, sampling_rate=extractor.sampling_rate, return_tensors="pt")
    with torch.inference_mode():
        embeddings: torch.Tensor = model.get_audio_features(**inputs).pooler_output
    return embeddings


def _read(path: Path, sample_rate: int) -> np.ndarray:
    samples: np.ndarray
    samples, file_rate = sf.read(str(path), dtype="float32")
    assert file_rate == sample_rate  # the synthetic files are written at the model's rate
    return samples


def test_folder_is_complete_small_and_reused(tiny_clap: Path) -> None:
    assert is_clap_dir_complete(tiny_clap)
    assert (tiny_clap / "model.safetensors").stat().st_size < 5 * 1024 * 1024
    # A second call finds the finished folder instead of training again.
    modified = (tiny_clap / "model.safetensors").stat().st_mtime_ns
    assert tiny_clap_dir(tiny_clap.parent) == tiny_clap
    assert (tiny_clap / "model.safetensors").stat().st_mtime_ns == modified


def test_processor_settings(clap: tuple[ClapModel, ClapProcessor]) -> None:
    extractor = clap[1].feature_extractor
    assert extractor.sampling_rate == 16000
    assert extractor.nb_max_samples == 2 * 16000


def test_embeddings_are_normalised(clap: tuple[ClapModel, ClapProcessor]) -> None:
    text = _text_embeddings(clap, ["a low hum", "something no caption says, and a lot more " * 9])
    audio = _window_embeddings(clap, np.zeros(5 * 16000, dtype=np.float32))
    dim = clap[0].config.projection_dim
    assert text.shape == (2, dim) and audio.shape == (3, dim)
    assert torch.allclose(text.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert torch.allclose(audio.norm(dim=-1), torch.ones(3), atol=1e-5)


def test_each_caption_finds_its_sounds_first(
    clap: tuple[ClapModel, ClapProcessor], tmp_path: Path
) -> None:
    sample_rate = clap[1].feature_extractor.sampling_rate
    # Seed 1: training drew its clips from seed 0's generator, so these were never seen.
    files = write_sound_files(tmp_path / "sounds", count_per_sound=2, seed=1)
    text = _text_embeddings(clap, CAPTIONS)
    # A file scores its best window, as a search over long recordings would.
    scores = torch.stack(
        [
            (_window_embeddings(clap, _read(path, sample_rate)) @ text.T).max(dim=0).values
            for path, _, _ in files
        ]
    )
    for column, name in enumerate(NAMES):
        ranked = [files[int(row)][1] for row in scores[:, column].argsort(descending=True)]
        assert ranked[:2] == [name, name], f"{CAPTIONS[column]!r} ranked {ranked}"


@pytest.mark.parametrize(("first", "second"), [("low", "chirp"), ("noise", "high")])
def test_best_window_lies_in_the_matching_half(
    clap: tuple[ClapModel, ClapProcessor], tmp_path: Path, first: str, second: str
) -> None:
    extractor = clap[1].feature_extractor
    window_seconds = extractor.nb_max_samples / extractor.sampling_rate
    path = write_two_part_sound(
        tmp_path / "two-part.flac",
        first,
        second,
        2 * window_seconds,
        extractor.sampling_rate,
        seed=5,
    )
    scores = (
        _window_embeddings(clap, _read(path, extractor.sampling_rate))
        @ _text_embeddings(clap, [SOUNDS[first], SOUNDS[second]]).T
    )
    assert scores.shape == (4, 2)  # four windows, two in each half
    half = 2 * window_seconds
    start_first, start_second = (index * window_seconds for index in scores.argmax(dim=0).tolist())
    assert start_first < half <= start_second
