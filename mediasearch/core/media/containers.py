"""Opening a file with PyAV (FFmpeg), turning every failure into a MediaError with a reason."""

from __future__ import annotations

import av
from av.container import InputContainer

from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.files import describe_os_error


def open_container(name: str, *, unreadable: str, what: str) -> InputContainer:
    """Open `name` for decoding.

    Args:
        name: the file.
        unreadable: the reason given when FFmpeg cannot make sense of the file, e.g.
            "truncated or corrupt video" (the caller knows whether its first bytes looked
            like a known format).
        what: the kind of file, for the out-of-memory reason ("video", "sound").
    """
    try:
        return av.open(name, metadata_errors="replace")
    except OSError as error:  # PyAV's FileNotFoundError, PermissionError, ... are OSErrors
        raise MediaError(describe_os_error(error, name)) from error
    except MemoryError as error:
        raise MediaError(f"not enough memory to decode this {what}") from error
    except Exception as error:  # av.error.InvalidDataError and friends: FFmpeg can't read it
        raise MediaError(unreadable) from error
