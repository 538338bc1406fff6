"""The hnswlib index: updates, slot reuse, growth, atomic saves and repair from the catalog."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mediasearch.core.catalog import Catalog, EncodedFile, NewFile
from mediasearch.core.index import MIN_CAPACITY, IndexHealth, VectorIndex

DIM = 16


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    yield catalog
    catalog.close()


def fill(catalog: Catalog, n: int, seed: int = 0) -> tuple[int, list[int], np.ndarray]:
    """Catalog n files with embeddings; returns (model id, file ids, vectors)."""
    root = catalog.add_root("/photos")
    ids = catalog.insert_files(
        [NewFile(f"/photos/{seed}-{i}.jpg", root, "image", 1, 1, f"{seed}-{i}") for i in range(n)]
    )
    model_id = catalog.model_id("test-model", DIM)
    vectors = unit_vectors(n, seed)
    catalog.store_results(
        [EncodedFile.photo(i, model_id, v) for i, v in zip(ids, vectors, strict=True)], []
    )
    return model_id, ids, vectors


def test_query_returns_nearest_with_cosine_scores(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path, "m", DIM)
    vectors = unit_vectors(50)
    index.add(list(range(100, 150)), vectors)
    hits = index.query(vectors[7], 3)
    assert hits[0][0] == 107
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_k_is_clamped_to_live_count(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path, "m", DIM)
    index.add([1, 2, 3], unit_vectors(3))
    index.remove([2])
    assert {i for i, _ in index.query(unit_vectors(1, 9)[0], 50)} == {1, 3}


def test_deleted_slots_are_reused_and_index_grows(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path, "m", DIM)
    first = unit_vectors(MIN_CAPACITY, 1)
    index.add(list(range(MIN_CAPACITY)), first)
    index.remove(range(100))
    index.add(list(range(5000, 5100)), unit_vectors(100, 2))
    assert index._hnsw.get_max_elements() == MIN_CAPACITY  # reused, not grown
    index.add(list(range(9000, 9500)), unit_vectors(500, 3))
    assert index._hnsw.get_max_elements() > MIN_CAPACITY
    assert len(index) == MIN_CAPACITY - 100 + 100 + 500
    assert index.query(first[500], 1)[0][0] == 500


def test_removed_then_readded_label_comes_back(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path, "m", DIM)
    vectors = unit_vectors(3)
    index.add([1, 2, 3], vectors)
    index.remove([2])
    index.add([2], vectors[0:1])  # same label, new vector
    assert 2 in index
    assert {i for i, _ in index.query(vectors[0], 2)} == {1, 2}


def test_filtered_query_returns_only_allowed(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path, "m", DIM)
    index.add(list(range(200)), unit_vectors(200))
    hits = index.query(unit_vectors(1, 5)[0], 10, allowed={3, 7, 11})
    assert {i for i, _ in hits} == {3, 7, 11}


def test_save_and_load_round_trip(catalog: Catalog, tmp_path: Path) -> None:
    model_id, ids, vectors = fill(catalog, 40)
    index = VectorIndex(tmp_path / "index", "test-model", DIM)
    assert index.open(catalog, model_id) == IndexHealth.REBUILT
    index.save(catalog.change_seq())
    manifest = json.loads(index.manifest_path.read_text())
    assert manifest["count"] == 40 and manifest["dim"] == DIM

    again = VectorIndex(tmp_path / "index", "test-model", DIM)
    assert again.open(catalog, model_id) == IndexHealth.LOADED
    assert again.query(vectors[3], 1)[0][0] == ids[3]
    assert not list((tmp_path / "index").glob("*.tmp"))


def test_stale_index_catches_up_with_catalog(catalog: Catalog, tmp_path: Path) -> None:
    model_id, ids, _ = fill(catalog, 20)
    index = VectorIndex(tmp_path / "index", "test-model", DIM)
    index.open(catalog, model_id)
    index.save(catalog.change_seq())
    # The catalog moves on while the index file stays behind (a crash before saving).
    _, new_ids, new_vectors = fill(catalog, 5, seed=1)
    catalog.delete_files(ids[:4])

    again = VectorIndex(tmp_path / "index", "test-model", DIM)
    assert again.open(catalog, model_id) == IndexHealth.SYNCED
    assert len(again) == 21
    assert again.query(new_vectors[2], 1)[0][0] == new_ids[2]
    assert ids[0] not in again


@pytest.mark.parametrize("damage", ["truncate", "garbage", "no-manifest", "other-model"])
def test_damaged_index_is_rebuilt_from_catalog(
    catalog: Catalog, tmp_path: Path, damage: str
) -> None:
    model_id, ids, vectors = fill(catalog, 30)
    index = VectorIndex(tmp_path / "index", "test-model", DIM)
    index.open(catalog, model_id)
    index.save(catalog.change_seq())
    if damage == "truncate":
        index.path.write_bytes(index.path.read_bytes()[:100])
    elif damage == "garbage":
        index.path.write_bytes(b"\xff" * index.path.stat().st_size)
    elif damage == "no-manifest":
        index.manifest_path.unlink()
    else:
        manifest = json.loads(index.manifest_path.read_text())
        manifest["model"] = "another-model"
        index.manifest_path.write_text(json.dumps(manifest))

    again = VectorIndex(tmp_path / "index", "test-model", DIM)
    assert again.open(catalog, model_id) == IndexHealth.REBUILT
    assert len(again) == 30
    assert again.query(vectors[9], 1)[0][0] == ids[9]


def test_moments_of_a_file_are_filtered_and_removed_by_file(tmp_path: Path) -> None:
    from mediasearch.core.catalog import file_of, label_of

    index = VectorIndex(tmp_path, "m", DIM)
    vectors = unit_vectors(4)
    video = [label_of(7, part) for part in range(3)]
    index.add([5, *video], vectors)
    assert index.has_moments
    # A filter names files; every moment of an allowed file may answer.
    hits = index.query(vectors[2], 4, allowed={7})
    assert {label for label, _ in hits} == set(video)
    assert hits[0][0] == video[1] and file_of(hits[0][0]) == 7
    index.remove_files([7])
    assert [label for label, _ in index.query(vectors[2], 4)] == [5]
    assert not index.has_moments
