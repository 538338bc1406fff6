"""Indexing throughput on camera-sized JPEGs, and similar-image latency for a dropped photo.

In one run, on one machine, with ViT-B-32 (random weights cost what trained ones do):
  - model alone: preprocessed batches through the image tower, fast (ONNX int8) and exact
    (torch fp32) backends;
  - `mediasearch index` end to end (scan, hash, decode, preprocess, encode, commit) on each;
  - the plain baseline a first attempt would write: full-size decode, then torch fp32, in
    one thread;
  - similar-image latency: a 12-megapixel photo not in the library, decoded, encoded and
    looked up, as when a user drops it on the window.

    python -m bench.indexing --files 96
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import Section, draw_camera_jpeg, draw_camera_jpegs, percentile, report

MODEL = "ViT-B-32:random"
BATCH = 32  # the indexer's CPU batch size
SIMILAR_QUERIES = 10


def photos_in(work: Path, count: int) -> Path:
    """`count` drawn camera photos under work/photos-N, drawn once and reused by later runs."""
    folder = work / f"photos-{count}"
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"drawing {count} 12-megapixel JPEGs in {folder} ...", flush=True)
        draw_camera_jpegs(folder, count)
        done.touch()
    return folder


def model_rate(backend: str, cache: Path, batches: int) -> float:
    """Images/s of the image tower alone on preprocessed batches (after a warm-up batch)."""
    import torch

    from mediasearch.core.encoder import Encoder

    encoder = Encoder(MODEL, device="cpu", backend=backend, cache_dir=cache)
    size = encoder.image_size  # loads (and on first use exports) the model, untimed
    batch = [torch.randn(3, size, size) for _ in range(BATCH)]
    encoder.encode_prepared(batch)
    started = time.perf_counter()
    for _ in range(batches):
        encoder.encode_prepared(batch)
    return BATCH * batches / (time.perf_counter() - started)


def index_rate(backend: str, cache: Path, photos: Path, home: Path) -> float:
    """Files/s of `Library.index`, as the indexer measures it: from the first batch on, so
    the model load is not counted (it happens once per session, not per photo)."""
    from mediasearch.core.indexer import PHASE_ENCODING, Progress
    from mediasearch.core.library import Library

    last: list[Progress] = []

    def record(progress: Progress) -> None:
        if progress.phase == PHASE_ENCODING:
            last[:] = [progress]

    with Library(home, model=MODEL, device="cpu", backend=backend, cache_dir=cache) as library:
        library.encoder.load()
        library.index([str(photos)], progress=record)
    return last[0].rate if last else 0.0


def baseline_rate(photos: Path) -> float:
    """Files/s of the obvious loop: full decode + EXIF turn + preprocess, torch fp32 forward."""
    import open_clip
    import torch
    from PIL import Image, ImageOps

    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32")
    model.eval()
    files = sorted(photos.rglob("*.jpg"))
    started = time.perf_counter()
    with torch.inference_mode():
        for first in range(0, len(files), BATCH):
            pixels = []
            for path in files[first : first + BATCH]:
                with Image.open(path) as image:
                    pixels.append(preprocess(ImageOps.exif_transpose(image).convert("RGB")))
            model.encode_image(torch.stack(pixels))
    return len(files) / (time.perf_counter() - started)


def similar_latency_ms(cache: Path, home: Path, queries: list[Path]) -> list[float]:
    """Milliseconds per `Library.similar` on photos outside the library (decoded each time)."""
    from mediasearch.core.library import Library

    times = []
    with Library(home, model=MODEL, device="cpu", cache_dir=cache) as library:
        library.similar(str(queries[0]), 20)  # warm-up: first use of decoder and model
        for path in queries[1:]:
            started = time.perf_counter()
            library.similar(str(path), 20)
            times.append((time.perf_counter() - started) * 1000)
    return times


def run(work: Path, quick: bool, files: int = 96) -> list[Section]:
    files = 32 if quick else files
    photos = photos_in(work, files)
    cache = work / "model-cache"
    batches = max(2, files // BATCH)
    print("indexing: model-only rates ...", flush=True)
    fast_model = model_rate("fast", cache, batches)
    exact_model = model_rate("exact", cache, batches)
    print("indexing: end to end, fast and exact ...", flush=True)
    fast_home = work / f"home-fast-{time.time_ns()}"
    fast_index = index_rate("fast", cache, photos, fast_home)
    exact_home = work / f"home-exact-{time.time_ns()}"
    exact_index = index_rate("exact", cache, photos, exact_home)
    shutil.rmtree(exact_home, ignore_errors=True)
    print("indexing: plain baseline ...", flush=True)
    baseline = baseline_rate(photos)

    command = f"python -m bench.indexing --files {files}"
    throughput = Section(f"Indexing {files} camera JPEGs (12 MP), ViT-B-32, CPU", command)
    throughput.add("model_fast_images_per_s", "model alone, fast (ONNX int8)", fast_model, "/s")
    throughput.add("model_exact_images_per_s", "model alone, exact (torch fp32)", exact_model, "/s")
    throughput.add("index_fast_files_per_s", "mediasearch index, fast", fast_index, "/s")
    throughput.add("index_exact_files_per_s", "mediasearch index, exact", exact_index, "/s")
    throughput.add("baseline_files_per_s", "baseline: full decode + torch fp32", baseline, "/s")
    throughput.add(
        "pipeline_efficiency_fast", "index / model, fast (target >= 0.85)", fast_index / fast_model
    )
    throughput.add("pipeline_efficiency_exact", "index / model, exact", exact_index / exact_model)
    throughput.add(
        "speedup_vs_baseline", "index fast / baseline (target >= 2.5)", fast_index / baseline
    )

    print("similar-image latency ...", flush=True)
    queries = [
        draw_camera_jpeg(work / "queries" / f"drop_{i}.jpg", 10_000 + i)
        for i in range(4 if quick else SIMILAR_QUERIES + 1)
    ]
    times = similar_latency_ms(cache, fast_home, queries)
    similar = Section("Similar-image query for a dropped 12 MP photo", command)
    similar.add("similar_p50_ms", "decode + encode + lookup, p50", percentile(times, 50), "ms")
    similar.add("similar_p95_ms", "decode + encode + lookup, p95", percentile(times, 95), "ms")
    shutil.rmtree(fast_home, ignore_errors=True)
    return [throughput, similar]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=96)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--work", type=Path, help="keeps drawn photos and the model export")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="ms-bench-"))
    report(run(work, args.quick, args.files), args.json)


if __name__ == "__main__":
    main()
