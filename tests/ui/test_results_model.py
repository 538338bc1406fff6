"""The results model passes Qt's model checks and holds 100 000 rows with lazy metadata."""

from __future__ import annotations

from mediasearch.core.catalog import FileRecord
from mediasearch.core.search import Hit
from mediasearch.ui.results_model import (
    MetadataFetcher,
    PathRole,
    RecordRole,
    ResultsModel,
    ScoreRole,
)
from tests.ui.conftest import InlinePool


def hits(count: int) -> list[Hit]:
    return [
        Hit(i, f"/photos/img_{i:06d}.jpg", 1.0 - i / (count + 1), "image") for i in range(count)
    ]


def record(file_id: int) -> FileRecord:
    return FileRecord(
        file_id,
        f"/photos/img_{file_id:06d}.jpg",
        1,
        "image",
        2048,
        10**18,
        "ab" * 16,
        "ok",
        None,
        640,
        480,
        None,
    )


def test_qtmodeltester(qtmodeltester):
    model = ResultsModel()
    model.set_hits(hits(500))
    qtmodeltester.check(model)
    model.set_threshold(0.5)
    qtmodeltester.check(model)
    model.remove_ids([3, 4, 5])
    qtmodeltester.check(model)


def test_large_results_with_lazy_metadata(qtbot):
    asked: list[list[int]] = []

    def fetch(ids: list[int]) -> dict[int, FileRecord]:
        asked.append(ids)
        return {i: record(i) for i in ids}

    fetcher = MetadataFetcher(fetch, InlinePool())  # type: ignore[arg-type]
    model = ResultsModel(metadata=fetcher)
    model.set_hits(hits(100_000))
    assert model.rowCount() == 100_000
    last = model.index(99_999)
    assert last.data(PathRole) == "/photos/img_099999.jpg"
    assert isinstance(last.data(ScoreRole), float)
    assert not asked  # nothing fetched until something asks for details
    assert last.data(RecordRole) is None
    with qtbot.waitSignal(model.dataChanged, timeout=2000):
        pass
    assert asked == [[99_999]]
    assert last.data(RecordRole).width == 640
    assert "640" in last.data(0x03)  # tooltip: path, score, date and size


def test_threshold_moves_rows_in_and_out():
    model = ResultsModel()
    model.set_hits(hits(10))
    model.set_threshold(0.5)
    assert model.rowCount() == 6 and model.hidden_count == 4  # 1 - 5/11 >= 0.5
    model.set_threshold(0.0)
    assert model.rowCount() == 10 and model.hidden_count == 0
