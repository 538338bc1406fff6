"""Crashes and damage: a killed index run resumes, a damaged index file is rebuilt."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mediasearch.core.library import CATALOG_FILE, INDEX_DIR
from mediasearch.selftest.shapes import all_combinations, draw_shape

KILL_TIMEOUT_S = 300


def cli_command(home: Path, model: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mediasearch",
        "--home",
        str(home),
        "--model",
        model,
        "--device",
        "cpu",
        *args,
    ]


def cli(home: Path, model: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(home, model, *args),
        capture_output=True,
        text=True,
        check=True,
        timeout=KILL_TIMEOUT_S,
    )


def embedded_count(home: Path) -> int:
    try:
        with sqlite3.connect(f"file:{home / CATALOG_FILE}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.fixture
def big_photos(tmp_path: Path) -> list[Path]:
    """Camera-ish JPEGs large enough that an index run takes a few seconds."""
    rng = random.Random(5)
    paths = []
    for i in range(240):
        shape, color = all_combinations()[i % 16]
        image = draw_shape(shape, color, rng, 96).resize((1200, 900))
        path = tmp_path / "big" / f"{i // 60}" / f"photo_{i:03d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, quality=92)
        paths.append(path)
    return paths


def test_killed_index_run_resumes_without_loss_or_duplicates(
    tiny_model_spec: str, big_photos: list[Path], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    command = cli_command(home, tiny_model_spec, "index", str(tmp_path / "big"))
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + KILL_TIMEOUT_S
    while embedded_count(home) == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_at_kill = embedded_count(home)
    assert 0 < done_at_kill < len(big_photos), "the run must be killed part-way through"

    result = cli(home, tiny_model_spec, "index")
    assert "done" in result.stdout

    status = json.loads(cli(home, tiny_model_spec, "status", "--json").stdout)
    assert status["files_ok"] == len(big_photos)
    assert status["files_pending"] == 0
    assert status["index_count"] == status["embedded_count"] == len(big_photos)
    hits = json.loads(
        cli(home, tiny_model_spec, "search", "a red circle", "-n", "1000", "--json").stdout
    )
    paths = [h["path"] for h in hits]
    assert len(paths) == len(set(paths)) == len(big_photos)


def test_damaged_index_file_is_rebuilt(tiny_model_spec: str, shape_photos, tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli(home, tiny_model_spec, "index", str(tmp_path / "photos"))
    before = json.loads(cli(home, tiny_model_spec, "search", "a green star", "--json").stdout)
    (index_file,) = (home / INDEX_DIR).glob("*.hnsw")
    with index_file.open("r+b") as f:
        f.truncate(os.path.getsize(index_file) // 2)

    after = cli(home, tiny_model_spec, "search", "a green star", "--json")

    assert json.loads(after.stdout) == before
    status = json.loads(cli(home, tiny_model_spec, "status", "--json").stdout)
    assert status["index_count"] == len(shape_photos)


def test_garbage_manifest_and_index_are_rebuilt(
    tiny_model_spec: str, shape_photos, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    cli(home, tiny_model_spec, "index", str(tmp_path / "photos"))
    (index_file,) = (home / INDEX_DIR).glob("*.hnsw")
    index_file.write_bytes(os.urandom(4096))
    index_file.with_suffix(".json").write_text("{not json")
    result = cli(home, tiny_model_spec, "search", "a blue square", "-n", "5", "--json")
    assert len(json.loads(result.stdout)) == 5
