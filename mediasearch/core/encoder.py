"""The open_clip model's lifecycle: lazy load under a lock, device choice, batched encoding."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mediasearch.core.onnx_backend import (
    FORMAT_VERSION,
    ExportInfo,
    OnnxTowers,
    export_folder,
    export_towers,
    onnx_runtime_available,
    previous_failure,
    read_export,
    record_failure,
)
from mediasearch.core.text_tower import encode_text_to_eot, supports_truncation
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
# fast: ONNX Runtime with an int8 image tower on CPUs (torch on GPUs); exact: torch fp32.
BACKEND_CHOICES = ("fast", "exact")
EXPORT_SUBFOLDER = ".mediasearch"


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
    which is guarded by a lock so concurrent first callers load the model once. On a CPU the
    `fast` backend runs the towers in ONNX Runtime (see onnx_backend); `exact` keeps torch
    fp32. Both give vectors of the same model, so switching never re-embeds.
    """

    def __init__(
        self,
        spec: ModelSpec | str,
        *,
        device: str = "auto",
        cache_dir: Path,
        backend: str = "fast",
        download_progress: DownloadProgress | None = None,
    ) -> None:
        self.spec = ModelSpec.parse(spec) if isinstance(spec, str) else spec
        self.requested_device = device
        self.requested_backend = backend if backend in BACKEND_CHOICES else "fast"
        self.cache_dir = cache_dir
        self.download_progress = download_progress
        self.on_status: Callable[[str], None] | None = None  # "optimising the model", ...
        self.cancel_download = threading.Event()
        self._lock = threading.Lock()
        self._ready = False
        self._model: Any = None
        self._towers: OnnxTowers | None = None
        self._preprocess: Callable[[Image.Image], torch.Tensor] | None = None
        self._tokenizer: Callable[[Sequence[str]], torch.Tensor] | None = None
        self._truncate_text = False
        self._device = "cpu"
        self._dtype: torch.dtype | None = None
        self._dim = 0
        self._image_size = 0
        self._identity: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._ready

    def identity(self) -> str:
        """The model identity embeddings are recorded against (cheap: no model load)."""
        if self._identity is None:
            self._identity = self.spec.identity()
        return self._identity

    def load(self) -> None:
        """Load the model once; raises ModelUnavailableError with a message a user can act on."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            import open_clip

            device = pick_device(self.requested_device)
            model: Any = None
            preprocess: Any = None
            if device == "cpu" and self.requested_backend == "fast" and onnx_runtime_available():
                model, preprocess = self._load_onnx(open_clip)
            if self._towers is None or not self._towers.has_text:
                if model is None:
                    model, preprocess = self._create_torch(open_clip, device)
                self._adopt_torch(model, device)
            self._tokenizer = open_clip.get_tokenizer(self._tokenizer_name())
            self._preprocess = preprocess
            self._ready = True
            log.info("loaded %s on %s (%s, %d-d)", self.spec, device, self.backend, self._dim)

    def _tokenizer_name(self) -> str:
        folder = self.spec.local_dir
        return LOCAL_DIR_PREFIX + str(folder) if folder is not None else self.spec.name

    def _create_torch(self, open_clip: Any, device: str) -> tuple[Any, Any]:
        precision = "fp16" if device.startswith("cuda") else "fp32"
        try:
            model, preprocess = self._create(open_clip, device, precision)
        except ModelUnavailableError:
            raise
        except (OSError, RuntimeError, ValueError, KeyError) as error:
            raise ModelUnavailableError(f"Could not load model {self.spec}: {error}") from error
        model.eval()
        return model, preprocess

    def _adopt_torch(self, model: Any, device: str) -> None:
        """Use `model` in torch for whatever ONNX Runtime does not cover."""
        self._model = model
        self._device = device
        self._dtype = next(model.parameters()).dtype
        self._truncate_text = supports_truncation(model)
        if self._towers is None:
            self._dim, self._image_size = _model_shape(model)

    def _load_onnx(self, open_clip: Any) -> tuple[Any, Any]:
        """Open (exporting first if needed) the ONNX towers; returns the torch model and
        transform when it had to be built for the export, else (None, None)."""
        from open_clip.transform import PreprocessCfg, image_transform_v2

        folder = export_folder(self._export_root(), self.identity())
        info = read_export(folder, self.identity())
        model = preprocess = None
        if info is None:
            failure = previous_failure(folder)
            if failure is not None:
                log.info("using torch: exporting %s failed before (%s)", self.spec, failure)
                return None, None
            model, preprocess = self._create_torch(open_clip, "cpu")
            info = self._export(model, folder)
            if info is None:
                return model, preprocess
        try:
            self._towers = OnnxTowers(folder, info)
        except Exception as error:  # a damaged cache: fall back now, export afresh next time
            log.warning("could not open the ONNX export of %s (%s); using torch", self.spec, error)
            shutil.rmtree(folder, ignore_errors=True)
            return model, preprocess
        self._dim, self._image_size = info.dim, info.image_size
        if preprocess is None:
            fields = {k: tuple(v) if isinstance(v, list) else v for k, v in info.preprocess.items()}
            preprocess = image_transform_v2(PreprocessCfg(**fields), is_train=False)
        return model, preprocess

    def _export_root(self) -> Path:
        """Exports live next to the weights: in a local model's folder when it is writable
        (every library using that model shares one export), else in our cache."""
        folder = self.spec.local_dir
        if folder is not None and os.access(folder, os.W_OK):
            return folder / EXPORT_SUBFOLDER
        return self.cache_dir

    def _export(self, model: Any, folder: Path) -> ExportInfo | None:
        import open_clip

        if self.on_status is not None:
            self.on_status("Optimising the model for this computer (once, about a minute)")
        dim, image_size = _model_shape(model)
        info = ExportInfo(
            format_version=FORMAT_VERSION,
            identity=self.identity(),
            dim=dim,
            image_size=image_size,
            preprocess=dict(open_clip.get_model_preprocess_cfg(model)),
            text_pool_type=str(getattr(model, "text_pool_type", "")),
            text_eos_id=getattr(model, "text_eos_id", None),
            has_text_graph=False,
        )
        started = time.perf_counter()
        try:
            info = export_towers(model, info, folder)
        except Exception as error:  # exporters raise anything; torch still works
            log.warning("could not export %s to ONNX (%s); using torch", self.spec, error)
            record_failure(folder, f"{type(error).__name__}: {error}")
            return None
        log.info("exported %s to ONNX in %.1f s", self.spec, time.perf_counter() - started)
        gc.collect()  # the exporter's traced graphs hold on to copies of the weights
        return info

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
            if not self._ready:
                return
            self._ready = False
            self._model = self._towers = None
            gc.collect()
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    @property
    def device(self) -> str:
        return self._device if self.loaded else pick_device(self.requested_device)

    @property
    def backend(self) -> str:
        """What computes image vectors: onnx-int8 (or -fp32), torch-fp32 or torch-fp16."""
        if self._towers is not None:
            return f"onnx-{self._towers.info.image_precision}"
        half = self._dtype is not None and self._dtype.itemsize == 2
        return "torch-fp16" if half else "torch-fp32"

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
        if self._towers is not None:
            return _normalised(self._towers.encode_image(torch.stack(list(batch)).numpy()))
        with torch.inference_mode():
            pixels = torch.stack(list(batch))
            if self._device.startswith("cuda"):
                # Page-locked memory lets the copy run asynchronously, at full PCIe speed.
                pixels = pixels.pin_memory()
            pixels = pixels.to(self._device, self._dtype, non_blocking=True)
            return _normalised(self._model.encode_image(pixels).float().cpu().numpy())

    def encode_images(self, images: Sequence[Image.Image]) -> npt.NDArray[np.float32]:
        return self.encode_prepared([self.prepare(image) for image in images])

    def encode_texts(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import torch

        self.load()
        assert self._tokenizer is not None
        if not texts:
            return np.zeros((0, self._dim), np.float32)
        tokens = self._tokenizer(list(texts))
        if self._towers is not None and self._towers.has_text:
            return _normalised(self._towers.encode_text(tokens.numpy().astype(np.int64)))
        with torch.inference_mode():
            tokens = tokens.to(self._device)
            if self._truncate_text:
                features = encode_text_to_eot(self._model, tokens)
            else:
                features = self._model.encode_text(tokens)
            return _normalised(features.float().cpu().numpy())


def _model_shape(model: Any) -> tuple[int, int]:
    """(embedding dimension, square input side of the image tower) of an open_clip model."""
    import torch

    size = model.visual.image_size
    image_size = int(min(size) if isinstance(size, tuple | list) else size)
    with torch.inference_mode():
        probe = torch.zeros(1, 3, image_size, image_size, dtype=next(model.parameters()).dtype)
        dim = int(model.encode_image(probe.to(next(model.parameters()).device)).shape[-1])
    return dim, image_size


def _normalised(features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    features = np.asarray(features, np.float32)
    norms = np.linalg.norm(features, axis=-1, keepdims=True)
    return np.ascontiguousarray(features / np.maximum(norms, 1e-12), dtype=np.float32)
