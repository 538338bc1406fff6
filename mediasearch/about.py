"""What mediasearch is and what it ships: name, version, bundled components and their licences."""

from __future__ import annotations

import importlib.metadata
import platform
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediasearch import __version__
from mediasearch.config import APP_NAME
from mediasearch.core.weights import HF_HUB_PREFIX, LOCAL_DIR_PREFIX, ModelSpec

APP_VERSION = __version__
APP_DESCRIPTION = "Private, local search for your own photos, videos and sounds."
APP_LICENCE = "MIT"
PRIVACY_NOTE = (
    "mediasearch sends nothing anywhere; the only network use is downloading a model you asked for."
)
UNKNOWN_VERSION = "—"
HF_MODEL_PAGE = "https://huggingface.co/"


@dataclass(frozen=True)
class Component:
    """Something the packaged app ships: a Python distribution or a native library inside one."""

    name: str
    distribution: str | None  # the pip distribution that carries it (its version is shown)
    licence: str  # an SPDX licence expression
    url: str
    note: str = ""

    def version(self) -> str | None:
        """The installed version, read at run time; None when it cannot be found."""
        probe = _VERSION_PROBES.get(self.name)
        try:
            if probe is not None:
                return probe()
            if self.distribution is None:
                return None
            return importlib.metadata.version(self.distribution)
        except Exception:  # a missing package or a native library that fails to load
            return None


# Licences checked against each installed distribution's metadata (License-Expression,
# License, classifiers, licence files), not written from memory.
QT_NOTE = (
    "Qt's libraries ship as separate shared libraries (in the PySide6 folder) that you may "
    "replace with your own build of the same version: that is how the LGPL is met. "
    "Source: https://download.qt.io/official_releases/qt/ and https://code.qt.io"
)
PILLOW_NOTE = (
    "Its wheel bundles image libraries (libjpeg-turbo, libpng, libtiff, libwebp, OpenJPEG, "
    "Little CMS, FreeType, HarfBuzz and others), each under a permissive licence listed in "
    "Pillow's LICENSE file. Portions of this software are copyright © The FreeType Project "
    "(https://freetype.org). All rights reserved."
)
LIBSNDFILE_NOTE = (
    "Ships inside soundfile as a separate shared library that you may replace. "
    "Source: https://github.com/libsndfile/libsndfile"
)
FFMPEG_SOURCE = (
    "Its libraries are separate shared files. Source: https://ffmpeg.org/download.html; "
    "the build scripts: https://github.com/PyAV-Org/pyav-ffmpeg"
)
# Encoders that only exist in an FFmpeg linked with these GPL-2.0-or-later libraries.
GPL_CODEC_LIBRARIES = {"libx264": "x264", "libx265": "x265"}
# FFmpeg's own words (avcodec_license()) as SPDX, and what linking a GPL library makes of each.
_FFMPEG_LICENCES = {
    "LGPL version 2.1 or later": ("LGPL-2.1-or-later", "GPL-2.0-or-later"),
    "LGPL version 3 or later": ("LGPL-3.0-or-later", "GPL-3.0-or-later"),
    "GPL version 2 or later": ("GPL-2.0-or-later", "GPL-2.0-or-later"),
    "GPL version 3 or later": ("GPL-3.0-or-later", "GPL-3.0-or-later"),
}
NVIDIA_DISTRIBUTIONS = ("nvidia-cuda-runtime", "nvidia-cuda-runtime-cu12")

