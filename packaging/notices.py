"""Writes THIRD-PARTY-NOTICES.txt for a bundle: what it ships, under which licence, from where."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mediasearch.about import APP_LICENCE, APP_NAME, APP_VERSION, UNKNOWN_VERSION, components

HEADER = f"""\
{APP_NAME} {APP_VERSION}: third-party notices

{APP_NAME}'s own code is under the {APP_LICENCE} licence (LICENSE.txt). The app bundles the
components below, each under its own licence. Their licence texts travel with them, in the
*.dist-info folders inside the bundle's library folder (_internal). Where a component's
licence asks for its source to be offered (the LGPL's and GPL's), the note says where it is.
The About box (F1) shows the same list with the versions this build carries.
"""


def notices_text() -> str:
    lines = [HEADER]
    for component in components():
        version = component.version() or UNKNOWN_VERSION
        lines.append(f"{component.name} {version}")
        lines.append(f"  Licence: {component.licence}")
        lines.append(f"  Website: {component.url}")
        if component.note:
            lines.append(f"  {component.note}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", type=Path, help="the file to write")
    args = parser.parse_args(argv)
    args.output.write_text(notices_text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
