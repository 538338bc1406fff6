"""The CPU fast path: the model's towers exported once to ONNX Runtime and cached on disk.

On a CPU the image tower runs as an int8 dynamically quantised graph (about 1.6x the
images/s of torch fp32 on two cores, cosine >= 0.999 to it; fp32 for towers that quantise
badly) and the text tower as an fp32 graph cut at the end-of-text token (a few ms a query).
The export happens on first use of a model; later starts load the cached graphs without
building the torch model at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mediasearch.core.text_tower import encode_truncated, supports_truncation

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # bump when the export recipe changes: old caches are then ignored
IMAGE_GRAPH = "image.onnx"
TEXT_GRAPH = "text-fp32.onnx"
META_FILE = "export.json"
FAILED_FILE = "export-failed.txt"
_EXPORT_BATCH = 2  # example input sizes; the exported graphs take any batch and length
_EXPORT_TOKENS = 8
# The int8 image tower is kept only if it stays this close to the torch model on a probe
# batch; some towers quantise badly (ViT-B-16-SigLIP fell to 0.91) and then stay fp32.
MIN_INT8_COSINE = 0.99
_PROBE_IMAGES = 8


def onnx_runtime_available() -> bool:
    """Whether the packages for export and inference are installed."""
    return all(importlib.util.find_spec(name) for name in ("onnxruntime", "onnx", "onnxscript"))


@dataclass(frozen=True)
class ExportInfo:
    """What a cached export holds, besides the graphs themselves."""

    format_version: int
    identity: str
    dim: int
    image_size: int
    preprocess: dict[str, Any]  # open_clip's PreprocessCfg fields
    text_pool_type: str
    text_eos_id: int | None
    has_text_graph: bool
    image_precision: str = "int8"  # or "fp32", when int8 did not keep MIN_INT8_COSINE


def export_folder(cache_dir: Path, identity: str) -> Path:
    """Where the export of the model with this identity lives (one folder per model)."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}\0{identity}".encode()).hexdigest()[:20]
    return cache_dir / "onnx" / digest


def read_export(folder: Path, identity: str) -> ExportInfo | None:
    """The export in `folder` if it is complete and of this model and recipe, else None."""
    try:
        fields = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        info = ExportInfo(**fields)
    except (OSError, ValueError, TypeError):
        return None
    if info.format_version != FORMAT_VERSION or info.identity != identity:
        return None
    graphs = [IMAGE_GRAPH] + ([TEXT_GRAPH] if info.has_text_graph else [])
    if not all((folder / name).is_file() for name in graphs):
        return None
    return info


def _failure_file(folder: Path) -> Path:
    return folder.parent / f"{folder.name}-{FAILED_FILE}"


def previous_failure(folder: Path) -> str | None:
    """Why exporting this model failed before (then it is not tried on every start; a new
    FORMAT_VERSION, or deleting the file, tries again)."""
    try:
        return _failure_file(folder).read_text(encoding="utf-8")
    except OSError:
        return None


