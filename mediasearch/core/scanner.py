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

# Told each folder (or file) that exists but cannot be read, with the error, so that the
# caller keeps what it knew about it instead of taking its files for deleted.
UnreadableCallback = Callable[[str, OSError], None]

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
    on_unreadable: UnreadableCallback | None = None,
) -> dict[str, ScannedFile]:
    """Every media file of these `kinds` under `root`, keyed by path.

    Hidden and system folders are skipped. Symbolic links to folders are followed, but each
    real folder is visited once, so a link pointing back up the tree cannot loop forever.
    Unreadable folders are skipped (logged and passed to `on_unreadable`), never fatal.
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
        except (FileNotFoundError, NotADirectoryError):
            continue  # deleted mid-scan, or a dangling link
        except OSError as error:
            _report_unreadable(folder, error, on_unreadable)
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
                    _visit(entry, stack, found, excluded, kinds, on_unreadable)
        except FileNotFoundError:
            continue  # deleted between its parent's listing and now
        except OSError as error:
            _report_unreadable(folder, error, on_unreadable)
    return found


def _report_unreadable(path: str, error: OSError, on_unreadable: UnreadableCallback | None) -> None:
    log.warning("cannot read %s: %s", path, error)
    if on_unreadable is not None:
        on_unreadable(path, error)


def _visit(
    entry: os.DirEntry[str],
    stack: list[str],
    found: dict[str, ScannedFile],
    excluded: Collection[str],
    kinds: frozenset[str],
    on_unreadable: UnreadableCallback | None,
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
    except PermissionError as error:
        _report_unreadable(_blocked_path(entry), error, on_unreadable)
        return
    except OSError:
        return  # a dangling link, or a file that vanished mid-scan
    found[entry.path] = ScannedFile(entry.path, kind, info.st_size, info.st_mtime_ns)


def _blocked_path(entry: os.DirEntry[str]) -> str:
    """What to blame when looking at `entry` is refused. Looking at a file needs no rights on
    the file, only on its folder (one we may list but not enter: no x bit), so for a plain
    entry the folder is to blame, once for all its files; for a link, the link's target."""
    try:
        is_link = entry.is_symlink()
    except OSError:
        is_link = False  # even the entry itself cannot be looked at: its folder blocks it
    return entry.path if is_link else os.path.dirname(entry.path)


def scan_file(
    path: str,
    kinds: frozenset[str] = ALL_KINDS,
    on_unreadable: UnreadableCallback | None = None,
) -> dict[str, ScannedFile]:
    """The media file at `path` as a one-entry scan result, or nothing if it is not one (any
    more, or it cannot be looked at: then `on_unreadable` is told)."""
    name = os.path.basename(path)
    kind = media_kind(name, kinds)
    if kind is None or name.startswith("."):
        return {}
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as error:
        _report_unreadable(path, error, on_unreadable)
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
    relative = os.path.relpath(path, root)
    if relative == os.curdir or relative.split(os.sep)[0] == os.pardir:
        return False  # the root itself (or a path outside it) has no folder in between
    return any(is_skipped_folder(part) for part in relative.split(os.sep)[:-1])


def normalise_root(path: str | os.PathLike[str]) -> str:
    """The absolute form of a folder the user named, so the same folder is one root."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))
