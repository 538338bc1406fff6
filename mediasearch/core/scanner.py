"""Walk watched folders and list the media files in them, with their size and modification time."""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass

from mediasearch.core.media.kinds import ALL_KINDS, KIND_IMAGE, media_kind

log = logging.getLogger(__name__)

# Folders that operating systems, NAS boxes and photo tools fill with files that are not the
# user's media (or are copies of it: thumbnails, trash).
SYSTEM_FOLDERS = frozenset(
    {
        "$RECYCLE.BIN",
        "System Volume Information",
        "lost+found",
        "@eaDir",
        "#recycle",
        "node_modules",
        "__pycache__",
        "Thumbs",
        "$Recycle.Bin",
    }
)
SCAN_PROGRESS_EVERY = 500  # report progress after this many entries while scanning

__all__ = ["KIND_IMAGE", "ScannedFile", "media_kind", "scan_file", "scan_root"]


@dataclass(frozen=True, slots=True)
class ScannedFile:
    path: str
    kind: str
    size: int
    mtime_ns: int


def is_skipped_folder(name: str) -> bool:
    return name.startswith(".") or name in SYSTEM_FOLDERS


def is_excluded(path: str, excluded: Collection[str]) -> bool:
    return any(path == e or path.startswith(e.rstrip(os.sep) + os.sep) for e in excluded)


def scan_root(
    root: str,
    *,
    excluded: Collection[str] = (),
    cancel: threading.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
    kinds: frozenset[str] = ALL_KINDS,
) -> dict[str, ScannedFile]:
    """Every media file of these `kinds` under `root`, keyed by path.

    Hidden and system folders are skipped. Symbolic links to folders are followed, but each
    real folder is visited once, so a link pointing back up the tree cannot loop forever.
    Unreadable folders are skipped (and logged), never fatal.
    """
    found: dict[str, ScannedFile] = {}
    visited: set[tuple[int, int]] = set()
    stack = [root]
    seen_entries = 0
    while stack:
        if cancel is not None and cancel.is_set():
            break
        folder = stack.pop()
        try:
            identity = os.stat(folder)
        except OSError:
            continue
        key = (identity.st_dev, identity.st_ino)
        if key in visited:
            continue
        visited.add(key)
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    seen_entries += 1
                    if on_progress is not None and seen_entries % SCAN_PROGRESS_EVERY == 0:
                        on_progress(len(found))
                    _visit(entry, stack, found, excluded, kinds)
        except OSError as error:
            log.warning("cannot list %s: %s", folder, error)
    return found


def _visit(
    entry: os.DirEntry[str],
    stack: list[str],
    found: dict[str, ScannedFile],
    excluded: Collection[str],
    kinds: frozenset[str],
) -> None:
    try:
        if entry.is_dir():
            if not is_skipped_folder(entry.name) and not is_excluded(entry.path, excluded):
                stack.append(entry.path)
            return
        if entry.name.startswith(".") or not entry.is_file():
            return
        kind = media_kind(entry.name, kinds)
        if kind is None:
            return
        info = entry.stat()  # follows a link to a file: its target is what gets indexed
    except OSError:
        return  # a dangling link, or a file that vanished mid-scan
    found[entry.path] = ScannedFile(entry.path, kind, info.st_size, info.st_mtime_ns)


def scan_file(path: str, kinds: frozenset[str] = ALL_KINDS) -> dict[str, ScannedFile]:
    """The media file at `path` as a one-entry scan result, or nothing if it is not one (any
    more)."""
    name = os.path.basename(path)
    kind = media_kind(name, kinds)
    if kind is None or name.startswith("."):
        return {}
    try:
        info = os.stat(path)
    except OSError:
        return {}
    if not stat.S_ISREG(info.st_mode):
        return {}
    return {path: ScannedFile(path, kind, info.st_size, info.st_mtime_ns)}


def root_containing(path: str, roots: dict[int, str]) -> int | None:
    """The id of the innermost root that holds `path`."""
    best: tuple[int, int] | None = None
    for root_id, root in roots.items():
        inside = path == root or path.startswith(root.rstrip(os.sep) + os.sep)
        if inside and (best is None or len(root) > best[1]):
            best = (root_id, len(root))
    return best[0] if best else None


def is_hidden_below(path: str, root: str) -> bool:
    """Whether a folder between `root` and `path` is one a scan would skip."""
    relative = os.path.relpath(os.path.dirname(path), root)
    if relative == os.curdir:
        return False
    return any(is_skipped_folder(part) for part in relative.split(os.sep))


def normalise_root(path: str | os.PathLike[str]) -> str:
    """The absolute form of a folder the user named, so the same folder is one root."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))
