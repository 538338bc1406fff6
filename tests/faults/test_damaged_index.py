"""Damaged index files and manifests are refused before hnswlib reads them and rebuilt from
the stored vectors, never by encoding again."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mediasearch.core.library import CATALOG_FILE, INDEX_DIR, Library
from mediasearch.selftest.shapes import write_shape_images

PHOTOS = 40
QUERY = "a green star"
OPEN_TIMEOUT_S = 120

# Opens the library in a child process, so a crash inside hnswlib shows as a signal, not as
# the test runner dying; prints what it found.
OPEN_SCRIPT = """
import json, sys
from pathlib import Path
from mediasearch.core.library import Library
with Library(Path(sys.argv[1]), model=sys.argv[2], device="cpu") as library:
    model_id, index = library.open_index(False)
    labels = set(library.catalog.embedded_labels(model_id).tolist())
    print(json.dumps({"health": str(index.health), "count": len(index),
                      "agree": labels == index._live, "encoded": library.encoder.loaded}))
"""


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _zero(path: Path) -> None:
    path.write_bytes(bytes(path.stat().st_size))


def _flip_bits(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in (0, 17, len(data) // 3, len(data) // 2, len(data) - 5):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def _truncate_with_matching_manifest(path: Path) -> None:
    # Damage made before the checksum was taken: only the file's own structure tells.
    _truncate(path)
    manifest_path = path.with_suffix(".json")
    manifest = json.loads(manifest_path.read_text())
    manifest["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))


Damage = Callable[[Path], None]
INDEX_DAMAGE: dict[str, Damage] = {
    "truncated": _truncate,
    "zeroed": _zero,
    "bit-flipped": _flip_bits,
    "truncated, manifest matching": _truncate_with_matching_manifest,
}
MANIFEST_DAMAGE: dict[str, Damage] = {
    "truncated": _truncate,
    "zeroed": _zero,
    "bit-flipped": _flip_bits,
    "deleted": lambda path: path.unlink(),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, tiny_model_spec: str) -> tuple[Path, list]:
    """A library of PHOTOS photos, and its answer to QUERY."""
    root = tmp_path_factory.mktemp("built")
    write_shape_images(root / "photos", PHOTOS, seed=3, size=64)
    with Library(root / "home", model=tiny_model_spec, device="cpu") as library:
        library.index([str(root / "photos")])
        answer = [(h.path, round(h.score, 5)) for h in library.search(QUERY, k=10)]
    return root / "home", answer


def _vectors(home: Path) -> list[tuple[int, int, bytes]]:
    with sqlite3.connect(f"file:{home / CATALOG_FILE}?mode=ro", uri=True) as db:
        return db.execute("SELECT file_id, seq, vector FROM embeddings ORDER BY file_id").fetchall()


def _open_in_child(home: Path, model: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", OPEN_SCRIPT, str(home), model],
        capture_output=True,
        text=True,
        timeout=OPEN_TIMEOUT_S,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, f"opening crashed ({result.returncode}): {result.stderr}"
    opened: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return opened


def _damage_and_reopen(
    built: tuple[Path, list], tmp_path: Path, model: str, suffix: str, damage: Damage
) -> None:
    source, answer = built
    home = tmp_path / "home"
    shutil.copytree(source, home)
    before = _vectors(home)
    (target,) = (home / INDEX_DIR).glob(f"*{suffix}")
    damage(target)

    opened = _open_in_child(home, model)

    assert opened == {"health": "rebuilt", "count": PHOTOS, "agree": True, "encoded": False}
    assert _vectors(home) == before  # rebuilt from the stored vectors: nothing encoded again
    assert _open_in_child(home, model)["health"] == "loaded"  # the rebuilt index was saved
    with Library(home, model=model, device="cpu") as library:
        assert [(h.path, round(h.score, 5)) for h in library.search(QUERY, k=10)] == answer


@pytest.mark.parametrize("damage", INDEX_DAMAGE.values(), ids=INDEX_DAMAGE.keys())
def test_damaged_index_file_is_rebuilt(
    built: tuple[Path, list], tmp_path: Path, tiny_model_spec: str, damage: Damage
) -> None:
    _damage_and_reopen(built, tmp_path, tiny_model_spec, ".hnsw", damage)


@pytest.mark.parametrize("damage", MANIFEST_DAMAGE.values(), ids=MANIFEST_DAMAGE.keys())
def test_damaged_manifest_is_rebuilt(
    built: tuple[Path, list], tmp_path: Path, tiny_model_spec: str, damage: Damage
) -> None:
    _damage_and_reopen(built, tmp_path, tiny_model_spec, ".json", damage)


def test_leftover_temp_files_are_harmless(
    built: tuple[Path, list], tmp_path: Path, tiny_model_spec: str
) -> None:
    """A save killed before its renames leaves temp files; the saved pair still loads."""
    source, _ = built
    home = tmp_path / "home"
    shutil.copytree(source, home)
    (index_file,) = (home / INDEX_DIR).glob("*.hnsw")
    for name in (f".{index_file.name}.99999.tmp", f".{index_file.stem}.json.99999.tmp"):
        (home / INDEX_DIR / name).write_bytes(os.urandom(100))
    assert _open_in_child(home, tiny_model_spec)["health"] == "loaded"
