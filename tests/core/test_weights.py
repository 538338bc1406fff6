"""Weights: verified, atomic downloads from a local server, and clear errors when unreachable."""

from __future__ import annotations

import hashlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mediasearch.core.encoder import Encoder
from mediasearch.core.weights import (
    ModelSpec,
    ModelUnavailableError,
    download_file,
    ensure_pretrained_weights,
)

PAYLOAD = b"weights " * 50_000


class _Server:
    """Serves `files` (path -> bytes) with an optional sha256 ETag, like the HF hub does."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.etags: dict[str, str] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                if self.path in server.etags:
                    self.send_header("X-Linked-ETag", f'"{server.etags[self.path]}"')
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.close()


def test_download_verifies_given_checksum(server: _Server, tmp_path: Path) -> None:
    server.files["/w.bin"] = PAYLOAD
    target = tmp_path / "models" / "w.bin"
    reports: list[tuple[int, int]] = []
    digest = download_file(
        f"{server.url}/w.bin",
        target,
        expected_sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        progress=lambda done, total: reports.append((done, total)),
    )
    assert reports[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert target.read_bytes() == PAYLOAD
    assert digest == hashlib.sha256(PAYLOAD).hexdigest()
    assert list(target.parent.iterdir()) == [target]  # no temporary left behind


def test_checksum_mismatch_leaves_nothing_in_place(server: _Server, tmp_path: Path) -> None:
    server.files["/w.bin"] = PAYLOAD
    target = tmp_path / "w.bin"
    with pytest.raises(ValueError, match="checksum mismatch"):
        download_file(f"{server.url}/w.bin", target, expected_sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_server_published_checksum_is_checked(server: _Server, tmp_path: Path) -> None:
    server.files["/w.bin"] = PAYLOAD
    server.etags["/w.bin"] = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(ValueError, match="checksum mismatch"):
        download_file(f"{server.url}/w.bin", tmp_path / "w.bin")
    assert not (tmp_path / "w.bin").exists()


def test_existing_file_is_replaced_only_when_complete(server: _Server, tmp_path: Path) -> None:
    target = tmp_path / "w.bin"
    target.write_bytes(b"old and good")
    server.files["/w.bin"] = PAYLOAD
    with pytest.raises(ValueError):
        download_file(f"{server.url}/w.bin", target, expected_sha256="1" * 64)
    assert target.read_bytes() == b"old and good"


def test_pretrained_tag_downloads_from_hub_into_cache(
    server: _Server, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Serve the tiny model's weights where the hub would serve ViT-B-32's.
    weights = (tiny_model / "open_clip_model.safetensors").read_bytes()
    path = "/laion/CLIP-ViT-B-32-laion2B-s34B-b79K/resolve/main/open_clip_model.safetensors"
    server.files[path] = weights
    server.etags[path] = hashlib.sha256(weights).hexdigest()
    monkeypatch.setenv("MEDIASEARCH_HF_ENDPOINT", server.url)
    spec = ModelSpec.parse("ViT-B-32:laion2b_s34b_b79k")

    first = ensure_pretrained_weights(spec, tmp_path / "cache")
    second = ensure_pretrained_weights(spec, tmp_path / "cache")

    assert first == second and first.read_bytes() == weights
    assert server.requests == [path]  # cached: downloaded once
    assert first.is_relative_to(tmp_path / "cache")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_hub_fails_fast_with_instructions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIASEARCH_HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    encoder = Encoder("ViT-B-32:laion2b_s34b_b79k", device="cpu", cache_dir=tmp_path)
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as error:
        encoder.load()
    assert time.monotonic() - started < 60  # fails, never hangs
    message = str(error.value)
    assert "ViT-B-32:laion2b_s34b_b79k" in message
    assert "local-dir:" in message
    assert not encoder.loaded


def test_local_dir_without_weights_names_what_is_missing(tiny_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "half-model"
    folder.mkdir()
    shutil.copy(tiny_model / "open_clip_config.json", folder)
    with pytest.raises(ModelUnavailableError, match="no weights file"):
        Encoder(f"local-dir:{folder}", cache_dir=tmp_path).load()
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        Encoder(f"local-dir:{tmp_path / 'nowhere'}", cache_dir=tmp_path).load()


def test_unknown_pretrained_tag_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="laion2b_s34b_b79k"):
        Encoder("ViT-B-32:no_such_tag", cache_dir=tmp_path).load()


@pytest.mark.parametrize(
    ("text", "name", "tag"),
    [
        ("ViT-B-32:laion2b_s34b_b79k", "ViT-B-32", "laion2b_s34b_b79k"),
        ("ViT-B-32", "ViT-B-32", None),
        ("hf-hub:timm/ViT-B-16-SigLIP", "hf-hub:timm/ViT-B-16-SigLIP", None),
        ("local-dir:/models/clip", "local-dir:/models/clip", None),
    ],
)
def test_model_spec_parsing(text: str, name: str, tag: str | None) -> None:
    spec = ModelSpec.parse(text)
    assert (spec.name, spec.pretrained) == (name, tag)


def test_local_model_identity_follows_its_weights(tiny_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    spec = ModelSpec.parse(str(copy))
    before = spec.identity()
    weights = copy / "open_clip_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"retrain!")
    assert spec.identity() != before
