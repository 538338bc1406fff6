"""Checks shared by every decoder: is it a regular file, can it be read, why not."""

from __future__ import annotations

import os
import stat

from mediasearch.core.media.errors import MediaError


def check_regular_file(name: str) -> None:
    """Raise MediaError for a folder, FIFO or device (OSError when it cannot be stat'ed)."""
    mode = os.stat(name).st_mode
    if stat.S_ISDIR(mode):
        raise MediaError("is a folder, not a file")
    if not stat.S_ISREG(mode):
        # Opening a FIFO named *.jpg would block the indexer forever; devices are no photos.
        raise MediaError("not a regular file")


def describe_os_error(error: OSError, path: str | None) -> str:
    """A short reason a user can read for an OSError met while reading `path`."""
    if isinstance(error, FileNotFoundError | NotADirectoryError):
        return "file disappeared before it could be read"
    if isinstance(error, IsADirectoryError) or (path is not None and os.path.isdir(path)):
        return "is a folder, not a file"  # Windows reports folders as PermissionError
    if isinstance(error, PermissionError):
        return "permission denied"
    return f"could not read file ({error.strerror or error})"


def read_head(name: str, count: int) -> bytes:
    """The first `count` bytes of a regular, non-empty file, or a MediaError saying why not."""
    try:
        check_regular_file(name)
        with open(name, "rb") as fp:
            head = fp.read(count)
    except OSError as error:
        raise MediaError(describe_os_error(error, name)) from error
    except ValueError as error:  # e.g. a NUL character in the file name
        raise MediaError(f"cannot open this file name ({error})") from error
    if not head:
        raise MediaError("file is empty")
    return head
