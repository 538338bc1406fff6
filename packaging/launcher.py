"""What the frozen app runs: the same entry point as the `mediasearch` command."""

import sys

from mediasearch.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