_COMPONENTS = (
    Component("Python", None, "PSF-2.0", "https://www.python.org"),
    Component("Qt 6", "PySide6-Essentials", "LGPL-3.0-only", "https://www.qt.io", QT_NOTE),
    Component(
        "PySide6",
        "PySide6-Essentials",
        "LGPL-3.0-only",
        "https://pyside.org",
        "Qt for Python, with shiboken6; also offered under the GPL, used here under the "
        "LGPL-3.0. Source: https://code.qt.io/cgit/pyside/pyside-setup.git",
    ),
    Component(
        "Qt Multimedia",
        "PySide6-Addons",
        "LGPL-3.0-only",
        "https://doc.qt.io/qt-6/qtmultimedia-index.html",
        "The in-app player. It brings Qt's own FFmpeg build (LGPL-2.1-or-later), replaceable "
        "like the rest of Qt.",
    ),
    Component(
        "PyTorch",
        "torch",
        "BSD-3-Clause",
        "https://pytorch.org",
        "Its wheel also holds third-party code under Apache-2.0, BSD-2-Clause, BSL-1.0 and MIT, "
        "each licence file listed in its metadata.",
    ),
    Component("torchvision", "torchvision", "BSD-3-Clause", "https://github.com/pytorch/vision"),
    Component("OpenCLIP", "open_clip_torch", "MIT", "https://github.com/mlfoundations/open_clip"),
    Component("timm", "timm", "Apache-2.0", "https://github.com/huggingface/pytorch-image-models"),
    Component("ftfy", "ftfy", "Apache-2.0", "https://github.com/rspeer/python-ftfy"),
    Component(
        "regex", "regex", "Apache-2.0 AND CNRI-Python", "https://github.com/mrabarnett/mrab-regex"
    ),
    Component(
        "tqdm",
        "tqdm",
        "MPL-2.0 AND MIT",
        "https://github.com/tqdm/tqdm",
        "Unmodified; its source is at the project page.",
    ),
    Component("hnswlib", "hnswlib", "Apache-2.0", "https://github.com/nmslib/hnswlib"),
    Component("ONNX Runtime", "onnxruntime", "MIT", "https://onnxruntime.ai"),
    Component("ONNX", "onnx", "Apache-2.0", "https://onnx.ai"),
    Component("ONNX Script", "onnxscript", "MIT", "https://github.com/microsoft/onnxscript"),
    Component(
        "NumPy",
        "numpy",
        "BSD-3-Clause",
        "https://numpy.org",
        "Also holds code under 0BSD, MIT, Zlib and CC0-1.0, and bundles OpenBLAS (BSD-3-Clause) "
        "with the GCC Fortran runtime (GPL-3.0 with the GCC runtime library exception).",
    ),
    Component("Pillow", "Pillow", "MIT-CMU", "https://python-pillow.org", PILLOW_NOTE),
    Component("watchdog", "watchdog", "Apache-2.0", "https://github.com/gorakhargosh/watchdog"),
    Component(
        "soundfile", "soundfile", "BSD-3-Clause", "https://github.com/bastibe/python-soundfile"
    ),
    Component(
        "libsndfile",
        "soundfile",
        "LGPL-2.1-or-later",
        "https://libsndfile.github.io/libsndfile/",
        LIBSNDFILE_NOTE,
    ),
    Component("PyAV", "av", "BSD-3-Clause", "https://github.com/PyAV-Org/PyAV"),
    # FFmpeg's row is completed at run time from the build itself: see ffmpeg_component().
    Component("platformdirs", "platformdirs", "MIT", "https://github.com/tox-dev/platformdirs"),
    Component(
        "Transformers",
        "transformers",
        "Apache-2.0",
        "https://github.com/huggingface/transformers",
        "Runs the sound model (sound search).",
    ),
    Component(
        "huggingface_hub",
        "huggingface_hub",
        "Apache-2.0",
        "https://github.com/huggingface/huggingface_hub",
    ),
    Component(
        "Tokenizers", "tokenizers", "Apache-2.0", "https://github.com/huggingface/tokenizers"
    ),
    Component(
        "safetensors", "safetensors", "Apache-2.0", "https://github.com/huggingface/safetensors"
    ),
)

BUNDLED_DISTRIBUTIONS: tuple[str, ...] = tuple(
    dict.fromkeys(c.distribution for c in _COMPONENTS if c.distribution is not None)
)
"""Distributions whose metadata a bundle must carry for their versions to show (those installed)."""


def components() -> tuple[Component, ...]:
    """Every component a packaged app ships, FFmpeg's licence read from the installed build."""
    listed = list(_COMPONENTS)
    after_pyav = next(i for i, c in enumerate(listed) if c.distribution == "av") + 1
    listed.insert(after_pyav, ffmpeg_component())
    nvidia = nvidia_component()
    if nvidia is not None:
        listed.insert(next(i for i, c in enumerate(listed) if c.name == "PyTorch") + 1, nvidia)
    return tuple(listed)


@dataclass(frozen=True)
class FfmpegBuild:
    """How the FFmpeg inside PyAV was built, as it reports itself."""

    reported: str  # avcodec_license(): "LGPL version 3 or later", say
    gpl_libraries: tuple[str, ...]  # GPL-only libraries it is linked with, like x264


def ffmpeg_build() -> FfmpegBuild | None:
    """Inspect the FFmpeg that PyAV loads; None when PyAV cannot be imported."""
    try:
        import av
        import av._core
    except Exception:
        return None
    meta: dict[str, Any] = dict(av._core.library_meta.get("libavcodec", {}))
    codecs = set(av.codecs_available)
    linked = tuple(lib for codec, lib in GPL_CODEC_LIBRARIES.items() if codec in codecs)
    return FfmpegBuild(str(meta.get("license", "")), linked)


