"""Decode functions that misbehave, for the worker-process tests (DECODE_TARGET points here).

Each takes a DecodeJob and chooses what to do from its path's file name, so one patched target
serves a whole test: "crash-exit", "crash-segv", "hang", "raise", "modules", anything else
decodes normally.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from mediasearch.core.media.decode_job import DecodeJob, DecodeResult, decode

# Modules the decoder process must never load: they are heavy and unneeded there.
HEAVY_MODULES = ("torch", "open_clip", "onnxruntime", "PySide6", "PyQt6", "mediasearch.ui")


def misbehave(job: DecodeJob) -> DecodeResult:
    name = Path(job.path).name
    if name.startswith("crash-exit"):
        os._exit(11)
    if name.startswith("crash-segv"):
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(10)  # the signal is delivered asynchronously on some systems
    if name.startswith("hang"):
        time.sleep(3600)
    if name.startswith("raise"):
        raise RuntimeError("the decoder has a bug")
    if name.startswith("modules"):
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY_MODULES)
        return DecodeResult(error=f"pid={os.getpid()} heavy={','.join(loaded)}")
    return decode(job)
