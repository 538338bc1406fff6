"""Time full JPEG decode + resize against draft (DCT-scaled) decode_image(min_side=224)."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mediasearch.core.media.images import decode_image

WIDTH, HEIGHT = 4000, 3000  # 12 megapixels, a typical phone photo
MIN_SIDE = 224  # CLIP ViT-B input size
REPEATS = 7


def make_photo(path: Path) -> None:
    """Smooth colour shapes plus sensor-like noise, so the JPEG has a realistic size (~4-6 MB)."""
    base = Image.effect_mandelbrot((WIDTH // 8, HEIGHT // 8), (-2.2, -1.2, 1.0, 1.2), 60)
    red = base.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    green = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    blue = Image.radial_gradient("L").resize((WIDTH, HEIGHT))
    noise = Image.effect_noise((WIDTH, HEIGHT), 12)
    channels = [Image.blend(channel, noise, 0.3) for channel in (red, green, blue)]
    Image.merge("RGB", channels).save(path, "JPEG", quality=95)


def final_resize(image: Image.Image) -> Image.Image:
    """What the model preprocess does next: shorter side -> MIN_SIDE, bicubic."""
    width, height = image.size
    scale = MIN_SIDE / min(width, height)
    size = (round(width * scale), round(height * scale))
    return image.resize(size, Image.Resampling.BICUBIC)


def full_decode_and_resize(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return final_resize(image.convert("RGB"))


def draft_decode(path: Path) -> Image.Image:
    return decode_image(path, min_side=MIN_SIDE).image


def draft_decode_and_resize(path: Path) -> Image.Image:
    return final_resize(draft_decode(path))


def median_seconds(function: Callable[[Path], Image.Image], path: Path) -> float:
    function(path)  # warm-up: page cache, plugin import
    timings = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function(path)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "photo.jpg"
        make_photo(path)
        print(f"test photo: {WIDTH}x{HEIGHT} JPEG, {path.stat().st_size / 1e6:.1f} MB")
        print(f"draft result size: {draft_decode(path).size}")
        full = median_seconds(full_decode_and_resize, path)
        draft = median_seconds(draft_decode, path)
        draft_resized = median_seconds(draft_decode_and_resize, path)
    print(f"full decode + resize:          {full * 1000:7.1f} ms (median of {REPEATS})")
    print(f"decode_image(min_side={MIN_SIDE}):     {draft * 1000:7.1f} ms")
    print(f"decode_image + same resize:    {draft_resized * 1000:7.1f} ms")
    print(f"speed-up (full+resize / draft decode):        {full / draft:.1f}x")
    print(f"speed-up (full+resize / draft decode+resize): {full / draft_resized:.1f}x")


if __name__ == "__main__":
    main()
