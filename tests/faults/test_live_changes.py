"""Live folders: files that vanish before they are read, and files still being written."""

from __future__ import annotations

import io
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from mediasearch.core import indexer as indexer_module
from mediasearch.core.catalog import STATUS_OK
from mediasearch.core.library import Library
from mediasearch.core.watcher import FolderWatcher
from mediasearch.selftest.shapes import write_shape_images
from tests.faults.conftest import wait_until

WAIT_S = 15.0
WRITE_CHUNKS = 8
CHUNK_PAUSE_S = 0.4  # under the watcher's debounce: a steady copy, ~3 s in all


class LiveLibrary:
    """A library fed by a real FolderWatcher through one consumer thread, as the app does."""

    def __init__(self, library: Library, root: Path) -> None:
        self.library = library
        self.batches: queue.Queue[set[str] | None] = queue.Queue()
        self.applied = 0
        self.failures: list[BaseException] = []
        self._consumer = threading.Thread(target=self._consume, name="apply")
        self._consumer.start()
        self.watcher = FolderWatcher(self.batches.put)
        self.watcher.watch(str(root))

    def _consume(self) -> None:
        while (paths := self.batches.get()) is not None:
            try:
                self.library.apply_changes(sorted(paths))
            except BaseException as error:  # the test fails on it, in the test's thread
                self.failures.append(error)
            self.applied += 1
            self.batches.task_done()

    def settled(self) -> bool:
        # Not just an empty queue: the batch taken last may still be being applied.
        return self.batches.unfinished_tasks == 0

    def close(self) -> None:
        self.watcher.stop()
        self.batches.put(None)
        self._consumer.join()


@pytest.fixture
def live(make_library: Callable[..., Library], tmp_path: Path) -> Iterator[LiveLibrary]:
    photos = tmp_path / "photos"
    write_shape_images(photos, 8, seed=41)
    library = make_library()
    library.index([str(photos)])
    watched = LiveLibrary(library, photos)
    yield watched
    watched.close()
    assert not watched.failures


def _unique_photo(tmp_path: Path, seed: int) -> bytes:
    """A photo no file in the library is a byte copy of (a copy would reuse an embedding
    and never be decoded)."""
    path = write_shape_images(tmp_path / f"source {seed}", 1, seed=seed)[0][0]
    return path.read_bytes()


def _rows(library: Library, path: Path) -> list[str]:
    return [r.status for r in library.catalog.files_under(str(path)).values()]


def test_path_that_vanished_before_the_update_leaves_nothing(
    make_library: Callable[..., Library], tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    write_shape_images(photos, 4, seed=42)
    library = make_library()
    library.index([str(photos)])
    gone = photos / "gone.png"
    gone.write_bytes(_unique_photo(tmp_path, 43))
    gone.unlink()  # the watch event came, the file did not stay
    summary = library.apply_changes([str(gone)])
    assert summary.skipped == []
    assert library.catalog.file_by_path(str(gone)) is None
    assert library.errors() == []


def test_file_vanishing_at_decode_time_leaves_no_error_row(
    live: LiveLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = tmp_path / "photos"
    victim = photos / "short lived.png"
    real_decode = indexer_module.decode_image
    deleted = threading.Event()

    def delete_then_decode(path: str, **kwargs: object) -> object:
        if path == str(victim) and victim.exists():
            victim.unlink()  # deleted between the scan and the decode
            deleted.set()
        return real_decode(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(indexer_module, "decode_image", delete_then_decode)
    keeper = photos / "keeper.png"
    victim.write_bytes(_unique_photo(tmp_path, 44))
    keeper.write_bytes(_unique_photo(tmp_path, 45))

    library = live.library
    assert wait_until(lambda: _rows(library, keeper) == [STATUS_OK], WAIT_S)
    # The deletion's own event clears whatever the failed read left behind.
    assert wait_until(lambda: library.catalog.file_by_path(str(victim)) is None, WAIT_S)
    assert wait_until(live.settled, WAIT_S)
    assert deleted.is_set()  # the fault really struck between scan and decode
    assert library.errors() == []
    opened = library.open_index(False)
    assert opened is not None
    assert len(opened[1]) == library.catalog.status_counts()[STATUS_OK] == 8 + 1


def test_file_vanishing_mid_run_is_not_reported_as_skipped(
    make_library: Callable[..., Library], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = tmp_path / "photos"
    write_shape_images(photos, 4, seed=46)
    library = make_library()
    library.index([str(photos)])
    victim = photos / "short lived.png"
    victim.write_bytes(_unique_photo(tmp_path, 47))
    real_decode = indexer_module.decode_image

    def delete_then_decode(path: str, **kwargs: object) -> object:
        if path == str(victim) and victim.exists():
            victim.unlink()
        return real_decode(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(indexer_module, "decode_image", delete_then_decode)
    summary = library.apply_changes([str(victim)])
    assert summary.skipped == []
    assert library.errors() == []


def test_file_still_being_written_is_indexed_once_when_complete(
    live: LiveLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = Image.effect_noise((256, 256), 80).convert("RGB")  # large enough to need chunks
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data = buffer.getvalue()
    growing = tmp_path / "photos" / "copying.png"
    decoded_sizes: list[int] = []
    real_decode = indexer_module.decode_image

    def counting_decode(path: str, **kwargs: object) -> object:
        if path == str(growing):
            decoded_sizes.append(growing.stat().st_size)
        return real_decode(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(indexer_module, "decode_image", counting_decode)
    chunk = -(-len(data) // WRITE_CHUNKS)
    with growing.open("wb") as copy:  # a slow copy, flushed chunk by chunk
        for start in range(0, len(data), chunk):
            copy.write(data[start : start + chunk])
            copy.flush()
            time.sleep(CHUNK_PAUSE_S)
    library = live.library
    assert wait_until(lambda: _rows(library, growing) == [STATUS_OK], WAIT_S)
    assert wait_until(live.settled, WAIT_S)
    time.sleep(1.5)  # any late second report of the file would land by now
    assert decoded_sizes == [len(data)]  # read once, and only when complete
    assert _rows(library, growing) == [STATUS_OK]
    assert library.errors() == []
