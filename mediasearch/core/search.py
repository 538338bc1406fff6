"""Queries: text, images and rclip-style arithmetic ("beach + sunset - people"), with filters."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mediasearch.core.catalog import Catalog, FileRecord, file_of
from mediasearch.core.media.images import decode_image, is_image_path
from mediasearch.core.media.kinds import KIND_AUDIO, KIND_VIDEO
from mediasearch.core.weights import ModelUnavailableError

if TYPE_CHECKING:
    from PIL import Image

    from mediasearch.core.encoder import Encoder
    from mediasearch.core.index import VectorIndex

log = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float32]
SPACE_IMAGE = "image"  # photos and video frames, in the image model's space
SPACE_SOUND = "sound"  # sounds and video soundtracks, in the sound model's space
# A video holds many frames: ask the index for this many times more labels than files
# wanted, so that grouping moments by file still leaves enough files.
MOMENT_OVERFETCH = 4
# Calibrated scores divide by a spread of scores; this floor keeps an item that every text
# scores alike from blowing up.
MIN_SCORE_SPREAD = 0.02
# Everyday searches, visual and audible, that a hit's score for the real query is compared
# with (query-bank normalisation): an item that matches the query far better than it
# matches ordinary searches is a real match, whatever the model's own cosine scale. The
# bank is embedded once per space by that space's text tower.
QUERY_BANK: tuple[str, ...] = (
    "a photo",
    "people",
    "a person smiling",
    "a group of friends",
    "a child playing",
    "a dog",
    "a cat",
    "a bird",
    "a car",
    "a street in a city",
    "a building",
    "a room",
    "food on a plate",
    "a landscape",
    "mountains",
    "a beach",
    "the sea",
    "a forest",
    "flowers",
    "the sky",
    "a document",
    "a screenshot",
    "a party",
    "a sunset",
    "snow",
    "music",
    "a song",
    "speech",
    "a person talking",
    "people chatting",
    "laughter",
    "applause",
    "a crowd",
    "birds singing",
    "a dog barking",
    "rain",
    "wind",
    "thunder",
    "water running",
    "traffic noise",
    "an engine",
    "a siren",
    "footsteps",
    "a door",
    "a phone ringing",
    "a baby crying",
    "silence",
    "a beep",
    "noise",
    "a bell",
)
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
    """One file in a result list, at its best-matching moment.

    `score` ranks the list: the cosine similarity in the image model's space; a hit from
    another space (a sound) gets a calibrated equivalent on that scale.
    """

    file_id: int
    path: str
    score: float
    kind: str
    at_s: float | None = None  # where in a video or sound the best match is, in seconds
    space: str = SPACE_IMAGE
    duration_s: float | None = None


@dataclass(frozen=True)
class Space:
    """An embedding space besides the image model's (the sound model's): its index and the
    text tower that puts a query into it."""

    name: str
    open_index: Callable[[], tuple[int, VectorIndex] | None]
    encode_texts: Callable[[Sequence[str]], Matrix]


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
    """Answers queries against the image model's index and any other space; thread-safe."""

    def __init__(
        self,
        catalog: Catalog,
        encoder: Encoder,
        open_index: Callable[[], tuple[int, VectorIndex] | None],
        *,
        other_spaces: Sequence[Space] = (),
    ) -> None:
        self.catalog = catalog
        self.encoder = encoder
        self.open_index = open_index
        self.other_spaces = list(other_spaces)
        self._text_cache: OrderedDict[tuple[str, str], Vector] = OrderedDict()
        self._banks: dict[str, Matrix] = {}
        self._cache_lock = threading.Lock()  # the app searches from several threads

    def search(
        self,
        query: str,
        k: int = 20,
        *,
        filters: SearchFilters | None = None,
        images: Sequence[Image.Image] = (),
    ) -> list[Hit]:
        """Rank files against a text query, optionally combined with query images.

        Text alone searches every space (photos and video frames, sounds); image terms
        only exist in the image space.
        """
        terms = parse_query(query)
        if not terms and not images:
            raise QueryError("the query is empty")
        vectors = [self._term_vector(term) * term.weight for term in terms]
        if images:
            vectors += list(self.encoder.encode_images(list(images)))
        excluded = {self._catalog_id(t.image_path) for t in terms if t.image_path} - {None}
        allowed = self._allowed(filters)
        ranked = [
            (self._rank(SPACE_IMAGE, self.open_index, _combine(vectors), k, allowed, excluded))
        ]
        if not images and all(t.text is not None for t in terms):
            for space in self.other_spaces:
                if space.open_index() is None:
                    continue  # nothing indexed in that space yet: no need for its model
                try:
                    vector = _combine(
                        [self._text_vector(space, t.text or "") * t.weight for t in terms]
                    )
                except ModelUnavailableError as error:
                    # Photos still answer when the sound model went missing.
                    log.warning("searching without the %s space: %s", space.name, error)
                    continue
                ranked.append(
                    self._rank(space.name, space.open_index, vector, k, allowed, excluded)
                )
        return self._merge([r for r in ranked if r.hits], k)

    def similar(self, path: str, k: int = 20, *, filters: SearchFilters | None = None) -> list[Hit]:
        """Files most like a file (the file itself is left out): an image or video in the
        image space; a catalogued sound in the sound space."""
        excluded = {self._catalog_id(path)} - {None}
        allowed = self._allowed(filters)
        for space in self.other_spaces:
            stored = self._stored_vector(space.open_index, path)
            if stored is not None and self._stored_vector(self.open_index, path) is None:
                return self._rank(space.name, space.open_index, stored, k, allowed, excluded).hits
        term = QueryTerm(1.0, image_path=os.path.abspath(path))
        vector = self._term_vector(term)
        return self._rank(SPACE_IMAGE, self.open_index, vector, k, allowed, excluded).hits

    def similar_to_image(
        self, image: Image.Image, k: int = 20, *, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """Files most like an image given as pixels (pasted or dropped image data)."""
        vector = self.encoder.encode_images([image])[0]
        return self._rank(
            SPACE_IMAGE, self.open_index, vector, k, self._allowed(filters), set()
        ).hits

    def text_vector(self, text: str) -> Vector:
        """The image model's vector of a text (cached: typing repeats prefixes)."""
        return self._cached((SPACE_IMAGE, text), lambda: self.encoder.encode_texts([text])[0])

    def _text_vector(self, space: Space, text: str) -> Vector:
        return self._cached((space.name, text), lambda: space.encode_texts([text])[0])

    def _cached(self, key: tuple[str, str], compute: Callable[[], Vector]) -> Vector:
        with self._cache_lock:
            cached = self._text_cache.get(key)
            if cached is not None:
                self._text_cache.move_to_end(key)
                return cached
        vector = compute()
        with self._cache_lock:
            self._text_cache[key] = vector
            if len(self._text_cache) > TEXT_CACHE_SIZE:
                self._text_cache.popitem(last=False)
        return vector

    def image_vector(self, path: str) -> Vector:
        """A catalogued file's stored vector, or the image encoded now."""
        stored = self._stored_vector(self.open_index, path)
        if stored is not None:
            return stored
        try:
            image = decode_image(path, min_side=self.encoder.image_size).image
        except Exception as error:
            raise QueryError(f"cannot use {path} as a query image: {error}") from error
        vector: Vector = self.encoder.encode_images([image])[0]
        return vector

    def _stored_vector(
        self, open_index: Callable[[], tuple[int, VectorIndex] | None], path: str
    ) -> Vector | None:
        opened = open_index()
        record = self.catalog.file_by_path(os.path.abspath(path))
        if opened is None or record is None:
            return None
        return self.catalog.embedding(record.id, opened[0])

    def _term_vector(self, term: QueryTerm) -> Vector:
        if term.image_path is not None:
            return self.image_vector(term.image_path)
        assert term.text is not None
        return self.text_vector(term.text)

    def _catalog_id(self, path: str | None) -> int | None:
        record = self.catalog.file_by_path(os.path.abspath(path)) if path else None
        return record.id if record else None

    def _allowed(self, filters: SearchFilters | None) -> set[int] | None:
        if filters is None or not filters.active:
            return None
        return self.catalog.ids_matching(
            folder=filters.folder,
            kinds=filters.kinds,
            captured_after=filters.captured_after,
            captured_before=filters.captured_before,
        )

    def _rank(
        self,
        space: str,
        open_index: Callable[[], tuple[int, VectorIndex] | None],
        vector: Vector,
        k: int,
        allowed: set[int] | None,
        excluded: set[int | None],
    ) -> _Ranked:
        """The k best files of one space, each at its best moment."""
        opened = open_index()
        if opened is None or k <= 0:
            return _Ranked(space, vector, [], [], None)
        model_id, index = opened
        wanted = k + len(excluded)
        fetch = wanted * (MOMENT_OVERFETCH if index.has_moments else 1)
        while True:
            found = index.query(vector, fetch, allowed)
            best: dict[int, tuple[int, float]] = {}
            for label, score in found:
                file_id = file_of(label)
                if file_id not in excluded and file_id not in best:
                    best[file_id] = (label, score)
            if len(best) >= k or len(found) < fetch:
                break
            fetch *= MOMENT_OVERFETCH  # many moments of few files: look further
        chosen = list(best.items())[:k]
        records = self.catalog.files_by_id(file_id for file_id, _ in chosen)
        timed = [label for file_id, (label, _) in chosen if _is_timed(records.get(file_id))]
        times = self.catalog.moment_times(model_id, timed) if timed else {}
        # A file deleted since the index answered is simply not returned.
        hits = [
            Hit(
                file_id,
                records[file_id].path,
                score,
                records[file_id].kind,
                times.get(label),
                space,
                records[file_id].duration_s,
            )
            for file_id, (label, score) in chosen
            if file_id in records
        ]
        labels = [label for file_id, (label, _) in chosen if file_id in records]
        return _Ranked(space, vector, hits, labels, index)

    def _merge(self, ranked: Sequence[_Ranked], k: int) -> list[Hit]:
        """One list from the lists of several spaces; a file found in two keeps its best.

        Raw cosines of different models are not comparable (CLIP's matches sit near 0.3, a
        sound model's elsewhere, a tiny model's near 1), so each hit is scored by how far
        its cosine for the query stands above its cosines for the everyday searches of
        QUERY_BANK, in their spreads. That standing is then put on the first space's cosine
        scale (its mean and spread over a sample of items for this query), so that the
        app's similarity threshold keeps its meaning.
        """
        if len(ranked) == 1:
            return ranked[0].hits[:k]
        if not ranked or ranked[0].index is None:
            return []
        reference = ranked[0].index.reference_scores(ranked[0].query)
        scale_mean = float(reference.mean()) if len(reference) else 0.0
        scale_spread = max(float(reference.std()) if len(reference) else 1.0, MIN_SCORE_SPREAD)
        best: dict[int, Hit] = {}
        for part in ranked:
            assert part.index is not None
            bank_scores = part.index.vectors(part.labels) @ self._bank(part.space).T
            spread = np.maximum(bank_scores.std(axis=1), MIN_SCORE_SPREAD)
            standing = (np.array([h.score for h in part.hits]) - bank_scores.mean(axis=1)) / spread
            for hit, stand in zip(part.hits, standing.tolist(), strict=True):
                calibrated = replace(hit, score=scale_mean + stand * scale_spread)
                if hit.file_id not in best or calibrated.score > best[hit.file_id].score:
                    best[hit.file_id] = calibrated
        return sorted(best.values(), key=lambda h: -h.score)[:k]

    def prepare(self) -> None:
        """Embed the query bank of every space holding vectors now, so that the first search
        mixing photos and sounds costs no more than later ones (about 50 texts per tower)."""
        spaces = [s for s in self.other_spaces if s.open_index() is not None]
        if not spaces or self.open_index() is None:
            return
        for name in (SPACE_IMAGE, *(s.name for s in spaces)):
            try:
                self._bank(name)
            except ModelUnavailableError as error:
                log.warning("cannot prepare the %s space: %s", name, error)

    def _bank(self, space: str) -> Matrix:
        """QUERY_BANK embedded by one space's text tower (once)."""
        with self._cache_lock:
            cached = self._banks.get(space)
        if cached is not None:
            return cached
        if space == SPACE_IMAGE:
            bank = self.encoder.encode_texts(list(QUERY_BANK))
        else:
            tower = next(s for s in self.other_spaces if s.name == space)
            bank = tower.encode_texts(list(QUERY_BANK))
        with self._cache_lock:
            self._banks[space] = bank
        return bank


@dataclass(frozen=True)
class _Ranked:
    """One space's answer to a query, kept for merging with other spaces'."""

    space: str
    query: Vector
    hits: list[Hit]
    labels: list[int]  # the index label of each hit's best moment
    index: VectorIndex | None


def _is_timed(record: FileRecord | None) -> bool:
    return record is not None and record.kind in (KIND_VIDEO, KIND_AUDIO)


def _combine(vectors: Sequence[Vector]) -> Vector:
    total = np.sum(np.stack(vectors), axis=0).astype(np.float32)
    norm = float(np.linalg.norm(total))
    if norm < 1e-6:
        raise QueryError("the query's terms cancel each other out")
    combined: Vector = total / norm
    return combined
