"""Benchmark: filling the results grid with 100 000 hits and scrolling through it.

Measures, with the real ResultsModel and ResultsView (offscreen unless DISPLAY is set),
the time to hand the grid a result list and lay it out, and the time per page-down step
including a full repaint of the visible cells. A frame at 60 Hz is 16.7 ms.

    python bench/grid_scroll.py --rows 100000 --steps 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

if "DISPLAY" not in os.environ:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from mediasearch.core.catalog import FileRecord
from mediasearch.core.search import Hit
from mediasearch.ui.results_model import MetadataFetcher, ResultsModel
from mediasearch.ui.results_view import ResultsView


def fake_records(ids: list[int]) -> dict[int, FileRecord]:
    return {
        i: FileRecord(
            i,
            f"/photos/{i:06d}.jpg",
            1,
            "image",
            2_000_000,
            10**18,
            "ab" * 16,
            "ok",
            None,
            4000,
            3000,
            None,
        )
        for i in ids
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()

    app = QApplication([])
    model = ResultsModel(metadata=MetadataFetcher(fake_records))
    view = ResultsView()
    view.setModel(model)
    view.resize(1000, 700)
    view.show()
    app.processEvents()
    hits = [
        Hit(i, f"/photos/{i:06d}.jpg", 1.0 - i / (args.rows + 1), "image") for i in range(args.rows)
    ]

    started = time.perf_counter()
    model.set_hits(hits)
    while view.verticalScrollBar().maximum() == 0:  # batched layout finishes in the loop
        app.processEvents()
    fill_ms = (time.perf_counter() - started) * 1000

    bar = view.verticalScrollBar()
    step_ms = []
    for _ in range(args.steps):
        started = time.perf_counter()
        bar.setValue(min(bar.value() + bar.pageStep(), bar.maximum()))
        view.viewport().repaint()
        app.processEvents()
        step_ms.append((time.perf_counter() - started) * 1000)
    print(
        f"{args.rows} rows: filled and laid out in {fill_ms:.0f} ms; page-down + repaint "
        f"median {statistics.median(step_ms):.1f} ms, "
        f"95th percentile {sorted(step_ms)[int(0.95 * len(step_ms))]:.1f} ms "
        f"over {args.steps} steps"
    )


if __name__ == "__main__":
    main()
