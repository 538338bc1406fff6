"""A tiny transformers CLAP model, trained in seconds on CPU to find synthetic sounds."""

from __future__ import annotations

import io
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
from tokenizers import ByteLevelBPETokenizer
from transformers import (
    ClapAudioConfig,
    ClapConfig,
    ClapFeatureExtractor,
    ClapModel,
    ClapProcessor,
    ClapTextConfig,
    RobertaTokenizer,
)

from mediasearch.selftest.shapes import all_combinations, caption
from mediasearch.selftest.training import lr_factor, move_into_place, reproducible_torch

from .sounds import SOUNDS, synthesize

# ClapFeatureExtractor settings. Real CLAP hears 10 s windows at 48 kHz as 64 mel bins x 1001
# frames; this one hears 2 s at 16 kHz as 32 bins x 101 frames (32000 // 320 + 1), small
# enough to train fast yet still showing every synthetic sound's pitch and rhythm.
TINY_FEATURE_EXTRACTOR: dict[str, Any] = {
    "feature_size": 32,  # mel bins; must equal the audio tower's num_mel_bins
    "sampling_rate": 16000,
    "hop_length": 320,  # 20 ms per frame
    "max_length_s": 2,  # the window: nb_max_samples = 32000
    "fft_window_size": 512,
    "frequency_min": 50,
    "frequency_max": 8000,  # Nyquist at 16 kHz
    # As in laion/clap-htsat-unfused: "fusion" only suits the fused model (and hard-codes 64 mel
    # bins); "repeatpad" tiles a short clip until it fills the window.
    "truncation": "rand_trunc",
    "padding": "repeatpad",
}

# HTSAT turns the (frames x mel bins) spectrogram into a spec_size x spec_size image:
# freq_ratio = spec_size // num_mel_bins = 2, so frames are resized to spec_size * 2 = 128
# (101 fit; more would be an error) and folded into two 64-frame rows of 32 bins.
TINY_AUDIO_CONFIG: dict[str, Any] = {
    "num_mel_bins": 32,
    "spec_size": 64,
    "patch_size": 4,
    "patch_stride": [4, 4],  # 16 x 16 patches
    # Swin-style attention windows. Each stage's relative-position table is sized for this
    # window, and a stage smaller than it shrinks its window to fit and then fails on that
    # table: so the last stage (4 x 4 patches) must be at least as large as the window.
    "window_size": 4,
    "patch_embeds_hidden_size": 16,
    "depths": [1, 1, 1],  # three stages at 16x16, 8x8 and 4x4 patches
    "num_attention_heads": [2, 2, 4],
    # The tower's output width is patch_embeds_hidden_size * 2 ** (stages - 1); the audio
    # projection reads it from hidden_size, so the two must agree.
    "hidden_size": 64,
    "mlp_ratio": 2.0,
    "enable_fusion": False,
    "hidden_dropout_prob": 0.0,
}

# Token ids 0-4 in the order RoBERTa (and so CLAP's tokenizer) numbers its special tokens.
SPECIAL_TOKENS: list[str] = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
MAX_TEXT_TOKENS = 32

TINY_TEXT_CONFIG: dict[str, Any] = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    # RoBERTa numbers positions from pad_token_id + 1 = 2, so a 32-token text needs 34 rows.
    "max_position_embeddings": MAX_TEXT_TOKENS + 2,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
}

PROJECTION_DIM = 32

# Words besides the captions' for the tokenizer's merges, so that everyday queries split into
# whole words as they would with a real vocabulary (byte-level BPE can spell anything anyway).
EXTRA_WORDS: tuple[str, ...] = (
    "the sound of a dog barking",
    "birds singing in the morning",
    "music with a loud drum and a quiet voice",
    "people talking, rain, wind, a car engine, water, a bell ringing",
)

# Descriptions of pictures, not sounds: trained as captions no clip matches, the way a real
# CLAP has learned that "a blue square" describes no sound. Without them the tiny model gives
# words it never saw arbitrary vectors, and a photo query could land on a sound by chance.
FOREIGN_CAPTIONS: tuple[str, ...] = tuple(caption(s, c) for s, c in all_combinations())

# Files a complete model folder holds: the model's (save_pretrained) and the processor's.
REQUIRED_FILES: tuple[str, ...] = (
    "config.json",
    "model.safetensors",
    "processor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
)

DEFAULT_STEPS = 300
CLIPS_PER_SOUND = 64
BATCH_SIZE = 40
# A share of the pool is shorter than the window: the last window of a file is, and the
# feature extractor repeat-pads it, which the model should have seen.
SHORT_CLIP_SHARE = 0.3
# A share of the pool goes through an Ogg Vorbis round trip. The codec smears tones near
# 2 kHz at 16 kHz enough that a model trained on clean clips alone took a lossy "high beep"
# for "fast clicking".
LOSSY_CLIP_SHARE = 0.3
LEARNING_RATE = 2e-3
WARMUP_STEPS = 20


def tiny_clap_dir(cache_root: Path) -> Path:
    """The tiny CLAP under `cache_root / "tiny-clap"`, trained there first if not already done."""
    out_dir = cache_root / "tiny-clap"
    if is_clap_dir_complete(out_dir):
        return out_dir
    return train_tiny_clap(out_dir)


def is_clap_dir_complete(folder: Path) -> bool:
    """Whether `folder` holds everything `ClapModel`/`ClapProcessor.from_pretrained` need."""
    return all((folder / name).is_file() for name in REQUIRED_FILES)


