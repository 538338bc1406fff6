"""Queries: text, images and rclip-style arithmetic ("beach + sunset - people"), with filters."""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mediasearch.core.catalog import Catalog
from mediasearch.core.media.images import decode_image, is_image_path

if TYPE_CHECKING:
    from PIL import Image

    from mediasearch.core.encoder import Encoder
    from mediasearch.core.index import VectorIndex

Vector = npt.NDArray[np.float32]
TEXT_CACHE_SIZE = 256  # search-as-you-type repeats prefixes; their text vectors are cheap to keep
# Operators need spaces around them, so "t-shirt" and "black+white" stay single terms.
_OPERATOR = re.compile(r"\s+([+-])\s+")
_WEIGHT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*:\s*(.+)$")


class QueryError(ValueError):
    """A query that cannot be run, e.g. an empty one or an unreadable image term."""


@dataclass(frozen=True)
class QueryTerm:
    """One part of a query: text or an image file, with a signed weight."""

    weight: float
    text: str | None = None
    image_path: str | None = None


@dataclass(frozen=True)
class SearchFilters:
    """Limits on which files may be returned; capture times are POSIX seconds."""

    folder: str | None = None
    kinds: tuple[str, ...] | None = None
    captured_after: float | None = None
    captured_before: float | None = None

    @property
    def active(self) -> bool:
        return any(
            v is not None
            for v in (self.folder, self.kinds, self.captured_after, self.captured_before)
        )


@dataclass(frozen=True)
class Hit:
    file_id: int
    path: str
    score: float
    kind: str


def parse_query(text: str) -> list[QueryTerm]:
    """Split "2:dog + beach - people" into weighted terms; an image path becomes an image term."""
    parts = _OPERATOR.split(" " + text.strip() + " ")
    # re.split with a group yields [first, op, term, op, term, ...]
    signs_and_terms = [("+", parts[0]), *list(zip(parts[1::2], parts[2::2], strict=True))]
    terms = []
    for sign, raw in signs_and_terms:
        raw = raw.strip()
        if not raw:
            continue
        weight = 1.0
        match = _WEIGHT.match(raw)
        if match:
            weight, raw = float(match.group(1)), match.group(2).strip()
        weight = -weight if sign == "-" else weight
        candidate = os.path.expanduser(raw.strip("'\""))
        if is_image_path(candidate) and os.path.isfile(candidate):
            terms.append(QueryTerm(weight, image_path=os.path.abspath(candidate)))
        else:
            terms.append(QueryTerm(weight, text=raw))
    return terms


class Searcher:
    """Answers queries against one model's index; safe to use from any thread."""

    def __init__(
        self,
        catalog: Catalog,
        encoder: Encoder,
        open_index: Callable[[], tuple[int, VectorIndex] | None],
    ) -> None:
        self.catalog = catalog
        self.encoder = encoder
        self.open_index = open_index
        self._text_cache: OrderedDict[str, Vector] = OrderedDict()
        self._cache_lock = threading.Lock()  # the app searches from several threads

    def search(
        self,
        query: str,
        k: int = 20,
        *,
        filters: SearchFilters | None = None,
        images: Sequence[Image.Image] = (),
    ) -> list[Hit]:
        """Rank files against a text query, optionally combined with query images."""
        terms = parse_query(query)
        if not terms and not images:
            raise QueryError("the query is empty")
        vectors = [self._term_vector(term) * term.weight for term in terms]
        if images:
            vectors += list(self.encoder.encode_images(list(images)))
        excluded = {self._catalog_id(t.image_path) for t in terms if t.image_path}
        return self._rank(_combine(vectors), k, filters, excluded - {None})

    def similar(self, path: str, k: int = 20, *, filters: SearchFilters | None = None) -> list[Hit]:
        """Files most like an image file (the file itself is left out)."""
        term = QueryTerm(1.0, image_path=os.path.abspath(path))
        return self._rank(self._term_vector(term), k, filters, {self._catalog_id(path)} - {None})

    def similar_to_image(
        self, image: Image.Image, k: int = 20, *, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """Files most like an image given as pixels (pasted or dropped image data)."""
        return self._rank(self.encoder.encode_images([image])[0], k, filters, set())

    def text_vector(self, text: str) -> Vector:
        with self._cache_lock:
            cached = self._text_cache.get(text)
            if cached is not None:
                self._text_cache.move_to_end(text)
                return cached
        vector: Vector = self.encoder.encode_texts([text])[0]
        with self._cache_lock:
            self._text_cache[text] = vector
            if len(self._text_cache) > TEXT_CACHE_SIZE:
                self._text_cache.popitem(last=False)
        return vector

    def image_vector(self, path: str) -> Vector:
        """A catalogued file's stored vector, or the image encoded now."""
        opened = self.open_index()
        record = self.catalog.file_by_path(os.path.abspath(path))
        if opened is not None and record is not None:
            stored = self.catalog.embedding(record.id, opened[0])
            if stored is not None:
                return stored
        try:
            image = decode_image(path, min_side=self.encoder.image_size).image
        except Exception as error:
            raise QueryError(f"cannot use {path} as a query image: {error}") from error
        vector: Vector = self.encoder.encode_images([image])[0]
        return vector

    def _term_vector(self, term: QueryTerm) -> Vector:
        if term.image_path is not None:
            return self.image_vector(term.image_path)
        assert term.text is not None
        return self.text_vector(term.text)

    def _catalog_id(self, path: str | None) -> int | None:
        record = self.catalog.file_by_path(os.path.abspath(path)) if path else None
        return record.id if record else None

    def _rank(
        self,
        vector: Vector,
        k: int,
        filters: SearchFilters | None,
        excluded: set[int | None],
    ) -> list[Hit]:
        opened = self.open_index()
        if opened is None or k <= 0:
            return []
        index = opened[1]
        allowed = None
        if filters is not None and filters.active:
            allowed = self.catalog.ids_matching(
                folder=filters.folder,
                kinds=filters.kinds,
                captured_after=filters.captured_after,
                captured_before=filters.captured_before,
            )
        found = index.query(vector, k + len(excluded), allowed)
        found = [(i, s) for i, s in found if i not in excluded][:k]
        records = self.catalog.files_by_id(i for i, _ in found)
        # A file deleted since the index answered is simply not returned.
        return [
            Hit(i, records[i].path, score, records[i].kind) for i, score in found if i in records
        ]


def _combine(vectors: Sequence[Vector]) -> Vector:
    total = np.sum(np.stack(vectors), axis=0).astype(np.float32)
    norm = float(np.linalg.norm(total))
    if norm < 1e-6:
        raise QueryError("the query's terms cancel each other out")
    combined: Vector = total / norm
    return combined
