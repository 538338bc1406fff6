"""The suite's tiny open_clip model: the self-test's, also taught that sounds are no photo."""

from __future__ import annotations

from pathlib import Path

from mediasearch.selftest import tiny_clip
from mediasearch.selftest.tiny_clip import (
    CONFIG_FILE_NAME,
    TINY_MODEL_CONFIG,
    WEIGHTS_FILE_NAME,
    is_model_dir_complete,
)

from .sounds import SOUNDS

__all__ = [
    "CONFIG_FILE_NAME",
    "TINY_MODEL_CONFIG",
    "WEIGHTS_FILE_NAME",
    "is_model_dir_complete",
    "tiny_model_dir",
]

# Descriptions of sounds, trained as captions no image matches: a sound query must not land
# on a photo by chance in the mixed-library tests.
FOREIGN_CAPTIONS: list[str] = list(SOUNDS.values())


def tiny_model_dir(cache_root: Path) -> Path:
    """The tiny model under `cache_root / "tiny-clip"`, trained there first if not already done."""
    return tiny_clip.tiny_model_dir(cache_root, negative_captions=FOREIGN_CAPTIONS)
