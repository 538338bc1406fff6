"""The one exception type raised for media files that cannot be decoded."""

from __future__ import annotations


class MediaError(Exception):
    """A file that cannot be decoded.

    ``str(error)`` is a short reason a user can read, e.g. ``'truncated or corrupt JPEG'``,
    ``'not an image file'``, ``'image too large (50000x50000 pixels)'``, ``'permission denied'``,
    ``'file is empty'``, ``'file disappeared before it could be read'``.
    """
