"""Folders renamed or moved between scans: paths follow without encoding anything again, and no
search result ever points at a file that is gone."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mediasearch.core.catalog import FileRecord
from mediasearch.core.indexer import IndexSummary
from mediasearch.core.library import Library
from mediasearch.selftest.shapes import all_combinations, draw_shape
from tests.faults.test_bad_files import assert_consistent, found_paths

LibraryFactory = Callable[..., Library]
PHOTO_SIDE = 96


def write_photo(path: Path, seed: int) -> Path:
    shape, color = all_combinations()[seed % len(all_combinations())]
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_shape(shape, color, random.Random(seed), PHOTO_SIDE).save(path)
    return path


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """Two watched folders; the first holds a nested "trip" folder with a duplicate photo."""
    main, other = tmp_path / "photos", tmp_path / "other"
    for seed in range(4):
        write_photo(main / "home" / f"home_{seed}.jpg", seed)
        write_photo(other / f"other_{seed}.png", 10 + seed)
    for seed in range(3):
        write_photo(main / "trip" / f"day_{seed}.jpg", 20 + seed)
        write_photo(main / "trip" / "beach" / f"beach_{seed}.png", 30 + seed)
    # Byte-identical copies, inside the moved folder and outside it.
    shutil.copy(main / "trip" / "day_0.jpg", main / "trip" / "beach" / "copy.jpg")
    shutil.copy(main / "trip" / "day_0.jpg", main / "home" / "copy.jpg")
    return main, other


def files_on_disk(*folders: Path) -> set[str]:
    return {str(p) for folder in folders for p in folder.rglob("*") if p.is_file()}


def ids_by_relative_path(records: dict[str, FileRecord], folder: Path) -> dict[str, int]:
    return {os.path.relpath(path, folder): r.id for path, r in records.items()}


def refresh(library: Library, how: str, old: Path, new: Path) -> IndexSummary:
    if how == "full scan":
        return library.index()
    return library.apply_changes([str(old), str(new)])  # what the watcher hands over


@pytest.mark.parametrize("how", ["full scan", "watcher"])
@pytest.mark.parametrize("where", ["renamed in place", "into the other root", "nested deeper"])
def test_a_moved_folder_keeps_its_vectors(
    make_library: LibraryFactory, roots: tuple[Path, Path], tmp_path: Path, how: str, where: str
) -> None:
    main, other = roots
    library = make_library()
    library.index([str(main), str(other)])
    old = main / "trip"
    new = {
        "renamed in place": main / "trip 2024 (été)",
        "into the other root": other / "trip",
        "nested deeper": main / "home" / "archive" / "trip",
    }[where]
    before = ids_by_relative_path(library.catalog.files_under(str(old)), old)
    opened = library.open_index()
    assert opened is not None
    size_before = len(opened[1])
    new.parent.mkdir(parents=True, exist_ok=True)
    old.rename(new)

    summary = refresh(library, how, old, new)

    assert summary.indexed == 0 and summary.removed == 0 and summary.skipped == []
    assert summary.moved == len(before)
    assert ids_by_relative_path(library.catalog.files_under(str(new)), new) == before
    assert library.catalog.files_under(str(old)) == {}
    assert len(opened[1]) == size_before
    assert found_paths(library) == files_on_disk(main, other)
    assert_consistent(library)
    again = library.index()
    assert (again.indexed, again.moved, again.removed) == (0, 0, 0)


@pytest.mark.parametrize("how", ["full scan", "watcher"])
def test_a_folder_moved_out_of_every_root_leaves_the_index(
    make_library: LibraryFactory, roots: tuple[Path, Path], tmp_path: Path, how: str
) -> None:
    main, other = roots
    library = make_library()
    library.index([str(main), str(other)])
    old, new = main / "trip", tmp_path / "elsewhere" / "trip"
    gone = library.catalog.files_under(str(old))
    new.parent.mkdir()
    old.rename(new)

    summary = refresh(library, how, old, new)

    assert summary.indexed == 0 and summary.moved == 0
    assert summary.removed == len(gone)
    assert found_paths(library) == files_on_disk(main, other)
    # The copy left behind in "home" is still found, with its own vector.
    assert str(main / "home" / "copy.jpg") in found_paths(library)
    assert_consistent(library)
    assert library.index().indexed == 0
