"""Tests for mediasearch.core.media.worker: decoding in a child process that may crash or hang."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mediasearch.core.media import worker as worker_module
from mediasearch.core.media.decode_job import NO_STREAMS, DecodeJob, DecodeResult, decode
from mediasearch.core.media.worker import (
    DEFAULT_TIMEOUT_S,
    MediaWorker,
    MediaWorkerPool,
    WorkerCrashed,
    WorkerError,
    WorkerTimedOut,
)
from tests.support.videos import (
    write_audio_only_mp4,
    write_tone,
    write_truncated_video,
    write_video,
    write_video_without_streams,
)

FAULTY = "tests.support.faulty_decoder:misbehave"
SHORT_TIMEOUT_S = 2.0
RATE = 16_000


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s with sound: a red circle, then a blue square."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    return write_video(path, [("circle", "red", 2.0), ("square", "blue", 2.0)], with_audio=True)


@pytest.fixture
def worker() -> Iterator[MediaWorker]:
    with MediaWorker() as opened:
        yield opened


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route jobs through tests/support/faulty_decoder.py, which misbehaves by file name."""
    monkeypatch.setattr(worker_module, "DECODE_TARGET", FAULTY)


def job(path: Path | str, kind: str = "video", **kwargs: object) -> DecodeJob:
    return DecodeJob(str(path), kind, **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- decode_job (in process)


def test_decode_video_with_sound(clip: Path) -> None:
    result = decode(job(clip, audio_sample_rate=RATE, audio_window_s=1.0))
    assert result.error is None and result.audio_error is None
    assert result.video is not None and len(result.video.frames) >= 2
    assert result.audio_windows is not None
    assert [start for start, _ in result.audio_windows] == [0.0, 1.0, 2.0, 3.0]
    assert result.audio_duration_s == pytest.approx(4.0, abs=0.1)


def test_decode_video_leaves_sound_alone_without_a_rate(clip: Path) -> None:
    result = decode(job(clip))
    assert result.video is not None and result.audio_windows is None


def test_decode_audio_file(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "tone.m4a", 3.0)
    result = decode(job(path, "audio", audio_sample_rate=RATE, audio_window_s=1.0))
    assert result.video is None and result.error is None
    assert result.audio_windows is not None and len(result.audio_windows) == 3


def test_video_file_with_only_sound(tmp_path: Path) -> None:
    path = write_audio_only_mp4(tmp_path / "voice.mp4")
    result = decode(job(path, audio_sample_rate=RATE, audio_window_s=1.0))
    assert result.error is None and result.video is None
    assert result.audio_windows is not None and len(result.audio_windows) == 3
    assert decode(job(path)).error == "no video stream"  # sound not asked for


def test_video_file_with_neither(tmp_path: Path) -> None:
    path = write_video_without_streams(tmp_path / "subtitles.mkv")
    assert decode(job(path, audio_sample_rate=RATE)).error == NO_STREAMS


def test_bad_files_come_back_as_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp3"
    empty.touch()
    assert decode(job(empty, "audio", audio_sample_rate=RATE)).error == "file is empty"
    truncated = write_truncated_video(tmp_path / "cut.mp4")
    assert decode(job(truncated)).error == "truncated or corrupt video"


def test_job_arguments_are_checked_in_the_caller() -> None:
    with pytest.raises(ValueError, match="audio_sample_rate"):
        DecodeJob("song.mp3", "audio")
    with pytest.raises(ValueError, match="kind"):
        job("photo.jpg", "image")


def test_job_and_result_pickle(clip: Path) -> None:
    result = decode(job(clip, audio_sample_rate=RATE))
    copy = pickle.loads(pickle.dumps(result))
    assert isinstance(copy, DecodeResult)
    assert copy.video is not None and result.video is not None
    assert copy.video.frames[0].image.tobytes() == result.video.frames[0].image.tobytes()
    assert pickle.loads(pickle.dumps(job(clip))) == job(clip)


# ---------------------------------------------------------------- the worker process


def test_worker_decodes_in_a_child(worker: MediaWorker, clip: Path) -> None:
    result = worker.run(job(clip, audio_sample_rate=RATE, audio_window_s=1.0))
    assert result.error is None
    assert result.video is not None
    frames = result.video.frames
    assert frames[0].at_s == 0.0 and frames[0].image.size == (96, 96)
    assert result.audio_windows is not None
    assert all(w.dtype == np.float32 and w.size == RATE for _, w in result.audio_windows)
    again = worker.run(job(clip))
    assert again.video is not None
    assert worker.starts == 1  # one long-lived child for both jobs


def test_bad_file_is_an_error_not_a_crash(worker: MediaWorker, tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    assert worker.run(job(text)).error == "not a video file or unsupported format"
    assert worker.starts == 1


def test_child_loads_no_heavy_modules(worker: MediaWorker, faulty: None, clip: Path) -> None:
    report = worker.run(job(Path("modules.mp4"))).error
    assert report is not None and report.endswith("heavy=")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("crash-exit.mp4", "the decoder crashed (exit code 11)"),
        ("crash-segv.mp4", "the decoder crashed (signal SIGSEGV)"),
    ],
)
def test_crash_is_reported_and_the_worker_restarts(
    worker: MediaWorker, faulty: None, clip: Path, name: str, expected: str
) -> None:
    assert worker.run(job(clip)).video is not None
    with pytest.raises(WorkerCrashed) as caught:
        worker.run(job(clip.with_name(name)), SHORT_TIMEOUT_S)
    assert str(caught.value) == expected
    result = worker.run(job(clip))  # a fresh child
    assert result.video is not None
    assert worker.starts == 2


