"""End to end on real files: index drawn photos with the tiny model, then query, move, edit."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from mediasearch.core.library import Library
from mediasearch.core.search import SearchFilters
from mediasearch.selftest.shapes import draw_shape
from tests.conftest import ShapeFiles


def count_encoded(library: Library, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count images pushed through the image tower from now on."""
    calls: Counter[str] = Counter()
    original = library.encoder.encode_prepared

    def counting(batch):  # type: ignore[no-untyped-def]
        calls["images"] += len(batch)
        return original(batch)

    monkeypatch.setattr(library.encoder, "encode_prepared", counting)
    return calls


def labels_of(hits, photos: ShapeFiles) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    by_name = {p.name: (shape, color) for p, shape, color in photos}
    return [by_name[Path(h.path).name] for h in hits]


@pytest.fixture
def indexed(make_library, shape_photos: ShapeFiles, tmp_path: Path) -> Library:
    library = make_library()
    summary = library.index([str(tmp_path / "photos")])
    assert summary.indexed == len(shape_photos) >= 100
    assert summary.skipped == []
    return library


def test_text_query_finds_the_described_shape(indexed: Library, shape_photos: ShapeFiles) -> None:
    hits = indexed.search("a red circle", 5)
    assert labels_of(hits, shape_photos).count(("circle", "red")) >= 4
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_similar_ranks_the_same_shape_first(indexed: Library, shape_photos: ShapeFiles) -> None:
    query = next(p for p, shape, color in shape_photos if (shape, color) == ("square", "blue"))
    hits = indexed.similar(str(query), 3)
    assert str(query) not in [h.path for h in hits]
    assert labels_of(hits, shape_photos) == [("square", "blue")] * 3


def test_query_arithmetic_moves_results(indexed: Library, shape_photos: ShapeFiles) -> None:
    # Removing "red" from "a red circle" leaves circles of other colours on top.
    hits = indexed.search("2:a red circle - a red square + a green circle", 5)
    assert ("circle", "green") in labels_of(hits, shape_photos)[:3]


def test_folder_filter_limits_results(indexed: Library, tmp_path: Path) -> None:
    folder = str(tmp_path / "photos" / "2023")
    hits = indexed.search("a red circle", 50, filters=SearchFilters(folder=folder))
    assert hits
    assert all(h.path.startswith(folder + os.sep) for h in hits)


