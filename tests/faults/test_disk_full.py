"""A full disk during a catalog commit, an index save or a model download: what was there
stays intact, the user is told the disk is full, and the work resumes when space returns.

A child process lowers its file size limit (RLIMIT_FSIZE, with SIGXFSZ ignored) so its writes
fail the way they do on a full disk, while the test process writes freely.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediasearch.core.library import CATALOG_FILE, INDEX_DIR, Library
from mediasearch.selftest.shapes import write_shape_images
from tests.core.test_weights import _Server

CHILD_TIMEOUT_S = 120
HUB_PATH = "/laion/CLIP-ViT-B-32-laion2B-s34B-b79K/resolve/main/open_clip_model.safetensors"

LIMIT_WRITES = """
import resource, signal
def limit_writes(max_bytes):
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, resource.RLIM_INFINITY))
def unlimit_writes():
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
"""

INDEX_WHEN_FULL = (
    LIMIT_WRITES
    + """
import json, sys
from pathlib import Path
from mediasearch.core.catalog import CatalogError
from mediasearch.core.library import Library
with Library(Path(sys.argv[1]), model=sys.argv[2], device="cpu") as library:
    library.encoder.load()
    limit_writes(int(sys.argv[4]))
    try:
        library.index([sys.argv[3]])
        print(json.dumps({"error": None}))
    except CatalogError as error:
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))
    unlimit_writes()
"""
)

SAVE_WHEN_FULL = (
    LIMIT_WRITES
    + """
