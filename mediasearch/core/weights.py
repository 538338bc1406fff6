"""Which model to use and where its weights come from: a pretrained tag, the HF hub or a folder."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mediasearch.core.catalog import is_disk_full
from mediasearch.core.fingerprint import content_hash

DEFAULT_MODEL = "ViT-B-32:laion2b_s34b_b79k"
RANDOM_WEIGHTS_TAG = "random"  # same cost as real weights, meaningless results: benchmarks only
HF_ENDPOINT = "https://huggingface.co"
DOWNLOAD_TIMEOUT_S = 30.0  # per network operation, so an unreachable server never hangs us
# Offline machines and blocked networks should hear "unavailable" in seconds, not minutes.
CONNECT_TIMEOUT_S = 8.0
CHUNK_BYTES = 1 << 20
LOCAL_DIR_PREFIX = "local-dir:"
HF_HUB_PREFIX = "hf-hub:"
LOCAL_CONFIG_NAME = "open_clip_config.json"
LOCAL_WEIGHT_NAMES = (
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.safetensors",
    "open_clip_pytorch_model.bin",
    "open_clip_pytorch_model.pth",
    "model.safetensors",
    "pytorch_model.bin",
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

DownloadProgress = Callable[[int, int], None]  # (bytes done, bytes total or 0 when unknown)


class ModelUnavailableError(Exception):
    """The model's weights are neither on disk nor downloadable; the message says what to do.

    `what` says what happened; `remedy`, when given, how to fix it from the command line or
    the app. A front end with its own advice (the app's dialog) shows `what` alone.
    """

    def __init__(self, what: str, remedy: str | None = None) -> None:
        super().__init__(f"{what} {remedy}" if remedy else what)
        self.what = what
        self.remedy = remedy


@dataclass(frozen=True)
class ModelSpec:
    """An open_clip model: `name` with a `pretrained` tag, `hf-hub:org/repo` or `local-dir:`."""

    name: str
    pretrained: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """Read "ViT-B-32:laion2b_s34b_b79k", "hf-hub:org/repo", "local-dir:/path" or a path."""
        text = text.strip()
        if text.startswith((LOCAL_DIR_PREFIX, HF_HUB_PREFIX)):
            return cls(text)
        if os.sep in text or text.startswith(("~", ".")) or Path(text).is_dir():
            return cls(LOCAL_DIR_PREFIX + str(Path(text).expanduser().resolve()))
        name, _, tag = text.partition(":")
        return cls(name, tag or None)

    def __str__(self) -> str:
        return f"{self.name}:{self.pretrained}" if self.pretrained else self.name

    @property
    def local_dir(self) -> Path | None:
        if self.name.startswith(LOCAL_DIR_PREFIX):
            return Path(self.name[len(LOCAL_DIR_PREFIX) :]).expanduser()
        return None

    @property
    def is_random(self) -> bool:
        return self.pretrained == RANDOM_WEIGHTS_TAG

    def identity(self) -> str:
        """What embeddings are recorded against: a different identity means re-embedding.

        A local folder is identified by its weights' fingerprint as well as its path, so
        retraining a checkpoint in place counts as a new model.
        """
        folder = self.local_dir
        if folder is None:
            return str(self)
        return f"{LOCAL_DIR_PREFIX}{folder.resolve()}#{content_hash(local_weights(folder))}"


def local_weights(folder: Path) -> Path:
    """The weights file of an open_clip model folder, or a message naming what is missing."""
    if not folder.is_dir():
        raise ModelUnavailableError(
            f"Model folder {folder} does not exist. Pick a folder holding {LOCAL_CONFIG_NAME} "
            f"and a weights file such as {LOCAL_WEIGHT_NAMES[0]}."
        )
    if not (folder / LOCAL_CONFIG_NAME).is_file():
        raise ModelUnavailableError(
            f"Model folder {folder} has no {LOCAL_CONFIG_NAME}. An open_clip model folder holds "
            f"that config and a weights file such as {LOCAL_WEIGHT_NAMES[0]}."
        )
    for name in LOCAL_WEIGHT_NAMES:
        if (folder / name).is_file():
            return folder / name
    raise ModelUnavailableError(
        f"Model folder {folder} has {LOCAL_CONFIG_NAME} but no weights file "
        f"(looked for {', '.join(LOCAL_WEIGHT_NAMES)})."
    )


def hf_endpoint() -> str:
    """The hub to download from; MEDIASEARCH_HF_ENDPOINT points at a mirror (or a test server)."""
    return (
        os.environ.get("MEDIASEARCH_HF_ENDPOINT") or os.environ.get("HF_ENDPOINT") or HF_ENDPOINT
    ).rstrip("/")


def candidate_urls(spec: ModelSpec) -> list[tuple[str, str | None]]:
    """Download locations for a pretrained tag, best first, each with a sha256 if one is known
    before downloading (OpenAI's URLs carry it in their path)."""
    import open_clip  # deferred: importing torch costs a second and the CLI may not need it

    config = open_clip.get_pretrained_cfg(spec.name, spec.pretrained or "")
    if not config:
        known = ", ".join(open_clip.list_pretrained_tags_by_model(spec.name)) or "none"
        raise ModelUnavailableError(
            f"open_clip knows no pretrained weights '{spec.pretrained}' for model '{spec.name}'"
            f" (tags for it: {known}). Use a name:tag from `open_clip.list_pretrained()`, "
            "or a local model folder."
        )
    urls: list[tuple[str, str | None]] = []
    hub = config.get("hf_hub", "")
    if hub:
        org, name, *rest = hub.split("/")
        repo, filename = f"{org}/{name}", "/".join(rest)
        names = (
            [filename]
            if filename
            else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        )
        urls += [(f"{hf_endpoint()}/{repo}/resolve/main/{name}", None) for name in names]
    url = config.get("url", "")
    if url:
        embedded = url.split("/")[-2] if "openaipublic" in url else ""
        urls.append((url, embedded if _SHA256.match(embedded) else None))
    return urls


def _published_sha256(headers: object) -> str | None:
    # The HF hub serves large (LFS) files with their sha256 as the linked ETag.
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name in ("X-Linked-ETag", "X-Linked-Etag", "ETag", "X-Checksum-Sha256"):
        value = (get(name) or "").strip('"').removeprefix("W/").strip('"').lower()
        if _SHA256.match(value):
            return value
    return None


def download_file(
    url: str,
    destination: Path,
    *,
    expected_sha256: str | None = None,
    progress: DownloadProgress | None = None,
    cancel: threading.Event | None = None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> str:
    """Download `url` to `destination` atomically, verifying its sha256; returns the digest.

    The checksum is the one given, else the one the server publishes with the file. The file
    only appears under its final name once complete and verified: a killed download leaves a
    `.part` file behind and nothing else.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f"{destination.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "mediasearch"})
        with (
            urllib.request.urlopen(request, timeout=timeout) as response,
            partial.open("wb") as out,
        ):
            expected = (expected_sha256 or _published_sha256(response.headers) or "").lower()
            total = int(response.headers.get("Content-Length") or 0)
            if total > shutil.disk_usage(destination.parent).free:
                # Said at once rather than after filling the disk with most of the file.
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(destination.parent))
            done = 0
            while chunk := response.read(CHUNK_BYTES):
                if cancel is not None and cancel.is_set():
                    raise InterruptedError("download cancelled")
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if total and done != total:
            raise OSError(f"connection closed after {done} of {total} bytes")
        actual = digest.hexdigest()
        if expected and actual != expected:
            raise ValueError(f"checksum mismatch for {url}: expected {expected}, got {actual}")
        os.replace(partial, destination)
        return actual
    finally:
        partial.unlink(missing_ok=True)


def _connect_problem(url: str) -> str | None:
    """Why the server of `url` cannot be reached, found out quickly; None when it can."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=CONNECT_TIMEOUT_S):
            return None
    except OSError as error:
        return f"cannot connect ({error.strerror or error})"


def ensure_pretrained_weights(
    spec: ModelSpec,
    cache_dir: Path,
    *,
    progress: DownloadProgress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """The local file of a pretrained tag's weights, downloading it into `cache_dir` once."""
    folder = cache_dir / "models" / re.sub(r"[^\w.-]+", "_", str(spec))
    for name in LOCAL_WEIGHT_NAMES:
        if (folder / name).is_file():
            return folder / name
    failures: list[str] = []
    unreachable: set[str] = set()
    for url, sha256 in candidate_urls(spec):
        host = urllib.parse.urlsplit(url).netloc
        if host in unreachable:
            continue
        problem = _connect_problem(url)
        if problem is not None:
            unreachable.add(host)
            failures.append(f"{host}: {problem}")
            continue
        target = folder / url.rsplit("/", 1)[-1]
        try:
            download_file(url, target, expected_sha256=sha256, progress=progress, cancel=cancel)
            return target
        except OSError as error:
            if is_disk_full(error):
                # Another source would not fit either; the network is not what is wrong.
                raise ModelUnavailableError(
                    f"Not enough disk space for the weights of {spec} in {folder} "
                    f"({error.strerror or error}).",
                    remedy="Free some space on that disk, then try again.",
                ) from error
            if isinstance(error, urllib.error.HTTPError):
                failures.append(f"{url}: HTTP {error.code}")
            else:
                failures.append(f"{url}: {getattr(error, 'reason', None) or error}")
        except ValueError as error:
            failures.append(f"{url}: {error}")
    raise ModelUnavailableError(
        f"Could not get the weights of {spec} ({'; '.join(failures) or 'no download source'}).",
        remedy=(
            "Connect to the internet and try again, or download an open_clip model folder "
            f"({LOCAL_CONFIG_NAME} + {LOCAL_WEIGHT_NAMES[0]}) and choose it with "
            "--model local-dir:/path/to/folder (or Settings > Model in the app)."
        ),
    )
