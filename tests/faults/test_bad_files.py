"""Corrupt, truncated, mislabelled and empty files: each skipped once with a reason, never retried
until it changes, and indexed as soon as it is fixed."""

from __future__ import annotations

import io
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from mediasearch.core import indexer as indexer_module
from mediasearch.core.library import Library
from mediasearch.core.media.kinds import KIND_AUDIO, KIND_VIDEO
from mediasearch.core.search import SearchFilters
from mediasearch.selftest.shapes import draw_shape, write_shape_images
from tests.support.sounds import SOUNDS, write_sound
from tests.support.videos import write_broken_wav, write_truncated_video, write_video

LibraryFactory = Callable[..., Library]
GOOD_PHOTOS = 8
SEARCH_ALL = 1000  # more hits than any library here holds
# A stretch of random bytes this long wrecks a JPEG's or PNG's header or compressed stream.
DAMAGE_BYTES = 200
WAV_HEADER_CUT = 30  # bytes: inside the fmt chunk, so no sample format is left to read


def assert_consistent(library: Library) -> None:
    """Catalog and index agree in every space, and no search hit points at a missing file."""
    for opened in (library.open_index(), library.open_sound_index()):
        if opened is None:
            continue
        model_id, index = opened
        labels = library.catalog.embedded_labels(model_id)
        assert len(index) == len(labels)
        assert all(int(label) in index for label in labels)
    for hit in library.search("a red circle", SEARCH_ALL):
        assert os.path.exists(hit.path), hit.path


def found_paths(library: Library, kinds: tuple[str, ...] | None = None) -> set[str]:
    filters = SearchFilters(kinds=kinds) if kinds else None
    return {h.path for h in library.search("a red circle", SEARCH_ALL, filters=filters)}


def error_reasons(library: Library) -> dict[str, str]:
    """Failed files and their reasons, checking that each is listed once."""
    records = library.errors()
    paths = [r.path for r in records]
    assert len(paths) == len(set(paths)), "a failed file is listed more than once"
    return {r.path: r.error or "" for r in records}


def skipped_once(summary_skipped: list[tuple[str, str]]) -> dict[str, str]:
    paths = [path for path, _ in summary_skipped]
    assert len(paths) == len(set(paths)), "a file is reported more than once in one run"
    return dict(summary_skipped)


def damaged(data: bytes, at: float, seed: int = 0) -> bytes:
    """`data` with DAMAGE_BYTES random bytes written over it from fraction `at` on."""
    rng = random.Random(seed)
    start = int(len(data) * at)
    noise = bytes(rng.randrange(256) for _ in range(DAMAGE_BYTES))
    return data[:start] + noise + data[start + DAMAGE_BYTES :]


def photo_bytes(fmt: str, seed: int = 1) -> bytes:
    buffer = io.BytesIO()
    draw_shape("circle", "red", random.Random(seed), 96).save(buffer, fmt)
    return buffer.getvalue()


@dataclass
class BadFolder:
    root: Path
    good: list[Path]
    bad: dict[Path, str]  # each bad file -> a part of the reason it must be skipped with