def ffmpeg_component(build: FfmpegBuild | None = None) -> Component:
    """FFmpeg's row, its licence worked out from how it was built (see `ffmpeg_build`)."""
    build = build if build is not None else ffmpeg_build()
    url = "https://ffmpeg.org"
    if build is None:
        return Component(
            "FFmpeg",
            "av",
            "LGPL-2.1-or-later OR GPL-2.0-or-later",
            url,
            "Inside PyAV; its licence depends on how it was built, and this copy could not be "
            f"inspected. {FFMPEG_SOURCE}",
        )
    # A build that reports something else (or nothing) gets SPDX's "not stated", not a guess.
    alone, with_gpl = _FFMPEG_LICENCES.get(build.reported, ("NOASSERTION", "NOASSERTION"))
    if not build.gpl_libraries:
        return Component(
            "FFmpeg", "av", alone, url, f"Inside PyAV, built as “{build.reported}”. {FFMPEG_SOURCE}"
        )
    libraries = " and ".join(build.gpl_libraries)
    return Component(
        "FFmpeg",
        "av",
        with_gpl,
        url,
        f"Inside PyAV. FFmpeg reports “{build.reported}”, but this build is linked with "
        f"{libraries} (GPL-2.0-or-later, used only to encode video, which mediasearch never "
        f"does), so the libraries as shipped are under {with_gpl}. {FFMPEG_SOURCE}",
    )


def nvidia_component() -> Component | None:
    """The CUDA libraries a GPU build of PyTorch brings, or None when none are installed."""
    for dist in NVIDIA_DISTRIBUTIONS:
        try:
            importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        return Component(
            "NVIDIA CUDA libraries",
            dist,
            "LicenseRef-NVIDIA-Proprietary",
            "https://docs.nvidia.com/cuda/eula/",
            "Only with a GPU build of PyTorch: NVIDIA's own licence, not open source.",
        )
    return None


def _qt_version() -> str | None:
    # The Qt actually loaded when the app runs; without Qt, the wheel's (PySide6 = Qt version).
    core = sys.modules.get("PySide6.QtCore")
    if core is not None:
        return str(core.qVersion())
    return importlib.metadata.version("PySide6-Essentials")


def _libsndfile_version() -> str | None:
    import soundfile

    return str(soundfile.__libsndfile_version__)


def _ffmpeg_version() -> str | None:
    import av._core

    return str(av._core.ffmpeg_version_info)


_VERSION_PROBES: dict[str, Callable[[], str | None]] = {
    "Python": platform.python_version,
    "Qt 6": _qt_version,
    "libsndfile": _libsndfile_version,
    "FFmpeg": _ffmpeg_version,
}


# -- models ------------------------------------------------------------------------------------

OPENCLIP_RELEASES = "https://github.com/mlfoundations/open_clip/releases/"
OPENAI_CLIP_PAGE = "https://github.com/openai/CLIP"
SOUND_LICENCES = {
    "laion/clap-htsat-unfused": ("Apache-2.0", "LAION's CLAP"),
}


@dataclass(frozen=True)
class ModelLicence:
    """The licence of the weights a user chose, or where to find it."""

    role: str  # "Image model" or "Sound model"
    model: str  # as configured
    licence: str | None  # SPDX when known for certain
    detail: str  # whose weights, or where to look
    url: str | None = None  # the model card, where there is one

    def line(self) -> str:
        """One line of plain text: the model, its licence and where it comes from."""
        where = f" ({self.url})" if self.url else ""
        if self.licence:
            return f"{self.model}: {self.licence}, {self.detail}{where}"
        return f"{self.model}: {self.detail}{where}"