def record_failure(folder: Path, reason: str) -> None:
    """Remember that exporting into `folder` failed, and why."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    _failure_file(folder).write_text(reason, encoding="utf-8")


def export_towers(model: Any, info: ExportInfo, folder: Path) -> ExportInfo:
    """Export `model`'s towers into `folder`, atomically: a half-written export never exists.

    Takes a minute or so on two cores for ViT-B-32; the caller shows that it is working.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        precision = _export_image_tower(model, info.image_size, staging)
        has_text = supports_truncation(model)
        if has_text:
            _export_text_tower(model, staging / TEXT_GRAPH)
        info = ExportInfo(
            **{**asdict(info), "has_text_graph": has_text, "image_precision": precision}
        )
        (staging / META_FILE).write_text(json.dumps(asdict(info)), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return info


def _export_image_tower(model: Any, image_size: int, staging: Path) -> str:
    """Write IMAGE_GRAPH into `staging`: int8 when it stays faithful, else fp32."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class ImageTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            features: torch.Tensor = self.model.encode_image(pixels)
            return features

    fp32 = staging / "image-fp32.onnx"
    int8 = staging / "image-int8.onnx"
    example = torch.randn(_EXPORT_BATCH, 3, image_size, image_size)
    _export(ImageTower(), example, "pixels", fp32)
    # MatMul only: ORT's int8 convolutions are slower than its fp32 ones (MobileCLIP's conv
    # stages ran 5x slower). reduce_range: 7-bit weights avoid the int8 overflow of AVX2
    # CPUs without VNNI, which otherwise costs accuracy (cosine 0.9995 fell to 0.994).
    quantize_dynamic(
        fp32,
        int8,
        weight_type=QuantType.QInt8,
        reduce_range=True,
        op_types_to_quantize=["MatMul"],
    )
    cosine = _probe_cosine(model, int8, image_size)
    if cosine >= MIN_INT8_COSINE:
        fp32.unlink()
        int8.replace(staging / IMAGE_GRAPH)
        return "int8"
    log.info("int8 image tower only reached cosine %.4f to torch; keeping fp32", cosine)
    int8.unlink()
    fp32.replace(staging / IMAGE_GRAPH)
    return "fp32"


def _probe_cosine(model: Any, graph: Path, image_size: int) -> float:
    """The worst cosine between `graph`'s image vectors and the torch model's, on a probe
    batch of noise (quantisation error shows on any input; no photos are needed)."""
    import onnxruntime as ort
    import torch

    generator = torch.Generator().manual_seed(0)
    pixels = torch.randn(_PROBE_IMAGES, 3, image_size, image_size, generator=generator)
    with torch.no_grad():
        reference = model.encode_image(pixels).numpy()
    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    (quantised,) = session.run(None, {"pixels": pixels.numpy()})
    dots = (reference * quantised).sum(axis=1)
    norms = np.linalg.norm(reference, axis=1) * np.linalg.norm(quantised, axis=1)
    return float((dots / np.maximum(norms, 1e-12)).min())


def _export_text_tower(model: Any, target: Path) -> None:
    import torch

    class TextTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            return encode_truncated(self.model, tokens)

    eot = int(model.vocab_size) - 1 if model.text_pool_type == "argmax" else model.text_eos_id
    example = torch.full((_EXPORT_BATCH, _EXPORT_TOKENS), 1, dtype=torch.long)
    example[:, -1] = eot
    _export(TextTower(), example, "tokens", target, dynamic_length=int(model.context_length))


def _export(
    module: Any, example: Any, input_name: str, target: Path, dynamic_length: int = 0
) -> None:
    """torch.export-based ONNX export with a dynamic batch (and token length)."""
    import torch

    shapes: dict[int, Any] = {0: torch.export.Dim("batch", min=1, max=4096)}
    if dynamic_length:
        shapes[1] = torch.export.Dim("length", min=2, max=dynamic_length)
    module.eval()
    with warnings.catch_warnings(), _quiet_exporter_logs(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(target),
            input_names=[input_name],
            output_names=["features"],
            dynamic_shapes={input_name: shapes},
            dynamo=True,
            external_data=False,
            verbose=False,
        )


@contextlib.contextmanager
def _quiet_exporter_logs() -> Iterator[None]:
    """The exporter's graph passes log hundreds of lines at INFO; users need none of them."""
    loggers = [logging.getLogger(name) for name in ("onnxscript", "onnx_ir", "torch.onnx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class OnnxTowers:
    """Inference sessions over a cached export."""

    def __init__(self, folder: Path, info: ExportInfo, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or max(1, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # Idle ORT threads spin by default, stealing the cores our JPEG decoders need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CPUExecutionProvider"]
        self.info = info
        self._image = ort.InferenceSession(str(folder / IMAGE_GRAPH), options, providers=providers)
        self._text = (
            ort.InferenceSession(str(folder / TEXT_GRAPH), options, providers=providers)
            if info.has_text_graph
            else None
        )

    @property
    def has_text(self) -> bool:
        return self._text is not None

    def encode_image(self, pixels: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        (features,) = self._image.run(None, {"pixels": np.ascontiguousarray(pixels, np.float32)})
        return np.asarray(features, np.float32)

    def encode_text(self, tokens: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """Embed token rows; the padding after the last end-of-text token is cut first."""
        assert self._text is not None
        if self.info.text_pool_type == "argmax":
            ends = tokens.argmax(axis=-1)
        else:
            ends = (tokens == self.info.text_eos_id).argmax(axis=-1)
        cut = np.ascontiguousarray(tokens[:, : int(ends.max()) + 1], np.int64)
        (features,) = self._text.run(None, {"tokens": cut})
        return np.asarray(features, np.float32)
