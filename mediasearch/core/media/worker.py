"""Video and sound decoding in child processes, so a crashing or hanging decoder costs one file."""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, cast

if TYPE_CHECKING:  # imported by the child; the parent only when a first result arrives
    from mediasearch.core.media.decode_job import DecodeJob, DecodeResult

__all__ = [
    "DECODE_TARGET",
    "DEFAULT_TIMEOUT_S",
    "MediaWorker",
    "MediaWorkerPool",
    "WorkerCrashed",
    "WorkerError",
    "WorkerTimedOut",
]

# "module:function" the child calls with each DecodeJob: a string, resolved in the child (read at
# each run, so tests can point it at a decoder that crashes or hangs).
DECODE_TARGET = "mediasearch.core.media.decode_job:decode"
# Per file. Sampling is bounded (long videos are sampled by seeking), so even a long 4K film
# takes seconds; two minutes means the decoder is stuck, not slow.
DEFAULT_TIMEOUT_S: Final = 120.0
# Starting a child (a fresh interpreter importing numpy, Pillow, PyAV) takes well under a second
# when warm, but a cold disk right after login can take many; this is not charged to a job.
_START_TIMEOUT_S: Final = 60.0
# How long close() waits for an idle child to leave on its own before killing it.
_STOP_TIMEOUT_S: Final = 2.0
# After a kill, or once the pipe reports the child gone, how long to wait for its exit status.
_REAP_TIMEOUT_S: Final = 5.0
_READY: Final = "ready"


class WorkerError(Exception):
    """Decoding did not happen; ``str(error)`` is a short reason a user can read."""


class WorkerCrashed(WorkerError):
    """The decoder process died, e.g. ``'the decoder crashed (signal SIGSEGV)'``."""


class WorkerTimedOut(WorkerError):
    """The decoder took too long and was killed, e.g. ``'decoding took longer than 120 s'``."""


@dataclass(frozen=True)
class _Raised:
    """Sent back instead of a result when the decode function raised (a bug, not a bad file)."""

    kind: str
    message: str
    details: str  # the child's traceback


class MediaWorker:
    """One long-lived decoder process, started on first use and restarted after a crash.

    ``run`` is thread-safe: jobs from several threads take turns. Use a MediaWorkerPool to
    decode several files at once.
    """

    def __init__(self) -> None:
        self._job_lock = threading.Lock()  # one job at a time; guards starting and discarding
        self._state_lock = threading.Lock()  # guards _process/_closed for close()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._closed = False
        self.starts = 0  # child processes started so far (for diagnostics and tests)

    def __enter__(self) -> MediaWorker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def run(self, job: DecodeJob, timeout_s: float = DEFAULT_TIMEOUT_S) -> DecodeResult:
        """Decode ``job`` in the child; raise WorkerCrashed or WorkerTimedOut when it fails.

        A bad file is not a failure: its reason comes back as ``DecodeResult.error``. The
        timeout counts from sending the job; starting the child is not charged to it.
        """
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        target = DECODE_TARGET  # read per job, so that a patched value applies at once
        with self._job_lock:
            conn = self._ensure_started()
            try:
                conn.send((target, job))
                answered = conn.poll(timeout_s)  # also True when the child's end closes
            except (OSError, EOFError) as error:  # the child died before or while we wrote
                raise self._crashed() from error
            if not answered:
                self._discard()
                raise WorkerTimedOut(f"decoding took longer than {timeout_s:g} s")
            try:
                reply = conn.recv()
            except (
                EOFError,
                OSError,
                pickle.UnpicklingError,
                AttributeError,
                ImportError,
            ) as error:
                raise self._crashed() from error
        if isinstance(reply, _Raised):
            failure = WorkerError(f"the decoder failed ({reply.kind}: {reply.message})")
            failure.add_note(reply.details)
            raise failure
        return cast("DecodeResult", reply)

    def close(self) -> None:
        """Stop the child; a job running now ends with WorkerError. Safe to call twice."""
        with self._state_lock:
            self._closed = True
            process = self._process
        if self._job_lock.acquire(blocking=False):
            try:
                self._stop()
            finally:
                self._job_lock.release()
        elif process is not None:
            # A job is running: end it now rather than wait up to its timeout; run() reports
            # the worker closed and reaps the process.
            with contextlib.suppress(Exception):
                process.kill()

    # -- with _job_lock held

    def _ensure_started(self) -> Connection:
        if self._process is not None and not self._process.is_alive():
            # Died while idle (the OOM killer, a stray signal): not this job's fault, start anew.
            self._discard()
        with self._state_lock:
            if self._closed:
                raise WorkerError("the media worker is closed")
            if self._conn is not None:
                return self._conn
            # Never fork: the parent has threads (and maybe torch) whose locks a forked child
            # would inherit mid-use. A spawned child is a fresh interpreter.
            context = multiprocessing.get_context("spawn")
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_child_main,
                args=(child_end, DECODE_TARGET),
                name="mediasearch-decoder",
                daemon=True,  # killed if the app exits without close(), never waited for
            )
            process.start()
            child_end.close()  # so that the child's death reads as EOF here
            self._process, self._conn = process, parent_end
            self.starts += 1
        try:
            started = parent_end.poll(_START_TIMEOUT_S) and parent_end.recv() == _READY
        except (EOFError, OSError) as error:
            raise self._crashed(starting=True) from error
        if not started:
            self._discard()
            raise WorkerCrashed("the decoder process did not start")
        return parent_end

    def _crashed(self, *, starting: bool = False) -> WorkerError:
        """Reap the dead child and describe its death."""
        process = self._process
        exitcode = None
        if process is not None:
            process.join(_REAP_TIMEOUT_S)
            exitcode = process.exitcode
        self._discard()
        if self._closed:
            return WorkerError("the media worker was closed")
        what = "the decoder process could not start" if starting else "the decoder crashed"
        return WorkerCrashed(f"{what} ({_describe_exit(exitcode)})")

    def _discard(self) -> None:
        """Kill the child (if still alive) and forget it; the next job starts a new one."""
        with self._state_lock:
            process, conn = self._process, self._conn
            self._process = self._conn = None
        if process is not None:
            with contextlib.suppress(Exception):
                process.kill()
            process.join(_REAP_TIMEOUT_S)
            with contextlib.suppress(ValueError):  # still running after SIGKILL: leave it be
                process.close()
        if conn is not None:
            conn.close()

    def _stop(self) -> None:
        """Ask an idle child to leave; kill it when it does not."""
        with self._state_lock:
            process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError):
            conn.send(None)
        process.join(_STOP_TIMEOUT_S)
        self._discard()