@pytest.fixture
def bad_folder(tmp_path: Path) -> BadFolder:
    """Good photos, a video and a sound next to broken files of every kind."""
    root = tmp_path / "media"
    good = [p for p, _, _ in write_shape_images(root / "photos", GOOD_PHOTOS, seed=2)]
    good.append(write_video(root / "clips" / "fine.mp4", [("circle", "red", 1.0)]))
    good.append(write_sound(root / "sounds" / "fine.wav", "high", seconds=2.0))
    bad_dir = root / "bad"
    bad_dir.mkdir()
    jpeg, png = photo_bytes("JPEG"), photo_bytes("PNG")
    writes: dict[str, tuple[bytes, str]] = {
        "corrupt.jpg": (damaged(jpeg, 0.02), "truncated or corrupt JPEG"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "truncated or corrupt JPEG"),
        "corrupt.png": (damaged(png, 0.4), "truncated or corrupt PNG"),
        "truncated.png": (png[: len(png) // 2], "truncated or corrupt PNG"),
        "notes.jpg": (b"shopping list: eggs, milk\n" * 20, "not an image file"),
        "garbage.mp4": (os.urandom(4096), "not a video file"),
    }
    bad: dict[Path, str] = {}
    for name, (data, reason) in writes.items():
        (bad_dir / name).write_bytes(data)
        bad[bad_dir / name] = reason
    for suffix in (".jpg", ".png", ".mp4", ".wav"):
        (bad_dir / f"empty{suffix}").touch()
        bad[bad_dir / f"empty{suffix}"] = "file is empty"
    bad[write_truncated_video(bad_dir / "truncated.mp4")] = "truncated or corrupt video"
    bad[write_broken_wav(bad_dir / "corrupt.wav")] = "truncated or corrupt audio"
    wav = write_sound(tmp_path / "scratch.wav", "low", seconds=1.0).read_bytes()
    (bad_dir / "truncated.wav").write_bytes(wav[:WAV_HEADER_CUT])
    bad[bad_dir / "truncated.wav"] = "truncated or corrupt audio"
    return BadFolder(root, good, bad)


@pytest.fixture
def library(make_library: LibraryFactory, tiny_clap_spec: str) -> Library:
    return make_library(audio_model=tiny_clap_spec)


def test_each_bad_file_is_skipped_once_with_its_reason(
    library: Library, bad_folder: BadFolder
) -> None:
    summary = library.index([str(bad_folder.root)])

    reasons = skipped_once(summary.skipped)
    assert set(reasons) == {str(p) for p in bad_folder.bad}
    for path, expected in bad_folder.bad.items():
        assert expected in reasons[str(path)], path.name
    assert summary.indexed == len(bad_folder.good)
    # The app and `status --errors` list the same files with the same reasons.
    assert error_reasons(library) == reasons
    # Every good file is searchable, no bad one is.
    assert found_paths(library) == {str(p) for p in bad_folder.good}
    assert found_paths(library, (KIND_VIDEO,)) == {str(bad_folder.root / "clips" / "fine.mp4")}
    assert found_paths(library, (KIND_AUDIO,)) == {str(bad_folder.root / "sounds" / "fine.wav")}
    assert_consistent(library)


def test_a_wav_cut_inside_its_samples_keeps_its_playable_part(
    library: Library, tmp_path: Path
) -> None:
    # Players read such a file up to where it ends; so does the indexer.
    whole = write_sound(tmp_path / "scratch.wav", "clicks", seconds=2.0).read_bytes()
    cut = tmp_path / "sounds" / "cut.wav"
    cut.parent.mkdir()
    cut.write_bytes(whole[: len(whole) // 2])

    summary = library.index([str(tmp_path / "sounds")])

    assert summary.skipped == [] and summary.indexed == 1
    best = library.search(SOUNDS["clicks"], 1, filters=SearchFilters(kinds=(KIND_AUDIO,)))
    assert [h.path for h in best] == [str(cut)]
    assert_consistent(library)


def test_bad_files_are_read_again_only_when_they_change(
    library: Library, bad_folder: BadFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    library.index([str(bad_folder.root)])
    first_reasons = error_reasons(library)

    again = library.index()
    assert again.skipped == [] and again.indexed == 0
    assert again.unchanged == len(bad_folder.good) + len(bad_folder.bad)
    assert error_reasons(library) == first_reasons

    # Touched, same bytes: hashed again, found identical, not decoded again.
    decoded: list[str] = []
    real_decode = indexer_module.decode_image

    def counting_decode(path, min_side=None):  # type: ignore[no-untyped-def]
        decoded.append(str(path))
        return real_decode(path, min_side=min_side)

    monkeypatch.setattr(indexer_module, "decode_image", counting_decode)
    bad_dir = bad_folder.root / "bad"
    touched = bad_dir / "corrupt.jpg"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    after_touch = library.index()
    assert after_touch.skipped == [] and after_touch.indexed == 0 and decoded == []
    assert error_reasons(library) == first_reasons

    # Rewritten but still broken: read again, reported again, still listed once.
    (bad_dir / "truncated.jpg").write_bytes(photo_bytes("JPEG", seed=3)[:300])
    rewritten = library.index()
    assert decoded == [str(bad_dir / "truncated.jpg")]
    assert skipped_once(rewritten.skipped) == {
        str(bad_dir / "truncated.jpg"): "truncated or corrupt JPEG"
    }
    assert error_reasons(library) == first_reasons

    # Fixed: a photo, a video and a sound each get indexed and become searchable.
    (bad_dir / "notes.jpg").write_bytes(photo_bytes("JPEG", seed=4))
    fixed_video = write_video(bad_dir / "empty.mp4", [("circle", "red", 1.0)])
    fixed_sound = write_sound(bad_dir / "corrupt.wav", "chirp", seconds=2.0)
    fixed = library.index()
    assert fixed.skipped == [] and fixed.indexed == 3
    fixed_paths = {str(bad_dir / "notes.jpg"), str(fixed_video), str(fixed_sound)}
    assert fixed_paths <= found_paths(library)
    remaining = {str(p) for p in bad_folder.bad} - fixed_paths
    assert set(error_reasons(library)) == remaining
    assert_consistent(library)
    assert library.index().indexed == 0


def test_a_good_file_that_gets_damaged_leaves_the_index(
    library: Library, bad_folder: BadFolder
) -> None:
    library.index([str(bad_folder.root)])
    photo = next(p for p in bad_folder.good if p.suffix == ".jpg")
    video = bad_folder.root / "clips" / "fine.mp4"
    assert {str(photo), str(video)} <= found_paths(library)

    photo.write_bytes(photo.read_bytes()[:200])
    video.write_bytes(video.read_bytes()[:300])
    summary = library.index()

    reasons = skipped_once(summary.skipped)
    assert reasons == {
        str(photo): "truncated or corrupt JPEG",
        str(video): "truncated or corrupt video",
    }
    assert summary.indexed == 0
    assert not {str(photo), str(video)} & found_paths(library)
    assert {str(photo), str(video)} <= set(error_reasons(library))
    assert_consistent(library)


def test_a_corrupt_heic_is_skipped_with_a_reason(
    make_library: LibraryFactory, tmp_path: Path
) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    folder = tmp_path / "heic"
    folder.mkdir()
    good = folder / "good.heic"
    picture = draw_shape("circle", "red", random.Random(5), 96)
    pillow_heif.from_pillow(picture).save(str(good))
    data = good.read_bytes()
    (folder / "truncated.heic").write_bytes(data[: len(data) // 2])
    # Damage to the picture stream only blurs it (the decoder carries on); the boxes that
    # describe the picture are what a corrupt file loses.
    (folder / "corrupt.heic").write_bytes(damaged(data, 0.1))
    (folder / "empty.heic").touch()
    library = make_library()

    summary = library.index([str(folder)])

    reasons = skipped_once(summary.skipped)
    assert set(reasons) == {
        str(folder / n) for n in ("truncated.heic", "corrupt.heic", "empty.heic")
    }
    assert reasons[str(folder / "empty.heic")] == "file is empty"
    assert all("HEIF" in reasons[str(folder / n)] for n in ("truncated.heic", "corrupt.heic"))
    assert found_paths(library) == {str(good)}
    assert Image.open(good).size == picture.size
    assert_consistent(library)
    assert library.index().skipped == []
