"""The command line: index, search, similar, status and forget verbs over the headless core."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from types import FrameType
from typing import TextIO

from mediasearch import __version__
from mediasearch.config import Settings, cache_dir, home_dir
from mediasearch.core.audio_encoder import transformers_available
from mediasearch.core.catalog import CatalogError
from mediasearch.core.indexer import PHASE_SCANNING, IndexSummary, Progress
from mediasearch.core.library import Library
from mediasearch.core.lock import LibraryLockedError
from mediasearch.core.media.kinds import KIND_AUDIO, KIND_IMAGE, KIND_VIDEO, clock
from mediasearch.core.search import Hit, QueryError, SearchFilters
from mediasearch.core.weights import ModelUnavailableError

# What users type for --kind, and the catalog's kind for it.
KIND_CHOICES = {"photo": KIND_IMAGE, "video": KIND_VIDEO, "sound": KIND_AUDIO}
READING_VERBS = frozenset({"search", "similar", "status"})
VERBS = ("index", "search", "similar", "status", "forget")
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
BAR_WIDTH = 30


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mediasearch",
        description="Private, local search for your own photos, videos and sounds. Run with "
        "no command for the app; `mediasearch --self-test` checks this install end to end.",
    )
    parser.add_argument("--version", action="version", version=f"mediasearch {__version__}")
    parser.add_argument("--home", help="data folder (default: $MEDIASEARCH_HOME or the OS's)")
    parser.add_argument("--model", help="open_clip model: NAME:TAG, hf-hub:ORG/REPO or a folder")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="where to run")
    parser.add_argument(
        "--backend",
        choices=("fast", "exact"),
        help="on a CPU: fast (ONNX Runtime, int8 image tower; the default) or exact (torch fp32)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND")

    index = verbs.add_parser("index", help="add folders and index new or changed files")
    index.add_argument("roots", nargs="*", help="folders to add (default: rescan known ones)")
    index.add_argument("--quiet", action="store_true", help="no progress bar")
    index.add_argument(
        "--retry-errors", action="store_true", help="try skipped files again (e.g. after chmod)"
    )

    for name, what in (
        ("search", "rank files against a query"),
        ("similar", "files most like an image"),
    ):
        verb = verbs.add_parser(name, help=what)
        if name == "search":
            verb.add_argument("query", help='text, "a + b - c", "2:dog", or an image path')
        else:
            verb.add_argument("image", help="an image file")
        verb.add_argument("-n", "--limit", type=int, default=20, help="results (default 20)")
        verb.add_argument("--json", action="store_true", help="machine-readable output")
        verb.add_argument("--folder", help="only files under this folder")
        verb.add_argument("--after", type=_date, help="captured on or after YYYY-MM-DD")
        verb.add_argument("--before", type=_date, help="captured before YYYY-MM-DD")
        verb.add_argument(
            "--kind",
            action="append",
            choices=sorted(KIND_CHOICES),
            help="only photos, videos or sounds (repeat for several)",
        )

    status = verbs.add_parser("status", help="files, errors, model, device and index health")
    status.add_argument("--errors", action="store_true", help="list skipped files and why")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    forget = verbs.add_parser("forget", help="drop a folder and everything under it")
    forget.add_argument("root", help="a folder given to `index` before")
    return parser


def _date(text: str) -> float:
    try:
        return datetime.strptime(text, "%Y-%m-%d").timestamp()
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-07-31") from error


def open_library(args: argparse.Namespace, *, readonly: bool = False) -> Library:
    home = home_dir(args.home)
    settings = Settings.load(home)
    return Library(
        home,
        model=args.model or settings.model,
        device=args.device or settings.device,
        backend=args.backend or settings.backend,
        cache_dir=cache_dir(home),
        excluded=settings.excluded_folders,
        audio_model=settings.sound_model(),
        readonly=readonly,
    )


def open_library_for(args: argparse.Namespace) -> Library:
    """The library, or for a reading verb while the app has it open, a read-only view."""
    try:
        return open_library(args)
    except LibraryLockedError as error:
        if args.verb not in READING_VERBS:
            raise
        print(f"note: {error.reason()}; reading it without changing it", file=sys.stderr)
        return open_library(args, readonly=True)


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for stream in (sys.stdout, sys.stderr):
        # File names need not be valid UTF-8; print them back as the bytes they are.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="surrogateescape")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.verb is None:
        build_parser().print_help()
        return EXIT_USAGE
    try:
        with open_library_for(args) as library:
            if library.recovery is not None:
                print(f"note: {library.recovery.message()}", file=sys.stderr)
            handler = {
                "index": _index,
                "search": _search,
                "similar": _similar,
                "status": _status,
                "forget": _forget,
            }[args.verb]
            return handler(library, args)
    except ModelUnavailableError as error:
        print(f"mediasearch: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except QueryError as error:
        print(f"mediasearch: {error}", file=sys.stderr)
        return EXIT_USAGE
    except CatalogError as error:  # locked, full disk, written by a newer version
        print(f"mediasearch: {error}", file=sys.stderr)
        return EXIT_FAILURE


# -- verbs ---------------------------------------------------------------------------------


def _index(library: Library, args: argparse.Namespace) -> int:
    cancel = threading.Event()

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        cancel.set()  # finish the batch in flight, commit it, then stop

    previous = signal.signal(signal.SIGINT, on_interrupt)
    bar = ProgressBar(sys.stderr, enabled=not args.quiet and sys.stderr.isatty())
    try:
        summary = library.index(
            args.roots or None, progress=bar.update, cancel=cancel, retry_errors=args.retry_errors
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    print_summary(summary, sys.stdout)
    return EXIT_CANCELLED if summary.cancelled else EXIT_OK


def _filters(args: argparse.Namespace) -> SearchFilters | None:
    filters = SearchFilters(
        folder=args.folder,
        kinds=tuple(KIND_CHOICES[k] for k in args.kind) if args.kind else None,
        captured_after=args.after,
        captured_before=args.before,
    )
    return filters if filters.active else None


def _search(library: Library, args: argparse.Namespace) -> int:
    hits = library.search(args.query, args.limit, filters=_filters(args))
    return _print_hits(hits, args.json)


def _similar(library: Library, args: argparse.Namespace) -> int:
    hits = library.similar(args.image, args.limit, filters=_filters(args))
    return _print_hits(hits, args.json)


def _print_hits(hits: list[Hit], as_json: bool) -> int:
    if as_json:
        rows = [
            {"path": h.path, "score": round(h.score, 4), "kind": h.kind, "at_s": h.at_s}
            for h in hits
        ]
        print(json.dumps(rows))
    elif not hits:
        print("no results: index some folders first (mediasearch index FOLDER)", file=sys.stderr)
    for hit in hits if not as_json else ():
        moment = f"  @ {clock(hit.at_s)}" if hit.at_s is not None else ""
        print(f"{hit.score:.3f}  {hit.path}{moment}")
    return EXIT_OK


def _status(library: Library, args: argparse.Namespace) -> int:
    status = library.status()
    errors = library.errors() if args.errors else []
    if args.json:
        payload = asdict(status)
        if args.errors:
            payload["errors"] = [{"path": e.path, "reason": e.error} for e in errors]
        print(json.dumps(payload, indent=2))
        return EXIT_OK
    print(f"home     {status.home}")
    print(f"folders  {', '.join(status.roots) or 'none (mediasearch index FOLDER)'}")
    print(
        f"files    {status.files_ok} indexed, {status.files_error} skipped, "
        f"{status.files_pending} waiting"
    )
    print(f"model    {status.model} on {status.device}")
    print(
        f"index    {status.index_count} vectors ({status.index_health}); "
        f"catalog holds {status.embedded_count}"
    )
    if status.sound_model:
        print(f"sounds   {status.sound_model}: {status.sound_index_count} vectors")
    else:
        hint = "" if transformers_available() else " (pip install 'mediasearch[audio]')"
        print(f"sounds   not searched{hint}")
    for record in errors:
        print(f"  skipped {record.path}: {record.error}")
    return EXIT_OK


def _forget(library: Library, args: argparse.Namespace) -> int:
    try:
        dropped = library.forget(args.root)
    except KeyError:
        roots = ", ".join(library.catalog.roots().values()) or "none"
        print(
            f"mediasearch: {args.root} is not a watched folder (watched: {roots})", file=sys.stderr
        )
        return EXIT_USAGE
    print(f"forgot {args.root}: {dropped} files dropped from the index")
    return EXIT_OK


# -- output --------------------------------------------------------------------------------


def print_summary(summary: IndexSummary, out: TextIO) -> None:
    state = "cancelled (run again to resume)" if summary.cancelled else "done"
    print(
        f"{state} in {summary.elapsed_s:.1f} s: {summary.indexed} indexed, "
        f"{summary.unchanged} unchanged, {summary.moved} moved, {summary.removed} removed, "
        f"{summary.duplicates} duplicates, {len(summary.skipped)} skipped",
        file=out,
    )
    for path, reason in summary.skipped:
        print(f"  skipped {path}: {reason}", file=out)
    for warning in summary.warnings:
        print(f"note: {warning}", file=out)


class ProgressBar:
    """A one-line progress bar redrawn in place on a terminal."""

    def __init__(self, out: TextIO, *, enabled: bool) -> None:
        self.out = out
        self.enabled = enabled
        self._drawn = False

    def update(self, progress: Progress) -> None:
        if not self.enabled:
            return
        if progress.phase == PHASE_SCANNING:
            line = f"scanning {progress.current}: {progress.done} files found"
        else:
            fraction = progress.done / progress.total if progress.total else 0.0
            filled = int(fraction * BAR_WIDTH)
            eta = f"{progress.eta_s:.0f} s left" if progress.eta_s is not None else ""
            line = (
                f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {progress.done}/"
                f"{progress.total} {progress.rate:.1f} files/s {eta}"
            )
        self.out.write("\r\x1b[2K" + line[:200])
        self.out.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.out.write("\n")
            self.out.flush()


def main(argv: Sequence[str] | None = None) -> int:
    return run(argv)