class MediaWorkerPool:
    """``size`` MediaWorkers shared by many threads: each run() takes a free one or waits."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a pool needs at least one worker, got {size}")
        self._workers = [MediaWorker() for _ in range(size)]
        # A stack: the worker used last (whose child is already running) is handed out first,
        # so a pool used by one thread at a time starts one child, not `size`.
        self._free = list(reversed(self._workers))
        self._condition = threading.Condition()
        self._closed = False

    @property
    def size(self) -> int:
        return len(self._workers)

    def __enter__(self) -> MediaWorkerPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def run(self, job: DecodeJob, timeout_s: float = DEFAULT_TIMEOUT_S) -> DecodeResult:
        """Decode ``job`` on a free worker, waiting for one; raises as MediaWorker.run."""
        with self._condition:
            while not self._free and not self._closed:
                self._condition.wait()
            if self._closed:
                raise WorkerError("the media worker pool is closed")
            worker = self._free.pop()
        try:
            return worker.run(job, timeout_s)
        finally:
            with self._condition:
                self._free.append(worker)
                self._condition.notify()

    def close(self) -> None:
        """Stop every child; waiting and running calls end with WorkerError."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        for worker in self._workers:
            worker.close()


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "no exit status"
    if exitcode < 0:
        try:
            return f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


# ---------------------------------------------------------------- the child


def _child_main(conn: Connection, preload: str) -> None:
    """The child's loop: (target, job) in, result (or _Raised) out, until None or EOF."""
    # Ctrl-C in a terminal signals the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    targets: dict[str, Callable[[Any], Any]] = {}
    with contextlib.suppress(Exception):  # import the decoders now, not on the first job's clock
        targets[preload] = _resolve(preload)
    conn.send(_READY)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if message is None:
            return
        target, job = message
        try:
            function = targets.get(target) or targets.setdefault(target, _resolve(target))
            reply: object = function(job)
        except Exception as error:
            reply = _raised(error)
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as error:  # nothing was written
            conn.send(_raised(error))


def _exit_with_parent() -> None:
    """Leave at once if the parent dies, even in the middle of a hung decode."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _resolve(target: str) -> Callable[[Any], Any]:
    module_name, _, attribute = target.partition(":")
    function = getattr(importlib.import_module(module_name), attribute)
    if not callable(function):
        raise TypeError(f"{target} is not callable")
    return function  # type: ignore[no-any-return]


def _raised(error: BaseException) -> _Raised:
    return _Raised(type(error).__name__, str(error), traceback.format_exc())
