"""End to end on drawn videos and synthesized sounds: indexed, searched by moment, filtered."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from mediasearch.core.library import Library
from mediasearch.core.search import SearchFilters
from mediasearch.selftest.shapes import draw_shape, write_shape_images
from tests.support.sounds import SOUNDS, write_sound_files, write_two_part_sound
from tests.support.videos import (
    write_audio_only_mp4,
    write_broken_wav,
    write_truncated_video,
    write_video,
)

SEGMENT_S = 6.0
LibraryFactory = Callable[..., Library]


@pytest.fixture
def media_folder(tmp_path: Path) -> Path:
    """Photos of every shape, a red-circle-then-blue-square video, and a lone green star."""
    folder = tmp_path / "media"
    write_shape_images(folder / "photos", 24, seed=3)
    write_video(
        folder / "clips" / "circle then square.mp4",
        [("circle", "red", SEGMENT_S), ("square", "blue", SEGMENT_S)],
    )
    write_video(folder / "clips" / "star.mkv", [("star", "green", 4.0)])
    return folder


def video_hits(library: Library, query: str, k: int = 30) -> list:
    return [h for h in library.search(query, k) if h.kind == "video"]


def test_a_video_is_found_once_at_its_best_moment(
    make_library: LibraryFactory, media_folder: Path, tmp_path: Path
) -> None:
    library = make_library()
    summary = library.index([str(media_folder)])
    assert not summary.skipped
    clip = str(media_folder / "clips" / "circle then square.mp4")

    hits = library.search("a blue square", 30)
    found = [h for h in hits if h.path == clip]
    assert len(found) == 1, "a video appears once, however many of its frames match"
    assert found[0].at_s is not None and found[0].at_s >= SEGMENT_S - 0.5
    assert found[0].duration_s == pytest.approx(2 * SEGMENT_S, abs=0.5)

    red_circle = tmp_path / "query.png"
    draw_shape("circle", "red", random.Random(99), size=96).save(red_circle)
    similar = [h for h in library.similar(str(red_circle), 30) if h.path == clip]
    assert similar and similar[0].at_s is not None and similar[0].at_s < SEGMENT_S

    # Only videos, when asked; the star video is not a blue square.
    only_videos = library.search("a blue square", 5, filters=SearchFilters(kinds=("video",)))
    assert only_videos[0].path == clip
    assert {h.kind for h in only_videos} == {"video"}


def test_a_video_keeps_its_moments_through_a_rename(
    make_library: LibraryFactory, media_folder: Path
) -> None:
    library = make_library()
    library.index([str(media_folder)])
    old = media_folder / "clips" / "circle then square.mp4"
    new = media_folder / "clips" / "renamed.mp4"
    old.rename(new)
    summary = library.index()
    assert summary.moved == 1 and summary.indexed == 0
    found = [h for h in video_hits(library, "a blue square") if h.path == str(new)]
    assert found and found[0].at_s is not None and found[0].at_s >= SEGMENT_S - 0.5


def test_bad_media_is_recorded_once_with_a_reason(
    make_library: LibraryFactory, tiny_clap_spec: str, tmp_path: Path
) -> None:
    folder = tmp_path / "bad"
    write_truncated_video(folder / "cut.mp4")
    (folder / "empty.mp3").parent.mkdir(parents=True, exist_ok=True)
    (folder / "empty.mp3").touch()
    write_broken_wav(folder / "broken.wav")
    (folder / "notes.mov").write_text("not a video at all")
    write_video(folder / "fine.mp4", [("triangle", "yellow", 2.0)])
    library = make_library(audio_model=tiny_clap_spec)
    summary = library.index([str(folder)])
    reasons = dict(summary.skipped)
    assert set(reasons) == {
        str(folder / n) for n in ("cut.mp4", "empty.mp3", "broken.wav", "notes.mov")
    }
    assert reasons[str(folder / "empty.mp3")] == "file is empty"
    assert all(reasons.values())
    assert library.status().files_ok == 1
    # Skipped files are not tried again until they change.
    again = library.index()
    assert again.skipped == [] and again.indexed == 0


def test_an_mp4_without_picture_is_searched_as_a_sound(
    make_library: LibraryFactory, tiny_clap_spec: str, tmp_path: Path
) -> None:
    folder = tmp_path / "memo"
    write_audio_only_mp4(folder / "voice memo.mp4")
    with_sound = make_library(home=tmp_path / "home-sound", audio_model=tiny_clap_spec)
    assert with_sound.index([str(folder)]).skipped == []
    record = with_sound.catalog.file_by_path(str(folder / "voice memo.mp4"))
    assert record is not None and record.kind == "audio"
    without_sound = make_library(home=tmp_path / "home-plain")
    reasons = dict(without_sound.index([str(folder)]).skipped)
    assert reasons == {str(folder / "voice memo.mp4"): "no video stream"}


def test_sounds_are_found_by_description_in_a_mixed_library(
    make_library: LibraryFactory, tiny_clap_spec: str, media_folder: Path
) -> None:
    sounds = write_sound_files(media_folder / "sounds", count_per_sound=2, seed=7)
    write_two_part_sound(media_folder / "sounds" / "low then high.wav", "low", "high", 4.0, 16000)
    library = make_library(audio_model=tiny_clap_spec)
    summary = library.index([str(media_folder)])
    assert not summary.skipped

    only_sounds = SearchFilters(kinds=("audio",))
    for name, caption in SOUNDS.items():
        best = library.search(caption, 3, filters=only_sounds)[0]
        assert Path(best.path).name.startswith(name) or "then" in best.path, caption
        # Without a filter, a sound caption brings a sound first, not a photo.
        assert library.search(caption, 3)[0].kind == "audio", caption
    for caption in ("a blue square", "a red circle", "a green star"):
        assert library.search(caption, 3)[0].kind in ("image", "video"), caption

    two_part = str(media_folder / "sounds" / "low then high.wav")
    high = [
        h for h in library.search(SOUNDS["high"], 20, filters=only_sounds) if h.path == two_part
    ]
    low = [h for h in library.search(SOUNDS["low"], 20, filters=only_sounds) if h.path == two_part]
    assert high and high[0].at_s is not None and high[0].at_s >= 2.0
    assert low and low[0].at_s is not None and low[0].at_s < 4.0
    assert len(sounds) == 2 * len(SOUNDS)

    # "More like this" on a sound finds the other clip of the same sound first.
    chirp = next(path for path, name, _ in sounds if name == "chirp")
    similar = library.similar(str(chirp), 3)
    assert similar[0].kind == "audio" and Path(similar[0].path).name.startswith("chirp")
    assert all(h.path != str(chirp) for h in similar)


def test_a_decoder_that_crashes_twice_is_not_tried_again(
    make_library: LibraryFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mediasearch.core.media import worker

    folder = tmp_path / "videos"
    crashing = folder / "crash-segv.mp4"
    write_video(crashing, [("circle", "red", 1.0)])
    write_video(folder / "fine.mp4", [("square", "blue", 1.0)])
    # The decoder process dies of SIGSEGV on files named crash-segv*, as FFmpeg can on a
    # damaged stream.
    monkeypatch.setattr(worker, "DECODE_TARGET", "tests.support.faulty_decoder:misbehave")
    library = make_library()
    first = library.index([str(folder)])
    assert first.indexed == 1  # the good video still gets in
    assert [path for path, _ in first.skipped] == [str(crashing)]
    record = library.catalog.file_by_path(str(crashing))
    assert record is not None and record.status == "error" and record.crashes == 1
    second = library.index()  # one more try, in a fresh worker
    assert [path for path, _ in second.skipped] == [str(crashing)]
    record = library.catalog.file_by_path(str(crashing))
    assert record is not None and record.status == "error" and record.crashes == 2
    assert "crashed" in (record.error or "") and "not retried" in (record.error or "")
    third = library.index()
    assert third.skipped == [] and third.indexed == 0
    record = library.catalog.file_by_path(str(crashing))
    assert record is not None and record.crashes == 2, "given up after two crashes"
    assert [h.path for h in library.search("a blue square", 5) if h.kind == "video"]


def test_a_video_dropped_into_a_watched_folder_is_searchable_at_once(
    make_library: LibraryFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "watched"
    write_shape_images(folder, 8, seed=1)
    library = make_library()
    library.index([str(folder)])
    clip = write_video(
        folder / "new clip.webm", [("star", "yellow", 3.0), ("circle", "green", 3.0)]
    )
    summary = library.apply_changes([str(clip)])  # what the watcher hands over
    assert summary.indexed == 1
    found = [h for h in library.search("a green circle", 10) if h.path == str(clip)]
    assert found and found[0].at_s is not None and found[0].at_s >= 2.5
    # Deleting it takes every one of its moments out of the index.
    clip.unlink()
    library.apply_changes([str(clip)])
    assert all(h.path != str(clip) for h in library.search("a yellow star", 20))
    opened = library.open_index()
    assert opened is not None and not opened[1].has_moments


def test_a_new_sound_model_re_embeds_the_sounds(
    make_library: LibraryFactory, tiny_clap: Path, tmp_path: Path
) -> None:
    import shutil

    sounds = write_sound_files(tmp_path / "sounds", count_per_sound=1, seed=3)
    first = make_library(audio_model=f"local-dir:{tiny_clap}")
    first.index([str(tmp_path / "sounds")])
    first.close()
    # The same weights in another folder count as another model (identity names the path).
    other = shutil.copytree(tiny_clap, tmp_path / "other-clap")
    second = make_library(audio_model=f"local-dir:{other}")
    summary = second.index()
    assert summary.indexed == len(sounds)
    opened = second.open_sound_index()
    assert opened is not None and len(second.catalog.file_moments(1, opened[0])[0]) >= 1
    assert second.search(SOUNDS["chirp"], 1, filters=SearchFilters(kinds=("audio",)))
