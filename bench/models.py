"""Candidate default models: image-tower images/s on torch fp32 and on the fast backend here.

The fast backend's tower is what the product exports: int8 where it stays within cosine
0.99 of torch, else fp32 (the key names say int8 for short).

Random weights cost what trained ones do, so no download is needed. Retrieval quality is the
published Flickr30k zero-shot image-retrieval R@1 of each model's pretrained tag (open_clip's
results table); speed is measured in this one run, on this machine.

    python -m bench.models
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Section, report

# name, pretrained tag, published Flickr30k image retrieval R@1 (zero-shot)
CANDIDATES = [
    ("ViT-B-32", "openai", 58.8),
    ("ViT-B-32", "laion2b_s34b_b79k", 66.8),
    ("ViT-B-32-256", "datacomp_s34b_b86k", 64.9),
    ("MobileCLIP-S1", "datacompdr", 71.0),
    ("MobileCLIP-S2", "datacompdr", 73.4),
    ("ViT-B-16-SigLIP", "webli", 74.7),
]
BATCH = 32
TARGET_IMAGES_PER_S = 10.0


def _rate(encode: Any, batch: Any, runs: int) -> float:
    """Images/s: the median of `runs` timed batches after one warm-up."""
    encode(batch)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        encode(batch)
        times.append(time.perf_counter() - started)
    return len(batch) / statistics.median(times)


def measure(name: str, runs: int, work: Path) -> dict[str, float]:
    """torch fp32 and ONNX int8 images/s of one architecture's image tower, and their cosine."""
    import onnxruntime as ort
    import open_clip
    import torch

    from mediasearch.core.onnx_backend import IMAGE_GRAPH, _export_image_tower

    torch.manual_seed(0)
    model = open_clip.create_model(name).eval()
    size = model.visual.image_size
    side = int(min(size) if isinstance(size, tuple | list) else size)
    pixels = torch.randn(BATCH, 3, side, side)
    with torch.inference_mode():
        torch_rate = _rate(model.encode_image, pixels, runs)
        reference = model.encode_image(pixels).numpy()

    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    _export_image_tower(model, side, folder)
    export_s = time.perf_counter() - started
    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(folder / IMAGE_GRAPH), options)
    array = pixels.numpy()

    def run_onnx(batch: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(None, {"pixels": batch})[0])

    onnx_rate = _rate(run_onnx, array, runs)
    fast = run_onnx(array)
    cosine = (fast * reference).sum(1) / np.linalg.norm(fast, axis=1)
    cosine /= np.linalg.norm(reference, axis=1)
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "input_px": side,
        "torch_fp32_images_per_s": torch_rate,
        "onnx_int8_images_per_s": onnx_rate,
        "int8_speedup": onnx_rate / torch_rate,
        "int8_min_cosine": float(cosine.min()),
        "export_s": export_s,
    }


def run(work: Path, quick: bool) -> list[Section]:
    section = Section("Default model candidates (image tower, batch 32)", "python -m bench.models")
    names = sorted({name for name, _, _ in CANDIDATES}, key=[c[0] for c in CANDIDATES].index)
    if quick:
        names = names[:1]
    measured = {name: measure(name, 2 if quick else 4, work) for name in names}
    for name, tag, recall in CANDIDATES:
        if name not in measured:
            continue
        m = measured[name]
        key = f"{name}:{tag}".replace("-", "_").replace(":", "__").lower()
        section.figures[key] = {**m, "flickr30k_r1": recall}
        section.rows.append(
            (
                f"{name}:{tag} (R@1 {recall})",
                f"torch {m['torch_fp32_images_per_s']:.1f}/s, fast "
                f"{m['onnx_int8_images_per_s']:.1f}/s ({m['int8_speedup']:.2f}x, "
                f"cos {m['int8_min_cosine']:.4f})",
            )
        )
    return [section]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ViT-B-32 only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ms-bench-models-"))
    try:
        sections = run(work, args.quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(sections, args.json)


if __name__ == "__main__":
    main()
