"""Cheap content fingerprints: a hash of a file's head, tail and size."""

from __future__ import annotations

import hashlib
import os

# 64 KiB from each end holds the headers, EXIF and enough pixels to tell two photos apart,
# while costing one or two disk reads whatever the file's size.
EDGE_BYTES = 64 * 1024


def content_hash(path: str | os.PathLike[str]) -> str:
    """Fingerprint that survives moves and renames but changes when the content does.

    Raises OSError when the file cannot be read.
    """
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        digest.update(size.to_bytes(8, "little"))
        digest.update(f.read(EDGE_BYTES))
        if size > 2 * EDGE_BYTES:
            f.seek(size - EDGE_BYTES)
            digest.update(f.read(EDGE_BYTES))
        elif size > EDGE_BYTES:
            digest.update(f.read())
    return digest.hexdigest()
