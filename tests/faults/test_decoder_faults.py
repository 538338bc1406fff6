"""A video decoder that crashes or hangs costs one file: it is failed after its timeout, tried once
more, then given up until it changes, while the run and the other files carry on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mediasearch.core import media_indexer
from mediasearch.core.catalog import MAX_CRASHES, STATUS_ERROR
from mediasearch.core.indexer import PHASE_ENCODING, Progress
from mediasearch.core.library import Library
from mediasearch.core.media import worker
from mediasearch.selftest.shapes import write_shape_images
from tests.faults.test_bad_files import assert_consistent, error_reasons, found_paths
from tests.support.videos import write_video

LibraryFactory = Callable[..., Library]
MISBEHAVING_DECODER = "tests.support.faulty_decoder:misbehave"  # acts on the file's name
WORKING_DECODER = worker.DECODE_TARGET
# Long enough for a one-second clip under a busy CPU, short enough to keep the test quick.
TIMEOUT_S = 3.0
PHOTOS = 4
# Each misbehaving file and the words its failure must be reported with.
FAULTS = {
    "crash-segv.mp4": "crashed (signal SIGSEGV)",
    "crash-exit.mp4": "crashed (exit code 11)",
    "hang.mp4": f"took longer than {TIMEOUT_S:g} s",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Photos, a good video and one video per decoder fault."""
    root = tmp_path / "media"
    write_shape_images(root / "photos", PHOTOS, seed=6)
    write_video(root / "clips" / "fine.mp4", [("square", "blue", 1.0)])
    for name in FAULTS:
        write_video(root / "clips" / name, [("circle", "red", 1.0)])
    return root


@pytest.fixture
def misbehaving(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "DECODE_TARGET", MISBEHAVING_DECODER)
    monkeypatch.setattr(media_indexer, "MEDIA_TIMEOUT_S", TIMEOUT_S)


def crash_counts(library: Library, folder: Path) -> dict[str, int]:
    counts = {}
    for name in FAULTS:
        record = library.catalog.file_by_path(str(folder / "clips" / name))
        assert record is not None and record.status == STATUS_ERROR
        counts[name] = record.crashes
    return counts


def assert_reported(skipped: list[tuple[str, str]], folder: Path) -> None:
    """Each misbehaving file is skipped once, with the right reason."""
    reasons = dict(skipped)
    assert len(reasons) == len(skipped)
    assert set(reasons) == {str(folder / "clips" / name) for name in FAULTS}
    for name, words in FAULTS.items():
        assert words in reasons[str(folder / "clips" / name)], name


def test_crashing_and_hanging_decoders_cost_one_file_each(
    make_library: LibraryFactory, folder: Path, misbehaving: None
) -> None:
    library = make_library()
    reports: list[Progress] = []

    first = library.index([str(folder)], progress=reports.append)

    assert not first.cancelled
    assert first.indexed == PHOTOS + 1
    assert_reported(first.skipped, folder)
    encoding = [p for p in reports if p.phase == PHASE_ENCODING]
    assert encoding[-1].done == encoding[-1].total == PHOTOS + 1 + len(FAULTS)
    assert crash_counts(library, folder) == dict.fromkeys(FAULTS, 1)
    assert all("tried once more" in reason for reason in error_reasons(library).values())
    assert str(folder / "clips" / "fine.mp4") in found_paths(library)
    assert_consistent(library)

    # The next scan tries each once more, in a fresh decoder; a second failure gives it up.
    second = library.index()
    assert second.indexed == 0
    assert_reported(second.skipped, folder)
    assert crash_counts(library, folder) == dict.fromkeys(FAULTS, MAX_CRASHES)
    assert all("not retried" in reason for reason in error_reasons(library).values())

    third = library.index()
    assert third.skipped == [] and third.indexed == 0
    assert crash_counts(library, folder) == dict.fromkeys(FAULTS, MAX_CRASHES)
    assert_consistent(library)


def test_a_given_up_file_is_tried_again_once_it_changes(
    make_library: LibraryFactory, tmp_path: Path, misbehaving: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "clips"
    crashing = [
        write_video(folder / name, [("circle", "red", 1.0)])
        for name in ("crash-exit.mp4", "crash-segv.mp4")
    ]
    library = make_library()
    library.index([str(folder)])
    library.index()  # the second crash: both are given up
    changed = write_video(crashing[0], [("star", "green", 2.0)])

    after_change = library.index()

    assert [path for path, _ in after_change.skipped] == [str(changed)]
    record = library.catalog.file_by_path(str(changed))
    assert record is not None and record.crashes == 1  # new content starts a new count

    # With a decoder that works again, the changed file's second try indexes it; the file
    # given up waits for a change or an explicit retry.
    monkeypatch.setattr(worker, "DECODE_TARGET", WORKING_DECODER)
    fixed = library.index()
    assert fixed.skipped == [] and fixed.indexed == 1
    assert str(changed) in found_paths(library)
    assert set(error_reasons(library)) == {str(crashing[1])}
    retried = library.index(retry_errors=True)
    assert retried.skipped == [] and retried.indexed == 1
    assert error_reasons(library) == {}
    assert found_paths(library) == {str(p) for p in crashing}
    assert_consistent(library)
