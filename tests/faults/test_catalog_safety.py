"""A second process on the same library is refused without harm; a damaged catalog is set
aside, the last backup restored, and a rescan fills the gap."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mediasearch.core.backup import BACKUP_DIR, KEEP_BACKUPS, backups, make_backup
from mediasearch.core.library import CATALOG_FILE, Library
from mediasearch.core.lock import LibraryLockedError
from mediasearch.selftest.shapes import write_shape_images

CHILD_TIMEOUT_S = 120
PAGE_SIZE = 4096

HOLD_SCRIPT = """
import sys
from pathlib import Path
from mediasearch.core.library import Library
library = Library(Path(sys.argv[1]), model=sys.argv[2], device="cpu")
print("open", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder(tmp_path: Path, tiny_model_spec: str) -> Iterator[subprocess.Popen[str]]:
    """Another process with tmp_path / "home" open, as a second app window would have."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT, str(tmp_path / "home"), tiny_model_spec],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "open"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=CHILD_TIMEOUT_S)


def _rows(home: Path) -> list[tuple[bytes, int]]:
    with sqlite3.connect(f"file:{home / CATALOG_FILE}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA quick_check").fetchone() == ("ok",)
        return db.execute("SELECT path, mtime_ns FROM files ORDER BY path").fetchall()


def test_second_process_is_refused_and_lock_dies_with_its_holder(
    make_library: Callable[..., Library],
    tmp_path: Path,
    tiny_model_spec: str,
    shape_photos: list,
) -> None:
    with make_library() as library:
        library.index([str(tmp_path / "photos")])
    before = _rows(tmp_path / "home")
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT, str(tmp_path / "home"), tiny_model_spec],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "open"

        with pytest.raises(LibraryLockedError, match=f"already running.*pid {process.pid}"):
            make_library()
        home_args = ["--home", str(tmp_path / "home"), "--model", tiny_model_spec]
        cli = subprocess.run(
            [sys.executable, "-m", "mediasearch", *home_args, "index"],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
        )
        assert cli.returncode != 0 and "already running" in cli.stderr
        assert "Traceback" not in cli.stderr
        assert _rows(tmp_path / "home") == before  # the refused ones touched nothing

        process.send_signal(signal.SIGKILL)  # the holder dies without closing anything
        process.wait(timeout=CHILD_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
    with make_library() as library:  # its lock went with it
        assert library.status().files_ok == len(shape_photos)


def test_libraries_of_one_process_share_the_home(
    make_library: Callable[..., Library], tmp_path: Path, tiny_model_spec: str
) -> None:
    """The app opens the new model's library while the old one answers: both may; other
    processes wait until the last one closes."""
    first, second = make_library(), make_library()
    first.close()
    probe = [sys.executable, "-c", HOLD_SCRIPT, str(tmp_path / "home"), tiny_model_spec]
    refused = subprocess.run(probe, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    assert "LibraryLockedError" in refused.stderr
    second.close()
    opened = subprocess.run(
        probe, input="", capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )
    assert opened.returncode == 0 and opened.stdout.strip() == "open"


def _zero_header(path: Path) -> None:
    with path.open("r+b") as f:
        f.write(bytes(100))  # SQLite's file header: "file is not a database"


def _zero_middle_page(path: Path) -> None:
    pages = path.stat().st_size // PAGE_SIZE
    with path.open("r+b") as f:
        f.seek(PAGE_SIZE * (pages // 2))
        f.write(bytes(PAGE_SIZE))


DAMAGE = {"header zeroed": _zero_header, "middle page zeroed": _zero_middle_page}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_damaged_catalog_is_restored_from_backup_and_rescan_fills_the_gap(
    make_library: Callable[..., Library], tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    home, photos = tmp_path / "home", tmp_path / "photos"
    write_shape_images(photos / "early", 30, seed=11, size=64)
    with make_library() as library:
        library.index([str(photos)])
    make_backup(home / CATALOG_FILE, home / BACKUP_DIR)  # the backup of that day
    backed_up = _embedded(home)
    write_shape_images(photos / "late", 20, seed=12, size=64)
    with make_library() as library:
        library.index()
    damage(home / CATALOG_FILE)

    library = make_library()

    assert library.recovery is not None and library.recovery.backup is not None
    assert "restored the backup" in library.recovery.message()
    damaged = library.recovery.damaged
    assert damaged.is_file() and damaged.name.startswith(f"{CATALOG_FILE}.damaged-")
    assert _embedded(home) == backed_up
    opened = library.open_index(False)  # the index of the lost catalog is not trusted
    assert opened is not None and len(opened[1]) == 30
    assert set(library.catalog.embedded_labels(opened[0]).tolist()) == opened[1]._live

    summary = library.index()  # the rescan finds what came after the backup

    assert summary.indexed == 20  # and encodes only that
    after = _embedded(home)
    assert {path: after[path] for path in backed_up} == backed_up
    assert len(after) == 50 and library.status().index_count == 50
    assert len({h.path for h in library.search("a red square", k=100)}) == 50
    library.close()
    assert damaged.is_file()  # kept for the user, never deleted


def test_damaged_catalog_without_backup_starts_empty_and_keeps_the_damaged_file(
    make_library: Callable[..., Library], tmp_path: Path, shape_photos: list
) -> None:
    home = tmp_path / "home"
    with make_library() as library:
        library.index([str(tmp_path / "photos")])
    for backup in backups(home / BACKUP_DIR):
        backup.unlink()
    _zero_header(home / CATALOG_FILE)

    with make_library() as library:
        assert library.recovery is not None and library.recovery.backup is None
        assert "add your folders again" in library.recovery.message()
        assert library.status().files_ok == 0
        assert library.index([str(tmp_path / "photos")]).indexed == len(shape_photos)
    assert library.recovery.damaged.stat().st_size > 0


def test_backups_are_daily_and_the_last_three_kept(
    make_library: Callable[..., Library], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    make_library().close()
    (first,) = backups(home / BACKUP_DIR)  # made at the first start
    make_library().close()
    assert backups(home / BACKUP_DIR) == [first]  # not again the same day
    # Pretend the first start was long ago, after four earlier backups.
    older = [home / BACKUP_DIR / f"catalog-2000010{day}-120000.sqlite3" for day in range(1, 6)]
    for path in older[:-1]:
        path.write_bytes(first.read_bytes())
    first.rename(older[-1])
    for path in older:
        os.utime(path, (0, 0))
    make_library().close()
    kept = backups(home / BACKUP_DIR)
    assert len(kept) == KEEP_BACKUPS
    assert kept[1:] == [older[-1], older[-2]]  # a fresh one and the two newest before it
    assert not list((home / BACKUP_DIR).glob(".*"))  # no temporary left


def _embedded(home: Path) -> dict[str, tuple[int, bytes]]:
    with sqlite3.connect(f"file:{home / CATALOG_FILE}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT f.path, e.seq, e.vector FROM embeddings e JOIN files f ON f.id = e.file_id"
        ).fetchall()
    return {os.fsdecode(path): (seq, vector) for path, seq, vector in rows}


def test_the_cli_searches_read_only_while_another_process_holds_the_library(
    make_library, shape_photos, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second process may read (search, status) beside the holder, never write."""
    import json

    from mediasearch.cli import run
    from mediasearch.core.library import Library, LibraryReadOnlyError

    home = tmp_path / "home"
    library = make_library(home)
    library.index([str(tmp_path / "photos")])
    library.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from mediasearch.core.lock import HomeLock;"
            f"HomeLock(Path({str(home)!r})).acquire(); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        spec = library.encoder.spec
        base = ["--home", str(home), "--model", str(spec), "--device", "cpu"]
        assert run([*base, "search", "a red circle", "-n", "3", "--json"]) == 0
        out, err = capsys.readouterr()
        assert len(json.loads(out)) == 3 and "reading it without changing it" in err
        assert run([*base, "index", "--quiet"]) != 0  # writing waits for the holder
        assert "already running" in capsys.readouterr().err
        reader = Library(home, model=str(spec), device="cpu", readonly=True)
        with pytest.raises(LibraryReadOnlyError):
            reader.index()
        assert reader.search("a red circle", 1)
        reader.close()
    finally:
        holder.kill()
        holder.wait()


def test_the_app_says_when_the_catalog_was_restored(
    qtbot, make_window, make_library, tmp_path: Path
) -> None:
    from mediasearch.core.backup import CatalogRecovery

    library = make_library(tmp_path / "home")
    damaged = tmp_path / "home" / "catalog.sqlite3.damaged-20261201-120000"
    library.recovery = CatalogRecovery(
        reason="file is not a database", damaged=damaged, backup=None
    )
    window = make_window(library, watch=False)
    qtbot.waitUntil(lambda: "was damaged" in window.statusBar().currentMessage(), timeout=5_000)
    assert str(damaged) in window.statusBar().currentMessage()
