"""Settings: switching the CPU backend swaps the engine without re-encoding a photo."""

from __future__ import annotations

from pathlib import Path

from mediasearch.selftest.shapes import write_shape_images
from mediasearch.ui.settings_dialog import SettingsDialog
from tests.ui.conftest import result_paths, search_for, wait_model_ready


def test_switching_to_exact_keeps_every_vector_and_the_answers(qtbot, make_window, tmp_path):
    photos = tmp_path / "photos"
    written = {str(path): (shape, colour) for path, shape, colour in write_shape_images(photos, 48)}
    window = make_window()
    controller = window.controller
    wait_model_ready(qtbot, window)
    with qtbot.waitSignal(controller.indexFinished, timeout=60_000):
        controller.add_folder(str(photos))
    assert window.model_label.text() == "Ready · model on CPU, fast"

    dialog = SettingsDialog(controller.settings)
    dialog.backend_combo.setCurrentIndex(dialog.backend_combo.findData("exact"))
    with qtbot.waitSignal(controller.indexFinished, timeout=60_000) as finished:
        controller.apply_settings(dialog.settings())

    assert finished.args[0].indexed == 0  # the same model's vectors: nothing re-encoded
    assert controller.library.encoder.backend == "torch-fp32"
    assert window.model_label.text() == "Ready · model on CPU"
    search_for(qtbot, window, "a red circle")
    top = [written[path] for path in result_paths(window)[:3]]
    assert top == [("circle", "red")] * 3
    assert Path(tmp_path / "home" / "settings.toml").read_text().count('backend = "exact"') == 1
