"""Shared fixtures: the tiny trained model, drawn shape photos and libraries built on them."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mediasearch.core.library import Library
from mediasearch.selftest.shapes import write_shape_images
from tests.support.tiny_clap import tiny_clap_dir
from tests.support.tiny_model import tiny_model_dir

# Set to a folder to keep the trained model between runs while developing; CI trains afresh.
MODEL_CACHE_ENV = "MEDIASEARCH_TEST_MODEL_CACHE"

ShapeFiles = list[tuple[Path, str, str]]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An open_clip model folder (local-dir layout) trained on drawn shapes, once per run."""
    cache = os.environ.get(MODEL_CACHE_ENV)
    root = Path(cache) if cache else tmp_path_factory.mktemp("model")
    return tiny_model_dir(root)


@pytest.fixture(scope="session")
def tiny_model_spec(tiny_model: Path) -> str:
    return f"local-dir:{tiny_model}"


@pytest.fixture(scope="session")
def tiny_clap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A transformers CLAP model folder trained on synthesized sounds, once per run."""
    cache = os.environ.get(MODEL_CACHE_ENV)
    root = Path(cache) if cache else tmp_path_factory.mktemp("clap")
    return tiny_clap_dir(root)


@pytest.fixture(scope="session")
def tiny_clap_spec(tiny_clap: Path) -> str:
    return f"local-dir:{tiny_clap}"


@pytest.fixture
def make_library(tmp_path: Path, tiny_model_spec: str) -> Iterator[Callable[..., Library]]:
    """Open Library objects on a home folder under tmp_path, closing them afterwards."""
    opened: list[Library] = []

    def make(home: Path | None = None, **kwargs: object) -> Library:
        library = Library(home or tmp_path / "home", model=tiny_model_spec, device="cpu", **kwargs)  # type: ignore[arg-type]
        opened.append(library)
        return library

    yield make
    for library in opened:
        with contextlib.suppress(Exception):  # already closed by the test
            library.close()


@pytest.fixture
def shape_photos(tmp_path: Path) -> ShapeFiles:
    """120 drawn photos (JPEG and PNG, nested folders) under tmp_path / "photos"."""
    return write_shape_images(tmp_path / "photos", 120, seed=0)
