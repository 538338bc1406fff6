"""Query parsing: rclip-style "+", "-", weights and image paths as terms."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediasearch.core.search import QueryTerm, parse_query


def test_plain_text_is_one_term() -> None:
    assert parse_query("kids at the beach at sunset") == [
        QueryTerm(1.0, text="kids at the beach at sunset")
    ]


def test_plus_minus_and_weights() -> None:
    assert parse_query("2:beach + sunset - 0.5:people") == [
        QueryTerm(2.0, text="beach"),
        QueryTerm(1.0, text="sunset"),
        QueryTerm(-0.5, text="people"),
    ]


@pytest.mark.parametrize("text", ["t-shirt", "black+white", "a red-blue flag"])
def test_operators_need_spaces(text: str) -> None:
    assert parse_query(text) == [QueryTerm(1.0, text=text)]


def test_existing_image_path_is_an_image_term(tmp_path: Path) -> None:
    photo = tmp_path / "cat.jpg"
    photo.write_bytes(b"not really")
    assert parse_query(f"{photo} + snow") == [
        QueryTerm(1.0, image_path=str(photo)),
        QueryTerm(1.0, text="snow"),
    ]
    assert parse_query(f"{tmp_path / 'missing.jpg'}")[0].text is not None


def test_empty_query_has_no_terms() -> None:
    assert parse_query("   ") == []
