"""The command line, run in-process on real files with the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediasearch.cli import EXIT_OK, EXIT_USAGE, run
from tests.conftest import ShapeFiles


@pytest.fixture
def cli(tmp_path: Path, tiny_model_spec: str, capsys: pytest.CaptureFixture[str]):
    def invoke(*args: str) -> tuple[int, str, str]:
        code = run(
            ["--home", str(tmp_path / "home"), "--model", tiny_model_spec, "--device", "cpu", *args]
        )
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_index_search_similar_status_forget(cli, shape_photos: ShapeFiles, tmp_path: Path) -> None:
    photos = str(tmp_path / "photos")
    code, out, _ = cli("index", photos)
    assert code == EXIT_OK
    assert f"{len(shape_photos)} indexed" in out and "0 skipped" in out

    code, out, _ = cli("search", "a yellow triangle", "-n", "5", "--json")
    hits = json.loads(out)
    assert code == EXIT_OK and len(hits) == 5
    assert {"path", "score", "kind"} <= set(hits[0])

    code, out, _ = cli("search", "a yellow triangle", "-n", "3")
    lines = out.strip().splitlines()
    assert len(lines) == 3 and lines[0].split(maxsplit=1)[1] == hits[0]["path"]

    code, out, _ = cli("similar", str(shape_photos[0][0]), "-n", "2", "--json")
    assert len(json.loads(out)) == 2

    code, out, _ = cli("status", "--json")
    status = json.loads(out)
    assert status["files_ok"] == len(shape_photos) and status["roots"] == [photos]

    code, out, _ = cli("forget", photos)
    assert code == EXIT_OK and f"{len(shape_photos)} files" in out
    code, out, _ = cli("search", "a yellow triangle", "--json")
    assert json.loads(out) == []


def test_status_lists_skipped_files(cli, tmp_path: Path) -> None:
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "broken.png").write_bytes(b"\x89PNG garbage")
    cli("index", str(folder))
    code, out, _ = cli("status", "--errors")
    assert code == EXIT_OK
    assert "broken.png" in out and "skipped" in out


def test_forgetting_an_unknown_folder_is_a_usage_error(cli, tmp_path: Path) -> None:
    code, _, err = cli("forget", str(tmp_path / "never-added"))
    assert code == EXIT_USAGE and "not a watched folder" in err


def test_missing_model_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"")
    code = run(
        [
            "--home",
            str(tmp_path / "h"),
            "--model",
            f"local-dir:{tmp_path / 'none'}",
            "index",
            str(folder),
        ]
    )
    err = capsys.readouterr().err
    assert code != EXIT_OK
    assert "does not exist" in err and "Traceback" not in err
