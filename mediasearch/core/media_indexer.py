"""Index videos and sounds: decode in worker processes, embed frames and windows, commit."""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from mediasearch.core.catalog import EncodedFile, FileRecord, Moments
from mediasearch.core.media.audio import MAX_WINDOWS
from mediasearch.core.media.decode_job import DEFAULT_AUDIO_WINDOW_S, DecodeJob, DecodeResult
from mediasearch.core.media.kinds import KIND_AUDIO, KIND_VIDEO
from mediasearch.core.media.video import MAX_FRAMES
from mediasearch.core.media.worker import (
    DEFAULT_TIMEOUT_S,
    MediaWorkerPool,
    WorkerCrashed,
    WorkerTimedOut,
)

if TYPE_CHECKING:
    from mediasearch.core.index import VectorIndex
    from mediasearch.core.indexer import Indexer, IndexSummary

log = logging.getLogger(__name__)

MEDIA_TIMEOUT_S = DEFAULT_TIMEOUT_S  # per file, then the worker is killed and the file failed


def media_worker_count() -> int:
    """Worker processes decoding videos: half the cores (the model needs the rest), 1 to 4."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


@dataclass
class _Decoded:
    record: FileRecord
    result: DecodeResult | None = None
    crash: str | None = None  # the worker died or hung on this file


class MediaEncoder:
    """One run over pending videos and sounds for an Indexer."""

    def __init__(self, indexer: Indexer, advance: Callable[[str], None]) -> None:
        self.indexer = indexer
        self.catalog = indexer.catalog
        self.advance = advance

    def run(
        self, records: list[FileRecord], summary: IndexSummary, cancel: threading.Event
    ) -> None:
        image = self.indexer.open_index(True)
        assert image is not None
        sound = self.indexer.open_sound(summary)
        if sound is None:
            # Without a sound model, sound files wait (pending) until one is available.
            records = [r for r in records if r.kind != KIND_AUDIO]
        audio_encoder = self.indexer.audio_encoder if sound is not None else None
        sample_rate = audio_encoder.sample_rate if audio_encoder is not None else None
        window_s = audio_encoder.window_s if audio_encoder is not None else DEFAULT_AUDIO_WINDOW_S

        def job(record: FileRecord) -> DecodeJob:
            kind: Literal["video", "audio"] = "video" if record.kind == KIND_VIDEO else "audio"
            return DecodeJob(
                path=record.path,
                kind=kind,
                min_side=self.indexer.encoder.image_size,
                max_frames=MAX_FRAMES,
                audio_sample_rate=sample_rate,
                max_audio_windows=MAX_WINDOWS,
                audio_window_s=window_s,
            )

        owned = self.indexer.media_workers is None
        workers = self.indexer.media_workers or MediaWorkerPool(media_worker_count())
        try:
            threads = max(1, workers.size)
            with ThreadPoolExecutor(threads, thread_name_prefix="media") as pool:
                in_flight: deque[Future[_Decoded]] = deque()
                queue = iter(records)
                for record in queue:
                    in_flight.append(pool.submit(self._decode, workers, record, job(record)))
                    if len(in_flight) >= threads * 2:
                        break
                while in_flight and not cancel.is_set():
                    decoded = in_flight.popleft().result()
                    for record in queue:
                        in_flight.append(pool.submit(self._decode, workers, record, job(record)))
                        break
                    self._commit(decoded, image, sound, summary)
                    self.advance(decoded.record.path)
                for future in in_flight:
                    future.cancel()
        finally:
            if owned:
                workers.close()

    @staticmethod
    def _decode(workers: MediaWorkerPool, record: FileRecord, job: DecodeJob) -> _Decoded:
        try:
            return _Decoded(record, workers.run(job, MEDIA_TIMEOUT_S))
        except (WorkerCrashed, WorkerTimedOut) as error:
            return _Decoded(record, crash=str(error))

    def _commit(
        self,
        decoded: _Decoded,
        image: tuple[int, VectorIndex],
        sound: tuple[int, VectorIndex] | None,
        summary: IndexSummary,
    ) -> None:
        record = decoded.record
        if decoded.crash is not None:
            log.warning("decoder failed on %s: %s", record.path, decoded.crash)
            self.catalog.record_crash(record.id, decoded.crash)
            summary.skipped.append((record.path, decoded.crash))
            return
        result = decoded.result
        assert result is not None
        if result.error is not None and not os.path.lexists(record.path):
            # Deleted between the scan and its decoding: gone, not failed.
            self.catalog.delete_files([record.id])
            summary.removed += 1
            return
        if result.error is not None:
            self.catalog.store_results([], [(record.id, result.error)])
            summary.skipped.append((record.path, result.error))
            return
        moments: list[Moments] = []
        labelled: list[tuple[VectorIndex, int]] = []
        video = result.video
        if video is not None and video.frames:
            prepared = [self.indexer.encoder.prepare(f.image) for f in video.frames]
            vectors = np.concatenate(
                [
                    self.indexer.encoder.encode_prepared(prepared[i : i + self.indexer.batch_size])
                    for i in range(0, len(prepared), self.indexer.batch_size)
                ]
            )
            moments.append(Moments(image[0], vectors, [f.at_s for f in video.frames]))
            labelled.append((image[1], image[0]))
        windows = result.audio_windows or []
        if windows and sound is not None and self.indexer.audio_encoder is not None:
            vectors = self.indexer.audio_encoder.encode_audio([w for _, w in windows])
            moments.append(Moments(sound[0], vectors, [start for start, _ in windows]))
            labelled.append((sound[1], sound[0]))
        if not moments:
            reason = "no video stream" if record.kind == KIND_VIDEO else "no sound to index"
            self.catalog.store_results([], [(record.id, reason)])
            summary.skipped.append((record.path, reason))
            return
        has_picture = video is not None and bool(video.frames)
        self.catalog.store_results(
            [
                EncodedFile(
                    record.id,
                    moments,
                    video.width if video else None,
                    video.height if video else None,
                    video.captured_at if video else None,
                    (video.duration_s if video else None) or result.audio_duration_s,
                    kind=KIND_AUDIO if record.kind == KIND_VIDEO and not has_picture else None,
                )
            ],
            [],
        )
        for index, model_id in labelled:
            index.remove_files([record.id])  # a re-encoded file may have fewer moments now
            labels, vectors = self.catalog.file_moments(record.id, model_id)
            index.add(labels.tolist(), vectors)
        summary.indexed += 1
