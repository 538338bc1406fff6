"""Sizes of a built app bundle: its total and its largest parts, to see what to cut."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

TOP_PARTS = 10
MB = 1e6


def part_sizes(bundle: Path) -> Counter[str]:
    """Bytes per part: each folder directly in the bundle's library folder (`_internal`,
    or the bundle itself) is one part, as is each loose file there (libpython, Qt's libs)."""
    library = bundle / "_internal" if (bundle / "_internal").is_dir() else bundle
    sizes: Counter[str] = Counter()
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        relative = path.relative_to(library) if path.is_relative_to(library) else None
        part = relative.parts[0] if relative is not None else path.relative_to(bundle).parts[0]
        sizes[part] += path.stat().st_size
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("bundle", type=Path, help="the one-folder bundle, e.g. dist/mediasearch")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if not args.bundle.is_dir():
        print(f"{args.bundle} is not a folder; build the bundle first", file=sys.stderr)
        return 1
    sizes = part_sizes(args.bundle)
    total = sum(sizes.values())
    largest = sizes.most_common(TOP_PARTS)
    if args.json:
        print(json.dumps({"total_bytes": total, "largest": dict(largest)}, indent=2))
        return 0
    print(f"{total / MB:8.0f} MB  {args.bundle} in all")
    for part, size in largest:
        print(f"{size / MB:8.0f} MB  {part} ({100 * size / total:.0f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
