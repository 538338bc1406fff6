"""Daily catalog backups, and opening a catalog that restores the last one when it is damaged."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from mediasearch.core.catalog import Catalog, DiskFullError, is_disk_full

log = logging.getLogger(__name__)

BACKUP_DIR = "backups"
BACKUP_PREFIX = "catalog-"
BACKUP_SUFFIX = ".sqlite3"
BACKUP_TIME_FORMAT = "%Y%m%d-%H%M%S"
KEEP_BACKUPS = 3
BACKUP_INTERVAL_S = 24 * 3600.0  # a day of indexing is what a restore can cost at most
DAMAGED_SUFFIX = ".damaged-"
# SQLite keeps these beside the database in WAL mode; they belong to it and move with it.
SIDE_FILES = ("-wal", "-shm")


@dataclass(frozen=True)
class CatalogRecovery:
    """What happened when the catalog was found damaged at start.

    `backup` is the backup restored (None: there was none, so the catalog starts empty and
    folders must be added again); `damaged` is where the damaged file was kept.
    """

    reason: str
    damaged: Path
    backup: Path | None

    def message(self) -> str:
        """A sentence for the user."""
        if self.backup is None:
            return (
                f"The catalog was damaged ({self.reason}) and there was no backup: it starts "
                f"empty, so add your folders again. The damaged file is kept as {self.damaged}."
            )
        return (
            f"The catalog was damaged ({self.reason}); restored the backup of "
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(self.backup.stat().st_mtime))}. "
            f"A rescan finds what was added since. The damaged file is kept as {self.damaged}."
        )


def backups(backup_dir: Path) -> list[Path]:
    """The finished backups, newest first (their names sort by time)."""
    found = backup_dir.glob(f"{BACKUP_PREFIX}*{BACKUP_SUFFIX}")
    return sorted(found, reverse=True)


def make_backup(db_path: Path, backup_dir: Path, *, keep: int = KEEP_BACKUPS) -> Path:
    """Copy the catalog with SQLite's online backup (a consistent snapshot while others go on
    writing), atomically under a timestamped name; keep only the newest `keep`."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    for stale in backup_dir.glob(f".{BACKUP_PREFIX}*.tmp"):
        # Left by a killed process: the caller holds the home's lock, so no other process is
        # backing up (this one's own may be, in another Library).
        if not stale.name.endswith(f".{os.getpid()}.tmp"):
            stale.unlink(missing_ok=True)
    name = f"{BACKUP_PREFIX}{time.strftime(BACKUP_TIME_FORMAT)}{BACKUP_SUFFIX}"
    target = backup_dir / name
    tmp = backup_dir / f".{name}.{threading.get_ident()}.{os.getpid()}.tmp"
    source = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(tmp)
        try:
            source.backup(copy)  # all pages in one step: one snapshot, never restarted
        finally:
            copy.close()
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if is_disk_full(error):
            raise DiskFullError(backup_dir, str(error)) from error
        raise
    finally:
        source.close()
    for old in backups(backup_dir)[keep:]:
        old.unlink(missing_ok=True)
    return target


def backup_due(backup_dir: Path, interval_s: float = BACKUP_INTERVAL_S) -> bool:
    newest = backups(backup_dir)
    return not newest or time.time() - newest[0].stat().st_mtime >= interval_s


def start_backup_if_due(
    db_path: Path, backup_dir: Path, interval_s: float = BACKUP_INTERVAL_S
) -> threading.Thread | None:
    """Back up in a background thread when the newest backup is older than `interval_s`;
    the caller joins the thread before it closes. Call only with a catalog known sound."""
    if not backup_due(backup_dir, interval_s):
        return None

    def run() -> None:
        try:
            make_backup(db_path, backup_dir)
        except (OSError, sqlite3.Error, DiskFullError) as error:
            # The previous backups stay; the next start tries again.
            log.warning("could not back up the catalog: %s", error)

    thread = threading.Thread(target=run, name="catalog-backup")
    thread.start()
    return thread


def open_catalog(db_path: Path, backup_dir: Path) -> tuple[Catalog, CatalogRecovery | None]:
    """Open the catalog, checking its structure; a damaged one is moved aside (never deleted)
    and the newest backup restored in its place, or an empty catalog started if none."""
    try:
        catalog = Catalog(db_path)
    except sqlite3.DatabaseError as error:  # "file is not a database", "malformed"...
        if is_disk_full(error):
            raise DiskFullError(db_path.parent, str(error)) from error
        reason = str(error)
    else:
        try:
            problems = catalog.quick_check()
        except sqlite3.DatabaseError as error:
            problems = [str(error)]
        if not problems:
            return catalog, None
        catalog.close()
        reason = "; ".join(problems[:3])
    log.error("catalog %s is damaged (%s); restoring the last backup", db_path, reason)
    recovery = _restore(db_path, backup_dir, reason)
    return Catalog(db_path), recovery


def _restore(db_path: Path, backup_dir: Path, reason: str) -> CatalogRecovery:
    damaged = db_path.with_name(f"{db_path.name}{DAMAGED_SUFFIX}{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(db_path, damaged)
    for side in SIDE_FILES:
        # A WAL left beside the restored file would be replayed into it: it goes with its
        # database.
        with contextlib.suppress(FileNotFoundError):
            os.replace(
                db_path.with_name(db_path.name + side), damaged.with_name(damaged.name + side)
            )
    for backup in backups(backup_dir):
        try:
            _check_backup(backup)
        except sqlite3.DatabaseError as error:
            log.error("backup %s is unusable too (%s)", backup, error)
            continue
        tmp = db_path.with_name(f".{db_path.name}.{os.getpid()}.restore")
        shutil.copyfile(backup, tmp)
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, db_path)
        return CatalogRecovery(reason, damaged, backup)
    return CatalogRecovery(reason, damaged, None)


def _check_backup(backup: Path) -> None:
    db = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = db.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {row[0] if row else 'no answer'}")
    finally:
        db.close()
