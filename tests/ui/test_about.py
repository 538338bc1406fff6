"""About: reached by F1 and from Settings, it shows the version, the models' and components'
licences, and copies the versions for a bug report."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel

import mediasearch
from mediasearch import __version__, about
from mediasearch.about import (
    BUNDLED_DISTRIBUTIONS,
    FfmpegBuild,
    components,
    ffmpeg_component,
    image_model_licence,
    sound_model_licence,
)
from mediasearch.config import Settings
from mediasearch.core.audio_encoder import transformers_available
from mediasearch.ui.about_dialog import WEBSITE_COLUMN, AboutDialog
from mediasearch.ui.settings_dialog import SettingsDialog
from tests.ui.test_core_is_qt_free import BLOCK_QT, NO_QT_LOADED

DEFAULT_SPEC = "ViT-B-32:laion2b_s34b_b79k"


def _press_shortcut(qtbot, window, standard_key: QKeySequence.StandardKey) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    combination = QKeySequence(standard_key)[0]
    qtbot.keyClick(window, combination.key(), combination.keyboardModifiers())


def _row(dialog: AboutDialog, name: str) -> dict[str, str]:
    table = dialog.table
    for row in range(table.rowCount()):
        if table.item(row, 0).text() == name:
            return {
                "version": table.item(row, 1).text(),
                "licence": table.item(row, 2).text(),
                "link": table.cellWidget(row, WEBSITE_COLUMN).text(),
            }
    raise AssertionError(f"{name} is not listed")


def test_f1_opens_about_with_the_version_and_the_lgpl_of_qt(qtbot, make_window):
    window = make_window()
    assert window.about_dialog is None

    _press_shortcut(qtbot, window, QKeySequence.StandardKey.HelpContents)

    dialog = window.about_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert __version__ in dialog.version_label.text()
    for name in ("Qt 6", "PySide6"):
        assert _row(dialog, name)["licence"] == "LGPL-3.0-only"
    assert _row(dialog, "PySide6")["version"] == importlib.metadata.version("PySide6-Essentials")
    assert _row(dialog, "Qt 6")["version"] == qVersion()
    link = dialog.table.cellWidget(_row_index(dialog, "Qt 6"), WEBSITE_COLUMN)
    assert isinstance(link, QLabel) and link.openExternalLinks()
    assert 'href="https://www.qt.io"' in link.text()
    # Qt's note says how the LGPL is met; it is the one shown first.
    assert "replace" in dialog.note_label.text() and "code.qt.io" in dialog.note_label.text()
    # The window's own model (a tiny local one in tests) with where its licence is found.
    image_line = dialog.model_labels[0].toolTip()
    assert window.controller.settings.model in image_line
    assert "its licence is its authors'" in image_line

    # A second F1 brings the same dialog forward rather than stacking another.
    _press_shortcut(qtbot, dialog, QKeySequence.StandardKey.HelpContents)
    assert window.about_dialog is dialog


def _row_index(dialog: AboutDialog, name: str) -> int:
    table = dialog.table
    return next(r for r in range(table.rowCount()) if table.item(r, 0).text() == name)


def test_settings_has_an_about_button_that_opens_about_over_it(qtbot, make_window):
    window = make_window()
    window.open_settings()
    settings = window.findChild(SettingsDialog)
    assert settings is not None and settings.isVisible()

    qtbot.mouseClick(settings.about_button, Qt.MouseButton.LeftButton)

    dialog = window.about_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.parent() is settings  # stacked on Settings, so neither blocks the other


def test_about_shows_the_configured_models_licences(qtbot):
    dialog = AboutDialog(Settings(model=DEFAULT_SPEC, sound_search=True))
    qtbot.addWidget(dialog)
    image, sound = (label.toolTip() for label in dialog.model_labels)
    assert image.startswith(f"{DEFAULT_SPEC}: MIT")
    assert "huggingface.co/laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in image
    if transformers_available():
        assert sound.startswith("laion/clap-htsat-unfused: Apache-2.0")


def test_copy_details_puts_every_version_on_the_clipboard(qtbot):
    dialog = AboutDialog(Settings(model=DEFAULT_SPEC))
    qtbot.addWidget(dialog)
    dialog.show()
    QGuiApplication.clipboard().clear()

    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)

    text = QGuiApplication.clipboard().text()
    try:
        assert text.startswith(f"mediasearch {__version__}\n")
        assert f"PySide6 {importlib.metadata.version('PySide6-Essentials')}: LGPL-3.0-only" in text
        assert f"Qt 6 {qVersion()}: LGPL-3.0-only" in text
        assert f"PyTorch {importlib.metadata.version('torch')}: BSD-3-Clause" in text
        assert f"Image model: {DEFAULT_SPEC}: MIT" in text
        assert "Qt platform: offscreen" in text
        assert dialog.copy_button.text() == "Copied"
    finally:
        QGuiApplication.clipboard().clear()


# -- model licences --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "whose"),
    [
        ("ViT-B-32:laion2b_s34b_b79k", "LAION"),
        ("ViT-B-16:laion400m_e32", "LAION"),
        ("ViT-L-14:openai", "OpenAI"),
        ("ViT-L-14:datacomp_xl_s13b_b90k", "DataComp"),
    ],
)
def test_known_openclip_weights_are_mit(spec, whose):
    found = image_model_licence(spec)
    assert found.licence == "MIT"
    assert whose in found.detail


@pytest.mark.parametrize(
    ("spec", "card"),
    [
        # Tags that look familiar on weights published by others: never assumed MIT.
        ("EVA02-E-14:laion2b_s4b_b115k", "https://huggingface.co/timm/"),
        ("ViT-H-14-CLIPA-336:laion2b", "https://huggingface.co/UCSC-VLAA/"),
        ("MobileCLIP-S1:datacompdr", "https://huggingface.co/apple/"),
        ("hf-hub:someone/their-clip", "https://huggingface.co/someone/their-clip"),
    ],
)
def test_other_weights_point_to_their_model_card(spec, card):
    found = image_model_licence(spec)
    assert found.licence is None
    assert "model card" in found.detail
    assert found.url is not None and found.url.startswith(card)


def test_weights_open_clip_does_not_know_point_to_a_model_card():
    found = image_model_licence("ViT-B-32:not_a_real_tag")
    assert found.licence is None and "model card" in found.line()


def test_a_model_folder_uses_the_licence_its_model_card_declares(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    assert image_model_licence(f"local-dir:{folder}").licence is None
    (folder / "README.md").write_text("---\nlicense: apache-2.0\ntags: [clip]\n---\n# A model\n")
    found = image_model_licence(f"local-dir:{folder}")
    assert found.licence == "apache-2.0" and "model card" in found.detail


def test_sound_model_licences():
    assert sound_model_licence("laion/clap-htsat-unfused").licence == "Apache-2.0"
    other = sound_model_licence("someone/clap-fork")
    assert other.licence is None and other.url == "https://huggingface.co/someone/clap-fork"
    assert "off" in sound_model_licence(None).line()


# -- components --------------------------------------------------------------------------------


def test_ffmpeg_licence_follows_how_it_was_built():
    lgpl = ffmpeg_component(FfmpegBuild("LGPL version 3 or later", ()))
    assert lgpl.licence == "LGPL-3.0-or-later"
    with_x264 = ffmpeg_component(FfmpegBuild("LGPL version 3 or later", ("x264", "x265")))
    assert with_x264.licence == "GPL-3.0-or-later"
    assert "x264 and x265" in with_x264.note
    assert ffmpeg_component(FfmpegBuild("LGPL version 2.1 or later", ("x264",))).licence == (
        "GPL-2.0-or-later"
    )
    assert ffmpeg_component(FfmpegBuild("", ())).licence == "NOASSERTION"


def test_the_installed_ffmpeg_is_inspected():
    build = about.ffmpeg_build()
    assert build is not None and build.reported
    listed = {c.name: c for c in components()}
    assert listed["FFmpeg"].licence == ffmpeg_component(build).licence
    assert listed["FFmpeg"].version() is not None


def test_bundled_distributions_are_installed_and_listed():
    for dist in BUNDLED_DISTRIBUTIONS:
        assert importlib.metadata.version(dist)
    assert {"PySide6-Essentials", "torch", "open_clip_torch", "av"} <= set(BUNDLED_DISTRIBUTIONS)
    assert all(c.version() for c in components()), "every listed component has a version"


# Each SPDX id and the ways distributions write it in their metadata or licence file.
SPELLINGS = {
    "MIT": r"\bmit\b",
    "MIT-CMU": r"\bmit-cmu\b",
    "Apache-2.0": r"apache[- ]2\.0|apache software license|apache license\s+version 2\.0",
    "BSD-3-Clause": r"bsd[- ]3[- ]clause|3[- ]clause bsd|\bbsd\b",
    "LGPL-3.0-only": r"\blgpl-3\.0-only\b",
    "MPL-2.0": r"\bmpl-2\.0\b",
    "CNRI-Python": r"\bcnri-python\b",
}
# Rows for a library inside another distribution, whose metadata speaks for the wrapper.
NOT_THE_DISTRIBUTIONS_OWN = {"Python", "Qt 6", "libsndfile", "FFmpeg", "NVIDIA CUDA libraries"}


def _declared(dist: str) -> str:
    meta = importlib.metadata.metadata(dist)
    parts = [meta.get("License-Expression") or "", (meta.get("License") or "")[:200]]
    parts += [c for c in meta.get_all("Classifier") or [] if c.startswith("License")]
    if not any(parts):  # nothing declared: the licence file the wheel carries says it
        distribution = importlib.metadata.distribution(dist)
        for name in meta.get_all("License-File") or []:
            text = distribution.read_text(f"licenses/{name}") or distribution.read_text(name)
            parts.append((text or "")[:200])
    return " ".join(parts).lower()


@pytest.mark.parametrize(
    "component",
    [c for c in components() if c.name not in NOT_THE_DISTRIBUTIONS_OWN],
    ids=lambda c: c.name,
)
def test_listed_licences_match_the_installed_metadata(component):
    declared = _declared(component.distribution)
    for spdx in re.split(r"\s+(?:AND|OR|WITH)\s+", component.licence):
        assert re.search(SPELLINGS[spdx], declared), f"{spdx} not in {declared!r}"


QT_FREE_SCRIPT = (
    BLOCK_QT
    + "from mediasearch.about import details_text\n"
    + 'text = details_text("ViT-B-32:laion2b_s34b_b79k", None)\n'
    + NO_QT_LOADED
    + "print(text)\n"
)


def test_about_is_qt_free_so_the_cli_and_the_spec_can_use_it():
    root = Path(mediasearch.__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", QT_FREE_SCRIPT],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # Without Qt loaded, Qt's version is the PySide6 wheel's (they are released together).
    assert f"Qt 6 {importlib.metadata.version('PySide6-Essentials')}:" in done.stdout


def test_a_closed_about_is_gone_and_f1_opens_a_fresh_one(qtbot, make_window):
    window = make_window()
    window.show_about()
    first = window.about_dialog
    assert first is not None
    with qtbot.waitSignal(first.destroyed, timeout=5000):
        first.reject()
    assert window.about_dialog is None

    _press_shortcut(qtbot, window, QKeySequence.StandardKey.HelpContents)
    assert window.about_dialog is not None and window.about_dialog.isVisible()
