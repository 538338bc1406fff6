"""The encoder: lazy loading, normalised outputs, and unloading that reloads on next use."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mediasearch.core.encoder import Encoder


def test_lazy_load_normalised_vectors_and_unload(tiny_model_spec: str, tmp_path: Path) -> None:
    encoder = Encoder(tiny_model_spec, device="cpu", cache_dir=tmp_path)
    assert not encoder.loaded  # constructing costs nothing
    first = encoder.encode_texts(["a red circle", "a blue square"])
    assert encoder.loaded and first.shape == (2, encoder.dim)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)

    encoder.unload()
    assert not encoder.loaded
    again = encoder.encode_texts(["a red circle", "a blue square"])
    assert np.allclose(first, again, atol=1e-6)