def test_hang_times_out_and_the_worker_restarts(
    worker: MediaWorker, faulty: None, clip: Path
) -> None:
    worker.run(job(clip))  # started: the timeout below measures the job alone
    began = time.monotonic()
    with pytest.raises(WorkerTimedOut) as caught:
        worker.run(job(clip.with_name("hang.mp4")), SHORT_TIMEOUT_S)
    assert str(caught.value) == "decoding took longer than 2 s"
    assert SHORT_TIMEOUT_S <= time.monotonic() - began < SHORT_TIMEOUT_S + 3.0
    assert worker.run(job(clip)).video is not None
    assert worker.starts == 2


def test_decoder_exception_is_an_error_and_keeps_the_child(
    worker: MediaWorker, faulty: None, clip: Path
) -> None:
    with pytest.raises(WorkerError) as caught:
        worker.run(job(clip.with_name("raise.mp4")))
    assert not isinstance(caught.value, WorkerCrashed | WorkerTimedOut)
    assert str(caught.value) == "the decoder failed (RuntimeError: the decoder has a bug)"
    assert worker.run(job(clip)).video is not None
    assert worker.starts == 1


def child_pid(worker: MediaWorker) -> int:
    """The pid of the worker's current child, as the child itself reports it."""
    report = worker.run(job(Path("modules.mp4"))).error
    assert report is not None and report.startswith("pid=")
    return int(report.split()[0].removeprefix("pid="))


def alive(pid: int) -> bool:
    """True while any thread of the process runs; a zombie (dead, not yet reaped) is gone."""
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # that thread just went
    return any(state not in ("Z", "X") for state in states)


def wait_until_gone(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@needs_proc
def test_child_killed_while_idle_is_replaced_quietly(
    worker: MediaWorker, faulty: None, clip: Path
) -> None:
    pid = child_pid(worker)
    os.kill(pid, signal.SIGKILL)
    assert wait_until_gone(pid)
    assert worker.run(job(clip)).video is not None  # not blamed on this job
    assert child_pid(worker) != pid
    assert worker.starts == 2


@needs_proc
def test_child_leaves_when_the_parent_dies(tmp_path: Path) -> None:
    # A parent that starts a hanging job and then dies without closing anything.
    script = textwrap.dedent(
        f"""
        import os, threading, time
        from mediasearch.core.media import worker
        from mediasearch.core.media.decode_job import DecodeJob

        worker.DECODE_TARGET = {FAULTY!r}
        w = worker.MediaWorker()
        print(w.run(DecodeJob("modules.mp4", "video")).error.split()[0], flush=True)
        hang = threading.Thread(target=w.run, args=(DecodeJob("hang.mp4", "video"),))
        hang.start()
        time.sleep(0.5)
        os._exit(0)
        """
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[0].removeprefix("pid="))
    assert wait_until_gone(pid), "the decoder outlived its parent"


def test_closed_worker_refuses_jobs(clip: Path) -> None:
    worker = MediaWorker()
    worker.run(job(clip))
    worker.close()
    worker.close()  # twice is fine
    with pytest.raises(WorkerError, match="closed"):
        worker.run(job(clip))


def test_close_ends_a_running_job_at_once(faulty: None, clip: Path) -> None:
    worker = MediaWorker()
    worker.run(job(clip))
    errors: list[BaseException] = []

    def hang() -> None:
        try:
            worker.run(job(clip.with_name("hang.mp4")), DEFAULT_TIMEOUT_S)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=hang)
    thread.start()
    time.sleep(0.3)
    began = time.monotonic()
    worker.close()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - began < 5
    assert len(errors) == 1 and isinstance(errors[0], WorkerError)
    assert "closed" in str(errors[0])


def test_bad_timeout(worker: MediaWorker, clip: Path) -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        worker.run(job(clip), 0)


# ---------------------------------------------------------------- the pool


def test_pool_runs_jobs_from_many_threads(faulty: None, clip: Path) -> None:
    pids: list[str] = []
    results: list[DecodeResult] = []
    lock = threading.Lock()

    with MediaWorkerPool(2) as pool:

        def work(index: int) -> None:
            if index % 2:
                result = pool.run(job(clip))
                with lock:
                    results.append(result)
            else:
                report = pool.run(job(Path("modules.mp4"))).error
                assert report is not None
                with lock:
                    pids.append(report.split()[0])

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert len(results) == 4 and all(r.video is not None for r in results)
    assert 1 <= len(set(pids)) <= 2  # never more children than workers


def test_pool_keeps_working_around_a_hang(faulty: None, clip: Path) -> None:
    with MediaWorkerPool(2) as pool:
        outcome: list[BaseException] = []

        def hang() -> None:
            try:
                pool.run(job(clip.with_name("hang.mp4")), SHORT_TIMEOUT_S)
            except WorkerTimedOut as error:
                outcome.append(error)

        thread = threading.Thread(target=hang)
        thread.start()
        began = time.monotonic()
        assert pool.run(job(clip)).video is not None  # on the other worker meanwhile
        assert time.monotonic() - began < SHORT_TIMEOUT_S
        thread.join(30)
        assert len(outcome) == 1
        assert pool.run(job(clip)).video is not None


def test_closed_pool_refuses_jobs(clip: Path) -> None:
    pool = MediaWorkerPool(1)
    pool.close()
    with pytest.raises(WorkerError, match="closed"):
        pool.run(job(clip))
    with pytest.raises(ValueError):
        MediaWorkerPool(0)
