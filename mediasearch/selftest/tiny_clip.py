"""A tiny open_clip model, trained in under a minute on a CPU to find drawn shapes."""

from __future__ import annotations

import json
import math
import random
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import open_clip
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

from mediasearch.selftest.shapes import all_combinations, caption, draw_shape
from mediasearch.selftest.training import lr_factor, move_into_place, reproducible_torch

# Same JSON shape as open_clip's model_configs/*.json, scaled down until CPU training is quick.
# The image tower is open_clip's ModifiedResNet (as in RN50.json): at this size a tiny convnet
# learns to tell shapes apart in a few hundred steps, where a tiny ViT was still confusing
# triangles with stars and circles with squares at twice the cost.
TINY_MODEL_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {
        "image_size": 32,  # the ResNet halves the input five times: 32 px ends at 1x1
        "layers": [1, 1, 1, 1],
        "width": 16,
        "head_width": 64,  # attention-pool heads: width * 32 / head_width = 8
    },
    "text_cfg": {
        # The standard CLIP BPE vocabulary ships inside open_clip, so tokenizing works offline.
        "context_length": 16,
        "vocab_size": 49408,
        "width": 64,
        "heads": 2,
        "layers": 2,
    },
}

# Written next to the model config so loading rebuilds exactly the transform used in training.
TINY_PREPROCESS_CFG: dict[str, Any] = {
    "mean": list(open_clip.OPENAI_DATASET_MEAN),
    "std": list(open_clip.OPENAI_DATASET_STD),
    "interpolation": "bicubic",
    "resize_mode": "shortest",
}

# The names open_clip's "local-dir:" loader looks for (factory._find_checkpoint_in_dir).
CONFIG_FILE_NAME = "open_clip_config.json"
WEIGHTS_FILE_NAME = "open_clip_model.safetensors"

DEFAULT_STEPS = 500
POOL_SIZE = 1536
BATCH_SIZE = 64
# Drawn bigger than the model input so the model's own resize does the downscaling,
# as it will for real photos at search time.
POOL_IMAGE_SIZE = 64
LEARNING_RATE = 2e-3
WARMUP_STEPS = 20

Preprocess = Callable[[Image.Image], torch.Tensor]


def tiny_model_dir(cache_root: Path, negative_captions: Sequence[str] = ()) -> Path:
    """The tiny model under `cache_root / "tiny-clip"`, trained there first if not already done."""
    out_dir = cache_root / "tiny-clip"
    if is_model_dir_complete(out_dir):
        return out_dir
    return train_tiny_model(out_dir, negative_captions=negative_captions)


def is_model_dir_complete(folder: Path) -> bool:
    """Whether `folder` holds both files a "local-dir:" load needs."""
    return (folder / CONFIG_FILE_NAME).is_file() and (folder / WEIGHTS_FILE_NAME).is_file()


def train_tiny_model(
    out_dir: Path,
    seed: int = 0,
    steps: int | None = None,
    negative_captions: Sequence[str] = (),
) -> Path:
    """Train the tiny model and save it to `out_dir` in open_clip's "local-dir:" layout.

    `negative_captions` are trained as texts no image matches, the way a real CLIP has
    learned that "a high beep" describes no photo; without them the tiny model gives words
    it never saw arbitrary vectors, and such a query could land on a photo by chance.

    Deterministic for a given seed and torch build. Load the result with
    `open_clip.create_model_and_transforms("local-dir:" + str(out_dir))`.
    """
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} already exists; remove it first to retrain")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Build in a sibling folder and rename it into place, so no reader sees a half-written model.
    work_dir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        _write_config(work_dir)
        with reproducible_torch(seed):
            # Loading the weightless folder gives a randomly initialised model plus the exact
            # preprocess transform that inference will use later.
            model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{work_dir}")
            tokenizer = open_clip.get_tokenizer(f"local-dir:{work_dir}")
            images, labels = _draw_training_pool(preprocess, seed)
            captions = [caption(shape, color) for shape, color in all_combinations()]
            captions += negative_captions  # after the shapes': labels index the shapes' only
            total_steps = DEFAULT_STEPS if steps is None else steps
            _train(model, tokenizer(captions), images, labels, total_steps)
        save_file(model.state_dict(), str(work_dir / WEIGHTS_FILE_NAME))
        return move_into_place(work_dir, out_dir, is_model_dir_complete)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _write_config(folder: Path) -> None:
    config = {"model_cfg": TINY_MODEL_CONFIG, "preprocess_cfg": TINY_PREPROCESS_CFG}
    (folder / CONFIG_FILE_NAME).write_text(json.dumps(config, indent=2), encoding="utf-8")


