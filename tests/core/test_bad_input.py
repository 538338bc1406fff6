"""Bad files never stop an index run: each is recorded with its reason, the rest is searchable."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from mediasearch.core import indexer as indexer_module
from mediasearch.core.library import Library
from tests.conftest import ShapeFiles


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size, with a tiny (bogus) body."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    data = zlib.compress(b"\x00" * 64)
    idat = (
        struct.pack(">I", len(data))
        + b"IDAT"
        + data
        + struct.pack(">I", zlib.crc32(b"IDAT" + data))
    )
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat


@pytest.fixture
def messy_folder(shape_photos: ShapeFiles, tmp_path: Path) -> dict[str, Path]:
    bad = tmp_path / "photos" / "bad"
    bad.mkdir()
    good_jpeg = shape_photos[0][0].read_bytes()
    files = {
        "empty": bad / "empty.jpg",
        "truncated": bad / "truncated.jpg",
        "random": bad / "random.jpg",
        "bomb": bad / "bomb.png",
        "unreadable": bad / "secret.jpg",
        "non_utf8": Path(os.fsdecode(bytes(bad) + b"/caf\xe9-\xff.jpg")),
    }
    files["empty"].write_bytes(b"")
    files["truncated"].write_bytes(good_jpeg[: len(good_jpeg) // 2])
    files["random"].write_bytes(os.urandom(4096))
    files["bomb"].write_bytes(png_claiming(50_000, 50_000))
    files["unreadable"].write_bytes(good_jpeg)
    files["unreadable"].chmod(0)
    files["non_utf8"].write_bytes(shape_photos[5][0].read_bytes())
    os.symlink(tmp_path / "photos", bad / "loop")  # a link back up the tree
    return files


def test_bad_files_are_skipped_with_reasons(
    make_library,
    shape_photos: ShapeFiles,
    messy_folder: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vanishing = tmp_path / "photos" / "bad" / "vanishing.jpg"
    vanishing.write_bytes(shape_photos[1][0].read_bytes())
    real_decode = indexer_module.decode_image

    def delete_then_decode(path, min_side=None):  # type: ignore[no-untyped-def]
        if Path(path) == vanishing:
            vanishing.unlink()  # deleted between the scan and the decode
        return real_decode(path, min_side=min_side)

    monkeypatch.setattr(indexer_module, "decode_image", delete_then_decode)
    library: Library = make_library()

    summary = library.index([str(tmp_path / "photos")])

    reasons = dict(summary.skipped)
    assert "empty" in reasons[str(messy_folder["empty"])]
    assert "truncated" in reasons[str(messy_folder["truncated"])]
    assert "not an image" in reasons[str(messy_folder["random"])]
    assert "too large" in reasons[str(messy_folder["bomb"])]
    # Deleted between the scan and its decoding: gone, not failed (no row, no reason).
    assert str(vanishing) not in reasons
    assert library.catalog.file_by_path(str(vanishing)) is None
    if os.geteuid() != 0:  # root reads anything, so only a normal user sees this one
        assert "permission" in reasons[str(messy_folder["unreadable"])]
    # Every good file, including the one with a non-UTF-8 name, is searchable.
    found = {h.path for h in library.search("a red circle", 1000)}
    assert {str(p) for p, _, _ in shape_photos} <= found
    assert str(messy_folder["non_utf8"]) in found
    # The reasons are kept in the catalog for `status --errors` and the app.
    recorded = {r.path: r.error for r in library.errors()}
    assert recorded[str(messy_folder["bomb"])] == reasons[str(messy_folder["bomb"])]


def test_bad_files_are_not_retried_until_they_change(
    make_library, messy_folder: dict[str, Path], tmp_path: Path
) -> None:
    library: Library = make_library()
    library.index([str(tmp_path / "photos")])
    again = library.index()
    assert again.skipped == []
    assert again.indexed == 0
    # Fixing a file (new content, new mtime) gets it indexed.
    messy_folder["truncated"].write_bytes(messy_folder["non_utf8"].read_bytes())
    fixed = library.index()
    assert fixed.indexed == 1


def test_retry_errors_reads_a_fixed_file_again(
    make_library, shape_photos: ShapeFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = shape_photos[0][0]
    real_hash = indexer_module.content_hash

    def refuse_locked(path):  # type: ignore[no-untyped-def]
        if Path(path) == locked:  # as if chmod 0: root reads anything, so simulate it
            raise PermissionError(13, "Permission denied", str(path))
        return real_hash(path)

    monkeypatch.setattr(indexer_module, "content_hash", refuse_locked)
    library: Library = make_library()
    first = library.index([str(tmp_path / "photos")])
    assert dict(first.skipped)[str(locked)] == "permission denied"
    monkeypatch.setattr(indexer_module, "content_hash", real_hash)  # "fixed" with chmod

    assert library.index().indexed == 0  # same size and mtime: not retried on its own
    retried = library.index(retry_errors=True)

    assert retried.indexed == 1 and retried.skipped == []
    assert str(locked) in {h.path for h in library.search("a red circle", 1000)}
    assert library.errors() == []
