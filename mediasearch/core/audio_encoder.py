"""Turns sounds and texts into vectors of one CLAP model (text-audio contrastive)."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mediasearch.core.fingerprint import content_hash
from mediasearch.core.weights import LOCAL_DIR_PREFIX, ModelUnavailableError

log = logging.getLogger(__name__)

# LAION's CLAP trained on general sounds (AudioSet, Freesound...), Apache 2.0, 10 s windows
# at 48 kHz; "unfused" embeds each window alone, which is what windowed search wants.
DEFAULT_AUDIO_MODEL = "laion/clap-htsat-unfused"
AUDIO_MODEL_FILES = ["config.json", "*.safetensors", "*.json", "*.txt"]
BATCH_SIZE = 16  # windows per forward pass: a 10 s window is ~1000 x 64 mel frames
CLAP_CONFIG_FILE = "config.json"
CLAP_WEIGHTS_FILE = "model.safetensors"


def transformers_available() -> bool:
    """Whether the optional `audio` extra (transformers) is installed; cheap: no import."""
    return importlib.util.find_spec("transformers") is not None


class AudioEncoder:
    """Embeds sound windows and texts with a CLAP model, loaded lazily under a lock.

    `spec` is a Hugging Face repo id (downloaded once into `cache_dir`) or "local-dir:PATH"
    for a folder saved by `ClapModel.save_pretrained` with its processor.
    """

    def __init__(self, spec: str, *, device: str = "auto", cache_dir: Path) -> None:
        self.spec = spec.strip()
        self.requested_device = device
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._model: Any = None
        self._features: Any = None
        self._tokenizer: Any = None
        self._device = "cpu"
        self._dim = 0
        self._identity: str | None = None

    @property
    def local_dir(self) -> Path | None:
        if self.spec.startswith(LOCAL_DIR_PREFIX):
            return Path(self.spec[len(LOCAL_DIR_PREFIX) :]).expanduser()
        if os.sep in self.spec and Path(self.spec).expanduser().is_dir():
            return Path(self.spec).expanduser()
        return None

    def identity(self) -> str:
        """What sound embeddings are recorded against (a local folder by its weights too)."""
        if self._identity is None:
            folder = self.local_dir
            if folder is None:
                self._identity = f"clap:{self.spec}"
            else:
                weights = folder / CLAP_WEIGHTS_FILE
                digest = content_hash(weights) if weights.is_file() else "missing"
                self._identity = f"clap:{LOCAL_DIR_PREFIX}{folder.resolve()}#{digest}"
        return self._identity

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load model and processor once; ModelUnavailableError says what to do otherwise."""
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            if not transformers_available():
                raise ModelUnavailableError(
                    "Sound search needs the optional transformers package.",
                    "Install it with: pip install 'mediasearch[audio]'.",
                )
            from transformers import ClapModel, ClapProcessor
            from transformers.utils import logging as transformers_logging

            from mediasearch.core.encoder import pick_device

            # Its weight-loading bar would interleave with the CLI's own progress bar.
            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            folder = self._folder()
            try:
                model: Any = ClapModel.from_pretrained(folder)
                processor: Any = ClapProcessor.from_pretrained(folder)
            except (OSError, ValueError) as error:
                raise ModelUnavailableError(
                    f"The sound model in {folder} cannot be loaded ({error}).",
                    "Pick a folder saved by transformers' ClapModel, or let mediasearch "
                    f"download {DEFAULT_AUDIO_MODEL}.",
                ) from error
            self._device = pick_device(self.requested_device)
            self._features = processor.feature_extractor
            self._tokenizer = processor.tokenizer
            self._model = model.eval().to(self._device)
            self._dim = int(model.config.projection_dim)
            log.info("loaded sound model %s on %s (%d-d)", self.spec, self._device, self._dim)

    def _folder(self) -> Path:
        folder = self.local_dir
        if folder is not None:
            if not (folder / CLAP_CONFIG_FILE).is_file():
                raise ModelUnavailableError(
                    f"Sound model folder {folder} has no {CLAP_CONFIG_FILE}.",
                    "Pick a folder saved by transformers' ClapModel.save_pretrained.",
                )
            return folder
        from huggingface_hub import snapshot_download

        try:
            # The hub client checks each downloaded file against its published hash and
            # keeps partial files out of the snapshot it returns.
            return Path(
                snapshot_download(
                    self.spec,
                    cache_dir=self.cache_dir / "hf",
                    allow_patterns=AUDIO_MODEL_FILES,
                )
            )
        except Exception as error:  # offline, unknown repo, disk full: one clear message
            raise ModelUnavailableError(
                f"The sound model {self.spec} is not on this computer and could not be "
                f"downloaded ({type(error).__name__}).",
                "Connect to the internet once, or pick a local model folder in Settings.",
            ) from error

    @property
    def device(self) -> str:
        return self._device

    @property
    def dim(self) -> int:
        self.load()
        return self._dim

    @property
    def sample_rate(self) -> int:
        """The sampling rate sounds must be given at."""
        self.load()
        return int(self._features.sampling_rate)

    @property
    def window_s(self) -> float:
        """The length of sound one vector describes (longer sounds are cut into windows)."""
        self.load()
        return float(self._features.nb_max_samples) / self.sample_rate

    def encode_audio(self, windows: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        """Normalised vectors of mono sound windows sampled at `sample_rate`."""
        import torch

        self.load()
        out = []
        for start in range(0, len(windows), BATCH_SIZE):
            batch = [np.asarray(w, np.float32) for w in windows[start : start + BATCH_SIZE]]
            inputs = self._features(batch, sampling_rate=self.sample_rate, return_tensors="pt")
            with torch.inference_mode():
                features = self._model.get_audio_features(
                    **{k: v.to(self._device) for k, v in inputs.items()}
                )
            out.append(_as_matrix(features))
        if not out:
            return np.zeros((0, self._dim), np.float32)
        return _normalised(np.concatenate(out))

    def encode_texts(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import torch

        self.load()
        inputs = self._tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            features = self._model.get_text_features(
                **{k: v.to(self._device) for k, v in inputs.items()}
            )
        return _normalised(_as_matrix(features))


def _as_matrix(features: Any) -> npt.NDArray[np.float32]:
    # transformers 5 returns an output object holding the projected vectors; 4.x a tensor.
    tensor = getattr(features, "pooler_output", features)
    matrix: npt.NDArray[np.float32] = tensor.float().cpu().numpy()
    return matrix


def _normalised(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    result: npt.NDArray[np.float32] = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
    return result
