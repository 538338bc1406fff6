"""Entry point: `mediasearch` alone opens the app; `mediasearch COMMAND ...` runs the CLI."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence

from mediasearch.cli import VERBS
from mediasearch.cli import main as cli_main
from mediasearch.frozen import is_frozen, use_system_certificates

CLI_ONLY_FLAGS = {"-h", "--help", "--version"}


def wants_gui(argv: Sequence[str]) -> bool:
    return not any(arg in VERBS or arg in CLI_ONLY_FLAGS for arg in argv)


def main(argv: Sequence[str] | None = None) -> int:
    # Video decoding runs in spawned worker processes; a frozen app must hand them over here.
    multiprocessing.freeze_support()
    if is_frozen():
        use_system_certificates()
    args = list(sys.argv[1:] if argv is None else argv)
    if wants_gui(args):
        from mediasearch.app import run_app  # Qt is imported only when the app is wanted

        return run_app(args)
    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
