"""Shared pieces of the benchmarks: drawn camera-like photos, percentiles, a figures table."""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CAMERA_SIZE = (4000, 3000)  # 12 megapixels
EXIF_ORIENTATION = 0x0112
# Typed queries of the kind people use; distinct, so the query cache does not answer them.
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
    "grandma in the garden",
    "fireworks over the river",
    "a wedding dance",
    "my desk at work",
    "a sailing boat",
    "autumn leaves",
    "a screenshot of a chat",
    "a baby sleeping",
    "the eiffel tower",
    "a receipt",
]


def draw_camera_jpeg(path: Path, seed: int, size: tuple[int, int] = CAMERA_SIZE) -> Path:
    """A noisy, detailed picture so JPEG size (~3-5 MB at 12 MP) and decode cost look like a
    photo's; every third one is stored sideways with an EXIF orientation tag, as phones do."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    small = (size[0] // 4, size[1] // 4)
    base = Image.new("RGB", small, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(base)
    for _ in range(40):
        x, y = rng.randrange(small[0]), rng.randrange(small[1])
        r = rng.randrange(20, 300)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    image = base.resize(size, Image.Resampling.BILINEAR).filter(ImageFilter.DETAIL)
    grain = noise.integers(-12, 12, size=(size[1], size[0], 3))
    pixels = np.clip(np.asarray(image, np.int16) + grain, 0, 255).astype(np.uint8)
    photo = Image.fromarray(pixels)
    exif = Image.Exif()
    if seed % 3 == 0:
        photo = photo.transpose(Image.Transpose.ROTATE_90)
        exif[EXIF_ORIENTATION] = 6  # "rotate 90 CW to display"
    path.parent.mkdir(parents=True, exist_ok=True)
    photo.save(path, quality=90, exif=exif.tobytes())
    return path


def draw_camera_jpegs(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """`count` camera-like JPEGs in sub-folders of 50, as a phone's export would look."""
    return [
        draw_camera_jpeg(folder / f"{i // 50:02d}" / f"IMG_{i:04d}.jpg", seed + i)
        for i in range(count)
    ]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation, as numpy computes it."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def timed_ms(action: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds of each of `repeat` calls of `action`."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """`with stopwatch() as elapsed:` ... `elapsed()` is seconds since entry."""
    started = time.perf_counter()
    yield lambda: time.perf_counter() - started


@dataclass
class Section:
    """One benchmark section's figures: a table for people, a dict for the JSON report."""

    title: str
    command: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, label: str, value: float | int | str, unit: str = "") -> None:
        """Record one figure under `key` in JSON and as a labelled row in the table."""
        if isinstance(value, float):
            value = round(value, 3 if abs(value) < 10 else 1)
        self.figures[key] = value
        self.rows.append((label, f"{value} {unit}".strip()))

    def render(self) -> str:
        width = max((len(label) for label, _ in self.rows), default=0)
        lines = [f"== {self.title}", f"   $ {self.command}"]
        lines += [f"   {label.ljust(width)}  {value}" for label, value in self.rows]
        return "\n".join(lines)


def report(sections: list[Section], json_path: Path | None) -> None:
    """Print each section's table; with `json_path`, also write their figures there."""
    print("\n\n".join(section.render() for section in sections))
    if json_path is not None:
        figures = {s.title: {"command": s.command, **s.figures} for s in sections}
        json_path.write_text(json.dumps(figures, indent=2) + "\n")


def median(values: list[float]) -> float:
    return float(statistics.median(values))
