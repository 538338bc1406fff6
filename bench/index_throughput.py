"""Benchmark: `mediasearch index` files/s on camera-sized JPEGs vs the model's own forward rate.

Draws N 12-megapixel JPEGs, then measures in one run, on one machine:
  1. model-only throughput: preprocessed random batches through the image tower;
  2. `mediasearch index` throughput: scan + decode + preprocess + encode + commit, through
     the same Library.index the CLI calls (model load time reported separately);
  3. text-query latency over the built index (median of distinct queries).
Random weights cost exactly what trained ones do, so no download is needed.

    python bench/index_throughput.py --files 96 --model ViT-B-32:random
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CAMERA_SIZE = (4000, 3000)  # 12 megapixels
QUERIES = [
    "a dog on a beach",
    "kids at sunset",
    "a red car",
    "snowy mountains",
    "a birthday cake",
    "a cat on a sofa",
    "city at night",
    "a plate of food",
    "a forest path",
    "a bicycle",
]


def draw_camera_jpegs(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """Noisy, detailed pictures so JPEG sizes (~3-5 MB) and decode costs look like photos."""
    rng = random.Random(seed)
    noise_rng = np.random.default_rng(seed)
    paths = []
    small = (CAMERA_SIZE[0] // 4, CAMERA_SIZE[1] // 4)
    for i in range(count):
        base = Image.new("RGB", small, tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(base)
        for _ in range(40):
            x, y = rng.randrange(small[0]), rng.randrange(small[1])
            r = rng.randrange(20, 300)
            colour = tuple(rng.randrange(256) for _ in range(3))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        image = base.resize(CAMERA_SIZE, Image.Resampling.BILINEAR).filter(ImageFilter.DETAIL)
        grain = noise_rng.integers(-12, 12, size=(CAMERA_SIZE[1], CAMERA_SIZE[0], 3))
        pixels = np.clip(np.asarray(image, np.int16) + grain, 0, 255).astype(np.uint8)
        path = folder / f"{i // 50:02d}" / f"IMG_{i:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(path)
    return paths


def model_only_rate(model: str, device: str, batch_size: int, batches: int) -> tuple[float, float]:
    """(images/s through the image tower alone, seconds to load the model)."""
    import torch

    from mediasearch.core.encoder import Encoder

    encoder = Encoder(model, device=device, cache_dir=Path(tempfile.gettempdir()) / "ms-bench")
    started = time.perf_counter()
    encoder.load()
    load_s = time.perf_counter() - started
    size = encoder.image_size
    batch = [torch.randn(3, size, size) for _ in range(batch_size)]
    encoder.encode_prepared(batch)  # warm-up
    started = time.perf_counter()
    for _ in range(batches):
        encoder.encode_prepared(batch)
    return batch_size * batches / (time.perf_counter() - started), load_s


def index_rate(model: str, device: str, photos: Path, home: Path) -> dict[str, float]:
    """Index in-process; the indexer's own rate covers decode + encode + commit, measured
    from the first batch on (the model is loaded before that)."""
    from mediasearch.core.indexer import PHASE_ENCODING, Progress
    from mediasearch.core.library import Library

    last: list[Progress] = []

    def record(progress: Progress) -> None:
        if progress.phase == PHASE_ENCODING:
            last[:] = [progress]

    started = time.perf_counter()
    with Library(home, model=model, device=device) as library:
        summary = library.index([str(photos)], progress=record)
    wall = time.perf_counter() - started
    return {"wall_s": wall, "indexed": summary.indexed, "rate": last[0].rate if last else 0.0}


def query_latency(model: str, device: str, home: Path) -> tuple[float, float]:
    """(median ms of a fresh text query, ms to open the library and load the model)."""
    from mediasearch.core.library import Library

    started = time.perf_counter()
    library = Library(home, model=model, device=device)
    library.search("warm up", 1)
    open_ms = (time.perf_counter() - started) * 1000
    times = []
    for query in QUERIES:
        started = time.perf_counter()
        library.search(query, 20)
        times.append((time.perf_counter() - started) * 1000)
    library.close()
    return statistics.median(times), open_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=96)
    parser.add_argument("--model", default="ViT-B-32:random")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=32, help="as the indexer uses on CPU")
    parser.add_argument("--work", type=Path, help="folder for photos and index (default: temp)")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="ms-bench-"))
    photos = work / "photos"
    if not photos.exists():
        print(f"drawing {args.files} 12-megapixel JPEGs in {photos} ...", file=sys.stderr)
        draw_camera_jpegs(photos, args.files)
    megabytes = sum(p.stat().st_size for p in photos.rglob("*.jpg")) / 1e6

    batches = max(2, args.files // args.batch_size)
    model_rate, load_s = model_only_rate(args.model, args.device, args.batch_size, batches)
    home = work / f"home-{time.time_ns()}"
    indexed = index_rate(args.model, args.device, photos, home)
    index_files_per_s = indexed["rate"]
    latency_ms, open_ms = query_latency(args.model, args.device, home)

    report = {
        "files": indexed["indexed"],
        "photo_megabytes": round(megabytes, 1),
        "model": args.model,
        "device": args.device,
        "batch_size": args.batch_size,
        "model_only_images_per_s": round(model_rate, 2),
        "index_files_per_s": round(index_files_per_s, 2),
        "index_wall_s_including_model_load": round(indexed["wall_s"], 2),
        "model_load_s": round(load_s, 2),
        "index_vs_model_ratio": round(index_files_per_s / model_rate, 3),
        "text_query_median_ms": round(latency_ms, 1),
        "library_open_and_model_load_ms": round(open_ms, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
