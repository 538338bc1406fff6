"""kill -9 fifty times at random moments of indexing and of index saving: nothing is lost."""

from __future__ import annotations

import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mediasearch.core.library import CATALOG_FILE, Library
from mediasearch.selftest.shapes import write_shape_images

KILLS = 50
FIRST_PHOTOS = 60
NEW_PER_ROUND = 12  # each indexing run gets fresh work to be killed in
PHOTO_SIDE = 64
BATCH = 4  # small batches: several commits and index saves per run to be killed between
KILL_WINDOW_S = 0.01  # the kill lands up to this long after the moment chosen
LINE_TIMEOUT_S = 60.0
SEED = 9


# -- the driver: forks one worker per run, so torch is imported once, not fifty times ------


def _say(text: str) -> None:
    os.write(sys.stdout.fileno(), f"{text}\n".encode())  # unbuffered: the test reads it live


def _worker(home: Path, model: str, photos: Path, driver_pid: int) -> None:
    from mediasearch.core import indexer

    indexer.BATCH_SIZE = BATCH
    indexer.INDEX_SAVE_INTERVAL_S = 0.0  # save the index after every batch
    library = Library(home, model=model, device="cpu")
    library.encoder.load()
    commit = library.catalog.store_results

    def store_results(*args: Any) -> None:
        commit(*args)
        _say("committed")

    library.catalog.store_results = store_results  # type: ignore[method-assign]
    _say("phase index")
    library.index([str(photos)])
    opened = library.open_index(False)
    assert opened is not None
    _say("phase save")
    while os.getppid() == driver_pid:  # never outlive the driver
        opened[1].save(library.catalog.change_seq())


def _drive(home: Path, model: str, photos: Path) -> None:
    import open_clip  # noqa: F401  (the import cost every worker shares)

    _say("ready")
    for line in sys.stdin:
        if line.strip() != "go":
            continue
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                _worker(home, model, photos, os.getppid())
            finally:
                os._exit(0)
        _say(f"pid {pid}")
        _, status = os.waitpid(pid, 0)
        _say(f"exit {status}")


# -- the test ------------------------------------------------------------------------------


class _Driver:
    def __init__(self, home: Path, model: str, photos: Path, log: Path) -> None:
        command = [sys.executable, "-m", "tests.faults.test_kill_loop", str(home), model]
        self.process = subprocess.Popen(
            [*command, str(photos)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("wb"),
            text=True,
            cwd=Path(__file__).parents[2],
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("ready")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def expect(self, *prefixes: str) -> str:
        while True:
            line = self.lines.get(timeout=LINE_TIMEOUT_S)
            if line.startswith(prefixes):
                return line

    def go(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return int(self.expect("pid ").split()[1])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=LINE_TIMEOUT_S)


@pytest.fixture
def driver(tmp_path: Path, tiny_model_spec: str) -> Iterator[_Driver]:
    d = _Driver(tmp_path / "home", tiny_model_spec, tmp_path / "photos", tmp_path / "driver.log")
    yield d
    d.close()


def _embedded(home: Path) -> dict[str, tuple[int, bytes]]:
    """Each embedded file's path with the change number and bytes of its vector."""
    with sqlite3.connect(f"file:{home / CATALOG_FILE}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT f.path, e.seq, e.vector FROM embeddings e JOIN files f ON f.id = e.file_id"
        ).fetchall()
    return {os.fsdecode(path): (seq, vector) for path, seq, vector in rows}


def _check_library(home: Path, model: str) -> None:
    """Opens cleanly (the killed worker's lock is gone), one row per file, every catalog file
    on disk, and the index holding exactly the catalog's vectors."""
    with Library(home, model=model, device="cpu") as library:
        paths = [r.path for r in library.catalog.files_with_status("ok")]
        paths += [r.path for r in library.catalog.files_with_status("pending")]
        assert len(paths) == len(set(paths))
        assert all(Path(p).is_file() for p in paths)
        assert library.errors() == []
        opened = library.open_index(False)
        if opened is not None:
            model_id, index = opened
            assert set(library.catalog.embedded_labels(model_id).tolist()) == index._live


def test_fifty_kills_lose_nothing(driver: _Driver, tmp_path: Path, tiny_model_spec: str) -> None:
    home, photos = tmp_path / "home", tmp_path / "photos"
    write_shape_images(photos / "first", FIRST_PHOTOS, seed=1, size=PHOTO_SIDE)
    rng = random.Random(SEED)
    kept: dict[str, tuple[int, bytes]] = {}
    killed_part_way = 0
    for round_number in range(KILLS):
        # Even rounds: killed after a random number of committed batches of new photos.
        # Odd rounds: they finish that work, then killed at a random point of saving.
        indexing = round_number % 2 == 0
        if indexing:
            folder = photos / f"round{round_number:02d}"
            write_shape_images(folder, NEW_PER_ROUND, seed=100 + round_number, size=PHOTO_SIDE)
        pid = driver.go()
        driver.expect("phase index")
        if indexing:
            for _ in range(rng.randrange(NEW_PER_ROUND // BATCH)):
                driver.expect("committed", "phase save")
        else:
            driver.expect("phase save")
        threading.Event().wait(rng.uniform(0, KILL_WINDOW_S))
        os.kill(pid, signal.SIGKILL)
        status = int(driver.expect("exit ").split()[1])
        assert os.WIFSIGNALED(status), "the worker must die by the kill, not finish or fail"

        _check_library(home, tiny_model_spec)
        now = _embedded(home)
        # Work done before each kill is kept as it was: never lost, never encoded again.
        assert {path: now.get(path) for path in kept} == kept
        on_disk = sum(1 for p in photos.rglob("*") if p.is_file())
        killed_part_way += indexing and len(kept) < len(now) < on_disk
        kept = now

    assert killed_part_way > 0, "some kills must land between the commits of one run"
    # A last run, left to finish, completes the library with no duplicates.
    with Library(home, model=tiny_model_spec, device="cpu") as library:
        summary = library.index()
        all_photos = sorted(str(p) for p in photos.rglob("*") if p.is_file())
        assert summary.indexed == len(all_photos) - len(kept)
        status = library.status()
        assert status.files_ok == status.index_count == status.embedded_count == len(all_photos)
        hits = library.search("a red circle", k=len(all_photos))
        assert sorted(h.path for h in hits) == all_photos
    final = _embedded(home)
    assert {path: final[path] for path in kept} == kept


if __name__ == "__main__":
    _drive(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
