"""Awkward folders and names: unreadable folders, symlink loops, non-UTF-8 and non-ASCII names
are scanned without losing or duplicating a file, and searched under their true paths."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mediasearch.core.library import Library
from mediasearch.core.search import SearchFilters
from mediasearch.selftest.shapes import all_combinations, draw_shape
from tests.faults.test_bad_files import assert_consistent, error_reasons, found_paths

LibraryFactory = Callable[..., Library]
Lock = Callable[[Path, bool], None]  # (folder, locked): make a folder unreadable or readable
PHOTO_SIDE = 64
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
LOCKED_MODE = 0o000
OPEN_MODE = 0o755
# Byte names a Linux file system accepts but UTF-8 cannot decode (Latin-1 and stray bytes).
NON_UTF8_NAMES = (b"caf\xe9.jpg", b"\xff\xfe photo.png", b"bad\x80byte.jpg")
NON_UTF8_FOLDER = b"d\xe9j\xe0 vu"
ODD_NAMES = (
    "été.jpg",  # precomposed é
    "e\u0301te\u0301.jpg",  # the same word decomposed: a different file name on Linux
    "日本の写真.png",
    "📷 holiday 🌊.jpg",
    "line\nbreak.jpg",
    "-leading dash.jpg",
    "100% *real* [1] $HOME.jpg",
    "surrogate-\udcff.jpg",  # how Python spells the undecodable byte 0xff
    "é" * 120 + ".jpg",  # 244 bytes: near the 255-byte limit of most file systems
)


def write_photo(path: Path, seed: int) -> Path:
    shape, color = all_combinations()[seed % len(all_combinations())]
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_shape(shape, color, random.Random(seed), PHOTO_SIDE).save(path)
    return path


def named(folder: Path, raw: bytes) -> Path:
    """The path of a file whose name is these raw bytes (as Python's os functions spell it)."""
    return Path(os.fsdecode(os.path.join(os.fsencode(folder), raw)))


# -- unreadable folders ----------------------------------------------------------------------


@pytest.fixture(params=["simulated", "chmod"])
def lock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lock]:
    """Makes folders unreadable: for real with chmod (not as root, who reads anything), or by
    making os.scandir refuse them as the kernel would."""
    locked: set[str] = set()
    if request.param == "chmod":
        if IS_ROOT:
            pytest.skip("root can list any folder")

        def chmod(folder: Path, on: bool) -> None:
            folder.chmod(LOCKED_MODE if on else OPEN_MODE)
            (locked.add if on else locked.discard)(str(folder))

        yield chmod
        for folder in locked:  # so that pytest can clean tmp_path up
            os.chmod(folder, OPEN_MODE)
        return

    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) in locked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)

    def simulate(folder: Path, on: bool) -> None:
        (locked.add if on else locked.discard)(str(folder))

    yield simulate


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A watched folder with two readable sub-folders and one that will be locked."""
    root = tmp_path / "shared"
    for index, folder in enumerate(("alice", "bob", "private")):
        for copy in range(2):
            write_photo(root / folder / f"photo_{copy}.jpg", seed=index * 2 + copy)
    return root


def test_an_unreadable_folder_is_reported_and_read_once_it_opens(
    make_library: LibraryFactory, shared: Path, lock: Lock
) -> None:
    private = shared / "private"
    lock(private, True)
    library = make_library()

    summary = library.index([str(shared)])

    assert summary.indexed == 4
    assert [path for path, _ in summary.skipped] == [str(private)]
    assert "permission denied" in summary.skipped[0][1]
    assert found_paths(library) == {str(p) for p in shared.glob("[ab]*/*.jpg")}
    assert error_reasons(library) == {}  # a folder is no file: nothing to list there
    assert_consistent(library)

    lock(private, False)
    opened = library.index()
    assert opened.indexed == 2 and opened.skipped == []
    assert {str(p) for p in private.iterdir()} <= found_paths(library)


@pytest.mark.parametrize("locked_part", ["sub-folder", "watched folder itself"])
def test_a_folder_that_turns_unreadable_keeps_its_files(
    make_library: LibraryFactory, shared: Path, lock: Lock, locked_part: str
) -> None:
    library = make_library()
    library.index([str(shared)])
    everything = found_paths(library)
    folder = shared / "private" if locked_part == "sub-folder" else shared
    lock(folder, True)

    full = library.index()
    watched = library.apply_changes([str(folder)])

    for summary in (full, watched):
        assert (summary.indexed, summary.removed, summary.moved) == (0, 0, 0)
        assert [path for path, _ in summary.skipped] == [str(folder)]
    assert found_paths(library) == everything
    assert_consistent(library)
    # Readable again: nothing was lost, so nothing is encoded again.
    lock(folder, False)
    reopened = library.index()
    assert (reopened.indexed, reopened.removed, reopened.skipped) == (0, 0, [])
    assert found_paths(library) == everything


# -- symbolic links --------------------------------------------------------------------------


def test_symlink_loops_end_and_every_photo_is_indexed_once(
    make_library: LibraryFactory, tmp_path: Path
) -> None:
    root = tmp_path / "links"
    photos = [write_photo(root / "a" / "b" / f"photo_{i}.jpg", seed=i) for i in range(3)]
    photos.append(write_photo(root / "top.jpg", seed=3))
    os.symlink("..", root / "a" / "loop")  # a -> the root, which holds a
    os.symlink("../../a", root / "a" / "b" / "deeper")  # b -> a, which holds b
    os.symlink("nowhere", root / "a" / "dangling.jpg")
    os.symlink("self.jpg", root / "a" / "self.jpg")  # a link to itself
    library = make_library()

    summary = library.index([str(root)])

    assert summary.indexed == len(photos) and summary.skipped == []
    found = found_paths(library)
    assert {os.path.realpath(p) for p in found} == {str(p.resolve()) for p in photos}
    assert len(found) == len(photos)
    assert_consistent(library)
    again = library.index()
    assert (again.indexed, again.moved, again.removed) == (0, 0, 0)


# -- names -------------------------------------------------------------------------------------


@pytest.fixture
def odd_names(tmp_path: Path) -> dict[Path, bytes]:
    """Photos under every awkward name, each path with the raw bytes of its file name."""
    root = tmp_path / "names"
    written: dict[Path, bytes] = {}
    names = [os.fsencode(n) for n in ODD_NAMES] + list(NON_UTF8_NAMES)
    for seed, raw in enumerate(names):
        written[write_photo(named(root, raw), seed)] = raw
    strange_folder = named(root, NON_UTF8_FOLDER)
    for seed, raw in enumerate(NON_UTF8_NAMES, start=len(names)):
        written[write_photo(named(strange_folder, raw), seed)] = raw
    return written


def test_odd_file_names_are_indexed_and_shown_as_they_are(
    make_library: LibraryFactory, odd_names: dict[Path, bytes], tmp_path: Path
) -> None:
    root = tmp_path / "names"
    library = make_library()

    summary = library.index([str(root)])

    assert summary.skipped == [] and summary.indexed == len(odd_names)
    hits = library.search("a red circle", len(odd_names) * 2)
    assert {h.path for h in hits} == {str(p) for p in odd_names}
    for hit in hits:
        assert os.path.basename(os.fsencode(hit.path)) == odd_names[Path(hit.path)]
        assert os.path.isfile(hit.path)
    # Filtering by a folder whose name is not UTF-8 finds exactly its files.
    strange_folder = named(root, NON_UTF8_FOLDER)
    inside = SearchFilters(folder=str(strange_folder))
    assert {h.path for h in library.search("a red circle", 100, filters=inside)} == {
        str(p) for p in odd_names if p.parent == strange_folder
    }
    # "More like this" starts from such a file like any other.
    start = named(strange_folder, NON_UTF8_NAMES[0])
    assert str(start) not in {h.path for h in library.similar(str(start), 5)}
    assert_consistent(library)


def test_renaming_between_odd_names_keeps_the_vector(
    make_library: LibraryFactory, odd_names: dict[Path, bytes], tmp_path: Path
) -> None:
    root = tmp_path / "names"
    library = make_library()
    library.index([str(root)])
    old = named(root, NON_UTF8_NAMES[0])
    new = named(root, "日本-\udcfe-é.jpg".encode("utf-8", "surrogateescape"))
    record = library.catalog.file_by_path(str(old))
    old.rename(new)

    summary = library.apply_changes([str(old), str(new)])

    assert (summary.moved, summary.indexed, summary.removed) == (1, 0, 0)
    moved = library.catalog.file_by_path(str(new))
    assert record is not None and moved is not None and moved.id == record.id
    assert str(new) in found_paths(library) and str(old) not in found_paths(library)
    assert_consistent(library)
