"""The open_clip model's lifecycle: lazy load under a lock, device choice, batched encoding."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mediasearch.core.weights import (
    HF_HUB_PREFIX,
    LOCAL_DIR_PREFIX,
    DownloadProgress,
    ModelSpec,
    ModelUnavailableError,
    ensure_pretrained_weights,
    local_weights,
)

if TYPE_CHECKING:
    import torch
    from PIL import Image

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def pick_device(preference: str = "auto") -> str:
    """CUDA, then Apple MPS, then CPU; an explicit choice the machine lacks falls back to CPU."""
    import torch

    preference = (preference or "auto").lower()
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if preference == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if preference.startswith("cuda") and not cuda:
        log.warning("CUDA was asked for but is not available; using the CPU")
        return "cpu"
    if preference == "mps" and not mps:
        log.warning("Apple MPS was asked for but is not available; using the CPU")
        return "cpu"
    return preference


class Encoder:
    """Turns images and texts into normalised embedding vectors with one open_clip model.

    Nothing heavy happens until the first `load()` (called implicitly by the encode methods),
    which is guarded by a lock so concurrent first callers load the model once.
    """

    def __init__(
        self,
        spec: ModelSpec | str,
        *,
        device: str = "auto",
        cache_dir: Path,
        download_progress: DownloadProgress | None = None,
    ) -> None:
        self.spec = ModelSpec.parse(spec) if isinstance(spec, str) else spec
        self.requested_device = device
        self.cache_dir = cache_dir
        self.download_progress = download_progress
        self.cancel_download = threading.Event()
        self._lock = threading.Lock()
        self._model: Any = None
        self._preprocess: Callable[[Image.Image], torch.Tensor] | None = None
        self._tokenizer: Callable[[Sequence[str]], torch.Tensor] | None = None
        self._device = "cpu"
        self._dtype: torch.dtype | None = None
        self._dim = 0
        self._image_size = 0
        self._identity: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def identity(self) -> str:
        """The model identity embeddings are recorded against (cheap: no model load)."""
        if self._identity is None:
            self._identity = self.spec.identity()
        return self._identity

    def load(self) -> None:
        """Load the model once; raises ModelUnavailableError with a message a user can act on."""
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            import open_clip
            import torch

            device = pick_device(self.requested_device)
            precision = "fp16" if device.startswith("cuda") else "fp32"
            try:
                model, preprocess = self._create(open_clip, device, precision)
            except ModelUnavailableError:
                raise
            except (OSError, RuntimeError, ValueError, KeyError) as error:
                raise ModelUnavailableError(f"Could not load model {self.spec}: {error}") from error
            model.eval()
            tokenizer_name = self.spec.name
            self._tokenizer = open_clip.get_tokenizer(tokenizer_name)
            self._preprocess = preprocess
            self._device = device
            self._dtype = torch.float16 if precision == "fp16" else torch.float32
            size = model.visual.image_size
            self._image_size = int(min(size) if isinstance(size, tuple | list) else size)
            with torch.inference_mode():
                probe = self._tokenizer(["a photo"]).to(device)
                self._dim = int(model.encode_text(probe).shape[-1])
            self._model = model
            log.info("loaded %s on %s (%d-d)", self.spec, device, self._dim)

    def _create(self, open_clip: Any, device: str, precision: str) -> tuple[Any, Any]:
        common = {"device": device, "precision": precision}
        folder = self.spec.local_dir
        if folder is not None:
            local_weights(folder)  # explains what is missing before open_clip raises
            model, _, preprocess = open_clip.create_model_and_transforms(
                LOCAL_DIR_PREFIX + str(folder), **common
            )
        elif self.spec.name.startswith(HF_HUB_PREFIX):
            try:
                model, _, preprocess = open_clip.create_model_and_transforms(
                    self.spec.name, cache_dir=str(self.cache_dir / "hf"), **common
                )
            except Exception as error:  # huggingface_hub raises many unrelated types offline
                raise ModelUnavailableError(
                    f"Could not get {self.spec.name} from the Hugging Face hub ({error}). "
                    "Connect to the internet, or choose a local model folder."
                ) from error
        elif self.spec.is_random or not self.spec.pretrained:
            model, _, preprocess = open_clip.create_model_and_transforms(self.spec.name, **common)
        else:
            weights = ensure_pretrained_weights(
                self.spec,
                self.cache_dir,
                progress=self.download_progress,
                cancel=self.cancel_download,
            )
            tag = open_clip.get_pretrained_cfg(self.spec.name, self.spec.pretrained)
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.spec.name,
                pretrained=str(weights),
                force_quick_gelu=bool(tag.get("quick_gelu", False)),
                image_mean=tag.get("mean"),
                image_std=tag.get("std"),
                image_interpolation=tag.get("interpolation"),
                image_resize_mode=tag.get("resize_mode"),
                **common,
            )
        return model, preprocess

    def unload(self) -> None:
        """Free the model's memory (it reloads on next use)."""
        with self._lock:
            if self._model is None:
                return
            self._model = None
            gc.collect()
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    @property
    def device(self) -> str:
        return self._device if self.loaded else pick_device(self.requested_device)

    @property
    def dim(self) -> int:
        self.load()
        return self._dim

    @property
    def image_size(self) -> int:
        """The square input side of the image tower, in pixels."""
        self.load()
        return self._image_size

    # -- encoding --------------------------------------------------------------------------

    def prepare(self, image: Image.Image) -> torch.Tensor:
        """The model's own resize, crop and normalisation; safe to call from worker threads."""
        self.load()
        assert self._preprocess is not None
        return self._preprocess(image)

    def encode_prepared(self, batch: Sequence[torch.Tensor]) -> npt.NDArray[np.float32]:
        """Embed images already passed through `prepare`."""
        import torch

        self.load()
        if not batch:
            return np.zeros((0, self._dim), np.float32)
        with torch.inference_mode():
            pixels = torch.stack(list(batch)).to(self._device, self._dtype)
            features = self._model.encode_image(pixels)
            return self._normalised(features)

    def encode_images(self, images: Sequence[Image.Image]) -> npt.NDArray[np.float32]:
        return self.encode_prepared([self.prepare(image) for image in images])

    def encode_texts(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import torch

        self.load()
        assert self._tokenizer is not None
        if not texts:
            return np.zeros((0, self._dim), np.float32)
        with torch.inference_mode():
            tokens = self._tokenizer(list(texts)).to(self._device)
            return self._normalised(self._model.encode_text(tokens))

    @staticmethod
    def _normalised(features: torch.Tensor) -> npt.NDArray[np.float32]:
        features = features.float()
        features = features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return np.ascontiguousarray(features.cpu().numpy(), dtype=np.float32)
