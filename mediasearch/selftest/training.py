"""What the tiny check models share: seeding, learning-rate schedule, saving into place."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import torch


@contextlib.contextmanager
def reproducible_torch(seed: int) -> Iterator[None]:
    """Seed torch and train on one thread for the block, restoring the caller's settings after.

    One thread makes the result independent of the machine's core count and costs little:
    the ops are too small to gain much from threading (two threads were about a quarter
    faster on an idle machine), while with another process competing for the two cores,
    two-threaded training slowed down as much as twenty-fold.
    `torch.use_deterministic_algorithms` is not needed on CPU and is left off: it fills every
    new tensor with NaN first, which made training about four times slower.
    """
    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


def lr_factor(step: int, total_steps: int, warmup_steps: int) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    return 0.5 * (1 + math.cos(math.pi * progress))


def move_into_place(work_dir: Path, out_dir: Path, is_complete: Callable[[Path], bool]) -> Path:
    """Rename a finished model folder into place, so no reader sees a half-written one."""
    try:
        work_dir.rename(out_dir)
    except OSError:
        # Another process (e.g. a parallel test worker) finished the same folder first.
        if not is_complete(out_dir):
            raise
    return out_dir
