"""User settings as a typed dataclass stored in TOML, and where mediasearch keeps its data."""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs

from mediasearch.core.audio_encoder import DEFAULT_AUDIO_MODEL, transformers_available
from mediasearch.core.index import write_atomically
from mediasearch.core.weights import DEFAULT_MODEL

log = logging.getLogger(__name__)

APP_NAME = "mediasearch"
HOME_ENV = "MEDIASEARCH_HOME"
SETTINGS_FILE = "settings.toml"
SETTINGS_SCHEMA_VERSION = 1


def home_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the catalog and index live: --home, else $MEDIASEARCH_HOME, else the OS's user
    data folder."""
    chosen = explicit or os.environ.get(HOME_ENV)
    if chosen:
        return Path(chosen).expanduser().absolute()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir(home: Path) -> Path:
    """Downloaded weights and thumbnails: inside an explicit home (so tests and portable
    installs stay self-contained), else the OS's user cache folder."""
    default_home = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    if home != default_home:
        return home / "cache"
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


@dataclass
class Settings:
    """What a user can change in Settings; unknown keys in the file are ignored."""

    model: str = DEFAULT_MODEL
    device: str = "auto"  # auto, cpu, cuda or mps
    backend: str = "fast"  # fast (ONNX Runtime, int8 images on a CPU) or exact (torch fp32)
    thumbnail_size: int = 160
    excluded_folders: list[str] = field(default_factory=list)
    sound_search: bool = True  # index sounds and video soundtracks (needs the audio extra)
    audio_model: str = DEFAULT_AUDIO_MODEL  # a CLAP repo id or "local-dir:PATH"
    schema_version: int = SETTINGS_SCHEMA_VERSION

    def sound_model(self) -> str | None:
        """The sound model to use, or None when sound search is off or not installed."""
        if not self.sound_search or not self.audio_model:
            return None
        return self.audio_model if transformers_available() else None

    @classmethod
    def load(cls, home: Path) -> Settings:
        path = home / SETTINGS_FILE
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            log.warning("ignoring unreadable settings %s: %s", path, error)
            return cls()
        known = {f.name for f in fields(cls)}
        settings = cls(**{k: v for k, v in raw.items() if k in known})
        settings.schema_version = SETTINGS_SCHEMA_VERSION
        return settings

    def save(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        write_atomically(home / SETTINGS_FILE, _to_toml(asdict(self)).encode("utf-8"))


def _to_toml(values: dict[str, object]) -> str:
    # Settings are flat strings, ints, bools and string lists: a few lines beat a dependency.
    lines = []
    for key, value in values.items():
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'
