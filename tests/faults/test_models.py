"""Bad weights are refused and leave nothing behind; a model of another size never mixes its
vectors with the old one's, which keeps answering until the new index is ready."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mediasearch.core.indexer import Progress
from mediasearch.core.library import CATALOG_FILE, Library
from mediasearch.core.weights import ModelSpec, ModelUnavailableError, ensure_pretrained_weights
from mediasearch.selftest.shapes import write_shape_images
from tests.support.tiny_model import CONFIG_FILE_NAME, TINY_MODEL_CONFIG, WEIGHTS_FILE_NAME

SPEC = "ViT-B-32:laion2b_s34b_b79k"
HUB_PATH = "/laion/CLIP-ViT-B-32-laion2B-s34B-b79K/resolve/main/open_clip_model.safetensors"
OTHER_DIM = 16
PHOTOS = 40


class _Hub:
    """Serves one weights file at the hub's path: whole, or cut off half-way."""

    def __init__(self, body: bytes, sha256: str) -> None:
        self.cut_off = False
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != HUB_PATH:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Linked-ETag", f'"{sha256}"')
                self.end_headers()
                # A dropped connection: half the promised bytes, then the socket closes.
                self.wfile.write(body[: len(body) // 2] if hub.cut_off else body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def weights(tiny_model: Path) -> bytes:
    return (tiny_model / WEIGHTS_FILE_NAME).read_bytes()


def _serve(monkeypatch: pytest.MonkeyPatch, body: bytes, sha256: str) -> _Hub:
    hub = _Hub(body, sha256)
    monkeypatch.setenv("MEDIASEARCH_HF_ENDPOINT", hub.url)
    return hub


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_weights_with_wrong_checksum_are_refused(
    weights: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _serve(monkeypatch, weights, hashlib.sha256(b"other weights").hexdigest())
    try:
        with pytest.raises(ModelUnavailableError, match="checksum mismatch"):
            ensure_pretrained_weights(ModelSpec.parse(SPEC), tmp_path / "cache")
    finally:
        hub.close()
    assert _files(tmp_path / "cache") == []  # neither the bad file nor a partial one


def test_weights_cut_off_half_way_are_refused_then_fetched_whole(
    weights: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _serve(monkeypatch, weights, hashlib.sha256(weights).hexdigest())
    hub.cut_off = True
    try:
        with pytest.raises(ModelUnavailableError, match="Could not get the weights"):
            ensure_pretrained_weights(ModelSpec.parse(SPEC), tmp_path / "cache")
        assert _files(tmp_path / "cache") == []
        hub.cut_off = False
        path = ensure_pretrained_weights(ModelSpec.parse(SPEC), tmp_path / "cache")
    finally:
        hub.close()
    assert path.read_bytes() == weights
    assert _files(tmp_path / "cache") == [path]


@pytest.fixture(scope="module")
def other_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An untrained model like the tiny one but with OTHER_DIM-d embeddings (its vectors mean
    nothing; only their size matters here)."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("other") / "model"
    folder.mkdir()
    tiny = json.loads(json.dumps(TINY_MODEL_CONFIG))
    config = {"model_cfg": {**copy.deepcopy(tiny), "embed_dim": OTHER_DIM}}
    (folder / CONFIG_FILE_NAME).write_text(json.dumps(config))
    torch.manual_seed(0)
    model = open_clip.create_model(f"local-dir:{folder}")
    save_file(model.state_dict(), str(folder / WEIGHTS_FILE_NAME))
    return f"local-dir:{folder}"


@pytest.fixture
def libraries(tmp_path: Path, tiny_model_spec: str) -> Iterator[Callable[..., Library]]:
    """Open Library objects on tmp_path / "home" with any model, closed afterwards."""
    opened: list[Library] = []

    def open_library(model: str = tiny_model_spec) -> Library:
        # The exact backend: the fast one would first export each new model to ONNX.
        opened.append(Library(tmp_path / "home", model=model, device="cpu", backend="exact"))
        return opened[-1]

    yield open_library
    for library in opened:
        library.close()


def _vector_sizes(home: Path) -> set[tuple[int, int, int]]:
    """(model dim, vector bytes, count) for every model in the catalog."""
    with sqlite3.connect(f"file:{home / CATALOG_FILE}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT m.dim, length(e.vector), COUNT(*) FROM embeddings e"
            " JOIN models m ON m.id = e.model_id GROUP BY m.id, length(e.vector)"
        ).fetchall()
    return {(int(d), int(n), int(c)) for d, n, c in rows}


def test_switching_to_another_dimension_never_mixes_vectors(
    libraries: Callable[..., Library], other_model: str, tmp_path: Path
) -> None:
    write_shape_images(tmp_path / "photos", PHOTOS, seed=6, size=64)
    old = libraries()
    old.index([str(tmp_path / "photos")])
    answer = [(h.path, h.score) for h in old.search("a yellow triangle", k=PHOTOS)]
    assert len(answer) == PHOTOS

    # The app's model switch: the new library re-embeds while the old one still answers.
    new = libraries(model=other_model)
    answers_during: list[list[tuple[str, float]]] = []

    def search_old(progress: Progress) -> None:
        if 0 < progress.done < progress.total:
            hits = old.search("a yellow triangle", k=PHOTOS)
            answers_during.append([(h.path, h.score) for h in hits])

    new.encoder.load()  # as the app does before re-embedding
    summary = new.index(progress=search_old)

    assert summary.indexed == PHOTOS
    assert answers_during and all(a == answer for a in answers_during)
    assert _vector_sizes(tmp_path / "home") == {(32, 32 * 4, PHOTOS), (16, 16 * 4, PHOTOS)}
    for library, dim in ((old, 32), (new, OTHER_DIM)):
        opened = library.open_index(False)
        assert opened is not None
        model_id, index = opened
        assert index.dim == dim and len(index) == PHOTOS
        assert set(library.catalog.embedded_labels(model_id).tolist()) == index._live
    assert len(new.search("a yellow triangle", k=PHOTOS)) == PHOTOS
    new.close()
    old.close()

    # Back to the first model: its vectors were kept, nothing is encoded again.
    again = libraries()
    assert again.index().indexed == 0
    assert [(h.path, h.score) for h in again.search("a yellow triangle", k=PHOTOS)] == answer


def test_model_folder_replaced_by_another_size_keeps_both_apart(
    libraries: Callable[..., Library], tiny_model: Path, other_model: str, tmp_path: Path
) -> None:
    """Retraining a local model in place with another embedding size counts as a new model
    (its identity follows the weights), so no 16-d vector lands in the 32-d space."""
    folder = tmp_path / "my-model"
    shutil.copytree(tiny_model, folder)
    write_shape_images(tmp_path / "photos", 12, seed=7, size=64)
    with libraries(model=f"local-dir:{folder}") as first:
        first.index([str(tmp_path / "photos")])
    other = Path(other_model.removeprefix("local-dir:"))
    for name in (CONFIG_FILE_NAME, WEIGHTS_FILE_NAME):
        shutil.copy(other / name, folder / name)
    with libraries(model=f"local-dir:{folder}") as second:
        assert second.index().indexed == 12
    assert _vector_sizes(tmp_path / "home") == {(32, 128, 12), (16, 64, 12)}
