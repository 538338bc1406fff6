"""Keeping a long-running process responsive: the garbage collector skips what lives forever."""

from __future__ import annotations

import gc


def freeze_long_lived_objects() -> None:
    """Move every object alive now out of the cyclic garbage collector's reach.

    Once torch, open_clip and transformers are imported and a model is loaded, the process
    holds millions of objects that live until it exits. Each full collection walked all of
    them with the interpreter lock held: about 0.2 s during which no other thread, the
    window's included, could run, several times a minute while thousands of files were
    being indexed. Frozen objects are never collected (they are not garbage anyway); only
    objects made later are examined. Safe to call again after more long-lived state loads.

    No collection runs first: it would itself stall for that long, and the garbage a fresh
    import leaves is small.
    """
    gc.freeze()