def _draw_training_pool(preprocess: Preprocess, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw and preprocess a fixed pool of images once; training samples batches from it.

    Returns the stacked image tensors and, for each, the index of its caption in
    `all_combinations()`.
    """
    rng = random.Random(seed)
    combinations = all_combinations()
    images: list[torch.Tensor] = []
    labels: list[int] = []
    for index in range(POOL_SIZE):
        label = index % len(combinations)
        shape, color = combinations[label]
        images.append(preprocess(draw_shape(shape, color, rng, POOL_IMAGE_SIZE)))
        labels.append(label)
    return torch.stack(images), torch.tensor(labels)


def _train(
    model: open_clip.CLIP,
    caption_tokens: torch.Tensor,
    images: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
) -> None:
    # The 49408-row token table is most of the model's weights and updating it costs a good
    # share of each step, yet the captions use about ten of its rows: keep its random values.
    model.token_embedding.requires_grad_(False)
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=LEARNING_RATE, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, steps, WARMUP_STEPS)
    )
    # Convolutions with so few channels ran about a fifth faster in channels-last layout.
    model.visual.to(memory_format=torch.channels_last)
    images = images.contiguous(memory_format=torch.channels_last)
    model.train()
    for _ in range(steps):
        batch = torch.randint(len(images), (BATCH_SIZE,))
        image_features = F.normalize(model.encode_image(images[batch]), dim=-1)
        # Every step sees every caption exactly once, so no two text rows are duplicates.
        text_features = F.normalize(model.encode_text(caption_tokens), dim=-1)
        loss = _contrastive_loss(image_features, text_features, labels[batch], model.logit_scale)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            # CLIP's cap on the temperature: a logit scale of at most 100.
            model.logit_scale.clamp_(0, math.log(100))
    model.eval()
    # safetensors only saves contiguous tensors.
    model.visual.to(memory_format=torch.contiguous_format)


def _contrastive_loss(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    labels: torch.Tensor,
    logit_scale: torch.Tensor,
) -> torch.Tensor:
    """CLIP's symmetric image/text loss for batches where many images share a caption, plus the
    same loss between images.

    - image to text: a plain classification over the distinct captions.
    - text to image: each caption's target is spread evenly over all of its images in the
      batch, instead of pretending only one of them matches.
    - image to image: every other image with the same caption is a match. With text
      supervision alone a few images stayed nearer a same-coloured other shape than their own
      kind, which "find similar photos" searches expose.
    """
    scale = logit_scale.exp()
    image_text_logits = scale * image_features @ text_features.T
    image_image_logits = scale * image_features @ image_features.T
    image_has_caption = F.one_hot(labels, num_classes=len(text_features)).bool()
    not_self = ~torch.eye(len(labels), dtype=torch.bool)
    same_caption = (labels[:, None] == labels[None, :]) & not_self

    image_to_text = _soft_match_loss(image_text_logits, image_has_caption)
    text_to_image = _soft_match_loss(image_text_logits.T, image_has_caption.T)
    image_to_image = _soft_match_loss(
        image_image_logits.masked_fill(~not_self, -math.inf), same_caption
    )
    return (image_to_text + text_to_image) / 2 + image_to_image


def _soft_match_loss(logits: torch.Tensor, matches: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each row's softmax against a target spread evenly over its matches.

    Rows without any match (e.g. a caption none of the batch's images has) are left out.
    """
    rows = matches.any(dim=1)
    matches = matches[rows]
    log_probs = F.log_softmax(logits[rows], dim=1)
    # Zero the non-matches before multiplying: some logits are -inf, and 0 * -inf is NaN.
    log_probs = log_probs.masked_fill(~matches, 0.0)
    targets = matches.float() / matches.sum(dim=1, keepdim=True)
    return -(targets * log_probs).sum(dim=1).mean()