def test_rescan_of_unchanged_library_encodes_nothing(
    indexed: Library, shape_photos: ShapeFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_encoded(indexed, monkeypatch)
    summary = indexed.index()
    assert summary.unchanged == len(shape_photos)
    assert calls["images"] == 0


def test_renamed_folder_keeps_embeddings(
    indexed: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_encoded(indexed, monkeypatch)
    old = tmp_path / "photos" / "2023"
    new = tmp_path / "photos" / "holidays-2023"
    moved_count = sum(1 for _ in old.rglob("img_*"))
    old.rename(new)

    summary = indexed.index()

    assert calls["images"] == 0
    assert summary.moved == moved_count > 0
    assert summary.removed == 0
    paths = [h.path for h in indexed.search("a red circle", 200)]
    assert not any(p.startswith(str(old) + os.sep) for p in paths)
    assert any(p.startswith(str(new) + os.sep) for p in paths)


def test_deleted_files_disappear(indexed: Library, shape_photos: ShapeFiles) -> None:
    red_circles = [p for p, shape, color in shape_photos if (shape, color) == ("circle", "red")]
    for path in red_circles:
        path.unlink()
    summary = indexed.index()
    assert summary.removed == len(red_circles)
    paths = {h.path for h in indexed.search("a red circle", 500)}
    assert paths.isdisjoint({str(p) for p in red_circles})
    assert len(paths) == len(shape_photos) - len(red_circles)


def test_modified_file_is_encoded_again(
    indexed: Library, shape_photos: ShapeFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    path = next(p for p, shape, color in shape_photos if shape == "square" and color == "blue")
    # Redraw it as a yellow star, in place.
    draw_shape("star", "yellow", random.Random(7), 96).save(
        path, format=Image.registered_extensions()[path.suffix]
    )
    os.utime(path, ns=(1, 1_000_000_000))
    calls = count_encoded(indexed, monkeypatch)

    summary = indexed.index()

    assert calls["images"] == 1
    assert summary.indexed == 1
    similar_to_star = indexed.search("a yellow star", 30)
    assert str(path) in [h.path for h in similar_to_star]


def test_copies_reuse_the_embedding_of_their_twin(
    indexed: Library, shape_photos: ShapeFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_encoded(indexed, monkeypatch)
    source = shape_photos[0][0]
    copy = tmp_path / "photos" / "misc" / "copy-of-first.jpg"
    shutil.copyfile(source, copy)
    summary = indexed.index()
    assert calls["images"] == 0
    assert summary.duplicates == 1
    assert str(copy) in [h.path for h in indexed.similar(str(source), 5)]


def test_apply_changes_handles_new_moved_and_deleted_paths(
    indexed: Library, shape_photos: ShapeFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    calls = count_encoded(indexed, monkeypatch)
    added = tmp_path / "photos" / "new.png"
    draw_shape("triangle", "green", random.Random(3), 96).save(added)
    moved_from = shape_photos[1][0]
    moved_to = tmp_path / "photos" / "renamed.jpg"
    moved_from.rename(moved_to.with_suffix(moved_from.suffix))
    moved_to = moved_to.with_suffix(moved_from.suffix)
    deleted = shape_photos[2][0]
    deleted.unlink()

    summary = indexed.apply_changes([str(added), str(moved_from), str(moved_to), str(deleted)])

    assert (summary.indexed, summary.moved, summary.removed) == (1, 1, 1)
    assert calls["images"] == 1
    paths = {h.path for h in indexed.search("a green triangle", 500)}
    assert str(added) in paths and str(moved_to) in paths
    assert str(deleted) not in paths and str(moved_from) not in paths


def test_watched_change_is_searchable_after_a_crash_without_an_index_save(
    indexed: Library, make_library, tmp_path: Path
) -> None:
    """apply_changes leaves saving the index for later (a save grows with the library);
    the catalog holds the new vector, so a process that dies before any save loses nothing."""
    import random

    index_dir = tmp_path / "home" / "index"
    before = {p.name: p.stat().st_mtime_ns for p in index_dir.iterdir()}
    added = tmp_path / "photos" / "landed.png"
    draw_shape("triangle", "green", random.Random(7), 96).save(added)
    assert indexed.apply_changes([str(added)]).indexed == 1
    assert {p.name: p.stat().st_mtime_ns for p in index_dir.iterdir()} == before  # not saved

    after_crash = make_library()  # opened beside the first, which never closes: as after kill -9
    assert str(added) in {h.path for h in after_crash.search("a green triangle", 500)}


def test_forget_drops_a_root(make_library, shape_photos: ShapeFiles, tmp_path: Path) -> None:
    library = make_library()
    phone = tmp_path / "phone"
    phone.mkdir()
    shutil.copyfile(shape_photos[0][0], phone / "one.jpg")
    library.index([str(tmp_path / "photos"), str(phone)])
    assert library.forget(str(phone)) == 1
    assert str(phone / "one.jpg") not in [h.path for h in library.search("a red circle", 500)]
    assert str(phone) not in library.status().roots


def test_index_survives_reopen_without_reencoding(
    make_library, shape_photos: ShapeFiles, tmp_path: Path
) -> None:
    library = make_library()
    library.index([str(tmp_path / "photos")])
    before = [h.path for h in library.search("a blue star", 5)]
    library.close()

    reopened = make_library()
    assert (
        reopened.search("a blue star", 5)
        and [h.path for h in reopened.search("a blue star", 5)] == before
    )
    status = reopened.status()
    assert status.index_health == "loaded"
    assert status.index_count == status.embedded_count == len(shape_photos)
