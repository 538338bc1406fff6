"""The SQLite catalog: schema versioning, byte-exact paths, embeddings per model, readers."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from mediasearch.core.catalog import (
    SCHEMA_VERSION,
    STATUS_OK,
    STATUS_PENDING,
    Catalog,
    CatalogError,
    EncodedFile,
    Moments,
    NewFile,
    file_of,
    label_of,
)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    catalog = Catalog(tmp_path / "c.sqlite3")
    yield catalog
    catalog.close()


def test_new_catalog_is_wal_at_current_schema(catalog: Catalog) -> None:
    assert catalog.schema_version() == SCHEMA_VERSION
    mode = sqlite3.connect(catalog.db_path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "c.sqlite3")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(CatalogError, match="newer mediasearch"):
        Catalog(tmp_path / "c.sqlite3")


def test_non_utf8_paths_round_trip(catalog: Catalog) -> None:
    name = os.fsdecode(b"/photos/caf\xe9-\xff.jpg")
    root = catalog.add_root("/photos")
    (file_id,) = catalog.insert_files([NewFile(name, root, "image", 10, 20, "h")])
    assert catalog.file_by_path(name).id == file_id
    assert catalog.files_by_id([file_id])[file_id].path == name
    assert os.fsencode(catalog.files_in_root(root)[name].path) == b"/photos/caf\xe9-\xff.jpg"


def test_files_under_a_folder_not_its_namesakes(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    catalog.insert_files(
        [
            NewFile(p, root, "image", 1, 1, p)
            for p in ("/p/a/1.jpg", "/p/a/b/2.jpg", "/p/ab/3.jpg", "/p/a")
        ]
    )
    assert set(catalog.files_under("/p/a")) == {"/p/a/1.jpg", "/p/a/b/2.jpg", "/p/a"}


def test_embeddings_are_kept_per_model(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    (file_id,) = catalog.insert_files([NewFile("/p/x.jpg", root, "image", 1, 1, "h")])
    small = catalog.model_id("small", 4)
    big = catalog.model_id("big", 8)
    catalog.store_results(
        [EncodedFile.photo(file_id, small, np.ones(4, np.float32), 3, 2, 1.5)], []
    )
    assert catalog.files_by_id([file_id])[file_id].status == STATUS_OK
    assert catalog.embedding(file_id, small).shape == (4,)
    assert catalog.embedding(file_id, big) is None
    assert catalog.ids_missing_embedding(big, ["image"]) == [file_id]
    assert catalog.ids_missing_embedding(big, ["audio"]) == []
    with pytest.raises(CatalogError):
        catalog.model_id("small", 5)


def test_change_forgets_embeddings_and_move_keeps_them(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    a, b = catalog.insert_files([NewFile(f"/p/{n}.jpg", root, "image", 1, 1, n) for n in "ab"])
    model = catalog.model_id("m", 2)
    catalog.store_results([EncodedFile.photo(i, model, np.ones(2, np.float32)) for i in (a, b)], [])
    seq = catalog.change_seq()
    catalog.move_file(a, "/p/moved.jpg", root, 5)
    catalog.mark_changed(b, 2, 2, "b2")
    assert catalog.embedding(a, model) is not None
    assert catalog.embedding(b, model) is None
    assert catalog.files_by_id([b])[b].status == STATUS_PENDING
    assert catalog.change_seq() > seq


def test_reader_sees_writer_commits(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    reader = Catalog(catalog.db_path, readonly=True)
    catalog.insert_files([NewFile("/p/1.jpg", root, "image", 1, 1, "h")])
    assert reader.status_counts() == {STATUS_PENDING: 1}
    reader.close()


def test_failed_transaction_changes_nothing(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    with pytest.raises(RuntimeError), catalog.transaction() as db:
        db.execute(
            "INSERT INTO files(path, root_id, kind, size, mtime_ns, status)"
            " VALUES (?, ?, 'image', 1, 1, 'pending')",
            (b"/p/x", root),
        )
        raise RuntimeError("boom")
    assert catalog.status_counts() == {}


def test_forgetting_a_root_drops_its_files_and_embeddings(catalog: Catalog) -> None:
    keep, drop = catalog.add_root("/keep"), catalog.add_root("/drop")
    ids = catalog.insert_files(
        [
            NewFile("/keep/1.jpg", keep, "image", 1, 1, "1"),
            NewFile("/drop/2.jpg", drop, "image", 1, 1, "2"),
        ]
    )
    model = catalog.model_id("m", 2)
    catalog.store_results([EncodedFile.photo(i, model, np.ones(2, np.float32)) for i in ids], [])
    assert catalog.remove_root("/drop") == [ids[1]]
    assert catalog.embedded_labels(model).tolist() == [ids[0]]
    assert list(catalog.roots().values()) == ["/keep"]


def test_search_filters_use_indexes_not_a_scan_of_the_catalog(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    paths = ("/p/a/1.jpg", "/p/a/b/2.jpg", "/p/ab/3.jpg", "/p/a0/4.jpg", "/p/c.jpg")
    ids = dict(
        zip(
            paths,
            catalog.insert_files(
                [NewFile(p, root, "image", 1, (i + 1) * 10**9, p) for i, p in enumerate(paths)]
            ),
            strict=True,
        )
    )

    assert catalog.ids_matching(folder="/p/a") == {ids["/p/a/1.jpg"], ids["/p/a/b/2.jpg"]}
    assert catalog.ids_matching(captured_after=2.0, captured_before=4.0) == {
        ids["/p/a/b/2.jpg"],
        ids["/p/ab/3.jpg"],
    }
    # Filters cost what they match, even in a catalog of a million photos.
    db = sqlite3.connect(catalog.db_path)
    for where, params in (
        ("path >= ? AND path < ?", (b"/p/a/", b"/p/a0")),
        ("COALESCE(captured_at, mtime_ns / 1e9) >= ?", (2.0,)),
    ):
        plan = " ".join(
            str(row[-1])
            for row in db.execute(f"EXPLAIN QUERY PLAN SELECT id FROM files WHERE {where}", params)
        )
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan


def test_version_1_catalog_is_upgraded_in_place(tmp_path: Path) -> None:
    from mediasearch.core.catalog import MIGRATIONS

    db = sqlite3.connect(tmp_path / "c.sqlite3", isolation_level=None)
    MIGRATIONS[0](db)
    db.execute("INSERT INTO roots(path, added_at) VALUES (?, 0)", (b"/p",))
    db.execute(
        "INSERT INTO files(path, root_id, kind, size, mtime_ns, status)"
        " VALUES (?, 1, 'image', 1, 1, 'ok')",
        (b"/p/0.jpg",),
    )
    db.execute("INSERT INTO models(identity, dim) VALUES ('m', 2)")
    vector = np.array([0.6, 0.8], np.float32)
    db.execute("INSERT INTO embeddings VALUES (1, 1, ?, 7)", (vector.tobytes(),))
    db.execute("PRAGMA user_version = 1")
    db.close()
    catalog = Catalog(tmp_path / "c.sqlite3")
    assert catalog.schema_version() == SCHEMA_VERSION == 3
    root = catalog.add_root("/p")
    catalog.insert_files([NewFile("/p/1.jpg", root, "image", 1, 5 * 10**9, "h")])
    assert len(catalog.ids_matching(captured_after=1.0)) == 1
    # The photo's vector became its moment 0, whose index label is its file id as before.
    labels, vectors = catalog.embeddings(1)
    assert labels.tolist() == [1] and vectors.tolist() == [vector.tolist()]
    assert catalog.files_by_id([1])[1].crashes == 0
    catalog.close()


def test_moments_of_a_file_are_labelled_and_timed(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    photo, video = catalog.insert_files(
        [NewFile(f"/p/{n}", root, k, 1, 1, n) for n, k in (("a.jpg", "image"), ("v.mp4", "video"))]
    )
    model = catalog.model_id("m", 2)
    frames = np.eye(2, dtype=np.float32)[[0, 1, 0]]
    catalog.store_results(
        [
            EncodedFile.photo(photo, model, np.ones(2, np.float32)),
            EncodedFile(video, [Moments(model, frames, [0.0, 4.0, 8.0])], duration_s=9.5),
        ],
        [],
    )
    later = [label_of(video, part) for part in (1, 2)]
    assert sorted(catalog.embedded_labels(model).tolist()) == [photo, video, *later]
    assert all(file_of(label) == video for label in later)
    assert catalog.moment_times(model, [photo, *later]) == {
        photo: None,
        later[0]: 4.0,
        later[1]: 8.0,
    }
    assert catalog.embedded_file_count(model) == 2
    assert catalog.files_by_id([video])[video].duration_s == 9.5
    # A copy gets every moment; encoding again replaces them all.
    (twin,) = catalog.insert_files([NewFile("/p/w.mp4", root, "video", 1, 1, "v.mp4")])
    assert catalog.copy_embeddings(video, twin)
    assert len(catalog.file_moments(twin, model)[0]) == 3
    catalog.store_results([EncodedFile(twin, [Moments(model, frames[:1], [1.5])])], [])
    assert catalog.file_moments(twin, model)[0].tolist() == [twin]


def test_a_file_that_crashes_its_decoder_twice_is_given_up(catalog: Catalog) -> None:
    root = catalog.add_root("/p")
    (file_id,) = catalog.insert_files([NewFile("/p/v.mp4", root, "video", 1, 1, "h")])
    assert catalog.record_crash(file_id, "the decoder crashed")
    record = catalog.files_by_id([file_id])[file_id]
    assert record.status == "error" and "tried once more" in (record.error or "")
    assert catalog.ids_to_retry_after_crash() == [file_id]
    assert not catalog.record_crash(file_id, "the decoder crashed")
    record = catalog.files_by_id([file_id])[file_id]
    assert record.status == "error" and "not retried" in (record.error or "")
    assert catalog.ids_to_retry_after_crash() == []
    catalog.mark_changed(file_id, 2, 2, "h2")  # a new version of the file gets a new chance
    assert catalog.files_by_id([file_id])[file_id].crashes == 0
