"""`mediasearch --self-test` drives the real window to right answers, and fails on wrong ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from mediasearch.selftest.tiny_clip import train_tiny_model
from mediasearch.ui import self_test


@pytest.fixture
def suite_model(monkeypatch, tiny_model_spec: str) -> None:
    """Hand the self-test the suite's trained tiny model instead of training its own."""
    trained = Path(tiny_model_spec.removeprefix("local-dir:"))
    monkeypatch.setattr(
        self_test, "train_tiny_model", lambda out_dir: Path(shutil.copytree(trained, out_dir))
    )


def run(qapp: QApplication) -> tuple[int, list[str]]:
    lines: list[str] = []
    return self_test.run_self_test(qapp, write=lines.append), lines


def test_self_test_passes_with_a_working_model(qapp, suite_model) -> None:
    code, lines = run(qapp)
    assert code == 0, "\n".join(lines)
    assert any('"a red circle" found red-circle-' in line for line in lines)
    assert any("photos like a blue star: blue-star-" in line for line in lines)
    assert any('"a yellow star" among videos: shapes.mp4 at 0:03' in line for line in lines)
    assert lines[-1].startswith("passed in")


def test_self_test_fails_when_the_answers_are_wrong(qapp, monkeypatch) -> None:
    # An untrained model loads and indexes fine but cannot tell shapes apart.
    monkeypatch.setattr(
        self_test, "train_tiny_model", lambda out_dir: train_tiny_model(out_dir, steps=0)
    )
    code, lines = run(qapp)
    assert code == 1
    assert lines[-1].startswith("FAILED after")
    assert "first, not a" in lines[-1]


def test_self_test_leaves_the_users_preferences_alone(qapp, suite_model, tmp_path) -> None:
    workspaces_before = set(Path(tmp_path).parent.glob("mediasearch-self-test-*"))
    code, _lines = run(qapp)
    assert code == 0
    assert set(Path(tmp_path).parent.glob("mediasearch-self-test-*")) == workspaces_before