import json, sys
from pathlib import Path
from mediasearch.core.catalog import CatalogError
from mediasearch.core.library import Library
with Library(Path(sys.argv[1]), model=sys.argv[2], device="cpu") as library:
    model_id, index = library.open_index(False)
    limit_writes(index.path.stat().st_size // 2)
    try:
        index.save(library.catalog.change_seq())
        result = {"error": None}
    except CatalogError as error:
        result = {"error": type(error).__name__, "message": str(error)}
    result["dirty"] = index.dirty
    result["searchable"] = len(index.query(index.vectors([model_id]), 3)) == 3
    print(json.dumps(result))
    unlimit_writes()
"""
)

DOWNLOAD_WHEN_FULL = (
    LIMIT_WRITES
    + """
import json, sys
from pathlib import Path
from mediasearch.core.weights import ModelSpec, ModelUnavailableError, ensure_pretrained_weights
limit_writes(int(sys.argv[2]))
try:
    ensure_pretrained_weights(ModelSpec.parse("ViT-B-32:laion2b_s34b_b79k"), Path(sys.argv[1]))
    print(json.dumps({"error": None}))
except ModelUnavailableError as error:
    print(json.dumps({"error": type(error).__name__, "message": str(error)}))
"""
)


def _child(script: str, *args: object) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def _vectors(home: Path) -> dict[int, tuple[int, bytes]]:
    with sqlite3.connect(f"file:{home / CATALOG_FILE}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA quick_check").fetchone() == ("ok",)
        rows = db.execute("SELECT file_id, seq, vector FROM embeddings").fetchall()
    return {file_id: (seq, vector) for file_id, seq, vector in rows}


@pytest.fixture
def indexed_home(tmp_path: Path, tiny_model_spec: str) -> Path:
    """A library holding 30 photos, with 90 more waiting in tmp_path / "more"."""
    write_shape_images(tmp_path / "photos", 30, seed=4, size=64)
    write_shape_images(tmp_path / "more", 90, seed=5, size=64)
    home = tmp_path / "home"
    with Library(home, model=tiny_model_spec, device="cpu") as library:
        library.index([str(tmp_path / "photos")])
    return home


def test_full_disk_during_catalog_commits(
    indexed_home: Path, tmp_path: Path, tiny_model_spec: str
) -> None:
    before = _vectors(indexed_home)
    # Room for a few of the batches' commits to the write-ahead log, not for all of them.
    limit = 48 * 1024

    outcome = _child(INDEX_WHEN_FULL, indexed_home, tiny_model_spec, tmp_path / "more", limit)

    assert outcome["error"] == "DiskFullError"
    assert "is full" in str(outcome["message"]) and str(indexed_home) in str(outcome["message"])
    assert "disk I/O error" in str(outcome["message"])  # SQLite's refusal, not the index's
    during = _vectors(indexed_home)  # the catalog is sound and kept all it had
    assert {i: during[i] for i in before} == before
    with Library(indexed_home, model=tiny_model_spec, device="cpu") as library:
        model_id, index = library.open_index(False) or (0, None)
        assert index is not None
        assert set(library.catalog.embedded_labels(model_id).tolist()) == index._live
        summary = library.index()  # space is back: the run picks up where it stopped
        assert summary.indexed == 120 - len(during)
        assert library.status().index_count == 120
        assert len({h.path for h in library.search("a blue square", k=200)}) == 120
    after = _vectors(indexed_home)
    assert {i: after[i] for i in during} == during  # nothing encoded twice


def test_full_disk_during_index_save(indexed_home: Path, tiny_model_spec: str) -> None:
    (index_file,) = (indexed_home / INDEX_DIR).glob("*.hnsw")
    manifest = index_file.with_suffix(".json")
    saved = (index_file.read_bytes(), manifest.read_bytes())

    outcome = _child(SAVE_WHEN_FULL, indexed_home, tiny_model_spec)

    # hnswlib writes a short file without a word: the save must notice, keep the old pair.
    assert outcome["error"] == "DiskFullError"
    assert "is full" in str(outcome["message"])
    assert outcome["dirty"] is True and outcome["searchable"] is True
    assert (index_file.read_bytes(), manifest.read_bytes()) == saved
    assert sorted(p.name for p in index_file.parent.iterdir()) == sorted(
        [index_file.name, manifest.name]
    )
    with Library(indexed_home, model=tiny_model_spec, device="cpu") as library:
        opened = library.open_index(False)
        assert opened is not None and str(opened[1].health) == "loaded"
        opened[1].save(library.catalog.change_seq())  # and saving works with room again


@pytest.fixture
def hub(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[_Server, bytes]]:
    """A local server holding the tiny weights where the hub keeps ViT-B-32's."""
    server = _Server()
    weights = (tiny_model / "open_clip_model.safetensors").read_bytes()
    server.files[HUB_PATH] = weights
    server.etags[HUB_PATH] = hashlib.sha256(weights).hexdigest()
    monkeypatch.setenv("MEDIASEARCH_HF_ENDPOINT", server.url)
    yield server, weights
    server.close()


def test_full_disk_during_model_download(hub: tuple[_Server, bytes], tmp_path: Path) -> None:
    from mediasearch.core.weights import ModelSpec, ensure_pretrained_weights

    _, weights = hub
    cache = tmp_path / "cache"

    outcome = _child(DOWNLOAD_WHEN_FULL, cache, len(weights) // 2)

    assert outcome["error"] == "ModelUnavailableError"
    message = str(outcome["message"])
    assert "disk space" in message and "Free some space" in message
    assert "internet" not in message  # the network was fine: no misleading advice
    assert [p for p in cache.rglob("*") if p.is_file()] == []  # no partial file left
    path = ensure_pretrained_weights(ModelSpec.parse("ViT-B-32:laion2b_s34b_b79k"), cache)
    assert path.read_bytes() == weights


def test_download_refused_at_once_when_it_cannot_fit(
    hub: tuple[_Server, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mediasearch.core import weights as weights_module
    from mediasearch.core.weights import ModelSpec, ModelUnavailableError

    real_usage = shutil.disk_usage
    monkeypatch.setattr(
        weights_module.shutil,
        "disk_usage",
        lambda path: real_usage(path)._replace(free=1000),
    )
    with pytest.raises(ModelUnavailableError, match="disk space"):
        weights_module.ensure_pretrained_weights(
            ModelSpec.parse("ViT-B-32:laion2b_s34b_b79k"), tmp_path / "cache"
        )
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []
