"""Drawn "photos" of one coloured shape on a greyish background, for the self-test and tests."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")

# Saturated, far-apart hues; backgrounds stay near-grey so they never look like a shape colour.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 70, 220),
    "yellow": (240, 210, 20),
}

# Shapes are drawn at this multiple of the final size and scaled down, for smooth edges.
_SUPERSAMPLE = 4
_COLOR_JITTER = 18
# Largest background tint away from grey, per channel: keeps backgrounds desaturated.
_MAX_TINT = 14
# Sub-folders a written image can land in, to exercise recursive scanning.
_FOLDERS: tuple[str, ...] = (
    "",
    "2023",
    "2023/beach",
    "2023/beach/day 2",
    "2024/family",
    "2024/family/birthday/cake",
    "misc",
)


def caption(shape: str, color: str) -> str:
    """The text a user would type to find this shape, e.g. "a red circle"."""
    return f"a {color} {shape}"


def all_combinations() -> list[tuple[str, str]]:
    """Every (shape, colour) pair, in a fixed order."""
    return list(itertools.product(SHAPES, COLORS))


def draw_shape(shape: str, color: str, rng: random.Random, size: int = 64) -> Image.Image:
    """Draw one `color` `shape` at a random place and scale on a random greyish background."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    if color not in COLORS:
        raise ValueError(f"unknown colour {color!r}; expected one of {tuple(COLORS)}")
    image = _draw_background(rng, size)
    big = size * _SUPERSAMPLE
    # The shape's bounding box spans 30-70 % of the frame side.
    extent = rng.uniform(0.3, 0.7) * big
    center = (rng.uniform(extent / 2, big - extent / 2), rng.uniform(extent / 2, big - extent / 2))
    mask = Image.new("L", (big, big), 0)
    _draw_outline(ImageDraw.Draw(mask), shape, center, extent / 2, rng.uniform(-12.0, 12.0))
    mask = mask.resize((size, size), Image.Resampling.LANCZOS)
    fill = Image.new("RGB", (size, size), _jittered(COLORS[color], rng))
    image.paste(fill, (0, 0), mask)
    return image


def write_shape_images(
    root: Path, count: int, seed: int = 0, size: int = 96
) -> list[tuple[Path, str, str]]:
    """Write `count` shape images as JPEG and PNG files in nested folders under `root`.

    Cycles through every shape/colour pair so each appears `count // 16` or one more times.
    Returns (path, shape, colour) for each image, in the order written.
    """
    rng = random.Random(seed)
    combinations = all_combinations()
    written: list[tuple[Path, str, str]] = []
    for index in range(count):
        shape, color = combinations[index % len(combinations)]
        image = draw_shape(shape, color, rng, size)
        suffix = ".png" if rng.random() < 0.35 else ".jpg"
        path = root / rng.choice(_FOLDERS) / f"img_{index:04d}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".jpg":
            image.save(path, format="JPEG", quality=90)
        else:
            image.save(path, format="PNG")
        written.append((path, shape, color))
    return written


def _draw_background(rng: random.Random, size: int) -> Image.Image:
    """A desaturated background: soft tint, gradient or blurred noise, picked at random."""
    kind = rng.choice(("soft", "gradient", "noise"))
    if kind == "soft":
        return Image.new("RGB", (size, size), _greyish(rng))
    if kind == "gradient":
        return _gradient(rng, size)
    return _noise(rng, size)


def _greyish(rng: random.Random) -> tuple[int, int, int]:
    level = rng.randint(50, 205)
    return (
        _clamp(level + rng.randint(-_MAX_TINT, _MAX_TINT)),
        _clamp(level + rng.randint(-_MAX_TINT, _MAX_TINT)),
        _clamp(level + rng.randint(-_MAX_TINT, _MAX_TINT)),
    )


def _gradient(rng: random.Random, size: int) -> Image.Image:
    # Blend two greyish colours through a linear ramp turned to a random side.
    ramp = Image.linear_gradient("L").resize((size, size)).rotate(rng.choice((0, 90, 180, 270)))
    start = Image.new("RGB", (size, size), _greyish(rng))
    end = Image.new("RGB", (size, size), _greyish(rng))
    return Image.composite(end, start, ramp)


def _noise(rng: random.Random, size: int) -> Image.Image:
    # Grey noise (same value in every channel) plus a faint tint, blurred so it reads as texture.
    low = rng.randint(40, 150)
    high = low + rng.randint(30, 100)
    uniform = Image.frombytes("L", (size, size), rng.randbytes(size * size))
    grey = uniform.point(lambda v: low + v * (high - low) // 255)
    grey = grey.filter(ImageFilter.GaussianBlur(1.2))
    tint = Image.new("RGB", (size, size), _greyish(rng))
    return Image.blend(Image.merge("RGB", (grey, grey, grey)), tint, 0.3)


def _draw_outline(
    draw: ImageDraw.ImageDraw,
    shape: str,
    center: tuple[float, float],
    radius: float,
    rotation_degrees: float,
) -> None:
    if shape == "circle":
        cx, cy = center
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
        return
    if shape == "square":
        # A square's corners sit on a circle of radius r; sqrt(2) keeps its side close to 2r.
        points = _polygon(center, radius * math.sqrt(2), 4, rotation_degrees + 45)
    elif shape == "triangle":
        points = _polygon(center, radius * 1.1, 3, rotation_degrees - 90)
    else:
        points = _star(center, radius * 1.1, rotation_degrees - 90)
    draw.polygon(points, fill=255)


def _polygon(
    center: tuple[float, float], radius: float, sides: int, rotation_degrees: float
) -> list[tuple[float, float]]:
    return [_on_circle(center, radius, rotation_degrees + 360 * i / sides) for i in range(sides)]


def _star(
    center: tuple[float, float], radius: float, rotation_degrees: float
) -> list[tuple[float, float]]:
    # Five points alternating between the outer and an inner radius.
    return [
        _on_circle(center, radius if i % 2 == 0 else radius * 0.42, rotation_degrees + 36 * i)
        for i in range(10)
    ]


def _on_circle(
    center: tuple[float, float], radius: float, angle_degrees: float
) -> tuple[float, float]:
    angle = math.radians(angle_degrees)
    return (center[0] + radius * math.cos(angle), center[1] + radius * math.sin(angle))


def _jittered(rgb: tuple[int, int, int], rng: random.Random) -> tuple[int, int, int]:
    r, g, b = (_clamp(c + rng.randint(-_COLOR_JITTER, _COLOR_JITTER)) for c in rgb)
    return (r, g, b)


def _clamp(value: int) -> int:
    return max(0, min(255, value))