def image_model_licence(spec: str) -> ModelLicence:
    """The licence of an image model given as configured: `name:tag`, `hf-hub:org/repo` or
    `local-dir:PATH`.

    Only weights whose origin open_clip records and whose licence is published as MIT are
    named: OpenAI's CLIP, OpenCLIP's LAION-400M/LAION-2B runs and DataComp's. Anything else
    points to its model card, since its licence is its authors' to set.
    """
    role = "Image model"
    parsed = ModelSpec.parse(spec)
    folder = parsed.local_dir
    if folder is not None:
        return _folder_licence(role, spec, folder)
    if parsed.name.startswith(HF_HUB_PREFIX):
        repo = parsed.name[len(HF_HUB_PREFIX) :]
        return ModelLicence(role, spec, None, _AUTHORS_LICENCE, HF_MODEL_PAGE + repo)
    if parsed.is_random:
        return ModelLicence(role, spec, None, "untrained weights for benchmarks, not a model")
    config = _pretrained_config(parsed.name, parsed.pretrained or "")
    tag = parsed.pretrained or ""
    hub = str(config.get("hf_hub", "")).strip("/")
    url = str(config.get("url", ""))
    repo = "/".join(hub.split("/")[:2]) if hub else ""
    card = HF_MODEL_PAGE + repo if repo else None
    if not config:
        return ModelLicence(
            role, spec, None, "weights open_clip does not list: " + _AUTHORS_LICENCE
        )
    if tag == "openai" and "openaipublic" in url:
        return ModelLicence(role, spec, "MIT", "OpenAI's CLIP weights", OPENAI_CLIP_PAGE)
    if tag.startswith(("laion400m_", "laion2b_")) and (
        hub.startswith("laion/") or url.startswith(OPENCLIP_RELEASES)
    ):
        return ModelLicence(role, spec, "MIT", "OpenCLIP weights trained by LAION", card)
    if tag.startswith("datacomp_") and hub.startswith("laion/CLIP-"):
        return ModelLicence(role, spec, "MIT", "DataComp's OpenCLIP weights", card)
    return ModelLicence(role, spec, None, _AUTHORS_LICENCE, card)


def sound_model_licence(model_id: str | None) -> ModelLicence:
    """The licence of the sound (CLAP) model: a Hugging Face repo id or `local-dir:PATH`;
    None means sound search is off."""
    role = "Sound model"
    if not model_id:
        return ModelLicence(role, "none", None, "sound search is off")
    if model_id.startswith(LOCAL_DIR_PREFIX):
        return _folder_licence(role, model_id, Path(model_id[len(LOCAL_DIR_PREFIX) :]))
    known = SOUND_LICENCES.get(model_id)
    card = HF_MODEL_PAGE + model_id
    if known is not None:
        return ModelLicence(role, model_id, known[0], f"{known[1]} weights", card)
    return ModelLicence(role, model_id, None, _AUTHORS_LICENCE, card)


def model_licences(image_spec: str, sound_model: str | None) -> tuple[ModelLicence, ...]:
    """The lines for "Your models": the image model, then the sound model."""
    return (image_model_licence(image_spec), sound_model_licence(sound_model))


_AUTHORS_LICENCE = "licence set by its authors: see its model card"
_CARD_LICENCE = re.compile(r"^license:\s*['\"]?([\w.+-]+)['\"]?\s*$", re.MULTILINE)


def _pretrained_config(name: str, tag: str) -> dict[str, Any]:
    # Where open_clip downloads these weights from tells whose they are. Importing it costs
    # torch's import, which the app has already paid by the time anyone opens About.
    try:
        import open_clip

        return dict(open_clip.get_pretrained_cfg(name, tag) or {})
    except Exception:
        return {}


def _folder_licence(role: str, spec: str, folder: Path) -> ModelLicence:
    """A model folder: the licence its model card (README.md front matter) declares, if any."""
    try:
        card = (folder.expanduser() / "README.md").read_text(encoding="utf-8", errors="replace")
    except OSError:
        card = ""
    front = card.split("---", 2)[1] if card.startswith("---") and card.count("---") >= 2 else ""
    found = _CARD_LICENCE.search(front)
    if found:
        return ModelLicence(role, spec, found.group(1), "as its model card (README.md) says")
    return ModelLicence(
        role,
        spec,
        None,
        "a folder on this computer: its licence is its authors', see the "
        "model card or licence file that came with it",
    )


def details_text(image_spec: str, sound_model: str | None, environment: Sequence[str] = ()) -> str:
    """The About box as plain text with every version, for a bug report; `environment` adds
    lines about where it runs (the GUI adds Qt's platform)."""
    lines = [
        f"{APP_NAME} {APP_VERSION}",
        APP_DESCRIPTION,
        f"Licence: {APP_LICENCE}",
        f"System: {platform.platform()}",
        *environment,
        "",
        "Your models:",
    ]
    lines += [f"  {m.role}: {m.line()}" for m in model_licences(image_spec, sound_model)]
    lines += ["", "Components:"]
    for component in components():
        version = component.version() or UNKNOWN_VERSION
        lines.append(f"  {component.name} {version}: {component.licence} ({component.url})")
    return "\n".join(lines) + "\n"