def train_tiny_clap(out_dir: Path, seed: int = 0, steps: int | None = None) -> Path:
    """Train the tiny CLAP and save it to `out_dir` as a transformers model folder.

    Deterministic for a given seed and torch build. Load the result with
    `ClapModel.from_pretrained(out_dir)` and `ClapProcessor.from_pretrained(out_dir)`.
    """
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} already exists; remove it first to retrain")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Build in a sibling folder and rename it into place, so no reader sees a half-written model.
    work_dir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        _build_processor().save_pretrained(work_dir)
        # Train through the processor as saved, so training sees exactly what inference will.
        processor = ClapProcessor.from_pretrained(work_dir)
        with reproducible_torch(seed):
            model = ClapModel(_build_config(len(processor.tokenizer)))
            features, labels = _training_pool(processor, seed)
            captions = processor.tokenizer(
                [*SOUNDS.values(), *FOREIGN_CAPTIONS], padding=True, return_tensors="pt"
            )
            total_steps = DEFAULT_STEPS if steps is None else steps
            _train(model, dict(captions), features, labels, total_steps)
        model.save_pretrained(work_dir)
        return move_into_place(work_dir, out_dir, is_clap_dir_complete)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _build_processor() -> ClapProcessor:
    return ClapProcessor(
        feature_extractor=ClapFeatureExtractor(**TINY_FEATURE_EXTRACTOR),
        tokenizer=_build_tokenizer(),
    )


def _build_tokenizer() -> RobertaTokenizer:
    """A byte-level BPE RoBERTa tokenizer trained on the captions, built offline in code."""
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        [*SOUNDS.values(), *FOREIGN_CAPTIONS, *EXTRA_WORDS],
        vocab_size=400,  # 256 byte symbols + specials + merges; the small corpus stops earlier
        min_frequency=1,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
    )
    bpe_model = json.loads(bpe.to_str())["model"]
    return RobertaTokenizer(
        vocab=bpe_model["vocab"],
        # tokenizers' BPE wants each merge as a tuple; its JSON holds two-item lists.
        # (transformers annotates merges as strings, which tokenizers 0.23 rejects.)
        merges=[tuple(pair) for pair in bpe_model["merges"]],  # type: ignore[misc]
        model_max_length=MAX_TEXT_TOKENS,
    )


def _build_config(vocab_size: int) -> ClapConfig:
    return ClapConfig(
        text_config=ClapTextConfig(vocab_size=vocab_size, **TINY_TEXT_CONFIG),
        audio_config=ClapAudioConfig(**TINY_AUDIO_CONFIG),
        projection_dim=PROJECTION_DIM,
    )


def _training_pool(processor: ClapProcessor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Synthesize a fixed pool of clips and compute their features once.

    Returns the stacked `input_features` and, for each clip, the index of its caption in SOUNDS.
    """
    rng = np.random.default_rng(seed)
    extractor = processor.feature_extractor
    window_seconds = extractor.nb_max_samples / extractor.sampling_rate
    clips: list[np.ndarray] = []
    labels: list[int] = []
    for label, name in enumerate(SOUNDS):
        for _ in range(CLIPS_PER_SOUND):
            short = rng.random() < SHORT_CLIP_SHARE
            seconds = rng.uniform(0.3, 1.0) * window_seconds if short else window_seconds
            clip = synthesize(name, seconds, extractor.sampling_rate, rng)
            if rng.random() < LOSSY_CLIP_SHARE:
                clip = _vorbis_round_trip(clip, extractor.sampling_rate)
            clips.append(clip)
            labels.append(label)
    # No clip is longer than the window, so "rand_trunc" never crops at random here.
    features = processor(audio=clips, sampling_rate=extractor.sampling_rate, return_tensors="pt")
    return features["input_features"], torch.tensor(labels)


def _vorbis_round_trip(clip: np.ndarray, sample_rate: int) -> np.ndarray:
    """`clip` as it reads back after saving it as an .ogg file."""
    buffer = io.BytesIO()
    sf.write(buffer, clip, sample_rate, format="OGG", subtype="VORBIS")
    buffer.seek(0)
    decoded: np.ndarray
    decoded, _ = sf.read(buffer, dtype="float32")
    return decoded[: len(clip)]


def _train(
    model: ClapModel,
    captions: dict[str, torch.Tensor],
    features: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
) -> None:
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, steps, WARMUP_STEPS)
    )
    model.train()
    for _ in range(steps):
        batch = torch.randint(len(features), (BATCH_SIZE,))
        audio = model.get_audio_features(input_features=features[batch]).pooler_output
        # Every step sees every caption exactly once, so no two text rows are duplicates.
        text = model.get_text_features(**captions).pooler_output
        loss = _contrastive_loss(audio, text, labels[batch], model)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            # CLIP's cap on the temperature: a logit scale of at most 100.
            model.logit_scale_a.clamp_(0, math.log(100))
            model.logit_scale_t.clamp_(0, math.log(100))
    model.eval()


def _contrastive_loss(
    audio: torch.Tensor, text: torch.Tensor, labels: torch.Tensor, model: ClapModel
) -> torch.Tensor:
    """CLAP's symmetric InfoNCE for batches where many clips share a caption.

    Audio to text is a plain classification over the distinct captions; text to audio spreads
    each caption's target evenly over all its clips in the batch instead of pretending only
    one matches. Both inputs are already L2-normalised (get_*_features does it).
    """
    similarity = audio @ text.T
    audio_to_text = F.cross_entropy(model.logit_scale_a.exp() * similarity, labels)
    matches = F.one_hot(labels, num_classes=len(text)).T.bool()
    present = matches.any(dim=1)  # a caption with no clip in the batch has no target
    log_probs = F.log_softmax(model.logit_scale_t.exp() * similarity.T[present], dim=1)
    targets = matches[present].float() / matches[present].sum(dim=1, keepdim=True)
    text_to_audio = -(targets * log_probs).sum(dim=1).mean()
    return (audio_to_text + text_to_audio) / 2
