"""The CPU fast path: text cut at end-of-text is exact; the ONNX towers stay close to torch."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mediasearch.core import onnx_backend
from mediasearch.core.encoder import Encoder
from mediasearch.core.onnx_backend import (
    IMAGE_GRAPH,
    ExportInfo,
    OnnxTowers,
    export_folder,
    export_towers,
    read_export,
)
from mediasearch.core.text_tower import encode_text_to_eot, supports_truncation
from mediasearch.selftest.shapes import write_shape_images

CAPTIONS = [
    "a red circle",
    "a big blue square in the middle of a photo",
    "green",
    "a small yellow triangle next to a purple circle on a white background",
]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def _vit_b32() -> tuple[torch.nn.Module, object, object]:
    import open_clip

    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32")
    return model.eval(), preprocess, open_clip.get_tokenizer("ViT-B-32")


def test_text_cut_at_end_of_text_equals_the_full_context(tiny_model_spec: str) -> None:
    import open_clip

    tiny = open_clip.create_model(tiny_model_spec).eval()
    vit, _, _ = _vit_b32()
    for model, context in ((tiny, 16), (vit, 77)):
        assert supports_truncation(model)
        tokens = open_clip.tokenize(CAPTIONS, context_length=context)
        with torch.inference_mode():
            full = model.encode_text(tokens)
            cut = encode_text_to_eot(model, tokens)
        assert torch.allclose(full, cut, atol=1e-5), (full - cut).abs().max()


def test_truncation_is_refused_without_a_causal_mask(tiny_model_spec: str) -> None:
    import open_clip

    model = open_clip.create_model(tiny_model_spec).eval()
    model.attn_mask = torch.zeros_like(model.attn_mask)  # every token sees every other
    assert not supports_truncation(model)
    model.attn_mask = None
    assert not supports_truncation(model)


def test_fast_backend_agrees_with_exact_and_needs_no_torch_model_later(
    tiny_model_spec: str, tmp_path: Path
) -> None:
    photos = write_shape_images(tmp_path / "photos", 24, seed=3)
    images = [Image.open(path).convert("RGB") for path, _, _ in photos]
    fast = Encoder(tiny_model_spec, device="cpu", cache_dir=tmp_path, backend="fast")
    exact = Encoder(tiny_model_spec, device="cpu", cache_dir=tmp_path, backend="exact")

    fast_images, exact_images = fast.encode_images(images), exact.encode_images(images)
    fast_texts, exact_texts = fast.encode_texts(CAPTIONS), exact.encode_texts(CAPTIONS)

    assert (fast.backend, exact.backend) == ("onnx-int8", "torch-fp32")
    assert _cosines(fast_images, exact_images).min() >= 0.99  # int8 image tower
    assert _cosines(fast_texts, exact_texts).min() >= 0.9999  # fp32 text tower
    # The same photo ranks the same way: each one's nearest exact vector is its own.
    assert (np.argmax(fast_images @ exact_images.T, axis=1) == np.arange(len(images))).all()

    reopened = Encoder(tiny_model_spec, device="cpu", cache_dir=tmp_path, backend="fast")
    reopened.load()
    assert reopened.backend == "onnx-int8"
    assert reopened._model is None  # the cached export is enough: no torch model built
    assert np.allclose(reopened.encode_texts(CAPTIONS), fast_texts, atol=1e-6)


def test_vit_b32_export_stays_within_cosine_of_torch(tmp_path: Path) -> None:
    """The shipped architecture: int8 image tower >= 0.99 cosine, fp32 text tower exact."""
    model, preprocess, tokenizer = _vit_b32()
    info = ExportInfo(1, "ViT-B-32:test", 512, 224, {}, "argmax", None, False)
    folder = tmp_path / "export"
    info = export_towers(model, info, folder)
    towers = OnnxTowers(folder, info)

    photos = write_shape_images(tmp_path / "photos", 8, seed=5, size=256)
    pixels = torch.stack([preprocess(Image.open(p).convert("RGB")) for p, _, _ in photos])
    tokens = tokenizer(CAPTIONS)
    with torch.inference_mode():
        torch_images = model.encode_image(pixels).numpy()
        torch_texts = model.encode_text(tokens).numpy()
    assert _cosines(towers.encode_image(pixels.numpy()), torch_images).min() >= 0.99
    assert _cosines(towers.encode_text(tokens.numpy()), torch_texts).min() >= 0.9999


def _shared_export(tiny_model: Path, tiny_model_spec: str, into: Path) -> Path:
    """A copy of the session's export of the tiny model, to damage without harming others."""
    identity = Encoder(tiny_model_spec, cache_dir=into).identity()
    Encoder(tiny_model_spec, device="cpu", cache_dir=into).load()  # exports once per session
    source = export_folder(tiny_model / ".mediasearch", identity)
    copy = export_folder(into, identity)
    shutil.copytree(source, copy)
    return copy


def test_damaged_export_falls_back_to_torch_and_is_redone(
    tiny_model: Path, tiny_model_spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "exports"
    copy = _shared_export(tiny_model, tiny_model_spec, root)
    monkeypatch.setattr(Encoder, "_export_root", lambda self: root)
    (copy / IMAGE_GRAPH).write_bytes(b"\0" * 1000)  # zeroed on disk

    encoder = Encoder(tiny_model_spec, device="cpu", cache_dir=tmp_path, backend="fast")
    vectors = encoder.encode_texts(CAPTIONS)

    assert encoder.backend == "torch-fp32" and vectors.shape == (len(CAPTIONS), encoder.dim)
    assert not copy.exists()  # gone, so the next start exports afresh


def test_failed_export_is_remembered_not_retried_on_every_start(
    tiny_model_spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[Path] = []

    def broken_export(model: object, info: ExportInfo, folder: Path) -> ExportInfo:
        attempts.append(folder)
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(Encoder, "_export_root", lambda self: tmp_path / "exports")
    monkeypatch.setattr("mediasearch.core.encoder.export_towers", broken_export)
    for _ in range(2):
        encoder = Encoder(tiny_model_spec, device="cpu", cache_dir=tmp_path, backend="fast")
        assert encoder.encode_texts(["a red circle"]).shape == (1, encoder.dim)
        assert encoder.backend == "torch-fp32"
    assert len(attempts) == 1
    assert "unsupported operator" in (onnx_backend.previous_failure(attempts[0]) or "")
    assert read_export(attempts[0], encoder.identity()) is None


def test_tower_that_quantises_badly_stays_fp32(
    tiny_model_spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An int8 tower that misses the cosine bar on the probe batch is not used."""
    monkeypatch.setattr(onnx_backend, "MIN_INT8_COSINE", 1.01)  # no int8 graph can pass
    monkeypatch.setattr(Encoder, "_export_root", lambda self: tmp_path / "exports")
    photos = write_shape_images(tmp_path / "photos", 8, seed=4)
    images = [Image.open(path).convert("RGB") for path, _, _ in photos]
    fast = Encoder(tiny_model_spec, device="cpu", cache_dir=tmp_path, backend="fast")
    exact = Encoder(tiny_model_spec, device="cpu", cache_dir=tmp_path, backend="exact")

    fast_images = fast.encode_images(images)

    assert fast.backend == "onnx-fp32"
    assert _cosines(fast_images, exact.encode_images(images)).min() >= 0.9999
